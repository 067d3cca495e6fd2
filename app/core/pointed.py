"""JSON documents a merchant writes (flow documents, email designs): checked against their
published JSON Schema, and refused with every problem named by its JSON pointer (RFC 6901)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from jsonschema import Draft202012Validator


class PointedError(ValueError):
    """A document that cannot be used: every problem, each with its JSON pointer."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{pointer or '/'}: {reason}" for pointer, reason in problems))


@lru_cache(maxsize=8)
def validator(schema: Path) -> Draft202012Validator:
    """The validator of the schema at this path, read once per process."""
    return Draft202012Validator(json.loads(schema.read_text()))


def pointer(path: Iterable) -> str:
    """The JSON pointer of a path of keys and indexes."""
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)
