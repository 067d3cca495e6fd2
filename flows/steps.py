"""The building blocks a flow is written in: steps, conditions and rules.

A flow reads as a merchant's playbook:

    steps=(Wait(hours="email_1_delay_hours"), Send("email_1"), ...)

Delays name a setting, so every number is the merchant's to change. Delays count from the run's
anchor: the last activity of what triggered it (a checkout's last update, the lapse date), or the
moment a `WaitUntil` saw its condition come true.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Callable, Union

from flows.describe import describe

if TYPE_CHECKING:
    from flows.context import RunContext

# A condition answers yes or no about a run (`first_order`, `shipped`).
Condition = Callable[["RunContext"], bool]
# A rule answers with a reason to stop (`"ordered"`), or None to go on.
Rule = Callable[["RunContext"], "str | None"]


def _delay(settings: dict, hours: str | None, days: str | None) -> timedelta:
    if hours is not None:
        return timedelta(hours=float(settings[hours]))
    if days is not None:
        return timedelta(days=float(settings[days]))
    return timedelta(0)


def rungs(value) -> list[float]:
    """A ladder setting's values (days), whether held as a list or, as before ladders, one
    number; flows.limits checked them when they were saved."""
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


@dataclass(frozen=True)
class Wait:
    """Wait until `hours` or `days` (a setting's name) after the anchor. On a ladder (a setting
    holding rising days, the first of which is the anchor) the wait counts from rung `stage`
    (0 is the first), or from the last rung when `stage` is None or beyond the ladder."""

    hours: str | None = None
    days: str | None = None
    ladder: str | None = None
    stage: int | None = None

    def until(self, anchor: datetime, settings: dict) -> datetime:
        moment = anchor + _delay(settings, self.hours, self.days)
        if self.ladder is None:
            return moment
        held = rungs(settings[self.ladder])
        rung = held[-1] if self.stage is None else held[min(self.stage, len(held) - 1)]
        return moment + timedelta(days=rung - held[0])


@dataclass(frozen=True)
class WaitUntil:
    """Wait for a condition to come true (re-checked whenever the subject changes); it moves the
    anchor to that moment. After `hours`/`days` from the anchor, `on_timeout` says what happens:
    "continue" goes on without it, "exit" ends the run."""

    condition: Condition
    hours: str | None = None
    days: str | None = None
    on_timeout: str = "continue"

    def deadline(self, anchor: datetime, settings: dict) -> datetime | None:
        if self.hours is None and self.days is None:
            return None
        return anchor + _delay(settings, self.hours, self.days)


@dataclass(frozen=True)
class Delay:
    """A built flow's wait: this long after the step before it ran, or for a first step, after
    the trigger (the engine moves a built flow's anchor to each step as it runs)."""

    duration: timedelta


@dataclass(frozen=True)
class Weekly:
    """A built flow's wait until the next `weekday` (0 is Monday) at `at` on the customer's
    clock (their zone as quiet hours find it), strictly after the step before it ran."""

    weekday: int
    at: time


@dataclass(frozen=True)
class Content:
    """What a built flow's email says (flows.document checked it): the merchant's subject,
    preheader, body and button, with placeholders rendered at send time."""

    subject: str
    body: str
    preheader: str = ""
    button_text: str = ""
    button_url: str = ""

    def message_context(self) -> dict[str, str]:
        """The words as an email's context holds them (app.mail.render reads them there)."""
        return {"subject": self.subject, "message": self.body, "preheader": self.preheader,
                "button_text": self.button_text, "button_url": self.button_url}


# The email of a built flow's send step: its words are the step's Content.
BUILT_TEMPLATE = "built/email"


@dataclass(frozen=True)
class Send:
    """Queue one email: the stored `email` (`flows/templates/<email>/`, e.g.
    "abandoned_checkout/email_1"), or for a built flow's `content` the built email template.
    `template` names the step (timelines, the merchant's texts). `marketing` overrides the
    flow's consent class for this step (a double opt-in confirmation is not marketing)."""

    template: str
    marketing: bool | None = None
    content: Content | None = None
    email: str | None = None

    @property
    def drawn_from(self) -> str:
        """The email it sends: its stored `email`, else the built email of its `content`."""
        return self.email or BUILT_TEMPLATE


@dataclass(frozen=True)
class Notify:
    """Email the store's staff (its reply-to address, else its sender address) about the run:
    the merchant's subject and body, with the customer's name and address."""

    id: str
    content: Content


@dataclass(frozen=True)
class Discount:
    """Ask the store for a unique single-use code for this customer (percent off, a setting),
    valid for `valid_days`; the following Send puts it in the email."""

    percent: str
    valid_days: str


@dataclass(frozen=True)
class Tag:
    """Add a tag to the customer (or take it off), here and at the store where the platform
    keeps tags (so the merchant can segment by it there)."""

    tag: str
    remove: bool = False


@dataclass(frozen=True)
class Score:
    """Give the customer `points` (a setting): what they have earned with the store, for an
    `If(score_at_least(...))` further on, in this flow or another."""

    points: str


@dataclass(frozen=True)
class Webhook:
    """POST a small signed JSON about the run to the merchant's https address (app sends it,
    after the step commits, outside the run's lock)."""

    id: str
    url: str


@dataclass(frozen=True)
class Sunset:
    """Stop marketing mail to the customer until they buy or opt in again."""


@dataclass(frozen=True)
class Exit:
    """End the run here, saying why."""

    reason: str


@dataclass(frozen=True)
class Decide:
    """Answer a Branch's condition once, when the run reaches it, and keep the answer: the
    steps of the side taken run even if the condition changes later."""

    id: str
    condition: Condition


@dataclass(frozen=True)
class Pick:
    """Choose a Split's side once, when the run reaches it, by a hash of the run (so the same
    run always lands on the same side), and keep it as a Decide keeps its answer."""

    id: str
    percents: tuple[int, ...]


Step = Union[Wait, Delay, Weekly, WaitUntil, Send, Notify, Discount, Tag, Score, Webhook, Sunset, Exit,
             Decide, Pick]


@dataclass(frozen=True)
class If:
    """Run `steps` only when `condition` holds at that moment."""

    condition: Condition
    steps: tuple[Step, ...]

    def __init__(self, condition: Condition, *steps: Step):
        object.__setattr__(self, "condition", condition)
        object.__setattr__(self, "steps", steps)


@dataclass(frozen=True)
class Branch:
    """Two paths: `then` when `condition` holds as the run reaches it, `otherwise` when not.
    `id` names the answer the run keeps (see Decide)."""

    id: str
    condition: Condition
    then: tuple
    otherwise: tuple = ()


@dataclass(frozen=True)
class Split:
    """A random A/B split: `sides` are (percent, steps), the percents adding up to 100. `id`
    names the side the run keeps (see Pick)."""

    id: str
    sides: tuple[tuple[int, tuple], ...]


# The run's data key holding each Decide's answer (True/False) and each Pick's side (its index),
# by branch or split id.
BRANCHES = "branches"


@dataclass(frozen=True)
class OnPath:
    """Holds when the run took these sides of these branches and splits: ((id, side), ...). Ids
    are unique in a flow, so a branch's bool never meets a split's index."""

    taken: tuple[tuple[str, bool | int], ...]

    def __call__(self, ctx: "RunContext") -> bool:
        answers = ctx.run.data.get(BRANCHES, {})
        return all(branch in answers and answers[branch] == side for branch, side in self.taken)


def step_name(step: Step) -> str:
    """A short name for timelines: the template for a Send, the branch for a Decide, the
    class otherwise."""
    if isinstance(step, Send):
        return step.template
    return step.id if isinstance(step, (Decide, Pick)) else type(step).__name__.lower()


@dataclass(frozen=True)
class PlannedStep:
    """A step with the condition (from an `If`, or the path to it) that must hold for it to
    run."""

    step: Step
    condition: Condition | None = None


def plan(steps: tuple, path: tuple[tuple[str, bool | int], ...] = ()) -> tuple[PlannedStep, ...]:
    """Flatten `If` blocks, `Branch` and `Split` trees into one list the run walks by index:
    each step carries the block's condition or the path of answers that leads to it."""
    on_path = OnPath(path) if path else None
    flat: list[PlannedStep] = []
    for item in steps:
        if isinstance(item, If):
            flat.extend(PlannedStep(step, item.condition) for step in item.steps)
        elif isinstance(item, Branch):
            flat.append(PlannedStep(Decide(item.id, item.condition), on_path))
            flat.extend(plan(item.then, (*path, (item.id, True))))
            flat.extend(plan(item.otherwise, (*path, (item.id, False))))
        elif isinstance(item, Split):
            flat.append(PlannedStep(Pick(item.id, tuple(p for p, _ in item.sides)), on_path))
            for side, (_, branch) in enumerate(item.sides):
                flat.extend(plan(branch, (*path, (item.id, side))))
        else:
            flat.append(PlannedStep(item, on_path))
    return tuple(flat)


MARKETING = "marketing"
TRANSACTIONAL = "transactional"

# Cross-flow priority: when two marketing flows want the same customer, the higher one goes first.
CHECKOUT, CART, BROWSE, LIFECYCLE, PROMOTIONAL = 40, 30, 20, 15, 10


@dataclass(frozen=True)
class EventTrigger:
    """Enroll when one of these domain events happens to a subject of this kind; for a segment
    event, only the segment of this name (the event carries its id); for a tag, only this tag."""

    events: tuple[str, ...]
    segment: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class AudienceTrigger:
    """Enroll whoever a daily audience query finds (win-back, birthday)."""

    query: Callable


@dataclass(frozen=True)
class Flow:
    """A prebuilt flow: what starts it, who may enter, what it does, and what stops it."""

    name: str
    title: str
    description: str
    trigger: EventTrigger | AudienceTrigger
    consent: str
    priority: int
    steps: tuple[Step | If | Branch | Split, ...]
    settings: dict  # merchant settings and their defaults
    entry: tuple[Rule, ...] = ()
    exit: tuple[Rule, ...] = ()
    # Events about the subject that count as new activity: they move an active run's anchor.
    activity: tuple[str, ...] = ()
    # Activity counts for any subject of the customer (views of other products), not just this one.
    activity_by_customer: bool = False
    # At most one run of this flow per customer within this many days (None: no limit).
    reentry_days: str | None = None
    # A trigger older than this many hours when it reaches us enrolls no one (a backfill, a
    # delivery retried for days).
    stale_after_hours: str | None = None
    # A send that guards deferred for more than this many hours is dropped, not sent late.
    drop_after_hours: str | None = None
    enabled_by_default: bool = False
    version: int = 1
    # A merchant's own flow (flows.built), not one of the prebuilt ones.
    built: bool = False
    planned: tuple[PlannedStep, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "planned", plan(self.steps))

    @property
    def marketing(self) -> bool:
        return self.consent == MARKETING

    def describe(self, settings: dict) -> str:
        """The description with the numbers of these settings (flows.describe)."""
        return describe(self.description, settings)
