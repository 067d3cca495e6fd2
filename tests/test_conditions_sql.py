"""One rule, two evaluators: conditions compiled to SQL give, for every customer of a store, the
answer the Python evaluator gives, on real PostgreSQL. Hypothesis draws the customers (with
orders, lines and mail) and the rules from the catalogue."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, select

from app.audiences import conditions, metrics, sql
from app.audiences.catalogue import BOOLEAN, DATETIME, ELEMENT, NUMBER, TEXT, VARIABLES, facts, iso
from app.core import clock, stores
from app.core.db import db
from app.models import Customer, Message, MessageEvent, Order, OrderLine, Product, Store

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
EMAILS = ["ann@example.com", "bob@example.com", "cy@shop.test", None]
NAMES = ["Ann", "Bob", "", None]
COUNTRIES = ["US", "CA", "DE", None]
REGIONS = ["CA", "NY", "ON", None]  # CA: California, and a country code too
TAGS = ["vip", "wholesale", "newsletter"]
PRODUCTS = {1: "Blue mug", 2: "Red mug", 3: "Teapot"}
# The store's catalogue filing of them: (product type, vendor); product 3 has no vendor.
FILED = {1: ("Mugs", "Fernhill"), 2: ("Mugs", "Oak & Ash"), 3: ("Teapots", None)}
TOTALS = [Decimal("0.10"), Decimal("10.00"), Decimal("50.00"), Decimal("100.00"), Decimal("404.95")]
DAYS = [0, 1, 7, 30, 31, 90, 365]
NUMBERS = [0, 1, 2, 3, 0.1, 10, 50, 60.05, 100, 110.1, 404.95, 31, 90, -1]
INSTANTS = [NOW - timedelta(days=d) for d in DAYS] + [NOW + timedelta(days=20), NOW]

orders = st.lists(st.fixed_dictionaries({
    "days_ago": st.sampled_from(DAYS), "total": st.sampled_from(TOTALS),
    "status": st.sampled_from(["paid", "pending", "refunded", "voided", None]),
    "cancelled": st.booleans(), "products": st.lists(st.sampled_from(list(PRODUCTS)), max_size=2),
}), max_size=4)
mail = st.lists(st.fixed_dictionaries({
    "days_ago": st.sampled_from([0, 1, 29, 31]), "opened": st.booleans(), "clicked": st.booleans(),
}), max_size=2)
customers = st.lists(st.fixed_dictionaries({
    "email": st.sampled_from(EMAILS), "first_name": st.sampled_from(NAMES),
    "country": st.sampled_from(COUNTRIES), "region": st.sampled_from(REGIONS), "tags": st.lists(st.sampled_from(TAGS), unique=True),
    "score": st.integers(0, 3), "consent": st.sampled_from(["subscribed", "unsubscribed", None]),
    "orders": orders, "mail": mail,
}), min_size=1, max_size=5)


def literal(kind: str):
    if kind == NUMBER:
        return st.sampled_from(NUMBERS)
    if kind == DATETIME:
        return st.sampled_from(INSTANTS).map(lambda at: at.isoformat())
    if kind == BOOLEAN:
        return st.booleans()
    return st.sampled_from([e for e in EMAILS if e] + NAMES[:2] + COUNTRIES[:3] + REGIONS[1:3]
                           + ["example", "@"])


def leaf(name: str):
    var, kind = {"var": name}, VARIABLES[name].type
    if kind in ELEMENT:
        pool = list(PRODUCTS) + [9] if ELEMENT[kind] == NUMBER else (
            TAGS + list(PRODUCTS.values()) + ["Mugs", "Teapots", "Fernhill", "Oak & Ash"])
        return st.sampled_from(pool).map(lambda value: {"in": [value, var]})
    options = [st.just(var), st.just({"==": [var, None]}), st.just({"!=": [var, None]}),
               st.tuples(st.sampled_from(["==", "!=", "===", "!=="]), literal(kind))
               .map(lambda pair: {pair[0]: [var, pair[1]]})]
    if kind in (NUMBER, DATETIME):
        options.append(st.tuples(st.sampled_from(["<", "<=", ">", ">="]), literal(kind), st.booleans())
                       .map(lambda t: {t[0]: [var, t[1]] if t[2] else [t[1], var]}))
        options.append(st.tuples(st.sampled_from(["<", "<="]), literal(kind), literal(kind))
                       .map(lambda t: {t[0]: [t[1], var, t[2]]}))
    if kind == TEXT:
        options.append(literal(TEXT).map(lambda value: {"in": [var, [value, "US"]]}))
        options.append(st.sampled_from(["example", "@", "A", ""]).map(lambda s: {"in": [s, var]}))
    return st.one_of(options)


CUSTOMER_VARIABLES = sorted(sql.COLUMNS)
rules = st.recursive(
    st.sampled_from(CUSTOMER_VARIABLES).flatmap(leaf),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"and": rs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"or": rs}),
        inner.map(lambda r: {"!": [r]}), inner.map(lambda r: {"!!": [r]})),
    max_leaves=6)


def store_them(store_id: int, drawn: list[dict]) -> None:
    with db.session() as session, clock.frozen_at(NOW):
        session.execute(delete(Customer).where(Customer.store_id == store_id))
        session.execute(delete(Order).where(Order.store_id == store_id))
        session.execute(delete(Message).where(Message.store_id == store_id))
        session.execute(delete(Product).where(Product.store_id == store_id))
        session.add_all(Product(store_id=store_id, platform_id=pid, title=PRODUCTS[pid],
                                product_type=kind, vendor=vendor)
                        for pid, (kind, vendor) in FILED.items())
        for n, person in enumerate(drawn):
            customer = Customer(store_id=store_id, platform_id=n + 1, email=person["email"],
                                first_name=person["first_name"], country_code=person["country"],
                                province_code=person.get("region"),
                                tags=person["tags"], score=person["score"],
                                email_consent=person["consent"])
            session.add(customer)
            session.flush()
            for k, order in enumerate(person["orders"]):
                placed = NOW - timedelta(days=order["days_ago"], hours=7 * k)  # across half days
                session.add(Order(
                    store_id=store_id, platform_id=n * 100 + k, customer_id=customer.id,
                    email=person["email"], currency="USD", total_price=order["total"],
                    financial_status=order["status"], placed_at=placed, source_updated_at=placed,
                    cancelled_at=placed if order["cancelled"] else None,
                    lines=[OrderLine(store_id=store_id, product_id=p, title=PRODUCTS[p], quantity=1,
                                     price=order["total"]) for p in order["products"]]))
            for k, sent in enumerate(person["mail"]):
                at = NOW - timedelta(days=sent["days_ago"], minutes=k)
                message = Message(store_id=store_id, customer_id=customer.id,
                                  email=person["email"] or "x@example.com", template="t",
                                  marketing=True, status="sent", sent_at=at,
                                  message_id=f"<{store_id}-{n}-{k}@test>")
                session.add(message)
                session.flush()
                for kind, drawn_key in (("open", "opened"), ("click", "clicked")):
                    if sent[drawn_key]:
                        session.add(MessageEvent(store_id=store_id, message_id=message.id,
                                                 kind=kind, occurred_at=at + timedelta(hours=1)))
        session.flush()
        metrics.recompute_store(session, store_id)


def answers(store_id: int, rule) -> tuple[set[int], set[int]]:
    """(ids the SQL finds, ids the Python evaluator finds) for one store."""
    with db.session() as session:
        found = set(session.execute(sql.matching(store_id, rule, NOW)).scalars())
        every = session.execute(select(Customer).where(Customer.store_id == store_id)).scalars()
        held = {c.id for c in every if conditions.evaluate(rule, facts(session, c, NOW))}
    return found, held


def a_store(domain: str) -> int:
    with db.session() as session:
        return stores.connect(session, "shopify", domain, access_token="t", webhook_secret="s")[0].id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=customers, rule_sets=st.lists(rules, min_size=1, max_size=8))
def test_python_and_sql_agree_for_drawn_customers_and_rules(app, drawn, rule_sets):
    store_id = a_store("agree.myshopify.com")
    store_them(store_id, drawn)
    for rule in rule_sets:
        checked = conditions.check(rule)
        found, held = answers(store_id, checked)
        assert found == held, (rule, drawn)
        with db.session() as session:  # the count (over the metrics alone where it can be)
            assert sql.count(session, store_id, checked, NOW) == len(held), (rule, drawn)


def test_bought_twice_and_spent_over_100(app):
    store_id = a_store("vip.myshopify.com")
    paid = {"status": "paid", "cancelled": False, "products": [1]}
    store_them(store_id, [
        {"email": "ann@example.com", "first_name": "Ann", "country": "US", "tags": [], "score": 0,
         "consent": "subscribed", "mail": [], "orders": [
             paid | {"days_ago": 1, "total": Decimal("60")}, paid | {"days_ago": 30, "total": Decimal("50")}]},
        {"email": "bob@example.com", "first_name": "Bob", "country": "US", "tags": [], "score": 0,
         "consent": None, "mail": [], "orders": [
             paid | {"days_ago": 1, "total": Decimal("60")},
             paid | {"days_ago": 2, "total": Decimal("50"), "status": "refunded"}]},
    ])
    rule = conditions.parse('{"and": [{">=": [{"var": "customer.orders_count"}, 2]},'
                            ' {">": [{"var": "customer.total_spent"}, 100]}]}')
    found, held = answers(store_id, rule)
    with db.session() as session:
        emails = set(session.execute(select(Customer.email).where(Customer.id.in_(found))).scalars())
    assert found == held and emails == {"ann@example.com"}


def test_a_rule_for_one_store_never_counts_anothers_customers(app):
    person = {"email": "ann@example.com", "first_name": "Ann", "country": "US", "tags": ["vip"],
              "score": 1, "consent": "subscribed", "mail": [], "orders": []}
    mine, theirs = a_store("mine.myshopify.com"), a_store("theirs.myshopify.com")
    store_them(mine, [person])
    store_them(theirs, [person, person | {"email": "bob@example.com"}])
    rule = conditions.check({"in": ["vip", {"var": "customer.tags"}]})

    with db.session() as session:
        assert sql.count(session, mine, rule, NOW) == 1
        assert sql.count(session, theirs, rule, NOW) == 2
        ids = set(session.execute(sql.matching(mine, rule, NOW)).scalars())
        owners = set(session.execute(select(Customer.store_id).where(Customer.id.in_(ids))).scalars())
    assert owners == {mine}


def test_sql_looking_values_are_only_ever_values(app):
    store_id = a_store("values.myshopify.com")
    store_them(store_id, [{"email": "ann@example.com", "first_name": "x' OR '1'='1", "country": "US",
                           "tags": ["'; DROP TABLE customers; --"], "score": 0, "consent": None,
                           "mail": [], "orders": []}])
    for rule in ({"==": [{"var": "customer.first_name"}, "x' OR '1'='1"]},
                 {"in": ["'; DROP TABLE customers; --", {"var": "customer.tags"}]},
                 {"in": ["' OR 1=1 --", {"var": "customer.email"}]},
                 {"in": [{"var": "customer.country"}, ["US') OR ('1'='1"]]}):
        found, held = answers(store_id, conditions.check(rule))
        assert found == held
    with db.session() as session:
        assert session.execute(select(Store.id).where(Store.id == store_id)).scalar() == store_id
        assert sql.count(session, store_id, conditions.check(True), NOW) == 1


def test_canonical_dates_order_as_instants():
    early, late = datetime(2026, 1, 1, 23, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert iso(early) < iso(late) and iso(late) == "2026-01-02T00:00:00.000000Z"
