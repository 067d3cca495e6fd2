"""The settings UI in a real browser (headless Debian chromium) against the app served on a
loopback port: signing in, switching and tuning flows, previews, test sends, the customer
timeline, refusals; and screenshots of every page at desktop and phone widths."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.core import stores
from app.core.db import db
from app.models import Message, Store
from flows import catalog, choices
from tests.mail_helpers import with_postal_address
from tests.ui_helpers import ANA, login_path, seed_history

SHOTS = Path(__file__).parent / "screenshots" / "ui"
WIDTHS = (1280, 390)


def expect(locator):
    """Playwright's auto-waiting assertions (imported late: Playwright may be absent)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture
def signed_in(browser, app_server, shop, storeflow):
    """A browser tab signed in to the shop through a login link; the shop has the postal
    address that marketing flows need before they can be switched on."""
    with_postal_address(shop.id)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    response = tab.goto(app_server + login_path(storeflow, shop.id))
    assert response.status == 200 and tab.url == f"{app_server}/app/"
    yield tab
    context.close()


def test_sign_in_lands_on_the_overview_with_a_csp(signed_in, app_server):
    response = signed_in.goto(f"{app_server}/app/")
    assert "frame-ancestors https://storeflow-test.myshopify.com" in response.headers["content-security-policy"]
    assert signed_in.locator("h1").inner_text() == "Overview"


def test_toggle_a_flow_and_it_stays_on_after_reload(signed_in, app_server, shop):
    signed_in.goto(f"{app_server}/app/flows")
    switch = signed_in.locator("#browse_abandonment .switch")
    assert switch.get_attribute("aria-checked") == "false"
    switch.click()
    # `expect` polls without eval: the UI's CSP (rightly) forbids string evaluation.
    expect(switch).to_have_attribute("aria-checked", "true")
    signed_in.reload()
    assert signed_in.locator("#browse_abandonment .switch").get_attribute("aria-checked") == "true"
    with db.session() as session:
        assert choices.effective(session, shop.id, catalog.FLOWS["browse_abandonment"])[0] is True


def test_a_marketing_flow_stays_off_without_a_postal_address_and_the_page_says_why(
        signed_in, app_server, shop):
    with db.session() as session:
        session.get(Store, shop.id).settings = {}
    signed_in.goto(f"{app_server}/app/flows")
    card = signed_in.locator("#browse_abandonment")
    expect(card.locator("[data-flow-problems]")).to_contain_text("Add it in Settings")
    card.locator(".switch").click()
    expect(signed_in.locator(".toast-error")).to_contain_text("must carry your postal address")
    assert signed_in.locator("#browse_abandonment .switch").get_attribute("aria-checked") == "false"
    with db.session() as session:
        assert choices.effective(session, shop.id, catalog.FLOWS["browse_abandonment"])[0] is False


def test_change_a_delay_and_the_cli_sees_it(signed_in, app_server, shop, storeflow):
    signed_in.goto(f"{app_server}/app/flows")
    card = signed_in.locator("#abandoned_checkout")
    card.locator("summary:has-text('Edit settings')").click()
    card.locator("input[name=email_1_delay_hours]").fill("3")
    card.locator("button:has-text('Save settings')").click()
    signed_in.wait_for_selector(".toast")
    assert "settings saved" in signed_in.locator(".toast").inner_text()
    listed = storeflow("flows", "list", "--store", str(shop.id)).output
    line = next(row for row in listed.splitlines() if " abandoned_checkout " in row)
    assert "email_1_delay_hours=3 " in line


def test_a_delay_changed_in_the_ui_moves_the_next_scheduled_send(signed_in, app_server, shop,
                                                                  webhooks, run_jobs):
    from tests.flow_helpers import (CHECKOUT_CUSTOMER, HOUR, MINUTE, SAMPLE_TIME, at,
                                    checkout_sample, consent_update)

    signed_in.goto(f"{app_server}/app/flows")
    card = signed_in.locator("#abandoned_checkout")
    card.locator(".switch").click()
    expect(card.locator(".switch")).to_have_attribute("aria-checked", "true")
    card.locator("summary:has-text('Edit settings')").click()
    card.locator("input[name=email_1_delay_hours]").fill("3")
    card.locator("button:has-text('Save settings')").click()
    signed_in.wait_for_selector(".toast")

    # A shopper abandons a checkout: their first reminder is due three hours on, not one.
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample(SAMPLE_TIME))
        run_jobs()
    signed_in.goto(f"{app_server}/app/activity?email=john@example.com")
    coming = signed_in.locator("[data-upcoming=abandoned_checkout]")
    expect(coming).to_contain_text("Email 1")
    assert coming.locator("time").get_attribute("datetime") == (SAMPLE_TIME + 3 * HOUR).isoformat()


