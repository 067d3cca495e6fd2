"""What several `storeflow` commands read alike from their command line: the store a command is
about (`--store`, an id or a domain) and KEY=VALUE settings."""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Callable

import click

STORE = click.option("--store", "store_ref", required=True, help="Store id, or its domain / URL.")


def store_or_fail(session, reference: str):
    """The store a `--store` value names, or a clear error and exit code 1."""
    from app.core import stores  # lazily, like every command: `storeflow --help` stays fast

    try:
        return stores.resolve(session, reference)
    except stores.StoreNotFound as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def store_session(store_ref: str, refused: type[Exception]):
    """A transaction and the store `--store` names; a `refused` error (a rule, a design) is
    one clear line and exit code 1, and nothing of the transaction is kept."""
    from app import bootstrap
    from app.core.db import db

    bootstrap()
    try:
        with db.session() as session:
            yield session, store_or_fail(session, store_ref)
    except refused as error:
        raise click.ClickException(str(error)) from None


def assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    """`name=value` pairs as given (values are validated where they are saved)."""
    changes = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE")
        changes[name.strip()] = value.strip()
    return changes


def listing(entries: list[dict], as_json: bool, line: Callable[[dict], str], empty: str) -> None:
    """What a `list` command prints: a JSON array of the entries, else a line for each (or
    `empty` when there are none)."""
    if as_json:
        click.echo(json.dumps(entries))
        return
    for entry in entries:
        click.echo(line(entry))
    if not entries:
        click.echo(empty)
