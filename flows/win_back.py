"""Win-back: customers who have not ordered for a while hear from the brand at each lapse of a
ladder (3, 6 and 12 months unless the merchant changes it), then a reminder and a last notice
after the last lapse, then stop receiving marketing mail until they buy or opt in again
(flows.sunset lifts it)."""
from flows.audiences import lapsed_customers
from flows.rules import has_email, ladder_reaches, marketing_consent, ordered_since_trigger
from flows.steps import MARKETING, PROMOTIONAL, AudienceTrigger, Flow, If, Send, Sunset, Wait

LADDER = "lapse_days"

COMMON = dict(
    name="win_back",
    title="Win-back",
    trigger=AudienceTrigger(lapsed_customers),
    consent=MARKETING,
    priority=PROMOTIONAL,
    entry=(has_email, marketing_consent),
    exit=(ordered_since_trigger,),
    drop_after_hours="drop_after_hours",
)

FLOW = Flow(
    **COMMON,
    description="When a customer has not ordered for {lapse_days:days}: an email at each of "
                "these lapses, another {second_reminder_days:days} later, a last notice "
                "{last_notice_days:days} after that, then no more marketing until they buy or "
                "opt in again.",
    version=2,
    settings={LADDER: [90, 180, 365], "second_reminder_days": 15, "last_notice_days": 30,
              "sunset_days": 45, "entry_window_days": 7, "drop_after_hours": 72},
    steps=(
        Send("reminder"),
        Wait(ladder=LADDER, stage=1),
        If(ladder_reaches(LADDER, 1), Send("second_lapse")),
        Wait(ladder=LADDER, stage=2),
        If(ladder_reaches(LADDER, 2), Send("third_lapse")),
        # From here on the waits count from the last lapse of the ladder.
        Wait(days="second_reminder_days", ladder=LADDER),
        Send("second_reminder"),
        Wait(days="last_notice_days", ladder=LADDER),
        Send("last_notice"),
        Wait(days="sunset_days", ladder=LADDER),
        Sunset(),
    ),
)

# Before the ladder: one lapse. Runs started on it finish on its steps.
VERSION_1 = Flow(
    **COMMON,
    description="When a customer has not ordered for {lapse_days:days}: a reminder, another "
                "{second_reminder_days:days} later, a last notice {last_notice_days:days} after "
                "that, then no more marketing until they buy or opt in again.",
    settings={LADDER: 90, "second_reminder_days": 15, "last_notice_days": 30,
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
