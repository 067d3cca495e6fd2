"""Browse abandonment: a known shopper looked at products and neither carted nor bought."""
from app.core import events
from flows.rules import (carted_or_ordered_since_trigger, has_email, marketing_consent,
                         nothing_in_stock)
from flows.steps import BROWSE, MARKETING, EventTrigger, Flow, Send, Wait

FLOW = Flow(
    name="browse_abandonment",
    title="Browse abandonment",
    description="{delay_hours:hours} after a known shopper viewed products without carting or "
                "buying, one email with what they looked at (in stock only). At most once every "
                "{reentry_days:days}.",
    trigger=EventTrigger((events.PRODUCT_VIEWED,)),
    consent=MARKETING,
    priority=BROWSE,
    entry=(has_email, marketing_consent),
    exit=(carted_or_ordered_since_trigger, nothing_in_stock),
    activity=(events.PRODUCT_VIEWED,),
    activity_by_customer=True,
    reentry_days="reentry_days",
    stale_after_hours="stale_after_hours",
    drop_after_hours="drop_after_hours",
    settings={"delay_hours": 2, "reentry_days": 7, "stale_after_hours": 24,
              "drop_after_hours": 24},
    steps=(Wait(hours="delay_hours"), Send("email_1")),
)
