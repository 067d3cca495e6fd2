"""Settings a merchant can mistype (issue 19): each refused with its reason and range, in the UI
and in the CLI alike; and a bad value already stored (a row written before the rules) stops its
flow or store in one place, said on the pages and in `doctor`, instead of failing a job."""
from __future__ import annotations

import html
import logging

import pytest
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select

from app.core import brand
from app.core.db import db
from app.jobs import broker
from app.models import FlowConfig, FlowRun, Store, WebhookEvent
from flows import catalog, choices, limits
from tests.flow_helpers import (CHECKOUT_CUSTOMER, HOUR, MINUTE, SAMPLE_TIME, at, checkout_sample,
                                consent_update, enable, messages, move_to, order_sample, runs)
from tests.ui_helpers import sign_in

CHECKOUT = "abandoned_checkout"
ADDRESS = "12 Orchard Lane, Portland, OR 97201"
# The abandoned-checkout card as a merchant submits it, every field at its default.
CARD = {"email_1_delay_hours": "1", "email_2_delay_hours": "24", "email_3_delay_hours": "72",
        "discount": "true", "discount_percent": "10", "discount_valid_days": "7",
        "reentry_days": "7", "stale_after_hours": "168", "drop_after_hours": "48",
        "holdout_percent": "0"}
# The settings page as a merchant submits it.
PAGE = {"from_name": "Fernhill", "from_email": "hello@fernhill.example", "reply_to": "",
        "logo_url": "", "brand_color": "#2f5d50", "postal_address": ADDRESS,
        "timezone": "UTC", "frequency_cap_hours": "16", "attribution_days": "5",
        "quiet_on": "true", "quiet_start": "21:00", "quiet_end": "08:00"}


def stored_flow(store_id: int, flow: str = CHECKOUT) -> tuple[bool, dict]:
    with db.session() as session:
        row = session.execute(select(FlowConfig).where(
            FlowConfig.store_id == store_id, FlowConfig.flow == flow)).scalar_one_or_none()
        return (row.enabled, row.settings) if row else (False, {})


def stored_store(store_id: int) -> dict:
    with db.session() as session:
        return dict(session.get(Store, store_id).settings)


def write_store_settings(store_id: int, **values) -> None:
    """Store settings as an old version wrote them: straight into the row, checked by nothing."""
    with db.session() as session:
        store = session.get(Store, store_id)
        store.settings = {**store.settings, **values}


def write_flow(store_id: int, flow: str = CHECKOUT, enabled: bool = True, **values) -> None:
    """A flow's row as an old version wrote it, checked by nothing."""
    with db.session() as session:
        session.add(FlowConfig(store_id=store_id, flow=flow, enabled=enabled, settings=values))


@pytest.fixture
def csrf(client, shop, storeflow):
    return sign_in(client, storeflow, shop.id)


def post_card(client, csrf, **changes):
    return client.post(f"/app/flows/{CHECKOUT}", data={"csrf_token": csrf, **CARD, **changes})


def post_page(client, csrf, **changes):
    return client.post("/app/settings", data={"csrf_token": csrf, **PAGE, **changes})


# --- flow numbers: each bounded, the range stated ------------------------------------------

@pytest.mark.parametrize("name, typed, reason", [
    ("email_1_delay_hours", "99999999999",
     "must be from 1 to 2160 hours (90 days), not 99999999999"),
    ("email_1_delay_hours", "-1", "must be from 1 to 2160 hours (90 days), not -1"),
    ("email_1_delay_hours", "1e400", "is not a number; use a number from 1 to 2160 hours"),
    ("discount_percent", "nan", "is not a number; use a number from 1 to 90%"),
    ("discount_percent", "inf", "is not a number; use a number from 1 to 90%"),
    ("discount_valid_days", "0", "must be from 1 to 365 days, not 0"),
    ("holdout_percent", "100", "must be from 0 to 99%, not 100"),
    ("holdout_percent", "12.5", "use a whole number from 0 to 99%, not 12.5"),
    ("stale_after_hours", "1e12", "must be from 1 to 2160 hours (90 days), not 1e12"),
])
def test_a_flow_number_out_of_range_is_refused_with_its_range_in_the_ui_and_the_cli(
        client, csrf, shop, storeflow, name, typed, reason):
    page = post_card(client, csrf, **{name: typed})
    assert page.status_code == 400
    shown = html.unescape(page.get_data(as_text=True))
    assert "Not saved: " in shown and reason in shown

    cli = storeflow("flows", "set", "--store", shop.domain, CHECKOUT, f"{name}={typed}", ok=False)
    assert cli.exit_code == 2 and f"{name}: " in cli.output and reason in cli.output
    assert stored_flow(shop.id) == (False, {})


