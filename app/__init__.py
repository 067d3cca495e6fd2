"""Storeflow: email automation for Shopify and WooCommerce stores."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.core.config import Config, load_config


def bootstrap(config: Config | None = None) -> Config:
    """Bind this process to its database, Redis and keys (embedded ones when none are set)."""
    from app import wiring
    from app.core import embedded, errors_sentry
    from app.core.crypto import keyring
    from app.core.db import db
    from app.ingest.identity import signer
    from app.jobs import broker
    from app.mail import links
    from app.mail.rate import send_rate
    from app.mail.transport import transports
    from app.web import key_exchange
    from app.web.ui import auth as ui_auth
    from connectors.netguard import policy as outbound
    from connectors.shopify import credentials as shopify_app
    from connectors.shopify.admin import endpoint as shopify_endpoint

    config = embedded.resolve(config or load_config())
    errors_sentry.init()
    keyring.configure(config.encryption_keys)
    db.configure(config.database_url)
    broker.configure(config.redis_url)
    transports.configure(config.smtp_url, config.home, config.base_url, config.dkim_key)
    send_rate.configure(config.smtp_rate_limit, config.redis_url)
    signer.configure(config.secret_key)
    links.signer.bind(config.secret_key, config.base_url)
    links.form_signer.configure(config.secret_key)
    key_exchange.signer.bind(config.secret_key, config.base_url)
    ui_auth.signer.configure(config.secret_key)
    outbound.configure(config.allow_private_addresses)
    wiring.wire()  # the flows' port, event listeners and send guards: one visible list
    shopify_endpoint.configure(config.shopify_api_base_url)
    shopify_app.configure(config.shopify_api_key, config.shopify_api_secret, config.shopify_scopes,
                          config.base_url)
    return config


def create_app(config: Config | None = None) -> Flask:
    """The web application (gunicorn: `app:create_app()`)."""
    from app.web import (admin_jobs, collect, email_links, errors, health, ids, install_shopify,
                         install_woocommerce, mail_webhooks, preference_page, ui, webhooks,
                         wordpress_sign_in)

    config = bootstrap(config)
    # static/ (the UI's assets, the storefront tracker) sits beside app/, served at /static.
    flask_app = Flask(__name__, static_folder=str(Path(__file__).resolve().parent.parent / "static"))
    flask_app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        STOREFLOW=config,
    )
    errors.init_app(flask_app)
    ids.register(flask_app)
    flask_app.register_blueprint(health.bp)
    flask_app.register_blueprint(mail_webhooks.bp)
    flask_app.register_blueprint(install_shopify.bp)
    flask_app.register_blueprint(install_woocommerce.bp)
    flask_app.register_blueprint(email_links.bp)
    flask_app.register_blueprint(preference_page.bp)
    flask_app.register_blueprint(wordpress_sign_in.bp)
    collect.init_app(flask_app)
    ui.init_app(flask_app)
    admin_jobs.init_app(flask_app)
    webhooks.mount(flask_app, config, beside=(f"{mail_webhooks.bp.url_prefix}/",))
    if config.trusted_proxy_hops:
        # The client's address and scheme as the proxies saw them: per-IP limits (/collect)
        # must count visitors, not the router they all come through.
        hops = config.trusted_proxy_hops
        flask_app.wsgi_app = ProxyFix(flask_app.wsgi_app, x_for=hops, x_proto=hops)
    return flask_app
