"""The Campaigns page in a real browser (headless chromium, issue 21): a campaign to a segment,
minus another, created in the form; its recipient count; a heading added with the designer and
saved; Send; and the real email in the SMTP sink carrying the designed heading. And an A/B
campaign with a holdout (the test's fields shown once subject B is typed), scheduled, and listed
as scheduled, its subject B changed while it waits."""
from __future__ import annotations

from datetime import timedelta

from tests.campaign_helpers import REACHED
from tests.test_ui_browser import expect
from tests.test_ui_browser_flow_builder import signed_in  # noqa: F401 (a fixture)
from tests.test_ui_campaigns import SENDER, configure, stored, tea_shop  # noqa: F401 (a fixture)
from tests.test_ui_campaigns_options import ZONE, typed

HEADING = "Our first flush, {{ first_name }}"


def new_campaign(tab, app_server: str, name: str, subject: str) -> None:
    """The New campaign form filled in: to "Tea lovers", minus "Staff"."""
    tab.set_viewport_size({"width": 1400, "height": 900})
    tab.goto(f"{app_server}/app/campaigns")
    tab.locator("input[name=name]").fill(name)
    tab.locator("input[name=subject]").fill(subject)
    tab.get_by_label("Include Tea lovers").check()
    tab.get_by_label("Exclude Staff").check()


def test_create_design_and_send_a_campaign(tea_shop, signed_in, app_server, run_jobs, smtp_sink):
    """(The sink after the shop: the `storeflow` commands making its segments set the transport.)"""
    configure(tea_shop.id, **SENDER)
    tab = signed_in
    new_campaign(tab, app_server, "Spring teas", "New spring teas, {{ first_name }}")
    tab.locator("button:has-text('Create campaign')").click()
    expect(tab.locator(".toast")).to_contain_text("Campaign created")
    expect(tab.locator("[data-recipients]")).to_have_text("3")

    blocks = tab.locator("#design-blocks .design-block")
    expect(blocks.last).to_be_visible()  # drawn by the designer's script
    count = blocks.count()
    tab.locator("#block-kind").select_option("heading")
    tab.locator("#block-add").click()
    expect(blocks).to_have_count(count + 1)
    blocks.last.get_by_label("Text").fill(HEADING)
    for index in range(count, 0, -1):  # up to the top
        blocks.nth(index).get_by_role("button", name="Move up").click()
    expect(tab.locator("#check-state")).to_have_text("Ready to save")
    expect(tab.frame_locator("iframe[title='Desktop preview']").locator("body")
           ).to_contain_text("Our first flush, Ana")
    tab.locator("button:has-text('Save design')").click()
    expect(tab.locator(".toast")).to_contain_text("Design saved")

    tab.locator("button:has-text('Send now')").click()
    expect(tab.locator(".toast")).to_contain_text("Sending “Spring teas” to 3 recipient(s).")
    run_jobs()
    assert sorted(mail["To"] for mail in smtp_sink.received) == REACHED
    mail = next(m for m in smtp_sink.received if m["To"] == REACHED[0])
    assert "Our first flush, Ann0" in mail.get_body(("html",)).get_content()
    tab.reload()
    expect(tab.locator("[data-figure=sent] dd")).to_have_text("3")


def test_an_ab_campaign_with_a_holdout_is_scheduled_and_listed(tea_shop, signed_in, app_server):
    configure(tea_shop.id, **SENDER, timezone=ZONE)
    tab = signed_in
    new_campaign(tab, app_server, "Spring test", "New spring teas")
    expect(tab.locator("[data-ab]")).to_be_hidden()
    tab.locator("input[name=subject_b]").fill("Our first flush is in")
    expect(tab.locator("[data-ab]")).to_be_visible()
    tab.locator("input[name=holdout]").fill("50")
    tab.locator("input[name=test_share]").fill("50")
    tab.locator("input[name=winner_after]").fill("6")
    tab.locator("select[name=judge]").select_option("revenue")
    tab.locator("button:has-text('Create campaign')").click()
    expect(tab.locator(".toast")).to_contain_text("Campaign created")
    expect(tab.locator("[data-recipients]")).to_have_text("3 (1 held out, 1 in the A/B test)")

    moment = typed(timedelta(days=2))
    tab.locator("input[name=at]").fill(moment)
    tab.locator("button:has-text('Schedule')").click()
    when = f"{moment.replace('T', ' ')} {ZONE}"
    expect(tab.locator(".toast")).to_contain_text(f"“Spring test” is scheduled for {when}.")
    expect(tab.locator("[data-when]")).to_have_text(f"Scheduled for {when}.")
    words = tab.locator("#campaign-words")  # still editable until it starts
    words.locator("input[name=subject_b]").fill("Fresh leaves, just in")
    words.locator("button[data-save-words]").click()
    expect(tab.locator(".toast")).to_contain_text("Saved: the campaign goes with")
    tab.locator("a:has-text('Campaigns')").first.click()
    row = tab.locator("[data-campaign='Spring test']")
    expect(row.locator(".badge")).to_have_text("scheduled")
    expect(row.locator("[data-when]")).to_have_text(f"scheduled for {when}")
    campaign = stored("Spring test")
    assert (campaign.holdout_percent, campaign.subject_b, campaign.test_share,
            campaign.winner_after_hours, campaign.judge) == (
        50, "Fresh leaves, just in", 50, 6, "revenue")