def test_the_dry_run_page_waits_for_the_worker_and_then_shows_the_answer(signed_in, app_server,
                                                                         run_jobs):
    signed_in.goto(f"{app_server}/app/flows/abandoned_checkout/dry-run")
    expect(signed_in.locator("[data-poll]")).to_contain_text("Replaying the last 30 days")
    run_jobs()
    expect(signed_in.locator("[data-emailed]")).to_be_visible(timeout=10_000)
    assert signed_in.locator("[data-poll]").count() == 0


def test_preview_renders_and_a_test_send_reaches_smtp(signed_in, app_server, smtp_sink, run_jobs):
    signed_in.goto(f"{app_server}/app/preview?step=abandoned_checkout/email_1")
    frame = signed_in.frame_locator("iframe[title='Desktop preview']")
    assert "You left something behind" in frame.locator("h1").inner_text()
    assert "Linen Throw Blanket" in frame.locator("body").inner_text()
    signed_in.select_option("select[name=step]", "order_updates/shipped")
    signed_in.wait_for_url("**/app/preview?step=order_updates%2Fshipped*")
    assert "1Z999AA10123456784" in signed_in.frame_locator(
        "iframe[title='Phone preview']").locator("body").inner_text()
    signed_in.fill("input[name=to]", "owner@fernhill.example")
    signed_in.click("button:has-text('Send test email')")
    assert "on its way to owner@fernhill.example" in signed_in.locator(".toast").inner_text()
    run_jobs()
    received = smtp_sink.to("owner@fernhill.example")
    assert len(received) == 1 and received[0]["Subject"] == "Your order #1001 is on its way"
    with db.session() as session:
        sent = session.execute(select(Message)).scalar_one()
    assert (sent.status, sent.run_id, sent.flow) == ("sent", None, None)


def test_the_editor_previews_while_typing_and_saves_the_texts(signed_in, app_server, shop):
    signed_in.goto(f"{app_server}/app/preview?step=abandoned_checkout/email_1")
    assert signed_in.locator("button[value=preview]").is_hidden()  # typing previews already
    signed_in.fill("textarea[name=message]", "Your basket misses you.\n\nSee you soon.")
    signed_in.fill("input[name=subject]", "{{ store_name }} saved your basket")
    phone = signed_in.frame_locator("iframe[title='Phone preview']")
    expect(phone.locator("p", has_text="Your basket misses you.")).to_be_visible()
    expect(phone.locator("p", has_text="See you soon.")).to_be_visible()
    expect(signed_in.locator(".envelope .subject")).to_have_text(f"{shop.domain} saved your basket")
    assert "so we saved your cart" not in phone.locator("body").inner_text()

    signed_in.click("button:has-text('Save texts')")
    assert "saved" in signed_in.locator(".toast").inner_text()
    with db.session() as session:
        saved = choices.effective(session, shop.id, catalog.FLOWS["abandoned_checkout"])[1]
    assert saved["email_1_message"] == "Your basket misses you.\n\nSee you soon."
    assert saved["email_1_subject"] == "{{ store_name }} saved your basket"


def test_search_a_customer_and_read_their_timeline(signed_in, app_server, shop):
    seed_history(shop)
    signed_in.goto(f"{app_server}/app/activity")
    signed_in.fill("input[name=email]", "  ANA@example.com ")
    signed_in.press("input[name=email]", "Enter")
    timeline = signed_in.locator(".timeline")
    timeline.wait_for()
    text = timeline.inner_text()
    assert ("quiet hours until 08:00" in text and "Exited" in text
            and "bought before the email was due" in text)
    assert signed_in.locator(".customer h2").inner_text() == "Ana Ruiz"


