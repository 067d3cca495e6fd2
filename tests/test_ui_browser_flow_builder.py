"""The flow builder in a real browser (headless chromium, issue 17): the issue's example built
from scratch by clicking and typing, checked live, saved, dry-run and switched on; the stored
document is the example exactly; the canvas fits a 390 px phone."""
from __future__ import annotations

import pytest

from app.core.db import db
from flows import catalog, choices, document, library
from tests.mail_helpers import with_postal_address
from tests.test_flow_built import EXAMPLE, FLOW
from tests.test_ui_browser import expect
from tests.ui_helpers import login_path

PHONE = 390
STOP = "Stop a run, before any step, once the customer matches"


@pytest.fixture
def signed_in(browser, app_server, shop, storeflow):
    """A tab signed in to the shop, which has the postal address a marketing flow needs."""
    with_postal_address(shop.id)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.goto(app_server + login_path(storeflow, shop.id))
    yield tab
    context.close()


def add(tab, kind: str, where: str = "#canvas > .step-list") -> None:
    """Add a step of this kind at the end of a list of steps (the flow's, or a branch's)."""
    adder = tab.locator(f"{where} > .step-add")
    adder.locator("select").select_option(kind)
    adder.locator("button").click()


def condition(tab, switch: str, rows: str, field: str, operator: str, value: str) -> None:
    """Tick the flow's entry or exit condition and write its one row."""
    tab.get_by_label(switch).check()
    row = tab.locator(rows)
    row.locator("select[aria-label=Field]").select_option(field)
    row.locator("select[aria-label=Operator]").select_option(operator)
    row.locator("input[aria-label=Value]").fill(value)


def write_email(panel, step_id: str, subject: str, body: str, button=None) -> None:
    panel.get_by_label("Step id").fill(step_id)
    panel.get_by_label("Subject").fill(subject)
    panel.get_by_label("Body").fill(body)
    if button:
        panel.get_by_label("Button text").fill(button[0])
        panel.get_by_label("Button link").fill(button[1])


def build_the_example(tab) -> None:
    tab.locator("[data-key=name] input").fill(FLOW)
    tab.locator("[data-key=title] input").fill("Thanks for a big order")
    tab.locator("[data-key=consent] select").select_option("marketing")
    tab.locator("[data-key=trigger] select").select_option("order_placed")
    condition(tab, "Only customers who match", "#entry-rules", "order.total", ">", "100")

    panel = tab.locator("#panel")
    add(tab, "wait")
    panel.get_by_label("Wait", exact=True).fill("1")
    add(tab, "send")
    write_email(panel, "thanks", "Thank you for your big order, {{ first_name }}",
                "We are packing it now.", ("Shop again", "{{ shop_url }}"))
    add(tab, "wait")
    panel.get_by_label("Wait", exact=True).fill("24")
    add(tab, "if")
    panel.get_by_label("Step id").fill("clicked")
    panel.locator("select[aria-label=Field]").select_option("run.steps.thanks.clicked")
    panel.locator("select[aria-label=Operator]").select_option("happened")
    add(tab, "tag", "[data-step=clicked] [data-branch=then] > .step-list")
    panel.get_by_label("Step id").fill("tag_engaged")
    panel.get_by_label("Value").fill("engaged")
    add(tab, "send", "[data-step=clicked] [data-branch=else] > .step-list")
    write_email(panel, "nudge", "Did you see our note?", "Still here.")


