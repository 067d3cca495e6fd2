"""Storefront events: what a shop front's tracker (storeflow.js, the Shopify pixel, the WordPress
plugin) reports, stored in the inbox beside webhooks under the platform name `storefront`."""
PLATFORM = "storefront"
