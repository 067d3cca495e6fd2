"""Order updates (transactional): a note when an order has not shipped after a day, the
shipping notice with its tracking link, and the delivery notice."""
from app.core import events
from flows.rules import delivered, not_shipped, order_cancelled, setting_on, shipped
from flows.steps import TRANSACTIONAL, EventTrigger, Flow, If, Send, WaitUntil

FLOW = Flow(
    name="order_updates",
    title="Order updates",
    description="Tells buyers where their order is: a note if it has not shipped after "
                "{status_note_hours:hours}, the shipping notice with tracking, and delivery. An "
                "order confirmation only if you switch it on: your store platform sends one.",
    trigger=EventTrigger((events.ORDER_PLACED,)),
    consent=TRANSACTIONAL,
    priority=0,
    exit=(order_cancelled,),
    stale_after_hours="stale_after_hours",
    settings={"send_confirmation": False, "status_note_hours": 24, "give_up_days": 30,
              "stale_after_hours": 72},
    steps=(
        If(setting_on("send_confirmation"), Send("confirmation")),
        WaitUntil(shipped, hours="status_note_hours"),
        If(not_shipped, Send("status_note")),
        WaitUntil(shipped, days="give_up_days", on_timeout="exit"),
        Send("shipped"),
        WaitUntil(delivered, days="give_up_days", on_timeout="exit"),
        Send("delivered"),
    ),
)
