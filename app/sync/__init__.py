"""Keeping stores in sync through their platforms' APIs, for every platform alike: setup after
install, the backfill, reconciliation, and where each stands (progress). Everything it reads
goes into the inbox, and from there the way every webhook goes."""
