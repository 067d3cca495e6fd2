"""The `storeflow` command. Names here are an interface: other tools and tests call them."""
from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import click

from app import bootstrap
from app.cli import campaigns as cli_campaigns, customers, doctor, emails as cli_emails, flows as cli_flows, options
from app.core import logs
from app.core.config import ConfigError
from app.demo import cli as demo_cli


class StoreflowGroup(click.Group):
    """Turns configuration errors into one clear line instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=StoreflowGroup)
def cli() -> None:
    """Storeflow: email automation for Shopify and WooCommerce stores."""
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))


# --- processes -----------------------------------------------------------------------------

@cli.command()
def web() -> None:
    """Serve HTTP on $PORT with gunicorn (the Procfile's web process)."""
    bootstrap()  # fail here, with the variable's name, before gunicorn forks
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-c",
                              "python:app.gunicorn_conf", "app:create_app()"])


@cli.command()
@click.option("--burst", is_flag=True, help="Process everything queued, then exit.")
@click.option("--queue", "only", multiple=True, metavar="NAME",
              help="Serve only these queues (repeatable), e.g. a worker just for `sync`.")
def worker(burst: bool, only: tuple[str, ...]) -> None:
    """Run jobs from every queue (the Procfile's worker process), or only the ones named.

    Jobs run in this process (RQ's SimpleWorker, see `app.jobs.worker`) rather than in a fork per
    job: our jobs are short, take ids and guard themselves in the database, and staying in one
    process keeps the database pool and the SMTP connection open across a batch instead of
    reopening them for every message. SIGTERM still lets the current job finish before the
    worker exits.
    """
    from app.jobs import QUEUES
    from app.jobs.worker import worker as storeflow_worker

    unknown = set(only) - set(QUEUES)
    if unknown:
        raise click.BadParameter(f"no queue {', '.join(sorted(unknown))}; queues: "
                                 f"{', '.join(QUEUES)}", param_hint="--queue")
    bootstrap()
    queues = tuple(name for name in QUEUES if not only or name in only)
    ready = storeflow_worker(queues)
    if not burst:
        # What start-up built lives as long as the worker: frozen, the collector's full passes
        # no longer walk its quarter of a million objects (bench/RESULTS.md). A burst ends with
        # its queue, and may run inside another program (a test) whose objects it would freeze.
        gc.collect()
        gc.freeze()
    ready.work(burst=burst, with_scheduler=True)


@cli.command()
def scheduler() -> None:
    """Enqueue the periodic jobs on time (RQ's cron scheduler)."""
    from app.jobs.schedule import cron_scheduler

    bootstrap()
    cron_scheduler().start()


@cli.command()
def dev() -> None:
    """Run web, worker and scheduler together on embedded services, for a local try-out."""
    from app.core import migrate

    config = bootstrap()
    migrate.upgrade()
    demo_cli.seed_if_empty(config)
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
        "SECRET_KEY": config.secret_key, "ENCRYPTION_KEY": ",".join(config.encryption_keys),
        "BASE_URL": config.base_url, "PORT": str(config.port),
        "HOST": os.environ.get("HOST", "127.0.0.1"), "WEB_CONCURRENCY": "1",
    }
    stopping: list[bool] = []
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.append(True))
    # Each in its own session: a terminal's Ctrl-C reaches this process alone, which then stops
    # each child with one SIGTERM (a second signal mid-shutdown makes RQ abort with a traceback).
    children = [subprocess.Popen([sys.executable, "-m", "app.cli", name], env=env,
                                 start_new_session=True)
                for name in ("web", "worker", "scheduler")]
    if _ready(config, children, stopping):
        # Last, below the processes' start-up lines, where the eye lands.
        click.echo(f"Storeflow is running at {config.base_url}  (Ctrl-C stops it)")
        demo_cli.sign_in(config)
    _supervise(children, stopping)


def _ready(config, children: list[subprocess.Popen], stopping: list[bool],
           timeout: float = 60) -> bool:
    """Wait until the web answers, the worker and scheduler beat and the worker has done what
    was queued (the demo's history); False if one exits, a signal comes or `timeout` seconds
    pass first."""
    from app.jobs import QUEUES, broker, heartbeat

    deadline = time.monotonic() + timeout
    while not stopping and time.monotonic() < deadline \
            and all(child.poll() is None for child in children):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{config.port}/healthz", timeout=1).close()
            web = True
        except urllib.error.HTTPError:  # it answered: 503 until the others are up
            web = True
        except OSError:
            web = False
        if web and heartbeat.worker_state(broker.connection) == "up" \
                and heartbeat.scheduler_state(broker.connection) == "up" \
                and not any(broker.queue(name).count for name in QUEUES):
            return True
        time.sleep(0.3)
    return False