def test_build_the_example_save_dry_run_and_switch_it_on(signed_in, app_server, shop, run_jobs):
    tab = signed_in
    tab.goto(f"{app_server}/app/flows")
    tab.locator("a:has-text('New flow')").click()
    add(tab, "send")  # an email with nothing written yet: named beside its step, live
    expect(tab.locator("[data-step=send_1] .step-problems")).to_contain_text("/steps/0/send/subject")
    tab.locator("[data-step=send_1] button[aria-label='Remove step']").click()

    build_the_example(tab)
    state = tab.locator("#check-state")
    expect(state).to_have_text("Ready to save")
    moves = tab.locator("[data-step=clicked] > .step-head")
    for _ in range(2):  # the branch above the email it asks about, then back again
        moves.locator("button[aria-label='Move up']").click()
    expect(tab.locator("[data-step=clicked] > .step-problems")).to_contain_text(
        "reads run.steps.thanks, which is not an email earlier on this path")
    for _ in range(2):
        moves.locator("button[aria-label='Move down']").click()
    expect(state).to_have_text("Ready to save")

    tab.set_viewport_size({"width": PHONE, "height": 844})
    for box in (tab.locator(selector).bounding_box()
                for selector in ("#canvas", "[data-step=tag_engaged]", "[data-step=nudge]",
                                 "#panel")):
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE
    tab.set_viewport_size({"width": 1280, "height": 900})

    tab.locator("button:has-text('Save flow')").click()
    expect(tab.locator(".toast")).to_contain_text("saved as version 1")
    with db.session() as session:
        assert library.newest(session, shop.id, FLOW).document == EXAMPLE

    card = tab.locator(f"#{FLOW}")
    card.locator("a:has-text('see what it would have sent')").click()
    expect(tab.locator("[data-poll]")).to_contain_text("Replaying the last 30 days")
    run_jobs()
    expect(tab.locator("[data-emailed]")).to_be_visible(timeout=10_000)

    tab.goto(f"{app_server}/app/flows")
    switch = tab.locator(f"#{FLOW} .switch")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    with db.session() as session:
        flow = library.find(session, shop.id, FLOW)
        assert choices.effective(session, shop.id, flow)[0] is True


def test_copy_a_prebuilt_flow_keep_what_the_builder_cannot_edit_and_save(signed_in, app_server,
                                                                         shop):
    """A template's stored emails, settings and named rules are drawn as they are, shown in
    the panel read-only, and saved untouched beside a step added by clicking."""
    tab = signed_in
    tab.goto(f"{app_server}/app/flows")
    tab.locator("#abandoned_checkout a:has-text('Make your own copy')").click()
    expect(tab.locator("[data-key=name] input")).to_have_value("my_abandoned_checkout")
    expect(tab.locator("[data-step=email_1] .step-open")).to_have_text(
        "Email: abandoned_checkout/email_1")
    tab.locator("[data-step=wait_2] .step-open").click()
    panel = tab.locator("#panel")
    expect(panel).to_contain_text("kept as it is when you save")
    expect(panel.locator("pre")).to_contain_text('"setting": "email_2_delay_hours"')
    add(tab, "tag")
    panel.get_by_label("Value").fill("reminded")
    expect(tab.locator("#check-state")).to_have_text("Ready to save")
    template, saved = save_the_copy(tab, shop, "abandoned_checkout")
    assert saved == {**template, "name": "my_abandoned_checkout",
                     "title": "Abandoned checkout (my copy)",
                     "steps": [*template["steps"], {"id": "tag_1", "tag": {"add": "reminded"}}]}


def save_the_copy(tab, shop, name: str) -> tuple[dict, dict]:
    """Save the builder's copy of a prebuilt flow: the template, and the document stored."""
    tab.locator("button:has-text('Save flow')").click()
    expect(tab.locator(".toast")).to_contain_text("saved as version 1")
    with db.session() as session:
        return catalog.template(name), library.newest(session, shop.id, f"my_{name}").document


def test_a_template_waiting_on_a_condition_opens_draws_every_step_and_saves_whole(
        signed_in, app_server, shop):
    """Post-purchase waits for its delivery (a step the panel has no fields for): drawn in words,
    shown read-only, and saved untouched."""
    tab = signed_in
    tab.goto(f"{app_server}/app/flows/new?template=post_purchase")
    waiting = tab.locator("[data-step=until_delivered] .step-open")
    expect(waiting).to_have_text('Wait until {"rule":"delivered"}')
    waiting.click()
    expect(tab.locator("#panel")).to_contain_text("kept as it is when you save")
    template, saved = save_the_copy(tab, shop, "post_purchase")
    assert saved == {**template, "name": "my_post_purchase", "title": "Post-purchase (my copy)"}


