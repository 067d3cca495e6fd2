"""POST /collect as a stranger uses it: the collect key is in every page of the shop and `Origin`
is forged outside a browser. Whatever such unsigned events say, no customer's name, consent or
records are theirs to borrow, withdraw, merge or delete, and no text of theirs reaches a mail."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import urlsplit

from sqlalchemy import select

from app.core.db import db
from app.models import Checkout, ConsentChange, Customer, Visitor
from connectors.signing import sign
from tests.collect_helpers import ORIGIN, event, pixel
from tests.flow_helpers import HOUR, MINUTE, at, consent_update, enable, move_to
from tests.helpers import SHOP, SHOP_SECRET, published

BOB = 706405506930370084  # customers_create.json: Bob Biller, bob@biller.com
BOB_EMAIL = "bob@biller.com"
STRANGER = "stranger@example.net"
STRANGER_ID = 424242  # the stranger's own account at the shop
PHISH = "URGENT: your account is locked, visit evil.example"
# Outside a browser anyone can say they are one (a crawler's events are dropped unread).
BROWSER = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")
EVENT_TIME = datetime(2026, 11, 22, 10, 3, tzinfo=timezone.utc)  # the pixel samples' checkout


def collect(http, store, *events, signed: bool = False):
    """POST /collect from outside: a forged Origin and the public key, or the store's signature."""
    if signed:
        body = json.dumps({"store_id": store.id, "events": list(events)}).encode()
        headers = {"X-Storeflow-Signature": sign(SHOP_SECRET, body)}
    else:
        body = json.dumps({"store_id": store.id, "key": store.collect_key,
                           "events": list(events)}).encode()
        headers = {"Origin": ORIGIN}
    return http.post("/collect", data=body,
                     headers={"Content-Type": "text/plain", "User-Agent": BROWSER, **headers})


def forged_checkout(visitor: str, email: str, **fields) -> dict:
    """The published checkout_contact_info_submitted, rewritten: the attacker's address, cart
    token and visitor, one line of the real T-shirt with the attacker's title at 0.01."""
    forged = pixel("checkout_contact_info_submitted", clientId=visitor, **fields)
    checkout = forged["data"]["checkout"]
    checkout.update(email=email, token=f"cart-{visitor}",
                    totalPrice={"amount": 0.01, "currencyCode": "USD"})
    [line] = checkout["lineItems"]
    line["quantity"] = 1
    line["variant"]["price"]["amount"] = 0.01
    line["variant"]["product"]["title"] = PHISH
    return forged


def the_shop(shop, webhooks, run_jobs, *, stranger_subscribed: bool = False) -> None:
    """The catalogue, and Bob, a subscribed customer; the stranger may hold an account too."""
    enable(shop.id, "abandoned_checkout")
    with at(EVENT_TIME - HOUR):
        webhooks.deliver("products/update", published("shopify/products_update.json"))
        webhooks.deliver("customers/create", published("shopify/customers_create.json"))
        webhooks.deliver("customers_email_marketing_consent/update", consent_update(BOB, BOB_EMAIL))
        if stranger_subscribed:
            webhooks.deliver("customers_email_marketing_consent/update",
                             consent_update(STRANGER_ID, STRANGER))
        run_jobs()


def attack(http, shop, run_jobs, *events) -> None:
    """The stranger posts these events (whatever the answers), and two hours pass."""
    for forged in events:
        collect(http, shop, forged)
    with at(EVENT_TIME + MINUTE):
        run_jobs()
    move_to(EVENT_TIME + 2 * HOUR, run_jobs)


def strangers_attempts() -> list[dict]:
    """Bob's platform id beside the stranger's address, and the stranger's address alone."""
    return [forged_checkout("visitor-a", STRANGER, customer_id=str(BOB)),
            forged_checkout("visitor-b", STRANGER)]


def everything(mail) -> str:
    return "\n".join([mail["Subject"], mail.get_body(("plain",)).get_content(),
                      mail.get_body(("html",)).get_content()])


def customer(platform_id: int) -> Customer:
    with db.session() as session:
        return session.execute(select(Customer).where(
            Customer.platform_id == platform_id)).scalar_one()


