"""Fixtures for fault tests that run real `storeflow` processes."""
from __future__ import annotations

import os

import pytest


@pytest.fixture
def worker_env(cli_env, smtp_sink):
    """A production worker's environment, sending to the test's SMTP sink."""
    return {**os.environ, **cli_env, "SMTP_URL": f"smtp://127.0.0.1:{smtp_sink.port}",
            "LOG_LEVEL": "WARNING"}
