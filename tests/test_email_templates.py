"""Every step of every prebuilt flow renders, with and without its optional context, into a short
subject, a text part that carries the facts on its own, and inlined, fully rendered HTML; then
screenshots of each at desktop and phone widths for a human to look at."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from app.mail.render import TEMPLATES, render

SHOTS = Path(__file__).parent / "screenshots" / "emails"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

STORE = {
    "name": "Fernhill Goods", "domain": "fernhill.example", "url": "https://fernhill.example",
    "currency": "USD", "brand_color": "#2f5d50", "logo_url": "",
    "postal_address": "12 Orchard Lane, Portland, OR 97201", "from_name": "",
    "from_email": "hello@fernhill.example", "reply_to": "", "timezone": "America/Los_Angeles",
}
RECOVERY_URL = "https://fernhill.example/checkouts/c1f9/recover?key=7d2e"
CONFIRM_URL = "https://fernhill.example/storeflow/confirm/9b1c2d"
UNSUBSCRIBE_URL = "https://storeflow.example/u/4f8a1b"
CODE = "WELCOME-7Q2K"
TRACKING = "1Z999AA10123456784"


def line(title, variant, quantity, price):
    return NS(title=title, variant_title=variant, quantity=quantity, price=Decimal(price))


def product(title, price, *, url=True, image=True):
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return NS(title=title, price=Decimal(price) if price else None,
              url=f"https://fernhill.example/products/{slug}" if url else None,
              image_url=f"https://cdn.fernhill.example/{slug}.jpg" if image else None)


LINES = [line("Linen Throw Blanket", "Sage / Large", 1, "89.00"), line("Stoneware Mug", None, 2, "24.00")]
PRODUCTS = [product("Waxed Canvas Tote", "68.00"), product("Hand-poured Beeswax Candle", "22.00"),
            product("Walnut Serving Board", "54.00")]
# The awkward catalogue: no link, no photo, no price, a name that needs escaping in HTML.
SPARSE_PRODUCTS = [product("Salt & Pepper <Set>", None, url=False, image=False),
                   product("Walnut Serving Board", "54.00", image=False)]


def base(first_name="Ana"):
    customer = NS(first_name=first_name, last_name="Ruiz", email="ana@example.com")
    # compose.context_for always sets these three (None where they do not apply).
    return {"store": dict(STORE), "customer": customer, "email": "ana@example.com",
            "marketing": True, "unsubscribe_url": UNSUBSCRIBE_URL, "confirm_url": CONFIRM_URL}


def checkout(recovery_url=RECOVERY_URL):
    return NS(lines=LINES, total_price=Decimal("137.00"), currency="USD", recovery_url=recovery_url)


def order():
    return NS(name="#1001", lines=LINES, total_price=Decimal("137.00"), currency="USD",
              placed_at=datetime(2025, 3, 3, 17, 5, tzinfo=timezone.utc))


def shipment():
    return NS(tracking_company="UPS", tracking_number=TRACKING,
              tracking_url=f"https://www.ups.com/track?tracknum={TRACKING}")


def full(**extra):
    """Every optional value present."""
    return {**base(), "recommendations": PRODUCTS, "discount_code": CODE, **extra}


def bare(**extra):
    """Every optional value absent: no first name, no code, no recommendations."""
    return {**base(first_name=None), "recommendations": [], **extra}


# (template, variant, context, facts the text part must state on its own)
CASES = [
    ("abandoned_checkout/email_1", "full", full(checkout=checkout()), ["Linen Throw Blanket", RECOVERY_URL, "$137.00"]),
    ("abandoned_checkout/email_1", "bare", bare(checkout=checkout(None)), ["Stoneware Mug", "https://fernhill.example"]),
    ("abandoned_checkout/email_2", "full", full(checkout=checkout()), ["Linen Throw Blanket", RECOVERY_URL]),
    ("abandoned_checkout/email_2", "bare", bare(checkout=checkout()), ["Stoneware Mug", RECOVERY_URL]),
    ("abandoned_checkout/email_3", "full", full(checkout=checkout()), [CODE, RECOVERY_URL]),
    ("abandoned_checkout/email_3", "bare", bare(checkout=checkout()), ["last reminder", RECOVERY_URL]),
    ("abandoned_cart/email_1", "full", full(checkout=checkout()), ["Linen Throw Blanket", RECOVERY_URL]),
    ("abandoned_cart/email_1", "bare", bare(checkout=checkout(None)), ["Stoneware Mug", "https://fernhill.example"]),
    ("browse_abandonment/email_1", "full", full(products=PRODUCTS), [p.title for p in PRODUCTS] + [PRODUCTS[0].url]),
    ("browse_abandonment/email_1", "bare", bare(products=SPARSE_PRODUCTS), ["Salt & Pepper <Set>", "Walnut Serving Board"]),
    ("browse_abandonment/email_1", "single", bare(products=PRODUCTS[:1]), ["Waxed Canvas Tote"]),
    ("order_updates/confirmation", "full", full(order=order()), ["#1001", "Linen Throw Blanket", "$137.00"]),
    ("order_updates/confirmation", "bare", bare(order=order()), ["#1001", "Stoneware Mug"]),
    ("order_updates/status_note", "full", full(order=order()), ["#1001", "hasn't shipped yet"]),
    ("order_updates/status_note", "bare", bare(order=order()), ["#1001", "hasn't shipped yet"]),
    ("order_updates/shipped", "full", full(order=order(), shipment=shipment()), ["#1001", "UPS", TRACKING, shipment().tracking_url]),
    ("order_updates/shipped", "bare", bare(order=order()), ["#1001", "has shipped", "no tracking number"]),
    ("order_updates/shipped", "none", bare(order=order(), shipment=None), ["#1001", "has shipped", "no tracking number"]),
    ("order_updates/shipped", "number_only", bare(order=order(), shipment=NS(tracking_company=None, tracking_number=TRACKING, tracking_url=None)), [TRACKING]),
    ("order_updates/delivered", "full", full(order=order(), shipment=shipment()), ["#1001", "delivered", TRACKING]),
    ("order_updates/delivered", "bare", bare(order=order()), ["#1001", "delivered"]),
    ("post_purchase/thank_you", "full", full(order=order()), ["means a lot"] + [p.title for p in PRODUCTS]),
    ("post_purchase/thank_you", "bare", bare(order=order()), ["means a lot", "https://fernhill.example"]),
    ("post_purchase/delivery_tips", "full", full(order=order()), ["#1001", "once-over"]),
    ("post_purchase/delivery_tips", "bare", bare(order=order()), ["#1001"]),
    ("post_purchase/review_request", "full", full(order=order()), ["#1001", "review", CODE]),
    ("post_purchase/review_request", "bare", bare(order=order()), ["#1001", "review"]),
    ("first_repeat_purchase/second_order_offer", "full", full(order=order()), [CODE, PRODUCTS[0].title]),
    ("first_repeat_purchase/second_order_offer", "bare", bare(order=order()), ["first order", "https://fernhill.example"]),
    ("win_back/reminder", "full", full(), [CODE, PRODUCTS[0].title]),
    ("win_back/reminder", "bare", bare(), ["https://fernhill.example"]),
    ("win_back/second_lapse", "full", full(), [CODE, PRODUCTS[0].title]),
    ("win_back/second_lapse", "bare", bare(), ["https://fernhill.example"]),
    ("win_back/third_lapse", "full", full(), [CODE, PRODUCTS[0].title, "reply"]),
    ("win_back/third_lapse", "bare", bare(), ["https://fernhill.example"]),
    ("win_back/second_reminder", "full", full(), [CODE, PRODUCTS[0].title]),
    ("win_back/second_reminder", "bare", bare(), ["https://fernhill.example"]),
    ("win_back/last_notice", "full", full(), ["last email", "reply"]),
    ("win_back/last_notice", "bare", bare(), ["last email"]),
    ("welcome/confirm", "full", full(confirm_url=CONFIRM_URL), [CONFIRM_URL, "ignore"]),
    ("welcome/confirm", "bare", bare(confirm_url=CONFIRM_URL), [CONFIRM_URL]),
    ("welcome/confirm_reminder_1", "full", full(confirm_url=CONFIRM_URL), [CONFIRM_URL]),
    ("welcome/confirm_reminder_1", "bare", bare(confirm_url=CONFIRM_URL), [CONFIRM_URL]),
    ("welcome/confirm_reminder_2", "full", full(confirm_url=CONFIRM_URL), [CONFIRM_URL, "last time"]),
    ("welcome/confirm_reminder_2", "bare", bare(confirm_url=CONFIRM_URL), [CONFIRM_URL, "last time"]),
    ("welcome/welcome", "full", full(), [CODE, "joining us", PRODUCTS[0].title]),
    ("welcome/welcome", "bare", bare(), ["joining us", "https://fernhill.example"]),
    ("birthday/greeting", "full", full(), ["Happy birthday, Ana", CODE]),
    ("birthday/greeting", "bare", bare(), ["Happy birthday", "https://fernhill.example"]),
    # A built flow's email: the merchant's words (flows.steps.Content) in the same frame.
    ("built/email", "full", full(subject="Thank you for your big order, {{ first_name }}",
                                 message="We are packing it now.\n\nSee you soon.",
                                 preheader="Packed with care", button_text="Shop again",
                                 button_url="{{ shop_url }}/collections/all"),
     ["Hi Ana,", "We are packing it now.", "See you soon.",
      "Shop again:\nhttps://fernhill.example/collections/all"]),
    ("built/email", "bare", bare(subject="Did you see our note?", message="Still here.",
                                 button_text="Look", button_url="javascript:alert(1)"),
     ["Hi there,", "Still here.", "Look:\nhttps://fernhill.example"]),
    # A built flow's note to the store's staff: the merchant's words and who it is about.
    ("built/notify", "full", full(subject="Big order from {{ first_name }}",
                                  message="{{ first_name }} ({{ customer_email }}) ordered.",
                                  flow_title="Big orders",
                                  about=NS(first_name="Ana", last_name="Lima",
                                           email="ana@example.com")),
     ["Ana (ana@example.com) ordered.", "Customer: Ana Lima <ana@example.com>", "Big orders"]),
    ("built/notify", "bare", bare(message="A big order came in.", flow_title="Big orders"),
     ["A big order came in.", "Big orders"]),
]
IDS = [f"{template}:{variant}" for template, variant, _, _ in CASES]
UNRENDERED = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


@pytest.mark.parametrize(("template", "variant", "context", "facts"), CASES, ids=IDS)
def test_step_renders_a_complete_email(template, variant, context, facts):
    rendered = render(template, context)

    assert rendered.subject and "\n" not in rendered.subject and len(rendered.subject) < 80
    assert not UNRENDERED.search(rendered.subject + rendered.text + rendered.html)
    for fact in facts:
        assert fact in rendered.text, f"{fact!r} missing from the text part"
    assert not re.search(r"<(a|p|div|table|td|br)\b", rendered.text), "HTML leaked into the text part"
    assert "\n\n\n" not in rendered.text, "the text part has gaps of several blank lines"
    assert 'style="' in rendered.html and "<h1" in rendered.html
    assert "None" not in rendered.text and ">None<" not in rendered.html
    for img in re.findall(r"<img\b[^>]*>", rendered.html):
        assert 'alt="' in img and "width=" in img, img


def test_every_step_on_disk_is_tested():
    """A template added later without a test case fails here rather than in a customer's inbox."""
    on_disk = {str(p.parent.relative_to(TEMPLATES)) for p in TEMPLATES.glob("*/*/design.json")
               if not p.parts[-3].startswith("_")}
    assert on_disk == {template for template, *_ in CASES}


