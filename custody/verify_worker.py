"""The second process of a parallel verify (``python -m custody.verify_worker``).

A fresh interpreter rather than a fork: a forked child must not touch SQLite
state it inherited from its parent (open connections, locks), and a fresh
interpreter imports only what it needs, not the parent's ``__main__``.

The parent writes one job on stdin (JSON: how to open the database, which part
of the log); the worker opens its own connection, checks that part and writes
the result on stdout, a temporary file the parent reads once the worker is done:
``MAGIC``, an 8-byte header length, a JSON header (counts, problems, the boundary
entry) and then the hash blobs whose sizes the header lists.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from custody.report import Problem
from custody.verify_parts import PartResult, Split, check_part
from custody.verify_reader import SqlAlchemyReader, SqliteReader
from custody.verify_scan import Boundary, EntryScan

if TYPE_CHECKING:
    from sqlalchemy import Engine

_MAGIC = b"EVW1"
_LENGTH = struct.Struct(">Q")
log = logging.getLogger("evidence.verify")


def database_spec(engine: Engine) -> dict[str, Any] | None:
    """How another process opens this engine's database; None if it cannot (in memory)."""
    if engine.dialect.name != "sqlite":
        return {"url": engine.url.render_as_string(hide_password=False)}
    if engine.dialect.driver != "pysqlite":
        return None
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    target = str(args[0]) if args else ""
    if target in ("", ":memory:") or "mode=memory" in target:
        return None
    spec = {"sqlite": [list(args), dict(kwargs)]}
    try:
        json.dumps(spec)
    except (TypeError, ValueError):  # connect arguments we cannot hand over
        return None
    return spec


class Worker:
    """A running worker; ``result()`` waits for it. Use it as a context manager."""

    def __init__(self, process: subprocess.Popen[bytes], output: IO[bytes], stderr: IO[bytes]) -> None:
        self._process = process
        self._output = output
        self._stderr = stderr

    def result(self) -> PartResult | None:
        """The worker's part, or None (logged) if it failed: the caller checks the part itself."""
        code = self._process.wait()
        if code == 0:
            self._output.seek(0)
            try:
                return decode_result(self._output.read())
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                log.warning("verify worker sent an unreadable result (%s); checking its part "
                            "in this process", exc)
                return None
        self._stderr.seek(0)
        detail = self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        log.warning("verify worker failed (exit %s): %s; checking its part in this process",
                    code, detail)
        return None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._output.close()
        self._stderr.close()


def start_worker(spec: dict[str, Any], split: Split) -> Worker | None:
    """Start checking the second part of ``split``; None if no process could be started."""
    job = json.dumps({"database": spec, "offset": split.at, "limit": split.total - split.at,
                      "depth": split.depth}).encode()
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)  # the worker runs this very code
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    # The result goes to a file, not a pipe: the worker writes it in one go while this
    # process is still busy, and this process reads it in one go when it is ready.
    output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Worker.__exit__
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Worker.__exit__
    try:
        process = subprocess.Popen([sys.executable, "-m", "custody.verify_worker"],
                                   stdin=subprocess.PIPE, stdout=output, stderr=stderr, env=env)
    except OSError as exc:
        output.close()
        stderr.close()
        log.warning("cannot start a verify worker (%s); verifying in one process", exc)
        return None
    worker = Worker(process, output, stderr)
    try:
        if process.stdin is not None:
            process.stdin.write(job)
            process.stdin.close()
    except OSError:
        pass  # it died at once: result() reports why
    return worker


def encode_result(part: PartResult) -> list[bytes | bytearray]:
    """The result as pieces to write one after the other (the blobs are not copied)."""
    scan = part.scan
    stored_is_leaves = scan.stored == part.levels[0]
    blobs = [*part.levels, *([] if stored_is_leaves else [scan.stored])]
    header = json.dumps({
        "start": scan.start, "count": scan.count,
        "problems": [p.to_json() for p in scan.problems],  # the sentences' templates kept
        "boundary": None if scan.boundary is None else [scan.boundary.prev,
                                                        scan.boundary.problem_at],
        "nodes_ok": part.nodes_ok, "levels": len(part.levels),
        "stored_is_leaves": stored_is_leaves, "sizes": [len(blob) for blob in blobs],
    }).encode()
    return [_MAGIC, _LENGTH.pack(len(header)), header, *blobs]


def decode_result(data: bytes) -> PartResult:
    if not data.startswith(_MAGIC):
        raise ValueError("no result header")
    (length,) = _LENGTH.unpack_from(data, len(_MAGIC))
    offset = len(_MAGIC) + _LENGTH.size
    header = json.loads(data[offset:offset + length])
    offset += length
    blobs = []
    for size in header["sizes"]:
        blobs.append(data[offset:offset + size])
        offset += size
    if offset != len(data):
        raise ValueError("result length differs from its header")
    levels = blobs[:header["levels"]]
    stored = levels[0] if header["stored_is_leaves"] else blobs[header["levels"]]
    boundary = header["boundary"]
    scan = EntryScan(start=header["start"], count=header["count"],
                     leaves=levels[0], stored=stored,
                     problems=[Problem.from_json(problem) for problem in header["problems"]],
                     boundary=None if boundary is None else Boundary(boundary[0], boundary[1]))
    return PartResult(scan, levels, header["nodes_ok"])


def _check_job(job: dict[str, Any]) -> PartResult:
    database = job["database"]
    part = (job["offset"], job["limit"], job["depth"])
    if "sqlite" in database:
        args, kwargs = database["sqlite"]
        connection = sqlite3.connect(*args, **kwargs)
        try:
            return check_part(SqliteReader(connection), *part, chain_known=False, by_seq=True)
        finally:
            connection.close()
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(database["url"], poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return check_part(SqlAlchemyReader(conn), *part, chain_known=False, by_seq=True)
    finally:
        engine.dispose()


def main() -> int:
    job = json.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    for piece in encode_result(_check_job(job)):
        out.write(piece)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