def test_a_customers_consent_never_mails_a_strangers_address(
        http, shop, webhooks, run_jobs, smtp_sink):
    the_shop(shop, webhooks, run_jobs)

    attack(http, shop, run_jobs, *strangers_attempts())

    # Bob agreed to mail at his own address; the stranger, who agreed to nothing, gets none.
    assert smtp_sink.to(STRANGER) == []


def test_mail_to_a_stranger_carries_no_customers_name_and_no_attackers_text(
        http, shop, webhooks, run_jobs, smtp_sink):
    the_shop(shop, webhooks, run_jobs, stranger_subscribed=True)

    attack(http, shop, run_jobs, *strangers_attempts())

    mails = smtp_sink.to(STRANGER)
    assert mails, "the stranger's own abandoned cart is still followed up"
    for mail in mails:
        assert "Bob" not in everything(mail) and "Biller" not in everything(mail)
        assert "URGENT" not in everything(mail) and "evil.example" not in everything(mail)
    # The line is the one in the store's catalogue: its title and price, not the event's.
    assert "Example T-Shirt — $19.99" in mails[0].get_body(("plain",)).get_content()


def test_cart_text_in_a_customers_mail_comes_from_the_catalogue_not_the_event(
        http, shop, webhooks, run_jobs, smtp_sink):
    the_shop(shop, webhooks, run_jobs)

    # The stranger types Bob's own address beside a cart of their own wording.
    attack(http, shop, run_jobs, forged_checkout("visitor-c", BOB_EMAIL))

    [mail] = smtp_sink.to(BOB_EMAIL)
    assert "URGENT" not in everything(mail) and "evil.example" not in everything(mail)
    assert "$0.01" not in everything(mail)
    assert "Example T-Shirt — $19.99" in mail.get_body(("plain",)).get_content()


def test_a_strangers_unsubscribe_leaves_the_customer_subscribed_here_and_at_shopify(
        http, shop, webhooks, run_jobs, smtp_sink, shopify):
    the_shop(shop, webhooks, run_jobs, stranger_subscribed=True)
    attack(http, shop, run_jobs, *strangers_attempts())
    mails = smtp_sink.to(STRANGER)
    assert mails

    for mail in mails:  # one click on every unsubscribe link the stranger was sent
        path = urlsplit(mail["List-Unsubscribe"].split(",")[0].strip("<> ")).path
        assert http.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    run_jobs()

    assert customer(BOB).email_consent == "subscribed"
    written = [update["customerId"] for update in shopify.consent_updates[SHOP]]
    assert f"gid://shopify/Customer/{BOB}" not in written
    # What the stranger unsubscribed is their own address.
    assert customer(STRANGER_ID).email_consent == "unsubscribed"


def test_two_unsigned_identifies_never_merge_move_or_delete_a_guest(http, shop, run_jobs):
    # Bob shops as a guest: his browser's pixel events, then the store's server signs his opt-in.
    victim = "ffac04fa-8ad8-48fd-8a3a-59ad06a7518a"  # the pixel samples' clientId
    collect(http, shop, pixel("product_viewed"), pixel("checkout_contact_info_submitted"))
    collect(http, shop, event("identify", victim, email=BOB_EMAIL, marketing_opt_in=True),
            signed=True)
    run_jobs()
    with db.session() as session:
        guest = session.execute(select(Customer).where(Customer.email == BOB_EMAIL)).scalar_one()

    # A stranger's browser names Bob's address, then their own.
    collect(http, shop, event("identify", "stranger-visitor", email=BOB_EMAIL))
    run_jobs()
    collect(http, shop, event("identify", "stranger-visitor", email=STRANGER))
    run_jobs()

    with db.session() as session:
        bob = session.get(Customer, guest.id)
        assert bob is not None and bob.email_consent == "subscribed"
        owners = {
            "checkout": session.execute(select(Checkout.customer_id)).scalar_one(),
            "visitor": session.execute(select(Visitor.customer_id).where(
                Visitor.visitor_id == victim)).scalar_one(),
            "consent": set(session.execute(select(ConsentChange.customer_id)).scalars()),
        }
    assert owners == {"checkout": guest.id, "visitor": guest.id, "consent": {guest.id}}