def _supervise(children: list[subprocess.Popen], stopping: list[bool]) -> None:
    """Wait until a signal or a child's exit, then stop every child before returning."""
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=25)
        except subprocess.TimeoutExpired:
            child.kill()
    failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM)]
    if failed and not stopping:
        raise SystemExit(1)


# --- database ------------------------------------------------------------------------------

@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (the Procfile's release phase)."""
    from app.core import migrate

    bootstrap()
    migrate.upgrade(revision)
    click.echo(f"database at {revision}")


@cli.group()
def inbox() -> None:
    """The webhook inbox."""


@inbox.command("retry")
@click.option("--store", "store_ref", help="Only this store (id or domain).")
def inbox_retry(store_ref: str | None) -> None:
    """Queue again the deliveries whose processing failed every automatic retry."""
    from app.core.db import db as database
    from app.ingest.sweep import retry_exhausted

    bootstrap()
    store_id = None
    if store_ref:
        with database.session() as session:
            store_id = options.store_or_fail(session, store_ref).id
    click.echo(f"queued {retry_exhausted(store_id)} delivery(ies) again")


# --- stores and customers ------------------------------------------------------------------

@cli.group()
def store() -> None:
    """Connect and inspect stores."""


@store.group("add")
def store_add() -> None:
    """Connect a store with credentials made in its admin."""


@store_add.command("shopify")
@click.argument("domain")
@click.option("--token", required=True, help="Admin API access token of the custom app.")
@click.option("--webhook-secret", required=True,
              help="The custom app's API secret key (Shopify signs webhooks with it).")
def store_add_shopify(domain: str, token: str, webhook_secret: str) -> None:
    """Connect a Shopify store through a custom app's Admin API token."""
    from app.core import stores
    from app.core.db import db as database
    from connectors.shopify.shop import normalize_shop_domain

    try:
        domain = normalize_shop_domain(domain)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="DOMAIN") from None
    bootstrap()
    with database.session() as session:
        connected, created = stores.connect(session, "shopify", domain, access_token=token,
                                            webhook_secret=webhook_secret)
    click.echo(f"{'connected' if created else 'reconnected'} {domain}")
    click.echo(connected.id)


@store_add.command("woocommerce")
@click.argument("url")
@click.option("--key", required=True, help="REST API consumer key (ck_...).")
@click.option("--secret", required=True, help="REST API consumer secret (cs_...).")
@click.option("--webhook-secret", default=None,
              help="Secret for webhooks and the plugin's signature (generated when not given).")
def store_add_woocommerce(url: str, key: str, secret: str, webhook_secret: str | None) -> None:
    """Connect a WooCommerce store with REST API keys made in WooCommerce > Settings > Advanced."""
    from app.core import stores
    from app.core.db import db as database
    from app.sync.setup import queue_setup
    from connectors.woocommerce import PLATFORM
    from connectors.woocommerce.site import normalize_store_url

    try:
        url = normalize_store_url(url)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="URL") from None
    bootstrap()
    with database.session() as session:
        connected, created = stores.connect_with_keys(session, PLATFORM, url, consumer_key=key,
                                                      consumer_secret=secret,
                                                      webhook_secret=webhook_secret)
        store_id, signing_secret = connected.id, connected.webhook_secret
    if not queue_setup(store_id):
        click.echo("webhooks and backfill not queued (Redis is down); the scheduler retries")
    click.echo(f"{'connected' if created else 'reconnected'} {url}")
    if not webhook_secret:
        # Shown once so it can be pasted into the plugin; it is stored encrypted.
        click.echo(f"webhook secret (for the Storeflow plugin): {signing_secret}")
    click.echo(store_id)


@cli.group()
def customer() -> None:
    """Look up customers."""


