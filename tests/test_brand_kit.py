"""The brand kit (issue 18): colours, font stack, button style and social links set in Settings or
with `storeflow settings set` (each bad value's reason: test_settings_validation), carried by
every email, HTML and text; a value that tries to leave its attribute never reaches one."""
from __future__ import annotations

import html
import re
from email import message_from_bytes, policy

import pytest

from app.core.db import db
from app.mail import outbox
from app.mail.brand_kit import kit
from app.mail.render import render
from tests.mail_helpers import with_postal_address
from tests.test_email_templates import full
from tests.test_settings_validation import post_page, stored_store, write_store_settings
from tests.ui_helpers import sign_in

KIT = {"brand_color": "#7c2d12", "text_color": "#1e293b", "background_color": "#fef3c7",
       "font_stack": "georgia", "button_style": "pill",
       "instagram_url": "https://www.instagram.com/fernhill", "x_url": "https://x.com/fernhill",
       "youtube_url": "https://youtu.be/fernhill"}
GEORGIA = "Georgia, 'Times New Roman', Times, serif"


@pytest.fixture
def csrf(client, shop, storeflow):
    return sign_in(client, storeflow, shop.id)


@pytest.mark.parametrize("name, typed", [
    ("brand_color", '#000000" onmouseover="alert(1)'),
    ("text_color", "#000000;background:url(https://evil.example/x)"),
    ("background_color", "#fff}</style><script>alert(1)</script>"),
    ("font_stack", "Arial\"><script>alert(1)</script>"),
    ("instagram_url", 'https://www.instagram.com/x" onclick="alert(1)'),
    ("facebook_url", "https://www.facebook.com/x><script>alert(1)</script>"),
    ("logo_url", "https://cdn.fernhill.example/a.png`onerror=alert(1)"),
])
def test_a_value_that_tries_to_leave_its_attribute_is_refused_and_never_rendered(
        client, csrf, shop, storeflow, name, typed):
    assert post_page(client, csrf, **{name: typed}).status_code == 400
    assert storeflow("settings", "set", "--store", shop.domain, f"{name}={typed}",
                     ok=False).exit_code == 2
    # Written straight into the row (as an old version might): the email renders the default.
    write_store_settings(shop.id, **{name: typed})
    context = full(subject="Hi", message="Still here.", button_text="Look",
                   button_url="{{ shop_url }}")
    context["store"][name] = typed
    rendered = render("built/email", context)
    assert "alert(1)" not in rendered.html and "evil.example" not in rendered.html
    assert "alert(1)" not in rendered.text


def test_the_kit_is_saved_from_the_ui_and_cleared_from_the_cli(client, csrf, shop, storeflow):
    assert post_page(client, csrf, **KIT).status_code == 302
    assert {name: stored_store(shop.id)[name] for name in KIT} == KIT
    page = client.get("/app/settings").get_data(as_text=True)
    assert 'value="https://x.com/fernhill"' in page and '<option value="pill" selected>' in page

    storeflow("settings", "set", "--store", shop.domain, "x_url=", "youtube_url=",
              "font_stack=system")
    stored = stored_store(shop.id)
    assert "x_url" not in stored and "youtube_url" not in stored and "font_stack" not in stored
    assert "font_stack=system" in storeflow("settings", "show", "--store", shop.domain).output


def test_low_contrast_saves_with_a_warning_in_the_ui_and_the_cli(client, csrf, shop, storeflow):
    saved = post_page(client, csrf, brand_color="#787878")
    assert saved.status_code == 302
    page = html.unescape(client.get(saved.location).get_data(as_text=True))
    assert "button text on #787878 has a contrast of 4.42:1, under the 4.5:1" in page

    cli = storeflow("settings", "set", "--store", shop.domain, "text_color=#aaaaaa")
    assert "warning: text_color: #aaaaaa on the white email has a contrast of 2.32:1" in cli.output
    assert stored_store(shop.id)["text_color"] == "#aaaaaa"
    quiet = storeflow("settings", "set", "--store", shop.domain, "brand_color=#1f2937")
    assert "warning" not in quiet.output


def test_button_text_is_chosen_by_wcag_contrast():
    assert kit({"brand_color": "#f97316"}).on_brand == "#18181b"  # orange: dark text reads
    assert kit({"brand_color": "#1f2937"}).on_brand == "#ffffff"
    assert kit({"brand_color": "#fde047"}).brand_tint == "#fefbec"  # 10% on white, as before


def test_an_email_sent_carries_the_kit_in_html_and_text(storeflow, shop, smtp_sink, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")  # for `storeflow`
    with_postal_address(shop.id)
    storeflow("settings", "set", "--store", shop.domain, *(f"{k}={v}" for k, v in KIT.items()))
    with db.session() as session:
        queued = outbox.queue_message(
            session, store_id=shop.id, email="ana@example.com", template="built/email",
            marketing=True, flow="big_order_thanks", context={
                "sample": True, "subject": "Thanks", "message": "We are packing it now.",
                "button_text": "Shop again", "button_url": "{{ shop_url }}"})
    assert outbox.deliver(queued) == "sent"
    message = message_from_bytes(smtp_sink.raw[-1], policy=policy.default)
    body = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()

    assert f"font-family:{GEORGIA}" in html.unescape(body)
    assert "background-color:#fef3c7" in body and "color:#1e293b" in body
    button = re.search(r'<a [^>]*>\s*Shop again\s*</a>', body).group(0)
    assert "border-radius:999px" in button and "background:#7c2d12" in button
    assert "color:#ffffff" in button
    footer = body[body.index("You&#x27;re receiving this"):]
    for site, url in (("Instagram", KIT["instagram_url"]), ("X", KIT["x_url"]),
                      ("YouTube", KIT["youtube_url"])):
        assert f'<a href="{url}"' in footer and f">{site}</a>" in footer
        assert f"{site}: {url}" in text.splitlines()
    assert "Facebook" not in footer and "Facebook" not in text
