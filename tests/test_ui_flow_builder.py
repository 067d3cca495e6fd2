"""The flow builder's routes (issue 17): a document saved as a version and saved again as none,
the live check's problems by JSON pointer, a bad document shown again with them (400), version
history with what changed; and another store's flow, a viewer and a forged form getting nowhere."""
from __future__ import annotations

import copy
import html
import json
import re

import pytest
from sqlalchemy import select

from app.core.db import db
from app.models import FlowDocument
from flows import document, library
from tests.test_flow_built import EXAMPLE, FLOW
from tests.ui_helpers import connect_rival, sign_in, sign_in_viewer


@pytest.fixture
def owner(client, storeflow, shop):
    """A client signed in to the shop as its owner; its CSRF token."""
    return sign_in(client, storeflow, shop.id)


def save(client, csrf: str | None, doc, path: str = "/app/flows/new"):
    data = {"document": doc if isinstance(doc, str) else json.dumps(doc)}
    return client.post(path, data={**data, "csrf_token": csrf} if csrf else data)


def versions(store_id: int) -> list[tuple[int, dict]]:
    with db.session() as session:
        return [(row.version, row.document) for row in library.history(session, store_id, FLOW)]


def changed(doc: dict) -> dict:
    """The example with a new body for its first email."""
    edited = copy.deepcopy(doc)
    edited["steps"][1]["send"]["body"] = "We are packing it with care."
    return edited


def test_save_a_new_flow_then_a_version_and_the_same_document_makes_none(client, owner, shop):
    answer = save(client, owner, EXAMPLE)
    assert answer.status_code == 302 and answer.location.endswith("/app/flows#big_order_thanks")
    listed = client.get("/app/flows").get_data(as_text=True)
    assert "saved as version 1" in listed and "/app/flows/big_order_thanks/build" in listed
    assert versions(shop.id) == [(1, EXAMPLE)]

    page = client.get(f"/app/flows/{FLOW}/build")
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert 'data-version="1"' in shown and "We are packing it now." in shown

    path = f"/app/flows/{FLOW}/build"
    assert save(client, owner, changed(EXAMPLE), path).status_code == 302
    assert save(client, owner, changed(EXAMPLE), path).status_code == 302  # the same again
    assert "nothing changed" in client.get("/app/flows").get_data(as_text=True)
    assert [version for version, _ in versions(shop.id)] == [2, 1]
    history = client.get(path).get_data(as_text=True)
    assert 'data-version="2"' in history and "<code>/steps/1/send/body</code>" in history


def test_the_live_check_names_problems_by_pointer_and_a_bad_save_shows_them(client, owner, shop):
    bad = copy.deepcopy(EXAMPLE)
    bad["steps"][3]["else"][0]["id"] = "thanks"
    bad["steps"][1]["send"]["button"]["url"] = "http://example.com"
    answer = client.post("/app/flows/new/check", data=json.dumps(bad),
                         content_type="application/json", headers={"X-CSRF-Token": owner})
    assert answer.status_code == 200
    assert answer.get_json() == {"problems": [
        ["/steps/1/send/button/url", "a button leads to an https:// address or {{ shop_url }}"],
        ["/steps/3/else/0/id", "the id 'thanks' is used twice"]]}
    ok = client.post("/app/flows/new/check", data=json.dumps(EXAMPLE),
                     content_type="application/json", headers={"X-CSRF-Token": owner})
    assert ok.get_json() == {"problems": []}

    refused = save(client, owner, bad)
    assert refused.status_code == 400
    shown = refused.get_data(as_text=True)
    assert 'data-problem="/steps/3/else/0/id"' in shown and "used twice" in shown
    assert versions(shop.id) == []
    too_big = save(client, owner, json.dumps({**EXAMPLE, "description": "x" * document.MAX_BYTES}))
    assert too_big.status_code == 400 and "at most 256,000 bytes" in too_big.get_data(as_text=True)


