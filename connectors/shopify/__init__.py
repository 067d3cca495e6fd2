"""Shopify: webhook headers and signatures, what its payloads mean, discount codes, and the
consent and tags written back to customers."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from connectors.base import Connector, Delivery, Refused, Record
from connectors.shopify import customers, discounts, normalize as _normalize
from connectors.shopify.admin import AdminClient, AdminError, UserErrors
from connectors.shopify.webhooks import names_shop, read_delivery, verify


class ShopifyConnector(Connector):
    platform = "shopify"
    topics = frozenset(_normalize.HANDLED)
    compliance_topics = frozenset(_normalize.COMPLIANCE)

    def read_delivery(self, headers: Mapping[str, str]) -> Delivery:
        return read_delivery(headers)

    def verify(self, secret: str, body: bytes, signature: str) -> bool:
        return verify(secret, body, signature)

    def names_shop(self, delivery: Delivery, payload: Any) -> bool:
        return names_shop(payload, delivery.shop)

    def normalize(self, topic: str, payload: Any) -> list[Record]:
        return _normalize.normalize(topic, payload)

    def __init__(self) -> None:
        # store -> Admin API client with a fresh token; bound by app.bootstrap, because tokens
        # live in the application's database, which connectors know nothing about.
        self.client_for: Callable[[Any], AdminClient] | None = None

    def create_discount(self, store: Any, *, code: str, percent: float, email: str | None,
                        expires_at: datetime, starts_at: datetime,
                        customer_platform_id: int | None = None) -> None:
        """discountCodeBasicCreate: single use, this customer only when we know their id."""
        try:
            discounts.create(self.client_for(store), code, percent, customer_platform_id,
                             starts_at, expires_at)
        except AdminError as error:  # userErrors or a missing scope: asking again won't help
            raise _refused(error) from error

    def write_consent(self, store: Any, *, customer_platform_id: int, state: str,
                      opt_in_level: str | None, updated_at: datetime) -> bool:
        """customerEmailMarketingConsentUpdate; refused without the write_customers scope."""
        if state not in customers.WRITABLE_STATES:
            return False  # redacted, invalid, not subscribed: Shopify's own, and newer than ours
        try:
            customers.update_consent(self.client_for(store), customer_platform_id, state,
                                     opt_in_level, updated_at)
        except AdminError as error:
            raise _refused(error) from error
        return True

    def add_customer_tags(self, store: Any, *, customer_platform_id: int,
                          tags: list[str]) -> None:
        """tagsAdd; refused without the write_customers scope."""
        try:
            customers.add_tags(self.client_for(store), customer_platform_id, tags)
        except AdminError as error:
            raise _refused(error) from error


def _refused(error: AdminError) -> Refused:
    """Refused input is about the record; any other refusal, about our access."""
    return Refused(str(error), permission=not isinstance(error, UserErrors))
