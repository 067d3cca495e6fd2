"""`storeflow campaigns ...`: create a campaign for a store's segments, send it once, pause,
resume or cancel it, and read its report. The commands' shapes are an interface (tools parse
them): `report --json` prints {"recipients", "sent", "opened", "clicked", "unsubscribed",
"bounced", "orders", "revenue", ...}; a refusal is one line and exit code 1."""
from __future__ import annotations

import json

import click

from app.cli import options

ACTOR = "the storeflow command"
NAME = click.argument("name")


@click.group()
def campaigns() -> None:
    """One email to the members of segments (marketing consent required)."""


def _store_session(store_ref: str):
    from app.campaigns.values import CampaignError

    return options.store_session(store_ref, CampaignError)


@campaigns.command("create")
@options.STORE
@NAME
@click.option("--segment", "included", multiple=True, required=True, metavar="SEGMENT",
              help="A segment whose members receive it (repeat for several).")
@click.option("--exclude", "excluded", multiple=True, metavar="SEGMENT",
              help="A segment whose members do not (repeat for several).")
@click.option("--subject", required=True, help="The subject line (placeholders allowed).")
@click.option("--preheader", help="The inbox preview line.")
@click.option("--body", required=True, help="The text; a blank line starts a paragraph.")
@click.option("--button-text", help="A button under the text (to the shop, or --button-url).")
@click.option("--button-url", help="The button's https address.")
@click.option("--bypass-frequency-cap", is_flag=True,
              help="Send even to customers the frequency cap would hold back.")
@click.option("--holdout", type=int, default=0, metavar="PERCENT",
              help="Hold back this share (0-50 %) to measure the revenue the campaign added.")
@click.option("--subject-b", help="A second subject to test against --subject.")
@click.option("--test-share", type=int, metavar="PERCENT",
              help="The share sent the two subjects (10-50 %, default 20).")
@click.option("--winner-after", type=int, metavar="HOURS",
              help="Hours until the winner goes to the rest (1-72, default 4).")
@click.option("--judge", help="The winner is judged on clicks (default) or revenue.")
def create(store_ref: str, name: str, included: tuple[str, ...], excluded: tuple[str, ...],
           subject: str, preheader: str | None, body: str, button_text: str | None,
           button_url: str | None, bypass_frequency_cap: bool, holdout: int,
           subject_b: str | None, test_share: int | None, winner_after: int | None,
           judge: str | None) -> None:
    """Create campaign NAME as a draft."""
    from app.campaigns import campaigns as service

    with _store_session(store_ref) as (session, store):
        campaign = service.create(
            session, store.id, name, subject=subject, body=body, included=included,
            excluded=excluded, preheader=preheader, button_text=button_text,
            button_url=button_url, bypass_frequency_cap=bypass_frequency_cap, holdout=holdout,
            subject_b=subject_b, test_share=test_share, winner_after=winner_after, judge=judge,
            actor=ACTOR)
        click.echo(f"created campaign {campaign.name!r} (draft); "
                   f"`storeflow campaigns send --store {store_ref} {campaign.name!r}` sends it")


@campaigns.command("edit")
@options.STORE
@NAME
@click.option("--subject", help="The new subject line.")
@click.option("--subject-b", help='The new second subject ("": no A/B test).')
@click.option("--preheader", help='The new inbox preview line ("": none).')
def edit(store_ref: str, name: str, subject: str | None, subject_b: str | None,
         preheader: str | None) -> None:
    """Change draft or scheduled NAME's subject, subject B or preheader (what is not given
    stays), checked as `create` checks them."""
    from app.campaigns import campaigns as service

    with _store_session(store_ref) as (session, store):
        campaign = service.named(session, store.id, name)
        service.edit(session, campaign, ACTOR, name=campaign.name,
                     subject=campaign.subject if subject is None else subject,
                     subject_b=campaign.subject_b if subject_b is None else subject_b,
                     preheader=campaign.preheader if preheader is None else preheader)
    click.echo(f"edited campaign {name.strip()!r}")


@campaigns.command("send")
@options.STORE
@NAME
@click.option("--at", metavar='"YYYY-MM-DD HH:MM"',
              help="Schedule it for then, in the store's time zone (up to a year ahead).")
@click.option("--local-time", is_flag=True,
              help="With --at: at that time in each recipient's own time zone.")
def send(store_ref: str, name: str, at: str | None, local_time: bool) -> None:
    """Resolve NAME's recipients and start sending it, or schedule it (once: a second send is
    refused)."""
    from app.campaigns import campaigns as service, sending

    with _store_session(store_ref) as (session, store):
        recipients = service.send(session, store.id, name, ACTOR, at=at, local_time=local_time)
        campaign = service.named(session, store.id, name)
        campaign_id = campaign.id
        when = service.when(campaign, store.effective_settings["timezone"])
    sending.start(campaign_id)
    if recipients is None:
        click.echo(f"scheduled campaign {name.strip()!r} for {when}")
        return
    click.echo(f"sending campaign {name.strip()!r} to {recipients} recipient(s)")


def _move(command: str, help_text: str):
    @campaigns.command(command, help=help_text)
    @options.STORE
    @NAME
    def move(store_ref: str, name: str) -> None:
        from app.campaigns import campaigns as service, sending

        with _store_session(store_ref) as (session, store):
            campaign = service.move(session, store.id, name, command, ACTOR)
            store_id, campaign_id = store.id, campaign.id
        if command == "resume":
            sending.enqueue_chunks(campaign_id)
            click.echo(f"resumed campaign {name.strip()!r}")
            return
        # Acknowledged once no message of it is still being handed to the mail server.
        in_flight = sending.wait_in_flight(store_id, campaign_id)
        done = service.MOVES[command][2]
        click.echo(f"{done} campaign {name.strip()!r}: no further email of it is sent"
                   + (f" ({in_flight} still being handed to the mail server)" if in_flight else ""))
    return move


pause = _move("pause", "Stop sending NAME until it is resumed.")
resume = _move("resume", "Continue sending a paused NAME.")
cancel = _move("cancel", "Stop NAME for good.")


@campaigns.command("list")
@options.STORE
@click.option("--json", "as_json", is_flag=True, help='A JSON array of {"name", "status", ...}.')
def list_campaigns(store_ref: str, as_json: bool) -> None:
    """The store's campaigns, newest first, with their status and when a scheduled one goes."""
    from app.campaigns import campaigns as service

    with _store_session(store_ref) as (session, store):
        zone = store.effective_settings["timezone"]
        listed = [{"name": c.name, "status": c.status, "subject": c.subject,
                   "segments": c.segments, "excluded": c.excluded_segments,
                   "when": service.when(c, zone)}
                  for c in service.all_of(session, store.id)]
    options.listing(listed, as_json, lambda entry: f"{entry['status']:<10} {entry['name']}"
                    + (f"  ({entry['when']})" if entry["when"] else ""), "no campaigns")


@campaigns.command("report")
@options.STORE
@NAME
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def report(store_ref: str, name: str, as_json: bool) -> None:
    """What campaign NAME sent and earned."""
    from app.campaigns import campaigns as service, report as reports

    with _store_session(store_ref) as (session, store):
        figures = reports.figures(session, store, service.named(session, store.id, name))
    if as_json:
        click.echo(json.dumps(figures))
        return
    for label, value in figures.items():
        click.echo(f"{label:<22} {value}")


def register(cli: click.Group) -> None:
    """Add `storeflow campaigns` to the `storeflow` group."""
    cli.add_command(campaigns)
