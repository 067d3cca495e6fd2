"""Post-purchase: thanks with cross-sells, tips once it arrives, then a review request."""
from app.core import events
from flows.rules import delivered, has_email, order_cancelled, setting_on
from flows.steps import (LIFECYCLE, MARKETING, Discount, EventTrigger, Flow, If, Send, Wait,
                         WaitUntil)

FLOW = Flow(
    name="post_purchase",
    title="Post-purchase",
    description="{thank_you_delay_hours:hours} after an order, thanks with products often "
                "bought together with theirs; tips once it is delivered; {review_delay_days:days} "
                "later a review request with more picks, and a coupon when one is on.",
    trigger=EventTrigger((events.ORDER_PLACED,)),
    consent=MARKETING,
    priority=LIFECYCLE,
    # Consent is checked at each send, not at entry: a buyer's consent often arrives in its own
    # webhook just after the order's.
    entry=(has_email,),
    exit=(order_cancelled,),
    stale_after_hours="stale_after_hours",
    drop_after_hours="drop_after_hours",
    settings={"thank_you_delay_hours": 1, "delivery_wait_days": 14, "review_delay_days": 30,
              "review_discount": True, "discount_percent": 10, "discount_valid_days": 30,
              "stale_after_hours": 72, "drop_after_hours": 72},
    steps=(
        Wait(hours="thank_you_delay_hours"),
        Send("thank_you"),
        WaitUntil(delivered, days="delivery_wait_days"),
        Send("delivery_tips"),
        Wait(days="review_delay_days"),
        If(setting_on("review_discount"),
           Discount(percent="discount_percent", valid_days="discount_valid_days")),
        Send("review_request"),
    ),
)
