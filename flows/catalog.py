"""The prebuilt flows, by name (the names are an interface: the CLI and the UI use them)."""
from __future__ import annotations

from flows import (abandoned_cart, abandoned_checkout, birthday, browse_abandonment,
                   first_repeat_purchase, order_updates, post_purchase, welcome, win_back)
from flows.steps import Flow

FLOWS: dict[str, Flow] = {flow.name: flow for flow in (
    abandoned_checkout.FLOW, abandoned_cart.FLOW, browse_abandonment.FLOW, order_updates.FLOW,
    post_purchase.FLOW, first_repeat_purchase.FLOW, win_back.FLOW, welcome.FLOW, birthday.FLOW,
)}


# Definitions replaced by a newer version, kept while runs started on them finish:
# {(name, version): Flow}. A run always walks the steps of the version it started with.
RETIRED: dict[tuple[str, int], Flow] = {(flow.name, flow.version): flow for flow in (
    first_repeat_purchase.VERSION_1, win_back.VERSION_1,
)}


def definition(run) -> Flow:
    """The flow definition a run started with."""
    current = FLOWS[run.flow]
    return current if current.version == run.version else RETIRED[(run.flow, run.version)]


def priority_of(name: str | None) -> int:
    """A flow's rank for the frequency cap; transactional flows never compete (-1)."""
    flow = FLOWS.get(name or "")
    return flow.priority if flow is not None and flow.marketing else -1
