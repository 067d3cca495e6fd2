"""A campaign whose design has a discount block: one single-use code per recipient, made on the
Shopify stub (discountCodeBasicCreate, its published response) or the WooCommerce stub
(coupons/batch, its published response) before the recipient's email is queued, shown in that
email alone; never a second code on a retry, and a recipient whose code the platform would not
make waits and goes once it does."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from app.audiences import segments
from app.campaigns import campaigns, codes, sending
from app.core.db import db
from app.demo.payloads import Person
from app.ingest import consent
from app.mail import outbox
from app.mail.design import document
from app.models import Campaign, Customer, Store
from app.sync import discounts
from app.web.ui import campaign_email
from connectors.base import CodeOffer
from connectors.woocommerce.coupons import batch_answers
from tests.campaign_engine_helpers import everyone
from tests.campaign_helpers import NOW, recipients, report
from tests.flow_helpers import at, enable
from tests.helpers import SHOP, published

PEOPLE = [Person(9300 + n, f"Bea{n}", "Leaf", f"leaf{n}@example.com") for n in range(5)]
CODE = re.compile(r"Your code: (SF-[0-9A-F]{12}) \(15% off\), valid until (\w+ \d+, \d{4})")


def design(**offer) -> dict:
    return {"format": 1, "blocks": [
        {"type": "heading", "text": "A spring thank-you"},
        {"type": "discount", **offer}, {"type": "footer"}]}


@pytest.fixture
def offer_shop(shop, shopify, webhooks, run_jobs, storeflow, smtp_sink, monkeypatch):
    """Five subscribers, and a draft campaign to them whose discount block gives 15 % for 7 days."""
    # The command's start-up configures the transport and Shopify's address from the
    # environment: the same sink and stub.
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    monkeypatch.setenv("SHOPIFY_API_BASE_URL", shopify.base_url)
    everyone(shop, webhooks, run_jobs, storeflow, NOW, PEOPLE)
    with at(NOW):
        storeflow("campaigns", "create", "--store", shop.domain, "Thanks", "--segment",
                  "Everyone", "--subject", "Thank you", "--body", "A code for you.")
        with db.session() as session:
            campaigns.save_design(session, campaigns.named(session, shop.id, "Thanks"),
                                  design(percent=15, valid_days=7), "test")
        yield shop


def sent_chunk(storeflow, shop) -> tuple[int, int, int]:
    """Send the campaign: its id and its one chunk's first and last recipient ids."""
    storeflow("campaigns", "send", "--store", shop.domain, "Thanks")
    resolved = recipients()
    return resolved[0].campaign_id, resolved[0].id, resolved[-1].id


def codes_mailed(smtp_sink) -> dict[str, str]:
    """Each addressee's code, as their email's text part shows it (one email each)."""
    found = {}
    for mail in smtp_sink.received:
        assert mail["To"] not in found
        [(code, until)] = CODE.findall(mail.get_body(("plain",)).get_content())
        last_day = NOW + timedelta(days=7)
        assert until == f"{last_day:%B} {last_day.day}, {last_day.year}"
        found[mail["To"]] = code
    return found


def test_each_recipient_gets_their_own_single_use_code_in_their_own_email(
        offer_shop, storeflow, run_jobs, smtp_sink, shopify):
    storeflow("campaigns", "send", "--store", offer_shop.domain, "Thanks")
    run_jobs()

    mailed = codes_mailed(smtp_sink)
    assert sorted(mailed) == sorted(p.email for p in PEOPLE)
    assert len(set(mailed.values())) == 5
    made = {d["code"]: d for d in shopify.discounts[SHOP]}
    assert sorted(made) == sorted(mailed.values())
    for person in PEOPLE:
        discount = made[mailed[person.email]]
        buyer = f"gid://shopify/Customer/{person.id}"
        assert discount["context"] == {"customers": {"add": [buyer]}}
        assert discount["usageLimit"] == 1
        assert discount["customerGets"]["value"] == {"percentage": 0.15}
        starts, ends = (datetime.fromisoformat(discount[key]) for key in ("startsAt", "endsAt"))
        assert ends - starts == timedelta(days=7)
    figures = report(storeflow, offer_shop, "Thanks")
    assert (figures["status"], figures["sent"], figures["waiting_for_code"]) == ("sent", 5, 0)


