"""`storeflow demo`, and the first-run seeding `storeflow dev` does with it."""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager

import click

from app.core.config import Config


@contextmanager
def _summary_only():
    """Hold back the INFO lines (one per delivery, job and email: thousands) while the demo
    plays, so its summary is what a newcomer reads; warnings and errors still show."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def report(config: Config, sent: dict[str, int]) -> None:
    """Say what the demo did and where to look."""
    from app.demo import shop

    click.echo(f"Demo shop {shop.DOMAIN}: {sum(sent.values())} email(s) sent")
    for flow, count in sent.items():
        click.echo(f"  {flow:<22} {count}")
    if config.smtp_url is None:
        click.echo(f"Read them in {config.home / 'dev-inbox'} (.eml files open in any mail app)")
    click.echo(f"Why each was sent: storeflow timeline --store {shop.DOMAIN} --email dan@example.com")
    click.echo(f"Flows and settings: storeflow flows list --store {shop.DOMAIN}")


def sign_in(config: Config) -> None:
    """Print a sign-in link to the demo shop's UI, when the demo shop is there."""
    from sqlalchemy import select

    from app.core.db import db
    from app.demo import shop
    from app.models import Store
    from app.web.ui import auth

    with db.session() as session:
        store_id = session.execute(select(Store.id).where(Store.domain == shop.DOMAIN)).scalar()
    if store_id is not None:
        click.echo(f"See it in the UI: {config.base_url}/app/login/{auth.login_token(store_id)}")
        click.echo(f"  (works once, for 15 minutes; for another: storeflow login-link --store {shop.DOMAIN})")


def seed_if_empty(config: Config) -> None:
    """On a database with no stores, play the demo once (STOREFLOW_DEMO=0 skips it)."""
    from app import create_app
    from app.core.db import db
    from app.demo import run, shop

    if os.environ.get("STOREFLOW_DEMO", "1") == "0":
        return
    with db.session() as session:
        if shop.has_stores(session):
            return
    click.echo("First run: playing a demo shop's day (STOREFLOW_DEMO=0 skips this)...")
    with _summary_only():
        sent = run.play(config, fast=True, flask_app=create_app(config))
    report(config, sent)


def register(cli: click.Group) -> None:
    """Add `storeflow demo` to the group."""

    @cli.command()
    @click.option("--fast", is_flag=True,
                  help="Drive the app in this process (its real endpoints and a worker here) "
                       "instead of over HTTP to a running `storeflow dev`.")
    def demo(fast: bool) -> None:
        """Open a demo Shopify shop with every flow on and play a day of its traffic."""
        from app import bootstrap, create_app
        from app.core import migrate
        from app.demo import run

        config = bootstrap()
        migrate.upgrade()
        flask_app = create_app(config) if fast else None
        try:
            with _summary_only():
                sent = run.play(config, fast=fast, flask_app=flask_app)
        except OSError as error:  # requests' ConnectionError is one
            raise click.ClickException(
                f"cannot reach Storeflow at {config.base_url} ({error.__class__.__name__}); "
                "start it with `storeflow dev`, or use --fast") from None
        report(config, sent)
