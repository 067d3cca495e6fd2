"""The demo day, beat by beat: what the shop's webhooks and pages report, and when.

Each shopper shows one thing a flow does, or one thing it must not do: Emma and Finn buy before
any reminder is due, Dan buys after his first one (and hears no more), Jack never subscribed and
gets only order updates, Kate unsubscribed and gets nothing. Some open their email, and Ava and
Dan click through to the shop, so the reports have opens, clicks and an attributed order."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.demo import payloads
from app.demo.payloads import Item, Person
from app.demo.shop import DOMAIN

HOUR, MINUTE, DAY = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
# From the day's 09:00 to its last beat, the delivery notices.
LENGTH = 3 * DAY + 6 * HOUR


@dataclass(frozen=True)
class Webhook:
    topic: str
    payload: dict


@dataclass(frozen=True)
class Storefront:
    """A batch of storefront events, as the shop's server signs and posts them to /collect."""

    events: list[dict]


@dataclass(frozen=True)
class Reads:
    """A shopper opening an email they were sent (their mail app loads its images) and, if
    `clicks`, following its button to the shop."""

    email: str
    flow: str
    step: str
    clicks: bool = False


@dataclass(frozen=True)
class Beat:
    at: datetime
    deliveries: list = field(default_factory=list)


def identify(person: Person, at: datetime) -> dict:
    """Our own `identify` event (storeflow.js sends it when a shopper signs in)."""
    return {"type": "identify", "client_event_id": str(uuid.uuid4()), "visitor_id": visitor(person),
            "occurred_at": at.isoformat(), "email": person.email}


def visitor(person: Person) -> str:
    return f"demo-visitor-{person.first_name.lower()}"


def recovery_url(token: str) -> str:
    return f"https://{DOMAIN}/checkouts/{token}/recover"


class Script:
    """Builds the day from the shop's catalogue and people, starting at `start` (09:00)."""

    def __init__(self, start: datetime, items: dict[str, Item], people: dict[str, Person]):
        self.start, self.items, self.people = start, items, people
        self.beats: list[Beat] = []

    def at(self, offset: timedelta, *deliveries) -> None:
        self.beats.append(Beat(self.start + offset, list(deliveries)))

    def cart(self, *pairs: tuple[str, int]) -> list[tuple[Item, int]]:
        return [(self.items[handle], quantity) for handle, quantity in pairs]

    def browse(self, offset: timedelta, name: str, *handles: str) -> None:
        person, at = self.people[name], self.start + offset
        events = [identify(person, at)] + [payloads.viewed(visitor(person), self.items[h],
                                                           at + (i + 1) * MINUTE)
                                           for i, h in enumerate(handles)]
        self.at(offset, Storefront(events))

    def checkout(self, offset: timedelta, name: str, token: str, cart) -> None:
        body = payloads.checkout(token, self.people[name], cart, self.start + offset,
                                 recovery_url(token))
        self.at(offset, Webhook("checkouts/create", body))

    def order(self, offset: timedelta, name: str, number: int, cart, token: str | None = None,
              placed: timedelta | None = None) -> None:
        """An order delivered at `offset`, placed then unless `placed` says otherwise."""
        body = payloads.order(9300000000000 + number, number, self.people[name], cart,
                              self.start + (offset if placed is None else placed),
                              checkout_token=token)
        self.at(offset, Webhook("orders/create", body))

    def reads(self, offset: timedelta, name: str, flow: str, step: str, clicks: bool = False) -> None:
        self.at(offset, Reads(self.people[name].email, flow, step, clicks))

    def ship(self, offset: timedelta, number: int, status: str | None = None) -> None:
        body = payloads.fulfillment(9400000000000 + number, 9300000000000 + number,
                                    self.start + offset, f"1ZDEMO{number:010d}", status)
        self.at(offset, Webhook("fulfillments/create" if status is None else
                                "fulfillments/update", body))


