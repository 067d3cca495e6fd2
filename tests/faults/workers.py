"""Real `storeflow worker` processes for fault tests, in their own process group to signal."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_worker(env: dict, *args: str) -> subprocess.Popen:
    """`storeflow worker ARGS...` in a new session (so a kill reaches nothing else)."""
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", *args], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
