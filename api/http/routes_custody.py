"""The custody log for auditors: checkpoint, key, entries, proofs, verify report."""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from api.http.auth import CurrentUser
from api.http.convert import report_out
from api.http.errors import LocaleDep, responses, text_route_responses
from api.http.models import (
    MAX_INT,
    ConsistencyProofOut,
    EntryOut,
    EntryPage,
    InclusionProofOut,
    VerifyReportOut,
)
from api.http.services import ServicesDep
from api.verify_run import run_verify
from cases import access
from custody.cosigned import cosigned_checkpoint
from domain.errors import NotFound
from domain.messages import msg

router = APIRouter(tags=["custody"])
MAX_ENTRIES = 1000
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


@router.get("/custody/checkpoint", response_class=PlainTextResponse,
            responses={200: {"description": "The latest signed checkpoint (C2SP signed note).",
                             **_TEXT}, **text_route_responses(401, 404)},
            summary="Latest signed checkpoint")
def checkpoint(services: ServicesDep, user: CurrentUser) -> PlainTextResponse:
    access.require_role(user, access.CUSTODY_PUBLIC, msg("read the checkpoint"))
    latest = services.log.latest_checkpoint()
    if latest is None:
        raise NotFound(msg("the custody log has no checkpoint yet"),
                       hint=msg("it gets one with its first event"))
    return PlainTextResponse(latest.note, headers={"Cache-Control": "no-cache"})


@router.get("/custody/checkpoint/cosigned", response_class=PlainTextResponse,
            responses={200: {"description": "The newest checkpoint the witnesses cosigned, with "
                             "their cosignature lines (C2SP signed note).", **_TEXT},
                       **text_route_responses(401, 404)},
            summary="Newest cosigned checkpoint")
def cosigned(services: ServicesDep, user: CurrentUser) -> PlainTextResponse:
    access.require_role(user, access.CUSTODY_PUBLIC, "read the checkpoint")
    note = cosigned_checkpoint(services.engine)
    if note is None:
        raise NotFound(msg("no checkpoint is cosigned by a witness yet"),
                       hint=msg("the station's witnesses are set in EVIDENCE_WITNESSES_FILE"))
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


@router.get("/custody/key", response_class=PlainTextResponse,
            responses={200: {"description": "The C2SP verifier key string.", **_TEXT},
                       **text_route_responses(401)},
            summary="Verifier key")
def verifier_key(services: ServicesDep, user: CurrentUser) -> PlainTextResponse:
    access.require_role(user, access.CUSTODY_PUBLIC, msg("read the verifier key"))
    return PlainTextResponse(services.verifier.vkey() + "\n")


@router.get("/custody/entries", response_model=EntryPage, responses=responses(401, 403),
            summary="Log entries, exact bytes")
def entries(services: ServicesDep, user: CurrentUser,
            start: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
            limit: Annotated[int, Query(ge=1, le=MAX_ENTRIES)] = 100) -> EntryPage:
    """Auditors of every agency (scope `*`). `leaf` is each entry's exact bytes in base64."""
    access.require_log_wide(user, msg("read the custody log"))
    size = services.log.size()
    rows = list(services.log.entries(start, min(start + limit, size)))
    out = [EntryOut(seq=seq, leaf=base64.b64encode(leaf).decode(),
                    leaf_hash=hashlib.sha256(b"\x00" + leaf).hexdigest()) for seq, leaf in rows]
    following = start + len(out)
    return EntryPage(size=size, start=start, entries=out,
                     next_start=following if out and following < size else None)


@router.get("/custody/proof/inclusion", response_model=InclusionProofOut,
            responses=responses(401, 403, 404), summary="Inclusion proof")
def inclusion(services: ServicesDep, user: CurrentUser,
              index: Annotated[int, Query(ge=0, le=MAX_INT)],
              size: Annotated[int | None, Query(ge=1, le=MAX_INT,
                                                description="A signed size; default latest.")] = None,
              ) -> InclusionProofOut:
    """Auditors of every agency (scope `*`): entry `index` is in the signed tree of `size`."""
    access.require_log_wide(user, msg("read custody proofs"))
    return InclusionProofOut(**services.log.inclusion_proof(index, size).to_json())


@router.get("/custody/proof/consistency", response_model=ConsistencyProofOut,
            responses=responses(401, 403, 404), summary="Consistency proof")
def consistency(services: ServicesDep, user: CurrentUser,
                old: Annotated[int, Query(ge=0, le=MAX_INT)],
                new: Annotated[int | None, Query(ge=0, le=MAX_INT,
                                                 description="Default: latest.")] = None,
                ) -> ConsistencyProofOut:
    """Auditors of every agency (scope `*`): the signed tree of `old` is a prefix of the one
    of `new`."""
    access.require_log_wide(user, msg("read custody proofs"))
    return ConsistencyProofOut(**services.log.consistency_proof(old, new).to_json())


@router.get("/verify", response_model=VerifyReportOut, responses=responses(401, 403, 503),
            summary="Verify the whole log")
def verify(services: ServicesDep, user: CurrentUser, locale: LocaleDep,
           objects: Annotated[bool, Query(description="Also re-hash every stored object "
                                                      "an event names (slow).")] = False,
           ) -> VerifyReportOut:
    """Auditors of every agency (scope `*`): the same report as `evidence verify --json`, its
    problems and notes in the Accept-Language."""
    access.require_log_wide(user, msg("run the verifier"))
    report = run_verify(services.engine, services.store, services.verifier, services.origin,
                        objects=objects)
    return report_out(report.to_json(), locale)
