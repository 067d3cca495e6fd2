"""Attacks replayed from outside: real HTTP against the app served on a loopback port, and the
real `storeflow` command in its own process, as a stranger on the internet or a shell would."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def http(app_server):
    """A requests session aimed at the running app: `http.get("/path")`, no redirects followed;
    `http.__class__()` is another such client (a second browser)."""

    class Stranger(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs["allow_redirects"] = False  # Session.get would set True
            kwargs.setdefault("timeout", 30)
            return super().request(method, app_server + url, *args, **kwargs)

    with Stranger() as session:
        yield session


@pytest.fixture
def storeflow_process(cli_env):
    """Run the real `storeflow ARGS...` in a new process; its CompletedProcess."""
    import os

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT,
                              env={**os.environ, **cli_env}, capture_output=True, text=True,
                              timeout=120)
    return run
