"""Abandoned checkout: the shopper gave their email at checkout and left without buying."""
from app.core import events
from flows.rules import (checkout_completed, has_email, has_lines, marketing_consent,
                         ordered_since_trigger, setting_on, stage_is)
from flows.steps import CHECKOUT, MARKETING, Discount, EventTrigger, Flow, If, Send, Wait

FLOW = Flow(
    name="abandoned_checkout",
    title="Abandoned checkout",
    description="Reminds shoppers who reached checkout but did not buy: after "
                "{email_1_delay_hours:hours}, {email_2_delay_hours:hours} and "
                "{email_3_delay_hours:hours}, the last with a discount code when one is on.",
    trigger=EventTrigger((events.CHECKOUT_UPDATED,)),
    consent=MARKETING,
    priority=CHECKOUT,
    entry=(has_email, has_lines, stage_is("checkout"), marketing_consent),
    exit=(ordered_since_trigger, checkout_completed),
    activity=(events.CHECKOUT_UPDATED,),
    reentry_days="reentry_days",
    stale_after_hours="stale_after_hours",
    drop_after_hours="drop_after_hours",
    settings={
        "email_1_delay_hours": 1, "email_2_delay_hours": 24, "email_3_delay_hours": 72,
        "discount": True, "discount_percent": 10, "discount_valid_days": 7,
        "reentry_days": 7, "stale_after_hours": 168, "drop_after_hours": 48,
    },
    steps=(
        Wait(hours="email_1_delay_hours"),
        Send("email_1"),
        Wait(hours="email_2_delay_hours"),
        Send("email_2"),
        Wait(hours="email_3_delay_hours"),
        If(setting_on("discount"), Discount(percent="discount_percent", valid_days="discount_valid_days")),
        Send("email_3"),
    ),
)
