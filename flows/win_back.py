"""Win-back: customers who have not ordered for a while hear from the brand three times, then
stop receiving marketing mail until they buy or opt in again."""
from flows.audiences import lapsed_customers
from flows.rules import has_email, marketing_consent, ordered_since_trigger
from flows.steps import MARKETING, PROMOTIONAL, AudienceTrigger, Flow, Send, Sunset, Wait

FLOW = Flow(
    name="win_back",
    title="Win-back",
    description="When a customer has not ordered for {lapse_days:days}: a reminder, another "
                "{second_reminder_days:days} later, a last notice {last_notice_days:days} after "
                "that, then no more marketing until they buy or opt in again.",
    trigger=AudienceTrigger(lapsed_customers),
    consent=MARKETING,
    priority=PROMOTIONAL,
    entry=(has_email, marketing_consent),
    exit=(ordered_since_trigger,),
    drop_after_hours="drop_after_hours",
    settings={"lapse_days": 90, "second_reminder_days": 15, "last_notice_days": 30,
              "sunset_days": 45, "entry_window_days": 7, "drop_after_hours": 72},
    steps=(
        Send("reminder"),
        Wait(days="second_reminder_days"),
        Send("second_reminder"),
        Wait(days="last_notice_days"),
        Send("last_notice"),
        Wait(days="sunset_days"),
        Sunset(),
    ),
)