def test_later_emails_cannot_come_before_earlier_ones(client, csrf, shop, storeflow):
    page = post_card(client, csrf, email_1_delay_hours="100", email_2_delay_hours="24",
                     email_3_delay_hours="2")
    assert page.status_code == 400
    assert ("Not saved: must be more than email_1_delay_hours (100 hours) and at most 2160 hours"
            in page.get_data(as_text=True))

    # One at a time from the CLI: checked against what is stored, not only what is typed.
    cli = storeflow("flows", "set", "--store", shop.domain, CHECKOUT, "email_3_delay_hours=2",
                    ok=False)
    assert cli.exit_code == 2
    assert "email_3_delay_hours: must be more than email_2_delay_hours (24 hours)" in cli.output
    assert stored_flow(shop.id) == (False, {})
    # Moved together, in order, they are fine.
    storeflow("flows", "set", "--store", shop.domain, CHECKOUT, "email_3_delay_hours=200",
              "email_2_delay_hours=150", "email_1_delay_hours=100")
    assert stored_flow(shop.id)[1] == {"email_1_delay_hours": 100, "email_2_delay_hours": 150,
                                       "email_3_delay_hours": 200}


def test_win_back_and_welcome_keep_their_emails_in_order_too(storeflow, shop):
    bad = storeflow("flows", "set", "--store", shop.domain, "win_back",
                    "last_notice_days=10", ok=False)
    assert "last_notice_days: must be more than second_reminder_days (15 days)" in bad.output
    bad = storeflow("flows", "set", "--store", shop.domain, "welcome", "give_up_days=3", ok=False)
    assert "give_up_days: must be more than reminder_2_days (7 days)" in bad.output


def test_a_control_group_of_half_or_more_is_saved_with_a_warning(client, csrf, shop, storeflow):
    saved = post_card(client, csrf, holdout_percent="60")
    assert saved.status_code == 302
    page = client.get(saved.location).get_data(as_text=True)
    assert "60 % of customers will get none of this flow&#39;s emails" in page

    cli = storeflow("flows", "set", "--store", shop.domain, CHECKOUT, "holdout_percent=75")
    assert "warning: holdout_percent: 75 % of customers will get none" in cli.output
    assert stored_flow(shop.id)[1]["holdout_percent"] == 75
    quiet = storeflow("flows", "set", "--store", shop.domain, CHECKOUT, "holdout_percent=20")
    assert "warning" not in quiet.output


def test_every_flow_default_lies_in_its_range_and_every_number_has_one():
    for flow in catalog.FLOWS.values():
        defaults = choices.defaults(flow)
        assert choices.problems(flow, defaults) == {}, flow.name
        numbers = [n for n, v in defaults.items() if isinstance(v, (int, float))
                   and not isinstance(v, bool)]
        assert set(numbers) <= set(limits.RANGES), flow.name


# --- addresses, the postal address, the logo -----------------------------------------------

