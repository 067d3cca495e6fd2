"""Email-marketing consent from Shopify deliveries: stored with its history, newest news wins,
and CONSENT_CHANGED when a customer's state changes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import NoResultFound

from app.core.db import db
from app.ingest import consent
from app.models import ConsentChange, Customer
from flows import timeline
from tests.helpers import published
from tests.ui_helpers import connect_rival

BOB = 706405506930370084  # customers_create.json and the consent sample


def consent_update(state: str, at: str | None) -> dict:
    payload = published("shopify/customers_email_marketing_consent_update.json")
    payload["email_marketing_consent"].update(state=state, consent_updated_at=at)
    return payload


def bob() -> Customer:
    with db.session() as session:
        return session.execute(select(Customer).where(Customer.platform_id == BOB)).scalar_one()


def history() -> list[tuple[str, str]]:
    with db.session() as session:
        return [(c.state, c.source) for c in
                session.execute(select(ConsentChange).order_by(ConsentChange.id)).scalars()]


def consent_events(emitted) -> list[tuple[str, int]]:
    return [(e.name, e.subject_id) for e in emitted if e.name == "consent_changed"]


def test_the_published_consent_update_creates_the_customer_and_records_not_subscribed(
        shop, webhooks, run_jobs, emitted):
    webhooks.deliver("customers_email_marketing_consent/update",
                     published("shopify/customers_email_marketing_consent_update.json"))
    run_jobs()

    customer = bob()
    assert customer.email == "bob@biller.com"
    assert customer.email_consent == "not_subscribed"
    assert customer.email_consent_updated_at is None
    assert not consent.allows_marketing(customer)
    assert history() == [("not_subscribed", "shopify:customers_email_marketing_consent/update")]
    assert consent_events(emitted) == [("consent_changed", customer.id)]


def test_a_customer_update_that_subscribes_allows_marketing_and_says_so_once(
        shop, webhooks, run_jobs, emitted):
    payload = published("shopify/customers_update.json")
    payload["email_marketing_consent"] = {"state": "subscribed", "opt_in_level": "confirmed_opt_in",
                                          "consent_updated_at": "2021-12-31T18:00:00-05:00"}
    webhooks.deliver("customers/update", payload)
    webhooks.deliver("customers/update", payload)  # a repeat delivery (new webhook id)
    run_jobs()

    customer = bob()
    assert consent.allows_marketing(customer)
    assert customer.email_consent_opt_in_level == "confirmed_opt_in"
    assert customer.email_consent_updated_at.isoformat() == "2021-12-31T23:00:00+00:00"
    assert history() == [("subscribed", "shopify:customers/update")]
    assert consent_events(emitted) == [("consent_changed", customer.id)]


def test_older_consent_never_overwrites_newer(shop, webhooks, run_jobs, emitted):
    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update("unsubscribed", "2022-02-01T10:00:00Z"))
    run_jobs()
    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update("subscribed", "2022-01-01T10:00:00Z"))
    # Undated news (the published sample) only fills a gap; here we know better.
    webhooks.deliver("customers_email_marketing_consent/update",
                     published("shopify/customers_email_marketing_consent_update.json"))
    run_jobs()

    assert bob().email_consent == "unsubscribed"
    assert [state for state, _ in history()] == ["unsubscribed"]
    assert len(consent_events(emitted)) == 1

    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update("subscribed", "2022-03-01T10:00:00Z"))
    run_jobs()
    assert bob().email_consent == "subscribed"
    assert [state for state, _ in history()] == ["unsubscribed", "subscribed"]
    assert len(consent_events(emitted)) == 2


def test_news_dated_the_instant_we_hold_still_applies(shop, webhooks, run_jobs):
    """Shopify stamps consent in whole seconds: an unsubscribe in the same second as the
    subscribe it follows must still be heard."""
    for state in ("subscribed", "unsubscribed"):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(state, "2022-01-01T10:00:00Z"))
        run_jobs()

    assert bob().email_consent == "unsubscribed"
    assert [state for state, _ in history()] == ["subscribed", "unsubscribed"]


def test_the_timeline_tells_each_change_with_its_opt_in_level_and_when_it_was_given(
        shop, webhooks, run_jobs):
    """The history answers "since when, and confirmed how?" (the proof behind every marketing
    send): at the instant the customer gave consent, not when we heard of it."""
    payload = consent_update("subscribed", "2022-01-01T10:00:00Z")
    payload["email_marketing_consent"]["opt_in_level"] = "confirmed_opt_in"
    webhooks.deliver("customers_email_marketing_consent/update", payload)
    run_jobs()

    with db.session() as session:
        told = [(line["at"], line["detail"]) for line in
                timeline.story(session, shop.id, "bob@biller.com") if line["kind"] == "consent"]
    assert told == [("2022-01-01T10:00:00+00:00", "subscribed to marketing email, confirmed "
                                                  "(double opt-in), as Shopify reported")]


def test_a_change_in_another_stores_name_never_touches_this_stores_customer(shop, webhooks,
                                                                           run_jobs):
    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update("subscribed", "2022-01-01T10:00:00Z"))
    run_jobs()
    rival = connect_rival()

    with pytest.raises(NoResultFound), db.session() as session:
        consent.withdraw(session, rival.id, bob().id, datetime(2022, 1, 2, tzinfo=timezone.utc))

    assert bob().email_consent == "subscribed"
    assert [state for state, _ in history()] == ["subscribed"]


def test_a_change_compares_itself_with_what_was_committed_since_the_customer_was_read(shop,
                                                                                      webhooks,
                                                                                      run_jobs):
    """A job that read the customer before another committed an unsubscribe must weigh its
    (older) news against that unsubscribe, not against the copy it read."""
    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update("subscribed", "2022-01-01T10:00:00Z"))
    run_jobs()
    customer_id = bob().id

    with db.session() as session:
        read = session.get(Customer, customer_id)  # held, as ingest holds whom it resolved
        assert read.email_consent == "subscribed"
        with db.session() as other:
            consent.withdraw(other, shop.id, customer_id,
                             datetime(2022, 1, 3, tzinfo=timezone.utc))
        assert consent.confirm(session, shop.id, customer_id,
                               datetime(2022, 1, 2, tzinfo=timezone.utc)) == []

    assert bob().email_consent == "unsubscribed"
    assert [state for state, _ in history()] == ["subscribed", "unsubscribed"]


def checkout_with_box(ticked: bool, updated_at: str) -> dict:
    payload = published("shopify/checkouts_update.json")
    payload.update(buyer_accepts_marketing=ticked, updated_at=updated_at)
    return payload


def test_a_ticked_box_at_checkout_subscribes_the_checkouts_customer(shop, webhooks, run_jobs,
                                                                      emitted):
    checkout = checkout_with_box(True, "2022-01-05T10:00:00Z")
    customer_id = checkout["customer"]["id"]
    webhooks.deliver("checkouts/update", published("shopify/checkouts_update.json"))  # unticked
    run_jobs()
    with db.session() as session:
        assert session.execute(select(Customer.email_consent).where(
            Customer.platform_id == customer_id)).scalar_one() is None  # an unticked box says nothing

    webhooks.deliver("checkouts/update", checkout)
    run_jobs()

    with db.session() as session:
        customer = session.execute(select(Customer).where(
            Customer.platform_id == customer_id)).scalar_one()
    assert consent.allows_marketing(customer)
    assert history() == [("subscribed", "shopify:checkout")]
    assert consent_events(emitted) == [("consent_changed", customer.id)]


def test_a_box_ticked_before_an_unsubscribe_never_resubscribes(shop, webhooks, run_jobs):
    checkout = checkout_with_box(True, "2022-01-09T10:00:00Z")
    checkout["customer"]["id"] = BOB
    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update("unsubscribed", "2022-01-08T10:00:00Z"))
    run_jobs()
    # The abandoned checkout is updated later (a recovery email went out); the box is still ticked.
    webhooks.deliver("checkouts/update", checkout)
    run_jobs()

    assert bob().email_consent == "unsubscribed"
    assert [state for state, _ in history()] == ["unsubscribed"]


def test_legacy_accepts_marketing_counts_where_it_is_all_there_is(shop, webhooks, run_jobs):
    legacy = published("shopify/rest_api/customer.json")["customer"]  # accepts_marketing: false
    webhooks.deliver("customers/update", legacy)
    run_jobs()

    with db.session() as session:
        customer = session.execute(select(Customer).where(
            Customer.platform_id == legacy["id"])).scalar_one()
    assert customer.email_consent == "not_subscribed"
    assert history() == [("not_subscribed", "shopify:customers/update")]


def test_customer_tags_are_a_list(shop, webhooks, run_jobs):
    legacy = published("shopify/rest_api/customer.json")["customer"]
    legacy["tags"] = "vip, wholesale ,, newsletter"
    webhooks.deliver("customers/update", legacy)
    run_jobs()

    with db.session() as session:
        customer = session.execute(select(Customer)).scalar_one()
    assert customer.tags == ["vip", "wholesale", "newsletter"]
    assert customer.birthday is None


def test_our_confirmation_and_unsubscribe_links_are_recorded_and_told_to_the_store_once(
        shop, webhooks, run_jobs):
    """The history says the change came from our own link; a second click changes nothing and
    tells no one."""
    from datetime import datetime, timezone

    from app.core import clock
    from app.jobs import broker
    from app.sync import writeback

    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update("subscribed", "2022-01-01T10:00:00Z"))
    run_jobs()
    customer_id = bob().id
    emitted = []
    for day, change in ((2, consent.confirm), (3, consent.confirm), (4, consent.withdraw),
                        (5, consent.withdraw)):
        at = datetime(2022, 1, day, tzinfo=timezone.utc)
        with clock.frozen_at(at), db.session() as session:
            emitted += change(session, shop.id, customer_id, at)

    assert history() == [
        ("subscribed", "shopify:customers_email_marketing_consent/update"),
        ("subscribed", "storeflow:double_opt_in"), ("subscribed", "storeflow:double_opt_in"),
        ("unsubscribed", "storeflow:unsubscribe"), ("unsubscribed", "storeflow:unsubscribe")]
    assert consent_events(emitted) == [("consent_changed", customer_id)] * 2  # once each
    assert [(job.func, job.args) for job in broker.queue("sync").jobs] == [
        (writeback.consent, (shop.id, customer_id))] * 2
    assert bob().email_consent == "unsubscribed"
