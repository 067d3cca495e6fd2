"""Staff of a store's own: the owner invites by email, staff sign in with the link mailed to
them (real SMTP on loopback), and a viewer sees reports and activity only."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.core.db import db
from app.models import StaffMember
from app.web.ui import staff
from tests.ui_helpers import sign_in

VIEWER = "jo@fernhill.example"


def mailed_link(sink, address: str) -> str:
    """The path of the newest sign-in link mailed to `address`."""
    body = sink.to(address)[-1].get_content()
    return re.search(r"https?://[^/\s]+(/app/login/\S+)", body).group(1)


def invite(client, csrf: str, email: str, role: str = staff.VIEWER):
    return client.post("/app/staff", data={"email": email, "role": role, "csrf_token": csrf})


@pytest.fixture
def owner(client, storeflow, shop):
    """A client signed in as the owner (an operator's link); its CSRF token."""
    return sign_in(client, storeflow, shop.id)


def test_an_invited_viewer_signs_in_by_the_mailed_link_and_sees_reports_only(
        app, client, owner, shop, smtp_sink, run_jobs):
    answer = invite(client, owner, "Jo@Fernhill.example")
    assert answer.status_code == 302
    run_jobs()
    mail = smtp_sink.to(VIEWER)[-1]
    assert mail["Subject"] == f"Sign in to Storeflow for {shop.name or shop.domain}"
    assert "viewer: reports and activity only" in mail.get_content()

    viewer = app.test_client()
    assert viewer.get(mailed_link(smtp_sink, VIEWER)).status_code == 302
    overview = viewer.get("/app/")
    assert overview.status_code == 200 and b"Signed in as jo@fernhill.example" in overview.data
    assert b'href="/app/settings"' not in overview.data  # the nav offers what the role allows
    assert viewer.get("/app/activity").status_code == 200
    for page in ("/app/settings", "/app/flows", "/app/preview", "/app/staff"):
        refused = viewer.get(page)
        assert refused.status_code == 403, page
        assert b"You are signed in as a viewer: you can see reports and activity." in refused.data


def test_the_owner_sees_the_staff_and_who_invited_them(client, owner, smtp_sink, run_jobs):
    invite(client, owner, VIEWER)
    page = client.get("/app/staff").get_data(as_text=True)
    assert VIEWER in page and "an operator&#39;s sign-in link" in page


@pytest.mark.parametrize("email, role, says", [
    ("jo@", staff.VIEWER, "&#39;jo@&#39; is not an email address"),
    ("jo@fernhill.example", "admin", "role must be one of: owner, viewer"),
])
def test_an_invitation_that_cannot_be_made_says_why(client, owner, email, role, says):
    page = client.get(invite(client, owner, email, role).location).get_data(as_text=True)
    assert says in page
    with db.session() as session:
        assert session.execute(select(StaffMember)).first() is None


def test_inviting_someone_twice_says_so(client, owner):
    invite(client, owner, VIEWER)
    page = client.get(invite(client, owner, VIEWER).location).get_data(as_text=True)
    assert f"{VIEWER} is already on the staff" in page


def test_staff_ask_for_a_link_by_email_and_get_one_per_store(app, client, shop, woo_store,
                                                              smtp_sink, run_jobs):
    with db.session() as session:
        staff.invite(session, shop.id, VIEWER, staff.OWNER, "test")
        staff.invite(session, woo_store.id, VIEWER, staff.VIEWER, "test")
    client.get("/app/sign-in")
    with client.session_transaction() as session:
        csrf = session["csrf_token"]
    answer = client.post("/app/sign-in", data={"email": VIEWER, "csrf_token": csrf})
    assert answer.status_code == 200 and b"Check your inbox" in answer.data
    run_jobs()
    assert len(smtp_sink.to(VIEWER)) == 2
    paths = [re.search(r"(/app/login/\S+)", m.get_content()).group(1) for m in smtp_sink.to(VIEWER)]
    as_owner, as_viewer = app.test_client(), app.test_client()
    as_owner.get(paths[0])
    as_viewer.get(paths[1])
    assert as_owner.get("/app/settings").status_code == 200
    assert as_viewer.get("/app/settings").status_code == 403


def test_a_removed_member_is_signed_out_at_once(app, client, owner, shop, smtp_sink, run_jobs):
    invite(client, owner, VIEWER)
    run_jobs()
    viewer = app.test_client()
    viewer.get(mailed_link(smtp_sink, VIEWER))
    assert viewer.get("/app/").status_code == 200
    with db.session() as session:
        member_id = session.execute(select(StaffMember.id)).scalar_one()

    removed = client.post(f"/app/staff/{member_id}/remove", data={"csrf_token": owner})
    assert removed.status_code == 302
    page = viewer.get("/app/")
    assert page.status_code == 401 and b"You're no longer on this store's staff" in page.data
