"""Previews and test sends of a flow's emails: the step's template rendered for a real customer
of the store (their latest cart, order or viewed products) or, where they have none, samples."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.mail import compose, samples
from app.mail.render import Rendered, render
from app.models import Checkout, Customer, Message, Order, ProductView, Store
from flows import config
from flows.catalog import FLOWS
from flows.steps import Flow, Send

# What each flow's emails are about; the others only need the customer.
SUBJECTS = {"abandoned_checkout": "checkout", "abandoned_cart": "checkout",
            "browse_abandonment": "products", "order_updates": "order",
            "post_purchase": "order", "first_repeat_purchase": "order"}
SUBJECT_WORDS = {"checkout": "cart", "order": "order", "products": "viewed products"}


@dataclass(frozen=True)
class PreviewStep:
    flow: Flow
    step: Send

    @property
    def template(self) -> str:
        return f"{self.flow.name}/{self.step.template}"

    @property
    def label(self) -> str:
        return self.step.template.replace("_", " ").capitalize()

    @property
    def marketing(self) -> bool:
        return self.flow.marketing if self.step.marketing is None else self.step.marketing


def steps() -> list[PreviewStep]:
    """Every email step of every prebuilt flow, in flow order."""
    return [PreviewStep(flow, planned.step) for flow in FLOWS.values()
            for planned in flow.planned if isinstance(planned.step, Send)]


def find(template: str) -> PreviewStep | None:
    """The step whose template is `<flow>/<step>`."""
    return next((step for step in steps() if step.template == template), None)


def _references(session: Session, store_id: int, customer: Customer, subject: str) -> dict:
    if subject == "checkout":
        found = session.execute(select(Checkout.id).where(
            Checkout.store_id == store_id, Checkout.customer_id == customer.id,
        ).order_by(Checkout.source_updated_at.desc()).limit(1)).scalar()
        return {"checkout_id": found} if found else {}
    if subject == "order":
        found = session.execute(select(Order.id).where(
            Order.store_id == store_id, Order.customer_id == customer.id,
        ).order_by(Order.placed_at.desc()).limit(1)).scalar()
        return {"order_id": found} if found else {}
    viewed = session.execute(
        select(ProductView.product_id).where(ProductView.store_id == store_id,
                                             ProductView.customer_id == customer.id)
        .group_by(ProductView.product_id).order_by(func.max(ProductView.viewed_at).desc())
        .limit(6)).scalars().all()
    return {"product_ids": list(viewed)} if viewed else {}


def _discount_on(settings: dict) -> bool:
    return bool(settings.get("discount", settings.get("review_discount",
                                                      "discount_percent" in settings)))


@dataclass(frozen=True)
class Preview:
    rendered: Rendered
    context: dict  # the Message context a test send of this preview carries
    sampled: str | None  # what had to be made up for a real customer ("cart", "order"...)


def message_context(session: Session, store_id: int, step: PreviewStep,
                    customer: Customer | None, settings: dict) -> tuple[dict, str | None]:
    """References to the customer's own rows, `sample` where there are none (or no customer),
    and the merchant's texts for the step."""
    context: dict = {"discount_code": samples.DISCOUNT_CODE} if _discount_on(settings) else {}
    context.update(config.merchant_texts(settings, step.step))
    subject = SUBJECTS.get(step.flow.name)
    if customer is None:
        return {**context, "sample": True}, None
    if subject is None:
        return context, None
    found = _references(session, store_id, customer, subject)
    if found:
        return {**context, **found}, None
    return {**context, "sample": True}, SUBJECT_WORDS[subject]


def build(session: Session, store: Store, step: PreviewStep, customer: Customer | None,
          settings: dict) -> Preview:
    """Render `step` as `customer` (None: the sample customer) would receive it today."""
    context, sampled = message_context(session, store.id, step, customer, settings)
    # Never added to the session: a preview writes nothing.
    message = Message(store_id=store.id, email=customer.email if customer else "ana@example.com",
                      customer_id=customer.id if customer else None, template=step.template,
                      context=context, marketing=step.marketing, flow=step.flow.name)
    rendered = render(step.template, compose.context_for(session, store, message))
    return Preview(rendered, context, sampled)
