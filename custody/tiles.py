"""Export the log as a static C2SP tlog-tiles tree, and verify such an export offline.

Layout under DIR (https://c2sp.org/tlog-tiles):
  checkpoint                  the latest signed checkpoint (a signed note)
  checkpoint.cosigned         the newest one the witnesses cosigned, if any (signed note)
  vkey                        the log's verifier key string (C2SP signed-note)
  tile/<L>/<N>[.p/<W>]        256 hashes (32 bytes each) of tree level 8*L, or W of them
  tile/entries/<N>[.p/<W>]    256 entries, each a 2-byte big-endian length and the bytes
<N> is written in 3-digit groups, every group but the last prefixed with "x"
(1234067 -> x001/x234/067).
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import Engine, select

from custody import schema
from custody.checkpoint import open_checkpoint, parse_checkpoint_body
from custody.cosignature import CosignerKey, cosignatures
from custody.cosigned import cosigned_checkpoint
from custody.merkle import root_from_leaf_hashes
from custody.note import Verifier, parse_note
from custody.report import VerifyReport
from custody.verify import build_levels, cap_problems, check_checkpoints, check_entries
from domain.errors import ConfigError, EvidenceError, NotFound
from domain.messages import msg

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT


def tile_index_path(n: int) -> str:
    digits = f"{n:03d}"
    digits = digits.zfill((len(digits) + 2) // 3 * 3)
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def tile_path(level: str | int, n: int, width: int) -> str:
    path = f"tile/{level}/{tile_index_path(n)}"
    return path if width == TILE_WIDTH else f"{path}.p/{width}"


def tile_shapes(count: int) -> Iterator[tuple[int, int]]:
    """(tile index, width) of the tiles holding ``count`` items."""
    for n in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
        yield n, min(TILE_WIDTH, count - n * TILE_WIDTH)


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


COSIGNED_FILE = "checkpoint.cosigned"  # the newest checkpoint the witnesses cosigned


def export_tiles(engine: Engine, vkey: str, directory: Path) -> int:
    """Write the log up to its latest checkpoint; returns the exported size."""
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(msg("{directory} is not empty", directory=directory),
                          hint=msg("export into a new or empty folder"))
    with engine.connect() as conn:
        row = conn.execute(select(schema.checkpoints.c.size, schema.checkpoints.c.note)
                           .order_by(schema.checkpoints.c.id.desc()).limit(1)).first()
        if row is None:
            raise NotFound(msg("the custody log has no checkpoint to export"),
                           hint=msg("run `evidence log checkpoint` first"))
        size, note = int(row[0]), str(row[1])
        staging = directory.with_name(directory.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        leaf_hashes = bytearray()
        bundle: list[bytes] = []
        rows = conn.execution_options(yield_per=5000).execute(
            select(schema.entries.c.leaf, schema.entries.c.leaf_hash)
            .where(schema.entries.c.seq < size).order_by(schema.entries.c.seq))
        n = 0
        for leaf, leaf_hash in rows:
            leaf_hashes += leaf_hash
            bundle.append(struct.pack(">H", len(leaf)) + bytes(leaf))
            if len(bundle) == TILE_WIDTH:
                _write(staging, tile_path("entries", n, TILE_WIDTH), b"".join(bundle))
                bundle, n = [], n + 1
        if bundle:
            _write(staging, tile_path("entries", n, len(bundle)), b"".join(bundle))
    if len(leaf_hashes) != 32 * size:
        shutil.rmtree(staging)
        raise NotFound(msg("the log holds fewer entries than its checkpoint ({size})", size=size),
                       hint=msg("run `evidence verify`: entries were removed"))
    levels = build_levels(leaf_hashes)
    for tile_level in range(0, len(levels), TILE_HEIGHT):
        hashes = levels[tile_level]
        for index, width in tile_shapes(len(hashes) // 32):
            start = index * TILE_WIDTH * 32
            _write(staging, tile_path(tile_level // TILE_HEIGHT, index, width),
                   hashes[start:start + width * 32])
    (staging / "checkpoint").write_text(note, encoding="utf-8")
    (staging / "vkey").write_text(vkey + "\n", encoding="utf-8")
    cosigned = cosigned_checkpoint(engine)
    if cosigned is not None and parse_checkpoint_body(parse_note(cosigned).text).size <= size:
        (staging / COSIGNED_FILE).write_text(cosigned, encoding="utf-8")
    if directory.exists():
        directory.rmdir()
    staging.replace(directory)
    return size


def _read_entries(root: Path, size: int, report: VerifyReport) -> Iterator[tuple[int, bytes]]:
    position = 0
    for index, width in tile_shapes(size):
        rel = tile_path("entries", index, width)
        try:
            data = (root / rel).read_bytes()
        except OSError:
            report.add("missing_tile", msg("entry bundle {path} is missing", path=rel), position)
            return
        offset = 0
        for _ in range(width):
            if offset + 2 > len(data):
                report.add("bad_bundle", msg("entry bundle {path} ends early", path=rel), position)
                return
            (length,) = struct.unpack_from(">H", data, offset)
            yield position, data[offset + 2:offset + 2 + length]
            offset += 2 + length
            position += 1
        if offset != len(data):
            report.add("bad_bundle", msg("entry bundle {path} has {count} extra bytes", path=rel,
                                         count=len(data) - offset), position)


def verify_export(directory: Path, trusted_vkey: str | None = None,
                  witnesses: Sequence[CosignerKey] = (), quorum: int | None = None) -> VerifyReport:
    """Check an export with no database: entries, every tile, the checkpoint; with
    ``witnesses``, that the entries extend the checkpoint at least ``quorum`` of them
    (default all) cosigned (``checkpoint.cosigned``)."""
    report = VerifyReport(source=f"export {directory}")
    try:
        note = (directory / "checkpoint").read_text(encoding="utf-8")
        vkey = trusted_vkey or (directory / "vkey").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(msg("{directory} is not a tlog-tiles export: {reason}", directory=directory,
                              reason=exc),
                          hint=msg("pass the folder written by `evidence log export`")) from None
    try:
        verifier = Verifier.from_vkey(vkey)
        size = parse_checkpoint_body(parse_note(note).text).size
    except EvidenceError as exc:
        report.add("bad_checkpoint", msg("the checkpoint or key cannot be read: {error}", error=exc))
        return report
    if trusted_vkey is None:
        report.notes.append(msg("vkey taken from the export itself; pass --vkey to check against a "
                                 "key obtained independently"))
    leaves = check_entries(_read_entries(directory, size, report), report)
    if report.entries < size:
        report.add("truncated", msg("the checkpoint signs {size} entries but the export holds "
                                    "{count}", size=size, count=report.entries), report.entries)
    levels = build_levels(leaves)
    for tile_level in range(0, len(levels), TILE_HEIGHT):
        hashes = levels[tile_level]
        for index, width in tile_shapes(len(hashes) // 32):
            rel = tile_path(tile_level // TILE_HEIGHT, index, width)
            start = index * TILE_WIDTH * 32
            try:
                stored = (directory / rel).read_bytes()
            except OSError:
                report.add("missing_tile", msg("hash tile {path} is missing", path=rel))
                continue
            if stored != hashes[start:start + width * 32]:
                report.add("tile_mismatch", msg("hash tile {path} differs from the hashes of the entries",
                                                path=rel))
    report.checks.append("tiles")
    check_checkpoints([note], verifier, None, levels, report)
    if witnesses:
        _check_cosigned(directory, verifier, leaves, witnesses,
                        len(witnesses) if quorum is None else quorum, report)
    cap_problems(report)
    return report


def _check_cosigned(directory: Path, verifier: Verifier, leaves: bytes | bytearray,
                    witnesses: Sequence[CosignerKey], quorum: int, report: VerifyReport) -> None:
    try:
        cosigned = (directory / COSIGNED_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        report.add("witness", msg("the export has no readable {file}", file=COSIGNED_FILE))
        return
    try:
        witnessed = open_checkpoint(cosigned, verifier)
        vouching = cosignatures(cosigned, witnesses)
    except EvidenceError as exc:
        report.add("witness", msg("{file} does not hold: {error}", file=COSIGNED_FILE, error=exc))
        return
    hashes = [bytes(leaves[i:i + 32]) for i in range(0, min(len(leaves), 32 * witnessed.size), 32)]
    if len(hashes) < witnessed.size or root_from_leaf_hashes(hashes) != witnessed.root_hash:
        report.add("witness", msg("the entries do not extend the checkpoint of size {size} the "
                                  "witnesses cosigned", size=witnessed.size))
    elif len(vouching) < quorum:
        report.add("witness", msg("{vouching} of the {quorum} witnesses required cosigned {file}",
                                  vouching=len(vouching), quorum=quorum, file=COSIGNED_FILE))
    else:
        report.checks.append("witnesses")
