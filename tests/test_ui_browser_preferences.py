"""The preference page in a real browser (headless chromium): the unsubscribe link of a real
email, as the SMTP server on loopback received it, opens the store's branded page; "Pause for 30
days" holds the next marketing email; "Resume emails" lets mail flow again."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from app.core.db import db
from app.mail import outbox
from app.models import MailPause, Store
from tests.mail_helpers import checkout_message, sent_message
from tests.test_ui_browser import expect

OWN = "john@example.com"  # the published checkout's customer


def test_open_the_emails_unsubscribe_link_and_pause(browser, app_server, shop, webhooks, run_jobs,
                                                    smtp_sink):
    with db.session() as session:
        store = session.get(Store, shop.id)
        store.name = "Fernhill Goods"
        store.settings = {**store.settings, "brand_color": "#0f766e", "font_stack": "georgia"}
    sent_message(shop, webhooks, run_jobs, email=OWN)
    [mail] = smtp_sink.received
    [link] = re.findall(r'href="(http://storeflow\.test/u/[^"]+)"',
                        mail.get_body(("html",)).get_content())
    assert mail["List-Unsubscribe"] == f"<{link}>"  # the header and the footer: one page
    tab = browser.new_context().new_page()

    tab.goto(app_server + urlsplit(link).path)  # our BASE_URL, served here on loopback
    expect(tab.locator(".brand")).to_have_text("Fernhill Goods")
    pause = tab.get_by_role("button", name="Pause for 30 days")
    expect(pause).to_have_css("background-color", "rgb(15, 118, 110)")
    expect(tab.locator("body")).to_have_css("font-family", re.compile("^Georgia"))
    pause.click()

    expect(tab.locator("h1")).to_have_text("Marketing emails paused")
    expect(tab.locator(".notice")).to_contain_text("no marketing emails until")
    with db.session() as session:
        [paused] = session.execute(select(MailPause)).scalars().all()
    assert (paused.store_id, paused.email) == (shop.id, OWN)
    held = checkout_message(shop, webhooks, run_jobs, email=OWN, run_id=2)
    assert outbox.deliver(held) == "cancelled"

    tab.get_by_role("button", name="Resume emails").click()
    expect(tab.locator("h1")).to_have_text("Welcome back")
    again = checkout_message(shop, webhooks, run_jobs, email=OWN, run_id=3)
    assert outbox.deliver(again) == "sent" and len(smtp_sink.received) == 2
    tab.context.close()
