"""`storeflow customers recompute --store S`: rebuild a store's customer metrics (a repair, or
the backfill right after an upgrade); and the `segments` commands. Names are an interface."""
from __future__ import annotations

import click

from app import bootstrap
from app.cli import options
from app.cli.segments import segments


def register(cli: click.Group) -> None:
    """Add the `customers` and `segments` commands to the `storeflow` group."""
    cli.add_command(customers)
    cli.add_command(segments)


@click.group()
def customers() -> None:
    """Customer metrics."""


@customers.command("recompute")
@click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
def recompute(store_ref: str) -> None:
    """Recompute every customer's metrics of one store from its orders and mail."""
    from app.audiences import metrics
    from app.core.db import db

    bootstrap()
    with db.session() as session:
        store = options.store_or_fail(session, store_ref)
        rows = metrics.recompute_store(session, store.id)
    click.echo(f"recomputed the metrics of {rows} customer(s)")
