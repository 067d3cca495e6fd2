"""`storeflow doctor`: checks configuration, database, Redis, SMTP, the background processes and
each store's webhooks, and says what to fix. Exit code 1 when anything failed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import click

OK, WARN, FAIL = "ok", "warn", "FAIL"
# A store that has sent no webhook for this long is worth a look (a quiet shop, or lost
# subscriptions); it is a warning, not a failure, because quiet shops exist.
QUIET_AFTER = timedelta(days=3)
# Processed deliveries are pruned after this long (app.ingest.sweep.prune_inbox), so an empty inbox
# means "none lately", not "never", for a store connected before then.
INBOX_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class Finding:
    status: str
    subject: str
    detail: str
    fix: str = ""


def configuration():
    """The settings themselves, as every process reads them."""
    from app import bootstrap
    from app.core.config import load_config

    try:
        local = load_config().embedded
        config = bootstrap()
    except Exception as error:  # a ConfigError, or an embedded service that would not start
        return None, [Finding(FAIL, "configuration", str(error), "set the variable it names")]
    findings = [Finding(OK, "configuration", "local, on embedded services" if local
                        else "production settings present")]
    if not local and not config.base_url.startswith("https://"):
        findings.append(Finding(WARN, "BASE_URL", f"{config.base_url} is not https",
                                "mailbox providers honour one-click unsubscribe over https only"))
    if not local and config.smtp_url is None:
        findings.append(Finding(FAIL, "SMTP_URL", "not set: mail is written to disk, not sent",
                                "set SMTP_URL to your provider's smtp:// or smtps:// URL"))
    if bool(config.shopify_api_key) != bool(config.shopify_api_secret):
        findings.append(Finding(FAIL, "Shopify app", "only one of SHOPIFY_API_KEY and "
                                "SHOPIFY_API_SECRET is set", "set both, or neither"))
    return config, findings


def database() -> tuple[bool, list[Finding]]:
    """(reachable, findings): reachable and at the code's migration head."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.core import migrate

    try:
        current, heads = migrate.revisions()
    except SQLAlchemyError as error:
        return False, [Finding(FAIL, "database", f"unreachable ({type(error).__name__})",
                               "check DATABASE_URL and that PostgreSQL is running")]
    if current != heads:
        return True, [Finding(FAIL, "database", f"migrations at {sorted(current) or 'none'}, "
                              f"code at {sorted(heads)}", "run `storeflow db upgrade`")]
    return True, [Finding(OK, "database", "reachable, migrations at head")]


def redis_and_processes() -> list[Finding]:
    from redis.exceptions import RedisError

    from app.jobs import broker, heartbeat

    try:
        broker.connection.ping()
    except RedisError as error:
        return [Finding(FAIL, "redis", f"unreachable ({type(error).__name__})",
                        "check REDIS_URL (Heroku Redis: REDIS_TLS_VERIFY=0)")]
    findings = [Finding(OK, "redis", "reachable")]
    for name, state in (("worker", heartbeat.worker_state(broker.connection)),
                        ("scheduler", heartbeat.scheduler_state(broker.connection))):
        fix = "" if state == "up" else f"start `storeflow {name}`" + (
            " (exactly one)" if name == "scheduler" else "")
        findings.append(Finding(OK if state == "up" else WARN, name, state, fix))
    return findings


def smtp(config) -> list[Finding]:
    from app.mail.transport import SMTPTransport, TransientFailure, transports

    if config.smtp_url is None:  # in production, configuration() has failed it already
        return [Finding(OK, "mail", transports.current.describe())]
    transport = SMTPTransport(config.smtp_url, timeout=10)
    try:
        transport.verify()
    except TransientFailure as error:
        return [Finding(FAIL, "smtp", f"{transport.host}:{transport.port}: {error}",
                        "check SMTP_URL's host, port and credentials")]
    return [Finding(OK, "smtp", f"{transport.host}:{transport.port} answered EHLO")]


def stores() -> list[Finding]:
    """Each store: installed or not, and when its last webhook arrived."""
    from sqlalchemy import func, select

    from app.core import clock
    from app.core.db import db
    from app.demo import shop as demo_shop
    from app.models import Store, WebhookEvent

    with db.session() as session:
        rows = session.execute(
            select(Store, func.max(WebhookEvent.received_at))
            .outerjoin(WebhookEvent, WebhookEvent.store_id == Store.id)
            .group_by(Store.id).order_by(Store.id)).all()
    findings = []
    for store, last in rows:
        subject = f"store {store.id} {store.domain}"
        if store.domain == demo_shop.DOMAIN:
            findings.append(Finding(OK, subject, "the demo shop (its webhooks come from "
                                    "`storeflow demo`)"))
        elif not store.installed:
            findings.append(Finding(WARN, subject, "uninstalled: no flow runs for it",
                                    "reinstall the app or reconnect with `storeflow store add`"))
        elif last is None and clock.now() - store.installed_at < INBOX_KEPT:
            findings.append(Finding(FAIL, subject, "no webhook received since it was connected",
                                    f"point its webhooks at BASE_URL/webhooks/{store.platform}"))
        elif last is None:
            findings.append(Finding(WARN, subject, "no webhook in the last 30 days",
                                    "check the store's webhook subscriptions"))
        elif clock.now() - last > QUIET_AFTER:
            findings.append(Finding(WARN, subject, f"last webhook {last:%Y-%m-%d %H:%M} UTC",
                                    "check the store's webhook subscriptions"))
        else:
            findings.append(Finding(OK, subject, f"last webhook {last:%Y-%m-%d %H:%M} UTC"))
    return findings


