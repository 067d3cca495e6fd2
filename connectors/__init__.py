"""The registry of store platforms: one Connector class per platform, looked up by name."""
from __future__ import annotations

from connectors.base import Connector

_registry: dict[str, Connector] = {}


def register(connector: Connector) -> Connector:
    _registry[connector.platform] = connector
    return connector


def get(platform: str) -> Connector | None:
    """The connector for `platform`, or None if we do not support it."""
    if not _registry:
        _load()
    return _registry.get(platform)


def _load() -> None:
    from connectors.shopify import ShopifyConnector
    from connectors.storefront import StorefrontConnector
    from connectors.woocommerce import WooCommerceConnector

    register(ShopifyConnector())
    register(WooCommerceConnector())
    register(StorefrontConnector(signed=False))
    register(StorefrontConnector(signed=True))
