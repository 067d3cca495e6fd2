"""`storeflow emails ...`: a store's email designs (docs/email-designs.md) as JSON files: list
them, export one, import one (checked; a refusal names each problem's JSON pointer and exits 1)
and go back to the default."""
from __future__ import annotations

import json
from contextlib import contextmanager

import click

from app import bootstrap
from app.cli import options

STORE = click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")
ACTOR = "the storeflow command"


@click.group()
def emails() -> None:
    """The block designs a store's emails are drawn from (docs/email-designs.md)."""


@contextmanager
def _store_session(store_ref: str):
    """A transaction and the store it is for; a refused design is one clear error."""
    from app.core.db import db
    from app.mail.design.document import DesignError

    bootstrap()
    try:
        with db.session() as session:
            yield session, options.store_or_fail(session, store_ref)
    except DesignError as error:
        raise click.ClickException(f"design refused: {error}") from None


@emails.command("list")
@STORE
def list_designs(store_ref: str) -> None:
    """Every email of the store's flows and what it is drawn from: the store's own design,
    the default design, or the prebuilt template (not yet a design)."""
    from app.mail.design import store as designs
    from flows import library
    from flows.steps import Send

    with _store_session(store_ref) as (session, store):
        emails_of = [(flow.name, planned.step.template) for flow in library.flows_for(session, store.id)
                     for planned in flow.planned if isinstance(planned.step, Send)]
        for row in designs.listing(session, store.id, emails_of):
            when = f"  {row.updated_at:%Y-%m-%d %H:%M}" if row.updated_at else ""
            click.echo(f"{row.flow}\t{row.step}\t{row.source}{when}")


@emails.command("export")
@STORE
@click.argument("flow")
@click.argument("step")
def export(store_ref: str, flow: str, step: str) -> None:
    """Print the email's current design as JSON (the store's own, else the default)."""
    from app.mail.design import store as designs

    with _store_session(store_ref) as (session, store):
        design = designs.current(session, store.id, flow, step)
    if design is None:
        raise click.ClickException(f"{flow}/{step} has no design yet (a prebuilt template, or "
                                   "no such email): import one to design it")
    click.echo(json.dumps(design, indent=2, ensure_ascii=False))


@emails.command("import")
@STORE
@click.argument("flow")
@click.argument("step")
@click.argument("file", type=click.File("rb"))
def import_design(store_ref: str, flow: str, step: str, file) -> None:
    """Check FILE (JSON, `-` for stdin) and make it the email's design."""
    from app.mail.design import document, store as designs

    with _store_session(store_ref) as (session, store):
        design = document.parse(file.read(document.MAX_BYTES + 1))
        designs.save(session, store.id, flow, step, design, ACTOR)
    click.echo(f"saved the design of {flow}/{step}: {len(design['blocks'])} block(s)")


@emails.command("reset")
@STORE
@click.argument("flow")
@click.argument("step")
def reset(store_ref: str, flow: str, step: str) -> None:
    """Forget the store's design of the email: it is drawn from its default again."""
    from app.mail.design import store as designs

    with _store_session(store_ref) as (session, store):
        removed = designs.reset(session, store.id, flow, step)
    click.echo(f"{flow}/{step}: " + ("back to the default design" if removed
                                    else "already the default design"))


def register(cli: click.Group) -> None:
    """Add `storeflow emails` to the `storeflow` group."""
    cli.add_command(emails)
