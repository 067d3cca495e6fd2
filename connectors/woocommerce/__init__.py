"""WooCommerce: webhook deliveries and signatures, what its payloads mean, and coupons."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from connectors import signing
from connectors.base import Connector, Delivery, Record
from connectors.woocommerce import normalize as _normalize
from connectors.woocommerce.client import WooClient
from connectors.woocommerce.coupons import coupon_request
from connectors.woocommerce.webhooks import dedupe_key, read_delivery


class WooCommerceConnector(Connector):
    platform = "woocommerce"
    topics = frozenset(_normalize.NORMALIZERS)

    def read_delivery(self, headers: Mapping[str, str]) -> Delivery:
        return read_delivery(headers)

    def verify(self, secret: str, body: bytes, signature: str) -> bool:
        # X-WC-Webhook-Signature: base64 HMAC-SHA256 of the raw body (WC_Webhook::generate_signature).
        return signing.verify(secret, body, signature)

    def dedupe_key(self, delivery: Delivery, payload: Any) -> str:
        return dedupe_key(delivery, payload)

    def normalize(self, topic: str, payload: Any) -> list[Record]:
        return _normalize.normalize(topic, payload)

    def create_discount(self, store: Any, *, code: str, percent: float, email: str | None,
                        expires_at: datetime, starts_at: datetime,
                        customer_platform_id: int | None = None) -> None:
        """A single-use percent coupon restricted to the recipient's email (it starts at once)."""
        WooClient.for_store(store).post("coupons", coupon_request(code, percent, email, expires_at))