@pytest.mark.parametrize("name, typed, reason", [
    ("reply_to", "bad@", "'bad@' is not an email address: nothing after the @"),
    ("reply_to", "@fernhill.example", "is not an email address: nothing before the @"),
    ("reply_to", "help@fernhill", "'fernhill' is not a domain name such as yourstore.com"),
    ("reply_to", "a@b.example, boss@evil.example", "one address only"),
    ("reply_to", "help@fernhill.example\r\nBcc: all@evil.example", "one address only"),
    ("from_email", "fernhill.example", "is not an email address: it has no @"),
    ("from_email", "a..b@fernhill.example", "the part before the @ is not valid"),
    ("frequency_cap_hours", "99999999999", "must be from 0 to 720 hours, not 99999999999"),
    ("attribution_days", "0", "must be from 1 to 90 days, not 0"),
    ("attribution_days", "5.5", "'5.5' is not a whole number; use 1 to 90 days"),
    # The brand kit (issue 18).
    ("text_color", "red", "use a hex colour #rrggbb such as #1a73e8, not 'red'"),
    ("background_color", "#fff", "use a hex colour #rrggbb"),
    ("font_stack", "Comic Sans MS", "one of system, helvetica, georgia, verdana, trebuchet"),
    ("button_style", "round", "one of rounded, square, pill, not 'round'"),
    ("logo_url", "https://cdn.fernhill.example/logo.svg", "Gmail and Outlook do not show SVG"),
    ("instagram_url", "javascript:alert(1)", "not a javascript: link"),
    ("facebook_url", "http://www.facebook.com/fernhill", "use https://, not http://"),
    ("tiktok_url", "https://www.instagram.com/fernhill",
     "TikTok links are on tiktok.com, not www.instagram.com"),
    ("x_url", "https://x.com.evil.example/fernhill", "X links are on x.com or twitter.com"),
    ("pinterest_url", "https://evil.example/?pinterest.com", "Pinterest links are on pinterest.com"),
    ("youtube_url", "https://www.youtube.com/", "link to your YouTube page"),
])
def test_a_bad_store_setting_is_refused_with_its_reason_in_the_ui_and_the_cli(
        client, csrf, shop, storeflow, name, typed, reason):
    page = post_page(client, csrf, **{name: typed})
    assert page.status_code == 400 and reason in html.unescape(page.get_data(as_text=True))

    cli = storeflow("settings", "set", "--store", shop.domain, f"{name}={typed}", ok=False)
    assert cli.exit_code == 2 and f"{name}: " in cli.output and reason in cli.output
    assert name not in stored_store(shop.id)


def test_a_header_cannot_be_smuggled_in_through_the_sender_name(client, csrf, shop, storeflow):
    page = post_page(client, csrf, from_name="Fernhill\r\nBcc: all@evil.example")
    assert page.status_code == 400
    assert "one line, without line breaks" in page.get_data(as_text=True)
    cli = storeflow("settings", "set", "--store", shop.domain,
                    "from_name=Fernhill\nBcc: all@evil.example", ok=False)
    assert cli.exit_code == 2 and "from_name: one line" in cli.output


def test_optional_settings_can_be_cleared_from_the_cli_and_the_ui(client, csrf, shop, storeflow):
    storeflow("settings", "set", "--store", shop.domain, "reply_to=Help@Fernhill.example",
              "from_email=hello@fernhill.example", "logo_url=https://cdn.fernhill.example/l.png")
    assert stored_store(shop.id)["reply_to"] == "help@fernhill.example"

    cleared = storeflow("settings", "set", "--store", shop.domain, "reply_to=", "logo_url=")
    assert "from_email" not in cleared.output
    assert stored_store(shop.id) == {"from_email": "hello@fernhill.example"}

    assert post_page(client, csrf, from_email="", postal_address="").status_code == 302
    assert stored_store(shop.id) == {"from_name": "Fernhill", "brand_color": "#2f5d50"}


@pytest.mark.parametrize("typed, reason", [
    ("javascript:alert(1)", "use an https:// link such as https://cdn.yourstore.com/logo.png, "
                            "not a javascript: link"),
    ("http://cdn.fernhill.example/logo.png", "use https://, not http://"),
    ("https://cdn.fernhill.example/logo.svg", "link to a PNG, JPEG or GIF image"),
    ("https://cdn.fernhill.example/", "link to a PNG, JPEG or GIF image"),
    ("https://user:pw@cdn.fernhill.example/logo.png", "name the image's host"),
    ('https://cdn.fernhill.example/logo.png" onerror="alert(1)', "no spaces, quotes"),
    ("data:image/png;base64,iVBORw0KGgo=", "not a data: link"),
])
def test_a_logo_must_be_an_https_raster_image(client, csrf, shop, storeflow, typed, reason):
    page = post_page(client, csrf, logo_url=typed)
    assert page.status_code == 400 and reason in html.unescape(page.get_data(as_text=True))
    cli = storeflow("settings", "set", "--store", shop.domain, f"logo_url={typed}", ok=False)
    assert cli.exit_code == 2 and "logo_url: " in cli.output and reason in cli.output
    assert "logo_url" not in stored_store(shop.id)


def test_a_logo_link_in_a_store_cdns_shape_passes_the_form_check():
    """Shopify's CDN links carry a version query and upper-case extensions. (The image behind a
    link is looked at too when it is saved: tests/test_logo_image.py, from a stand-in CDN, so
    this test reads no real host whether or not the machine is online.)"""
    assert brand.logo_problem(
        "https://cdn.shopify.com/s/files/1/0533/2089/files/Logo.PNG?v=1614723522") is None


