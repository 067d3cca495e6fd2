"""Fixtures for fault tests that run real `storeflow` processes."""
from __future__ import annotations

import os
import signal

import pytest

from tests.faults import workers


@pytest.fixture
def worker_env(cli_env, smtp_sink):
    """A production worker's environment, sending to the test's SMTP sink."""
    return {**os.environ, **cli_env, "SMTP_URL": f"smtp://127.0.0.1:{smtp_sink.port}",
            "LOG_LEVEL": "WARNING"}


@pytest.fixture
def start_worker():
    """`start_worker(env, *args)`: a real worker process. Whatever a test left running is
    killed at teardown: it would take jobs from the next test's Redis (same socket path)."""
    started = []

    def start(env: dict, *args: str):
        started.append(workers.start_worker(env, *args))
        return started[-1]
    yield start
    for worker in started:
        try:
            os.killpg(worker.pid, signal.SIGKILL)  # the group: its scheduler child too
        except ProcessLookupError:
            pass
        worker.wait()
