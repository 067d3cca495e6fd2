"""WooCommerce webhook deliveries: the headers WooCommerce sends, its creation ping, and the key
that tells a repeated state from a new one."""
from __future__ import annotations

import re
from typing import Any, Mapping

from connectors.base import Delivery, DeliveryError, PayloadError
from connectors.values import parse_id, require

# What we subscribe to. A store's webhooks are created with these topics, nothing else.
TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored",
          "customer.created", "customer.updated", "customer.deleted",
          "product.created", "product.updated", "product.deleted")
# WC_Webhook::deliver_ping(): an unsigned form body, sent once when a webhook is saved; the
# webhook is only saved if we answer 200.
PING = re.compile(rb"^webhook_id=\d{1,20}$")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """The creation ping: no signature, a form body naming the webhook, nothing else."""
    return "X-WC-Webhook-Signature" not in headers and PING.match(body.strip()) is not None


def read_delivery(headers: Mapping[str, str]) -> Delivery:
    """Source, topic and signature from a delivery's headers; the key comes from the body."""
    topic = headers.get("X-WC-Webhook-Topic", "").strip()
    if not topic or len(topic) > 100:
        raise DeliveryError("missing or invalid X-WC-Webhook-Topic")
    return Delivery(shop=headers.get("X-WC-Webhook-Source", "").strip()[:255], topic=topic,
                    key=headers.get("X-WC-Webhook-Delivery-ID", "").strip()[:100],
                    signature=headers.get("X-WC-Webhook-Signature", "").strip())


def dedupe_key(delivery: Delivery, payload: Any) -> str:
    """resource:id:date_modified_gmt. WooCommerce makes a new delivery id for every send of the
    same state (one save can fire order.created and order.updated), and never retries, so the
    state itself is the key: the same version of a resource is stored once."""
    resource, _, event = delivery.topic.partition(".")
    resource_id = parse_id(require(payload, "id"), "id")
    if event == "deleted":
        # A deletion body is the id alone. Its delivery id (a hash of webhook and second) keeps
        # a second deletion after a restore from being taken for the first.
        return f"{resource}:{resource_id}:deleted:{delivery.key}"
    modified = payload.get("date_modified_gmt") or payload.get("date_created_gmt")
    if not isinstance(modified, str) or len(modified) > 40:
        raise PayloadError("missing field 'date_modified_gmt'")
    return f"{resource}:{resource_id}:{modified}"
