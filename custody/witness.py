"""A C2SP tlog-witness (c2sp.org/tlog-witness): the outside party that cosigns a log's
checkpoints only while they extend what it cosigned before.

Run by another body (the supervision platform, a procuratorate) with its own key and its
own database. For each log it witnesses (origin and the log's verifier key) it keeps the
latest checkpoint it cosigned. ``add_checkpoint`` implements the protocol's checks in its
order and answers with the documented status codes; the check of the old size and the
update are one conditional UPDATE, so two requests can never roll the record back.
A request with a valid log signature that is refused (a proof that does not verify, a
second root at one size, a size going backwards) is kept as evidence of misbehaviour.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from custody.checkpoint import Checkpoint, CheckpointError, parse_checkpoint_body
from custody.cosignature import Cosigner
from custody.merkle import EMPTY_ROOT, ProofError, verify_consistency
from custody.note import NoteError, Verifier, open_note, parse_note

MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024
SIZE_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")

witness_metadata = MetaData()

witnessed = Table(  # the latest checkpoint cosigned, per log
    "witnessed_logs", witness_metadata,
    Column("origin", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("checkpoint", Text, nullable=False),  # the log's note with this witness's cosignature
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

refusals = Table(  # signed requests refused: evidence of a fork or a rollback
    "witness_refusals", witness_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("request", Text, nullable=False),
    Column("known_size", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Refusal:
    origin: str
    status: int
    reason: str
    request: str
    known_size: int
    received_at: datetime


def _parse_request(body: bytes) -> tuple[int, list[bytes], str] | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head, separator, note = text.partition("\n\n")
    if not separator:
        return None
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if match is None or len(lines) - 1 > MAX_PROOF_LINES:
        return None
    proof = []
    for line in lines[1:]:
        try:
            element = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(element) != 32 or base64.b64encode(element).decode() != line:
            return None
        proof.append(element)
    return int(match.group(1)), proof, note


class Witness:
    """The witness's state and its one operation."""

    def __init__(self, engine: Engine, cosigner: Cosigner, logs: Mapping[str, Verifier],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self.cosigner = cosigner
        self.logs = dict(logs)
        self.clock = clock
        witness_metadata.create_all(engine)

    def add_checkpoint(self, body: bytes) -> Answer:
        if len(body) > MAX_BODY:
            return Answer(400, "request too large\n")
        parsed = _parse_request(body)
        if parsed is None:
            return Answer(400, "malformed request: an old line, proof lines, a blank line, "
                          "then the checkpoint\n")
        old, proof, note = parsed
        try:
            text = parse_note(note).text
            origin = text.split("\n", 1)[0]
        except NoteError:
            return Answer(403, "the checkpoint is not a signed note\n")
        verifier = self.logs.get(origin)
        if verifier is None:
            return Answer(404, "unknown log\n")
        try:
            checkpoint = parse_checkpoint_body(open_note(note, [verifier]))
        except (NoteError, CheckpointError):
            return Answer(403, "no valid signature by the log's key\n")
        if old > checkpoint.size:
            return Answer(400, "the old size is larger than the checkpoint's\n")
        return self._advance(origin, old, proof, checkpoint, note)

    def _advance(self, origin: str, old: int, proof: list[bytes], checkpoint: Checkpoint,
                 note: str) -> Answer:
        known = self._known(origin)
        known_size, known_root = known if known else (0, EMPTY_ROOT)
        if old != known_size:
            if checkpoint.size < known_size or (checkpoint.size == known_size
                                                and checkpoint.root_hash != known_root):
                self._refuse(origin, 409, "a checkpoint behind or beside the one cosigned",
                             old, proof, note, known_size)
            return Answer(409, f"{known_size}\n", SIZE_TYPE)
        if old == checkpoint.size and checkpoint.root_hash != known_root:
            self._refuse(origin, 409, "a second root at the size cosigned", old, proof, note,
                         known_size)
            return Answer(409, f"{known_size}\n", SIZE_TYPE)
        try:
            verify_consistency(old, checkpoint.size, known_root, checkpoint.root_hash, proof)
        except ProofError as exc:
            self._refuse(origin, 422, f"consistency proof refused: {exc}", old, proof, note,
                         known_size)
            return Answer(422, "the consistency proof does not verify\n")
        now = self.clock()
        line = self.cosigner.sign(parse_note(note).text, int(now.timestamp())).line()
        if not self._store(origin, known, checkpoint, note + line, now):
            latest = self._known(origin)
            return Answer(409, f"{latest[0] if latest else 0}\n", SIZE_TYPE)
        return Answer(200, line)

    def _known(self, origin: str) -> tuple[int, bytes] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(witnessed.c.size, witnessed.c.root_hash)
                               .where(witnessed.c.origin == origin)).first()
        return (int(row.size), bytes(row.root_hash)) if row else None

    def _store(self, origin: str, known: tuple[int, bytes] | None, checkpoint: Checkpoint,
               cosigned: str, now: datetime) -> bool:
        """Record the new checkpoint only if the record is still ``known`` (atomic)."""
        values = {"size": checkpoint.size, "root_hash": checkpoint.root_hash,
                  "checkpoint": cosigned, "updated_at": now}
        with self.engine.begin() as conn:
            if known is None:
                try:
                    conn.execute(insert(witnessed).values(origin=origin, **values))
                except SqlIntegrityError:
                    return False
                return True
            done = conn.execute(update(witnessed).where(
                witnessed.c.origin == origin, witnessed.c.size == known[0],
                witnessed.c.root_hash == known[1]).values(**values))
            return done.rowcount == 1

    def _refuse(self, origin: str, status: int, reason: str, old: int, proof: list[bytes],
                note: str, known_size: int) -> None:
        request = f"old {old}\n" + "".join(base64.b64encode(p).decode() + "\n" for p in proof)
        with self.engine.begin() as conn:
            conn.execute(insert(refusals).values(
                origin=origin, status=status, reason=reason, request=request + "\n" + note,
                known_size=known_size, received_at=self.clock()))

    def latest(self, origin: str) -> str | None:
        """The latest checkpoint cosigned for ``origin``, with the cosignature line."""
        with self.engine.connect() as conn:
            return conn.execute(select(witnessed.c.checkpoint)
                                .where(witnessed.c.origin == origin)).scalar()

    def refusals(self, origin: str | None = None) -> list[Refusal]:
        query = select(refusals).order_by(refusals.c.id)
        if origin is not None:
            query = query.where(refusals.c.origin == origin)
        with self.engine.connect() as conn:
            return [Refusal(r.origin, r.status, r.reason, r.request, r.known_size,
                            r.received_at) for r in conn.execute(query)]
