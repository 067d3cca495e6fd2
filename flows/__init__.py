"""Prebuilt flows and the engine that runs them. Knows nothing of Shopify or WooCommerce."""
