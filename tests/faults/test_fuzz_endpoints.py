"""Every public endpoint (app/web/openapi.yaml), fuzzed by Schemathesis against the real app,
PostgreSQL and Redis: no request answers 5xx, and none stores anything unsigned."""
from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from app.core.db import db
from app.models import ConsentChange, MessageEvent, Suppression, WebhookEvent

SPEC = Path(__file__).resolve().parents[2] / "app" / "web" / "openapi.yaml"


@pytest.fixture
def public_api(app, shop, woo_store, monkeypatch):
    """The spec, answered in-process by the real app (WSGI), with a Shopify store (the app
    configured as a public app, against the stub), a WooCommerce store connected, and every mail
    provider's webhook configured."""
    from tests.mail_feedback_helpers import MAILGUN_KEY, POSTMARK_PASSWORD, TOPIC, SendGridSigner

    monkeypatch.setitem(app.config, "STOREFLOW", app.config["STOREFLOW"].replace(
        ses_topic_arns=(TOPIC,), postmark_webhook_password=POSTMARK_PASSWORD,
        sendgrid_webhook_public_key=SendGridSigner().public_key, mailgun_webhook_signing_key=MAILGUN_KEY))
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = app
    return schema


def stored_rows() -> int:
    with db.session() as session:
        return sum(session.execute(select(func.count()).select_from(model)).scalar_one()
                   for model in (WebhookEvent, Suppression, ConsentChange, MessageEvent))


def test_no_5xx_and_nothing_stored_without_a_signature(public_api):
    # Driven through Hypothesis directly: Schemathesis' pytest plugin does not run on pytest 9.
    # The tests' BASE_URL is plain http, which the WooCommerce install start refuses by design
    # (503: WooCommerce only sends keys to https): it is the one operation left out here.
    operations = [op for op in (result.ok() for result in public_api.get_all_operations())
                  if op.label != "GET /install/woocommerce"]
    assert len(operations) == 17  # every other route in the spec, so none is silently skipped

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def fuzz(case):
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.status_code)
            assert stored_rows() == 0
        fuzz()
