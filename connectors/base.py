"""The Connector interface and the platform-neutral records every connector returns.

A connector turns one platform's deliveries into these records; `app.ingest.pipeline` stores
them. Nothing here knows about flows, and nothing in flows knows which platform a record came
from. Reading single values out of payloads: connectors.values.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator, Mapping, Union

from connectors.sync import Change, Grant, Page, StoreAccess, TryLater


class PayloadError(ValueError):
    """A delivery's body is not what the platform documents. Says which field, never its value."""


class DeliveryError(ValueError):
    """A delivery's headers are missing or malformed (answered 400)."""


class Refused(RuntimeError):
    """The platform will not do this: asking again will not help. `permission` says it was for
    want of a scope or a valid token (the merchant can grant those) rather than something about
    the record. Transient trouble (throttling, an outage) raises other errors, to be retried."""

    def __init__(self, message: str, *, permission: bool = True) -> None:
        super().__init__(message)
        self.permission = permission


class CodeTaken(Refused):
    """The store already has a discount code of this name."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permission=False)


class CodeRefused(str):
    """Why the platform will not make one code, for something about that code's record (an
    invalid customer or address): asking again will not help. A str, so it reads as any other
    reason; a plain str reason (an outage, a missing scope) is worth asking again."""


@dataclass(frozen=True)
class CodeOffer:
    """One recipient's single-use code: its name, who may use it, and when it ends."""

    code: str
    email: str | None
    customer_platform_id: int | None
    expires_at: datetime


@dataclass(frozen=True)
class Delivery:
    """What a connector reads from a webhook request's headers."""

    shop: str
    topic: str
    key: str
    signature: str


@dataclass(frozen=True)
class CustomerRecord:
    platform_id: int
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    country_code: str | None = None
    # The address's state or province code (Shopify's province_code, WooCommerce's state).
    province_code: str | None = None
    created_at: datetime | None = None
    # None when the platform embeds a customer without timestamps (Shopify orders do):
    # such a record creates a missing customer but never overwrites a dated one.
    updated_at: datetime | None = None
    tags: tuple[str, ...] = ()
    # None when the payload does not say: a stored birthday is never cleared by silence.
    birthday: date | None = None


# Shopify's email-marketing states; NULL in our columns means we were never told.
CONSENT_STATES = frozenset({"subscribed", "not_subscribed", "pending", "unsubscribed",
                            "redacted", "invalid"})
CHECKOUT = "checkout"


@dataclass(frozen=True)
class ConsentRecord:
    """A customer's email-marketing consent as the platform reported it."""

    customer_platform_id: int
    email: str | None
    state: str  # one of CONSENT_STATES
    opt_in_level: str | None = None
    # When consent was given or withdrawn; None when the payload does not say.
    updated_at: datetime | None = None
    # CHECKOUT when the buyer ticked "email me" on a checkout; None: the delivery's topic says.
    origin: str | None = None


@dataclass(frozen=True)
class FulfillmentRecord:
    """One shipment of an order, with its carrier's tracking."""

    platform_id: int
    order_platform_id: int
    updated_at: datetime
    status: str | None = None
    shipment_status: str | None = None
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class ProductRecord:
    platform_id: int
    title: str
    updated_at: datetime
    in_stock: bool
    handle: str | None = None
    # The product's own page: a full URL, or a path on the store's home (Shopify's
    # /products/<handle>, whose host the payload does not name).
    url: str | None = None
    image_url: str | None = None
    price: Decimal | None = None  # the lowest variant price: what "from ..." shows
    status: str | None = None
    # What kind of thing it is and who makes it, as the merchant files them (segments by what
    # a customer bought: Shopify's product type and vendor, WooCommerce's first category).
    product_type: str | None = None
    vendor: str | None = None


@dataclass(frozen=True)
class ProductDeletion:
    """The platform deleted a product; it tells us nothing but its id."""

    platform_id: int


@dataclass(frozen=True)
class OrderDeletion:
    """The platform deleted (trashed) an order; it tells us nothing but its id."""

    platform_id: int


@dataclass(frozen=True)
class LineRecord:
    title: str
    quantity: int
    price: Decimal
    product_id: int | None = None
    variant_id: int | None = None
    sku: str | None = None
    variant_title: str | None = None


