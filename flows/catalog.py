"""The prebuilt flows, by name (the names are an interface: the CLI and the UI use them). Each is
a template in the flow format (flows/documents/templates/<name>.json), checked and compiled as
a merchant's flow is, which a merchant can export, copy and edit (docs/flow-format.md)."""
from __future__ import annotations

import json
from pathlib import Path

from flows import document
from flows.built import compile_flow
from flows.steps import Flow

TEMPLATES = Path(__file__).parent / "documents" / "templates"
# The order the Flows page lists them in.
NAMES = ("abandoned_checkout", "abandoned_cart", "browse_abandonment", "order_updates",
         "post_purchase", "first_repeat_purchase", "win_back", "welcome", "birthday")


def template(name: str, version: int | None = None) -> dict:
    """A prebuilt flow's template document, checked: the current one, or a retired
    `version`."""
    path = TEMPLATES / (f"{name}.json" if version is None else f"retired/{name}.{version}.json")
    return document.check(json.loads(path.read_text()))


def _compiled(checked: dict) -> Flow:
    return compile_flow(checked, checked.get("version", 1), built=False)


FLOWS: dict[str, Flow] = {name: _compiled(template(name)) for name in NAMES}


# Definitions replaced by a newer version, kept while runs started on them finish:
# {(name, version): Flow}. A run always walks the steps of the version it started with.
RETIRED: dict[tuple[str, int], Flow] = {
    (flow.name, flow.version): flow for flow in (
        _compiled(template(path.name.split(".")[0], int(path.name.split(".")[1])))
        for path in sorted((TEMPLATES / "retired").glob("*.json")))
}


def definition(run) -> Flow:
    """The flow definition a run started with."""
    current = FLOWS[run.flow]
    return current if current.version == run.version else RETIRED[(run.flow, run.version)]


def priority_of(name: str | None) -> int:
    """A flow's rank for the frequency cap; transactional flows never compete (-1)."""
    flow = FLOWS.get(name or "")
    return flow.priority if flow is not None and flow.marketing else -1
