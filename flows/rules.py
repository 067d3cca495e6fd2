"""Conditions and rules the prebuilt flows are written with. Each reads the database as it is
now (or, in a dry run, as it was at the context's horizon); a rule returns the reason to stop (a
short name for the timeline, never personal data)."""
from __future__ import annotations

import functools

from sqlalchemy import (ColumnElement, Label, Select, and_, bindparam, exists, func, inspect,
                        or_, select)
from sqlalchemy.orm import aliased

from app.core.db import execute_core
from app.ingest import consent, orders
from app.models import Checkout, CheckoutLine, Customer, FlowRun, Order, Product, ProductView
from flows.context import RunContext
from flows.steps import rungs


def customer_orders(ctx: RunContext):
    """Orders of this customer in this store, by customer row or by normalised email."""
    return select(Order.id).where(Order.store_id == ctx.store.id, _by_customer(ctx),
                                  ctx.by_horizon(Order.placed_at))


def _by_customer(ctx: RunContext) -> ColumnElement[bool]:
    customer = ctx.customer
    match = [Order.customer_id == customer.id]
    if customer.email:
        match.append(Order.email == customer.email)
    return or_(*match)


# --- exit rules ----------------------------------------------------------------------------

def ordered_since_trigger(ctx: RunContext) -> str | None:
    """An order placed since the trigger, or one that completed this very checkout (asked in
    one query: the send guard runs this before every flow email, and every step; read with the
    run's context where the engine loaded it with CONTEXT_READS)."""
    if ctx.horizon is None and ORDERED_SINCE_TRIGGER in ctx.also:
        return "ordered" if ctx.also[ORDERED_SINCE_TRIGGER] else None
    customer, run = ctx.customer, ctx.run
    checkout = ctx.subject if run.subject == "checkout" else None
    shape = "order" if run.subject == "order" else "checkout" if checkout is not None else ""
    query = _ordered_since(bool(customer.email), shape, ctx.horizon is not None)
    found = execute_core(ctx.session, query, {
        "store_id": ctx.store.id, "customer_id": customer.id, "email": customer.email,
        "triggered_at": run.triggered_at, "subject_id": run.subject_id,
        "token": checkout.token if checkout is not None else None, "horizon": ctx.horizon,
    }).first()
    return "ordered" if found else None


@functools.cache
def _ordered_since(by_email: bool, subject: str, by_horizon: bool) -> Select:
    """`ordered_since_trigger`'s query for one shape of run (`subject`: "order", "checkout" for
    a checkout still stored, or ""), built once: building it for every step and send cost more
    than running it."""
    mine = Order.customer_id == bindparam("customer_id")
    if by_email:
        mine = or_(mine, Order.email == bindparam("email"))
    since = and_(mine, Order.placed_at >= bindparam("triggered_at"))
    if subject == "order":
        since = and_(since, Order.id != bindparam("subject_id"))
    elif subject == "checkout":
        since = or_(since, Order.checkout_token == bindparam("token"))
    query = select(Order.id).where(Order.store_id == bindparam("store_id"), since)
    if by_horizon:
        query = query.where(Order.placed_at <= bindparam("horizon"))
    return query.limit(1)


ORDERED_SINCE_TRIGGER = "ordered_since_trigger"


def _ordered_since_in_context() -> Label:
    """`_ordered_since` as a column of the run's context read (flows.context), over its joined
    run, customer and checkout (the run's subject, else NULL): the same question, without a
    statement of its own. Its orders are its own, not the context's subject order."""
    order = aliased(Order)
    mine = or_(order.customer_id == FlowRun.customer_id, order.email == Customer.email)
    since = and_(mine, order.placed_at >= FlowRun.triggered_at,
                 or_(FlowRun.subject != "order", order.id != FlowRun.subject_id))
    return (exists().where(order.store_id == FlowRun.store_id,
                           or_(since, order.checkout_token == Checkout.token))
            .correlate_except(order).label(ORDERED_SINCE_TRIGGER))


# What the exit rules can have read with the run's context (flows.engine passes it to
# flows.context.load): one statement fewer for every step and flow email.
CONTEXT_READS = (_ordered_since_in_context(),)


