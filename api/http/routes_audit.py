"""Reviewers and auditors: custody events filtered, an entry's proof explained, the history
of checkpoints and their consistency, and the verify as a background job.

The rules (who reads which events, proofs and jobs) are in ``cases.audit``,
``cases.verify_jobs`` and ``cases.access``.
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from api.http.auth import CurrentUser
from api.http.convert import event_out, report_out
from api.http.errors import LocaleDep, responses
from api.http.models import MAX_INT, InclusionProofOut, UtcTime
from api.http.models_audit import (
    BreakOut,
    CheckpointConsistencyOut,
    CheckpointHistoryOut,
    CheckpointOut,
    EntryProofOut,
    EventPage,
    HistoryItemOut,
    NumberedCheckpointOut,
    ProofStepOut,
    VerifyJobIn,
    VerifyJobOut,
    VerifyJobPage,
    VerifyProgressOut,
    WitnessedOut,
)
from api.http.services import ServicesDep
from api.i18n import tr
from cases.audit import (
    case_events,
    consistency,
    entry_proof,
    evidence_events,
    history,
    log_events,
)
from cases.custody_index import EventFilter, LoggedEvent
from cases.paging import MAX_PAGE, Page
from cases.text import TEXT_PATTERN
from cases.verify_jobs import VerifyJob
from custody.history import StoredNote
from custody.proofs import CheckpointCheck
from domain.event_types import EventType

router = APIRouter(tags=["audit"])

ActorQuery = Annotated[str | None, Query(max_length=512, pattern=TEXT_PATTERN, description=(
    "Exactly the event's actor, e.g. `user:li.na`, `cli:root`, `station:office-3`."))]
TypeQuery = Annotated[EventType | None, Query(description="One event type.")]
FromQuery = Annotated[UtcTime | None, Query(alias="from", description=(
    "Events at or after this time (ISO 8601 with a UTC offset, e.g. 2024-03-15T09:30:00+08:00)."))]
ToQuery = Annotated[UtcTime | None, Query(description="Events before this time.")]
OrderQuery = Annotated[Literal["oldest", "newest"], Query(description="Which come first.")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_INT)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE)]
FILTER_DOC = ("Filtered by `actor`, `type` and time (`from` inclusive, `to` exclusive), in "
              "pages; each event carries its `seq`, whose proof is "
              "GET /custody/entries/{seq}/proof.")


def _filter(actor: str | None, event_type: EventType | None, start: UtcTime | None,
            end: UtcTime | None, order: str, offset: int, limit: int) -> EventFilter:
    return EventFilter(actor=actor, type=event_type.value if event_type else None,
                       time_from=start, time_to=end, newest_first=order == "newest",
                       offset=offset, limit=limit)


def _events_out(page: Page[LoggedEvent]) -> EventPage:
    return EventPage(items=[event_out(e) for e in page.items], total=page.total,
                     offset=page.offset, limit=page.limit, next_offset=page.next_offset)


@router.get("/evidence/{evidence_id}/events", response_model=EventPage,
            responses=responses(400, 401, 403, 404), summary="Custody events of an item",
            description="Whoever may read the item (see the role table). " + FILTER_DOC)
def evidence_event_list(evidence_id: UUID, services: ServicesDep, user: CurrentUser,
                        actor: ActorQuery = None, type: TypeQuery = None,
                        start: FromQuery = None, to: ToQuery = None,
                        order: OrderQuery = "oldest", offset: OffsetQuery = 0,
                        limit: LimitQuery = 100) -> EventPage:
    return _events_out(evidence_events(services.engine, user, str(evidence_id),
                                       _filter(actor, type, start, to, order, offset, limit)))


@router.get("/cases/{case_id}/events", response_model=EventPage,
            responses=responses(400, 401, 403, 404), summary="Custody events of a case",
            description="Whoever may read the case. " + FILTER_DOC)
def case_event_list(case_id: UUID, services: ServicesDep, user: CurrentUser,
                    actor: ActorQuery = None, type: TypeQuery = None,
                    start: FromQuery = None, to: ToQuery = None,
                    order: OrderQuery = "oldest", offset: OffsetQuery = 0,
                    limit: LimitQuery = 100) -> EventPage:
    return _events_out(case_events(services.engine, user, str(case_id),
                                   _filter(actor, type, start, to, order, offset, limit)))


@router.get("/custody/events", response_model=EventPage, responses=responses(400, 401, 403),
            summary="Custody events of the whole log",
            description="Auditors of every agency (scope `*`). " + FILTER_DOC)
def log_event_list(services: ServicesDep, user: CurrentUser,
                   actor: ActorQuery = None, type: TypeQuery = None,
                   start: FromQuery = None, to: ToQuery = None,
                   order: OrderQuery = "oldest", offset: OffsetQuery = 0,
                   limit: LimitQuery = 100) -> EventPage:
    return _events_out(log_events(services.engine, user,
                                  _filter(actor, type, start, to, order, offset, limit)))


def _checkpoint_out(check: CheckpointCheck, key_name: str) -> CheckpointOut:
    return CheckpointOut(note=check.note, origin=check.origin, size=check.size,
                         root_hash=check.root_hash.hex() if check.root_hash else None,
                         signature_ok=check.signature_ok, key_name=key_name, problem=check.problem)


@router.get("/custody/entries/{index}/proof", response_model=EntryProofOut,
            responses=responses(401, 403, 404), summary="An entry's inclusion proof, explained")
def entry_proof_route(index: Annotated[int, Path(ge=0, le=MAX_INT)], services: ServicesDep,
                      user: CurrentUser,
                      size: Annotated[int | None, Query(ge=1, le=MAX_INT, description=(
                          "A signed tree size; default the latest checkpoint's."))] = None,
                      ) -> EntryProofOut:
    """Whoever may read the entry (an event of an item or case they may read); auditors of
    every agency any entry. The leaf hash of the entry's bytes, each step up the tree (the
    sibling, its side and the hash of the two), the root reached, the signed checkpoint and
    whether its signature verifies with the log's key, and the server's verdict. A proof
    that fails is answered with `verified: false` and the reasons, not an error."""
    found = entry_proof(services.log, services.verifier, services.origin, user, index, size)
    walk = found.walk
    steps = []
    previous = walk.leaf_hash
    for step in walk.steps:
        left, right = (step.sibling, previous) if step.side == "left" else (previous, step.sibling)
        steps.append(ProofStepOut(sibling=step.sibling.hex(), side=step.side,  # type: ignore[arg-type]
                                  first=step.first, end=step.end, left=left.hex(),
                                  right=right.hex(), hash=step.result.hex()))
        previous = step.result
    document = walk.document()
    return EntryProofOut(
        entry=event_out(found.entry), index=walk.index, size=walk.size,
        leaf=base64.b64encode(walk.leaf).decode(), leaf_hash=walk.leaf_hash.hex(),
        stored_leaf_hash=walk.stored_leaf_hash.hex(), steps=steps, root=walk.root.hex(),
        checkpoint=_checkpoint_out(walk.checkpoint, services.verifier.name),
        checkpoint_created_at=found.checkpoint_created_at, verified=walk.verified,
        problems=list(walk.problems), offline_check=walk.offline_check,
        document=InclusionProofOut(**document))


@router.get("/custody/checkpoints", response_model=CheckpointHistoryOut,
            responses=responses(401, 403), summary="Checkpoint history")
def checkpoint_list(services: ServicesDep, user: CurrentUser, offset: OffsetQuery = 0,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> CheckpointHistoryOut:
    """Reviewers and auditors. Every checkpoint ever signed, newest first, each checked: its
    signature, its root against the entries now, and that it extends the one stored before
    it (RFC 9162 consistency). What does not hold is a `break` on the checkpoint; nothing is
    left out of the list. `witnessed` names checkpoints a finished verify recorded that are
    no longer stored as they were."""
    found = history(services.log, services.verifier, services.origin, user, offset, limit)
    page, key = found.page, services.verifier.name
    items = [HistoryItemOut(number=i.number, size=i.size, root_hash=i.root_hash.hex(),
                            created_at=i.created_at, checkpoint=_checkpoint_out(i.check, key),
                            previous=i.previous, compared_with=i.compared_with,
                            breaks=[BreakOut(kind=b.kind, message=b.message)  # type: ignore[arg-type]
                                    for b in i.breaks])
             for i in page.items]
    return CheckpointHistoryOut(
        log_size=page.log_size, items=items, total=page.total, offset=page.offset,
        limit=page.limit, next_offset=page.next_offset,
        witnessed=[WitnessedOut(kind=w.kind, seq=w.seq, size=w.size,  # type: ignore[arg-type]
                                root_hash=w.root_hash, message=w.message)
                   for w in found.witnessed])


def _numbered(note: StoredNote, key_name: str) -> NumberedCheckpointOut:
    return NumberedCheckpointOut(number=note.number, created_at=note.created_at,
                                 checkpoint=_checkpoint_out(note.check, key_name))


@router.get("/custody/checkpoints/consistency", response_model=CheckpointConsistencyOut,
            responses=responses(401, 403, 404), summary="Consistency of two checkpoints")
def checkpoint_consistency(services: ServicesDep, user: CurrentUser,
                           old: Annotated[int, Query(ge=1, le=MAX_INT, description=(
                               "Number of the older checkpoint."))],
                           new: Annotated[int, Query(ge=1, le=MAX_INT, description=(
                               "Number of the newer checkpoint."))]) -> CheckpointConsistencyOut:
    """Reviewers and auditors: whether the tree the newer checkpoint signs extends the one
    the older signs, by an RFC 9162 consistency proof built from the stored nodes and checked
    against both signed roots. A failure is `verified: false` with the reason."""
    found = consistency(services.log, services.verifier, services.origin, user, old, new)
    key = services.verifier.name
    return CheckpointConsistencyOut(old=_numbered(found.old, key), new=_numbered(found.new, key),
                                    log_size=found.log_size,
                                    proof=[node.hex() for node in found.result.proof],
                                    verified=found.result.verified, problem=found.result.problem)


def _job_out(job: VerifyJob, locale: str) -> VerifyJobOut:
    """The job, its report's sentences and its error in ``locale``."""
    return VerifyJobOut(
        id=job.id, state=job.state.value, objects=job.objects,
        requested_by=job.requested_by, requested_at=job.requested_at,
        started_at=job.started_at, finished_at=job.finished_at,
        progress=VerifyProgressOut(phase=job.phase, checked=job.checked, total=job.total),
        ok=job.ok, report=report_out(job.report, locale) if job.report is not None else None,
        error=None if job.error is None else tr(job.error, locale))


