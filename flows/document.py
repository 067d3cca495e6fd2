"""Flow documents: a merchant's flow as data (docs/flow-format.md), read and checked.

A document is checked twice, and every problem is named by JSON pointer (RFC 6901): first its
shape against the published JSON Schema (flows/documents/flow-format-1.schema.json), then what
a schema cannot say: ids unique in the whole tree, conditions in the condition language, an
email's engagement read only after that email on the same path, no marketing email in a
transactional flow, branches and splits nested no deeper than MAX_DEPTH, a split's percents
adding up to 100, placeholders that render, settings and named rules that exist
(flows.document_settings).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import yaml

from app.audiences import conditions
from app.core import pointed
from app.mail import merchant_text
from connectors import netguard
from flows import document_settings

FORMAT = 1
SCHEMA = Path(__file__).parent / "documents" / "flow-format-1.schema.json"
MAX_BYTES = 256_000
MAX_DEPTH = 5  # branches within branches
MAX_STEPS = 200  # in the whole tree
SEGMENT_EVENTS = ("segment_entered", "segment_left")
DAYS_AFTER_PARTS = ("date", "days")  # what a days_after trigger names
STEP_KINDS = ("wait", "send", "if", "tag", "score", "discount", "exit", "split",
              "wait_until", "webhook", "notify", "sunset")
WAIT_KINDS = ("hours", "days", "until")


class FlowDocumentError(pointed.PointedError):
    """A flow document that cannot be used: every problem, each with its JSON pointer."""


def _validator():
    return pointed.validator(SCHEMA)


def parse(text: str) -> dict:
    """A document from JSON or YAML text, checked; FlowDocumentError if it cannot be used."""
    if len(text.encode()) > MAX_BYTES:
        raise FlowDocumentError([("", f"a flow document is at most {MAX_BYTES:,} bytes")])
    try:
        document = json.loads(text)
    except ValueError:
        try:  # YAML is accepted on import; safe_load builds plain data, never objects
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise FlowDocumentError([("", f"neither JSON nor YAML: {error}")]) from None
    return check(document)


def check(document) -> dict:
    """The document with its conditions normalized, or FlowDocumentError listing every
    problem."""
    shape = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if shape:
        raise FlowDocumentError([_explain(error) for error in shape[:20]])
    problems: list[tuple[str, str]] = []
    checked = dict(document)
    for key in ("entry", "exit"):
        if key in document:
            checked[key] = _condition(document[key], f"/{key}", set(), problems)
    trigger = document["trigger"]
    if (trigger["event"] in SEGMENT_EVENTS) != ("segment" in trigger):
        problems.append(("/trigger/segment", "segment_entered and segment_left name a segment "
                                             "(\"segment\": its name); other triggers do not"))
    if (trigger["event"] == "tag_added") != ("tag" in trigger):
        problems.append(("/trigger/tag", "tag_added names its tag (\"tag\": the tag); other "
                                         "triggers do not"))
    for part in DAYS_AFTER_PARTS:
        if (trigger["event"] == "days_after") != (part in trigger):
            problems.append((f"/trigger/{part}", "days_after names the customer's date it counts "
                                                 "from and its days (\"date\", \"days\"); other "
                                                 "triggers do not"))
    document_settings.check(document, problems)
    checked["steps"] = _Steps(document["consent"] == "marketing", problems).walk(
        document["steps"], "/steps")
    if problems:
        raise FlowDocumentError(problems)
    return checked


def _explain(error) -> tuple[str, str]:
    """(pointer, reason) of a schema error. A step matching none of the step kinds is explained
    by the kind it names, not by all seven."""
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        kinds = [kind for kind in STEP_KINDS if kind in error.instance]
        if len(kinds) != 1:
            return pointed.pointer(error.absolute_path), (
                f"a step does exactly one of {', '.join(STEP_KINDS)} "
                f"(found {', '.join(kinds) or 'none'})")
        branch = STEP_KINDS.index(kinds[0])  # the schema lists the kinds in this order
        for inner in error.context:
            if inner.relative_schema_path[0] == branch:
                return _explain(inner)
    return pointed.pointer(error.absolute_path), error.message


def _condition(rule, pointer: str, earlier: set[str], problems: list) -> object:
    if document_settings.is_named(rule):
        reason = document_settings.named_problem(rule)
        if reason:
            problems.append((pointer, reason))
        return rule
    try:
        checked, steps = conditions.check_in_flow(rule)
    except conditions.ConditionError as error:
        problems.append((pointer + (error.pointer if error.pointer != "" else ""), error.reason))
        return rule
    for step in sorted(steps - earlier):
        problems.append((pointer, f"reads run.steps.{step}, which is not an email earlier on "
                                  "this path"))
    return checked


class _Steps:
    def __init__(self, marketing: bool, problems: list):
        self.marketing, self.problems = marketing, problems
        self.seen: set[str] = set()  # every id so far, anywhere in the tree

    def walk(self, steps: list, pointer: str, sent: frozenset = frozenset(),
             depth: int = 0) -> list:
        """Check one path's steps; `sent` holds the ids of the emails before them."""
        checked = []
        for index, step in enumerate(steps):
            at = f"{pointer}/{index}"
            self._id(step["id"], f"{at}/id")
            if "discount" in step and not self.marketing:
                self.problems.append((f"{at}/discount", "a discount code is marketing: a "
                                      "transactional flow cannot offer one"))
            if "wait" in step:
                self._wait(step["wait"], f"{at}/wait")
            if "send" in step:
                self._send(step["send"], f"{at}/send")
                sent = sent | {step["id"]}
            if ("if" in step or "split" in step) and depth + 1 > MAX_DEPTH:
                self.problems.append((at, f"branches nest at most {MAX_DEPTH} deep"))
            if "if" in step:
                step = {**step, "if": _condition(step["if"], f"{at}/if", set(sent),
                                                 self.problems)}
                step["then"] = self.walk(step["then"], f"{at}/then", sent, depth + 1)
                if "else" in step:
                    step["else"] = self.walk(step["else"], f"{at}/else", sent, depth + 1)
            if "split" in step:
                step = {**step, "split": self._split(step["split"], f"{at}/split", sent, depth)}
            if "notify" in step:
                self._send(step["notify"], f"{at}/notify")
            if "webhook" in step:
                self._webhook(step["webhook"]["url"], f"{at}/webhook/url")
            if "wait_until" in step:
                wait = step["wait_until"]
                step = {**step, "wait_until": {**wait, "condition": _condition(
                    wait["condition"], f"{at}/wait_until/condition", set(sent), self.problems)}}
            checked.append(step)
        return checked

    def _split(self, sides: list, pointer: str, sent: frozenset, depth: int) -> list:
        """Each side's steps see the emails before the split and their own, never another
        side's; the percents share out every run."""
        total = sum(side["percent"] for side in sides)
        if total != 100:
            self.problems.append((pointer, f"the sides' percents add up to 100 (these: {total})"))
        return [{**side, "steps": self.walk(side["steps"], f"{pointer}/{index}/steps", sent,
                                            depth + 1)} for index, side in enumerate(sides)]

    def _webhook(self, url: str, pointer: str) -> None:
        """An https address of a named or public host, with no credentials in it. A name is
        resolved on every connection, not here (connectors.netguard)."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError:
            self.problems.append((pointer, "not a URL"))
            return
        host = parts.hostname or ""
        if parts.scheme != "https" or not host or parts.username or parts.password:
            self.problems.append((pointer, "a webhook goes to https://host/path, with no "
                                           "user or password in the address"))
        elif not netguard.policy.allow_private and _internal(host):
            self.problems.append((pointer, f"{host} is not on the public internet"))

    def _id(self, step_id: str, pointer: str) -> None:
        if step_id in self.seen:
            self.problems.append((pointer, f"the id {step_id!r} is used twice"))
        self.seen.add(step_id)
        if len(self.seen) > MAX_STEPS:
            self.problems.append((pointer, f"a flow has at most {MAX_STEPS} steps"))

    def _wait(self, wait: dict, pointer: str) -> None:
        """One of hours, days or until; or a ladder's rung, or hours or days past its last."""
        kinds = [kind for kind in WAIT_KINDS if kind in wait]
        if len(kinds) > 1 or not (kinds or "ladder" in wait) or (
                "until" in wait and "ladder" in wait):
            self.problems.append((pointer, "a wait has one of hours, days or until (with a "
                                           "ladder: hours or days past its last rung, or none)"))

    def _send(self, send: dict, pointer: str) -> None:
        if "email" in send:
            reason = document_settings.stored_email_problem(send["email"])
            if reason:
                self.problems.append((f"{pointer}/email", reason))
        for part in ("subject", "preheader", "body"):
            if part in send:
                self._renders(send[part], f"{pointer}/{part}")
        if "button" in send:
            self._renders(send["button"]["text"], f"{pointer}/button/text")
            url = self._renders(send["button"]["url"], f"{pointer}/button/url")
            if url is not None and not url.startswith("https://"):
                self.problems.append((f"{pointer}/button/url",
                                      "a button leads to an https:// address or {{ shop_url }}"))

    def _renders(self, text: str, pointer: str) -> str | None:
        try:
            merchant_text.check(text)
            return merchant_text.render(text, merchant_text.SAMPLE)
        except merchant_text.MerchantTextError as error:
            self.problems.append((pointer, str(error)))
            return None


def triggers() -> list[str]:
    """The events a flow can start on, as the schema lists them."""
    return _validator().schema["properties"]["trigger"]["properties"]["event"]["enum"]


def differences(old, new, pointer: str = "") -> list[str]:
    """The JSON pointers where two documents differ, document order, innermost that differs
    (a step added or removed changes its list: the list's pointer)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [*new, *(key for key in old if key not in new)]
        return [changed for key in keys
                for changed in differences(old.get(key), new.get(key), pointer + pointed.pointer([key]))]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [changed for index, (a, b) in enumerate(zip(old, new))
                for changed in differences(a, b, f"{pointer}/{index}")]
    return [] if old == new else [pointer or "/"]


def _internal(host: str) -> bool:
    """An address, or a name for this machine, that is not on the public internet."""
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        return not netguard.is_public(host)
    except ValueError:  # a name, not an address
        return False


def steps_of(steps: list) -> Iterator[dict]:
    """Every step of a tree, depth first, in document order."""
    for step in steps:
        yield step
        for branch in ("then", "else"):
            yield from steps_of(step.get(branch, []))
        for side in step.get("split", []):
            yield from steps_of(side["steps"])