def test_a_chunk_retried_after_a_crash_makes_no_second_code(
        offer_shop, storeflow, run_jobs, smtp_sink, shopify, monkeypatch):
    campaign_id, first, last = sent_chunk(storeflow, offer_shop)
    queue = outbox.queue_messages

    def killed(*args, **kwargs):  # the codes are made; the worker dies as the emails are written
        queue(*args, **kwargs)
        raise SystemExit("killed")

    monkeypatch.setattr(outbox, "queue_messages", killed)
    with pytest.raises(SystemExit):
        sending.send_chunk(campaign_id, first, last)
    kept = {r.email: r.discount_code for r in recipients()}
    assert len(shopify.discounts[SHOP]) == 5 and {r.status for r in recipients()} == {"pending"}
    monkeypatch.setattr(outbox, "queue_messages", queue)

    assert sending.send_chunk(campaign_id, first, last) == 5
    run_jobs()  # the chunk job `send` queued: nobody pending, no code asked for
    assert len(shopify.discounts[SHOP]) == 5
    assert codes_mailed(smtp_sink) == kept


def test_a_chunk_that_found_the_campaign_paused_sends_nobody_without_a_code(
        offer_shop, storeflow, run_jobs, smtp_sink, shopify, monkeypatch):
    campaign_id, first, last = sent_chunk(storeflow, offer_shop)
    storeflow("campaigns", "pause", "--store", offer_shop.domain, "Thanks")
    ensure = codes.ensure

    def resumed_meanwhile(*args):  # the codes are asked for while paused; then it is resumed
        found = ensure(*args)
        with db.session() as session:
            session.get(Campaign, campaign_id).status = "sending"
        return found

    monkeypatch.setattr(codes, "ensure", resumed_meanwhile)
    assert sending.send_chunk(campaign_id, first, last) == 0
    assert smtp_sink.received == [] and {r.status for r in recipients()} == {"pending"}
    monkeypatch.setattr(codes, "ensure", ensure)

    assert sending.send_chunk(campaign_id, first, last) == 5
    run_jobs()
    assert len(codes_mailed(smtp_sink)) == 5


def test_a_crash_after_the_platform_made_the_codes_asks_for_the_same_ones_again(
        offer_shop, storeflow, run_jobs, smtp_sink, shopify, monkeypatch):
    campaign_id, first, last = sent_chunk(storeflow, offer_shop)
    create_codes = discounts.create_codes

    def made_then_killed(*args):  # Shopify made them; the worker died before noting it
        create_codes(*args)
        raise SystemExit("killed")

    monkeypatch.setattr(discounts, "create_codes", made_then_killed)
    with pytest.raises(SystemExit):
        sending.send_chunk(campaign_id, first, last)
    monkeypatch.setattr(discounts, "create_codes", create_codes)
    kept = {r.email: r.discount_code for r in recipients()}

    run_jobs()  # Shopify answers TAKEN for each: the codes it already has are ours
    assert len(shopify.discounts[SHOP]) == 5
    assert codes_mailed(smtp_sink) == kept


def test_a_recipient_whose_code_the_platform_refused_waits_then_goes_once(
        offer_shop, storeflow, run_jobs, smtp_sink, shopify):
    shopify.missing_scopes[SHOP].add("write_discounts")  # Shopify denies discountCodeBasicCreate
    storeflow("campaigns", "send", "--store", offer_shop.domain, "Thanks")
    run_jobs()
    assert smtp_sink.received == [] and shopify.discounts[SHOP] == []
    figures = report(storeflow, offer_shop, "Thanks")
    assert (figures["status"], figures["pending"], figures["waiting_for_code"]) == ("sending", 5, 5)

    shopify.missing_scopes[SHOP].discard("write_discounts")  # the merchant grants the scope
    assert sending.sweep_campaigns() == 1
    run_jobs()
    sending.sweep_campaigns()
    run_jobs()
    mailed = codes_mailed(smtp_sink)
    assert len(mailed) == 5 and len(shopify.discounts[SHOP]) == 5
    assert sorted(mailed.values()) == sorted(d["code"] for d in shopify.discounts[SHOP])
    figures = report(storeflow, offer_shop, "Thanks")
    assert (figures["status"], figures["sent"], figures["waiting_for_code"]) == ("sent", 5, 0)


