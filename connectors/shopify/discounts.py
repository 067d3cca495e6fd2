"""Discount codes through discountCodeBasicCreate: one code, one use, one customer, an end."""
from __future__ import annotations

from datetime import datetime

from connectors.shopify.admin import AdminClient, mutation_result

# The access scope discountCodeBasicCreate needs.
SCOPE = "write_discounts"
CREATE = """mutation discountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id } userErrors { field code message } } }"""


def discount_input(code: str, percent: float, customer_platform_id: int | None,
                   starts_at: datetime, ends_at: datetime) -> dict:
    """The DiscountCodeBasicInput for a single-use percentage code."""
    buyers = ({"customers": {"add": [f"gid://shopify/Customer/{customer_platform_id}"]}}
              if customer_platform_id else {"all": "ALL"})
    return {
        "title": f"Storeflow {code}", "code": code,
        "startsAt": starts_at.isoformat(), "endsAt": ends_at.isoformat(),
        "context": buyers,
        "customerGets": {"value": {"percentage": round(percent / 100, 4)}, "items": {"all": True}},
        "appliesOncePerCustomer": True, "usageLimit": 1,
    }


def create(client: AdminClient, code: str, percent: float, customer_platform_id: int | None,
           starts_at: datetime, ends_at: datetime) -> str:
    """Create the code; returns the discount's GraphQL id."""
    variables = {"basicCodeDiscount": discount_input(
        code, percent, customer_platform_id, starts_at, ends_at)}
    result = mutation_result(client.execute(CREATE, variables), "discountCodeBasicCreate")
    return result["codeDiscountNode"]["id"]
