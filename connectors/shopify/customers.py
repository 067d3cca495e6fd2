"""Writes to a customer record (both need the `write_customers` scope): email-marketing consent
through customerEmailMarketingConsentUpdate, so Shopify and the merchant's other tools see an
unsubscribe or a confirmed opt-in that reached us; and tags through tagsAdd, which adds to the
customer's tags and never replaces them."""
from __future__ import annotations

from datetime import datetime

from connectors.shopify.admin import AdminClient, mutation_result

UPDATE = """mutation customerEmailMarketingConsentUpdate(
    $input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id } userErrors { field code message } } }"""

# The only states the mutation accepts; Shopify sets the others itself.
WRITABLE_STATES = frozenset({"subscribed", "unsubscribed", "pending"})


def consent_input(customer_platform_id: int, state: str, opt_in_level: str | None,
                  updated_at: datetime) -> dict:
    """The CustomerEmailMarketingConsentUpdateInput for one customer."""
    if state not in WRITABLE_STATES:
        raise ValueError(f"Shopify does not take the consent state {state!r} as input")
    consent = {"marketingState": state.upper(), "consentUpdatedAt": updated_at.isoformat()}
    if opt_in_level:
        consent["marketingOptInLevel"] = opt_in_level.upper()
    return {"customerId": f"gid://shopify/Customer/{customer_platform_id}",
            "emailMarketingConsent": consent}


def update_consent(client: AdminClient, customer_platform_id: int, state: str,
                   opt_in_level: str | None, updated_at: datetime) -> None:
    """Write the customer's consent; AdminError when Shopify refuses it."""
    variables = {"input": consent_input(customer_platform_id, state, opt_in_level, updated_at)}
    mutation_result(client.execute(UPDATE, variables), "customerEmailMarketingConsentUpdate")


# tagsAdd and tagsRemove take and answer the same fields.
TAGS = """mutation {name}($id: ID!, $tags: [String!]!) {{
  {name}(id: $id, tags: $tags) {{ node {{ id }} userErrors {{ field message }} }} }}"""


def change_tags(client: AdminClient, customer_platform_id: int, tags: list[str],
                remove: bool = False) -> None:
    """Add tags to the customer, or remove them (leaving every other tag); AdminError when
    Shopify refuses."""
    name = "tagsRemove" if remove else "tagsAdd"
    variables = {"id": f"gid://shopify/Customer/{customer_platform_id}", "tags": tags}
    mutation_result(client.execute(TAGS.format(name=name), variables), name)
