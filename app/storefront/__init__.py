"""Storefront events: what a shop front's tracker (storeflow.js, the Shopify pixel, the WordPress
plugin) reports, stored in the inbox beside webhooks under one of two platform names: what a page
sent (its collect key is public, so it proves nothing about who anyone is) and what the store's
own server signed."""
PLATFORM = "storefront"
SERVER = "storefront-server"