def test_first_name_personalises_and_its_absence_reads_naturally():
    named = render("abandoned_checkout/email_1", full(checkout=checkout()))
    anonymous = render("abandoned_checkout/email_1", bare(checkout=checkout()))
    assert named.subject.startswith("Ana") and "Hi Ana," in named.text
    assert "Hi there," in anonymous.text and "None" not in anonymous.subject


def test_discount_code_appears_only_when_one_was_made():
    with_code = render("abandoned_checkout/email_3", full(checkout=checkout()))
    without = render("abandoned_checkout/email_3", bare(checkout=checkout()))
    assert CODE in with_code.html and CODE in with_code.text
    assert "code" not in without.text.lower() and "code" not in without.subject.lower()


def test_html_escapes_catalogue_text_and_the_text_part_keeps_it_verbatim():
    rendered = render("browse_abandonment/email_1", bare(products=SPARSE_PRODUCTS))
    assert "Salt &amp; Pepper &lt;Set&gt;" in rendered.html and "<Set>" not in rendered.html
    assert "Salt & Pepper <Set>" in rendered.text
    # No link on the product: it points at the shop instead.
    assert 'href="https://fernhill.example"' in rendered.html


def test_button_text_stays_readable_on_a_light_brand_colour():
    context = full(checkout=checkout())
    context["store"]["brand_color"] = "#fde047"
    html = render("abandoned_checkout/email_1", context).html
    button = re.search(r'<a\b[^>]*>Complete your order</a>', html).group(0)
    assert re.search(r"color: ?#18181b", button)


