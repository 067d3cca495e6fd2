"""The prebuilt flows as templates in the flow format (issue 17): each a document checked and
compiled as a merchant's flow is; exported, renamed and imported it runs as the merchant's own
copy; a template's settings, references and named rules are checked like any document's."""
from __future__ import annotations

import copy
import json

import pytest

from flows import catalog, document
from tests.flow_helpers import HOUR, MINUTE, SAMPLE_TIME, move_to
from tests.test_flow_lifecycle import BUYER_EMAIL, place_order, sent_steps
from tests.ui_helpers import sign_in

CHECKOUT = catalog.template("abandoned_checkout")


def problems(doc) -> list[tuple[str, str]]:
    try:
        document.check(doc)
    except document.FlowDocumentError as error:
        return error.problems
    return []


def test_every_template_file_is_a_prebuilt_flow_or_a_retired_version_of_one():
    current = {path.stem for path in catalog.TEMPLATES.glob("*.json")}
    retired = {path.name.split(".")[0] for path in (catalog.TEMPLATES / "retired").glob("*.json")}
    assert current == set(catalog.NAMES) and retired <= current
    assert {(name, version) for name, version in catalog.RETIRED} == {
        ("first_repeat_purchase", 1), ("win_back", 1)}


def test_a_templates_if_rechecks_its_condition_before_each_step_as_prebuilt_flows_do():
    flow = catalog.FLOWS["first_repeat_purchase"]
    offer = [p for p in flow.planned if p.condition is not None
             and p.condition.__name__ == "first_order"]
    assert [type(p.step).__name__ for p in offer] == ["Wait", "Discount", "Send"]
    assert offer[2].step.email == "first_repeat_purchase/second_order_offer"


@pytest.mark.parametrize("change, pointer, says", [
    (lambda d: d["settings"].update(email_1_delay_hours=5000), "/settings/email_1_delay_hours",
     "must be from 1 to 2160 hours (90 days)"),
    (lambda d: d["settings"].update(colour=3), "/settings/colour", "no setting 'colour'"),
    (lambda d: d["settings"].pop("discount_percent"), "/steps/5/then/0/discount/percent/setting",
     "no setting 'discount_percent' in /settings"),
    (lambda d: d["exit_rules"].append("moon_is_full"), "/exit_rules/2", "no rule 'moon_is_full'"),
    (lambda d: d["steps"][5].update({"if": {"rule": "lucky"}}), "/steps/5/if",
     "no condition 'lucky'"),
    (lambda d: d["steps"][1]["send"].update(email="abandoned_checkout/email_9"),
     "/steps/1/send/email", "no stored email"),
    (lambda d: d["steps"][1]["send"].update(subject="Hi"), "/steps/1/send", "subject"),
    (lambda d: d.update(description="After {email_9_delay_hours:hours}"), "/description",
     "cannot be read"),
    (lambda d: d["steps"][0]["wait"].update(days=1), "/steps/0/wait", "one of hours, days"),
])
def test_a_bad_template_is_refused_naming_the_part(change, pointer, says):
    changed = copy.deepcopy(CHECKOUT)
    change(changed)
    found = problems(changed)
    assert any(p == pointer and says in reason for p, reason in found), found


@pytest.fixture
def copy_on(shop, storeflow, tmp_path):
    """The order-updates template exported, refused under its own name, imported as
    "where_is_my_order" and switched on, with the CLI. Listed before `smtp_sink`: a CLI command
    binds the configured transport."""
    exported = json.loads(storeflow("flows", "export", "--store", shop.domain,
                                    "order_updates").output)
    assert exported == catalog.template("order_updates")
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(exported))
    refused = storeflow("flows", "import", "--store", shop.domain, str(path), ok=False)
    assert refused.exit_code != 0 and "is a prebuilt flow: give your copy another name" in \
        refused.output
    path.write_text(json.dumps({**exported, "name": "where_is_my_order"}))
    assert storeflow("flows", "import", "--store", shop.domain,
                     str(path)).output.splitlines()[-1] == "where_is_my_order"
    storeflow("flows", "enable", "--store", shop.domain, "where_is_my_order")


def test_a_renamed_copy_of_a_template_runs_as_the_merchants_own_flow(
        copy_on, webhooks, run_jobs, smtp_sink):
    """Its named conditions, its wait on a setting's timeout and its stored emails, as the
    prebuilt flow has them (the prebuilt one stays off)."""
    place_order(webhooks, run_jobs, subscribed=False)  # a minute after the order
    move_to(SAMPLE_TIME + 24 * HOUR, run_jobs)
    assert sent_steps("where_is_my_order") == []  # its waits count from the step before
    move_to(SAMPLE_TIME + 24 * HOUR + 2 * MINUTE, run_jobs)
    assert sent_steps("where_is_my_order") == ["status_note"]
    [mail] = smtp_sink.to(BUYER_EMAIL)  # the stored email, rendered for the order
    assert mail["Subject"] == "A quick update on order #9999"
    assert sent_steps("order_updates") == []


def test_the_flows_page_copies_a_template_into_the_builder_under_a_new_name(client, storeflow,
                                                                             shop):
    sign_in(client, storeflow, shop.id)
    assert "/app/flows/new?template=abandoned_checkout" in client.get("/app/flows").get_data(
        as_text=True)
    page = client.get("/app/flows/new?template=abandoned_checkout").get_data(as_text=True)
    assert "my_abandoned_checkout" in page and "Abandoned checkout (my copy)" in page
    # Every template opens, its waits on a condition and its sunset drawn as they are.
    for name in ("order_updates", "post_purchase", "welcome", "win_back"):
        page = client.get(f"/app/flows/new?template={name}")
        assert page.status_code == 200 and f"my_{name}" in page.get_data(as_text=True)
