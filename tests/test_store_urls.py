"""WooCommerce store URLs as a merchant or the CLI types them: each refusal says why, and an
accepted URL is stored in one spelling (we make server-side requests to it)."""
from __future__ import annotations

import pytest

from connectors.netguard import policy
from connectors.woocommerce.site import normalize_store_url


@pytest.mark.parametrize("typed, stored", [
    (" HTTPS://Shop.Example.com/ ", "https://shop.example.com"),
    ("https://example.com:443/shop/", "https://example.com/shop"),
    ("https://shop.example.com./", "https://shop.example.com"),
    ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example"),
    # Only a last label of digits or hex marks an IP literal; inner ones are ordinary names.
    ("https://shop.0x7f.example", "https://shop.0x7f.example"),
    ("https://shop.12.example", "https://shop.12.example"),
    ("https://example.com/SHOPX/", "https://example.com/SHOPX"),  # the path keeps its letters
])
def test_an_acceptable_url_is_stored_in_one_spelling(typed, stored):
    assert normalize_store_url(typed) == stored


@pytest.mark.parametrize("typed, reason", [
    ("", "must start with https://"),
    ("http://shop.example.com", "must start with https://"),
    ("ftp://shop.example.com", "must start with https://"),
    ("https://shop.example.com:99999", "the store URL is not a URL"),
    ("https://user@shop.example.com", "must not contain credentials"),
    ("https://:pw@shop.example.com", "must not contain credentials"),
    ("https://shop.example.com/?a=1", "must not have a query or fragment"),
    ("https://shop.example.com/#top", "must not have a query or fragment"),
    ("https://8.8.8.8", "needs a public host name like shop.example.com"),
    ("https://[2001:4860:4860::8888]", "needs a public host name like shop.example.com"),
    ("https://localhost", "needs a public host name like shop.example.com"),
    ("https://shop", "needs a public host name like shop.example.com"),
    ("https://shop.local", "needs a public host name like shop.example.com"),
    ("https://1.2.3.4.5", "needs a public host name like shop.example.com"),
    ("https://shop.0x7f", "needs a public host name like shop.example.com"),
    ("https://shop.0X7F", "needs a public host name like shop.example.com"),
    ("https://-shop.example.com", "needs a public host name like shop.example.com"),
    (f"https://{'a' * 64}.example", "needs a public host name like shop.example.com"),  # a label of 64
    (f"https://{'a' * 60}.{'b' * 60}.{'c' * 60}.{'d' * 60}.example", "too long (200 characters at most)"),
    ("https://shop.example.com:8443", "must use the default https port (443)"),
    ("https://shop.example.com/" + "p" * 200, "too long (200 characters at most)"),
    ("https://shop.example.com/a b", "path is not usable"),
])
def test_a_refusal_says_what_is_wrong(typed, reason):
    """The whole sentence the merchant reads, word for word."""
    with pytest.raises(ValueError) as refused:
        normalize_store_url(typed)
    said = str(refused.value)
    assert said.startswith("the store URL") and said.endswith(reason), said


def test_a_url_of_200_characters_is_accepted():
    url = "https://shop.example.com/" + "p" * (200 - len("shop.example.com/"))
    assert normalize_store_url(url) == url


def test_the_development_setting_accepts_a_store_on_this_machine(monkeypatch):
    monkeypatch.setattr(policy, "allow_private", True)

    assert normalize_store_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert normalize_store_url("http://localhost:80") == "http://localhost"
    assert normalize_store_url("https://[::1]:8443") == "https://[::1]:8443"
    with pytest.raises(ValueError, match="must start with https://"):
        normalize_store_url("ftp://127.0.0.1")
