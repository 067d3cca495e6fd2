"""Plays the demo's beats through the real front doors (signed webhooks, signed storefront
batches, the links in the mail it sent), then moves time with the engine's own tick, jumping
from one due step to the next."""
from __future__ import annotations

import email
import json
import logging
import time
import uuid
from collections import deque
from contextlib import nullcontext
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

from sqlalchemy import func, select

from app.core import clock
from app.core.db import db
from app.demo.story import Beat, Reads, Storefront, Webhook
from app.jobs import broker
from app.mail.transport import DevInbox
from app.models import FlowRun, Message
from connectors.signing import sign
from flows import engine

DAY = timedelta(days=1)
# Queues whose jobs carry the demo's consequences (ingest, flow steps, mail).
WORK_QUEUES = ("ingest", "flows", "mail")
# A phone's mail app, which loads images and opens links in its browser.
MAIL_APP = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


class Failed(RuntimeError):
    """The app refused a delivery; the message names the path and the answer."""


class HttpSender:
    """POSTs to a running Storeflow at `base_url`."""

    def __init__(self, base_url: str):
        import requests

        self.base_url, self.http = base_url.rstrip("/"), requests.Session()
        # requests' own User-Agent reads as a crawler, and /collect ignores crawlers.
        self.http.headers["User-Agent"] = "Storeflow-demo (shop server)"

    def post(self, path: str, body: bytes, headers: dict) -> int:
        return self.http.post(self.base_url + path, data=body, headers=headers, timeout=15).status_code

    def get(self, path: str, headers: dict) -> int:
        return self.http.get(self.base_url + path, headers=headers, timeout=15,
                             allow_redirects=False).status_code


class WsgiSender:
    """POSTs to the Flask app in this process, through the same routes and middleware."""

    def __init__(self, flask_app):
        self.client = flask_app.test_client()

    def post(self, path: str, body: bytes, headers: dict) -> int:
        return self.client.post(path, data=body, headers=headers).status_code

    def get(self, path: str, headers: dict) -> int:
        return self.client.get(path, headers=headers).status_code


class InProcess:
    """Runs the queued jobs here, in a real RQ worker, as of the demo's instant."""

    def at(self, instant: datetime):
        return clock.frozen_at(instant)

    def settle(self) -> None:
        from app.jobs.worker import worker

        # RQ sets its own logger's level; follow the process's, which the CLI may have raised.
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        worker().work(burst=True, logging_level=level)


class RunningWorkers:
    """Leaves the jobs to the app's own workers and waits until they have done them."""

    def __init__(self, timeout: float = 120):
        self.timeout = timeout

    def at(self, instant: datetime):
        return nullcontext(instant)

    def settle(self) -> None:
        deadline, quiet = time.monotonic() + self.timeout, 0
        while quiet < 2:  # twice idle in a row: a finished job may have queued another
            if time.monotonic() > deadline:
                raise Failed("the workers did not finish the demo's jobs; is `storeflow worker` running?")
            time.sleep(0.2)
            quiet = quiet + 1 if self._idle() else 0

    @staticmethod
    def _idle() -> bool:
        queues = [broker.queue(name) for name in WORK_QUEUES]
        return not any(q.count or q.started_job_registry.count for q in queues)


class MailLinks(HTMLParser):
    """The open pixel and the button of an email's HTML part."""

    def __init__(self, html: str):
        super().__init__()
        self.pixel = self.button = None
        self._in_button = False  # inside a block design's button cell (app.mail.design)
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "img" and "/o/" in (found.get("src") or ""):
            self.pixel = found["src"]
        elif tag == "a" and ("button" in classes or self._in_button):
            self.button = self.button or found.get("href")
        self._in_button = self._in_button and tag != "a" or "sf-btn" in classes


