"""Start-up wiring: a process has the flows' port, the listeners and the send guards that
app.wiring lists, whatever else it happened to import."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app import wiring
from app.core import events
from app.mail import guards

# What `storeflow worker` (the Procfile's worker) imports before it takes a job: the CLI, the
# worker, and bootstrap; nothing of the flows by hand.
WORKER = """
import json
from app.cli import cli
from app.jobs.worker import worker
from app import bootstrap
from app.core import events
from app.mail import guards
from flows import port

bootstrap()
name = lambda f: f"{f.__module__}.{f.__name__}"
print(json.dumps({"guards": [name(g) for g in guards._guards],
                  "readers": [name(r) for r in guards._readers],
                  "claim_reads": [read.key for read in guards.claim_reads()],
                  "order_placed": [name(f) for f in events._listeners[events.ORDER_PLACED]],
                  "port": type(port.bound()).__name__}))
"""


def test_a_fresh_worker_process_has_every_send_guard_and_listener(cli_env):
    done = subprocess.run([sys.executable, "-c", WORKER], env={**os.environ, **cli_env},
                          capture_output=True, text=True, timeout=120, check=True)
    wired = json.loads(done.stdout.strip().splitlines()[-1])

    assert wired["guards"] == ["app.mail.sendable.store_settings_allow",
                               "app.mail.consent_ledger.consent_still_given",
                               "flows.engine.run_still_wanted",
                               "app.campaigns.sending.campaign_still_sending",
                               "app.mail.preferences.not_paused"]
    assert wired["readers"] == ["flows.engine.read_with_run"]
    # Read with a flow message's claim, so its run's context loads one subject's row.
    assert wired["claim_reads"] == ["run_subject"]
    # A returning customer's sunset is lifted before the engine sees the order; segments last.
    assert wired["order_placed"] == ["app.reports.attribution.on_order_placed",
                                     "flows.sunset.on_event", "flows.engine.on_event",
                                     "app.audiences.membership.on_event"]
    assert wired["port"] == "Port"


def test_wiring_twice_registers_nothing_twice(app):
    registered = list(guards._guards)
    listeners = list(events._listeners[events.ORDER_PLACED])
    wiring.wire()
    assert guards._guards == registered and events._listeners[events.ORDER_PLACED] == listeners


def test_a_claim_read_may_not_take_a_name_the_guards_bind(app):
    """It would be overridden by the guards' own parameter of that name, silently."""
    from sqlalchemy import literal

    with pytest.raises(ValueError, match="may not be labelled email"):
        guards.register_send_reader(lambda *_: None, (literal("x").label("email"),))
    assert "email" not in [read.key for read in guards.claim_reads()]
