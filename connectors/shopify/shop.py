"""Shop domains: validated before anything else uses them (Shopify's own rule)."""
from __future__ import annotations

import re

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9\-]*\.myshopify\.com$")


def normalize_shop_domain(value: str) -> str:
    """`Example.myshopify.com` -> `example.myshopify.com`; ValueError for anything else."""
    domain = (value or "").strip().lower()
    if not SHOP_DOMAIN.match(domain):
        raise ValueError("a shop domain looks like your-shop.myshopify.com")
    return domain
