"""`storeflow segments ...`: create, change, delete and list a store's segments and print their
members. The commands' shapes are an interface (tools parse them): `list --json` prints a JSON
array of {"name", "count", "rule"}, `members` one address per line (`--csv`: with metrics)."""
from __future__ import annotations

import csv
import sys

import click

from app.cli import options

RULE = click.option("--rule", "rule_text", required=True, metavar="JSONLOGIC",
                    help="The condition, as JsonLogic (docs/conditions.md).")
ACTOR = "the storeflow command"


@click.group()
def segments() -> None:
    """Named audiences of a store, each one condition (docs/conditions.md)."""


def _store_session(store_ref: str):
    """A transaction and the store it is for; a refused name or rule is one clear line."""
    from app.audiences.segments import SegmentError

    return options.store_session(store_ref, SegmentError)


def _saved(session, verb: str, segment) -> None:
    from app.audiences import segments as service

    count = service.count(session, segment.store_id, segment.rule)
    click.echo(f"{verb} segment {segment.name!r}: {count} customer(s)")


@segments.command("create")
@options.STORE
@click.argument("name")
@RULE
def create(store_ref: str, name: str, rule_text: str) -> None:
    """Create segment NAME of the store."""
    from app.audiences import segments as service

    with _store_session(store_ref) as (session, store):
        _saved(session, "created", service.create(session, store.id, name, rule_text, ACTOR))


@segments.command("update")
@options.STORE
@click.argument("name")
@RULE
def update(store_ref: str, name: str, rule_text: str) -> None:
    """Give segment NAME a new rule."""
    from app.audiences import segments as service

    with _store_session(store_ref) as (session, store):
        segment = service.named(session, store.id, name)
        _saved(session, "updated", service.update(session, segment, rule_text, ACTOR))


@segments.command("delete")
@options.STORE
@click.argument("name")
def delete(store_ref: str, name: str) -> None:
    """Delete segment NAME."""
    from app.audiences import segments as service

    with _store_session(store_ref) as (session, store):
        service.remove(session, service.named(session, store.id, name), ACTOR)
    click.echo(f"deleted segment {name.strip()!r}")


@segments.command("list")
@options.STORE
@click.option("--json", "as_json", is_flag=True, help='A JSON array of {"name", "count", "rule"}.')
def list_segments(store_ref: str, as_json: bool) -> None:
    """The store's segments with their member counts now."""
    from app.audiences import segments as service

    with _store_session(store_ref) as (session, store):
        listed = [{"name": s.name, "count": service.count(session, store.id, s.rule), "rule": s.rule}
                  for s in service.all_of(session, store.id)]
    options.listing(listed, as_json, lambda entry: f"{entry['count']:>9}  {entry['name']}",
                    "no segments")


@segments.command("members")
@options.STORE
@click.argument("name")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with each member's metrics.")
@click.option("--sort", type=click.Choice(["spend", "last_order"]), default="spend",
              show_default=True)
def members(store_ref: str, name: str, as_csv: bool, sort: str) -> None:
    """Segment NAME's members: one address per line (customers without one are left out),
    or with --csv every member with their metrics."""
    from app.audiences import segments as service

    with _store_session(store_ref) as (session, store):
        segment = service.named(session, store.id, name)
        if as_csv:
            writer = csv.writer(sys.stdout)
            writer.writerow(service.CSV_COLUMNS)
            for row in service.export(session, store.id, segment.rule):
                writer.writerow([service.spreadsheet_safe(value) for value in row])
            return
        for member in service.members(session, store.id, segment.rule, sort, size=None):
            if member.email:
                click.echo(member.email)
