"""Posting storefront events to /collect the way a shop's pages (or its server) do."""
from __future__ import annotations

import json
import uuid

from app.demo.payloads import pixel  # noqa: F401
from connectors.signing import sign
from tests.helpers import SHOP, SHOP_SECRET

ORIGIN = f"https://{SHOP}"


def event(kind: str, visitor_id: str, **fields) -> dict:
    """An event in our own shape, as storeflow.js sends it."""
    return {"type": kind, "client_event_id": str(uuid.uuid4()), "visitor_id": visitor_id,
            "occurred_at": "2026-11-22T10:00:00Z", **fields}


def post(client, store, events, *, key=None, origin=ORIGIN, headers=None, body=None,
         remote_addr="127.0.0.1"):
    payload = {"store_id": store.id, "key": store.collect_key if key is None else key,
               "events": events}
    all_headers = {"Origin": origin} if origin else {}
    all_headers.update(headers or {})
    data = body if body is not None else json.dumps(payload).encode()
    return client.post("/collect", data=data, headers=all_headers, content_type="text/plain",
                       environ_base={"REMOTE_ADDR": remote_addr})


def post_signed(client, store, events, *, secret=SHOP_SECRET):
    """Events as the store's own server posts them: no key or Origin, the body signed."""
    body = json.dumps({"store_id": store.id, "events": events}).encode()
    return post(client, store, [], origin=None, body=body,
                headers={"X-Storeflow-Signature": sign(secret, body)})
