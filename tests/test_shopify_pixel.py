"""The Shopify app pixel (connectors/shopify/extensions/storeflow-pixel), run in Node with a
stand-in for Shopify's register() and fed the Web Pixel API's published events: what it posts
is what POST /collect accepts."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db import db
from app.models import ProductView
from tests.collect_helpers import pixel

EXTENSION = Path(__file__).resolve().parents[1] / "connectors" / "shopify" / "extensions" / "storeflow-pixel"
HARNESS = """
import {events} from "./events.mjs";
const posted = [];
globalThis.fetch = async (url, init) => { posted.push({url, ...init}); return {ok: true}; };
const subscribers = {};
await import("./src/index.js");
globalThis.__register({analytics: {subscribe: (name, fn) => { subscribers[name] = fn; }},
                       settings: {endpoint: "https://storeflow.test/collect", storeId: "%(store_id)s",
                                  collectKey: "%(key)s"},
                       init: {context: {window: {location: {href: "%(page)s"}}}}});
for (const event of events) subscribers[event.name]?.(event);
await new Promise((resolve) => setTimeout(resolve, 0));
console.log(JSON.stringify({subscribed: Object.keys(subscribers).sort(), posted}));
"""
SHIM = "export function register(fn) { globalThis.__register = fn; }\n"


def run_pixel(tmp_path: Path, store, events: list[dict]) -> dict:
    if shutil.which("node") is None:
        pytest.skip("node is not installed; the pixel is plain JavaScript run by Shopify")
    shutil.copytree(EXTENSION / "src", tmp_path / "src")
    shim = tmp_path / "node_modules" / "@shopify" / "web-pixels-extension"
    shim.mkdir(parents=True)
    (shim / "package.json").write_text('{"name": "@shopify/web-pixels-extension", "type": "module", "main": "index.js"}')
    (shim / "index.js").write_text(SHIM)
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "events.mjs").write_text(f"export const events = {json.dumps(events)};")
    (tmp_path / "harness.mjs").write_text(HARNESS % {"store_id": store.id, "key": store.collect_key,
                                                     "page": f"https://{store.domain}/products/mug"})
    result = subprocess.run(["node", "harness.mjs"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=30, check=True)
    return json.loads(result.stdout)


def test_the_pixel_forwards_standard_events_that_collect_accepts(tmp_path, client, shop, run_jobs):
    sent = run_pixel(tmp_path, shop, [pixel("product_viewed"), pixel("product_added_to_cart"),
                                      pixel("checkout_started"),
                                      pixel("checkout_contact_info_submitted")])

    assert sent["subscribed"] == ["checkout_contact_info_submitted", "checkout_started",
                                  "product_added_to_cart", "product_viewed"]
    assert len(sent["posted"]) == 4
    for request in sent["posted"]:
        assert request["url"] == "https://storeflow.test/collect" and request["method"] == "POST"
        # The strict sandbox's requests carry an opaque origin; the page says whose shop it is.
        response = client.post("/collect", data=request["body"], content_type="text/plain",
                               headers={"Origin": "null"})
        assert response.status_code == 200, response.json
    run_jobs()
    with db.session() as session:
        [view] = session.execute(select(ProductView)).scalars().all()
    assert view.product_id == 788032119674292922


def test_an_unconfigured_pixel_sends_nothing(tmp_path, shop):
    shop.collect_key = ""
    sent = run_pixel(tmp_path, shop, [pixel("product_viewed")])

    assert sent == {"subscribed": [], "posted": []}
