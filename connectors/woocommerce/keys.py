"""WooCommerce's key exchange (/wc-auth/v1/authorize): where a merchant approves our REST keys,
and whether a store takes the keys it sent."""
from __future__ import annotations

from urllib.parse import urlencode

from connectors.woocommerce.client import WooClient, WooError

APP_NAME = "Storeflow"
SCOPE = "read_write"


def authorize_url(store_url: str, reference: str, base_url: str) -> str:
    """The store's approval screen; WooCommerce posts the keys to our callback naming
    `reference`, and sends the browser back through us."""
    query = urlencode({
        "app_name": APP_NAME, "scope": SCOPE, "user_id": reference,
        "return_url": f"{base_url}/install/woocommerce/return",
        "callback_url": f"{base_url}/install/woocommerce/callback",
    })
    return f"{store_url}/wc-auth/v1/authorize?{query}"


def accepted_by_the_store(url: str, consumer_key: str, consumer_secret: str) -> bool:
    """Whether the store itself takes the keys (its webhooks need the admin's rights): keys only
    its admin could have approved, not ones a stranger made up to claim a URL."""
    try:
        WooClient(url, consumer_key, consumer_secret, retries=0).get("webhooks", {"per_page": 1})
    except WooError:
        return False
    return True