def history(start: datetime, items: dict[str, Item], people: dict[str, Person]) -> list[Beat]:
    """What the shop already had before its flows were switched on: products, customers with
    their consent, and Grace's last order, three months old (the win-back audience finds her)."""
    s = Script(start, items, people)
    opening = start - HOUR
    s.at(-HOUR, *(Webhook("products/update", payloads.product(item, opening))
                  for item in items.values()))
    consent = {"ava": "subscribed", "ben": "subscribed", "chloe": "subscribed",
               "dan": "subscribed", "emma": "subscribed", "finn": "subscribed",
               "grace": "subscribed", "iris": "subscribed", "jack": "not_subscribed",
               "kate": "unsubscribed"}
    s.at(-HOUR + MINUTE, *(delivery for name, state in consent.items() for delivery in (
        Webhook("customers/create", payloads.customer(people[name], opening)),
        Webhook("customers_email_marketing_consent/update", payloads.consent_update(
            people[name].id, people[name].email, state, "confirmed_opt_in", opening)))))
    s.order(-HOUR + 2 * MINUTE, "grace", 1001, s.cart(("breakfast-tea", 2)), placed=-91 * DAY)
    return s.beats


def day(start: datetime, items: dict[str, Item], people: dict[str, Person]) -> list[Beat]:
    """Every beat of the demo day and the days after it, in order of time."""
    s = Script(start, items, people)
    s.browse(10 * MINUTE, "ava", "stoneware-mug", "beeswax-candle")
    s.reads(30 * MINUTE, "grace", "win_back", "reminder")
    s.checkout(30 * MINUTE, "emma", "demo-emma", s.cart(("breakfast-tea", 1), ("stoneware-mug", 2)))
    s.order(50 * MINUTE, "emma", 1002, s.cart(("breakfast-tea", 1), ("stoneware-mug", 2)),
            token="demo-emma")
    s.browse(HOUR, "ben", "canvas-tote")
    s.at(HOUR + 5 * MINUTE, Storefront([payloads.added_to_cart(
        visitor(people["ben"]), items["canvas-tote"], 1, start + HOUR + 5 * MINUTE, "demo-ben")]))
    s.checkout(2 * HOUR, "chloe", "demo-chloe",
               s.cart(("walnut-board", 1), ("linen-tea-towel", 2)))
    s.reads(2 * HOUR + 30 * MINUTE, "emma", "post_purchase", "thank_you")
    s.reads(2 * HOUR + 40 * MINUTE, "ava", "browse_abandonment", "email_1", clicks=True)
    s.reads(3 * HOUR + 20 * MINUTE, "chloe", "abandoned_checkout", "email_1")
    s.checkout(3 * HOUR + 30 * MINUTE, "dan", "demo-dan", s.cart(("beeswax-candle", 2)))
    s.browse(4 * HOUR, "finn", "walnut-board")
    s.order(4 * HOUR + 40 * MINUTE, "finn", 1003, s.cart(("walnut-board", 1)))
    # Jack never subscribed, and his order waits for stock: only order updates reach him.
    s.order(5 * HOUR, "jack", 1004, s.cart(("stoneware-mug", 1)))
    # Dan's first reminder went at 13:30; he comes back through it and buys.
    s.reads(5 * HOUR + 50 * MINUTE, "dan", "abandoned_checkout", "email_1", clicks=True)
    s.order(6 * HOUR, "dan", 1005, s.cart(("beeswax-candle", 2)), token="demo-dan")
    s.reads(6 * HOUR + 20 * MINUTE, "finn", "post_purchase", "thank_you")
    s.checkout(6 * HOUR + 30 * MINUTE, "kate", "demo-kate", s.cart(("canvas-tote", 1)))
    hugo = people["hugo"]
    s.at(7 * HOUR, Webhook("customers/create", payloads.customer(hugo, start + 7 * HOUR)),
         Webhook("customers_email_marketing_consent/update", payloads.consent_update(
             hugo.id, hugo.email, "subscribed", "single_opt_in", start + 7 * HOUR)))
    for number in (1002, 1003, 1005):
        s.ship(DAY - HOUR, number)
    for name in ("emma", "dan"):
        s.reads(DAY + HOUR, name, "order_updates", "shipped")
    s.reads(DAY + 2 * HOUR, "iris", "birthday", "greeting")
    for number in (1002, 1003, 1005):
        s.ship(LENGTH, number, "delivered")
    return sorted(s.beats, key=lambda beat: beat.at)
