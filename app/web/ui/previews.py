"""Previews and test sends of a flow's emails: the step's template rendered for a real customer
of the store (their latest cart, order or viewed products) or, where they have none, samples."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.mail import compose, merchant_text, samples
from app.mail.design import store as designs
from app.mail.render import Rendered, render
from app.models import Checkout, Customer, Message, Order, ProductView, Store
from flows import choices, library
from flows.catalog import FLOWS
from flows.steps import Discount, Flow, Send

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
        return self.step.drawn_from

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


def for_store(session: Session, store_id: int) -> list[PreviewStep]:
    """Every email step of the store's flows: the prebuilt ones', then its built flows'."""
    return [PreviewStep(flow, step) for flow, step in library.sends(session, store_id)]


def find_email(emails: list[PreviewStep], flow: str, step: str) -> PreviewStep | None:
    """The email of this flow and send step among `emails`."""
    return next((e for e in emails if (e.flow.name, e.step.template) == (flow, step)), None)


def keys(emails: list[PreviewStep]) -> list[tuple[str, str]]:
    """(flow, step) of each email, as its design is kept."""
    return [(email.flow.name, email.step.template) for email in emails]


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


def discount_percent(step: PreviewStep, settings: dict) -> float | None:
    """The percent off of the code this email carries under these settings; None if it carries
    none. A run's code comes from a Discount step before the email and goes with every later
    email; an `If` on a setting gives one only while the setting is on (an `If` on the customer,
    such as a first order, holds for the email it comes with)."""
    percent = None
    for planned in step.flow.planned:
        if planned.step is step.step:
            return percent
        setting = getattr(planned.condition, "setting", None)
        if isinstance(planned.step, Discount) and (setting is None or settings[setting]):
            percent = settings[planned.step.percent]
    return percent


@dataclass(frozen=True)
class Preview:
    rendered: Rendered
    context: dict  # the Message context a test send of this preview carries
    sampled: str | None  # what had to be made up for a real customer ("cart", "order"...)
    placeholders: tuple[str, ...]  # what the merchant's texts may use in this email


def message_context(session: Session, store_id: int, step: PreviewStep,
                    customer: Customer | None, settings: dict) -> tuple[dict, str | None]:
    """References to the customer's own rows, `sample` where there are none (or no customer),
    and the merchant's texts for the step."""
    percent = discount_percent(step, settings)
    context: dict = {} if percent is None else {"discount_code": samples.discount_code(percent),
                                                "discount_percent": percent}
    context.update(choices.merchant_texts(settings, step.step))
    if step.step.content is not None:  # a built flow's step: its words
        context.update(step.step.content.message_context())
    context[designs.DESIGN_OF] = [step.flow.name, step.step.template]
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
          settings: dict, design: dict | None = None) -> Preview:
    """Render `step` as `customer` (None: the sample customer) would receive it today, or drawn
    from `design` (a checked one, such as the designer's unsaved work) instead."""
    context, sampled = message_context(session, store.id, step, customer, settings)
    # Never added to the session: a preview writes nothing.
    message = Message(store_id=store.id, email=customer.email if customer else "ana@example.com",
                      customer_id=customer.id if customer else None, template=step.template,
                      context=context, marketing=step.marketing, flow=step.flow.name)
    render_context = compose.context_for(session, store, message)
    design = design or designs.current(session, store.id, step.flow.name, step.step.template,
                                       step.template)
    return Preview(render(step.template, render_context, design), context, sampled,
                   tuple(merchant_text.values(render_context)))