@router.post("/verify/jobs", response_model=VerifyJobOut, status_code=202,
             responses={200: {"description": "A verify was already queued or running: that "
                                             "job.", "model": VerifyJobOut},
                        **responses(400, 401, 403, 409, 503)},
             summary="Start a verify in the background")
def start_verify(body: VerifyJobIn, response: Response, services: ServicesDep,
                 user: CurrentUser, locale: LocaleDep) -> VerifyJobOut:
    """Auditors of every agency (scope `*`). Starts the verify of GET /verify in the server
    (202), or returns the one already queued or running (200): one at a time. It goes on if
    the client goes away. Events `custody:verify:started` and, at its end,
    `custody:verify:finished` with the verdict."""
    job, started = services.verify_jobs.start(user, body.objects)
    if not started:
        response.status_code = 200
    return _job_out(job, locale)


@router.get("/verify/jobs", response_model=VerifyJobPage, responses=responses(401, 403),
            summary="Verify jobs")
def verify_job_list(services: ServicesDep, user: CurrentUser, locale: LocaleDep, offset: OffsetQuery = 0,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> VerifyJobPage:
    """Auditors of every agency: the jobs, newest first."""
    page = services.verify_jobs.list(user, offset, limit)
    return VerifyJobPage(items=[_job_out(j, locale) for j in page.items], total=page.total,
                         offset=page.offset, limit=page.limit, next_offset=page.next_offset)


@router.get("/verify/jobs/{job_id}", response_model=VerifyJobOut,
            responses=responses(401, 403, 404), summary="A verify job and its progress")
def verify_job(job_id: UUID, services: ServicesDep, user: CurrentUser,
               locale: LocaleDep) -> VerifyJobOut:
    """Auditors of every agency: state (`queued`, `running`, `done`, `failed`), progress
    (the phase, and items checked of the total), and the report once done."""
    return _job_out(services.verify_jobs.get(user, str(job_id)), locale)
