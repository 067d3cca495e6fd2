"""A store's campaigns: every value a merchant types checked once, here, and the lifecycle the
CLI drives (send, pause, resume, cancel). Every query names the store."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audiences import segments
from app.campaigns import abtest, codes, sending
from app.core import audit, clock, settings as store_settings
from app.mail import merchant_text
from app.mail.design import document
from app.models import Campaign, Store

NAME = re.compile(r"[^\W_][\w \-]{0,59}")
NAME_RULE = "1 to 60 characters: letters, digits, spaces, - and _, starting with a letter or digit"
SUBJECT_MAX = 150
# The largest holdout share: past half, the campaign would mostly not be sent.
HOLDOUT = (0, 50)
# An A/B test: the share it is sent to, and the hours until the rest get the winner.
TEST_SHARE, WINNER_AFTER = (10, 50), (1, 72)
TEST_DEFAULTS = {"test_share": 20, "winner_after": 4, "judge": "clicks"}
# What each command may act on, the status it leaves behind, and what it is called done.
MOVES = {"pause": ({"sending"}, "paused", "paused"), "resume": ({"paused"}, "sending", "resumed"),
         "cancel": ({"draft", "scheduled", "sending", "paused"}, "cancelled", "cancelled")}
# How a scheduled send's time is typed (in the store's time zone), and how far ahead it may be.
AT_FORMAT, AT_SHOWN, AHEAD = "%Y-%m-%d %H:%M", "YYYY-MM-DD HH:MM", timedelta(days=365)


# The text a campaign made in the UI starts with, before the merchant designs it.
STARTER_BODY = "Write your message here, then add pictures, products and buttons."


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


def _whole(label: str, value: int | None, bounds: tuple[int, int], unit: str = "") -> int | None:
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


def _test(subject: str, subject_b: str | None, **chosen) -> dict:
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
            "test_share": _whole("--test-share", values["test_share"], TEST_SHARE, " (percent)"),
            "winner_after_hours": _whole("--winner-after", values["winner_after"], WINNER_AFTER,
                                         " (hours)"),
            "judge": values["judge"]}


def _segment_names(session: Session, store_id: int, names: tuple[str, ...],
                   field: str) -> list[str]:
    try:
        return [segments.named(session, store_id, name).name for name in names]
    except segments.SegmentError as error:
        raise CampaignError(str(error), field) from None


def create(session: Session, store_id: int, name: str, *, subject: str,
           included: tuple[str, ...], excluded: tuple[str, ...] = (),
           preheader: str | None = None, body: str = STARTER_BODY,
           button_text: str | None = None, button_url: str | None = None,
           bypass_frequency_cap: bool = False, holdout: int = 0, subject_b: str | None = None,
           test_share: int | None = None, winner_after: int | None = None,
           judge: str | None = None, actor: str) -> Campaign:
    """A draft campaign, every value checked (for the command line and the Campaigns page
    alike); CampaignError naming the first bad one and its field."""
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise CampaignError(f"a campaign name is {NAME_RULE}", "name")
    subject = _line("subject", subject)
    preheader = _line("preheader", preheader, required=False)
    holdout = _whole("--holdout", holdout, HOLDOUT, " (percent)")
    test = _test(subject, _line("subject B", subject_b, required=False, field="subject_b"),
                 test_share=test_share, winner_after=winner_after, judge=judge)
    if not included:
        raise CampaignError("a campaign needs at least one --segment", "segments")
    both = set(included) & set(excluded)
    if both:
        raise CampaignError(f"segment {sorted(both)[0]!r} is both included and excluded",
                            "excluded")
    campaign = Campaign(
        store_id=store_id, name=name, subject=subject, preheader=preheader,
        design=simple_design(subject, body, preheader, button_text, button_url),
        segments=_segment_names(session, store_id, included, "segments"),
        excluded_segments=_segment_names(session, store_id, excluded, "excluded"),
        bypass_frequency_cap=bypass_frequency_cap, holdout_percent=holdout, status="draft",
        **test)
    try:
        with session.begin_nested():
            session.add(campaign)
            session.flush()
    except IntegrityError:
        raise CampaignError(f"there is already a campaign named {name!r}", "name") from None
    audit.record(session, store_id, actor, f"campaign {name}", None,
                 {"segments": campaign.segments, "excluded": campaign.excluded_segments,
                  "subject": subject, "bypass_frequency_cap": bypass_frequency_cap,
                  "holdout_percent": holdout, **test})
    return campaign


def when(campaign: Campaign, zone: str) -> str | None:
    """When a scheduled campaign goes, as the merchant typed it, in whose time zone."""
    if campaign.send_at is None:
        return None
    typed = campaign.send_at.astimezone(ZoneInfo(zone)).strftime(AT_FORMAT)
    return f"{typed} " + ("in each recipient's time zone" if campaign.local_time else zone)


def save_design(session: Session, campaign: Campaign, design, actor: str) -> dict:
    """Check and store a draft's design (its preheader becomes the campaign's, its discount
    block's percent and days within the flows' ranges); DesignError naming each problem,
    CampaignError once the campaign has been sent (its emails are drawn from the design as they
    leave, so it stays as it was sent)."""
    if campaign.status != "draft":
        raise CampaignError(f"campaign {campaign.name!r} is {campaign.status}; only a draft's "
                            f"design can change", "design")
    checked = document.check(design)
    if len(checked.get("preheader", "")) > SUBJECT_MAX:  # the campaign's column holds it too
        raise document.DesignError([("/preheader", f"at most {SUBJECT_MAX} characters")])
    refused = codes.problems(checked)  # each recipient's code: the flows' discount ranges
    if refused:
        raise document.DesignError(refused)
    campaign.design, campaign.preheader = checked, checked.get("preheader")
    audit.record(session, campaign.store_id, actor, f"campaign {campaign.name}", None,
                 {"design": "changed"})
    return checked


def all_of(session: Session, store_id: int) -> list[Campaign]:
    """The store's campaigns, newest first."""
    return list(session.execute(select(Campaign).where(Campaign.store_id == store_id)
                                .order_by(Campaign.created_at.desc(), Campaign.id.desc())).scalars())


