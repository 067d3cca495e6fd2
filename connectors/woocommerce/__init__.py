"""WooCommerce: webhook deliveries and signatures, what its payloads mean, the REST API sync
(webhooks, backfill, reconciliation), and coupons."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

from connectors import signing
from connectors.base import CodeOffer, Connector, Delivery, Record
from connectors.sync import StoreAccess
from connectors.woocommerce import normalize as _normalize, sync
from connectors.woocommerce.client import WooClient, WooError
from connectors.woocommerce.coupons import BATCH, batch_answers, coupon_request
from connectors.woocommerce.webhooks import dedupe_key, is_ping, read_delivery

PLATFORM = "woocommerce"


class WooCommerceConnector(Connector):
    platform = PLATFORM
    title = "WooCommerce"
    topics = frozenset(_normalize.NORMALIZERS)
    backfill_resources = tuple(sync.TOPICS)
    # WooCommerce disables failing webhooks silently; 15 minutes bounds what a store misses.
    reconcile_every = timedelta(minutes=15)
    code_batch = BATCH

    def read_delivery(self, headers: Mapping[str, str]) -> Delivery:
        return read_delivery(headers)

    def verify(self, secret: str, body: bytes, signature: str) -> bool:
        # X-WC-Webhook-Signature: base64 HMAC-SHA256 of the raw body (WC_Webhook::generate_signature).
        return signing.verify(secret, body, signature)

    def dedupe_key(self, delivery: Delivery, payload: Any) -> str:
        return dedupe_key(delivery, payload)

    def normalize(self, topic: str, payload: Any) -> list[Record]:
        return _normalize.normalize(topic, payload)

    def webhook_url(self, base_url: str, store_id: int) -> str:
        """The store's id names it, the signature proves it."""
        return f"{base_url}/webhooks/{PLATFORM}/{store_id}"

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        return is_ping(headers, body)

    def keeps_in_sync(self, store: StoreAccess) -> bool:
        return True

    subscribe = staticmethod(sync.subscribe)
    backfill_pages = staticmethod(sync.backfill_pages)
    changes_since = staticmethod(sync.changes_since)

    def create_discount(self, store: StoreAccess, *, code: str, percent: float,
                        email: str | None, expires_at: datetime, starts_at: datetime,
                        customer_platform_id: int | None = None) -> None:
        """A single-use percent coupon restricted to the recipient's email (it starts at once)."""
        WooClient.for_store(store).post("coupons", coupon_request(code, percent, email, expires_at))

    def code_problem(self, store: StoreAccess) -> str | None:
        """Coupons are written with the store's REST API keys."""
        if not (store.api_key and store.access_token):
            return ("Storeflow has no WooCommerce REST API keys for this store: connect it again "
                    "with keys that may write (Read/Write).")
        return None

    def create_discounts(self, store: StoreAccess, offers: list[CodeOffer], *, percent: float,
                         starts_at: datetime) -> dict[str, str | None]:
        """The coupons BATCH at a time through coupons/batch; a batch the store did not take
        waits whole, the others do not."""
        client, answers = WooClient.for_store(store), {}
        for start in range(0, len(offers), BATCH):
            batch = offers[start:start + BATCH]
            codes = [offer.code for offer in batch]
            try:
                body = client.post("coupons/batch", {"create": [
                    coupon_request(o.code, percent, o.email, o.expires_at) for o in batch]})
            except WooError as error:
                answers.update(dict.fromkeys(codes, str(error)))
                continue
            answers.update(batch_answers(codes, body))
        return answers
