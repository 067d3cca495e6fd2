"""Birthday: a greeting, with an optional code, on the customer's birthday in their time zone."""
from flows.audiences import birthdays_today
from flows.rules import has_email, marketing_consent, setting_on
from flows.steps import MARKETING, PROMOTIONAL, AudienceTrigger, Discount, Flow, If, Send

FLOW = Flow(
    name="birthday",
    title="Birthday",
    description="On a customer's birthday (where we know it), a greeting with an optional code.",
    trigger=AudienceTrigger(birthdays_today),
    consent=MARKETING,
    priority=PROMOTIONAL,
    entry=(has_email, marketing_consent),
    drop_after_hours="drop_after_hours",
    settings={"discount": True, "discount_percent": 15, "discount_valid_days": 14,
              "drop_after_hours": 20},
    steps=(
        If(setting_on("discount"),
           Discount(percent="discount_percent", valid_days="discount_valid_days")),
        Send("greeting"),
    ),
)
