"""Shopify's published sample payloads, shipped with the package so the demo (and the tests)
build their traffic from them wherever Storeflow is installed. Sources: tests/fixtures/SOURCES.md."""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

SAMPLES = Path(__file__).parent / "samples"


@lru_cache(maxsize=None)
def _load(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def exists(name: str) -> bool:
    return (SAMPLES / name).is_file()


def published(name: str) -> dict:
    """A fresh copy of a sample, by its path under samples/ (`shopify/orders_create.json`)."""
    return copy.deepcopy(_load(name))
