"""Campaigns: one email to the members of a store's segments (docs in the README).

`campaigns` holds what a merchant defines and the lifecycle commands; `sending` resolves the
recipients, hands them to the outbox in chunks and runs the jobs that move a campaign on;
`groups` draws the holdout and the A/B test's share; `abtest` judges the subjects; `timing` says
when a scheduled or local-time send goes; `report` reads what they did.
"""