def test_a_new_flow_cannot_take_a_used_name_and_an_edit_keeps_its_own(client, owner, shop):
    save(client, owner, EXAMPLE)
    again = save(client, owner, changed(EXAMPLE))
    assert again.status_code == 400 and "you have a flow named" in again.get_data(as_text=True)
    renamed = save(client, owner, {**EXAMPLE, "name": "other"}, f"/app/flows/{FLOW}/build")
    assert renamed.status_code == 400 and "a flow keeps its name" in renamed.get_data(as_text=True)
    prebuilt = save(client, owner, {**EXAMPLE, "name": "win_back"})
    assert prebuilt.status_code == 400 and "is a prebuilt flow" in prebuilt.get_data(as_text=True)
    assert [version for version, _ in versions(shop.id)] == [1]


def test_another_stores_flow_is_not_found_and_forged_forms_are_refused(client, owner, shop):
    rival = connect_rival()
    with db.session() as session:
        library.save(session, rival.id, document.check(EXAMPLE), "the rival")
    for answer in (client.get(f"/app/flows/{FLOW}/build"),
                   save(client, owner, changed(EXAMPLE), f"/app/flows/{FLOW}/build"),
                   client.post(f"/app/flows/{FLOW}/check", data=json.dumps(EXAMPLE),
                               content_type="application/json", headers={"X-CSRF-Token": owner}),
                   client.get("/app/flows/win_back/build")):
        assert answer.status_code == 404
    assert save(client, None, EXAMPLE).status_code == 400
    assert save(client, "forged", EXAMPLE).status_code == 400
    assert client.post("/app/flows/new/check", data=json.dumps(EXAMPLE),
                       content_type="application/json").status_code == 400
    with db.session() as session:
        assert session.execute(select(FlowDocument.store_id)).scalars().all() == [rival.id]


def test_a_viewer_can_neither_open_nor_save_the_builder(app, client, owner, shop):
    save(client, owner, EXAMPLE)
    viewer, csrf = sign_in_viewer(app, shop.id)
    for answer in (viewer.get("/app/flows/new"), viewer.get(f"/app/flows/{FLOW}/build"),
                   save(viewer, csrf, changed(EXAMPLE), f"/app/flows/{FLOW}/build"),
                   viewer.post("/app/flows/new/check", data=json.dumps(EXAMPLE),
                               content_type="application/json", headers={"X-CSRF-Token": csrf})):
        assert answer.status_code == 403
    assert [version for version, _ in versions(shop.id)] == [1]


def test_a_flow_with_steps_the_panel_cannot_edit_opens_and_saves_unchanged(client, owner, shop):
    """A split, a webhook, a note to staff and a wait for a condition are drawn and kept as they
    are: the page holds the whole document, and saving it back makes no new version."""
    kept = {**copy.deepcopy(EXAMPLE), "steps": [
        {"id": "repeat", "wait_until": {"condition": {">=": [{"var": "customer.orders_count"}, 2]},
                                          "timeout": {"days": 3}}},
        {"id": "hook", "webhook": {"url": "https://hooks.example.com/storeflow"}},
        {"id": "ab", "split": [
            {"percent": 50, "steps": [{"id": "a", "send": {"subject": "A", "body": "One."}}]},
            {"percent": 50, "steps": [{"id": "b", "notify": {"subject": "B", "body": "Two."}}]}]}]}
    with db.session() as session:
        library.save(session, shop.id, document.check(kept), actor="test")
    opened = client.get(f"/app/flows/{FLOW}/build")
    assert opened.status_code == 200
    held = json.loads(html.unescape(re.search(r'id="flow-document"[^>]*>(.*?)</textarea>',
                                              opened.get_data(as_text=True), re.S).group(1)))
    assert held == document.check(kept)
    save(client, owner, held, f"/app/flows/{FLOW}/build")
    assert versions(shop.id) == [(1, document.check(kept))]
