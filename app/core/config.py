"""Settings read once from the environment (12-factor), with embedded defaults for local use.

The rule is simple: with no `DATABASE_URL`, Storeflow is running locally and starts an embedded
PostgreSQL and Redis under `STOREFLOW_HOME`, generating its own secrets there. With a
`DATABASE_URL`, it is in production and every required setting must be given.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

# Settings a production process refuses to start without.
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "ENCRYPTION_KEY", "REDIS_URL", "BASE_URL")

# Shopify gives webhooks 5 s and its largest order payloads are a few hundred KB.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
# A batch of storefront events is a few KB; anything larger is not from our tracker.
DEFAULT_COLLECT_MAX_BODY_BYTES = 32 * 1024
# What the flows read (customers, orders, checkouts, products, shipments), the codes they send,
# and what we write back to customers (write_customers: unsubscribes, confirmed opt-ins, tags).
DEFAULT_SHOPIFY_SCOPES = ("read_customers,write_customers,read_orders,read_checkouts,"
                          "read_products,read_fulfillments,write_discounts")
# The jobs page takes unlimited guesses over the internet: only a long password stands.
MIN_ADMIN_PASSWORD_LENGTH = 16
# The smallest DKIM key receivers accept (RFC 8301); 2048 bits is the norm.
MIN_DKIM_KEY_BITS = 1024
_DNS_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class DkimKey:
    """What app.mail.dkim_signing signs with: an RSA private key (PEM), selector and domain."""

    private_key: bytes
    selector: str
    domain: str


@dataclass(frozen=True)
class Config:
    database_url: str | None
    redis_url: str | None
    secret_key: str | None
    encryption_keys: tuple[str, ...]
    base_url: str
    port: int
    home: Path
    # False for the default home (.storeflow in the current directory), which only a Storeflow
    # checkout should grow (app.core.embedded.resolve).
    home_chosen: bool = True
    shopify_api_key: str | None = None
    shopify_api_secret: str | None = None
    # Where Shopify's endpoints live; `{shop}` is the shop's myshopify.com domain. Only tests and
    # local development change it (to a stub of Shopify on loopback).
    shopify_api_base_url: str = "https://{shop}"
    shopify_scopes: str = DEFAULT_SHOPIFY_SCOPES
    # smtp://user:pass@host:587 (STARTTLS when offered) or smtps://...:465; unset = dev inbox.
    smtp_url: str | None = None
    # The most messages the transport may take per window ("14/second"); unset = no limit.
    smtp_rate_limit: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    collect_max_body_bytes: int = DEFAULT_COLLECT_MAX_BODY_BYTES
    collect_rate_limit_ip: str = "120/minute"
    collect_rate_limit_store: str = "3000/minute"
    # HTTP Basic password of the operator's jobs page (/admin/jobs); unset = no such page.
    admin_password: str | None = None
    # Reverse proxies in front of the web process that append the client to X-Forwarded-For
    # (Heroku's router: 1). 0 trusts no such header: a client could forge it.
    trusted_proxy_hops: int = 0
    # Outbound calls (WooCommerce store URLs) to loopback/private addresses, plain http and any
    # port: for a store or stub on this machine in development and tests only, never production.
    allow_private_addresses: bool = False
    # Bounce and complaint webhooks of the mail provider (app/mail/feedback); each endpoint
    # exists only once its secret is set. SES: the SNS topics we accept notifications from.
    ses_topic_arns: tuple[str, ...] = ()
    # Postmark: the HTTP Basic password (user `postmark`) written into its webhook URL.
    postmark_webhook_password: str | None = None
    # SendGrid: the Signed Event Webhook's verification key (base64 DER, as SendGrid shows it).
    sendgrid_webhook_public_key: str | None = None
    # Mailgun: the HTTP webhook signing key.
    mailgun_webhook_signing_key: str | None = None
    # Signs outgoing mail with DKIM when set (DKIM_PRIVATE_KEY, DKIM_SELECTOR, DKIM_DOMAIN).
    dkim_key: DkimKey | None = None

    @property
    def embedded(self) -> bool:
        """True when no database was configured, so local embedded services are used."""
        return self.database_url is None

    def replace(self, **changes) -> "Config":
        return replace(self, **changes)


def normalize_database_url(url: str) -> str:
    """Accept Heroku's `postgres://` and plain `postgresql://`; use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith("postgresql+psycopg://"):
        return url
    raise ConfigError("DATABASE_URL must be a postgres:// or postgresql:// URL")


