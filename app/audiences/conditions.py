"""Conditions: JsonLogic documents over the catalogue, checked once and evaluated in Python.

`check` turns a document into the normalized rule both evaluators run (dates rewritten to the
canonical UTC form), or raises ConditionError naming the bad part by JSON pointer. Evaluation
is panzi-json-logic's (JsonLogic as the JavaScript reference does it) with one documented
change: a comparison with a missing value (null) is false, as SQL has it, except `==`/`!=`
with null itself.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone

from json_logic import jsonLogic
from json_logic.builtins import BUILTINS, to_bool

from app.audiences.catalogue import (BOOLEAN, CUSTOMER, DATETIME, ELEMENT, FLOW, NUMBER, RUN_STEP,
                                     TEXT, VARIABLES, iso)

MAX_DEPTH = 12
MAX_NODES = 300
MAX_LIST = 500
MAX_TEXT = 500
MAX_JSON = 32_000
MAX_NUMBER = 1e15  # beyond 2**53 floats and SQL's numbers would part ways
EQUALITY = ("==", "!=", "===", "!==")
ORDER = ("<", "<=", ">", ">=")
BETWEEN = ("<", "<=")  # the 3-argument form a < b < c, as JsonLogic defines it
LITERAL, NULL, LIST = "literal text", "null", "list"


class ConditionError(ValueError):
    """A rule that cannot be used: `pointer` names the part (RFC 6901), `reason` says why."""

    def __init__(self, pointer: str, reason: str):
        super().__init__(f"{pointer or '/'}: {reason}")
        self.pointer, self.reason = pointer, reason


def _strict(operation):
    def strict(data=None, *args):
        return False if None in args else operation(data, *args)
    return strict


def _equal(data=None, a=None, b=None, *_ignored):
    return a is b if a is None or b is None else BUILTINS["=="](data, a, b)


OPERATIONS = {
    **BUILTINS, **{op: _strict(BUILTINS[op]) for op in (*ORDER, "in")}, "==": _equal,
    "!=": lambda data=None, a=None, b=None, *_ignored: not _equal(data, a, b),
}


def apply(rule, data):
    """JsonLogic's value of `rule` over `data`, with Storeflow's null rule (no checking)."""
    return jsonLogic(rule, data, OPERATIONS)


def evaluate(rule, facts: dict) -> bool:
    """Whether a checked rule holds for these facts ({"customer": {...}, "order": {...}})."""
    return to_bool(apply(rule, facts))


def parse(text: str, scope: str = CUSTOMER):
    """A rule given as JSON text (the CLI, a form), checked."""
    if len(text) > MAX_JSON:
        raise ConditionError("", f"a rule is at most {MAX_JSON} characters")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ConditionError("", f"not JSON: {error}") from None
    return check(document, scope)


def check(rule, scope: str = CUSTOMER):
    """The normalized rule, or ConditionError. `scope` CUSTOMER allows customer.* only (what
    compiles to SQL); FLOW also order.*, checkout.* and run.steps.*."""
    return _Checker(scope).condition(rule, "", 0)


def check_in_flow(rule) -> tuple[object, set[str]]:
    """A flow's rule checked (FLOW scope), and the ids of the run's steps it reads."""
    checker = _Checker(FLOW)
    return checker.condition(rule, "", 0), checker.steps


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _operation(node, where: str) -> tuple[str, list, str]:
    if not isinstance(node, dict) or len(node) != 1:
        raise ConditionError(where, "expected an operation: an object with one operator")
    op, args = next(iter(node.items()))
    return op, (args if isinstance(args, list) else [args]), f"{where}/{_escape(op)}"


class _Checker:
    def __init__(self, scope: str):
        self.scope, self.nodes = scope, 0
        self.steps: set[str] = set()  # the run steps the rule reads (run.steps.<id>...)

    def _count(self, where: str, depth: int) -> None:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise ConditionError(where, f"nested deeper than {MAX_DEPTH} levels")
        if self.nodes > MAX_NODES:
            raise ConditionError(where, f"a rule has at most {MAX_NODES} parts")

    def condition(self, node, where: str, depth: int):
        self._count(where, depth)
        if isinstance(node, bool):
            return node
        op, args, at = _operation(node, where)
        if op in ("and", "or"):
            if not args:
                raise ConditionError(at, f"{op} needs at least one condition")
            return {op: [self.condition(arg, f"{at}/{i}", depth + 1) for i, arg in enumerate(args)]}
        if op in ("!", "!!"):
            self._arity(op, args, at, 1)
            return {op: [self.condition(args[0], f"{at}/0", depth + 1)]}
        if op == "var":
            return self.var(node, where)[0]
        if op in EQUALITY or op in ORDER:
            return self.comparison(op, args, at, depth)
        if op == "in":
            return self.membership(args, at, depth)
        raise ConditionError(at, f"unsupported operator {op!r}")

    def _arity(self, op: str, args: list, at: str, *counts: int) -> None:
        if len(args) not in counts:
            wanted = " or ".join(map(str, counts))
            raise ConditionError(at, f"{op} takes {wanted} argument(s), got {len(args)}")

    def comparison(self, op: str, args: list, at: str, depth: int):
        self._arity(op, args, at, *((2, 3) if op in BETWEEN else (2,)))
        operands = [self.operand(arg, f"{at}/{i}", depth + 1) for i, arg in enumerate(args)]
        typed = {kind for _, kind in operands if kind not in (LITERAL, NULL)}
        if op in ORDER and NULL in {kind for _, kind in operands}:
            raise ConditionError(at, f"{op} with null is always false: test presence with ==")
        if len(typed) > 1:
            raise ConditionError(at, f"cannot compare {' with '.join(sorted(typed))}")
        kind = typed.pop() if typed else None
        if kind in ELEMENT or LIST in {k for _, k in operands}:
            raise ConditionError(at, f"lists are compared with in, not {op}")
        if op in ORDER and kind not in (NUMBER, DATETIME):
            raise ConditionError(at, f"{op} compares numbers or dates, not {kind or 'text'}")
        normalized = [self.literal_as(value, k, kind, f"{at}/{i}")
                      for i, (value, k) in enumerate(operands)]
        return {op: normalized}

    def literal_as(self, value, kind: str, wanted: str | None, where: str):
        """A text literal compared with a date becomes the canonical date string."""
        if kind != LITERAL or wanted in (None, TEXT):
            return value
        if wanted != DATETIME:
            raise ConditionError(where, f"expected a {wanted}, got text")
        try:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConditionError(where, "not an ISO 8601 date, e.g. 2026-11-24 or "
                                        "2026-11-24T15:00:00Z") from None
        if not 1000 <= instant.year <= 9999:
            raise ConditionError(where, "a date's year is between 1000 and 9999")
        return iso(instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc))

    def membership(self, args: list, at: str, depth: int):
        self._arity("in", args, at, 2)
        needle, needle_kind = self.operand(args[0], f"{at}/0", depth + 1)
        haystack, kind = self.operand(args[1], f"{at}/1", depth + 1)
        if kind in ELEMENT:  # a list variable: is this value one of its items?
            wanted = ELEMENT[kind]
            if isinstance(needle, dict) or needle_kind != (LITERAL if wanted == TEXT else NUMBER):
                raise ConditionError(f"{at}/0", f"expected a {wanted} value to look for")
            return {"in": [needle, haystack]}
        if kind == LIST:  # a list of values: is the variable one of them?
            if not isinstance(needle, dict) or needle_kind not in (TEXT, NUMBER):
                raise ConditionError(f"{at}/0", "expected a text or number variable")
            for i, item in enumerate(haystack):
                if (isinstance(item, str) and needle_kind == TEXT) or (
                        _is_number(item) and needle_kind == NUMBER):
                    continue
                raise ConditionError(f"{at}/1/{i}", f"expected a {needle_kind}")
            return {"in": [needle, haystack]}
        if kind == TEXT and isinstance(haystack, dict) and needle_kind == LITERAL:
            return {"in": [needle, haystack]}  # text within a text variable
        raise ConditionError(at, "in looks for a value in a list variable, a variable in a "
                                 "list of values, or text in a text variable")

    def operand(self, node, where: str, depth: int) -> tuple[object, str]:
        """A variable or a literal, with its type."""
        self._count(where, depth)
        if isinstance(node, dict):
            return self.var(node, where)
        if node is None:
            return None, NULL
        if isinstance(node, bool):
            return node, BOOLEAN
        if _is_number(node):
            if not math.isfinite(node) or abs(node) > MAX_NUMBER:
                raise ConditionError(where, f"numbers are finite and at most {MAX_NUMBER:g}")
            return node, NUMBER
        if isinstance(node, str):
            if len(node) > MAX_TEXT or "\x00" in node:
                raise ConditionError(where, f"text is at most {MAX_TEXT} characters, no NUL")
            return node, LITERAL
        if isinstance(node, list):
            if len(node) > MAX_LIST:
                raise ConditionError(where, f"a list has at most {MAX_LIST} values")
            return [self.operand(item, f"{where}/{i}", depth + 1)[0]
                    for i, item in enumerate(node)], LIST
        raise ConditionError(where, "expected a variable or a value")

    def var(self, node, where: str) -> tuple[dict, str]:
        op, args, at = _operation(node, where)
        if op != "var":
            raise ConditionError(at, f"unsupported operator {op!r} here: expected var or a value")
        if len(args) != 1 or not isinstance(args[0], str):
            raise ConditionError(where, "var takes one variable name (no default)")
        if self.scope == FLOW and RUN_STEP.fullmatch(args[0]):
            self.steps.add(RUN_STEP.fullmatch(args[0]).group(1))
            return {"var": args[0]}, BOOLEAN
        variable = VARIABLES.get(args[0])
        if variable is None:
            raise ConditionError(where, f"unknown variable {args[0][:80]!r}")
        if variable.scope != CUSTOMER and self.scope == CUSTOMER:
            raise ConditionError(where, f"{variable.name} is only known inside a flow")
        return {"var": variable.name}, variable.type


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