def named(session: Session, store_id: int, name: str, lock: bool = False) -> Campaign:
    """The store's campaign of this name (locked for a change of state), or CampaignError."""
    query = select(Campaign).where(Campaign.store_id == store_id,
                                   Campaign.name == (name or "").strip())
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        raise CampaignError(f"no campaign named {name!r}")
    return found


def _send_at(text: str, zone: str) -> datetime:
    """The moment a merchant typed, in the store's time zone: ahead, by a year at most."""
    rule = f"{AT_SHOWN} in the store's time zone ({zone}), from now to a year ahead"
    try:
        moment = datetime.strptime(" ".join(text.split()), AT_FORMAT)
    except ValueError:
        raise CampaignError(f"--at: {rule}, not {text!r}", "at") from None
    moment, now = moment.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc), clock.now()
    if not now < moment <= now + AHEAD:
        raise CampaignError(f"--at: {rule}, not {text!r}", "at")
    return moment


def send(session: Session, store_id: int, name: str, actor: str, at: str | None = None,
         local_time: bool = False) -> int | None:
    """Resolve a draft's recipients and start sending, the number resolved; or, `at` a moment
    (in each recipient's time zone with `local_time`), schedule it, None. Any campaign that is
    not a draft is refused: a campaign is sent once. Call `sending.start` after commit."""
    campaign = named(session, store_id, name, lock=True)
    if campaign.status != "draft":
        raise CampaignError(f"campaign {campaign.name!r} is {campaign.status}; a campaign is "
                            f"sent once (pause, resume or cancel it instead)")
    if local_time and at is None:
        raise CampaignError("--local-time needs --at", "at")
    if local_time and campaign.subject_b is not None:
        # The winner is due hours after the start, while most time zones are still to come.
        raise CampaignError("--local-time: not with an A/B test (--subject-b)", "local_time")
    store = session.get(Store, store_id)
    # Said now, rather than by every message the outbox would cancel for it.
    refused = store_settings.refusal(store.settings, marketing=True)
    if refused:
        raise CampaignError(f"campaign {campaign.name!r} cannot be sent: {refused}")
    if at is not None:
        campaign.send_at = _send_at(at, store.effective_settings["timezone"])
        campaign.local_time, campaign.status = local_time, "scheduled"
        audit.record(session, store_id, actor, f"campaign {campaign.name}", {"status": "draft"},
                     {"status": "scheduled", "at": at, "local_time": local_time})
        return None
    try:
        resolved = sending.begin(session, campaign)
    except segments.SegmentError as error:  # a segment deleted since the campaign was made
        raise CampaignError(str(error)) from None
    audit.record(session, store_id, actor, f"campaign {campaign.name}", {"status": "draft"},
                 {"status": "sending", "recipients": resolved})
    return resolved


def move(session: Session, store_id: int, name: str, command: str, actor: str) -> Campaign:
    """Pause, resume or cancel (MOVES); CampaignError when the campaign's state does not allow
    it. The change waits for any send checking the campaign right now (their lock), so once it
    is committed no further message of it is handed to the mail server."""
    campaign = named(session, store_id, name, lock=True)
    allowed, after, done = MOVES[command]
    if campaign.status not in allowed:
        raise CampaignError(f"campaign {campaign.name!r} is {campaign.status}; only a "
                            f"{' or '.join(sorted(allowed))} campaign can be {done}")
    before, campaign.status = campaign.status, after
    if command == "resume":
        sending.requeue_held(session, campaign)
    if command == "cancel":
        campaign.finished_at = clock.now()
    audit.record(session, store_id, actor, f"campaign {campaign.name}", {"status": before},
                 {"status": after})
    return campaign