def test_a_splits_sides_are_drawn_side_by_side_and_take_steps(signed_in, app_server, shop):
    with db.session() as session:
        library.save(session, shop.id, document.check({**EXAMPLE, "steps": [{"id": "ab", "split": [
            {"percent": 70, "steps": [{"id": "a", "send": {"subject": "A", "body": "One."}}]},
            {"percent": 30, "steps": [{"id": "b", "send": {"subject": "B", "body": "Two."}}]}]}]}),
            actor="test")
    tab = signed_in
    tab.goto(f"{app_server}/app/flows/{FLOW}/build")
    expect(tab.locator("[data-step=ab] > .step-head .step-open")).to_have_text("A/B split 70% / 30%")
    expect(tab.locator("[data-step=ab] .branch-label")).to_have_text(["Side 1 · 70%", "Side 2 · 30%"])
    add(tab, "tag", "[data-step=ab] [data-branch=split-1-steps] > .step-list")
    tab.locator("#panel").get_by_label("Value").fill("saw_b")
    expect(tab.locator("#check-state")).to_have_text("Ready to save")
    tab.locator("button:has-text('Save flow')").click()
    expect(tab.locator(".toast")).to_contain_text("saved as version 2")

    with db.session() as session:
        sides = library.newest(session, shop.id, FLOW).document["steps"][0]["split"]
    assert [step["id"] for step in sides[1]["steps"]] == ["b", "tag_1"]
    assert sides[1]["steps"][1]["tag"] == {"add": "saw_b"}


def test_a_flows_description_and_exit_condition_are_written_and_taken_away(
        signed_in, app_server, shop):
    with db.session() as session:
        library.save(session, shop.id, document.check(EXAMPLE), actor="test")
    tab = signed_in
    tab.goto(f"{app_server}/app/flows/{FLOW}/build")
    tab.locator("[data-key=description] textarea").fill("Thanks big spenders")
    condition(tab, STOP, "#exit-rules", "customer.orders_count", ">=", "2")
    expect(tab.locator("#check-state")).to_have_text("Ready to save")
    tab.locator("button:has-text('Save flow')").click()
    expect(tab.locator(".toast")).to_contain_text("saved as version 2")
    with db.session() as session:
        saved = library.newest(session, shop.id, FLOW).document
    assert saved["description"] == "Thanks big spenders"
    assert saved["exit"] == {">=": [{"var": "customer.orders_count"}, 2]}

    tab.goto(f"{app_server}/app/flows/{FLOW}/build")  # saving went back to the Flows page
    expect(tab.locator("[data-key=description] textarea")).to_have_value("Thanks big spenders")
    tab.locator("[data-key=description] textarea").fill("")
    tab.get_by_label(STOP).uncheck()
    expect(tab.locator("#check-state")).to_have_text("Ready to save")
    tab.locator("button:has-text('Save flow')").click()
    expect(tab.locator(".toast")).to_contain_text("saved as version 3")
    with db.session() as session:
        assert library.newest(session, shop.id, FLOW).document == document.check(EXAMPLE)


def test_an_email_step_previews_and_test_sends_before_the_flow_is_saved(signed_in, app_server):
    tab = signed_in
    tab.goto(f"{app_server}/app/flows/new")
    add(tab, "send")
    panel = tab.locator("#panel")
    write_email(panel, "thanks", "Thanks, {{ first_name }}", "We are packing it now.")
    panel.locator("button:has-text('Preview')").click()
    expect(panel.locator(".hint[aria-live]")).to_have_text("Subject: Thanks, Ana")
    expect(panel.frame_locator("iframe.email-frame").locator("body")).to_contain_text(
        "We are packing it now.")
    panel.get_by_label("Send a test to").fill("owner@fernhill.example")
    panel.locator("button:has-text('Send test')").click()
    expect(panel.locator(".hint[aria-live]")).to_have_text(
        "A test is on its way to owner@fernhill.example.")
