"""Row ids from requests: only a number PostgreSQL's id columns can hold reaches a query. Any
other names no row (404), where asking PostgreSQL would fail with an integer overflow (a 500)."""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

# PostgreSQL's bigint (the id of every table but one) and integer (stores.id).
BIGINT_MAX, INTEGER_MAX = 2**63 - 1, 2**31 - 1


class RowId(IntegerConverter):
    """`<id:name>` in a route: a bigint primary key, 1 to 2**63 - 1; anything else is a 404."""

    maximum = BIGINT_MAX

    def __init__(self, url_map) -> None:
        super().__init__(url_map, min=1, max=self.maximum)


class StoreId(RowId):
    """`<store_id:name>` in a route: stores.id, a PostgreSQL integer."""

    maximum = INTEGER_MAX


def register(app: Flask) -> None:
    """Make `<id:...>` and `<store_id:...>` available to routes (before any is registered)."""
    app.url_map.converters.update(id=RowId, store_id=StoreId)


def parse(value: str) -> int | None:
    """A row id sent in a query string or form; None when no row can have it."""
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 1 <= number <= BIGINT_MAX else None