def sync_jobs() -> list[Finding]:
    """Each installed store's backfill and reconciliation that failed on their last run."""
    from sqlalchemy import select

    from app.core.db import db
    from app.models import Store, SyncProgress
    from app.sync.progress import BACKFILL

    with db.session() as session:
        rows = session.execute(
            select(SyncProgress, Store.domain).join(Store, Store.id == SyncProgress.store_id)
            .where(SyncProgress.status == "failed", Store.uninstalled_at.is_(None))
            .order_by(SyncProgress.store_id, SyncProgress.job, SyncProgress.resource)).all()
    findings = []
    for row, domain in rows:
        subject = f"store {row.store_id} {domain}"
        if row.job == BACKFILL:
            findings.append(Finding(FAIL, subject, f"backfill of {row.resource} failed "
                                    f"({row.error or 'no reason kept'})",
                                    "fix the cause, then retry its job on the jobs page "
                                    "(BASE_URL/admin/jobs, failed jobs)"))
        else:
            findings.append(Finding(WARN, subject, f"the last check for missed updates failed "
                                    f"({row.error or 'no reason kept'})",
                                    "it runs again every hour; look at the worker's log"))
    return findings


def flow_settings() -> list[Finding]:
    """Each installed store whose stored settings no longer pass (a row written before the
    rules), and its flows that are on but skipped (out-of-range settings, a marketing flow
    without the store's postal address)."""
    from sqlalchemy import select

    from app.core import settings as store_settings
    from app.core.db import db
    from app.models import Store
    from flows import choices
    from flows.catalog import FLOWS

    fix = ("the settings UI says what is allowed, as do `storeflow settings set` and "
           "`storeflow flows set`")
    findings = []
    with db.session() as session:
        for store in session.execute(select(Store).where(Store.uninstalled_at.is_(None))
                                     .order_by(Store.id)).scalars():
            subject = f"store {store.id} {store.domain}"
            bad = store_settings.problems(store.settings)
            if bad:
                findings.append(Finding(FAIL, subject, f"no email leaves: store settings to fix: "
                                        f"{', '.join(bad)}", fix))
            for flow in FLOWS.values():
                enabled, settings = choices.effective(session, store.id, flow)
                reason = enabled and not bad and choices.skip_reason(store, flow, settings)
                if reason:
                    findings.append(Finding(FAIL, subject, f"{flow.name} sends nothing: {reason}",
                                            fix))
    return findings


def failing_jobs() -> list[Finding]:
    """Background jobs that failed and have not succeeded since, per store."""
    from sqlalchemy import select

    from app.core.db import db
    from app.jobs import failures as job_failures
    from app.models import Store

    with db.session() as session:
        failures = job_failures.open_failures(session)
        domains = dict(session.execute(select(Store.id, Store.domain)).all())
    by_store: dict[int | None, list] = {}
    for failure in failures:
        by_store.setdefault(failure.store_id, []).append(failure)
    findings = []
    for store_id, rows in by_store.items():
        subject = f"store {store_id} {domains.get(store_id, '')}" if store_id else "jobs"
        for trouble in job_failures.troubles(rows):
            findings.append(Finding(
                FAIL, subject, f"{trouble.kind}: {trouble.jobs} job(s) failing since "
                f"{trouble.since:%Y-%m-%d %H:%M} UTC with {trouble.error} "
                f"({trouble.explanation.words}), {trouble.retrying} still retrying",
                f"{trouble.explanation.fix}; failed jobs are on BASE_URL/admin/jobs"))
    return findings


def examine() -> list[Finding]:
    """Every check, in order; later checks only run when what they need is there."""
    config, findings = configuration()
    if config is None:
        return findings
    reachable, found = database()
    findings += found + redis_and_processes() + smtp(config)
    if reachable:
        findings += stores() + sync_jobs() + failing_jobs() + flow_settings()
    return findings


def register(cli: click.Group) -> None:
    """Add `storeflow doctor` to the group."""

    @cli.command()
    def doctor() -> None:
        """Check configuration, database, Redis, SMTP, processes, each store's webhooks and sync."""
        findings = examine()
        for finding in findings:
            click.echo(f"[{finding.status:<4}] {finding.subject}: {finding.detail}")
            if finding.fix:
                click.echo(f"       fix: {finding.fix}")
        failed = sum(f.status == FAIL for f in findings)
        click.echo(f"{failed} problem(s)" if failed else "no problems found")
        if failed:
            raise SystemExit(1)
