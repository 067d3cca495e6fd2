"""The Admin GraphQL API: a client per store and call (never a global session), which reads
Shopify's cost extension, waits briefly when throttled and otherwise hands the wait to its caller.

A job must not sleep long for one store's bucket to refill: it would hold a worker that other
stores' jobs are waiting for. So a wait longer than MAX_INLINE_WAIT raises `Throttled` with the
time Shopify's numbers advise, and the job re-queues itself for then.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import requests

from connectors.sync import TryLater

API_VERSION = "2026-07"
MAX_INLINE_WAIT = 2.0  # seconds a job may wait in place for the bucket to refill
TRANSIENT_ATTEMPTS = 3  # tries for a network error or a 5xx before giving up to the job's retry
BACKOFF = 0.5  # base of the jittered exponential wait between those tries
TIMEOUT = (5, 30)  # connect, read


class AdminError(RuntimeError):
    """Shopify answered with errors. The message is Shopify's, which names fields, not values."""


class UserErrors(AdminError):
    """Shopify refused a mutation's input (`userErrors`): about the record, not our access.
    `codes` are the errors' codes (e.g. TAKEN), where Shopify gave them."""

    def __init__(self, message: str, codes: tuple = ()) -> None:
        super().__init__(message)
        self.codes = codes


class Unauthorized(AdminError):
    """The access token was refused (expired, or the app was uninstalled)."""


class Unavailable(RuntimeError):
    """Shopify did not answer usably after every quick retry (network error, 5xx)."""


class Throttled(TryLater):
    """The store's request budget is spent; try again after `retry_after` seconds."""


class Endpoint:
    """Where Shopify lives, bound once per process (a loopback stub in tests)."""

    def __init__(self) -> None:
        self.base_url = "https://{shop}"
        self.api_version = API_VERSION

    def configure(self, base_url: str, api_version: str = API_VERSION) -> None:
        self.base_url, self.api_version = base_url.rstrip("/"), api_version

    def shop_url(self, shop: str) -> str:
        return self.base_url.replace("{shop}", shop)

    def graphql_url(self, shop: str) -> str:
        return f"{self.shop_url(shop)}/admin/api/{self.api_version}/graphql.json"


endpoint = Endpoint()


@dataclass
class ThrottleStatus:
    maximum: float
    available: float
    restore_rate: float


def throttle_status(body: dict) -> ThrottleStatus | None:
    """`extensions.cost.throttleStatus` of a response, when Shopify sent it."""
    status = ((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus")
    if not isinstance(status, dict):
        return None
    return ThrottleStatus(float(status["maximumAvailable"]), float(status["currentlyAvailable"]),
                          float(status["restoreRate"]))


def advised_wait(body: dict) -> float:
    """Seconds until the bucket holds what the throttled query asked for."""
    status = throttle_status(body)
    requested = ((body.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
    if status is None or not requested or status.restore_rate <= 0:
        return 1.0
    return max(0.1, (float(requested) - status.available) / status.restore_rate)


def _is_throttled(body: dict) -> bool:
    return any((error.get("extensions") or {}).get("code") == "THROTTLED"
               for error in body.get("errors") or [] if isinstance(error, dict))


@dataclass
class AdminClient:
    """GraphQL for one shop with one access token."""

    shop: str
    access_token: str
    http: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    last_throttle: ThrottleStatus | None = None

    def execute(self, query: str, variables: dict | None = None) -> dict:
        """Run one query or mutation and return its `data`."""
        waited = 0.0
        while True:
            body = self._post({"query": query, "variables": variables or {}})
            self.last_throttle = throttle_status(body) or self.last_throttle
            if not _is_throttled(body):
                break
            wait = advised_wait(body)
            if waited + wait > MAX_INLINE_WAIT:
                raise Throttled(wait)
            self.sleep(wait)
            waited += wait
        if body.get("errors"):
            raise AdminError("; ".join(str(e.get("message")) for e in body["errors"]))
        return body.get("data") or {}

    def pages(self, query: str, connection: str, variables: dict | None = None,
              after: str | None = None) -> Iterator[tuple[list[dict], str | None]]:
        """Each page of a connection as (nodes, cursor to resume after it)."""
        while True:
            data = self.execute(query, {**(variables or {}), "after": after})[connection]
            info = data["pageInfo"]
            after = info.get("endCursor")
            yield data["nodes"], after
            if not info.get("hasNextPage"):
                return

    def _post(self, payload: dict) -> dict:
        url = endpoint.graphql_url(self.shop)
        headers = {"X-Shopify-Access-Token": self.access_token}
        for attempt in range(TRANSIENT_ATTEMPTS):
            try:
                response = self.http.post(url, json=payload, headers=headers, timeout=TIMEOUT)
            except (requests.ConnectionError, requests.Timeout):
                response = None
            if response is not None:
                if response.status_code == 401:
                    raise Unauthorized("the access token was refused")
                if response.status_code == 429 and not _json(response):
                    raise Throttled(float(response.headers.get("Retry-After") or 1.0))
                if response.status_code < 500:
                    body = _json(response)
                    if body is None:
                        raise AdminError(f"HTTP {response.status_code} without a JSON body")
                    return body
            if attempt + 1 < TRANSIENT_ATTEMPTS:
                # Full jitter: many jobs failing together must not retry together.
                self.sleep(random.uniform(0, BACKOFF * 2 ** attempt))
        raise Unavailable("Shopify did not answer after retries")


def mutation_result(data: dict, name: str) -> dict:
    """A mutation's payload out of `execute`'s data; UserErrors when Shopify refused its input."""
    result = data[name]
    if result["userErrors"]:
        raise UserErrors("; ".join(e["message"] for e in result["userErrors"]),
                         tuple(e.get("code") for e in result["userErrors"]))
    return result


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
