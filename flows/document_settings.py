"""What a flow document names rather than spells out (docs/flow-format.md, "Settings and named
rules"): its settings and their defaults, the steps' references to them ({"setting": name}),
the named entry and exit rules, named conditions and stored emails.

A setting's range belongs to its name, the same in every flow (flows.limits): a document
declares a default, and the default is checked by the very parser that checks what a merchant
types later (one rule, one place).
"""
from __future__ import annotations

from app.mail import render
from flows import limits, rules
from flows.describe import describe

# A trigger that reads settings of the flow: the daily query's own numbers.
TRIGGER_SETTINGS = {"lapsed": ("lapse_days", "entry_window_days")}
# The settings every marketing flow has (flows.choices), which a description may name too.
IMPLIED = {"holdout_percent": 0}


def check(document: dict, problems: list) -> None:
    """Add a (pointer, reason) to `problems` for each setting, reference or name that cannot
    be used."""
    declared = document.get("settings", {})
    for name, default in declared.items():
        reason = _default_problem(name, default)
        if reason:
            problems.append((f"/settings/{name}", reason))
    for pointer, name in references(document):
        if name not in declared:
            problems.append((pointer, f"no setting {name!r} in /settings"))
    for key in ("entry_rules", "exit_rules"):
        for index, name in enumerate(document.get(key, [])):
            if name not in rules.RULES:
                problems.append((f"/{key}/{index}", f"no rule {name!r}; rules: "
                                                    f"{', '.join(rules.RULES)}"))
    for name in TRIGGER_SETTINGS.get(document["trigger"]["event"], ()):
        if name not in declared:
            problems.append(("/settings", f"a {document['trigger']['event']} trigger reads the "
                                          f"setting {name!r}: declare it"))
    try:
        describe(document.get("description", ""), {**IMPLIED, **declared})
    except (KeyError, IndexError, ValueError) as error:
        problems.append(("/description", f"a description names settings as {{name}} or "
                                         f"{{name:hours}}; this one cannot be read ({error})"))


def _default_problem(name: str, default) -> str | None:
    if isinstance(default, bool):
        return None
    if isinstance(default, list) and name not in limits.LADDERS:
        return f"{name} is not a setting of several values ({', '.join(limits.LADDERS)} are)"
    if name not in limits.RANGES:
        return (f"no setting {name!r}: a flow's numbers are among "
                f"{', '.join(limits.RANGES)}, or a true/false switch")
    try:
        (limits.ladder if isinstance(default, list) else limits.number)(name, default)
    except limits.LimitError as error:
        return str(error)
    return None


def references(value, pointer: str = ""):
    """(pointer, setting name) of every setting the document reads: {"setting": name} and a
    wait's "ladder"."""
    if isinstance(value, dict):
        if isinstance(value.get("setting"), str):
            yield f"{pointer}/setting", value["setting"]
        if isinstance(value.get("ladder"), str):
            yield f"{pointer}/ladder", value["ladder"]
        for key, inner in value.items():
            if key != "settings" or pointer:  # the declarations themselves are not references
                yield from references(inner, f"{pointer}/{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from references(inner, f"{pointer}/{index}")


def is_named(condition) -> bool:
    """A named condition ({"rule": ...} or {"setting": ...}), not JsonLogic."""
    return isinstance(condition, dict) and ("rule" in condition or "setting" in condition)


def named_problem(condition: dict) -> str | None:
    """Why a named condition cannot be used, or None."""
    rule = condition.get("rule", "setting_on")
    known = {*rules.CONDITIONS, *rules.ON_SETTINGS, "ladder_reaches"}
    if rule not in known:
        return f"no condition {rule!r}; named conditions: {', '.join(sorted(known))}"
    wanted = {"rule"} if rule in rules.CONDITIONS else {"setting", "stage"} if (
        rule == "ladder_reaches") else {"setting"}
    extra = set(condition) - wanted - {"rule"}
    if extra or not wanted - {"rule"} <= set(condition):
        return f"{rule} takes {', '.join(sorted(wanted - {'rule'})) or 'nothing else'}"
    return None


def stored_email_problem(email: str) -> str | None:
    """Why a send cannot use this stored email (flows/templates/<flow>/<email>/), or None."""
    return None if (render.TEMPLATES / email).is_dir() else f"no stored email {email!r}"