def test_no_marketing_flow_is_switched_on_without_a_postal_address(client, csrf, shop, storeflow):
    toggled = client.post(f"/app/flows/{CHECKOUT}/toggle",
                          data={"csrf_token": csrf, "enabled": "true"})
    assert toggled.status_code == 302
    assert "must carry your postal address" in client.get(toggled.location).get_data(as_text=True)
    as_json = client.post(f"/app/flows/{CHECKOUT}/toggle", data={"enabled": "true"},
                          headers={"Accept": "application/json", "X-CSRF-Token": csrf})
    assert as_json.status_code == 400 and as_json.json["enabled"] is False
    cli = storeflow("flows", "enable", "--store", shop.domain, "welcome", ok=False)
    assert cli.exit_code == 1 and "no postal address" in cli.output
    assert "storeflow settings set" in cli.output
    assert not stored_flow(shop.id)[0] and not stored_flow(shop.id, "welcome")[0]

    # Order updates are transactional: no postal address needed.
    storeflow("flows", "enable", "--store", shop.domain, "order_updates")
    # With the address, the marketing flow goes on; then the address cannot be cleared.
    storeflow("settings", "set", "--store", shop.domain, f"postal_address={ADDRESS}")
    storeflow("flows", "enable", "--store", shop.domain, CHECKOUT)
    cleared = post_page(client, csrf, postal_address="")
    assert cleared.status_code == 400
    assert "marketing flows are switched on (abandoned_checkout)" in cleared.get_data(as_text=True)
    cli = storeflow("settings", "set", "--store", shop.domain, "postal_address=", ok=False)
    assert cli.exit_code == 2 and "switch them off first" in cli.output
    assert stored_store(shop.id)["postal_address"] == ADDRESS


# --- bad values already stored: one place, loud, never deep in a job ----------------------

def no_failed_or_retried_jobs() -> None:
    for name in ("ingest", "flows", "mail"):
        queue = broker.queue(name)
        assert FailedJobRegistry(queue=queue).get_job_ids() == [], name
        assert ScheduledJobRegistry(queue=queue).get_job_ids() == [], name


def test_a_stored_delay_too_big_skips_the_flow_instead_of_failing_the_ingest_job(
        client, csrf, shop, webhooks, run_jobs, storeflow, caplog):
    write_store_settings(shop.id, postal_address=ADDRESS, quiet_hours="off")
    write_flow(shop.id, email_1_delay_hours=99999999999)
    caplog.set_level(logging.INFO)
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/create", checkout_sample())
        run_jobs()

    no_failed_or_retried_jobs()
    with db.session() as session:
        events = session.execute(select(WebhookEvent)).scalars().all()
        assert all(e.processed_at and not e.error for e in events)
    assert runs() == []
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped == ["flow abandoned_checkout skipped: flow settings to fix: email_1_delay_hours"]
    assert "john@example.com" not in caplog.text

    flows_page = client.get("/app/flows").get_data(as_text=True)
    assert "Skipped until fixed" in flows_page
    assert ("email_1_delay_hours: must be from 1 to 2160 hours (90 days), not 99999999999"
            in flows_page)
    overview = client.get("/app/").get_data(as_text=True)
    assert "1 flow is switched on but sending nothing" in overview
    assert "settings out of range" in overview
    listed = storeflow("flows", "list", "--store", shop.domain).output
    assert "to fix (the flow is skipped until then): email_1_delay_hours: must be from 1" in listed
    dry_run = client.get(f"/app/flows/{CHECKOUT}/dry-run")
    assert dry_run.status_code == 302
    assert storeflow("flows", "dry-run", "--store", shop.domain, CHECKOUT, ok=False).exit_code == 1
    doctor = storeflow("doctor", ok=False)
    assert doctor.exit_code == 1
    assert ("abandoned_checkout sends nothing: flow settings to fix: email_1_delay_hours"
            in doctor.output)

    # Fixed from the UI, the next checkout enrolls.
    assert post_card(client, csrf).status_code == 302
    with at(SAMPLE_TIME + 10 * MINUTE):
        webhooks.deliver("checkouts/update", checkout_sample(SAMPLE_TIME + 6 * MINUTE))
        run_jobs()
    assert len(runs()) == 1


