"""A store's campaigns: made and edited (every typed value checked by app.campaigns.values), and
the lifecycle the CLI drives (send, pause, resume, cancel). Every query names the store."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audiences import segments
from app.campaigns import codes, sending
from app.campaigns.values import (HOLDOUT, SUBJECT_MAX, CampaignError, ab_test, simple_design,
                                  whole, words)
from app.core import audit, clock, settings as store_settings
from app.mail.design import document
from app.models import Campaign, Store

# What each command may act on, the status it leaves behind, and what it is called done.
MOVES = {"pause": ({"sending"}, "paused", "paused"), "resume": ({"paused"}, "sending", "resumed"),
         "cancel": ({"draft", "scheduled", "sending", "paused"}, "cancelled", "cancelled")}
# What `edit` may change: a campaign not yet started.
EDITABLE = ("draft", "scheduled")
# How a scheduled send's time is typed (in the store's time zone), and how far ahead it may be.
AT_FORMAT, AT_SHOWN, AHEAD = "%Y-%m-%d %H:%M", "YYYY-MM-DD HH:MM", timedelta(days=365)
# The text a campaign made in the UI starts with, before the merchant designs it.
STARTER_BODY = "Write your message here, then add pictures, products and buttons."


def _segment_names(session: Session, store_id: int, names: tuple[str, ...],
                   field: str) -> list[str]:
    try:
        return [segments.named(session, store_id, name).name for name in names]
    except segments.SegmentError as error:
        raise CampaignError(str(error), field) from None


@contextmanager
def _named(session: Session, name: str):
    """Written, in a savepoint, as the block ends: a name the store already has is refused by
    its field. Changes to a stored campaign are made inside the block (its start would write
    them outside the savepoint)."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError:
        raise CampaignError(f"there is already a campaign named {name!r}", "name") from None


def create(session: Session, store_id: int, name: str, *, subject: str,
           included: tuple[str, ...], excluded: tuple[str, ...] = (),
           preheader: str | None = None, body: str = STARTER_BODY,
           button_text: str | None = None, button_url: str | None = None,
           bypass_frequency_cap: bool = False, holdout: int = 0, subject_b: str | None = None,
           test_share: int | None = None, winner_after: int | None = None,
           judge: str | None = None, actor: str) -> Campaign:
    """A draft campaign, every value checked (for the command line and the Campaigns page
    alike); CampaignError naming the first bad one and its field."""
    name, subject, preheader, subject_b = words(name, subject, preheader, subject_b)
    holdout = whole("--holdout", holdout, HOLDOUT, " (percent)")
    test = ab_test(subject, subject_b, test_share=test_share, winner_after=winner_after,
                 judge=judge)
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
    with _named(session, name):
        session.add(campaign)
    audit.record(session, store_id, actor, f"campaign {name}", None,
                 {"segments": campaign.segments, "excluded": campaign.excluded_segments,
                  "subject": subject, "bypass_frequency_cap": bypass_frequency_cap,
                  "holdout_percent": holdout, **test})
    return campaign


def edit(session: Session, campaign: Campaign, actor: str, *, name: str, subject: str,
         preheader: str | None, subject_b: str | None) -> Campaign:
    """Rename a draft or scheduled campaign, or change its subject, preheader or subject B
    (blank: no A/B test; a new one takes the defaults, an existing one keeps its share, hours
    and judge), each value checked as `create` checks it; CampaignError naming the first bad
    one and its field, or once the campaign has started."""
    # Locked: a scheduled campaign's start (sending.start_scheduled) waits for the change.
    session.refresh(campaign, with_for_update=True)
    if campaign.status not in EDITABLE:
        raise CampaignError(f"campaign {campaign.name!r} is {campaign.status}; only a draft or a "
                            f"scheduled campaign can be edited")
    name, subject, preheader, subject_b = words(name, subject, preheader, subject_b)
    if subject_b is not None and campaign.local_time:
        raise CampaignError("subject B: not with a send at each recipient's local time",
                            "subject_b")
    kept = {"test_share": campaign.test_share, "winner_after": campaign.winner_after_hours,
            "judge": campaign.judge} if subject_b is not None else {}
    test = ab_test(subject, subject_b, **kept) or dict.fromkeys(
        ("subject_b", "test_share", "winner_after_hours", "judge"))
    before = {"name": campaign.name, "subject": campaign.subject,
              "preheader": campaign.preheader, "subject_b": campaign.subject_b}
    # The design's preheader is the one the email shows (save_design keeps the two the same),
    # and a heading that repeats the subject (as `create` draws one) follows it.
    design = {k: v for k, v in campaign.design.items() if k != "preheader"}
    design["blocks"] = [{**block, "text": subject} if block.get("type") == "heading"
                        and block.get("text") == campaign.subject else block
                        for block in design["blocks"]]
    with _named(session, name):
        campaign.design = {**design, "preheader": preheader} if preheader else design
        campaign.name, campaign.subject, campaign.preheader = name, subject, preheader
        for column, value in test.items():
            setattr(campaign, column, value)
    audit.record(session, campaign.store_id, actor, f"campaign {name}", before,
                 {"name": name, "subject": subject, "preheader": preheader,
                  "subject_b": test["subject_b"]})
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
