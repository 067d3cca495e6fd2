"""Abandoned cart: a known shopper put items in their cart and never reached checkout."""
from app.core import events
from flows.rules import (checkout_flow_took_over, has_email, has_lines, marketing_consent,
                         not_in_checkout_flow, ordered_since_trigger, stage_is)
from flows.steps import CART, MARKETING, EventTrigger, Flow, Send, Wait

FLOW = Flow(
    name="abandoned_cart",
    title="Abandoned cart",
    description="One reminder {delay_hours:hours} after a known shopper left items in their "
                "cart without starting checkout. Gives way to the checkout flow.",
    trigger=EventTrigger((events.CHECKOUT_UPDATED,)),
    consent=MARKETING,
    priority=CART,
    entry=(has_email, has_lines, stage_is("cart"), not_in_checkout_flow, marketing_consent),
    exit=(ordered_since_trigger, checkout_flow_took_over, not_in_checkout_flow),
    activity=(events.CHECKOUT_UPDATED,),
    reentry_days="reentry_days",
    stale_after_hours="stale_after_hours",
    drop_after_hours="drop_after_hours",
    settings={"delay_hours": 2, "reentry_days": 7, "stale_after_hours": 72,
              "drop_after_hours": 24},
    steps=(Wait(hours="delay_hours"), Send("email_1")),
)
