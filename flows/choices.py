"""A store's choices for each prebuilt flow: on/off and settings over the flow's defaults."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import audit, clock, memo, settings as store_settings
from app.mail import merchant_text
from app.models import FlowConfig, Store
from flows import limits
from flows.steps import Flow, Send

# Every marketing flow can hold out a share of its enrollees as a control group.
MARKETING_DEFAULTS = {"holdout_percent": 0}
# What a merchant may write for each email, and how long it may be: a subject line, and an
# opening message that replaces the template's first paragraph (blank lines part paragraphs).
MERCHANT_TEXTS = {"subject": 300, "message": 2000}


class FlowSettingError(ValueError):
    """A flow setting's name or value is not acceptable; the message says which and why."""


def defaults(flow: Flow) -> dict[str, Any]:
    """The flow's own settings, the control group for marketing flows, and per email the
    merchant's own texts ("" keeps the template's)."""
    texts = dict.fromkeys(text_settings(flow), "")
    return {**(MARKETING_DEFAULTS if flow.marketing else {}), **flow.settings, **texts}


def text_settings(flow: Flow) -> dict[str, str]:
    """The settings holding the merchant's own texts, each with its part ("subject"...); a
    built flow's emails hold their words in its document."""
    return {text_setting(p.step, part): part for p in flow.planned
            if isinstance(p.step, Send) and p.step.content is None for part in MERCHANT_TEXTS}


def text_setting(step: Send, part: str) -> str:
    """The setting holding the merchant's `part` ("subject", "message") of an email."""
    return f"{step.template}_{part}"


def is_text_setting(flow: Flow, name: str) -> bool:
    return name in text_settings(flow)


def merchant_texts(settings: dict[str, Any], step: Send) -> dict[str, str]:
    """The texts the merchant wrote for this email, by part; what they left empty is absent."""
    texts = {part: settings.get(text_setting(step, part)) for part in MERCHANT_TEXTS}
    return {part: text for part, text in texts.items() if text}


def effective(session: Session, store_id: int, flow: Flow) -> tuple[bool, dict[str, Any]]:
    """(enabled, every setting with its current value) for one store."""
    row = config_row(session, store_id, flow.name)
    return enabled(flow, row), {**defaults(flow), **(row.settings if row else {})}


def config_row(session: Session, store_id: int, name: str) -> FlowConfig | None:
    """The store's choices for a flow (None: its defaults); read once per batch where the
    session shares one (app.core.memo: ingest's drain, every delivery asking for each flow)."""
    return memo.remembered(session, ("flow_config", store_id, name), lambda: session.execute(
        select(FlowConfig).where(FlowConfig.store_id == store_id, FlowConfig.flow == name)
    ).scalar_one_or_none())


def enabled(flow: Flow, row: FlowConfig | None) -> bool:
    """Whether the flow is on, by the store's config row for it (None: no row, its default)."""
    return flow.enabled_by_default if row is None else row.enabled


def _parse(name: str, default: Any, value: Any, part: str | None = None) -> Any:
    """One setting's value, of its default's type; `part` names a merchant text."""
    if isinstance(default, bool):
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise FlowSettingError(f"{name}: use true or false")
    if isinstance(default, list):
        try:
            return [int(v) if v.is_integer() else v for v in limits.ladder(name, value)]
        except limits.LimitError as error:
            raise FlowSettingError(str(error)) from None
    if isinstance(default, (int, float)):
        try:
            number = limits.number(name, value)
        except limits.LimitError as error:
            raise FlowSettingError(str(error)) from None
        return int(number) if isinstance(default, int) and number.is_integer() else number
    text = str(value).replace("\r\n", "\n").strip()  # a form's textarea sends CRLF
    limit = MERCHANT_TEXTS.get(part, 300)
    if len(text) > limit:
        raise FlowSettingError(f"{name}: at most {limit} characters")
    if part and text:
        try:
            merchant_text.check(text)
        except merchant_text.MerchantTextError as error:
            raise FlowSettingError(f"{name}: {error}") from None
    return text


