"""A store's choices for each prebuilt flow: on/off and settings over the flow's defaults."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.models import FlowConfig
from app.mail import merchant_text
from flows.steps import Flow, Send

# Every marketing flow can hold out a share of its enrollees as a control group.
MARKETING_DEFAULTS = {"holdout_percent": 0}


class FlowSettingError(ValueError):
    """A flow setting's name or value is not acceptable; the message says which and why."""


def defaults(flow: Flow) -> dict[str, Any]:
    """The flow's own settings, the control group for marketing flows, and a subject line per
    email ("" keeps the template's)."""
    subjects = {subject_setting(p.step): "" for p in flow.planned if isinstance(p.step, Send)}
    return {**flow.settings, **(MARKETING_DEFAULTS if flow.marketing else {}), **subjects}


def subject_setting(step: Send) -> str:
    return f"{step.template}_subject"


def effective(session: Session, store_id: int, flow: Flow) -> tuple[bool, dict[str, Any]]:
    """(enabled, every setting with its current value) for one store."""
    row = session.execute(select(FlowConfig).where(
        FlowConfig.store_id == store_id, FlowConfig.flow == flow.name)).scalar_one_or_none()
    if row is None:
        return flow.enabled_by_default, defaults(flow)
    return row.enabled, {**defaults(flow), **row.settings}


def _parse(name: str, default: Any, value: Any) -> Any:
    if isinstance(default, bool):
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise FlowSettingError(f"{name}: use true or false")
    if isinstance(default, (int, float)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise FlowSettingError(f"{name}: {value!r} is not a number") from None
        if number < 0 or (name.endswith("_percent") and number > 100):
            raise FlowSettingError(f"{name}: out of range")
        return int(number) if isinstance(default, int) and number.is_integer() else number
    text = str(value).strip()
    if len(text) > 300:
        raise FlowSettingError(f"{name}: at most 300 characters")
    if name.endswith("_subject") and text:
        try:
            merchant_text.check(text)
        except merchant_text.MerchantTextError as error:
            raise FlowSettingError(f"{name}: {error}") from None
    return text


def validate(flow: Flow, changes: dict[str, Any]) -> dict[str, Any]:
    """Parse `name=value` changes against the flow's defaults; raise naming the first bad one."""
    known = defaults(flow)
    parsed = {}
    for name, value in changes.items():
        if name not in known:
            raise FlowSettingError(f"{flow.name} has no setting {name!r}; known: {', '.join(known)}")
        parsed[name] = _parse(name, known[name], value)
    return parsed


def save(session: Session, store_id: int, flow: Flow, *, enabled: bool | None = None,
         changes: dict[str, Any] | None = None) -> tuple[bool, dict[str, Any]]:
    """Store a toggle and/or validated changes. Runs under way keep the settings they began with."""
    current_enabled, current = effective(session, store_id, flow)
    stored = {name: value for name, value in {**current, **(changes or {})}.items()
              if defaults(flow).get(name) != value}
    on = current_enabled if enabled is None else enabled
    session.execute(insert(FlowConfig).values(
        store_id=store_id, flow=flow.name, enabled=on, settings=stored, updated_at=clock.now(),
    ).on_conflict_do_update(index_elements=["store_id", "flow"],
                            set_={"enabled": on, "settings": stored, "updated_at": clock.now()}))
    return on, {**defaults(flow), **stored}