class Player:
    """Delivers beats for one store and moves time until `until`. Shoppers read their email
    in the dev inbox; with real SMTP (no `inbox`) there is none to read, and nobody opens any."""

    def __init__(self, sender, runner, store_id: int, domain: str, secret: str,
                 inbox: DevInbox | None = None):
        self.sender, self.runner = sender, runner
        self.store_id, self.domain, self.secret, self.inbox = store_id, domain, secret, inbox

    def prelude(self, beats: list[Beat]) -> None:
        """Deliver beats at their instants, without moving the flows' time."""
        for beat in beats:
            with self.runner.at(beat.at):
                self._deliver(beat)
                self.runner.settle()

    def play(self, beats: list[Beat], start: datetime, until: datetime) -> int:
        """Play every beat, ticking at each beat, each day and each due step; returns ticks."""
        pending, last, ticks = deque(beats), None, 0
        while True:
            instant = self._next(pending, start, last)
            if instant is None or instant > until:
                return ticks
            with self.runner.at(instant):
                while pending and pending[0].at <= instant:
                    self._deliver(pending.popleft())
                self.runner.settle()
                engine.enroll_audiences(instant)
                engine.tick(instant)
                self.runner.settle()
            last, ticks = instant, ticks + 1

    def _next(self, pending: deque, start: datetime, last: datetime | None) -> datetime | None:
        """The earliest of: the next beat, the next daily audience run, the next due step."""
        candidates = [pending[0].at] if pending else []
        day = start if last is None else start + DAY * ((last - start) // DAY + 1)
        candidates.append(day)
        with db.session() as session:
            due = session.execute(select(func.min(FlowRun.due_at)).where(
                FlowRun.store_id == self.store_id, FlowRun.status == "active",
                FlowRun.due_at > (last or start - DAY))).scalar()
        if due is not None:
            candidates.append(due)
        return min(candidates)

    def _deliver(self, beat: Beat) -> None:
        for delivery in beat.deliveries:
            if isinstance(delivery, Webhook):
                self._webhook(delivery, beat.at)
            elif isinstance(delivery, Storefront):
                self._storefront(delivery)
            elif isinstance(delivery, Reads) and self.inbox is not None:
                self._reads(delivery)

    def _webhook(self, delivery: Webhook, at: datetime) -> None:
        body = json.dumps(delivery.payload).encode()
        self._post("/webhooks/shopify", body, {
            "Content-Type": "application/json", "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Hmac-Sha256": sign(self.secret, body), "X-Shopify-Shop-Domain": self.domain,
            "X-Shopify-API-Version": "2026-07", "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": at.isoformat()})

    def _storefront(self, delivery: Storefront) -> None:
        body = json.dumps({"store_id": self.store_id, "events": delivery.events}).encode()
        self._post("/collect", body, {"Content-Type": "application/json",
                                      "X-Storeflow-Signature": sign(self.secret, body)})

    def _reads(self, reading: Reads) -> None:
        """Open the sent email from the inbox: load its pixel, and follow its button if asked."""
        with db.session() as session:
            message_id = session.execute(select(Message.message_id).where(
                Message.store_id == self.store_id, Message.email == reading.email,
                Message.flow == reading.flow, Message.step == reading.step,
                Message.status == "sent")).scalar_one_or_none()
        if message_id is None:
            raise Failed(f"{reading.email} has no {reading.flow} {reading.step} email to open")
        mail = email.message_from_bytes(self.inbox.path(message_id).read_bytes())
        html = next(part for part in mail.walk() if part.get_content_type() == "text/html")
        found = MailLinks(html.get_payload(decode=True).decode(html.get_content_charset() or "utf-8"))
        followed = [("pixel", found.pixel)] + ([("button", found.button)] if reading.clicks else [])
        for what, url in followed:
            if url is None:
                raise Failed(f"{reading.flow} {reading.step} email has no {what}")
            path = urlsplit(url).path
            status = self.sender.get(path, {"User-Agent": MAIL_APP})
            if status not in (200, 302):
                raise Failed(f"GET {path} answered {status}")

    def _post(self, path: str, body: bytes, headers: dict) -> None:
        status = self.sender.post(path, body, headers)
        if status != 200:  # a 204 from /collect means "ignored", which would spoil the demo
            raise Failed(f"POST {path} answered {status}")
