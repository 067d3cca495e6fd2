"""The storefront: what a shop front's tracker (storeflow.js, the Shopify pixel, the WordPress
plugin) reports through POST /collect, stored in the inbox beside webhooks under one of two
platform names: what a page sent (its collect key is public, so it proves nothing about who
anyone is) and what the store's own server signed. It has no webhooks and no API to sync."""
from __future__ import annotations

from typing import Any, Mapping

from connectors.base import Connector, Delivery, DeliveryError
from connectors.storefront.normalize import StorefrontRecord, parse

PLATFORM = "storefront"
SERVER = "storefront-server"

__all__ = ["PLATFORM", "SERVER", "StorefrontConnector", "StorefrontRecord"]


class StorefrontConnector(Connector):
    title = "the storefront"
    topics = frozenset()  # events come to /collect, never as webhooks

    def __init__(self, signed: bool) -> None:
        self.signed = signed
        self.platform = SERVER if signed else PLATFORM

    def read_delivery(self, headers: Mapping[str, str]) -> Delivery:
        raise DeliveryError("storefront events are posted to /collect")

    def verify(self, secret: str, body: bytes, signature: str) -> bool:
        return False

    def normalize(self, topic: str, payload: Any) -> list[StorefrontRecord]:
        """One event -> its record; only a signed event's cart is the store's word."""
        return [parse(payload, signed=self.signed)[1]]
