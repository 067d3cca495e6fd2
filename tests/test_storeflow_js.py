"""storeflow.js in a real browser: a small shop page on one origin loads the tracker from the
app on another, and its product view and typed email arrive in the database."""
from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from app.core import stores
from app.core.db import db
from app.models import Customer, ProductView, WebhookEvent
from tests.browser import Serving

# HeadlessChrome's own user agent is (rightly) ignored as a bot; a shopper's browser is not.
DESKTOP_CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Safari/537.36")
SHOP_PAGE = """<!doctype html><html><head><title>Test shop</title>
<script>window.storeflowConsent = {consent};</script>
<script async src="{app}/static/storeflow.js" data-store-id="{store_id}" data-key="{key}"></script>
</head><body>
<div data-storeflow-product data-product-id="788032119674292922"
     data-variant-id="642667041472713922" data-title="Example T-Shirt"></div>
<form data-storeflow-checkout><input type="email" id="email"></form>
</body></html>"""


@pytest.fixture
def shop_site():
    """A shop on its own origin (localhost, not 127.0.0.1): the tracker posts cross-origin."""
    page = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    serving = Serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    yield page, f"http://localhost:{serving.port}"
    serving.stop()


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _count(model) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _open_shop(browser, page, shop_url, app_url, consent: str):
    with db.session() as session:
        store, _ = stores.connect(session, "woocommerce", shop_url, access_token="ck_test",
                                  webhook_secret="wc_secret")
        page["html"] = SHOP_PAGE.format(app=app_url, store_id=store.id, key=store.collect_key,
                                        consent=consent)
    context = browser.new_context(user_agent=DESKTOP_CHROME)
    tab = context.new_page()
    tab.goto(shop_url)
    return context, tab


def test_view_and_typed_email_arrive_and_stitch(browser, app_server, shop_site, run_jobs):
    page, shop_url = shop_site
    context, tab = _open_shop(browser, page, shop_url, app_server, consent="true")
    assert _wait_for(lambda: _count(WebhookEvent) == 1), "the product view never arrived"
    tab.type("#email", "Bob@Biller.com", delay=30)
    assert _wait_for(lambda: _count(WebhookEvent) == 2), "the typed email never arrived"
    time.sleep(1.0)  # the debounce must not have sent one event per keystroke
    assert _count(WebhookEvent) == 2
    context.close()

    run_jobs()
    with db.session() as session:
        customer = session.execute(select(Customer)).scalar_one()
        view = session.execute(select(ProductView)).scalar_one()
    assert customer.email == "bob@biller.com"
    assert (view.product_id, view.variant_id, view.customer_id) == (
        788032119674292922, 642667041472713922, customer.id)


def test_nothing_is_sent_without_consent(browser, app_server, shop_site):
    page, shop_url = shop_site
    context, tab = _open_shop(browser, page, shop_url, app_server, consent="false")
    tab.type("#email", "bob@biller.com")
    time.sleep(1.5)
    assert _count(WebhookEvent) == 0
    assert tab.evaluate("window.localStorage.getItem('storeflow_vid')") is None
    # The banner's "accept" sends what was waiting.
    tab.evaluate("window.storeflow.consent(true)")
    assert _wait_for(lambda: _count(WebhookEvent) == 2)
    context.close()
