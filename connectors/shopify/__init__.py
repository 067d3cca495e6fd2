"""Shopify: webhook headers and signatures, what its payloads mean, the Admin API sync (token
refresh, subscriptions, backfill, reconciliation), discount codes, and the consent and tags
written back to customers."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from connectors.base import CodeTaken, Connector, Delivery, Record, Refused, dispatch
from connectors.shopify import (credentials, customers, discounts, normalize as _normalize,
                                records, sync)
from connectors.shopify.admin import AdminError, UserErrors
from connectors.shopify.webhooks import names_shop, read_delivery, verify
from connectors.sync import StoreAccess

PLATFORM = "shopify"
# Webhook topics, and the Admin API nodes that backfill pages and reconciled changes carry.
NORMALIZERS = {**_normalize.HANDLED, **records.TOPICS}


class ShopifyConnector(Connector):
    platform = PLATFORM
    title = "Shopify"
    topics = frozenset(_normalize.HANDLED)
    compliance_topics = frozenset(_normalize.COMPLIANCE)
    backfill_resources = ("customers", "products", "orders", "checkouts")

    @property
    def app_secret(self) -> str | None:
        return credentials.credentials.api_secret

    def admin_origins(self, domain: str) -> tuple[str, ...]:
        """The store's own admin and Shopify's unified admin, where the app is embedded."""
        return (f"https://{domain}", "https://admin.shopify.com")

    def read_delivery(self, headers: Mapping[str, str]) -> Delivery:
        return read_delivery(headers)

    def verify(self, secret: str, body: bytes, signature: str) -> bool:
        return verify(secret, body, signature)

    def names_shop(self, delivery: Delivery, payload: Any) -> bool:
        return names_shop(payload, delivery.shop)

    def normalize(self, topic: str, payload: Any) -> list[Record]:
        return dispatch(NORMALIZERS, topic, payload)

    def keeps_in_sync(self, store: StoreAccess) -> bool:
        """Public-app stores (they hold a refresh token); a custom app's webhooks and history
        are the merchant's to set up."""
        return store.refresh_token is not None

    needs_refresh = staticmethod(sync.needs_refresh)
    refresh = staticmethod(sync.refresh)
    subscribe = staticmethod(sync.subscribe)
    backfill_pages = staticmethod(sync.backfill_pages)
    changes_since = staticmethod(sync.changes_since)

    def create_discount(self, store: StoreAccess, *, code: str, percent: float,
                        email: str | None, expires_at: datetime, starts_at: datetime,
                        customer_platform_id: int | None = None) -> None:
        """discountCodeBasicCreate: single use, this customer only when we know their id."""
        try:
            discounts.create(sync.client(store), code, percent, customer_platform_id,
                             starts_at, expires_at)
        except AdminError as error:  # userErrors or a missing scope: asking again won't help
            if isinstance(error, UserErrors) and "TAKEN" in error.codes:
                raise CodeTaken(str(error)) from error
            raise _refused(error) from error

    def code_problem(self, store: StoreAccess) -> str | None:
        """An OAuth grant without write_discounts; a custom app's scopes are not known here
        (its refusal, when it comes, leaves the codes waiting and says so)."""
        granted = {scope.strip() for scope in (store.scopes or "").split(",")}
        if store.scopes is not None and discounts.SCOPE not in granted:
            return (f"Shopify has not granted Storeflow the {discounts.SCOPE} access scope: "
                    "approve it by opening the app from the Shopify admin again.")
        return None

    def write_consent(self, store: StoreAccess, *, customer_platform_id: int, state: str,
                      opt_in_level: str | None, updated_at: datetime) -> bool:
        """customerEmailMarketingConsentUpdate; refused without the write_customers scope."""
        if state not in customers.WRITABLE_STATES:
            return False  # redacted, invalid, not subscribed: Shopify's own, and newer than ours
        try:
            customers.update_consent(sync.client(store), customer_platform_id, state,
                                     opt_in_level, updated_at)
        except AdminError as error:
            raise _refused(error) from error
        return True

    def change_customer_tags(self, store: StoreAccess, *, customer_platform_id: int,
                             tags: list[str], remove: bool = False) -> None:
        """tagsAdd or tagsRemove; refused without the write_customers scope."""
        try:
            customers.change_tags(sync.client(store), customer_platform_id, tags, remove)
        except AdminError as error:
            raise _refused(error) from error


def _refused(error: AdminError) -> Refused:
    """Refused input is about the record; any other refusal, about our access."""
    return Refused(str(error), permission=not isinstance(error, UserErrors))
