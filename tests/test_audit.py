"""The audit log: every change to a flow or the staff, from the UI (signed in as whoever) or
the shell, says who, what, from what to what; on the Audit page and in `storeflow audit`."""
from __future__ import annotations

from sqlalchemy import select

from app.core.db import db
from app.models import AuditEntry
from app.web.ui import staff
from tests.mail_helpers import with_postal_address
from tests.ui_helpers import session_token, sign_in


def entries() -> list[tuple[str, str, object, object]]:
    with db.session() as session:
        return [(e.actor, e.subject, e.before, e.after) for e in session.execute(
            select(AuditEntry).order_by(AuditEntry.id)).scalars()]


def test_ui_and_shell_changes_name_who_made_them(client, storeflow, shop):
    with_postal_address(shop.id)  # a marketing flow needs it to be switched on
    csrf = sign_in(client, storeflow, shop.id)
    client.post("/app/flows/abandoned_checkout/toggle", data={"enabled": "true", "csrf_token": csrf})
    storeflow("flows", "set", "--store", str(shop.id), "abandoned_checkout", "email_1_delay_hours=3")
    client.post("/app/staff", data={"email": "jo@fernhill.example", "role": "viewer",
                                    "csrf_token": csrf})

    assert entries() == [
        ("an operator's sign-in link", "flow abandoned_checkout", {"enabled": False}, {"enabled": True}),
        ("operator (storeflow command)", "flow abandoned_checkout", {"email_1_delay_hours": 1},
         {"email_1_delay_hours": 3}),
        ("an operator's sign-in link", "staff jo@fernhill.example", None, {"role": "viewer"}),
    ]
    page = client.get("/app/audit").get_data(as_text=True)
    assert "email_1_delay_hours: 1" in page and "email_1_delay_hours: 3" in page
    printed = storeflow("audit", "--store", str(shop.id)).output.splitlines()
    assert printed[0].endswith("an operator's sign-in link  staff jo@fernhill.example: — -> "
                               'role: "viewer"')
    assert printed[2].endswith("flow abandoned_checkout: enabled: false -> enabled: true")


def test_a_save_that_changes_nothing_leaves_no_entry(client, storeflow, shop):
    csrf = sign_in(client, storeflow, shop.id)
    for _ in range(2):
        client.post("/app/flows/abandoned_checkout/toggle",
                    data={"enabled": "false", "csrf_token": csrf})
    assert entries() == []


def test_shopify_admin_changes_name_the_staff_member(client, shop, shopify):
    from tests.helpers import API_SECRET

    bearer = {"Authorization": f"Bearer {session_token(API_SECRET)}"}  # sub: Shopify user 42
    with_postal_address(shop.id)  # a marketing flow needs it to be switched on
    client.post("/app/flows/abandoned_checkout/toggle", data={"enabled": "true"}, headers=bearer)
    assert entries()[0][0] == "Shopify staff member 42"


def test_staff_sign_ins_and_removals_name_the_member(app, client, storeflow, shop):
    with db.session() as session:
        member = staff.invite(session, shop.id, "jo@fernhill.example", staff.OWNER, "test")
        member_id = member.id
    csrf = sign_in(client, storeflow, shop.id)
    client.post(f"/app/staff/{member_id}/remove", data={"csrf_token": csrf})
    assert entries()[-1] == ("an operator's sign-in link", "staff jo@fernhill.example",
                             {"role": "owner"}, None)


def test_the_log_is_for_owners(app, client, shop):
    from app.web.ui import auth

    with db.session() as session:
        member_id = staff.invite(session, shop.id, "jo@fernhill.example", staff.VIEWER, "t").id
    client.get(f"/app/login/{auth.login_token(shop.id, member='jo', staff_id=member_id)}")
    assert client.get("/app/audit").status_code == 403


def test_audit_for_an_unknown_store_says_so(storeflow, shop):
    result = storeflow("audit", "--store", "nope.example", ok=False)
    assert result.exit_code != 0 and "nope.example" in result.output


def test_settings_changes_are_logged_from_the_ui_and_the_shell(client, storeflow, shop):
    from tests.test_settings_validation import PAGE

    csrf = sign_in(client, storeflow, shop.id)
    saved = client.post("/app/settings", data={"csrf_token": csrf, **PAGE,
                                                "frequency_cap_hours": "24"})
    assert saved.status_code == 302
    storeflow("settings", "set", "--store", str(shop.id), "reply_to=help@fernhill.example")
    storeflow("settings", "set", "--store", str(shop.id), "reply_to=")

    ui, shell_set, shell_cleared = entries()
    assert ui[:2] == ("an operator's sign-in link", "settings")
    assert (ui[2]["frequency_cap_hours"], ui[3]["frequency_cap_hours"]) == (16, 24)
    assert ui[3]["postal_address"] == PAGE["postal_address"]
    assert shell_set == ("operator (storeflow command)", "settings", {"reply_to": ""},
                         {"reply_to": "help@fernhill.example"})
    assert shell_cleared[2:] == ({"reply_to": "help@fernhill.example"}, {"reply_to": ""})