def test_forged_links_foreign_ids_and_posts_without_csrf_are_refused(browser, signed_in, app_server, storeflow):
    stranger = browser.new_context()
    tab = stranger.new_page()
    assert tab.goto(f"{app_server}/app/login/forged.token.here").status == 403
    assert tab.goto(f"{app_server}/app/").status == 401
    stranger.close()
    with db.session() as session:
        other, _ = stores.connect(session, "woocommerce", "https://other.example",
                                  access_token="ck", webhook_secret="s")
        session.flush()
        foreign = Message(store_id=other.id, email="them@example.com", template="welcome/welcome",
                          context={}, marketing=True, status="sent", message_id="<f@test>")
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    assert signed_in.goto(f"{app_server}/app/activity/messages/{foreign_id}").status == 404
    refused = signed_in.request.post(f"{app_server}/app/flows/welcome/toggle",
                                     form={"enabled": "true"})
    assert refused.status == 400


# Stands in for Shopify's App Bridge, which the test cannot fetch from Shopify's CDN: it does
# what the real one is documented to do for an embedded app, hand out session tokens
# (`shopify.idToken()`) and add one to every fetch the page makes to its own origin.
APP_BRIDGE_STAND_IN = """
(function () {
  var token = %s;
  window.shopify = { idToken: function () { return Promise.resolve(token); } };
  var fetch = window.fetch;
  window.fetch = function (input, init) {
    init = Object.assign({}, init);
    init.headers = new Headers(init.headers || {});
    init.headers.set("Authorization", "Bearer " + token);
    return fetch(input, init);
  };
})();
"""


def test_embedded_in_the_admin_every_page_and_form_signs_in_with_a_session_token(
        browser, app_server, shop):
    import json

    from app.web.ui import APP_BRIDGE_URL
    from tests.helpers import API_SECRET
    from tests.ui_helpers import session_token

    token = session_token(API_SECRET, lifetime=240)  # a slow browser's minutes; five at most
    with_postal_address(shop.id)  # so that its marketing flows can be switched on
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(APP_BRIDGE_URL, lambda route: route.fulfill(
        content_type="text/javascript", body=APP_BRIDGE_STAND_IN % json.dumps(token)))
    tab = context.new_page()
    # Shopify opens the app with the shop, host and a session token in the URL.
    first = tab.goto(f"{app_server}/app/?shop={shop.domain}&host=YWRtaW4&embedded=1&id_token={token}")
    assert first.status == 200 and tab.locator("h1").inner_text() == "Overview"

    # No cookie signs us in from here on: a link carries a fresh token...
    context.clear_cookies()
    tab.click("nav >> text=Flows")
    tab.wait_for_url("**/app/flows?id_token=*")
    assert tab.locator("h1").inner_text() == "Flows"
    # ...a switch posts with App Bridge's fetch...
    context.clear_cookies()
    switch = tab.locator("#browse_abandonment .switch")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    # ...and a form carries one, through its redirect to the page it lands on.
    context.clear_cookies()
    card = tab.locator("#abandoned_checkout")
    card.locator("summary:has-text('Edit settings')").click()
    card.locator("input[name=email_1_delay_hours]").fill("3")
    card.locator("button:has-text('Save settings')").click()
    tab.wait_for_url("**/app/flows?id_token=*#abandoned_checkout")
    assert tab.locator("h1").inner_text() == "Flows"
    with db.session() as session:
        assert choices.effective(session, shop.id, catalog.FLOWS["browse_abandonment"])[0] is True
        assert choices.effective(session, shop.id, catalog.FLOWS["abandoned_checkout"])[1][
            "email_1_delay_hours"] == 3
    # Opened again once its token expired (a reload, the back button): it bounces through App
    # Bridge for a fresh one and shows the page.
    context.clear_cookies()
    tab.goto(f"{app_server}/app/settings?id_token={session_token(API_SECRET, lifetime=-60)}")
    tab.wait_for_url(f"**/app/settings?id_token={token}")
    assert tab.locator("h1").inner_text() == "Settings"
    context.close()


def _shoot(tab, url: str, name: str) -> None:
    for width in WIDTHS:
        tab.set_viewport_size({"width": width, "height": 900})
        tab.goto("about:blank")  # so a URL with an #anchor loads afresh, not as a scroll
        assert tab.goto(url).status in (200, 401), url
        tab.keyboard.press("Home")  # an #anchor scrolled the page; shoot it from the top
        tab.wait_for_timeout(150)  # let previews fit their height
        tab.screenshot(path=str(SHOTS / f"{name}_{width}.png"), full_page=True)