def test_money_uses_the_currency_symbol_or_code():
    context = full(checkout=NS(lines=[line("Tea", None, 3, "1200")], total_price=Decimal("3600"),
                               currency="JPY", recovery_url=RECOVERY_URL))
    assert "¥3,600" in render("abandoned_checkout/email_1", context).text
    context["checkout"].currency = "SEK"
    assert "3,600.00 SEK" in render("abandoned_checkout/email_1", context).text


def test_help_line_never_promises_a_reply_nobody_can_receive():
    context = full(order=order())
    context["store"]["from_email"] = ""
    text = render("order_updates/confirmation", context).text
    assert "reply" not in text.lower() and "https://fernhill.example" in text


# --- screenshots -----------------------------------------------------------------------------

def _placeholder_image(url: str) -> bytes:
    """A calm product-photo stand-in, a different tint per URL, so screenshots look like a shop."""
    hue = int(hashlib.sha1(url.encode()).hexdigest()[:2], 16) * 360 // 256
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" viewBox="0 0 600 600">'
            f'<rect width="600" height="600" fill="hsl({hue},30%,88%)"/>'
            f'<ellipse cx="300" cy="470" rx="170" ry="26" fill="hsl({hue},25%,78%)"/>'
            f'<rect x="190" y="170" width="220" height="300" rx="28" fill="hsl({hue},35%,52%)"/>'
            f'<rect x="190" y="170" width="220" height="60" rx="28" fill="hsl({hue},35%,42%)"/></svg>').encode()


