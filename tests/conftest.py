"""Test fixtures: real PostgreSQL and Redis (embedded, or TEST_DATABASE_URL / REDIS_URL), the
real migrations, and a helper that delivers published Shopify payloads signed like Shopify."""
from __future__ import annotations

import os
from contextlib import ExitStack
from urllib.parse import parse_qsl, urlencode

import pytest
from cryptography.fernet import Fernet
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.core import embedded, migrate
from app.core.config import Config, normalize_database_url
from app.core.db import db
from tests.browser import ARGS, CHROMIUM, Serving
from tests.helpers import SHOP, SHOP_SECRET, WOO_SECRET, Webhooks, WooWebhooks, wipe, work

# The fuzz tests replay the same examples on every run, so a newly drawn example never blocks
# an unrelated change at the gate; `HYPOTHESIS_PROFILE=explore make test` draws fresh ones.
hypothesis_settings.register_profile("gate", derandomize=True, database=None)
hypothesis_settings.register_profile("explore")
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))


# What `make test-fast` skips: the fault and fuzz suites, whole `storeflow dev` processes, the
# demo's day of traffic and the screenshot tours (together most of the suite's time).
SLOW = ("tests/faults/", "tests/test_processes.py", "tests/test_demo.py", "::test_screenshots")


def pytest_configure(config):
    """Under `make mutate`, point this session at a database, Redis and folder of its own."""
    from tests.mutation import claim_slot

    config.mutate_slot = ExitStack()
    slot = config.mutate_slot.enter_context(claim_slot())
    if slot:
        config.option.basetemp = slot.pop("basetemp")
        os.environ.update(slot)


def pytest_unconfigure(config):
    config.mutate_slot.close()


def pytest_collection_modifyitems(items):
    """Mark the slow tests (see SLOW) and those that drive Chromium (browser)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if any(part in item.nodeid for part in SLOW):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def config(tmp_path_factory) -> Config:
    home = tmp_path_factory.mktemp("storeflow")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under `pytest -n`
    database_url = os.environ.get("TEST_DATABASE_URL")
    database_url = (own_database(database_url, worker) if database_url and worker
                    else database_url or embedded.start_postgres(home, "storeflow_test"))
    redis_url = os.environ.get("REDIS_URL")
    redis_url = (own_redis_database(redis_url, worker) if redis_url and worker
                 else redis_url or embedded.start_redis(home, persist=False))
    return Config(
        database_url=normalize_database_url(database_url), redis_url=redis_url,
        secret_key="test-secret-key", encryption_keys=(Fernet.generate_key().decode(),),
        base_url="http://storeflow.test", port=5000, home=home,
    )


def own_database(url: str, worker: str) -> str:
    """A database of this test worker's own beside TEST_DATABASE_URL's (each worker empties
    its tables before every test), created on first use."""
    given = make_url(normalize_database_url(url))
    own = given.set(database=f"{given.database}_{worker}")
    engine = create_engine(given, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": own.database}):
            connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    engine.dispose()
    return own.render_as_string(hide_password=False)


def own_redis_database(url: str, worker: str) -> str:
    """This test worker's own Redis database on REDIS_URL's server (gw0 gets 1, gw1 gets 2...;
    Redis has 16 unless configured otherwise), named in the query, which works for unix://
    URLs too and wins over a path's number."""
    address, _, query = url.partition("?")
    pairs = [pair for pair in parse_qsl(query) if pair[0] != "db"]
    pairs.append(("db", str(int(worker.removeprefix("gw")) + 1)))
    return f"{address}?{urlencode(pairs)}"


@pytest.fixture(scope="session")
def app(config):
    flask_app = create_app(config)
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade()
    return flask_app


@pytest.fixture(autouse=True)
def clean_state(request):
    """Every test starts with empty tables and an empty Redis."""
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    wipe()
    yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def shop(shopify):
    """A Shopify store connected through a custom app, its Admin API the stub."""
    from app.core import stores

    with db.session() as session:
        store, _ = stores.connect(session, "shopify", SHOP, access_token=shopify.issue_token(SHOP),
                                  webhook_secret=SHOP_SECRET)
    return store


@pytest.fixture
def webhooks(client):
    return Webhooks(client)