def checkout_completed(ctx: RunContext) -> str | None:
    checkout = ctx.subject
    if checkout is None:
        return "checkout removed"
    return "checkout completed" if ctx.happened(checkout.completed_at) else None


def checkout_flow_took_over(ctx: RunContext) -> str | None:
    """A cart that reached checkout belongs to the abandoned-checkout flow."""
    cart = ctx.subject
    if cart is not None and cart.stage == "checkout":
        return "reached checkout"
    return None


def carted_or_ordered_since_trigger(ctx: RunContext) -> str | None:
    if ordered_since_trigger(ctx):
        return "ordered"
    carted = ctx.session.execute(select(Checkout.id).where(
        Checkout.store_id == ctx.store.id, Checkout.customer_id == ctx.customer.id,
        Checkout.source_updated_at >= ctx.run.triggered_at, ctx.by_horizon(Checkout.source_updated_at),
        exists().where(CheckoutLine.checkout_id == Checkout.id)).limit(1)).first()
    return "added to cart" if carted else None


def order_cancelled(ctx: RunContext) -> str | None:
    order = ctx.subject
    if order is None:
        return "order removed"
    return "order cancelled" if ctx.happened(order.cancelled_at) else None


# --- entry rules ---------------------------------------------------------------------------

def has_email(ctx: RunContext) -> str | None:
    return None if ctx.recipient else "no email address"


def has_lines(ctx: RunContext) -> str | None:
    checkout = ctx.subject
    if checkout is None:
        return "empty cart"
    if "lines" not in inspect(checkout).unloaded:  # read already: no query
        return None if checkout.lines else "empty cart"
    # Whether there is one, not the lines and their products as objects (which cost more than
    # the query, every checkout a delivery enrolls).
    found = execute_core(ctx.session, _A_LINE,
                         {"store_id": ctx.store.id, "checkout_id": checkout.id})
    return None if found.first() else "empty cart"


# Built once: every checkout a flow enrolls asks it.
_A_LINE = select(CheckoutLine.id).where(CheckoutLine.store_id == bindparam("store_id"),
                                        CheckoutLine.checkout_id == bindparam("checkout_id")
                                        ).limit(1)


def marketing_consent(ctx: RunContext) -> str | None:
    """The recipient agreed: a customer's consent counts only for mail to their own address."""
    agreed = (consent.own_address(ctx.customer, ctx.recipient)
              and consent.allows_marketing(ctx.customer))
    return None if agreed else "no marketing consent"


def not_in_checkout_flow(ctx: RunContext) -> str | None:
    """The cart flow yields to the checkout flow for the same customer."""
    busy = ctx.session.execute(select(FlowRun.id).where(
        FlowRun.store_id == ctx.store.id, FlowRun.customer_id == ctx.customer.id,
        FlowRun.flow == "abandoned_checkout", FlowRun.status == "active").limit(1)).first()
    return "in the abandoned-checkout flow" if busy else None


# --- conditions ----------------------------------------------------------------------------

def first_order(ctx: RunContext) -> bool:
    order = ctx.subject
    earlier = customer_orders(ctx).where(Order.placed_at < order.placed_at, Order.id != order.id)
    return ctx.session.execute(earlier.limit(1)).first() is None


def repeat_order(ctx: RunContext) -> bool:
    return not first_order(ctx)


def shipped(ctx: RunContext) -> bool:
    order = ctx.subject
    return order is not None and orders.shipped(ctx.session, order, by=ctx.horizon)


def not_shipped(ctx: RunContext) -> bool:
    return not shipped(ctx)


def delivered(ctx: RunContext) -> bool:
    order = ctx.subject
    return order is not None and ctx.happened(order.delivered_at)


def confirmed(ctx: RunContext) -> bool:
    """The subscriber confirmed (double opt-in), here or at the platform."""
    return consent.confirmed(ctx.customer)


def needs_confirmation(ctx: RunContext) -> bool:
    return ctx.settings["double_opt_in"] and not confirmed(ctx)


def setting_on(name: str):
    """A condition that holds while the merchant setting `name` is on."""
    def condition(ctx: RunContext) -> bool:
        return bool(ctx.settings[name])
    condition.__name__ = name
    condition.setting = name  # what a preview asks of the settings alone (app.web.ui.previews)
    return condition


