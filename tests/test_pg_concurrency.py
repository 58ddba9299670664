"""Eight processes appending to one PostgreSQL log give one gapless, fork-free sequence."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from sqlalchemy import text

from custody.events import EventDraft, decode_event
from custody.log import CustodyLog
from custody.note import Ed25519Signer
from custody.verify import verify_database
from storage.db import make_engine, migrate
from tests.conftest import ORIGIN, _pg_schema_url

WRITERS, BATCHES, PER_BATCH = 8, 15, 3


def _writer(url: str, signer_key: str, writer: int, start: mp.synchronize.Event) -> None:
    engine = make_engine(url)
    log = CustodyLog(engine, Ed25519Signer.from_signer_key(signer_key), ORIGIN)
    start.wait()
    for batch in range(BATCHES):
        log.append([EventDraft("evidence:test:appended", f"writer:{writer}",
                               details={"writer": writer, "batch": batch, "item": i})
                    for i in range(PER_BATCH)])
    log.close()
    engine.dispose()


@pytest.mark.postgres
def test_concurrent_writers_yield_one_gapless_verified_log(pg_database_url: str,
                                                            signer: Ed25519Signer) -> None:
    url = _pg_schema_url(pg_database_url)
    engine = make_engine(url)
    migrate(engine)
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(url, signer.signer_key(), w, start))
             for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    total = WRITERS * BATCHES * PER_BATCH
    with engine.connect() as conn:
        seqs = [s for (s,) in conn.execute(text("SELECT seq FROM custody_entries ORDER BY seq"))]
        sizes = [s for (s,) in conn.execute(text("SELECT size FROM custody_checkpoints ORDER BY id"))]
        queued = conn.execute(text("SELECT count(*) FROM custody_pending")).scalar_one()
    assert seqs == list(range(total))
    # Writers share transactions (custody/queue.py): one checkpoint per group of
    # batches, each larger than the last, the last covering everything.
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes) <= WRITERS * BATCHES
    assert sizes[-1] == total
    assert queued == 0
    report = verify_database(engine, signer.verifier(), ORIGIN)
    assert report.ok, report.problems
    assert report.entries == total
    # each batch was one transaction, so its items sit next to each other in order
    details = [decode_event(leaf)["details"] for _, leaf in
               CustodyLog(engine, signer, ORIGIN).entries()]
    for first in range(0, total, PER_BATCH):
        batch = details[first:first + PER_BATCH]
        assert [d["item"] for d in batch] == list(range(PER_BATCH))
        assert len({(d["writer"], d["batch"]) for d in batch}) == 1
    engine.dispose()
