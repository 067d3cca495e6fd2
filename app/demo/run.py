"""Opening the demo shop and playing its day: the one entry point `storeflow demo` and
`storeflow dev` share."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.core import clock
from app.core.config import Config
from app.core.db import db
from app.demo import shop, story
from app.demo.player import HttpSender, InProcess, Player, RunningWorkers, WsgiSender
from app.mail.transport import DevInbox, transports
from app.models import Message

# Long enough for every flow's first email, the review request 30 days after delivery included.
HORIZON = timedelta(days=35)
DAY = timedelta(days=1)


def day_start(now: datetime, zone: str, lookback: timedelta) -> datetime:
    """09:00 in the shop's time zone, on the first day at or after `now - lookback`."""
    local = (now - lookback).astimezone(ZoneInfo(zone))
    nine = local.replace(hour=9, minute=0, second=0, microsecond=0)
    if nine < local:
        nine = (nine + timedelta(days=1)).replace(hour=9)
    return nine.astimezone(timezone.utc)


def play(config: Config, fast: bool, flask_app=None) -> dict[str, int]:
    """Open the shop and play the day; returns emails sent per flow.

    Fast: through this process's app and a worker here, from the latest 09:00 whose whole
    story has happened by now (so the UI's last 30 days show all of it) up to now; the steps
    due later (review requests, the win-back's last notices) are left to the real scheduler.
    Otherwise: over HTTP to the running app at BASE_URL, its workers doing the jobs, the month
    starting at the next 09:00.
    """
    with db.session() as session:
        store = shop.open_shop(session)
        store_id = store.id
    now, zone = clock.now(), shop.SETTINGS["timezone"]
    if fast:
        start = day_start(now, zone, story.LENGTH + DAY)
        until = now
    else:
        start = day_start(now, zone, timedelta(0))
        until = start + HORIZON
    items, people = shop.catalogue(config.base_url), shop.people(start)
    if fast:
        sender, runner = WsgiSender(flask_app), InProcess()
    else:
        sender, runner = HttpSender(config.base_url), RunningWorkers()
    inbox = transports.current if isinstance(transports.current, DevInbox) else None
    player = Player(sender, runner, store_id, shop.DOMAIN, shop.WEBHOOK_SECRET, inbox)
    # The shop's past arrives before its flows are on, as it does for a merchant who installs
    # Storeflow on a running shop: existing subscribers are not "new" to the welcome flow.
    player.prelude(story.history(start, items, people))
    with db.session() as session:
        shop.switch_on_flows(session, store_id)
    player.play(story.day(start, items, people), start, until)
    return sent_by_flow(store_id)


def sent_by_flow(store_id: int) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(select(Message.flow, func.count()).where(
            Message.store_id == store_id, Message.status == "sent")
            .group_by(Message.flow).order_by(Message.flow)).all()
    return {flow: count for flow, count in rows}