@dataclass(frozen=True)
class OrderRecord:
    platform_id: int
    email: str | None
    currency: str
    total_price: Decimal
    placed_at: datetime
    updated_at: datetime
    customer: CustomerRecord | None = None
    name: str | None = None
    checkout_token: str | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    cancelled_at: datetime | None = None
    discount_codes: tuple[str, ...] = ()
    lines: tuple[LineRecord, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CheckoutRecord:
    token: str
    email: str | None
    currency: str
    total_price: Decimal
    updated_at: datetime
    platform_id: int | None = None
    cart_token: str | None = None
    customer: CustomerRecord | None = None
    recovery_url: str | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None
    # "cart" until the shopper starts checkout; platform checkouts are "checkout" from the start.
    stage: str = "checkout"
    lines: tuple[LineRecord, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Uninstalled:
    """The merchant removed the app: its tokens are revoked and nothing may be sent."""


@dataclass(frozen=True)
class CustomerRedaction:
    """Erase one customer's personal data (a GDPR/CCPA request the platform passes on)."""

    customer_platform_id: int | None
    email: str | None
    phone: str | None = None
    order_platform_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ShopRedaction:
    """Erase everything about the store (sent a while after it uninstalled the app)."""


@dataclass(frozen=True)
class DataRequest:
    """A customer asked for the data held about them; the merchant answers with our export."""

    request_id: int
    customer_platform_id: int | None
    email: str | None
    order_platform_ids: tuple[int, ...] = ()


Record = Union[CustomerRecord, OrderRecord, OrderDeletion, CheckoutRecord, ConsentRecord,
               FulfillmentRecord, ProductRecord, ProductDeletion, Uninstalled, CustomerRedaction,
               ShopRedaction, DataRequest]


class Connector(ABC):
    """One platform: how its webhooks are read and verified, what its payloads mean, how a store
    is subscribed, backfilled and reconciled, and what is written back to it.

    Methods that call a store take its `StoreAccess` (fresh credentials) and the values they
    need (the time, our webhook address): a connector never reads the database or the clock."""

    platform: str
    # The platform's name as a merchant reads it ("Shopify").
    title: str
    # Topics accepted from webhooks. `normalize` also reads the topics of its own pages/changes.
    topics: frozenset[str]
    # Privacy topics the platform sends app-wide, also for shops we no longer (or never) hold.
    compliance_topics: frozenset[str] = frozenset()
    # What a backfill imports, resource by resource; empty when the platform offers none.
    backfill_resources: tuple[str, ...] = ()
    # How often reconciliation asks the store what changed.
    reconcile_every: timedelta = timedelta(hours=1)
    # How many discount codes a campaign asks for at once, between two reads of its status: a
    # platform's batch, or (one call each, as Shopify's) about 10 s at its usual request rate.
    code_batch: int = 50

    @property
    def app_secret(self) -> str | None:
        """The secret the platform signs app-wide deliveries with (a public app's webhooks and
        privacy requests); None when every store signs with its own."""
        return None

    def admin_origins(self, domain: str) -> tuple[str, ...]:
        """Origins that may frame the settings UI for one of its stores (an embedded admin)."""
        return ()

    @abstractmethod
    def read_delivery(self, headers: Mapping[str, str]) -> Delivery:
        """Read shop, topic, dedupe key and signature from a webhook's headers."""

    @abstractmethod
    def verify(self, secret: str, body: bytes, signature: str) -> bool:
        """Check a webhook signature in constant time."""

    def dedupe_key(self, delivery: Delivery, payload: Any) -> str:
        """The inbox key of a verified delivery; by default the one read from its headers."""
        return delivery.key

    def names_shop(self, delivery: Delivery, payload: Any) -> bool:
        """False when a verified body names a shop other than the one its headers name."""
        return True

    @abstractmethod
    def normalize(self, topic: str, payload: Any) -> list[Record]:
        """Turn one payload into records; raise PayloadError when it is malformed."""

    def create_discount(self, store: StoreAccess, *, code: str, percent: float, email: str | None,
                        expires_at: datetime, starts_at: datetime,
                        customer_platform_id: int | None = None) -> None:
        """Create a single-use percentage code for one recipient in the store."""
        raise NotImplementedError(f"{self.platform} cannot create discount codes yet")

    def create_discounts(self, store: StoreAccess, offers: list[CodeOffer], *, percent: float,
                         starts_at: datetime) -> dict[str, str | None]:
        """Create one single-use percentage code per offer: code -> None once made, else why
        not (a CodeRefused when the platform refused that code's record); one offer's failure is
        its own, except a spent API budget, which leaves the rest unasked (each would wait
        for it). A code the store already has counts as made: the caller keeps its codes unique,
        so it is this one, made before a crash. By default, one create_discount each;
        NotImplementedError where codes cannot be made at all."""
        answers: dict[str, str | None] = {}
        for offer in offers:
            try:
                self.create_discount(store, code=offer.code, percent=percent, email=offer.email,
                                     starts_at=starts_at, expires_at=offer.expires_at,
                                     customer_platform_id=offer.customer_platform_id)
                answers[offer.code] = None
            except CodeTaken:
                answers[offer.code] = None
            except Refused as error:
                answers[offer.code] = str(error) if error.permission else CodeRefused(error)
            except NotImplementedError:
                raise
            except TryLater as error:  # the next ones would wait for the same budget
                unasked = [other.code for other in offers if other.code not in answers]
                return {**answers, **dict.fromkeys(unasked, str(error))}
            except Exception as error:  # noqa: BLE001 - this code alone waits; asked again later
                answers[offer.code] = str(error) or type(error).__name__
        return answers

    def code_problem(self, store: StoreAccess) -> str | None:
        """Why the store cannot make discount codes for good (a scope not granted, no keys), as
        far as its credentials tell without asking; None when it can."""
        return f"{self.title} stores cannot make discount codes yet"

    def write_consent(self, store: StoreAccess, *, customer_platform_id: int, state: str,
                      opt_in_level: str | None, updated_at: datetime) -> bool:
        """Record a customer's email-marketing consent (one of CONSENT_STATES) at the store, so
        the merchant's other tools see what the customer told us; False when the platform
        keeps that state to itself."""
        raise NotImplementedError(f"{self.platform} keeps no email-marketing consent we can write")

    def change_customer_tags(self, store: StoreAccess, *, customer_platform_id: int,
                             tags: list[str], remove: bool = False) -> None:
        """Add tags to the customer at the store, or remove them: never replacing the rest."""
        raise NotImplementedError(f"{self.platform} has no customer tags we can write")

    # --- install, credentials and sync ----------------------------------------------------

    def webhook_url(self, base_url: str, store_id: int) -> str:
        """Where the platform delivers a store's webhooks."""
        return f"{base_url}/webhooks/{self.platform}"

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """An unsigned request the platform sends to test a new webhook: answered 200, stored
        nowhere."""
        return False

    def keeps_in_sync(self, store: StoreAccess) -> bool:
        """Whether Storeflow subscribes, backfills and reconciles this store through its API."""
        return False

    def needs_refresh(self, store: StoreAccess, now: datetime) -> bool:
        """Whether the store's access token is about to lapse."""
        return False

    def refresh(self, store: StoreAccess, now: datetime) -> Grant:
        """New credentials for a store whose token is about to lapse."""
        raise NotImplementedError(f"{self.platform} tokens do not expire")

    def subscribe(self, store: StoreAccess, webhook_url: str) -> list[str]:
        """Create (or re-activate) every webhook we read, delivering to `webhook_url`; what had
        to be done, one line per webhook (empty when all were in place)."""
        raise NotImplementedError(f"{self.platform} has no webhooks we can create")

    def backfill_pages(self, store: StoreAccess, resource: str, cursor: str | None,
                       now: datetime) -> Iterator[Page]:
        """The store's history of one resource, page by page, carrying on after `cursor`."""
        raise NotImplementedError(f"{self.platform} offers no backfill")

    def changes_since(self, store: StoreAccess, since: datetime) -> Iterator[Change]:
        """What changed at the store since `since`, as deliveries for the inbox."""
        raise NotImplementedError(f"{self.platform} cannot say what changed")


# --- parsing helpers shared by connectors -------------------------------------------------

def dispatch(normalizers: Mapping[str, Any], topic: str, payload: Any) -> list[Record]:
    """Run a topic's normalizer; unknown topics and wrongly typed nested fields are PayloadErrors."""
    normalizer = normalizers.get(topic)
    if normalizer is None:
        raise PayloadError(f"unsupported topic {topic!r}")
    if not isinstance(payload, dict):
        raise PayloadError("the body is not a JSON object")
    try:
        return normalizer(payload)
    except (AttributeError, TypeError):
        # A nested field of the wrong type (a string where an object belongs, ...).
        raise PayloadError(f"a field of the {topic} payload has the wrong type") from None

