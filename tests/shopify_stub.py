"""A stub of Shopify on loopback: the OAuth token endpoint and the Admin GraphQL API, answering
with the responses Shopify publishes (fixtures/shopify/admin_api, see SOURCES.md).

The connector reaches it through SHOPIFY_API_BASE_URL (`http://127.0.0.1:PORT/{shop}`), exactly
as it reaches https://{shop} in production.
"""
from __future__ import annotations

import copy
import json
import secrets
import threading
from collections import defaultdict

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from connectors.shopify import oauth, session_token
from tests.helpers import FIXTURES

ADMIN_API = FIXTURES / "shopify" / "admin_api"
RESOURCES = {"customers": "customers.json", "products": "products.json",
             "orders": "orders.json", "abandonedCheckouts": "abandoned_checkouts.json"}


def fixture(name: str) -> dict:
    return json.loads((ADMIN_API / name).read_text())


def access_denied(field: str, scope: str) -> dict:
    """The published ACCESS_DENIED answer, for the mutation and scope at hand."""
    text = (ADMIN_API / "access_denied.json").read_text()
    return json.loads(text.replace("discountCodeBasicCreate", field)
                      .replace("write_discounts", scope))


class ShopifyStub:
    """Shopify for the shops a test names. Every knob is a plain attribute a test can set."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self.codes: dict[str, str] = {}  # authorization code -> shop
        self.tokens: dict[str, str] = {}  # access token -> shop
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> shop
        self.throttle: dict[str, int] = defaultdict(int)  # shop -> THROTTLED answers to give
        self.failures: dict[str, int] = defaultdict(int)  # shop -> 503s to give
        self.subscriptions: dict[str, list[dict]] = defaultdict(list)
        self.discounts: dict[str, list[dict]] = defaultdict(list)
        self.consent_updates: dict[str, list[dict]] = defaultdict(list)
        # shop -> userErrors to answer consent updates with (input refused, e.g. no email)
        self.consent_user_errors: dict[str, list[dict]] = defaultdict(list)
        # shop -> customer gid -> userErrors to refuse that customer's discount codes with
        self.discount_user_errors: dict[str, dict[str, list[dict]]] = defaultdict(dict)
        self.tags_added: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        self.tags_removed: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        # shop -> scopes its token lacks: a mutation needing one is answered ACCESS_DENIED
        self.missing_scopes: dict[str, set[str]] = defaultdict(set)
        self.pages: dict[str, dict[str, list[dict]]] = defaultdict(dict)  # shop -> resource -> nodes
        self.calls: list[tuple[str, str]] = []  # (shop, operation)
        self.app = self._build()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{shop}}"

    def start(self) -> "ShopifyStub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    # --- what a test arranges ---------------------------------------------------------

    def issue_code(self, shop: str) -> str:
        code = secrets.token_hex(8)
        self.codes[code] = shop
        return code

    def issue_token(self, shop: str) -> str:
        token = f"shpat_{secrets.token_hex(16)}"
        self.tokens[token] = shop
        return token

    def nodes(self, shop: str, connection: str) -> list[dict]:
        """The nodes a resource query returns for `shop` (the published sample by default)."""
        if connection not in self.pages[shop]:
            self.pages[shop][connection] = fixture(RESOURCES[connection])["data"][connection]["nodes"]
        return self.pages[shop][connection]

    # --- Shopify's side ---------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("shopify-stub")

        @app.post("/<shop>/admin/oauth/access_token")
        def access_token(shop):
            form = request.form
            if (form.get("client_id"), form.get("client_secret")) != (self.api_key, self.api_secret):
                return jsonify(error="invalid_client"), 401
            if form.get("grant_type") == oauth.TOKEN_EXCHANGE:
                # Shopify checks the session token it issued; 400 when it is not valid.
                try:
                    if session_token.verify(form.get("subject_token", ""), self.api_key,
                                            self.api_secret) != shop:
                        return jsonify(error="invalid_subject_token"), 400
                except session_token.InvalidSessionToken:
                    return jsonify(error="invalid_subject_token"), 400
            elif form.get("grant_type") == "refresh_token":
                if self.refresh_tokens.pop(form.get("refresh_token"), None) != shop:
                    return jsonify(error="invalid_grant"), 400
            elif self.codes.pop(form.get("code"), None) != shop:
                return jsonify(error="invalid_request"), 400
            body = fixture("oauth_access_token_expiring.json")
            body["access_token"] = self.issue_token(shop)
            body["refresh_token"] = f"shprt_{secrets.token_hex(16)}"
            self.refresh_tokens[body["refresh_token"]] = shop
            body["scope"] = request.form.get("scope") or "read_customers,write_customers,read_orders,read_checkouts,read_products,read_fulfillments,write_discounts"
            return jsonify(body)

        @app.post("/<shop>/admin/api/<version>/graphql.json")
        def graphql(shop, version):
            if self.tokens.get(request.headers.get("X-Shopify-Access-Token", "")) != shop:
                return jsonify(fixture("invalid_access_token.json")), 401
            if self.failures[shop] > 0:
                self.failures[shop] -= 1
                return "Service Unavailable", 503
            if self.throttle[shop] > 0:
                self.throttle[shop] -= 1
                self.calls.append((shop, "throttled"))
                return jsonify(fixture("graphql_throttled.json"))
            payload = request.get_json()
            return jsonify(self._answer(shop, payload["query"], payload.get("variables") or {}))

        return app

    def _answer(self, shop: str, query: str, variables: dict) -> dict:
        if "webhookSubscriptionCreate" in query:
            self.calls.append((shop, "webhookSubscriptionCreate"))
            body = fixture("webhook_subscription_create.json")
            node = body["data"]["webhookSubscriptionCreate"]["webhookSubscription"]
            node.update(id=f"gid://shopify/WebhookSubscription/{len(self.subscriptions[shop]) + 1}",
                        topic=variables["topic"], uri=variables["webhookSubscription"]["uri"])
            self.subscriptions[shop].append(dict(node))
            return body
        if "webhookSubscriptions(" in query:
            self.calls.append((shop, "webhookSubscriptions"))
            return {"data": {"webhookSubscriptions": {
                "nodes": copy.deepcopy(self.subscriptions[shop]),
                "pageInfo": {"hasNextPage": False, "endCursor": None}}}}
        if "discountCodeBasicCreate" in query:
            self.calls.append((shop, "discountCodeBasicCreate"))
            if "write_discounts" in self.missing_scopes[shop]:
                return fixture("access_denied.json")
            code = variables["basicCodeDiscount"]["code"]
            buyers = variables["basicCodeDiscount"]["context"].get("customers", {}).get("add", [])
            refusal = next((self.discount_user_errors[shop][gid] for gid in buyers
                            if gid in self.discount_user_errors[shop]), None)
            if refusal:
                return {"data": {"discountCodeBasicCreate": {"codeDiscountNode": None,
                                                             "userErrors": refusal}}}
            if any(made["code"] == code for made in self.discounts[shop]):
                return {"data": {"discountCodeBasicCreate": {
                    "codeDiscountNode": None,
                    "userErrors": [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN",
                                    "message": "Code must be unique. Please try a different code."}]}}}
            self.discounts[shop].append(variables["basicCodeDiscount"])
            return fixture("discount_code_basic_create.json")
        if "customerEmailMarketingConsentUpdate" in query:
            self.calls.append((shop, "customerEmailMarketingConsentUpdate"))
            if "write_customers" in self.missing_scopes[shop]:
                return access_denied("customerEmailMarketingConsentUpdate", "write_customers")
            if self.consent_user_errors[shop]:
                return {"data": {"customerEmailMarketingConsentUpdate": {
                    "customer": None, "userErrors": self.consent_user_errors[shop]}}}
            self.consent_updates[shop].append(variables["input"])
            body = fixture("customer_email_marketing_consent_update.json")
            body["data"]["customerEmailMarketingConsentUpdate"]["customer"]["id"] = \
                variables["input"]["customerId"]
            return body
        for mutation, changed, name in (("tagsAdd", self.tags_added, "tags_add.json"),
                                        ("tagsRemove", self.tags_removed, "tags_remove.json")):
            if mutation in query:
                self.calls.append((shop, mutation))
                if "write_customers" in self.missing_scopes[shop]:
                    return access_denied(mutation, "write_customers")
                changed[shop].append((variables["id"], variables["tags"]))
                body = fixture(name)
                body["data"][mutation]["node"]["id"] = variables["id"]
                return body
        for connection, name in RESOURCES.items():
            if f" {connection}(" in query:
                self.calls.append((shop, connection))
                body = fixture(name)
                body["data"][connection]["nodes"] = copy.deepcopy(self.nodes(shop, connection))
                return body
        raise AssertionError(f"the stub does not answer this query: {query[:80]}")
