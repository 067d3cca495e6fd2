"""Every value a merchant types for a campaign, checked once, here, for the command line and the
Campaigns page alike: its name, subject, preheader, subject B and A/B test, holdout, and the
simple design the command line makes; CampaignError names the first bad one and its field."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from app.campaigns import abtest
from app.mail import merchant_text
from app.mail.design import document

NAME = re.compile(r"[^\W_][\w \-]{0,59}")
NAME_RULE = "1 to 60 characters: letters, digits, spaces, - and _, starting with a letter or digit"
SUBJECT_MAX = 150
# The largest holdout share: past half, the campaign would mostly not be sent.
HOLDOUT = (0, 50)
# An A/B test: the share it is sent to, and the hours until the rest get the winner.
TEST_SHARE, WINNER_AFTER = (10, 50), (1, 72)
TEST_DEFAULTS = {"test_share": 20, "winner_after": 4, "judge": "clicks"}


class CampaignError(ValueError):
    """A value that cannot be used, or a command the campaign's state refuses; says why, and
    `field` names the value (name, subject, preheader, subject_b, holdout, test_share,
    winner_after, judge, segments, excluded, design, at, local_time), if one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _line(label: str, value: str | None, required: bool = True,
          field: str | None = None) -> str | None:
    """Merchant text of one line (placeholders allowed), at most SUBJECT_MAX characters."""
    field = field or label
    value = " ".join((value or "").split())
    if not value:
        if required:
            raise CampaignError(f"{label}: required", field)
        return None
    if len(value) > SUBJECT_MAX:
        raise CampaignError(f"{label}: at most {SUBJECT_MAX} characters, not {len(value)}", field)
    try:
        merchant_text.check(value)
    except merchant_text.MerchantTextError as error:
        raise CampaignError(f"{label}: {error}", field) from None
    return value


def _field(option: str) -> str:
    """The field a command-line option names: "--test-share" -> "test_share"."""
    return option.removeprefix("--").replace("-", "_")


def whole(label: str, value: int | None, bounds: tuple[int, int], unit: str = "") -> int | None:
    """A whole number the merchant typed, within `bounds` (both included), or CampaignError
    stating the range."""
    if value is None:
        return None
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CampaignError(f"{label}: a whole number from {low} to {high}{unit}, not {value!r}",
                            _field(label))
    return value


def simple_design(subject: str, body: str, preheader: str | None = None,
                  button_text: str | None = None, button_url: str | None = None) -> dict:
    """The design the command line makes: a heading (the subject), the body's paragraphs, an
    optional button (to its https address, else the shop) and the footer; checked."""
    if button_url and not button_text:
        raise CampaignError("--button-url needs --button-text")
    split = urlsplit(button_url or "https://shop")
    if split.scheme != "https" or not split.hostname or " " in (button_url or ""):
        raise CampaignError(f"--button-url: an https:// address with a host, not {button_url!r}")
    if not (body or "").strip():
        raise CampaignError("--body: required")
    try:
        merchant_text.check(body)
    except merchant_text.MerchantTextError as error:
        raise CampaignError(f"--body: {error}") from None
    blocks = [{"type": "heading", "text": subject}, {"type": "text", "text": body}]
    if button_text:
        target = {"url": button_url} if button_url else {"link": "shop"}
        blocks.append({"type": "button", "text": button_text, **target})
    blocks.append({"type": "footer"})
    design = {"format": document.FORMAT, "blocks": blocks}
    if preheader:
        design["preheader"] = preheader
    try:
        return document.check(design)
    except document.DesignError as error:
        raise CampaignError(f"design {error}") from None


def ab_test(subject: str, subject_b: str | None, **chosen) -> dict:
    """An A/B test's columns, checked, defaults filled in (none without a second subject)."""
    given = [f"--{name.replace('_', '-')}" for name, value in chosen.items() if value is not None]
    if subject_b is None:
        if given:
            raise CampaignError(f"{given[0]} needs --subject-b", _field(given[0]))
        return {}
    if subject_b == subject:
        raise CampaignError("subject B: the same as the subject; an A/B test needs two",
                            "subject_b")
    values = {name: TEST_DEFAULTS[name] if value is None else value
              for name, value in chosen.items()}
    if values["judge"] not in abtest.JUDGES:
        raise CampaignError(f"--judge: {' or '.join(abtest.JUDGES)}, not {values['judge']!r}",
                            "judge")
    return {"subject_b": subject_b,
            "test_share": whole("--test-share", values["test_share"], TEST_SHARE, " (percent)"),
            "winner_after_hours": whole("--winner-after", values["winner_after"], WINNER_AFTER,
                                         " (hours)"),
            "judge": values["judge"]}



def words(name: str, subject: str, preheader: str | None,
           subject_b: str | None) -> tuple[str, str, str | None, str | None]:
    """A campaign's name, subject, preheader and subject B, checked (create and edit alike)."""
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise CampaignError(f"a campaign name is {NAME_RULE}", "name")
    return (name, _line("subject", subject), _line("preheader", preheader, required=False),
            _line("subject B", subject_b, required=False, field="subject_b"))
