"""The WooCommerce REST API (wc/v3): Basic auth over HTTPS, OAuth 1.0a (signed by the
`woocommerce` package) over plain HTTP, which only a development store on loopback uses; bounded
timeouts, retries with backoff on 429 and 5xx, and pagination by X-WP-TotalPages.

Requests go through `connectors.netguard.public_session`, not the package's own `requests.request`
call: every connection is to a checked public address and no redirect is followed, since the
store URL is typed by whoever installed it (see netguard for why)."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import requests
from woocommerce.oauth import OAuth

from connectors.netguard import AddressRefused, public_session

log = logging.getLogger(__name__)

# (connect, read) seconds: a slow WordPress should delay a job, never hang it.
TIMEOUT = (5, 30)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PER_PAGE = 100
API_PATH = "/wp-json/wc/v3/"
HEADERS = {"User-Agent": "Storeflow", "Accept": "application/json"}
# Seconds before the first retry; doubled for each one after.
BACKOFF = 1.0


class WooError(RuntimeError):
    """The store answered with an error, or not at all after every retry. Never holds a body."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WooClient:
    """One store's REST API. Per call, never shared across stores."""

    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *, retries: int = 4,
                 backoff: float | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/")
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.session = public_session()
        self.retries = retries
        self.backoff = BACKOFF if backoff is None else backoff
        self.sleep = sleep

    @classmethod
    def for_store(cls, store: Any, **options) -> "WooClient":
        """A client with a connected store's URL and (decrypted) consumer key and secret."""
        if not store.api_key or not store.access_token:
            raise WooError("the store has no REST API keys")
        return cls(store.domain, store.api_key, store.access_token, **options)

    def request(self, method: str, endpoint: str, data: Any = None,
                params: dict | None = None) -> requests.Response:
        """One call, retried on 429/5xx and network errors with exponential backoff."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._send(method, endpoint, data, dict(params or {}))
            except AddressRefused as error:  # no retry: the address will not become public
                raise WooError(f"{method} {endpoint}: refused, {error}") from None
            except requests.RequestException as error:
                if last:
                    raise WooError(f"{method} {endpoint}: {type(error).__name__}") from None
                self._wait(attempt, None)
                continue
            if response.is_redirect:
                raise WooError(f"{method} {endpoint}: the store redirected (HTTP "
                               f"{response.status_code}); check its URL", response.status_code)
            if response.status_code < 400:
                return response
            if response.status_code not in RETRY_STATUSES or last:
                raise WooError(f"{method} {endpoint}: HTTP {response.status_code}",
                               response.status_code)
            self._wait(attempt, response.headers.get("Retry-After"))
        raise AssertionError("unreachable")

    def _send(self, method: str, endpoint: str, data: Any, params: dict) -> requests.Response:
        if method not in ("GET", "POST", "PUT"):
            raise ValueError(f"unsupported method {method}")
        url, auth = f"{self.url}{API_PATH}{endpoint}", None
        if url.startswith("https://"):
            auth = (self.consumer_key, self.consumer_secret)
        else:  # WooCommerce takes keys over plain HTTP only OAuth-signed, parameters included
            url = OAuth(url=f"{url}?{urlencode(params)}", consumer_key=self.consumer_key,
                        consumer_secret=self.consumer_secret, method=method).get_oauth_url()
            params = {}
        return self.session.request(method, url, params=params, json=data, auth=auth,
                                    headers=HEADERS, timeout=TIMEOUT, allow_redirects=False)

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * 2 ** attempt
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(int(retry_after), 60))
        log.info("woocommerce call retried in %.1fs", delay)
        self.sleep(delay)

    def get(self, endpoint: str, params: dict | None = None) -> Any:
        return self.request("GET", endpoint, params=params).json()

    def post(self, endpoint: str, data: dict) -> Any:
        return self.request("POST", endpoint, data).json()

    def put(self, endpoint: str, data: dict) -> Any:
        return self.request("PUT", endpoint, data).json()

    def pages(self, endpoint: str, params: dict | None = None) -> Iterator[list]:
        """Every page of a collection, one list at a time, until X-WP-TotalPages."""
        return (items for items, _ in self.numbered_pages(endpoint, params))

    def numbered_pages(self, endpoint: str, params: dict | None = None,
                       start: int = 1) -> Iterator[tuple[list, int | None]]:
        """Each page from page `start` on, as (items, number of the next page or None)."""
        page = start
        while True:
            response = self.request("GET", endpoint,
                                    params={"per_page": PER_PAGE, **(params or {}), "page": page})
            items = response.json()
            if not isinstance(items, list):
                raise WooError(f"GET {endpoint}: not a list")
            total = response.headers.get("X-WP-TotalPages", "1")
            last = not items or not total.isdigit() or page >= int(total)
            yield items, None if last else page + 1
            if last:
                return
            page += 1
