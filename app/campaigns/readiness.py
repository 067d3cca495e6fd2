"""What a campaign's page says before it is sent: how many it would reach now (counted as
`sending.resolve` would write them, writing nothing), how long sending would take at the
configured SMTP rate, and the check list a send waits for."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audiences import segments
from app.campaigns import sending
from app.core import settings as store_settings
from app.mail.rate import send_rate
from app.models import Campaign, Store


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    fix: str  # what to do while it fails


@dataclass(frozen=True)
class Readiness:
    recipients: int | None  # None: a segment it names is gone (`problem` says which)
    problem: str | None
    per_second: float | None  # the SMTP rate; None when unlimited
    checks: list[Check]

    @property
    def seconds(self) -> float | None:
        """The estimated send duration at the SMTP rate; None without one."""
        if self.per_second is None or self.recipients is None:
            return None
        return self.recipients / self.per_second

    @property
    def ready(self) -> bool:
        return bool(self.recipients) and all(check.ok for check in self.checks)


def checks(store: Store, design: dict) -> list[Check]:
    """Postal address, unsubscribe link and sender: what a marketing email must carry."""
    settings = store.effective_settings
    return [
        Check("Postal address", bool(settings["postal_address"]),
              "Marketing email must carry the store's postal address: add it in Settings."),
        Check("Unsubscribe link", any(block["type"] == "footer" for block in design["blocks"]),
              "Add the Footer block: it carries the unsubscribe link and the postal address."),
        Check("Sender", bool(settings["from_email"]) and not store_settings.problems(store.settings),
              "Set the sender's name and address in Settings (and fix any setting it names)."),
    ]


def readiness(session: Session, store: Store, campaign: Campaign) -> Readiness:
    """The figures and checks of the page before a send."""
    try:
        recipients, problem = sending.count(session, campaign), None
    except segments.SegmentError as error:  # a segment deleted since the campaign was made
        recipients, problem = None, str(error)
    return Readiness(recipients, problem, send_rate.per_second(), checks(store, campaign.design))


def duration(seconds: float | None) -> str:
    """A send's length in words: "about 2 h 5 min", "under a minute"."""
    if seconds is None:
        return "as fast as the workers and the mail server allow (no SMTP rate is set)"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return "about " + " ".join(part for part in (f"{hours} h" if hours else "",
                                                 f"{minutes} min" if minutes else "") if part)