def _redis_url(url: str, verify_tls: str = "1") -> str:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    # Heroku Redis serves TLS with a self-signed certificate and sets REDIS_URL itself, so the
    # only way to say "encrypt, but do not verify" is beside it (REDIS_TLS_VERIFY=0).
    if url.startswith("rediss://") and verify_tls.lower() in ("0", "false", "no"):
        url += ("&" if "?" in url else "?") + "ssl_cert_reqs=none"
    return url


def limits_storage_uri(redis_url: str) -> str:
    """The `limits` library's name for our Redis (it spells a unix socket redis+unix://)."""
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def _hops(value: str) -> int:
    if not value.isdigit() or int(value) > 5:
        raise ConfigError("TRUSTED_PROXY_HOPS must be a whole number from 0 to 5")
    return int(value)


def _smtp_url(url: str) -> str:
    if not url.startswith(("smtp://", "smtps://")):
        raise ConfigError("SMTP_URL must be an smtp:// or smtps:// URL")
    return url


def _rate(value: str) -> str:
    from limits import parse

    try:
        parse(value)
    except ValueError:
        raise ConfigError("SMTP_RATE_LIMIT must look like 14/second or 600/minute") from None
    return value


def _shopify_base_url(url: str) -> str:
    if "{shop}" not in url or not url.startswith(("https://", "http://")):
        raise ConfigError("SHOPIFY_API_BASE_URL must be an http(s) URL containing {shop}")
    return url.rstrip("/")


def _admin_password(value: str) -> str:
    if len(value) < MIN_ADMIN_PASSWORD_LENGTH:
        raise ConfigError(f"ADMIN_PASSWORD must be at least {MIN_ADMIN_PASSWORD_LENGTH} characters")
    return value


def _topic_arns(value: str) -> tuple[str, ...]:
    arns = tuple(arn.strip() for arn in value.split(",") if arn.strip())
    if any(not re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}", arn)
           for arn in arns):
        raise ConfigError("SES_SNS_TOPIC_ARNS must be SNS topic ARNs (arn:aws:sns:REGION:ACCOUNT:NAME), "
                          "separated by commas")
    return arns


def _webhook_password(value: str) -> str:
    if len(value) < MIN_ADMIN_PASSWORD_LENGTH:
        raise ConfigError(f"POSTMARK_WEBHOOK_PASSWORD must be at least {MIN_ADMIN_PASSWORD_LENGTH} characters")
    return value


def _sendgrid_key(value: str) -> str:
    try:
        ec_public_key(value)
    except ValueError:
        raise ConfigError("SENDGRID_WEBHOOK_PUBLIC_KEY must be the verification key SendGrid shows "
                          "(a base64 P-256 public key)") from None
    return value


def _dkim_key(env: Mapping[str, str]) -> DkimKey | None:
    names = ("DKIM_PRIVATE_KEY", "DKIM_SELECTOR", "DKIM_DOMAIN")
    missing = [name for name in names if not env.get(name)]
    if len(missing) == len(names):
        return None
    if missing:
        raise ConfigError(f"{missing[0]} is not set: DKIM signing needs DKIM_PRIVATE_KEY, "
                          "DKIM_SELECTOR and DKIM_DOMAIN together")
    selector, domain = env["DKIM_SELECTOR"].strip(), env["DKIM_DOMAIN"].strip().lower()
    if not _DNS_NAME.fullmatch(selector):
        raise ConfigError("DKIM_SELECTOR must be a DNS label such as storeflow or s1")
    if not _DNS_NAME.fullmatch(domain) or "." not in domain:
        raise ConfigError("DKIM_DOMAIN must be the domain of your From address, such as "
                          "shop.example.com")
    return DkimKey(_dkim_pem(env["DKIM_PRIVATE_KEY"].strip()), selector, domain)