@pytest.fixture
def woo_stub(monkeypatch):
    """A WooCommerce REST API on loopback answering with published responses; no backoff.
    Loopback is a private address: allowed here as ALLOW_PRIVATE_ADDRESSES=1 would."""
    from connectors.netguard import policy
    from connectors.woocommerce import client
    from tests.woo_stub import WooStub

    monkeypatch.setattr(client, "BACKOFF", 0.01)
    monkeypatch.setattr(policy, "allow_private", True)
    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "1")  # for `storeflow` run in this process
    stub = WooStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def woo_store(app, woo_stub):
    """A WooCommerce store connected with REST keys, pointing at the stub (plain http on
    loopback: the URL check that refuses that belongs to the entry points, not the model)."""
    from app.core import stores

    with db.session() as session:
        store, _ = stores.connect_with_keys(session, "woocommerce", woo_stub.url,
                                            consumer_key="ck_test", consumer_secret="cs_test",
                                            webhook_secret=WOO_SECRET)
    return store


@pytest.fixture
def woo_webhooks(client):
    return WooWebhooks(client)


@pytest.fixture
def run_jobs(app):
    """Run every queued job to completion in a real RQ worker (in this process)."""
    return work


@pytest.fixture
def emitted(app, monkeypatch) -> list:
    """Every domain event ingest publishes during the test, in order."""
    from app.core import events

    seen: list = []
    publish = events.publish

    def recording(session, batch):
        seen.extend(batch)
        publish(session, batch)

    monkeypatch.setattr(events, "publish", recording)
    return seen


@pytest.fixture
def cli_env(config, monkeypatch):
    """The environment a production `storeflow` process would get, pointed at the test services."""
    values = {
        "DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
        "SECRET_KEY": config.secret_key, "ENCRYPTION_KEY": ",".join(config.encryption_keys),
        "BASE_URL": config.base_url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def storeflow(app, config, cli_env):
    """Run `storeflow ARGS...` in this process, configured like production."""
    from click.testing import CliRunner

    from app import bootstrap
    from app.cli import cli

    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result
    yield run
    # The command bound the process's signers and credentials from the environment the test
    # set (an https BASE_URL, say): bind them back for the tests that run after it.
    bootstrap(config)


@pytest.fixture
def smtp_sink(app):
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives; the outbox sends
    to it for the duration of the test."""
    from app.mail.transport import SMTPTransport, transports
    from tests.smtp import SmtpSink

    sink = SmtpSink()
    sink.start()
    previous, sending = transports.current, SMTPTransport(f"smtp://127.0.0.1:{sink.port}")
    transports.current = sending
    yield sink
    sending.close()  # its own: a `storeflow` run in the test may have bound another since
    transports.current = previous
    sink.stop()


@pytest.fixture
def shopify(app):
    """A stub of Shopify on loopback, and this process configured as the public app it serves."""
    from connectors.shopify import credentials as shopify_app
    from connectors.shopify.admin import endpoint
    from tests.helpers import API_KEY, API_SECRET
    from tests.shopify_stub import ShopifyStub

    stub = ShopifyStub(API_KEY, API_SECRET).start()
    credentials = shopify_app.credentials
    previous = (endpoint.base_url, credentials.api_key, credentials.api_secret,
                credentials.scopes, credentials.base_url)
    endpoint.configure(stub.base_url)
    shopify_app.configure(API_KEY, API_SECRET, "read_customers,read_orders,write_discounts",
                          credentials.base_url)
    yield stub
    endpoint.configure(previous[0])
    shopify_app.configure(*previous[1:])
    stub.stop()


@pytest.fixture
def installed_shop(shopify):
    """A store installed as a public app, holding a token the stub accepts."""
    from app.core import stores

    with db.session() as session:
        store, _ = stores.connect(session, "shopify", SHOP, access_token=shopify.issue_token(SHOP),
                                  webhook_secret=None)
    return store


@pytest.fixture
def browser():
    """Headless chromium; the test is skipped, saying why, where there is none."""
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not shutil.which(CHROMIUM):
        pytest.skip("no chromium browser (.ci/run installs Debian's chromium package)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def app_server(app):
    """The app served on a real loopback port, in a thread; its base URL."""
    from werkzeug.serving import make_server

    serving = Serving(make_server("127.0.0.1", 0, app, threaded=True))
    yield f"http://127.0.0.1:{serving.port}"
    serving.stop()
