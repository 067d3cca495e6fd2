"""Merchant-built flows' further steps (issue 17): a random split, waits until a weekday and
time in the customer's own zone or until a condition, a signed webhook, a note to the store's
staff, and segment triggers; each run by the engine through signed webhooks and a real worker,
both of its outcomes, and each refused where the input is wrong."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core import clock
from app.core.db import db
from app.models import FlowRun, Order
from flows import choices, document, library
from flows.execute import split_side
from tests.flow_helpers import (HOUR, SAMPLE_TIME, at, enable, messages, move_to, order_sample,
                                runs, timeline)
from tests.test_flow_built import john_buys, problems, tags
from tests.test_flow_lifecycle import BUYER_EMAIL

SEND = {"subject": "Hi", "body": "Hello."}


def built(name: str, trigger: str, *steps, **top) -> dict:
    return {"format": 1, "name": name, "title": name.replace("_", " ").capitalize(),
            "consent": "marketing", "trigger": {"event": trigger}, "steps": list(steps), **top}


def switch_on(shop, flow: dict) -> None:
    """Store the checked document and switch it on as `flows import` and `flows enable` do
    (in the test's own process: the CLI would rebind the mail transport mid-test)."""
    enable(shop.id)
    with db.session() as session:
        saved = library.save(session, shop.id, document.check(flow), actor="test")
        choices.save(session, shop.id, library.compiled(session, shop.id, saved.name,
                                                        saved.version),
                     actor="test", enabled=True)


def john_pays(webhooks, run_jobs, when=SAMPLE_TIME + HOUR) -> None:
    """The published order turns paid: `order_paid` for its run."""
    with at(when):
        webhooks.deliver("orders/updated", order_sample(
            SAMPLE_TIME, financial_status="paid", updated_at=when.isoformat()))
        run_jobs()


def johns_order() -> tuple[int, int]:
    with db.session() as session:
        order = session.execute(select(Order)).scalar_one()
        return order.customer_id, order.id


# --- split ---------------------------------------------------------------------------------

AB = "ab_thanks"


def ab_flow(name: str, split_id: str) -> dict:
    return built(name, "order_paid", {"id": split_id, "split": [
        {"percent": 50, "steps": [
            {"id": "thanks_a", "send": {"subject": "A: thank you", "body": "Side A."}},
            {"id": "wait_a", "wait": {"hours": 24}},
            {"id": "clicked_a", "if": {"var": "run.steps.thanks_a.sent"},
             "then": [{"id": "tag_a", "tag": {"add": "saw_a"}}]}]},
        {"percent": 50, "steps": [
            {"id": "thanks_b", "send": {"subject": "B: thanks a lot", "body": "Side B."}}]},
    ]})


def split_id_landing(flow: str, customer_id: int, order_id: int, side: int) -> str:
    """A split id on which John's paid order lands on `side` of a 50/50 split (the side is a
    hash of the run, so the test names the split to know it in advance)."""
    for n in range(200):
        run = FlowRun(flow=flow, customer_id=customer_id, subject="order", subject_id=order_id)
        if split_side(run, f"ab{n}", (50, 50)) == side:
            return f"ab{n}"
    raise AssertionError("no split id lands there")


@pytest.mark.parametrize("side, subject, step, tagged", [
    (0, "A: thank you", "thanks_a", True),
    (1, "B: thanks a lot", "thanks_b", False),
])
def test_a_split_sends_only_the_side_the_run_drew_and_says_so(
        shop, webhooks, run_jobs, smtp_sink, side, subject, step, tagged):
    flow = f"{AB}_{side}"  # compiled flows are kept by (store, name, version)
    john_buys(webhooks, run_jobs)
    split_id = split_id_landing(flow, *johns_order(), side)
    switch_on(shop, ab_flow(flow, split_id))
    john_pays(webhooks, run_jobs)
    move_to(SAMPLE_TIME + 26 * HOUR, run_jobs)

    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == [subject]
    assert [m.step for m in messages(flow)] == [step]  # each side's mail counts under its ids
    assert ("saw_a" in tags()) is tagged
    assert ("branched", split_id, f"split: side {side + 1} of 2 (50%)") in timeline(
        shop.id, BUYER_EMAIL)
    [run] = runs(flow)
    assert run.status == "completed" and run.data["branches"][split_id] == side


def test_a_split_draws_by_the_run_always_the_same_and_in_its_proportions():
    def side(customer_id: int, subject_id: int) -> int:
        run = FlowRun(flow=AB, customer_id=customer_id, subject="order", subject_id=subject_id)
        return split_side(run, "ab", (30, 70))
    drawn = [side(customer, customer * 7) for customer in range(4000)]
    assert drawn == [side(customer, customer * 7) for customer in range(4000)]
    assert 1080 <= drawn.count(0) <= 1320  # 30 % of 4000, give or take a few points


@pytest.mark.parametrize("split, pointer, says", [
    ([{"percent": 50, "steps": [{"id": "a", "send": SEND}]},
      {"percent": 40, "steps": [{"id": "b", "send": SEND}]}], "/steps/0/split", "add up to 100"),
    ([{"percent": 100, "steps": [{"id": "a", "send": SEND}]}], "/steps/0/split", "too short"),
    ([{"percent": 50, "steps": [{"id": "a", "send": SEND}]},
      {"percent": 50, "steps": [{"id": "b", "if": {"var": "run.steps.a.opened"},
                                 "then": [{"id": "c", "send": SEND}]}]}],
     "/steps/0/split/1/steps/0/if", "not an email earlier on this path"),
    ([{"percent": 50, "steps": [{"id": "a", "send": SEND}]},
      {"percent": 50, "steps": [{"id": "a", "send": SEND}]}], "/steps/0/split/1/steps/0/id",
     "used twice"),
])
def test_a_bad_split_is_refused_naming_the_part(split, pointer, says):
    found = problems(built("bad", "order_placed", {"id": "ab", "split": split}))
    assert any(p == pointer and says in reason for p, reason in found), found


def test_an_email_before_the_split_may_be_read_on_every_side():
    document.check(built("fine", "order_placed", {"id": "first", "send": SEND}, {
        "id": "ab", "split": [
            {"percent": 50, "steps": [{"id": "a", "if": {"var": "run.steps.first.opened"},
                                       "then": [{"id": "t", "tag": {"add": "x"}}]}]},
            {"percent": 50, "steps": [{"id": "b", "send": SEND}]}]}))