@pytest.mark.parametrize("offer, refusal", [
    ({"percent": 100}, "discount_percent: must be from 1 to 90%, not 100"),
    ({"valid_days": 3650}, "discount_valid_days: must be from 1 to 365 days, not 3650"),
    ({"percent": "15"}, "/blocks/1/percent"),
])
def test_a_design_asking_for_a_free_or_endless_code_is_refused(offer_shop, offer, refusal):
    with db.session() as session:
        campaign = campaigns.named(session, offer_shop.id, "Thanks")
        with pytest.raises(document.DesignError) as refused:
            campaigns.save_design(session, campaign, design(**offer), "attacker")
        assert refusal in str(refused.value.problems)
        assert codes.offer(campaign.design) == (15, 7)  # the saved design is unchanged


def test_a_woocommerce_store_makes_the_codes_through_coupons_batch(woo_store, woo_stub, run_jobs,
                                                                  smtp_sink):
    enable(woo_store.id)
    with at(NOW):
        with db.session() as session:
            session.add_all([Customer(store_id=woo_store.id, platform_id=p.id, email=p.email,
                                      first_name=p.first_name, email_consent=consent.SUBSCRIBED)
                             for p in PEOPLE])
            segments.create(session, woo_store.id, "Everyone", "true", "test")
            campaign = campaigns.create(session, woo_store.id, "Thanks", subject="Thank you",
                                        included=("Everyone",), body="A code for you.",
                                        actor="test")
            campaigns.save_design(session, campaign, design(percent=15, valid_days=7), "test")
            campaigns.send(session, woo_store.id, "Thanks", "test")
        sending.start(campaign.id)
        run_jobs()

        mailed = codes_mailed(smtp_sink)
        assert len(mailed) == 5 and len(set(mailed.values())) == 5
        [call] = woo_stub.requests("POST", "coupons/batch")  # five coupons, one request
        made = call.body["create"]
        assert {item["email_restrictions"][0]: item["code"] for item in made} == mailed
        assert {(item["amount"], item["usage_limit"]) for item in made} == {("15.00", 1)}
        # Asked again (a crash before they were noted): WooCommerce has them, no sixth is made.
        offers = [CodeOffer(code, email, None, NOW + timedelta(days=7))
                  for email, code in mailed.items()]
        assert discounts.create_codes(woo_store, offers, 15) == dict.fromkeys(mailed.values())
    assert len(woo_stub.collections["coupons"]) == 5


def test_a_woocommerce_batch_holds_at_most_a_hundred(woo_store, woo_stub):
    with at(NOW):
        woo_stub.collections["coupons"].append({"code": "SF-00000001"})  # made before a crash
        offers = [CodeOffer(f"SF-{n:08X}", f"c{n}@example.com", None, NOW + timedelta(days=7))
                  for n in range(1, 151)]
        answers = discounts.create_codes(woo_store, offers, 10)
    calls = woo_stub.requests("POST", "coupons/batch")
    assert [len(call.body["create"]) for call in calls] == [100, 50]
    assert answers["SF-00000001"] is None  # a code the store has counts as made
    assert sum(answer is None for answer in answers.values()) == 150
    assert len(woo_stub.collections["coupons"]) == 150


def test_one_coupon_woocommerce_refuses_in_a_batch_waits_alone():
    made = published("woocommerce/coupons_batch.json")["create"][0]
    refused = {"id": 0, "error": {"code": "woocommerce_rest_invalid_email",
                                  "message": "Invalid email", "data": {"status": 400}}}
    assert batch_answers(["SF-1", "SF-2", "SF-3"], {"create": [made, refused]}) == {
        "SF-1": None, "SF-2": "Invalid email", "SF-3": "WooCommerce did not answer for it"}


def test_the_preview_shows_a_stand_in_code_and_a_refusal_by_its_block(offer_shop):
    with db.session() as session, at(NOW):
        campaign = campaigns.named(session, offer_shop.id, "Thanks")
        store = session.get(Store, offer_shop.id)
        shown, problems = campaign_email.drawn(session, store, campaign, None, campaign.design)
        assert problems == [] and "Your code: PREVIEW-15OFF (15% off)" in shown.text
        shown, problems = campaign_email.drawn(session, store, campaign, None, design(percent=95))
    assert shown is None
    assert problems == [("/blocks/1/percent", "discount_percent: must be from 1 to 90%, not 95")]
