"""A local stand-in for a WooCommerce store's REST API (wc/v3), on loopback, answering with
the responses WooCommerce publishes (tests/fixtures/woocommerce, see SOURCES.md)."""
from __future__ import annotations

import base64
import copy
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from woocommerce.oauth import OAuth

from tests.helpers import published

PREFIX = "/wp-json/wc/v3/"


def order(order_id: int, modified: str = "2017-03-22T19:28:08", **changes) -> dict:
    """The published order (#727) as another order, last modified at `modified` (GMT)."""
    item = copy.deepcopy(published("woocommerce/order.json"))
    item.update(id=order_id, number=str(order_id), date_modified_gmt=modified, **changes)
    return item


def customer(customer_id: int, email: str, created: str = "2017-03-21T19:09:28") -> dict:
    item = copy.deepcopy(published("woocommerce/customer.json"))
    item.update(id=customer_id, email=email, date_created_gmt=created)
    item["billing"]["email"] = email
    return item


def product(product_id: int, **changes) -> dict:
    item = copy.deepcopy(published("woocommerce/product.json"))
    item.update(id=product_id, **changes)
    return item


@dataclass
class Call:
    method: str
    path: str
    query: dict
    headers: dict
    body: object


@dataclass
class WooStub:
    collections: dict = field(default_factory=lambda: {"orders": [], "customers": [],
                                                       "products": [], "webhooks": [],
                                                       "coupons": []})
    calls: list = field(default_factory=list)
    # Status codes to answer the next requests with, before answering normally.
    faults: list = field(default_factory=list)
    # The consumer keys this store issued; any other is refused as WooCommerce does (401).
    keys: set = field(default_factory=lambda: {"ck_test"})
    # The secret of each key, where a test cares: a request signed with another is refused (401).
    secrets: dict = field(default_factory=lambda: {"ck_test": "cs_test"})
    # Where to redirect every request to instead, as a hijacked or misconfigured store might.
    redirect_to: str | None = None
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "WooStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub.handle(self, "GET")

            def do_POST(self):
                stub.handle(self, "POST")

            def do_PUT(self):
                stub.handle(self, "PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests(self, method: str, endpoint: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == endpoint]

    # --- the API -----------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        call = Call(method, parts.path.removeprefix(PREFIX),
                    {k: v[-1] for k, v in parse_qs(parts.query).items()},
                    dict(request.headers), json.loads(raw) if raw else None)
        self.calls.append(call)
        if not parts.path.startswith(PREFIX):
            return self._send(request, 404, {"code": "rest_no_route"})
        # Basic auth over https, OAuth 1.0a in the query string over http (WC_REST_Authentication).
        if "Authorization" not in request.headers and "oauth_signature" not in call.query:
            return self._send(request, 401, {"code": "woocommerce_rest_cannot_view"})
        if self._consumer_key(request, call) not in self.keys or not self._signed(request, call):
            return self._send(request, 401, {"code": "woocommerce_rest_authentication_error"})
        if self.redirect_to:
            return self._send(request, 302, {}, {"Location": self.redirect_to})
        if self.faults:
            return self._send(request, self.faults.pop(0), {"code": "internal_server_error"},
                              {"Retry-After": "0"})
        resource, _, item_id = call.path.partition("/")
        if resource not in self.collections:
            return self._send(request, 404, {"code": "rest_no_route"})
        if method == "GET":
            items = self.collections[resource]
            if "modified_after" in call.query:
                items = [i for i in items if i["date_modified_gmt"] > call.query["modified_after"]]
            return self._page(request, items, call.query)
        if method == "POST" and item_id == "batch":
            return self._batch(request, resource, call.body)
        if method == "POST" and not item_id:
            return self._send(request, 201, self._create(resource, call.body))
        if method == "PUT" and item_id.isdigit():
            for item in self.collections[resource]:
                if item["id"] == int(item_id):
                    item.update(call.body)
                    return self._send(request, 200, item)
        return self._send(request, 404, {"code": "woocommerce_rest_invalid_id"})

    @staticmethod
    def _consumer_key(request, call: Call) -> str | None:
        """The key a request authenticates with: Basic auth's user, or OAuth's consumer key."""
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            return base64.b64decode(authorization[6:]).decode().partition(":")[0]
        return call.query.get("oauth_consumer_key")

    def _signed(self, request, call: Call) -> bool:
        """Whether the request proves the key's secret, where the test named one: Basic auth's
        password, or the OAuth 1.0a signature WooCommerce recomputes over plain http."""
        key = self._consumer_key(request, call)
        if key not in self.secrets:
            return True
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            return base64.b64decode(authorization[6:]).decode().partition(":")[2] == self.secrets[key]
        params = {k: v for k, v in call.query.items() if k != "oauth_signature"}
        url = f"http://{request.headers['Host']}{PREFIX}{call.path}"  # as the client named us
        expected = OAuth(url, key, self.secrets[key], method=call.method).generate_oauth_signature(
            params, url)
        return hmac.compare_digest(expected, call.query.get("oauth_signature", ""))

    def _create(self, resource: str, body: dict) -> dict:
        template = {"webhooks": "woocommerce/webhook_create_response.json",
                    "coupons": "woocommerce/coupon.json"}[resource]
        item = copy.deepcopy(published(template))
        item.update(body, id=1000 + len(self.collections[resource]))
        if resource == "webhooks":
            item.pop("secret", None)  # WooCommerce never shows it back
            item["resource"], _, item["event"] = body["topic"].partition(".")
        self.collections[resource].append(item)
        return item

    def _batch(self, request, resource: str, body: dict) -> None:
        """POST <resource>/batch, creates only, as WC_REST_Controller::batch_items answers:
        at most 100 items, each created or `{"id": 0, "error": ...}` in the order asked (a code
        the store already has is refused as WC_REST_Coupons_Controller refuses it)."""
        creates = body.get("create") or []
        if len(creates) > 100:
            return self._send(request, 413, {"code": "woocommerce_rest_request_entity_too_large"})
        answer = {key: [] for key in published("woocommerce/coupons_batch.json")}
        for item in creates:
            if any(made["code"] == item["code"] for made in self.collections[resource]):
                answer["create"].append({"id": 0, "error": {
                    "code": "woocommerce_rest_coupon_code_already_exists",
                    "message": "The coupon code already exists", "data": {"status": 400}}})
            else:
                answer["create"].append(self._create(resource, item))
        return self._send(request, 200, answer)

    def _page(self, request, items: list, query: dict) -> None:
        per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        total_pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        self._send(request, 200, chunk, {"X-WP-Total": str(len(items)),
                                         "X-WP-TotalPages": str(total_pages)})

    @staticmethod
    def _send(request, status: int, body, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=UTF-8")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)