def validate(flow: Flow, changes: dict[str, Any],
             current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Parse `name=value` changes against the flow's defaults, then check them together with
    the `current` settings (the defaults if none given); raise naming the first bad one."""
    if flow.built:
        raise FlowSettingError(f"{flow.name} is a built flow: its numbers are in its document "
                               f"(storeflow flows export, edit, storeflow flows import)")
    known, texts = defaults(flow), text_settings(flow)
    parsed = {}
    for name, value in changes.items():
        if name not in known:
            raise FlowSettingError(f"{flow.name} has no setting {name!r}; known: {', '.join(known)}")
        parsed[name] = _parse(name, known[name], value, texts.get(name))
    try:
        limits.check_order(flow, {**known, **(current or {}), **parsed})
    except limits.LimitError as error:
        raise FlowSettingError(str(error)) from None
    return parsed


def problems(flow: Flow, settings: dict[str, Any]) -> dict[str, str]:
    """Each setting held (a flow's, or a run's) that could not be saved today, with why: a row
    written before a rule existed. The same parsers as `validate`, so one rule, one place.
    The merchant's texts are left out: rendering one costs milliseconds on every check of
    every run, and one that fails at send time already gives way to the template's own."""
    if flow.built:  # its document was checked as a whole when it was saved
        return {}
    known, texts = defaults(flow), text_settings(flow)
    found = {}
    for name, value in settings.items():
        if name in known and name not in texts:
            try:
                _parse(name, known[name], value)
            except FlowSettingError as error:
                found[name] = str(error)
    if not found:
        try:
            limits.check_order(flow, settings)
        except limits.LimitError as error:
            found[str(error).partition(":")[0]] = str(error)
    return found


def warnings(settings: dict[str, Any]) -> list[str]:
    """What a merchant may save but probably did not mean (a control group of most customers)."""
    return limits.warnings(settings)


def skip_reason(store: Store, flow: Flow, settings: dict[str, Any]) -> str | None:
    """Why the engine must leave this flow alone for this store, in words without personal
    data: a setting it holds could not be saved today, or the store's own settings stop its
    mail (a marketing flow needs the postal address). None when it may run."""
    bad = problems(flow, settings)
    if bad:
        return f"flow settings to fix: {', '.join(bad)}"
    return store_settings.refusal(store.settings, flow.marketing)


def switch_on_refusal(session: Session, store: Store, flow: Flow) -> str | None:
    """Why this flow may not be switched on for this store: the reasons the engine would skip
    it for (one rule for the switch and the engine). None when it may."""
    return skip_reason(store, flow, effective(session, store.id, flow)[1])


def marketing_on(session: Session, store_id: int) -> tuple[str, ...]:
    """The store's marketing flows that are switched on."""
    from flows.catalog import FLOWS

    return tuple(name for name, flow in FLOWS.items()
                 if flow.marketing and effective(session, store_id, flow)[0])


def save(session: Session, store_id: int, flow: Flow, *, actor: str, enabled: bool | None = None,
         changes: dict[str, Any] | None = None) -> tuple[bool, dict[str, Any]]:
    """Store a toggle and/or validated changes, in the audit log under `actor`. Runs under way
    keep the settings they began with."""
    current_enabled, current = effective(session, store_id, flow)
    audit.record(session, store_id, actor, f"flow {flow.name}",
                 *audit.changed({"enabled": current_enabled, **current},
                                {"enabled": current_enabled if enabled is None else enabled,
                                 **current, **(changes or {})}))
    stored = {name: value for name, value in {**current, **(changes or {})}.items()
              if defaults(flow).get(name) != value}
    on = current_enabled if enabled is None else enabled
    session.execute(insert(FlowConfig).values(
        store_id=store_id, flow=flow.name, enabled=on, settings=stored, updated_at=clock.now(),
    ).on_conflict_do_update(index_elements=["store_id", "flow"],
                            set_={"enabled": on, "settings": stored, "updated_at": clock.now()}))
    return on, {**defaults(flow), **stored}
