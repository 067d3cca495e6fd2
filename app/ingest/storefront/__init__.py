"""Storefront events on our side: who may post them (auth) and what they change in the local
model (store). What an event means is the storefront connector's (connectors.storefront)."""
