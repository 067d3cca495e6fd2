"""A storefront record -> the local model: the visitor, who they are, their view or cart."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core import clock, events
from app.ingest import consent, identity, upsert
from app.models import Checkout, CheckoutLine, Product, ProductView, Store
from connectors.base import CheckoutRecord, LineRecord
from connectors.storefront import StorefrontRecord


def _customer_id(session: Session, store_id: int, record: StorefrontRecord) -> int | None:
    """Identify the visitor from what this event carries; else whoever it was already."""
    visitor = identity.seen(session, store_id, record.visitor_id, record.occurred_at)
    token_customer = (identity.verify_customer_token(record.customer_token, store_id)
                      if record.customer_token else None)
    customer_id = identity.resolve(session, store_id, email=record.email,
                                   platform_id=record.customer_platform_id,
                                   token_customer_id=token_customer)
    if customer_id is None:
        return visitor.customer_id
    identity.link(session, visitor, customer_id)
    return customer_id


def _total(lines: tuple[LineRecord, ...]) -> Decimal:
    return sum((line.price * line.quantity for line in lines), Decimal(0))


def _catalogued(session: Session, store_id: int, cart: CheckoutRecord) -> CheckoutRecord:
    """A page's cart in the words and prices of the store's catalogue, which our emails show:
    a page can send any title or price. Lines of products the catalogue does not know (or
    cannot price) are left out; the page's quantities stay."""
    ids = {line.product_id for line in cart.lines if line.product_id is not None}
    products = {product.platform_id: product for product in session.execute(select(Product).where(
        Product.store_id == store_id, Product.platform_id.in_(ids),
        Product.price.is_not(None))).scalars()}
    lines = tuple(
        LineRecord(title=product.title, quantity=line.quantity, price=product.price,
                   product_id=line.product_id, variant_id=line.variant_id)
        for line in cart.lines if (product := products.get(line.product_id)) is not None)
    currency = session.execute(select(Store.currency).where(Store.id == store_id)).scalar_one()
    return replace(cart, lines=lines, currency=currency, total_price=_total(lines))


def _merged(session: Session, store_id: int, cart: CheckoutRecord) -> CheckoutRecord:
    """An added line joins the lines already in the cart (replacing the same variant's)."""
    stored = session.execute(
        select(CheckoutLine).join(Checkout).where(
            Checkout.store_id == store_id, Checkout.token == cart.token)
        .order_by(CheckoutLine.id)
    ).scalars().all()
    added = {(line.product_id, line.variant_id) for line in cart.lines}
    kept = tuple(
        LineRecord(title=l.title, quantity=l.quantity, price=l.price, product_id=l.product_id,
                   variant_id=l.variant_id, sku=l.sku, variant_title=l.variant_title)
        for l in stored if (l.product_id, l.variant_id) not in added
    )
    lines = kept + cart.lines
    return replace(cart, lines=lines, total_price=_total(lines))


def _cart(session: Session, store_id: int, record: StorefrontRecord,
          customer_id: int | None) -> upsert.Upserted:
    stored = session.execute(select(Checkout.email, Checkout.customer_id).where(
        Checkout.store_id == store_id, Checkout.token == record.cart.token)).first()
    cart = record.cart if record.signed else _catalogued(session, store_id, record.cart)
    cart = _merged(session, store_id, cart) if record.merge_lines else cart
    # A shop-front event that carries no email or customer keeps the ones already known.
    cart = replace(cart, email=record.email or (stored.email if stored else None))
    result = upsert.checkout(session, store_id, cart)
    if result.changed:
        session.execute(update(Checkout).where(
            Checkout.store_id == store_id, Checkout.id == result.id,
        ).values(visitor_id=record.visitor_id,
                 customer_id=customer_id or (stored.customer_id if stored else None)))
    return result


def store(session: Session, store_id: int, record: StorefrontRecord) -> list[events.DomainEvent]:
    """Upsert one storefront record and name what happened, as webhooks do."""
    customer_id = _customer_id(session, store_id, record)
    now = clock.now()
    emitted = []
    if record.product is not None:
        view = ProductView(store_id=store_id, visitor_id=record.visitor_id,
                           customer_id=customer_id, product_id=record.product.product_id,
                           variant_id=record.product.variant_id, title=record.product.title,
                           url=record.product.url, viewed_at=record.occurred_at)
        session.add(view)
        session.flush()
        emitted.append(events.DomainEvent(events.PRODUCT_VIEWED, store_id, "product_view",
                                          view.id, now))
    if record.marketing_opt_in and customer_id is not None:
        # Like a platform's checkout box: a tick subscribes, but never undoes an unsubscribe.
        emitted += consent.record(session, store_id, customer_id, consent.SUBSCRIBED,
                                  source="storefront:checkout", occurred_at=record.occurred_at,
                                  undoes_withdrawal=False)
    if record.cart is not None:
        result = _cart(session, store_id, record, customer_id)
        if result.changed:
            emitted.append(events.DomainEvent(events.CHECKOUT_UPDATED, store_id, "checkout",
                                              result.id, now))
    return emitted
