"""Per-store webhook subscriptions through the Admin GraphQL API: every topic the connector
reads, plus app/uninstalled. Creating them is idempotent: existing ones are left as they are."""
from __future__ import annotations

from connectors.shopify.admin import AdminClient, AdminError
from connectors.shopify.normalize import LIFECYCLE, NORMALIZERS

TOPICS = tuple(sorted({*NORMALIZERS, *LIFECYCLE}))
# Customer deliveries carry these metafields only when the subscription asks (the birth date).
METAFIELD_NAMESPACES = {"customers/create": ["facts"], "customers/update": ["facts"]}

LIST = """query Subscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic uri } pageInfo { hasNextPage endCursor } } }"""
CREATE = """mutation webhookSubscriptionCreate($topic: WebhookSubscriptionTopic!,
  $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri } userErrors { field message } } }"""


def enum(topic: str) -> str:
    """`orders/create` -> `ORDERS_CREATE`, the GraphQL WebhookSubscriptionTopic."""
    return topic.upper().replace("/", "_")


def existing(client: AdminClient, uri: str) -> set[str]:
    """The topics (as enums) already delivered to `uri`."""
    return {node["topic"] for nodes, _ in client.pages(LIST, "webhookSubscriptions")
            for node in nodes if node.get("uri") == uri}


def ensure(client: AdminClient, uri: str) -> list[str]:
    """Create every missing subscription to `uri`; returns the topics it created."""
    have = existing(client, uri)
    created = []
    for topic in TOPICS:
        if enum(topic) in have:
            continue
        subscription = {"uri": uri, "format": "JSON"}
        if topic in METAFIELD_NAMESPACES:
            subscription["metafieldNamespaces"] = METAFIELD_NAMESPACES[topic]
        result = client.execute(CREATE, {"topic": enum(topic), "webhookSubscription": subscription})
        errors = result["webhookSubscriptionCreate"]["userErrors"]
        if errors:
            raise AdminError(f"{topic}: " + "; ".join(e["message"] for e in errors))
        created.append(topic)
    return created
