"""Shopify: webhook headers and signatures, and what its payloads mean."""
from __future__ import annotations

from typing import Any, Mapping

from connectors.base import Connector, Delivery, Record
from connectors.shopify import normalize as _normalize
from connectors.shopify.webhooks import read_delivery, verify_hmac


class ShopifyConnector(Connector):
    platform = "shopify"
    topics = frozenset(_normalize.NORMALIZERS)

    def read_delivery(self, headers: Mapping[str, str]) -> Delivery:
        return read_delivery(headers)

    def verify(self, secret: str, body: bytes, signature: str) -> bool:
        return verify_hmac(secret, body, signature)

    def normalize(self, topic: str, payload: Any) -> list[Record]:
        return _normalize.normalize(topic, payload)