def ladder_reaches(name: str, stage: int):
    """A condition that holds when the ladder setting `name` has a rung `stage` (0 is the
    first): a win-back of two lapses has no third email."""
    def condition(ctx: RunContext) -> bool:
        return len(rungs(ctx.settings[name])) > stage
    condition.__name__ = f"{name}_has_{stage + 1}"
    return condition


def score_at_least(name: str):
    """A condition that holds once the customer's score reaches the merchant setting `name`."""
    def condition(ctx: RunContext) -> bool:
        return (ctx.customer.score or 0) >= ctx.settings[name]
    condition.__name__ = f"score_at_least_{name}"
    return condition


def viewed_in_stock(ctx: RunContext) -> list[int]:
    """Platform ids of products the customer viewed since the trigger that are still in stock,
    most recent first."""
    rows = ctx.session.execute(
        select(ProductView.product_id, func.max(ProductView.viewed_at).label("last"))
        .join(Product, (Product.store_id == ProductView.store_id)
              & (Product.platform_id == ProductView.product_id))
        .where(ProductView.store_id == ctx.store.id, ProductView.customer_id == ctx.customer.id,
               ProductView.viewed_at >= ctx.run.triggered_at, Product.in_stock.is_(True))
        .group_by(ProductView.product_id).order_by(func.max(ProductView.viewed_at).desc()).limit(6)
    ).all()
    return [row.product_id for row in rows]


def nothing_in_stock(ctx: RunContext) -> str | None:
    return None if viewed_in_stock(ctx) else "viewed products out of stock"


def stage_is(stage: str):
    """An entry rule: the cart reached `stage` ("cart" or "checkout")."""
    def rule(ctx: RunContext) -> str | None:
        found = ctx.subject.stage if ctx.subject is not None else None
        return None if found == stage else f"not at {stage}"
    rule.__name__ = f"stage_is_{stage}"
    return rule


def subscribing(ctx: RunContext) -> str | None:
    """The welcome flow's entry: the customer has just subscribed (or is pending confirmation),
    and not by coming back on the preference page after leaving through our link."""
    if not consent.subscribing(ctx.customer):
        return "not a new subscriber"
    if consent.last_source(ctx.session, ctx.store.id, ctx.customer.id) == consent.PREFERENCE_PAGE:
        return "resubscribed on the preference page"
    return None


def subscribed(ctx: RunContext) -> bool:
    """Subscribed, and confirmed where the flow asks for double opt-in."""
    return consent.allows_marketing(ctx.customer) and not needs_confirmation(ctx)


# --- by name, as flow documents call them (docs/flow-format.md) -----------------------------

# Rules a document lists in "entry_rules" / "exit_rules": each gives the timeline its own reason.
RULES = {rule.__name__: rule for rule in (
    has_email, has_lines, marketing_consent, not_in_checkout_flow, subscribing, stage_is("cart"),
    stage_is("checkout"), ordered_since_trigger, checkout_completed, checkout_flow_took_over,
    carted_or_ordered_since_trigger, nothing_in_stock, order_cancelled,
)}
# Conditions a document names ({"rule": "shipped"}) where the condition language has no words
# for them yet: the order's shipping, a subscriber's confirmation, a first order.
CONDITIONS = {condition.__name__: condition for condition in (
    first_order, repeat_order, shipped, not_shipped, delivered, needs_confirmation, subscribed,
)}
# Conditions on a setting's value ({"rule": "score_at_least", "setting": "vip_score"}); a bare
# {"setting": "discount"} holds while that switch is on.
ON_SETTINGS = {"setting_on": setting_on, "score_at_least": score_at_least}


def named(condition: dict):
    """The condition a document names: {"rule": name}, {"setting": name}, {"rule": ...,
    "setting": ...} or {"rule": "ladder_reaches", "setting": ladder, "stage": n}."""
    rule = condition.get("rule", "setting_on")
    if rule == "ladder_reaches":
        return ladder_reaches(condition["setting"], condition["stage"])
    if rule in ON_SETTINGS:
        return ON_SETTINGS[rule](condition["setting"])
    return CONDITIONS[rule]
