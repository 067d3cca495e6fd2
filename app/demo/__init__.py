"""The demo: a small Shopify shop and a day of its traffic, played through the real endpoints."""
