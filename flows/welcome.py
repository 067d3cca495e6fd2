"""Welcome with double opt-in: a new subscriber confirms their address, then is welcomed."""
from app.core import events
from flows.rules import has_email, needs_confirmation, setting_on, subscribed, subscribing
from flows.steps import LIFECYCLE, MARKETING, Discount, EventTrigger, Flow, If, Send, WaitUntil

FLOW = Flow(
    name="welcome",
    title="Welcome",
    description="A new subscriber gets a confirmation email (reminded after "
                "{reminder_1_days:days} and {reminder_2_days:days} if unconfirmed); once confirmed, "
                "a welcome with an optional discount.",
    trigger=EventTrigger((events.CONSENT_CHANGED,)),
    consent=MARKETING,
    priority=LIFECYCLE,
    entry=(has_email, subscribing),
    drop_after_hours="drop_after_hours",
    settings={"double_opt_in": True, "reminder_1_days": 2, "reminder_2_days": 7,
              "give_up_days": 14, "discount": False, "discount_percent": 10,
              "discount_valid_days": 14, "drop_after_hours": 48},
    steps=(
        If(needs_confirmation, Send("confirm", marketing=False)),
        WaitUntil(subscribed, days="reminder_1_days"),
        # Only a flow that asked for a confirmation reminds of it (double opt-in may be off).
        If(needs_confirmation, Send("confirm_reminder_1", marketing=False)),
        WaitUntil(subscribed, days="reminder_2_days"),
        If(needs_confirmation, Send("confirm_reminder_2", marketing=False)),
        WaitUntil(subscribed, days="give_up_days", on_timeout="exit"),
        If(setting_on("discount"),
           Discount(percent="discount_percent", valid_days="discount_valid_days")),
        Send("welcome"),
    ),
)