def _shot_cases():
    cases = [(t, v, c) for t, v, c, _ in CASES]
    with_logo = full(checkout=checkout())
    with_logo["store"].update(logo_url="https://cdn.fernhill.example/logo.svg", brand_color="#b4532a")
    cases.append(("abandoned_checkout/email_3", "logo", with_logo))
    return cases


def test_screenshots(tmp_path):
    """Writes tests/screenshots/emails/<flow>__<step>__<variant>__<width>[_dark].png."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium to take email screenshots")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()

    def serve(route):
        url = route.request.url
        if url.endswith("logo.svg"):
            body = (b'<svg xmlns="http://www.w3.org/2000/svg" width="180" height="40"><text x="0" y="29" '
                    b'font-family="Georgia,serif" font-size="26" fill="#b4532a">Fernhill</text></svg>')
        else:
            body = _placeholder_image(url)
        route.fulfill(status=200, content_type="image/svg+xml", body=body)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, scheme in ((1200, "light"), (390, "light"), (390, "dark")):
                page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
                page.route(re.compile(r"^https?://"), serve)
                for template, variant, context in _shot_cases():
                    if scheme == "dark" and variant != "full":
                        continue
                    page.set_content(render(template, context).html, wait_until="load")
                    name = f"{template.replace('/', '__')}__{variant}__{width}{'_dark' if scheme == 'dark' else ''}.png"
                    page.screenshot(path=str(SHOTS / name), full_page=True)
                page.close()
        finally:
            browser.close()
    assert len(list(SHOTS.glob("*.png"))) > 2 * len(CASES)
