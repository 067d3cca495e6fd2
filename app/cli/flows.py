"""`storeflow tick`, `storeflow flows ...` and `storeflow timeline`: moving time, switching
flows and reading why a customer got (or did not get) an email. Names are an interface."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from app import bootstrap
from app.cli import options
from app.core import audit


def _store(session, reference: str):
    from app.core import stores

    try:
        return stores.resolve(session, reference)
    except stores.StoreNotFound as error:
        raise click.ClickException(str(error)) from None


def _flow(session, store_id: int, name: str):
    """The store's flow of this name, prebuilt or built."""
    from flows import library

    flow = library.find(session, store_id, name)
    if flow is None:
        known = ", ".join(f.name for f in library.flows_for(session, store_id))
        raise click.BadParameter(f"no flow {name!r}; flows: {known}", param_hint="FLOW")
    return flow


def _document(path: str) -> dict:
    """A flow document read from FILE ("-": standard input) and checked."""
    from flows import document

    try:
        text = click.open_file(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read {path}: {error}") from None
    try:
        return document.parse(text)
    except document.FlowDocumentError as error:
        raise click.ClickException("invalid flow document:\n" + "\n".join(
            f"  {pointer or '/'}: {reason}" for pointer, reason in error.problems)) from None


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-11-24T15:00:00Z", param_hint="--at") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def register(cli: click.Group) -> None:
    """Add these commands to the `storeflow` group."""

    @cli.command()
    @click.option("--at", "at", help="Run the tick as of this instant (ISO 8601; default now).")
    @click.option("--sync", is_flag=True, help="Also run everything it queued, in this process.")
    def tick(at: str | None, sync: bool) -> None:
        """Queue every flow step due at an instant (and enroll the daily audiences)."""
        from app.core import clock
        from app.jobs.worker import worker
        from flows import engine

        instant = _instant(at) or clock.now()
        bootstrap()
        enrolled = engine.enroll_audiences(instant)
        queued = engine.tick(instant)
        click.echo(f"{instant.isoformat()}: enrolled {enrolled}, queued {queued} due step(s)")
        if sync:
            worker().work(burst=True)

    @cli.group()
    def flows() -> None:
        """The store's flows, prebuilt and built: list, switch on or off, change settings,
        import, export and validate flow documents (docs/flow-format.md)."""

    @flows.command("list")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.option("--json", "as_json", is_flag=True)
    def flows_list(store_ref: str, as_json: bool) -> None:
        """Every flow with its state and settings."""
        from app.core.db import db
        from flows import choices, library

        bootstrap()
        with db.session() as session:
            store_id = _store(session, store_ref).id
            listed = []
            for flow in library.flows_for(session, store_id):
                enabled, settings = choices.effective(session, store_id, flow)
                listed.append({"name": flow.name, "title": flow.title, "enabled": enabled,
                               "built": flow.built, "version": flow.version,
                               "consent": flow.consent, "description": flow.describe(settings),
                               "settings": settings,
                               "problems": list(choices.problems(flow, settings).values())})
        if as_json:
            click.echo(json.dumps(listed, indent=2))
            return
        for item in listed:
            state = "on " if item["enabled"] else "off"
            settings = " ".join(f"{k}={v}" for k, v in item["settings"].items())
            click.echo(f"{state} {item['name']:<22} {item['consent']:<13} {settings}")
            for problem in item["problems"]:
                click.echo(f"    to fix (the flow is skipped until then): {problem}")

    def _toggle(store_ref: str, name: str, enabled: bool) -> None:
        from app.core.db import db
        from flows import choices

        bootstrap()
        with db.session() as session:
            store = _store(session, store_ref)
            flow = _flow(session, store.id, name)
            refusal = enabled and choices.switch_on_refusal(session, store, flow)
            if refusal:
                fix = (f"set it first: storeflow settings set --store {store_ref} "
                       "postal_address='...'" if refusal.startswith("no postal address")
                       else "see `storeflow flows list` and `storeflow settings show`")
                raise click.ClickException(f"{name} not enabled: {refusal}; {fix}")
            choices.save(session, store.id, flow, actor=audit.OPERATOR, enabled=enabled)
        click.echo(f"{name} {'enabled' if enabled else 'disabled'}")

    @flows.command("enable")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.argument("name", metavar="FLOW")
    def flows_enable(store_ref: str, name: str) -> None:
        """Switch a flow on."""
        _toggle(store_ref, name, True)

    @flows.command("disable")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.argument("name", metavar="FLOW")
    def flows_disable(store_ref: str, name: str) -> None:
        """Switch a flow off (runs under way stop before their next step)."""
        _toggle(store_ref, name, False)

    @flows.command("set")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.argument("name", metavar="FLOW")
    @click.argument("assignments", nargs=-1, required=True)
    def flows_set(store_ref: str, name: str, assignments: tuple[str, ...]) -> None:
        """Change a flow's settings: `storeflow flows set --store S abandoned_checkout discount_percent=15`."""
        from app.core.db import db
        from flows import choices

        submitted = options.assignments(assignments)
        bootstrap()
        with db.session() as session:
            store_id = _store(session, store_ref).id
            flow = _flow(session, store_id, name)
            current = choices.effective(session, store_id, flow)[1]
            try:
                changes = choices.validate(flow, submitted, current)
            except choices.FlowSettingError as error:
                raise click.BadParameter(str(error)) from None
            choices.save(session, store_id, flow, actor=audit.OPERATOR, changes=changes)
        for key, value in changes.items():
            click.echo(f"{key}={value}")
        for warning in choices.warnings({**current, **changes}):
            click.echo(f"warning: {warning}", err=True)

    @flows.command("dry-run")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.option("--days", default=30, show_default=True, type=click.IntRange(1, 365))
    @click.option("--at", "at", help="Replay the history up to this instant (ISO 8601; default now).")
    @click.argument("name", metavar="FLOW")
    def flows_dry_run(store_ref: str, days: int, at: str | None, name: str) -> None:
        """What FLOW, with the store's settings, would have sent over the last DAYS days."""
        from datetime import timedelta

        from app.core import clock
        from app.core.db import db
        from flows import choices, dryrun

        until = _instant(at)
        bootstrap()
        with db.session() as session:
            store = _store(session, store_ref)
            flow = _flow(session, store.id, name)
            settings = choices.effective(session, store.id, flow)[1]
            problems = choices.problems(flow, settings)
            if problems:
                raise click.ClickException(f"{flow.name} cannot run on its settings: "
                                           + "; ".join(problems.values()))
            unavailable = dryrun.unavailable(flow)
            if unavailable:
                raise click.ClickException(f"{flow.name}: {unavailable}")
            report = dryrun.dry_run(session, store, flow, settings, until or clock.now(),
                                    timedelta(days=days))
        click.echo(f"{flow.name}: would have emailed {len(report.emailed)} customer(s) "
                   f"({report.emails} emails) over {days} days; "
                   f"{len(report.bought_anyway)} of them later bought anyway")
        for reason, count in report.stopped.most_common():
            click.echo(f"  not emailed, {reason}: {count}")

    @flows.command("validate")
    @click.argument("path", metavar="FILE")
    def flows_validate(path: str) -> None:
        """Check a flow document (JSON or YAML; - reads standard input) without storing it."""
        checked = _document(path)
        click.echo(f"{checked['name']}: valid")

    @flows.command("import")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.argument("path", metavar="FILE")
    def flows_import(store_ref: str, path: str) -> None:
        """Store a flow document as the flow's next version (a new flow starts switched off);
        prints the flow's name last."""
        from app.core.db import db
        from flows import document, library

        checked = _document(path)
        bootstrap()
        with db.session() as session:
            store_id = _store(session, store_ref).id
            try:
                saved = library.save(session, store_id, checked, actor=audit.OPERATOR)
            except document.FlowDocumentError as error:
                raise click.ClickException(str(error)) from None
            click.echo(f"version {saved.version}")
        click.echo(saved.name)

    @flows.command("export")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.option("--version", type=click.IntRange(1), help="An earlier version (default: newest).")
    @click.argument("name", metavar="FLOW")
    def flows_export(store_ref: str, version: int | None, name: str) -> None:
        """A built flow's document as JSON on standard output; for a prebuilt flow, its template
        (edit its name and import it to make your own copy)."""
        from app.core.db import db
        from flows import catalog, library

        bootstrap()
        with db.session() as session:
            store_id = _store(session, store_ref).id
            versions = {row.version: row.document for row in library.history(session, store_id, name)}
        if not versions and name in catalog.FLOWS:
            versions = {catalog.FLOWS[name].version: catalog.template(name)}
        if not versions:
            raise click.ClickException(f"no flow {name!r}")
        chosen = max(versions) if version is None else version
        if chosen not in versions:
            raise click.ClickException(f"{name} has versions {', '.join(map(str, sorted(versions)))}")
        click.echo(json.dumps(versions[chosen], indent=2, ensure_ascii=False))

    @flows.command("move-runs")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.argument("name", metavar="FLOW")
    def flows_move_runs(store_ref: str, name: str) -> None:
        """Move a built flow's runs under way onto its newest version: each goes on from the
        same step (by its id), with the newest version's settings; a run whose next step the
        newest version no longer has stays on its own."""
        from app.core.db import db
        from flows import catalog, library
        from flows.moves import move_runs

        if name in catalog.FLOWS:
            raise click.ClickException(f"{name} is prebuilt: its runs move with Storeflow's "
                                       "own versions")
        bootstrap()
        with db.session() as session:
            store_id = _store(session, store_ref).id
            if library.newest(session, store_id, name) is None:
                raise click.ClickException(f"no flow {name!r}")
            result = move_runs(session, store_id, name)
        click.echo(f"{name}: {result.moved} run(s) moved to version {result.version}; "
                   f"{result.stayed} stay on theirs (their next step is not in version "
                   f"{result.version})")

    @flows.command("webhook-secret")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    def flows_webhook_secret(store_ref: str) -> None:
        """The secret the store's flow webhooks are signed with (X-Storeflow-Signature: sha256=
        the hex HMAC-SHA256 of the body), made on first use."""
        from app.core.db import db
        from app.flow_webhooks import outbound_secret

        bootstrap()
        with db.session() as session:
            secret = outbound_secret(session, _store(session, store_ref).id)
        click.echo(secret)

    @cli.command()
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.option("--email", required=True)
    @click.option("--json", "as_json", is_flag=True)
    def timeline(store_ref: str, email: str, as_json: bool) -> None:
        """Every flow decision about a customer, in order: enrolled, sent, deferred, skipped, exited."""
        from app.core.db import db
        from flows.timeline import for_email

        bootstrap()
        with db.session() as session:
            entries = for_email(session, _store(session, store_ref).id, email)
        if as_json:
            click.echo(json.dumps(entries, indent=2))
            return
        for entry in entries:
            step = f" {entry['step']}" if entry["step"] else ""
            click.echo(f"{entry['at']}  {entry['flow']}{step}: {entry['kind']}"
                       f"{' - ' + entry['detail'] if entry['detail'] else ''}")
