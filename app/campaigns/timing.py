"""When a scheduled campaign goes: at one moment in the store's time zone, or, sent in local
time, at the same wall-clock time in each recipient's own zone (their country's or region's, as
quiet hours find it: flows.localtime), held to the end of the store's quiet hours there.

A local-time campaign is resolved when the first time zone reaches its wall-clock time; the
recipients whose moment is still ahead wait as `scheduled` with their `due_at`, released by a
job at each moment (RQ's scheduler) or, if that job was lost, by the periodic sweep."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core import clock
from app.core.db import db
from app.core.settings import parse_quiet_hours
from app.models import Campaign, CampaignRecipient, Customer, Store
from flows import localtime

R = CampaignRecipient
# UTC+14 (Line Islands): the first time zone to reach any wall-clock time.
EARLIEST = timedelta(hours=14)


def wall_clock(campaign: Campaign, zone: str) -> datetime:
    """The campaign's time as the merchant typed it: a wall-clock time in the store's zone."""
    return campaign.send_at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def start_at(campaign: Campaign, zone: str) -> datetime:
    """When a scheduled campaign's recipients are resolved and sending starts: its moment, or
    for a local-time send the moment the earliest time zone reaches its wall-clock time."""
    if not campaign.local_time:
        return campaign.send_at
    return (wall_clock(campaign, zone) - EARLIEST).replace(tzinfo=timezone.utc)


def spread(session: Session, store: Store, campaign: Campaign) -> None:
    """A local-time send's pending recipients whose moment (their wall-clock time, or the end of
    the store's quiet hours it falls in) is still ahead wait for it, as `scheduled`."""
    zone = store.effective_settings["timezone"]
    quiet = parse_quiet_hours(store.effective_settings["quiet_hours"])
    wall, now = wall_clock(campaign, zone), clock.now()
    pending = (R.campaign_id == campaign.id, R.store_id == store.id, R.status == "pending")
    # One zone per country and region: the recipients are grouped by place, not looped over.
    places = session.execute(select(Customer.country_code, Customer.province_code).distinct()
                             .join(R, (R.customer_id == Customer.id)
                                   & (R.store_id == Customer.store_id)).where(*pending)).all()
    for country, province in places:
        local = localtime.recipient_zone(country, zone, province)
        # A moment already past is judged now: it may be night there by the time we start.
        moment = max(wall.replace(tzinfo=local).astimezone(timezone.utc), now)
        due = localtime.next_allowed(moment, local, quiet)
        if due <= now:
            continue  # their time has come, outside their quiet hours: they go now
        there = select(Customer.id).where(
            Customer.store_id == store.id, Customer.country_code.is_not_distinct_from(country),
            Customer.province_code.is_not_distinct_from(province))
        session.execute(update(R).where(*pending, R.customer_id.in_(there))
                        .values(status="scheduled", due_at=due))


def moments(session: Session, campaign_id: int) -> list[datetime]:
    """The moments the campaign's scheduled recipients wait for, earliest first."""
    return list(session.execute(select(R.due_at).distinct().where(
        R.campaign_id == campaign_id, R.status == "scheduled").order_by(R.due_at)).scalars())


# A campaign whose scheduled recipients may still go (not one cancelled).
_GOING = Campaign.status.in_(("sending", "paused"))


def release(campaign_id: int) -> int:
    """Make the scheduled recipients whose moment has come pending (the caller queues their
    chunks), unless the campaign was cancelled; how many."""
    with db.session() as session:
        return session.execute(update(R).where(
            R.campaign_id == campaign_id, R.status == "scheduled", R.due_at <= clock.now(),
            select(Campaign.id).where(Campaign.id == campaign_id, _GOING).exists(),
        ).values(status="pending")).rowcount


def starts_due() -> list[int]:
    """Scheduled campaigns whose start has come (their job lost, or late)."""
    with db.session() as session:
        rows = session.execute(select(Campaign, Store).join(Store, Store.id == Campaign.store_id)
                               .where(Campaign.status == "scheduled")).all()
        return [campaign.id for campaign, store in rows
                if start_at(campaign, store.effective_settings["timezone"]) <= clock.now()]


def releases_due() -> list[int]:
    """Campaigns with scheduled recipients whose moment has come."""
    with db.session() as session:
        return list(session.execute(select(R.campaign_id).distinct().join(
            Campaign, Campaign.id == R.campaign_id).where(
            R.status == "scheduled", R.due_at <= clock.now(), _GOING)).scalars())
