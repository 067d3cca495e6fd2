"""Signing in by email, attacked from outside over HTTP: a link works once and for its own
store only, a removed member's links and cookies stop at once, the sign-in form tells nobody
who is staff, and a viewer cannot change anything or promote themselves."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.core.db import db
from app.models import StaffMember, Store
from app.web.ui import staff
from tests.helpers import work

MEMBER = "jo@fernhill.example"


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def ask_for_link(http, email: str):
    form = http.get("/app/sign-in")
    return http.post("/app/sign-in", data={"email": email, "csrf_token": csrf_of(form)})


def links_mailed(sink, address: str) -> list[str]:
    return [re.search(r"(/app/login/\S+)", m.get_content()).group(1) for m in sink.to(address)]


@pytest.fixture
def member(shop):
    with db.session() as session:
        return staff.invite(session, shop.id, MEMBER, staff.VIEWER, "test").id


def test_a_mailed_link_works_once(http, member, smtp_sink):
    ask_for_link(http, MEMBER)
    work("mail")
    [path] = links_mailed(smtp_sink, MEMBER)
    assert http.get(path).status_code == 302
    assert http.__class__().get(path).status_code == 403


def test_the_answer_is_the_same_for_staff_and_strangers(http, member, smtp_sink):
    known, unknown = ask_for_link(http, MEMBER), ask_for_link(http, "nobody@fernhill.example")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    work("mail")
    assert smtp_sink.to("nobody@fernhill.example") == [] and len(smtp_sink.to(MEMBER)) == 1


def test_an_address_gets_a_few_links_per_window_however_often_it_is_asked(http, member, smtp_sink):
    for _ in range(staff.SIGN_IN_MAILS_PER_WINDOW + 3):
        assert ask_for_link(http, MEMBER).status_code == 200
    work("mail")
    assert len(smtp_sink.to(MEMBER)) == staff.SIGN_IN_MAILS_PER_WINDOW


def test_one_address_cannot_flood_the_form(http, member):
    answers = [ask_for_link(http, f"x{n}@fernhill.example").status_code for n in range(11)]
    assert answers[:10] == [200] * 10 and answers[10] == 429


def test_the_form_needs_its_csrf_token(http, member, smtp_sink):
    http.get("/app/sign-in")
    assert http.post("/app/sign-in", data={"email": MEMBER}).status_code == 400
    # A Shopify session token exempts a request from CSRF only once verified; this page
    # verifies none, so a made-up one (a cross-site form's) exempts nothing.
    assert http.post("/app/sign-in", data={"email": MEMBER, "id_token": "x"}).status_code == 400
    assert http.post("/app/sign-in", data={"email": MEMBER},
                     headers={"Authorization": "Bearer x"}).status_code == 400
    work("mail")
    assert smtp_sink.to(MEMBER) == []


def test_a_link_signs_in_to_its_own_store_only(http, shop, woo_store, smtp_sink):
    """Staff of one store is nobody in another: its link opens its store, its cookie no other."""
    with db.session() as session:
        staff.invite(session, woo_store.id, MEMBER, staff.OWNER, "test")
    ask_for_link(http, MEMBER)
    work("mail")
    [path] = links_mailed(smtp_sink, MEMBER)
    http.get(path)
    page = http.get("/app/")
    assert woo_store.domain.split("//")[1] in page.text and shop.domain not in page.text


def test_a_removed_members_link_and_cookie_stop_working(http, member, shop, smtp_sink):
    ask_for_link(http, MEMBER)
    ask_for_link(http, MEMBER)
    work("mail")
    first, second = links_mailed(smtp_sink, MEMBER)
    http.get(first)
    assert http.get("/app/").status_code == 200
    with db.session() as session:
        staff.remove(session, shop.id, member, "test")
    assert http.get("/app/").status_code == 401  # the cookie they hold
    assert http.__class__().get(second).status_code == 403  # a link mailed before


def test_a_viewer_changes_nothing_and_cannot_promote_themselves(http, member, shop, smtp_sink):
    ask_for_link(http, MEMBER)
    work("mail")
    http.get(links_mailed(smtp_sink, MEMBER)[0])
    csrf = csrf_of(http.get("/app/activity"))
    attempts = {"/app/settings": {"from_name": "Hijacked"},
                "/app/staff": {"email": "me@evil.example", "role": staff.OWNER},
                f"/app/staff/{member}/remove": {},
                "/app/flows/abandoned_checkout/toggle": {}}
    for path, form in attempts.items():
        assert http.post(path, data={**form, "csrf_token": csrf}).status_code == 403, path
    with db.session() as session:
        assert session.get(Store, shop.id).settings.get("from_name") != "Hijacked"
        assert session.execute(select(StaffMember.email, StaffMember.role)).all() == [
            (MEMBER, staff.VIEWER)]


def test_no_address_reaches_the_logs(http, member, smtp_sink, caplog):
    """RQ logs each job with its arguments: the mail job gets staff ids, never an address."""
    import logging

    caplog.set_level(logging.DEBUG)
    ask_for_link(http, MEMBER)
    ask_for_link(http, "nobody@fernhill.example")
    work("mail")
    assert len(smtp_sink.to(MEMBER)) == 1
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records
                       if not r.name.startswith("mail.log"))  # the SMTP sink's own log
    assert MEMBER not in logged and "nobody@fernhill.example" not in logged
