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


def _flow(name: str):
    from flows.catalog import FLOWS

    if name not in FLOWS:
        raise click.BadParameter(f"no flow {name!r}; flows: {', '.join(FLOWS)}", param_hint="FLOW")
    return FLOWS[name]


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
        """The prebuilt flows: list, switch on or off, change settings."""

    @flows.command("list")
    @click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
    @click.option("--json", "as_json", is_flag=True)
    def flows_list(store_ref: str, as_json: bool) -> None:
        """Every flow with its state and settings."""
        from app.core.db import db
        from flows import choices
        from flows.catalog import FLOWS

        bootstrap()
        with db.session() as session:
            store_id = _store(session, store_ref).id
            listed = []
            for flow in FLOWS.values():
                enabled, settings = choices.effective(session, store_id, flow)
                listed.append({"name": flow.name, "title": flow.title, "enabled": enabled,
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

        flow = _flow(name)
        bootstrap()
        with db.session() as session:
            store = _store(session, store_ref)
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

        flow = _flow(name)
        submitted = options.assignments(assignments)
        bootstrap()
        with db.session() as session:
            store_id = _store(session, store_ref).id
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

        flow, until = _flow(name), _instant(at)
        bootstrap()
        with db.session() as session:
            store = _store(session, store_ref)
            settings = choices.effective(session, store.id, flow)[1]
            problems = choices.problems(flow, settings)
            if problems:
                raise click.ClickException(f"{flow.name} cannot run on its settings: "
                                           + "; ".join(problems.values()))
            report = dryrun.dry_run(session, store, flow, settings, until or clock.now(),
                                    timedelta(days=days))
        click.echo(f"{flow.name}: would have emailed {len(report.emailed)} customer(s) "
                   f"({report.emails} emails) over {days} days; "
                   f"{len(report.bought_anyway)} of them later bought anyway")
        for reason, count in report.stopped.most_common():
            click.echo(f"  not emailed, {reason}: {count}")

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