def test_screenshots_of_every_page(signed_in, app_server, shop, run_jobs, storeflow):
    """Writes tests/screenshots/ui/<page>_<width>.png for a person to look at."""
    seed_history(shop)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    # Something in the dev inbox: a test send, delivered by the dev transport.
    signed_in.goto(f"{app_server}/app/preview?step=abandoned_checkout/email_3")
    signed_in.fill("input[name=to]", "owner@fernhill.example")
    signed_in.click("button:has-text('Send test email')")
    run_jobs()
    with db.session() as session:
        test_send = session.execute(select(Message).where(Message.flow.is_(None))).scalar_one()
    pages = {
        "overview": "/app/", "flows": "/app/flows#abandoned_checkout",
        "dry_run": "/app/flows/abandoned_checkout/dry-run",
        "preview": "/app/preview?step=abandoned_checkout/email_3",
        "activity": "/app/activity", "customer": f"/app/activity?email={ANA}",
        "message": f"/app/activity/messages/{test_send.id}", "settings": "/app/settings",
        "dev_inbox": "/app/dev-inbox", "dev_inbox_message": f"/app/dev-inbox/{test_send.id}",
        "staff": "/app/staff",
    }
    signed_in.goto(app_server + pages["dry_run"])  # a worker replays the history first
    run_jobs()
    for name, path in pages.items():
        _shoot(signed_in, app_server + path, name)
    signed_in.context.clear_cookies()
    _shoot(signed_in, app_server + "/app/", "signed_out")
    _shoot(signed_in, app_server + "/app/sign-in", "sign_in")
    assert len(list(SHOTS.glob("*.png"))) == 2 * (len(pages) + 2)


def test_an_owner_invites_a_viewer_who_sees_reports_but_cannot_change_settings(
        signed_in, browser, app_server, smtp_sink, run_jobs):
    import re

    signed_in.goto(f"{app_server}/app/staff")
    signed_in.fill("input[name=email]", "jo@fernhill.example")
    signed_in.select_option("select[name=role]", "viewer")
    signed_in.click("button:has-text('Invite')")
    expect(signed_in.locator(".toast")).to_contain_text("jo@fernhill.example is invited")
    run_jobs()
    mailed = smtp_sink.to("jo@fernhill.example")[-1].get_content()
    path = re.search(r"(/app/login/\S+)", mailed).group(1)

    viewer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    viewer.goto(app_server + path)
    assert viewer.url == f"{app_server}/app/"
    assert viewer.locator("h1").inner_text() == "Overview"
    assert viewer.locator("nav .nav-item span").all_inner_texts() == ["Overview", "Activity",
                                                                        "Campaigns"]
    refused = viewer.goto(f"{app_server}/app/settings")
    assert refused.status == 403
    expect(viewer.locator("main")).to_contain_text("You are signed in as a viewer")
    viewer.context.close()


def test_every_page_and_sign_out_are_in_reach_on_a_phone(signed_in, app_server):
    """At 390 px the navigation wraps instead of scrolling out of sight, and Sign out stays."""
    signed_in.set_viewport_size({"width": 390, "height": 844})
    for path in ("/app/", "/app/settings", "/app/dev-inbox", "/app/audit"):
        signed_in.goto(app_server + path)
        items = signed_in.locator("aside .nav-item")
        assert items.count() >= 8  # the owner's pages, the dev inbox and Sign out
        for n in range(items.count()):
            box = items.nth(n).bounding_box()
            assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 390, (
                path, items.nth(n).inner_text())
    signed_in.get_by_role("button", name="Sign out").click()
    expect(signed_in.locator("h1")).to_have_text("You're signed out")


def test_find_a_customer_by_part_of_their_name_and_page_through_older_emails(
        signed_in, app_server, shop):
    """"ruiz" lists Ana Ruiz, whose page opens from the list; Older and Newer page through the
    store's emails and come back to the same ones."""
    seed_history(shop)
    signed_in.goto(f"{app_server}/app/activity")
    newest = signed_in.locator("table a[href*='/activity/messages/']").all_inner_texts()
    signed_in.click("text=Older →")
    expect(signed_in.locator("text=← Newer")).to_be_visible()
    assert signed_in.locator("table a[href*='/activity/messages/']").count() > 0
    signed_in.click("text=← Newer")
    expect(signed_in.locator("text=← Newer")).to_have_count(0)
    assert signed_in.locator("table a[href*='/activity/messages/']").all_inner_texts() == newest

    signed_in.fill("input[name=email]", "ruiz")
    signed_in.press("input[name=email]", "Enter")
    signed_in.click(".matches a:has-text('Ana Ruiz')")
    expect(signed_in.locator(".customer h2")).to_have_text("Ana Ruiz")
