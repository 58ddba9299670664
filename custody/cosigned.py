"""The log's side of witnessing: the cosignatures it got, the request it sends, and the
check that the log is neither behind nor beside what its witnesses cosigned.

The check is what catches an insider's rollback: with write access to the database and
no key, entries, checkpoints and derived state can be cut back consistently, but the
witnesses keep the largest checkpoint they cosigned, out of the agency's reach.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from custody.checkpoint import Checkpoint, CheckpointError, parse_checkpoint_body
from custody.cosignature import CosignerKey, cosignatures
from custody.merkle import root_from_leaf_hashes
from custody.note import NoteError, Verifier, open_note
from custody.report import VerifyReport
from custody.results import StoredCheckpoint
from custody.schema import checkpoints, entries
from custody.schema import cosignatures as cosignature_rows
from domain.messages import msg


def add_checkpoint_request(old: int, proof: Sequence[bytes], note: str) -> bytes:
    """The body of a tlog-witness add-checkpoint request."""
    lines = [f"old {old}\n", *(base64.b64encode(p).decode() + "\n" for p in proof), "\n"]
    return ("".join(lines) + note).encode("utf-8")


def last_cosigned(engine: Engine, witness: str) -> int:
    with engine.connect() as conn:
        size = conn.execute(select(func.max(cosignature_rows.c.size))
                            .where(cosignature_rows.c.witness == witness)).scalar()
    return int(size or 0)


def record_cosignature(engine: Engine, key: CosignerKey, checkpoint: StoredCheckpoint,
                       answer: str) -> int:
    """Keep the witness's answer if it is ``key``'s valid cosignature of ``checkpoint``;
    returns its time. A line that does not verify is a NoteError."""
    lines = [line for line in answer.splitlines(keepends=True) if line.strip()]
    times = cosignatures(checkpoint.note + "".join(lines), [key])
    if key.name not in times:
        raise NoteError(msg("witness {key!r} answered without its cosignature", key=key.name),
                        hint=msg("check the witness key configured for it"))
    mine = next(line for line in lines if line.startswith(f"\u2014 {key.name} "))
    try:
        with engine.begin() as conn:
            conn.execute(insert(cosignature_rows).values(
                witness=key.name, size=checkpoint.size, line=mine, timestamp=times[key.name],
                received_at=datetime.now(UTC)))
    except SqlIntegrityError:
        pass  # the same checkpoint cosigned again: the first answer is kept
    return times[key.name]


@dataclass(frozen=True)
class WitnessQuorum:
    """The witnesses a log is configured with, and how many of them must cosign."""

    keys: tuple[CosignerKey, ...]
    quorum: int


def quorum_checkpoint(engine: Engine, witnesses: WitnessQuorum) -> tuple[int, str] | None:
    """The largest checkpoint cosigned by at least ``quorum`` of the configured witnesses:
    its size and its note with their cosignature lines (None: no checkpoint has enough)."""
    names = [key.name for key in witnesses.keys]
    lines_by_size: dict[int, list[str]] = {}
    with engine.connect() as conn:
        for size, line in conn.execute(select(cosignature_rows.c.size, cosignature_rows.c.line)
                                       .where(cosignature_rows.c.witness.in_(names))
                                       .order_by(cosignature_rows.c.witness)):
            lines_by_size.setdefault(int(size), []).append(line)
        for size in sorted(lines_by_size, reverse=True):
            if len(lines_by_size[size]) < witnesses.quorum:
                continue
            note = conn.execute(select(checkpoints.c.note).where(checkpoints.c.size == size)
                                .order_by(checkpoints.c.id).limit(1)).scalar()
            if note is None:
                continue
            cosigned = note + "".join(lines_by_size[size])
            try:
                if len(cosignatures(cosigned, witnesses.keys)) >= witnesses.quorum:
                    return size, cosigned
            except NoteError:
                continue  # a stored line that no longer verifies vouches for nothing
    return None


def cosigned_checkpoint(engine: Engine) -> str | None:
    """The newest checkpoint that has cosignatures, with every cosignature line."""
    with engine.connect() as conn:
        size = conn.execute(select(func.max(cosignature_rows.c.size))).scalar()
        if size is None:
            return None
        note = conn.execute(select(checkpoints.c.note).where(checkpoints.c.size == size)
                            .order_by(checkpoints.c.id).limit(1)).scalar()
        lines = conn.execute(select(cosignature_rows.c.line).where(
            cosignature_rows.c.size == size).order_by(cosignature_rows.c.witness)).scalars().all()
    return None if note is None else note + "".join(lines)


@dataclass(frozen=True)
class WitnessView:
    """What one witness vouches for: its key and the cosigned checkpoint it gave (or None
    if it could not be reached, with why)."""

    key: CosignerKey
    cosigned: str | None
    trouble: str | None = None


def _open_cosigned(view: WitnessView, log: Verifier, origin: str | None) -> Checkpoint:
    assert view.cosigned is not None
    try:
        checkpoint = parse_checkpoint_body(open_note(view.cosigned, [log]))
        if origin is not None and checkpoint.origin != origin:
            raise NoteError(msg("it is a checkpoint of another log, {origin!r}", origin=checkpoint.origin))
        if view.key.name not in cosignatures(view.cosigned, [view.key]):
            raise NoteError(msg("it carries no cosignature by this witness"))
    except (NoteError, CheckpointError) as exc:
        raise NoteError(msg("witness {key!r}: {reason}", key=view.key.name, reason=exc)) from None
    return checkpoint


def check_witnesses(engine: Engine, report: VerifyReport, views: Sequence[WitnessView],
                    log: Verifier, origin: str | None, quorum: int) -> None:
    """Fail when the log is behind, or inconsistent with, a checkpoint a witness cosigned,
    or when fewer than ``quorum`` witnesses vouch for it."""
    report.checks.append("witnesses")
    with engine.connect() as conn:
        leaf_hashes = [bytes(h) for h in conn.execute(
            select(entries.c.leaf_hash).order_by(entries.c.seq)).scalars()]
    vouching = 0
    for view in views:
        if view.cosigned is None:
            report.notes.append(msg("witness {name!r} gave no checkpoint: {trouble}", name=view.key.name,
                                    trouble=view.trouble))
            continue
        try:
            checkpoint = _open_cosigned(view, log, origin)
        except NoteError as exc:
            report.add("witness", exc.args[0])  # its Message, hint included, as str(exc)
            continue
        if checkpoint.size > len(leaf_hashes):
            report.add("witness", msg("witness {name!r} cosigned a log of {size} entries, but this log "
                                      "holds {log_size}: entries were removed after they were "
                                      "witnessed", name=view.key.name, size=checkpoint.size,
                                      log_size=len(leaf_hashes)), checkpoint.size - 1)
            continue
        if root_from_leaf_hashes(leaf_hashes[:checkpoint.size]) != checkpoint.root_hash:
            report.add("witness", msg("witness {name!r} cosigned size {size} with another root than this "
                                      "log's first entries: its history was rewritten, or a "
                                      "different history was shown to this witness",
                                      name=view.key.name, size=checkpoint.size), checkpoint.size - 1)
            continue
        vouching += 1
        report.notes.append(msg("witness {name!r} cosigned size {size}; this log extends it",
                                name=view.key.name, size=checkpoint.size))
    if vouching < quorum:
        report.add("witness", msg("{vouching} of the {quorum} witnesses required vouch for this log",
                                  vouching=vouching, quorum=quorum))