def _dkim_pem(value: str) -> bytes:
    """The key as PEM, given inline or as a file path, checked to be an RSA key dkimpy can use."""
    if "-----BEGIN" in value:
        pem = value.encode()
    else:
        try:
            pem = Path(value).expanduser().read_bytes()
        except OSError as error:
            raise ConfigError("DKIM_PRIVATE_KEY is neither a PEM key (-----BEGIN ... PRIVATE "
                              f"KEY-----) nor a readable file: {error.strerror}") from None
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ConfigError("DKIM_PRIVATE_KEY is not a PEM private key without a password "
                          f"({error})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_DKIM_KEY_BITS:
        raise ConfigError(f"DKIM_PRIVATE_KEY must be an RSA key of at least {MIN_DKIM_KEY_BITS} "
                          "bits (2048 recommended)")
    return pem


def _flag(name: str, value: str) -> bool:
    if value.lower() not in ("0", "1", "true", "false", "yes", "no", ""):
        raise ConfigError(f"{name} must be 1 or 0")
    return value.lower() in ("1", "true", "yes")


def _port(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"PORT must be a number, not {value!r}") from None


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read every setting from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    production = bool(env.get("DATABASE_URL"))
    if production:
        missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
        if missing:
            raise ConfigError(
                f"{missing[0]} is not set (required when DATABASE_URL is set; "
                f"missing: {', '.join(missing)})"
            )
    port = _port(env.get("PORT", "5000"))
    keys = tuple(k.strip() for k in env.get("ENCRYPTION_KEY", "").split(",") if k.strip())
    return Config(
        database_url=normalize_database_url(env["DATABASE_URL"]) if production else None,
        redis_url=(_redis_url(env["REDIS_URL"], env.get("REDIS_TLS_VERIFY", "1"))
                   if env.get("REDIS_URL") else None),
        secret_key=env.get("SECRET_KEY") or None,
        encryption_keys=keys,
        base_url=env.get("BASE_URL", f"http://localhost:{port}").rstrip("/"),
        port=port,
        home=Path(env.get("STOREFLOW_HOME", ".storeflow")).resolve(),
        home_chosen="STOREFLOW_HOME" in env,
        shopify_api_key=env.get("SHOPIFY_API_KEY") or None,
        shopify_api_secret=env.get("SHOPIFY_API_SECRET") or None,
        shopify_api_base_url=_shopify_base_url(env.get("SHOPIFY_API_BASE_URL", "https://{shop}")),
        shopify_scopes=env.get("SHOPIFY_SCOPES", DEFAULT_SHOPIFY_SCOPES),
        smtp_url=_smtp_url(env["SMTP_URL"]) if env.get("SMTP_URL") else None,
        smtp_rate_limit=_rate(env["SMTP_RATE_LIMIT"]) if env.get("SMTP_RATE_LIMIT") else None,
        max_body_bytes=int(env.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
        collect_max_body_bytes=int(env.get("COLLECT_MAX_BODY_BYTES", DEFAULT_COLLECT_MAX_BODY_BYTES)),
        collect_rate_limit_ip=env.get("COLLECT_RATE_LIMIT_IP", "120/minute"),
        collect_rate_limit_store=env.get("COLLECT_RATE_LIMIT_STORE", "3000/minute"),
        admin_password=(_admin_password(env["ADMIN_PASSWORD"])
                        if env.get("ADMIN_PASSWORD") else None),
        trusted_proxy_hops=_hops(env.get("TRUSTED_PROXY_HOPS", "0")),
        allow_private_addresses=_flag("ALLOW_PRIVATE_ADDRESSES",
                                      env.get("ALLOW_PRIVATE_ADDRESSES", "")),
        ses_topic_arns=_topic_arns(env.get("SES_SNS_TOPIC_ARNS", "")),
        postmark_webhook_password=(_webhook_password(env["POSTMARK_WEBHOOK_PASSWORD"])
                                   if env.get("POSTMARK_WEBHOOK_PASSWORD") else None),
        sendgrid_webhook_public_key=(_sendgrid_key(env["SENDGRID_WEBHOOK_PUBLIC_KEY"])
                                     if env.get("SENDGRID_WEBHOOK_PUBLIC_KEY") else None),
        mailgun_webhook_signing_key=env.get("MAILGUN_WEBHOOK_SIGNING_KEY") or None,
        dkim_key=_dkim_key(env),
    )


def ec_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """The verification key, given as SendGrid shows it (base64 DER) or as PEM."""
    try:
        if "BEGIN PUBLIC KEY" in value:
            key = serialization.load_pem_public_key(value.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error, TypeError):
        raise ValueError("not a public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic-curve key")
    return key
