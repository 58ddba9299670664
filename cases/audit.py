"""What reviewers and auditors read: custody events filtered, an entry's proof explained, the
history of checkpoints and their consistency.

Who may read what is ``cases.access``: the events of an item or a case go with reading the
item or case; an entry's proof with reading the entry (an auditor of every agency: any
entry); the checkpoint history with the reviewer and auditor roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from cases import access
from cases.case_records import load_case
from cases.custody_index import EventFilter, LoggedEvent, entry_subjects, event_page, logged_event
from cases.errors import AccessDenied
from cases.evidence import visible_evidence
from cases.paging import Page
from cases.times import aware
from cases.users import ALL_AGENCIES, Role, User
from custody import schema
from custody.history import (
    CheckpointConsistency,
    HistoryPage,
    checkpoint_history,
    consistency_between,
)
from custody.log import CustodyLog
from custody.note import Verifier
from custody.proofs import InclusionWalk, explain_inclusion
from domain.event_types import EventType
from domain.messages import msg


def evidence_events(engine: Engine, user: User, evidence_id: str,
                    wanted: EventFilter) -> Page[LoggedEvent]:
    access.require_role(user, access.READ_EVIDENCE, msg("read custody events"))
    with engine.connect() as conn:
        visible_evidence(conn, user, evidence_id, msg("read the custody events of this evidence"))
    return event_page(engine, wanted, evidence_id=evidence_id)


def case_events(engine: Engine, user: User, case_id: str, wanted: EventFilter) -> Page[LoggedEvent]:
    access.require_role(user, access.READ_CASES, msg("read the custody events of cases"))
    with engine.connect() as conn:
        load_case(conn, case_id)
        access.require_case_access(conn, user, case_id, access.READ_CASES,
                                   msg("read the custody events of this case"))
    return event_page(engine, wanted, case_id=case_id)


def log_events(engine: Engine, user: User, wanted: EventFilter) -> Page[LoggedEvent]:
    """Every entry of the log, filtered: auditors of every agency."""
    access.require_log_wide(user, msg("search the whole custody log"))
    return event_page(engine, wanted)


# --- one entry's inclusion proof ----------------------------------------------------------

@dataclass(frozen=True)
class EntryProof:
    entry: LoggedEvent
    walk: InclusionWalk
    checkpoint_created_at: datetime | None


def entry_proof(log: CustodyLog, verifier: Verifier, origin: str | None, user: User, index: int,
                size: int | None = None) -> EntryProof:
    """Entry ``index`` proven in the signed tree of ``size`` (default: the latest), explained.

    A user who may read the entry (its item or its case) may read its proof; an auditor of
    every agency any entry's.
    """
    access.require_role(user, access.READ_EVIDENCE, msg("read custody proofs"))
    if not _log_wide(user):
        _require_reads_entry(log.engine, user, index)
    proof = log.inclusion_proof(index, size)
    walk = explain_inclusion(proof.index, proof.size, proof.leaf, proof.leaf_hash, proof.path,
                             proof.checkpoint, verifier, origin)
    cps = schema.checkpoints
    with log.engine.connect() as conn:
        created = conn.execute(select(cps.c.created_at).where(cps.c.note == proof.checkpoint)
                               .order_by(cps.c.id).limit(1)).scalar()
    return EntryProof(logged_event(proof.index, proof.leaf), walk,
                      aware(created) if created is not None else None)


def _log_wide(user: User) -> bool:
    return user.operator or (user.role is Role.AUDITOR and user.auditor_scope == ALL_AGENCIES)


def _require_reads_entry(engine: Engine, user: User, index: int) -> None:
    evidence_id, case_id = entry_subjects(engine, index)
    with engine.connect() as conn:
        if evidence_id is not None and access.sees_footage(conn, user, evidence_id):
            return
        if case_id is not None and user.role in access.READ_CASES \
                and access.sees_case(conn, user, case_id):
            return
    raise AccessDenied(msg("{user} may not read the proof of custody entry {index}: it names no evidence "
                           "or case they may read", user=user.name, index=index),
                       hint=msg("proofs of the entries listed with an item or a case you may read are open "
                                "to you; an auditor of every agency may read any entry's"))


# --- checkpoint history ---------------------------------------------------------------

@dataclass(frozen=True)
class Witnessed:
    """A checkpoint a finished verify recorded (in a custody event) that is no longer stored
    as it was: ``kind`` is ``missing`` (no checkpoint of that size) or ``forked`` (the stored
    ones of that size sign another root)."""

    kind: str
    seq: int  # the custody:verify:finished entry
    size: int
    root_hash: str
    message: str


@dataclass(frozen=True)
class History:
    page: HistoryPage
    witnessed: list[Witnessed]


def history(log: CustodyLog, verifier: Verifier, origin: str | None, user: User,
            offset: int = 0, limit: int = 50) -> History:
    access.require_role(user, access.CHECKPOINT_HISTORY, msg("read the checkpoint history"))
    page = checkpoint_history(log, verifier, origin, offset, limit)
    return History(page, _witnessed(log))


def _witnessed(log: CustodyLog) -> list[Witnessed]:
    """Checkpoints that intact verify runs saw and that are now gone or changed."""
    finished = event_page(log.engine, EventFilter(type=EventType.VERIFY_FINISHED, limit=10_000))
    cps = schema.checkpoints
    found: list[Witnessed] = []
    with log.engine.connect() as conn:
        for logged in finished.items:
            details = (logged.event or {}).get("details") or {}
            size, root = details.get("checkpoint_size"), details.get("root_hash")
            if not (details.get("ok") is True and isinstance(size, int) and isinstance(root, str)
                    and details.get("entries") == size):
                continue  # only an intact run checked a signed tree of exactly this root
            roots = {bytes(r).hex() for (r,) in conn.execute(
                select(cps.c.root_hash).where(cps.c.size == size))}
            if not roots:
                found.append(Witnessed("missing", logged.seq, size, root,
                                       f"the verify recorded in entry {logged.seq} checked a signed "
                                       f"checkpoint of size {size}; no checkpoint of that size is "
                                       "stored now: it was deleted"))
            elif root not in roots:
                found.append(Witnessed("forked", logged.seq, size, root,
                                       f"the verify recorded in entry {logged.seq} checked the root "
                                       f"{root} at size {size}; the checkpoints of that size stored "
                                       "now sign another root: the log was rewritten"))
    return found


def consistency(log: CustodyLog, verifier: Verifier, origin: str | None, user: User,
                old_number: int, new_number: int) -> CheckpointConsistency:
    access.require_role(user, access.CHECKPOINT_HISTORY, msg("check checkpoints for consistency"))
    return consistency_between(log, verifier, origin, old_number, new_number)
