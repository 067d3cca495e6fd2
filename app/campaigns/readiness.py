"""What a campaign's page says before it is sent: the check list a send waits for, how many it
would reach now (counted as `sending.resolve` would write them, writing nothing; how many of
them its holdout and A/B test would take) and how long sending would take at the configured
SMTP rate."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audiences import segments
from app.campaigns import codes, groups, sending
from app.core import settings as store_settings
from app.mail.rate import send_rate
from app.models import Campaign, Store
from app.sync import discounts


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    fix: str  # what to do while it fails


def checks(store: Store, design: dict) -> list[Check]:
    """Postal address, unsubscribe link and sender: what a marketing email must carry; and, for
    a design with a discount block, that the store lets us make codes (else every recipient
    would wait for one)."""
    settings = store.effective_settings
    found = [
        Check("Postal address", bool(settings["postal_address"]),
              "Marketing email must carry the store's postal address: add it in Settings."),
        Check("Unsubscribe link", any(block["type"] == "footer" for block in design["blocks"]),
              "Add the Footer block: it carries the unsubscribe link and the postal address."),
        Check("Sender", bool(settings["from_email"]) and not store_settings.problems(store.settings),
              "Set the sender's name and address in Settings (and fix any setting it names)."),
    ]
    if codes.offer(design) is not None:
        cannot = discounts.code_problem(store)
        found.append(Check("Discount codes", cannot is None, cannot or ""))
    return found


def estimate(session: Session, campaign: Campaign) -> dict:
    """{"recipients", "duration"} of a send now, with "held_out" for a campaign with a holdout
    and "tested" (the A/B test's share) for one with a second subject (the count takes a moment
    on a large store, so the page asks for it after it has loaded), or {"error"} when a segment
    it names is gone."""
    try:
        recipients = sending.count(session, campaign)
    except segments.SegmentError as error:  # a segment deleted since the campaign was made
        return {"error": str(error)}
    held_out, tested = groups.sizes(campaign, recipients)
    rate, emails = send_rate.per_second(), recipients - held_out
    answer = {"recipients": recipients, "duration": duration(emails / rate if rate else None, rate)}
    if campaign.holdout_percent:
        answer["held_out"] = held_out
    if campaign.subject_b:
        answer["tested"] = tested
    return answer


def duration(seconds: float | None, rate: float | None) -> str:
    """A send's length in words: "about 2 h 5 min at 14 emails a second"."""
    if seconds is None:
        return "as fast as the workers and the mail server allow (no SMTP rate is set)"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    words = " ".join(part for part in (f"{hours} h" if hours else "",
                                       f"{minutes} min" if minutes else "") if part)
    return f"{'about ' + words if words else 'under a minute'} at {rate:g} emails a second"
