"""The condition language in Python: JsonLogic's own test cases, the checks that name a bad part
by JSON pointer, and rules written to hurt (SQL in names and values, deep or huge documents)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.audiences import conditions, sql
from app.audiences.catalogue import CUSTOMER, FLOW, VARIABLES
from app.audiences.conditions import ConditionError

OFFICIAL = Path(__file__).parent / "fixtures" / "jsonlogic" / "tests.json"
CASES = [case for case in json.loads(OFFICIAL.read_text()) if not isinstance(case, str)]


@pytest.mark.parametrize("rule, data, expected", CASES, ids=[json.dumps(c[0]) for c in CASES])
def test_jsonlogics_published_cases(rule, data, expected):
    assert conditions.apply(rule, data) == expected


def test_the_catalogue_and_the_sql_columns_name_the_same_customer_variables():
    assert set(sql.COLUMNS) == {name for name, v in VARIABLES.items() if v.scope == CUSTOMER}


def test_a_good_rule_comes_back_with_its_dates_in_the_canonical_form():
    rule = {"and": [{">=": [{"var": "customer.orders_count"}, 2]},
                    {">": [{"var": "customer.total_spent"}, 100]},
                    {"<": ["2026-01-01", {"var": "customer.last_order_at"}, "2026-02-01T10:00:00+02:00"]},
                    {"in": ["vip", {"var": "customer.tags"}]}]}
    checked = conditions.check(rule)
    assert checked["and"][2] == {"<": ["2026-01-01T00:00:00.000000Z", {"var": "customer.last_order_at"},
                                       "2026-02-01T08:00:00.000000Z"]}
    assert checked["and"][:2] == rule["and"][:2]


@pytest.mark.parametrize("rule, pointer, reason", [
    ({"and": [{">": [{"var": "customer.orders_count"}, 1]}, {">": [{"var": "customer.nope"}, 1]}]},
     "/and/1/>/0", "unknown variable"),
    ({">": [{"var": "customer.email"}, "a"]}, "/>", "compares numbers or dates"),
    ({"==": [{"var": "customer.orders_count"}, "2"]}, "/==/1", "expected a number"),
    ({"==": [{"var": "customer.orders_count"}, {"var": "customer.email"}]}, "/==", "cannot compare"),
    ({"==": [{"var": "customer.accepts_marketing"}, "yes"]}, "/==/1", "expected a boolean"),
    ({"<": [{"var": "customer.last_order_at"}, "last tuesday"]}, "/</1", "ISO 8601"),
    ({"map": [[1], {"var": ""}]}, "/map", "unsupported operator"),
    ({"and": [{"if": [True, True, False]}]}, "/and/0/if", "unsupported operator"),
    ({">": [{"+": [1, 2]}, 2]}, "/>/0/+", "unsupported operator"),
    ({">": [{"var": "customer.orders_count"}, 1, 5]}, "/>", "takes 2"),
    ({"<": [{"var": "customer.orders_count"}, None]}, "/<", "null"),
    ({"in": [1, {"var": "customer.tags"}]}, "/in/0", "expected a text"),
    ({"in": [{"var": "customer.country"}, ["US", 1]]}, "/in/1/1", "expected a text"),
    ({"==": [{"var": "customer.tags"}, "vip"]}, "/==", "lists are compared with in"),
    ({"var": ["customer.score", 5]}, "", "no default"),
    ({">": [{"var": "order.total"}, 10]}, "/>/0", "only known inside a flow"),
    ({"and": []}, "/and", "at least one"),
    (42, "", "expected an operation"),
    ({"a/b~": [1]}, "/a~1b~0", "unsupported operator"),
])
def test_a_bad_rule_is_refused_naming_the_part(rule, pointer, reason):
    with pytest.raises(ConditionError) as refused:
        conditions.check(rule)
    assert refused.value.pointer == pointer
    assert reason in refused.value.reason


def test_flows_may_read_their_order_and_checkout():
    rule = {"and": [{">": [{"var": "order.total"}, 50]}, {"var": "order.is_first"},
                    {"in": ["WELCOME10", {"var": "order.discount_codes"}]},
                    {"in": [93, {"var": "checkout.products"}]}]}
    checked = conditions.check(rule, FLOW)
    facts = {"order": {"total": 60.0, "is_first": True, "discount_codes": ["WELCOME10"]},
             "checkout": {"products": [93]}}
    assert conditions.evaluate(checked, facts)
    assert not conditions.evaluate(checked, facts | {"order": facts["order"] | {"total": 40.0}})


@pytest.mark.parametrize("rule, expected", [
    ({"<": [{"var": "customer.average_order_value"}, 50]}, False),
    ({">": [{"var": "customer.average_order_value"}, -1]}, False),
    ({"==": [{"var": "customer.average_order_value"}, 0]}, False),
    ({"!=": [{"var": "customer.average_order_value"}, 0]}, True),
    ({"==": [{"var": "customer.average_order_value"}, None]}, True),
    ({"in": ["x", {"var": "customer.email"}]}, False),
    ({"!": {"var": "customer.last_order_at"}}, True),
])
def test_a_missing_value_compares_false_except_with_null(rule, expected):
    facts = {"customer": {"average_order_value": None, "email": None, "last_order_at": None}}
    assert conditions.evaluate(conditions.check(rule), facts) is expected


@pytest.mark.parametrize("text", [
    '{"==": [{"var": "customer.email; DROP TABLE customers; --"}, "x"]}',
    '{"==": [{"var": "customer.email\\" OR 1=1 --"}, "x"]}',
    '{"var": "customers.id"}',
])
def test_sql_in_a_variable_name_is_an_unknown_variable(text):
    with pytest.raises(ConditionError, match="unknown variable"):
        conditions.parse(text)


@pytest.mark.parametrize("text, reason", [
    ("[" * 100_000 + "]" * 100_000, "characters"),
    ('{"!": ' * 3000 + "true" + "}" * 3000, "not JSON"),  # deeper than Python's parser goes
    ('{"!": ' * 40 + "true" + "}" * 40, "nested deeper"),
    (json.dumps({"or": [{"==": [{"var": "customer.score"}, n]} for n in range(400)]}), "at most 300 parts"),
    (json.dumps({"in": [{"var": "customer.country"}, ["US"] * 600]}), "at most 500 values"),
    (json.dumps({"==": [{"var": "customer.email"}, "x" * 600]}), "at most 500 characters"),
    (json.dumps({"==": [{"var": "customer.email"}, "a\x00b"]}), "no NUL"),
    ('{"==": [{"var": "customer.total_spent"}, NaN]}', "finite"),
    ('{"==": [{"var": "customer.total_spent"}, 1e300]}', "finite"),
    ("{not json", "not JSON"),
])
def test_a_huge_deep_or_strange_rule_is_refused_clearly(text, reason):
    with pytest.raises(ConditionError) as refused:
        conditions.parse(text)
    assert reason in str(refused.value)
