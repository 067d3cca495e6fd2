"""The reasons the engine stores, in a merchant's words.

Rules, guards and the engine store short, stable reasons ("ordered", "not at cart",
"suppressed: hard_bounce"): tests, the dry run's counts and reports key on them, and runs
written years ago carry them. They are translated here, where they are shown (the customer's
timeline, the dry run), each phrased to follow "because the customer…" or to stand alone.
"""
from __future__ import annotations

from datetime import datetime

WORDS = {
    "ordered": "bought before the email was due",
    "checkout completed": "completed the checkout",
    "checkout removed": "the checkout is no longer in the store",
    "added to cart": "carted or bought before the email was due",
    "no marketing consent": "had not agreed to marketing email",
    "no email address": "left no email address",
    "already in this flow recently": "had just been through this flow",
    "empty cart": "had an empty cart",
    "not at checkout": "never reached checkout",
    "reached checkout": "went on to checkout (the checkout flow's turn)",
    "not at cart": "reached checkout (the checkout flow's turn)",
    "in the abandoned-checkout flow": "already in the abandoned-checkout flow",
    "viewed products out of stock": "only looked at products now out of stock",
    "order cancelled": "cancelled the order",
    "order removed": "the order is no longer in the store",
    "not a new subscriber": "had already left the list",
    "stale: the activity is too old to matter": "the activity was too old to matter by the "
                                                "time Storeflow heard of it",
    "store uninstalled": "the store disconnected Storeflow",
    "flow switched off": "the flow was switched off",
    "no postal address": "marketing emails need your postal address (Settings, Brand)",
    "held out (control group)": "held out as the control group: not emailed, counted",
    "sunset lifted: ordered": "ordered again: marketing email resumes",
    "sunset lifted: opted in": "opted in again: marketing email resumes",
}
# Why an address gets no more mail (Suppression.reason), also said on the customer's timeline.
SUPPRESSIONS = {
    "unsubscribed": "unsubscribed: no more marketing email to this address",
    "hard_bounce": "the address bounced: no more email to it",
    "complaint": "marked an email as spam: no more email to this address",
    "sunset": "marketing paused after a long time without opening any",
    "redacted": "their data was erased on request",
}
# What a run stopped waiting for (a WaitUntil's condition) did not happen in time.
NEVER = {"shipped": "the order did not ship in time",
         "delivered": "the order was not delivered in time",
         "subscribed": "never confirmed their subscription"}
# Reasons with a variable part, by what comes before the colon.
PREFIXES = {
    "suppressed": lambda rest: SUPPRESSIONS.get(rest, f"no more email to the address ({rest})"),
    "gave up waiting": lambda rest: NEVER.get(rest, rest),
    "flow settings to fix": lambda rest: f"the flow's settings need fixing ({rest})",
    "store settings to fix": lambda rest: f"the store's settings need fixing ({rest})",
    "stale": lambda rest: rest.replace("_", " "),  # "quiet hours held email_2 past its relevance"
    "flow exited": lambda rest: f"the flow stopped: {in_words(rest)}",
    # "until <ISO time>": a pause the customer chose on the preference page (app.mail.preferences)
    "paused": lambda rest: "paused marketing email on the preference page until "
                           f"{datetime.fromisoformat(rest.removeprefix('until ')):%-d %B %Y}",
}


def in_words(reason: str) -> str:
    """A stored reason as the merchant reads it; one not listed here is shown as it is."""
    if reason in WORDS:
        return WORDS[reason]
    before, colon, rest = reason.partition(": ")
    if colon and before in PREFIXES:
        return PREFIXES[before](rest)
    return reason