@customer.command("export")
@click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
@click.option("--email", required=True)
def customer_export(store_ref: str, email: str) -> None:
    """Print everything held about a customer as JSON (also the GDPR data-request export)."""
    from app.core.db import db as database
    from app.reports.export import export_customer

    bootstrap()
    with database.session() as session:
        found = options.store_or_fail(session, store_ref)
        try:
            data = export_customer(session, found.id, email)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--email") from None
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@cli.command("login-link")
@click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
def login_link(store_ref: str) -> None:
    """Print a sign-in link to the settings UI for one store (valid 15 minutes, once)."""
    from app.core.db import db as database
    from app.web.ui import auth

    config = bootstrap()
    with database.session() as session:
        store_id = options.store_or_fail(session, store_ref).id
    click.echo(f"{config.base_url}/app/login/{auth.login_token(store_id)}")


@cli.command("audit")
@click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
@click.option("--page", default=1, type=click.IntRange(1, 10_000), show_default=True,
              help="Which page of 50 entries, newest first (1 to 10000).")
def audit_log(store_ref: str, page: int) -> None:
    """Who changed which setting, flow or staff member, when, from what to what."""
    from app.core import audit
    from app.core.db import db as database

    bootstrap()
    with database.session() as session:
        entries = audit.recent(session, options.store_or_fail(session, store_ref).id, page - 1)
        for entry in entries:
            click.echo(f"{entry.at:%Y-%m-%d %H:%M:%S} UTC  {entry.actor}  {entry.subject}: "
                       f"{audit.describe(entry.before)} -> {audit.describe(entry.after)}")
    if not entries:
        click.echo("no changes recorded" if page == 1 else "no entries on this page")


# --- settings ------------------------------------------------------------------------------

@cli.group()
def settings() -> None:
    """Store-wide settings: time zone, quiet hours, frequency cap, sender, brand."""


@settings.command("show")
@click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
@click.option("--json", "as_json", is_flag=True)
def settings_show(store_ref: str, as_json: bool) -> None:
    """Print every setting with its current value."""
    from app.core import settings as store_settings
    from app.core.db import db as database

    bootstrap()
    with database.session() as session:
        found = options.store_or_fail(session, store_ref)
        values, problems = found.effective_settings, store_settings.problems(found.settings)
    if as_json:
        click.echo(json.dumps(values, indent=2))
    else:
        for name, value in values.items():
            click.echo(f"{name}={value}")
    for problem in problems.values():
        click.echo(f"to fix (no email leaves until then): {problem}", err=True)


@settings.command("set")
@click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
@click.argument("assignments", nargs=-1, required=True)
def settings_set(store_ref: str, assignments: tuple[str, ...]) -> None:
    """Change settings: `storeflow settings set --store S quiet_hours=22:00-07:00`; an optional
    one given empty (`reply_to=`) is cleared."""
    from app.core import audit, settings as store_settings, store_config
    from app.core.db import db as database
    from flows import choices

    submitted = options.assignments(assignments)
    bootstrap()
    with database.session() as session:
        found = options.store_or_fail(session, store_ref)
        try:
            changes = store_settings.validate(
                submitted, marketing_on=choices.marketing_on(session, found.id))
        except store_settings.SettingError as error:
            raise click.BadParameter(str(error)) from None
        warnings = store_settings.warnings(found.settings, changes)
        store_config.save(session, found, changes, audit.OPERATOR)
    for name, value in changes.items():
        click.echo(f"{name}={value}")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


# --- keys ----------------------------------------------------------------------------------

@cli.group()
def keys() -> None:
    """Encryption keys for secrets at rest."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the first ENCRYPTION_KEY."""
    from sqlalchemy import select
    from sqlalchemy.orm.attributes import flag_modified

    from app.core.db import db as database
    from app.models import Store

    bootstrap()
    with database.session() as session:
        rows = session.execute(select(Store)).scalars().all()
        for row in rows:
            # EncryptedText writes every dirty value with the first key.
            for column in ("access_token", "api_key", "webhook_secret", "outbound_secret"):
                if getattr(row, column) is not None:
                    flag_modified(row, column)
    click.echo(f"re-encrypted the secrets of {len(rows)} store(s)")


def main() -> None:
    cli(prog_name="storeflow")


customers.register(cli)
cli_campaigns.register(cli)
cli_flows.register(cli)
cli_emails.register(cli)
demo_cli.register(cli)
doctor.register(cli)


if __name__ == "__main__":
    main()
