"""Shopify webhook deliveries: the headers Shopify documents, and the HMAC it signs with."""
from __future__ import annotations

from typing import Any, Mapping

from connectors.base import Delivery, DeliveryError
from connectors.shopify.shop import normalize_shop_domain
# X-Shopify-Hmac-Sha256 is base64 HMAC-SHA256 of the raw body, as WooCommerce's signature is.
from connectors.signing import sign, verify  # noqa: F401  (sign: for tests and benchmarks)


def read_delivery(headers: Mapping[str, str]) -> Delivery:
    """Shop, topic, dedupe key and signature from a delivery's headers."""
    topic = headers.get("X-Shopify-Topic", "").strip()
    signature = headers.get("X-Shopify-Hmac-Sha256", "").strip()
    # Shopify's guidance is to dedupe on X-Shopify-Event-Id (one per event, the same on every
    # retry); older deliveries only carry X-Shopify-Webhook-Id, which is also stable across
    # retries. The topic is part of the key because one event may be delivered to two topics.
    event_id = (headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id") or "").strip()
    try:
        shop = normalize_shop_domain(headers.get("X-Shopify-Shop-Domain", ""))
    except ValueError:
        raise DeliveryError("missing or invalid X-Shopify-Shop-Domain") from None
    if not topic or len(topic) > 100:
        raise DeliveryError("missing or invalid X-Shopify-Topic")
    if not event_id or len(event_id) > 100:
        raise DeliveryError("missing X-Shopify-Webhook-Id")
    return Delivery(shop=shop, topic=topic, key=f"{topic}:{event_id}", signature=signature)


# Where a body names its shop: the compliance topics' `shop_domain`, and the Shop object's
# `myshopify_domain` (app/uninstalled). Shopify signs the shop's id together with it.
SHOP_FIELDS = ("shop_domain", "myshopify_domain")


def names_shop(payload: Any, shop: str) -> bool:
    """False when a body names a shop other than the one its headers deliver it to: a public
    app's shops share one signing secret, so a signature alone does not tie a body to a shop."""
    if not isinstance(payload, dict):
        return True
    return all(_shop_domain(payload[field]) == shop for field in SHOP_FIELDS
               if payload.get(field) is not None)


def _shop_domain(value: Any) -> str | None:
    try:
        return normalize_shop_domain(str(value))
    except ValueError:
        return None
