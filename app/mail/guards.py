"""The checks before every send, made under the message's row lock by the outbox: the store
installed, the address not suppressed, and every registered send guard (app.wiring registers
the store's settings check, consent, the address's pause, a campaign's status and the flow
engine's exit rules). Each guard names what it reads; all of it is read in one statement."""
from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

from sqlalchemy import Label, Select, select
from sqlalchemy.orm import Session

from app.core import clock
from app.core.db import execute_core
from app.models import Message, Store, Suppression

# A check before every send, under the message's lock: a reason to cancel, or None. It is
# handed the row of what every guard reads (`register_send_guard`), by label.
SendGuard = Callable[[Session, Message, Mapping[str, Any]], "str | None"]
_guards: list[SendGuard] = []
# What the guards read: labelled scalar subqueries, all read in one statement after the row's
# lock (one round trip instead of one per guard), bound to the message's `message_id`,
# `store_id` and `email` and to `now`.
_reads: list[Label] = []
# Readers that read the guards' reads together with rows of their own in one statement, for the
# messages they know (app.wiring registers the flows' run context): (session, message, reads,
# params) -> the row by label, or None for a message they do not know. The params hold, by
# label, what the readers asked to be read with the message's claim too (`claim_reads`).
Reader = Callable[[Session, Message, tuple, Mapping[str, Any]], "Mapping[str, Any] | None"]
_readers: list[Reader] = []
# Labelled columns over the claimed message's row that readers need before they read (the kind
# of its run's subject), read in the claim's own statement: a round trip less than asking after.
_claim_reads: list[Label] = []
# What the guards' reads are bound to (`_read`): no claim read may take one of these names.
_PARAMS = ("message_id", "store_id", "email", "now")


def register_send_guard(guard: SendGuard, reads: tuple[Label, ...] = ()) -> None:
    """Add a check run before every send (once), and what it `reads` (labelled scalar
    subqueries over `:message_id`, `:store_id`, `:email` and `:now`); it returns a reason to
    cancel, or None."""
    if guard not in _guards:
        _guards.append(guard)
    _reads.extend(read for read in reads if read not in _reads)


def register_send_reader(reader: Reader, with_claim: tuple[Label, ...] = ()) -> None:
    """Add a reader of the guards' reads (once); the first that knows a message reads them.
    `with_claim`: labelled columns over the message's row (`messages`) read with its claim and
    handed to the reader in its params."""
    taken = [read.key for read in with_claim if read.key in _PARAMS]
    if taken:  # it would be overridden by the guards' own parameter of that name
        raise ValueError(f"a claim read may not be labelled {', '.join(taken)}")
    if reader not in _readers:
        _readers.append(reader)
    _claim_reads.extend(read for read in with_claim if read not in _claim_reads)


def claim_reads() -> tuple[Label, ...]:
    """What the outbox reads with a message's claim for the readers."""
    return tuple(_claim_reads)


@functools.cache
def _reading(reads: tuple[Label, ...]) -> Select:
    """The guards' reads as one statement, built once: building it costs about its round trip."""
    return select(*reads)


def _read(session: Session, message: Message, claimed: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the guards read, in one statement: run after the row's lock, so it sees what the
    lock's last holder committed."""
    reads, params = tuple(_reads), {**claimed, "message_id": message.id,
                                    "store_id": message.store_id, "email": message.email,
                                    "now": clock.now()}
    for reader in _readers:
        read = reader(session, message, reads, params)
        if read is not None:
            return read
    return execute_core(session, _reading(reads), params).one()._mapping if reads else {}


def blocked(session: Session, message: Message, store: Store, suppression: Suppression | None,
            claimed: Mapping[str, Any] | None = None) -> str | None:
    """Why the locked `message` may not go now (its store uninstalled, its address suppressed,
    any registered guard's reason), or None. `claimed`: the `claim_reads` read with its lock."""
    if not store.installed:
        return "store uninstalled"
    if suppression and (message.marketing or suppression.blocks_transactional):
        return f"suppressed: {suppression.reason}"
    read = _read(session, message, claimed or {})
    for guard in _guards:
        reason = guard(session, message, read)
        if reason:
            return reason
    return None
