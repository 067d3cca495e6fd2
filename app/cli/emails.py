"""`storeflow emails ...`: a store's email designs (docs/email-designs.md) as JSON files: list
them, export one, import one (checked; a refusal names each problem's JSON pointer and exits 1)
and go back to the default."""
from __future__ import annotations

import json

import click

from app.cli import options

ACTOR = "the storeflow command"


@click.group()
def emails() -> None:
    """The block designs a store's emails are drawn from (docs/email-designs.md)."""


def _store_session(store_ref: str):
    """A transaction and the store it is for; a refused design names each problem's pointer."""
    from app.mail.design.document import DesignError

    return options.store_session(store_ref, DesignError)


def _email(command):
    """The store and the email (flow name, step name) a command is about."""
    return options.STORE(click.argument("flow")(click.argument("step")(command)))


def _sent(session, store_id: int) -> dict[tuple[str, str], str]:
    """Every email the store's flows send: (flow, step) -> the email template it sends."""
    from flows import library

    return {(flow.name, step.template): step.drawn_from
            for flow, step in library.sends(session, store_id)}


@emails.command("list")
@options.STORE
def list_designs(store_ref: str) -> None:
    """Every email of the store's flows and what it is drawn from: the store's own design or
    the default design."""
    from app.mail.design import store as designs

    with _store_session(store_ref) as (session, store):
        for row in designs.listing(session, store.id, list(_sent(session, store.id))):
            when = f"  {row.updated_at:%Y-%m-%d %H:%M}" if row.updated_at else ""
            click.echo(f"{row.flow}\t{row.step}\t{row.source}{when}")


def _designs(store_ref: str, action):
    """`action(designs, session, store_id)` in one transaction of the store `--store` names."""
    from app.mail.design import store as designs

    with _store_session(store_ref) as (session, store):
        return action(designs, session, store.id)


@emails.command("export")
@_email
def export(store_ref: str, flow: str, step: str) -> None:
    """Print the email's current design as JSON (the store's own, else the default)."""
    def current(designs, session, store_id: int) -> dict:
        sent = _sent(session, store_id)
        if (flow, step) not in sent:
            raise designs.unknown(flow, step, list(sent))
        return designs.current(session, store_id, flow, step, sent[(flow, step)])

    design = _designs(store_ref, current)
    click.echo(json.dumps(design, indent=2, ensure_ascii=False))


@emails.command("import")
@_email
@click.argument("file", type=click.File("rb"))
def import_design(store_ref: str, flow: str, step: str, file) -> None:
    """Check FILE (JSON, `-` for stdin) and make it the email's design; refused for an email
    the store does not send."""
    from app.mail.design import document

    text = file.read(document.MAX_BYTES + 1)
    design = _designs(store_ref, lambda designs, session, store_id: designs.save(
        session, store_id, flow, step, document.parse(text), ACTOR,
        list(_sent(session, store_id))))
    click.echo(f"saved the design of {flow}/{step}: {len(design['blocks'])} block(s)")


@emails.command("reset")
@_email
def reset(store_ref: str, flow: str, step: str) -> None:
    """Forget the store's design of the email: it is drawn from its default again."""
    removed = _designs(store_ref, lambda designs, session, store_id:
                       designs.reset(session, store_id, flow, step))
    click.echo(f"{flow}/{step}: " + ("back to the default design" if removed
                                    else "already the default design"))


def register(cli: click.Group) -> None:
    """Add `storeflow emails` to the `storeflow` group."""
    cli.add_command(emails)
