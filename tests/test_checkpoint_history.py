"""The history of signed checkpoints and their consistency: every checkpoint listed, newest
first; a deleted, forged, rolled-back or no longer matching checkpoint is a break where it
is, never left out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from custody import schema
from custody.checkpoint import Checkpoint, sign_checkpoint
from custody.note import Ed25519Signer
from storage.db import make_engine
from tests.api_support import ORIGIN, World, world_fixture

_ = world_fixture
API = "/api/v1"


def _history(world: World, user: str = "reviewer") -> dict[str, Any]:
    """Every page, joined."""
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    page: dict[str, Any] = {}
    while offset is not None:
        response = world.get(user, f"{API}/custody/checkpoints?offset={offset}&limit=7")
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        offset = page["next_offset"]
    return {**page, "items": items}


def _breaks(history: dict[str, Any]) -> dict[int, set[str]]:
    return {i["number"]: {b["kind"] for b in i["breaks"]} for i in history["items"] if i["breaks"]}


def _change(world: World, *statements: Any) -> None:
    engine = make_engine(world.home.database_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)
    finally:
        engine.dispose()


def _rows(world: World) -> list[Any]:
    engine = make_engine(world.home.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(schema.checkpoints).order_by(schema.checkpoints.c.id)))
    finally:
        engine.dispose()


def test_an_intact_history_newest_first_with_no_break(world: World) -> None:
    history = _history(world)
    stored = _rows(world)
    assert history["total"] == len(stored) == len(history["items"])
    assert [i["number"] for i in history["items"]] == [r.id for r in reversed(stored)]
    assert _breaks(history) == {} and history["witnessed"] == []
    assert history["log_size"] == world.home.custody_log().size() == history["items"][0]["size"]
    assert all(i["checkpoint"]["signature_ok"] for i in history["items"])
    assert history["items"][-1]["previous"] is None
    assert [i["previous"] for i in history["items"][:-1]] == [i["number"] for i in
                                                              history["items"][1:]]
    first, last = stored[0].id, stored[-1].id
    proof = world.get("auditor", f"{API}/custody/checkpoints/consistency?old={first}&new={last}"
                      ).json()
    assert proof["verified"] is True and proof["problem"] is None and proof["proof"]
    assert proof["old"]["checkpoint"]["size"] < proof["new"]["checkpoint"]["size"]


def test_who_may_read_the_history(world: World) -> None:
    for user in ("reviewer", "south-reviewer", "auditor", "north-auditor", "south-auditor"):
        assert world.get(user, f"{API}/custody/checkpoints").status_code == 200, user
    for user in ("officer", "case_officer", "admin"):
        response = world.get(user, f"{API}/custody/checkpoints")
        assert response.status_code == 403 and response.json()["error"]["hint"], user
        assert world.get(user, f"{API}/custody/checkpoints/consistency?old=1&new=2"
                         ).status_code == 403
    assert world.get("reviewer", f"{API}/custody/checkpoints/consistency?old=1&new=99999"
                     ).status_code == 404


def test_a_deleted_checkpoint_is_a_gap_where_it_was(world: World) -> None:
    stored = _rows(world)
    gone = stored[5]
    _change(world, delete(schema.checkpoints).where(schema.checkpoints.c.id == gone.id))
    history = _history(world)
    assert history["total"] == len(stored) - 1
    assert _breaks(history) == {stored[6].id: {"numbering_gap"}}
    after = next(i for i in history["items"] if i["number"] == stored[6].id)
    assert after["previous"] == stored[4].id and f"#{gone.id}" in after["breaks"][0]["message"]


def test_a_verify_remembers_the_checkpoint_it_checked(world: World) -> None:
    """A verify records the signed tree it found intact; deleting that checkpoint afterwards
    (and the newer ones, as a rollback would) shows as witnessed missing."""
    jobs = world.client.app.state.services.verify_jobs  # type: ignore[attr-defined]
    started = world.client.post(f"{API}/verify/jobs", json={}, headers=world.auth("auditor"))
    done = jobs.wait(started.json()["id"], 120)
    assert done.ok is True
    checked = done.report["latest_checkpoint_size"]
    cps = schema.checkpoints
    _change(world, delete(cps).where(cps.c.size >= checked))
    history = _history(world)
    assert [(w["kind"], w["size"]) for w in history["witnessed"]] == [("missing", checked)]
    assert "deleted" in history["witnessed"][0]["message"]


def _forged(size: int, root: bytes) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), Ed25519Signer.generate(ORIGIN))


def test_forged_rolled_back_and_altered_checkpoints_are_breaks(world: World) -> None:
    stored = _rows(world)
    log_size = world.home.custody_log().size()
    latest = stored[-1]
    cps = schema.checkpoints
    signer = world.home.custody_log().signer

    def add(conn_values: dict[str, Any]) -> Any:
        return insert(cps).values(created_at=latest.created_at, **conn_values)

    small = stored[3]
    rolled = sign_checkpoint(Checkpoint(ORIGIN, small.size, bytes(small.root_hash)), signer)
    _change(world,
            add({"size": log_size, "root_hash": bytes(latest.root_hash),
                 "note": _forged(log_size, bytes(latest.root_hash))}),
            add({"size": small.size, "root_hash": bytes(small.root_hash), "note": rolled}),
            update(cps).where(cps.c.id == stored[2].id).values(root_hash=b"\x05" * 32))
    history = _history(world)
    forged_no, rolled_no = latest.id + 1, latest.id + 2
    assert _breaks(history) == {forged_no: {"bad_signature"}, rolled_no: {"rolled_back"},
                                stored[2].id: {"altered"}}
    # the consistency of the rolled-back checkpoint with the latest good one is refused
    answer = world.get("reviewer", f"{API}/custody/checkpoints/consistency"
                                   f"?old={latest.id}&new={rolled_no}").json()
    assert answer["verified"] is False and "rolled back" in answer["problem"]
    answer = world.get("reviewer", f"{API}/custody/checkpoints/consistency"
                                   f"?old={stored[0].id}&new={forged_no}").json()
    assert answer["verified"] is False and "not validly signed" in answer["problem"]


def test_a_rewritten_entry_breaks_every_checkpoint_that_covers_it(world: World) -> None:
    stored = _rows(world)
    target = stored[10].size - 1  # the last entry the 11th checkpoint covers
    entries = schema.entries

    def rewrite(conn: Connection) -> None:
        leaf = bytes(conn.execute(select(entries.c.leaf).where(entries.c.seq == target))
                     .scalar_one())
        conn.execute(update(entries).where(entries.c.seq == target)
                     .values(leaf=leaf.replace(b'"time"', b'"time" ')))

    engine = make_engine(world.home.database_url)
    with engine.begin() as conn:
        rewrite(conn)
        # as a forger would: the leaf hash and the nodes above it too
        from custody.merkle import CompactRange, leaf_hash

        leaves = [leaf_hash(bytes(leaf)) for (leaf,) in conn.execute(
            select(entries.c.leaf).order_by(entries.c.seq))]
        conn.execute(update(entries).where(entries.c.seq == target)
                     .values(leaf_hash=leaves[target]))
        compact = CompactRange()
        nodes: list[tuple[int, int, bytes]] = []
        for value in leaves:
            nodes += [n for n in compact.append(value) if n[0] > 0]
        conn.execute(delete(schema.nodes))
        conn.execute(insert(schema.nodes), [{"level": lv, "idx": ix, "hash": h}
                                            for lv, ix, h in nodes])
    engine.dispose()
    history = _history(world)
    broken = _breaks(history)
    covering = {r.id for r in stored if r.size > target}
    assert set(broken) == covering
    assert all(kinds == {"root_mismatch", "inconsistent"} or kinds == {"root_mismatch"}
               for kinds in broken.values())
    answer = world.get("auditor", f"{API}/custody/checkpoints/consistency"
                                  f"?old={stored[0].id}&new={stored[-1].id}").json()
    assert answer["verified"] is False and answer["problem"]
