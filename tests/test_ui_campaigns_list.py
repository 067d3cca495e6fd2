"""The Campaigns list's figures: the same numbers each campaign's `report --json` gives (real
sends over loopback SMTP, opens and clicks through the signed links, orders from Shopify's
webhooks), read in a number of statements that does not grow with the number of campaigns."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import event

from app.campaigns import campaigns, report as campaign_report
from app.core.db import db
from app.models import Store
from tests.campaign_helpers import (CREATE, NOW, PEOPLE, REACHED, campaign_to_everyone,
                                    many_subscribers, report, send, subscribers)
from tests.flow_helpers import HOUR, at
from tests.helpers import published
from tests.test_audience_metrics import shopify_order
from tests.ui_helpers import sign_in

SHOWN = ("recipients", "sent", "opened", "clicked", "orders", "revenue")


def links(mail) -> tuple[str, str]:
    """The mail's open pixel and its first tracked link, as paths."""
    html = mail.get_body(("html",)).get_content()
    parts = html.split('"')
    return (urlsplit(next(p for p in parts if "/o/" in p)).path,
            urlsplit(next(p for p in parts if "/c/" in p)).path)


def sent_and_read(storeflow, shop, run_jobs, smtp_sink, client, name: str,
                  opened: list[str], clicked: list[str]) -> None:
    """Send campaign `name` now; the `opened` addresses open it, the `clicked` ones click."""
    already = len(smtp_sink.received)
    storeflow("campaigns", "send", "--store", shop.domain, name)
    run_jobs()
    mails = {mail["To"]: mail for mail in smtp_sink.received[already:]}
    for address in opened:
        assert client.get(links(mails[address])[0]).status_code == 200
    for address in clicked:
        assert client.get(links(mails[address])[1]).status_code == 302


def bought(webhooks, run_jobs, order_id: int, person, total: str, placed) -> None:
    """`person` orders at `placed` (Shopify's published order), delivered then."""
    buyer = published("shopify/orders_create.json")["customer"] | {
        "id": person.id, "email": person.email}
    with at(placed):
        webhooks.deliver("orders/create", shopify_order(order_id, placed, total,
                                                        customer=buyer, email=person.email))
        run_jobs()


def test_the_lists_figures_are_each_campaigns_report(shop, webhooks, run_jobs, storeflow,
                                                     smtp_sink, client, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    subscribers(shop, webhooks, run_jobs, storeflow, NOW)
    with at(NOW):
        for name in ("Spring teas", "Summer teas", "Autumn teas"):
            storeflow("campaigns", "create", "--store", shop.domain, name, *CREATE,
                      "--bypass-frequency-cap")
        sent_and_read(storeflow, shop, run_jobs, smtp_sink, client, "Spring teas",
                      opened=REACHED[:2], clicked=REACHED[:1])
    bought(webhooks, run_jobs, 5001, PEOPLE[0], "42.50", NOW + HOUR)
    with at(NOW + 2 * HOUR):
        sent_and_read(storeflow, shop, run_jobs, smtp_sink, client, "Summer teas",
                      opened=REACHED, clicked=REACHED[1:])
    # The first clicked Spring, the second and third Summer; an order before a campaign's
    # start is not its, whichever message it is credited to.
    bought(webhooks, run_jobs, 5002, PEOPLE[0], "10.00", NOW + 3 * HOUR)
    bought(webhooks, run_jobs, 5003, PEOPLE[1], "7.25", NOW + 3 * HOUR)
    bought(webhooks, run_jobs, 5004, PEOPLE[2], "99.99", NOW + 4 * HOUR)

    with db.session() as session:
        store = session.get(Store, shop.id)
        every = campaigns.all_of(session, shop.id)
        listed = {c.name: figures for c in every
                  for figures in [campaign_report.listed(session, store, every).get(c.id)]}
    assert listed["Autumn teas"] is None  # a draft has no figures: "not sent yet"
    for name in ("Spring teas", "Summer teas"):
        reported = report(storeflow, shop, name)
        assert {k: listed[name][k] for k in SHOWN} == {k: reported[k] for k in SHOWN}
    assert {k: listed["Spring teas"][k] for k in SHOWN} == {
        "recipients": 3, "sent": 3, "opened": 2, "clicked": 1, "orders": 2, "revenue": "52.5"}
    assert {k: listed["Summer teas"][k] for k in SHOWN} == {
        "recipients": 3, "sent": 3, "opened": 3, "clicked": 2, "orders": 2, "revenue": "107.24"}
    sign_in(client, storeflow, shop.id)
    page = client.get("/app/campaigns").get_data(as_text=True)
    row = page.split('data-campaign="Summer teas"')[1].split("</tr>")[0]
    assert '<td class="num">3</td><td class="num">3</td><td class="num">3</td>' in row


def statements_listing(client) -> int:
    """How many SQL statements the Campaigns list runs."""
    count = 0

    def counted(*_args) -> None:
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        assert client.get("/app/campaigns").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)
    return count


def started(store_id: int, names: list[str]) -> None:
    """Campaigns to everyone, each sent (its recipients resolved, its start recorded)."""
    for name in names:
        with db.session() as session:
            campaigns.create(session, store_id, name, subject="News", included=("Everyone",),
                             bypass_frequency_cap=True, actor="test")
        send(store_id, name)


def test_the_lists_statements_do_not_grow_with_its_campaigns(shop, client, storeflow):
    many_subscribers(shop.id, 5)
    campaign_to_everyone(shop.id, "Campaign 0")
    send(shop.id, "Campaign 0")
    started(shop.id, ["Campaign 1"])
    sign_in(client, storeflow, shop.id)
    client.get("/app/campaigns")  # anything loaded once per process is loaded
    two = statements_listing(client)
    started(shop.id, [f"Campaign {n}" for n in range(2, 12)])
    twelve = statements_listing(client)
    assert twelve == two
    assert client.get("/app/campaigns").get_data(as_text=True).count("data-campaign=") == 12
