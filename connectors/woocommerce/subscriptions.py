"""Our webhooks in a store: created with our secret, and re-activated when WooCommerce has
disabled them (it does after five failed deliveries in a row, and never tells anyone)."""
from __future__ import annotations

from dataclasses import dataclass

from connectors.woocommerce.client import WooClient
from connectors.woocommerce.webhooks import TOPICS


@dataclass(frozen=True)
class Repair:
    topic: str
    action: str  # "created" or "reactivated"
    previous_status: str | None = None


def ensure_webhooks(client: WooClient, delivery_url: str, secret: str) -> list[Repair]:
    """Make one active webhook per topic point at `delivery_url`; say what had to be done."""
    ours = [hook for page in client.pages("webhooks") for hook in page
            if isinstance(hook, dict) and hook.get("delivery_url") == delivery_url]
    repairs = []
    for topic in TOPICS:
        hooks = [hook for hook in ours if hook.get("topic") == topic]
        if any(hook.get("status") == "active" for hook in hooks):
            continue
        if hooks:
            # The secret is set again too: the store may hold one from an older connection.
            client.put(f"webhooks/{hooks[0]['id']}", {"status": "active", "secret": secret})
            repairs.append(Repair(topic, "reactivated", hooks[0].get("status")))
        else:
            client.post("webhooks", {"name": f"Storeflow {topic}", "topic": topic,
                                     "delivery_url": delivery_url, "secret": secret,
                                     "status": "active"})
            repairs.append(Repair(topic, "created"))
    return repairs
