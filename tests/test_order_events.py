"""Order events come from what changed in the stored order, never from the topic's name."""
from __future__ import annotations

from sqlalchemy import select

from app.core.db import db
from app.models import Order
from tests.helpers import published


def order(updated_at: str, **fields) -> dict:
    """The published order body (the same for every orders/* topic), as a later version."""
    payload = published("shopify/orders_updated.json")
    payload.update(financial_status="pending", cancelled_at=None, cancel_reason=None,
                   updated_at=updated_at)
    payload.update(fields)
    return payload


def order_events(emitted) -> list[str]:
    return [e.name for e in emitted if e.subject == "order"]


def stored() -> Order:
    with db.session() as session:
        return session.execute(select(Order)).scalar_one()


def test_the_published_sample_is_placed_and_cancelled_under_any_orders_topic(
        shop, webhooks, run_jobs, emitted):
    # The sample says voided and cancelled even under orders/paid: read the fields.
    webhooks.deliver("orders/paid", published("shopify/orders_paid.json"))
    run_jobs()

    assert order_events(emitted) == ["order_placed", "order_cancelled"]
    assert {e.subject_id for e in emitted if e.subject == "order"} == {stored().id}


def test_an_order_emits_each_transition_once(shop, webhooks, run_jobs, emitted):
    deliveries = [
        ("orders/create", order("2022-01-01T10:00:00Z"), ["order_placed"]),
        ("orders/updated", order("2022-01-01T11:00:00Z", financial_status="paid"), ["order_paid"]),
        ("orders/paid", order("2022-01-01T11:00:00Z", financial_status="paid"), []),  # repeat
        ("orders/updated", order("2022-01-01T12:00:00Z", financial_status="paid",
                                 note="leave at the door", total_price="410.00"), ["order_updated"]),
        ("orders/fulfilled", order("2022-01-02T09:00:00Z", financial_status="paid",
                                   fulfillment_status="fulfilled", total_price="410.00"),
         ["order_fulfilled"]),
        ("orders/updated", order("2022-01-01T11:30:00Z", financial_status="pending"), []),  # stale
        ("orders/cancelled", order("2022-01-03T09:00:00Z", financial_status="refunded",
                                   fulfillment_status="fulfilled", total_price="410.00",
                                   cancelled_at="2022-01-03T09:00:00Z"), ["order_cancelled"]),
    ]
    for topic, payload, expected in deliveries:
        emitted.clear()
        webhooks.deliver(topic, payload)
        run_jobs()
        assert order_events(emitted) == expected, (topic, payload["updated_at"])

    final = stored()
    assert final.fulfilled_at.isoformat() == "2022-01-02T09:00:00+00:00"
    assert final.financial_status == "refunded"


def test_one_coalesced_delivery_can_mean_several_events(shop, webhooks, run_jobs, emitted):
    webhooks.deliver("orders/create", order("2022-01-01T10:00:00Z"))
    run_jobs()
    emitted.clear()

    webhooks.deliver("orders/updated", order("2022-01-04T10:00:00Z", financial_status="paid",
                                             fulfillment_status="fulfilled"))
    run_jobs()

    assert order_events(emitted) == ["order_paid", "order_fulfilled"]