def test_a_run_begun_on_settings_that_no_longer_pass_ends_with_the_reason(
        shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, CHECKOUT)
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample())
        run_jobs()
    with db.session() as session:  # as an old version would have copied it onto the run
        run = session.execute(select(FlowRun)).scalar_one()
        run.settings = {**run.settings, "email_2_delay_hours": 1e12}

    move_to(SAMPLE_TIME + HOUR, run_jobs)

    no_failed_or_retried_jobs()
    [run] = runs()
    assert (run.status, run.outcome) == ("exited", "flow settings to fix: email_2_delay_hours")
    assert smtp_sink.received == []


def test_a_stored_bad_reply_to_cancels_mail_with_the_reason_instead_of_retrying(
        client, csrf, shop, webhooks, run_jobs, smtp_sink, storeflow, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")  # for `storeflow`
    enable(shop.id, "order_updates")
    write_store_settings(shop.id, reply_to="bad@")
    with at(SAMPLE_TIME + MINUTE):
        webhooks.deliver("orders/create", order_sample(SAMPLE_TIME))
        run_jobs()
    with db.session() as session:  # a message queued before (or outside) the engine
        store = session.get(Store, shop.id)
        from app.mail import outbox
        queued = outbox.queue_message(session, store_id=store.id, email="john@example.com",
                                      template="order_updates/shipped", marketing=False)
    outbox.enqueue_delivery(queued)
    move_to(SAMPLE_TIME + 24 * HOUR, run_jobs)

    no_failed_or_retried_jobs()
    assert smtp_sink.received == []
    assert [(m.status, m.reason) for m in messages()] == [
        ("cancelled", "store settings to fix: reply_to")]
    assert runs("order_updates") == []  # skipped at the door, said in the log and on the pages
    settings_page = html.unescape(client.get("/app/settings").get_data(as_text=True))
    assert "'bad@' is not an email address: nothing after the @" in settings_page
    assert "store settings to fix" in client.get("/app/").get_data(as_text=True)
    shown = storeflow("settings", "show", "--store", shop.domain)
    assert "to fix (no email leaves until then): reply_to: 'bad@'" in shown.output


def test_no_marketing_email_leaves_without_a_postal_address_but_order_updates_do(
        shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "order_updates", "post_purchase")
    write_store_settings(shop.id, postal_address="")  # cleared by an old version
    with at(SAMPLE_TIME + MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(115310627314723954, "john@example.com"))
        webhooks.deliver("orders/create", order_sample(SAMPLE_TIME))
        run_jobs()
    with db.session() as session:  # a marketing message queued outside the engine (a test send)
        from app.mail import outbox
        queued = outbox.queue_message(session, store_id=shop.id, email="john@example.com",
                                      template="post_purchase/thank_you", marketing=True)
    outbox.enqueue_delivery(queued)
    move_to(SAMPLE_TIME + 24 * HOUR, run_jobs)

    assert runs("post_purchase") == []
    assert [(m.flow, m.step, m.status) for m in messages()] == [
        (None, None, "cancelled"), ("order_updates", "status_note", "sent")]
    assert messages()[0].reason.startswith("no postal address")
    assert len(smtp_sink.received) == 1


def test_a_store_with_bad_stored_values_still_ingests_orders_and_its_pages_open(
        client, csrf, shop, webhooks, run_jobs, storeflow):
    # Read outside the engine too: the attribution window in the ingest job, the UI's clock.
    write_store_settings(shop.id, attribution_days=10 ** 12, timezone="Mars/Olympus",
                         frequency_cap_hours=-5, quiet_hours="25:00-99:00")
    with at(SAMPLE_TIME + MINUTE):
        assert webhooks.deliver("orders/create", order_sample(SAMPLE_TIME)).status_code == 200
        run_jobs()

    no_failed_or_retried_jobs()
    with db.session() as session:
        assert all(e.processed_at and not e.error
                   for e in session.execute(select(WebhookEvent)).scalars())
    for path in ("/app/", "/app/flows", "/app/activity", "/app/settings"):
        assert client.get(path).status_code == 200, path
    page = html.unescape(client.get("/app/settings").get_data(as_text=True))
    assert "No email is sent until the saved 4 settings marked below are fixed" in page
    assert "must be from 1 to 90 days, not 1000000000000" in page
    assert "'Mars/Olympus' is not an IANA time zone name" in page
    assert "use HH:MM-HH:MM between 00:00 and 23:59" in page
    doctor = storeflow("doctor", ok=False)
    assert doctor.exit_code == 1
    assert ("no email leaves: store settings to fix: attribution_days, frequency_cap_hours, "
            "quiet_hours, timezone") in doctor.output
