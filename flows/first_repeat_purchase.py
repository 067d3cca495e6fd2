"""First vs repeat purchase: a first order earns a code for the second; later ones a tag, and
points that make a customer a VIP."""
from dataclasses import replace

from app.core import events
from flows.rules import first_order, has_email, ordered_since_trigger, repeat_order, score_at_least
from flows.steps import (MARKETING, PROMOTIONAL, Discount, EventTrigger, Flow, If, Score, Send,
                         Tag, Wait)

SECOND_ORDER_OFFER = If(first_order,
                        Wait(days="offer_delay_days"),
                        Discount(percent="discount_percent", valid_days="discount_valid_days"),
                        Send("second_order_offer"))

FLOW = Flow(
    name="first_repeat_purchase",
    title="First and repeat purchase",
    description="{offer_delay_days:days} after someone's first order, a code for their second; "
                "customers who order again are tagged loyal, and VIP once their repeat orders add "
                "up to {vip_score} points.",
    trigger=EventTrigger((events.ORDER_PLACED,)),
    consent=MARKETING,
    priority=PROMOTIONAL,
    entry=(has_email,),
    exit=(ordered_since_trigger,),
    stale_after_hours="stale_after_hours",
    drop_after_hours="drop_after_hours",
    settings={"offer_delay_days": 3, "discount_percent": 15, "discount_valid_days": 30,
              "repeat_order_points": 10, "vip_score": 30,
              "stale_after_hours": 72, "drop_after_hours": 72},
    steps=(
        SECOND_ORDER_OFFER,
        If(repeat_order, Tag("loyal"), Score(points="repeat_order_points")),
        If(score_at_least("vip_score"), Tag("vip")),
    ),
    version=2,
)

# Runs started before points existed finish on the steps they started with.
VERSION_1 = replace(FLOW, version=1, steps=(SECOND_ORDER_OFFER, If(repeat_order, Tag("loyal"))))
