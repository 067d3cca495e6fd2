"""Campaigns: one email to the members of a store's segments (docs in the README).

`campaigns` holds what a merchant defines and the lifecycle commands; `sending` resolves the
recipients and hands them to the outbox in chunks; `report` reads what they did.
"""
