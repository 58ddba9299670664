"""RFC 3161 time-stamps of checkpoints: proof, from outside the agency, that a checkpoint
(and so every entry it covers) existed by a time no one inside controls.

A time-stamping authority (TSA) signs SHA-256 of a signed checkpoint note. The log keeps
the TSA's whole response by the checkpoint's size. Only the newest checkpoint needs a
token at any time: an older entry is covered by any later checkpoint through a
consistency proof. Asking the TSA is the caller's (``api/timestamping.py``); this module
builds the request, accepts only a response that verifies against the trusted roots and
answers the request, stores it, and checks every stored token for ``verify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from rfc3161_client import (
    TimeStampRequest,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)
from sqlalchemy import Engine, func, insert, select

from custody.report import VerifyReport
from custody.results import StoredCheckpoint
from custody.schema import checkpoints, timestamps
from domain.errors import IntegrityError
from domain.messages import msg


class TimestampError(IntegrityError):
    """A TSA's answer that cannot be used as a time-stamp of the checkpoint asked about."""


@dataclass(frozen=True)
class Timestamp:
    size: int
    gen_time: datetime
    tsa: str


def request_for(note: str) -> TimeStampRequest:
    """A request over SHA-256 of the signed note, with a nonce, asking for the TSA's
    certificate in the token (so it verifies offline against a root alone)."""
    return (TimestampRequestBuilder().data(note.encode("utf-8")).nonce(nonce=True)
            .cert_request(cert_request=True).build())


def _verifier(roots: Sequence[x509.Certificate], request: TimeStampRequest | None = None) -> object:
    builder = VerifierBuilder.from_request(request) if request is not None else VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    return builder.build()


def _check(response: TimeStampResponse, note: str, roots: Sequence[x509.Certificate],
           request: TimeStampRequest | None = None) -> None:
    try:
        _verifier(roots, request).verify_message(response, note.encode("utf-8"))  # type: ignore[attr-defined]
    except (VerificationError, ValueError) as exc:
        raise TimestampError(msg("the time-stamp does not verify: {reason}", reason=exc),
                             hint=msg("check the TSA and the roots trusted for it "
                                      "(EVIDENCE_TSA_ROOTS)")) from None


def accept(checkpoint: StoredCheckpoint, request: TimeStampRequest, answer: bytes,
           roots: Sequence[x509.Certificate]) -> TimeStampResponse:
    """The TSA's ``answer`` to ``request`` about ``checkpoint``, if it is a granted token
    that chains to ``roots``, carries the request's nonce and the note's digest."""
    if not roots:
        raise TimestampError(msg("no trusted root for the TSA is configured"),
                             hint=msg("set EVIDENCE_TSA_ROOTS to the TSA's CA certificate (PEM)"))
    try:
        response = decode_timestamp_response(answer)
    except (ValueError, TypeError) as exc:
        raise TimestampError(msg("the TSA's answer is not an RFC 3161 response: {reason}", reason=exc),
                             hint=msg("check EVIDENCE_TSA_URL names a time-stamping service")) from None
    _check(response, checkpoint.note, roots, request)
    return response


def record(engine: Engine, checkpoint: StoredCheckpoint, response: TimeStampResponse, tsa: str,
           now: datetime | None = None) -> Timestamp:
    gen_time = _aware(response.tst_info.gen_time)
    with engine.begin() as conn:
        conn.execute(insert(timestamps).values(
            size=checkpoint.size, note_sha256=hashlib.sha256(checkpoint.note.encode()).digest(),
            response=response.as_bytes(), tsa=tsa, gen_time=gen_time,
            created_at=now or datetime.now(UTC)))
    return Timestamp(checkpoint.size, gen_time, tsa)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def newest(engine: Engine) -> Timestamp | None:
    with engine.connect() as conn:
        row = conn.execute(select(timestamps.c.size, timestamps.c.gen_time, timestamps.c.tsa)
                           .order_by(timestamps.c.size.desc()).limit(1)).first()
    return Timestamp(row.size, _aware(row.gen_time), row.tsa) if row else None


def untimestamped(engine: Engine) -> StoredCheckpoint | None:
    """The newest checkpoint, if it is newer than the newest one time-stamped."""
    with engine.connect() as conn:
        stamped = conn.execute(select(func.max(timestamps.c.size))).scalar()
        row = conn.execute(select(checkpoints).order_by(checkpoints.c.size.desc(),
                                                        checkpoints.c.id.desc()).limit(1)).first()
    if row is None or (stamped is not None and row.size <= stamped):
        return None
    return StoredCheckpoint(row.size, row.root_hash, row.note, _aware(row.created_at))


def check_timestamps(engine: Engine, report: VerifyReport,
                     roots: Sequence[x509.Certificate] | None) -> None:
    """Add to ``report`` what the stored time-stamps prove: each must be over the signed
    checkpoint of its size and verify against ``roots``; without roots, a note says they
    were not checked."""
    with engine.connect() as conn:
        rows = conn.execute(select(timestamps).order_by(timestamps.c.size)).all()
        notes = {row.size: row.note for row in conn.execute(
            select(checkpoints.c.size, checkpoints.c.note).where(
                checkpoints.c.size.in_([r.size for r in rows])))} if rows else {}
    if not rows:
        report.notes.append(msg("no checkpoint is time-stamped by an outside authority"))
        return
    if roots is None:
        report.notes.append(msg("{count} time-stamps were not checked: give the TSA's root certificate "
                                "(--tsa-roots or EVIDENCE_TSA_ROOTS)", count=len(rows)))
        return
    report.checks.append("timestamps")
    for row in rows:
        note = notes.get(row.size)
        if note is None or hashlib.sha256(note.encode()).digest() != row.note_sha256:
            report.add("timestamp", msg("the time-stamp of size {size} is over a checkpoint the log no "
                                        "longer holds", size=row.size), row.size)
            continue
        try:
            _check(decode_timestamp_response(row.response), note, roots)
        except (TimestampError, ValueError) as exc:
            report.add("timestamp", msg("the time-stamp of size {size}: {error}", size=row.size, error=exc),
                       row.size)
    last = rows[-1]
    report.notes.append(msg("newest time-stamp: checkpoint size {size}, by {time} ({tsa})",
                            size=last.size, time=_aware(last.gen_time).isoformat(), tsa=last.tsa))
