"""Fuzz the custody event decoder and the case bundle reader with hypothesis, from real inputs.

    .venv/bin/python bench/fuzz_decoders.py                 # 5 minutes per target
    .venv/bin/python bench/fuzz_decoders.py --quick         # 20 seconds per target
    .venv/bin/python bench/fuzz_decoders.py --seconds 600 --targets bundle-forged

The seeds are real: a bundle built as tests/test_bundle.py builds one (a real ingest of a
synthetic recorder card, a case, a viewing, an export) and the leaf bytes of every custody
event in that home. Targets:

``event``          ``custody.events.decode_event`` on mutated leaves: byte flips, cuts,
                   insertions, splices of two leaves, random bytes, and JSON-level edits
                   (a value replaced by any JSON value, re-encoded sorted and compact);
``bundle-zip``     ``cases.bundle_verify.verify_bundle`` on the ZIP file with its raw bytes
                   mutated (headers, central directory, compressed data);
``bundle-member``  the same on a re-zipped bundle whose members were edited: bytes of one
                   member, a JSON value inside the manifest, a proof or an entry, members
                   dropped, renamed, duplicated or added;
``bundle-forged``  the same on a bundle a forger re-logged: every entry (mutated in type,
                   subject and details) appended to a fresh custody log with the forger's
                   key, the manifest edited and sealed by the forger's export event, proofs
                   and checkpoint made by that log. Verified without a trusted key, so the
                   proofs hold and the manifest and custody cross-checks see hostile data.

Bundles are verified with the trusted key and without it, alternately. The only accepted
outcomes are a result (decoded event; a report, ok or listing problems) or the project's
own error (``EventError`` from the decoder; the reader raises nothing for a bad bundle).
Anything else is a crash: it is recorded with its traceback and the input is saved under
bench/out/fuzz_decoders/. Every example runs; nothing is shrunk. A decoded event must also
re-encode to exactly the bytes it came from (only canonical leaves are accepted).
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _BENCH_DIR.parent
# bench/custody.py would shadow the ``custody`` package: the repository root must come first.
if sys.path and Path(sys.path[0] or ".").resolve() == _BENCH_DIR:
    sys.path[0] = str(_REPO_ROOT)

import dataclasses
import io
import json
import random
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.common import add_json_option, environment, new_parser, print_environment, say
from cases.bundle_verify import verify_bundle
from custody.events import EventDraft, EventError, Subject, canonical_bytes, decode_event
from custody.note import Ed25519Signer
from domain.event_types import EventType
from tests.bundle_forgery import forge, forger_manifest, logged_drafts, origin_of, own_vkey
from tests.test_bundle import build_sample, read_members

OUT = _BENCH_DIR / "out" / "fuzz_decoders"
TARGETS = ("event", "bundle-zip", "bundle-member", "bundle-forged")

# -- inputs -------------------------------------------------------------------

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60),
                        st.floats(allow_nan=False), st.text(max_size=20),
                        st.sampled_from(["", "é", "e\u0301", "\x00", "0" * 64, "-1", "/", "..",
                                         "custody/entries/0.json", "evidence:file:ingested"]))
json_values = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
# What a forger can put in a log: the canonical domain (no floats, safe integers, any text).
canonical_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**53 - 1), 2**53 - 1),
                             st.text(max_size=16), st.sampled_from(["0" * 64, "", "x"]))
canonical_values = st.recursive(canonical_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=10), inner, max_size=3)),
    max_leaves=8)


def json_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, the root included."""
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += json_paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += json_paths(inner, (*path, index))
    return found


def replace_at(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = replace_at(copy[head], rest, new)
    return copy


def edit_json(data: st.DataObject, value: Any, values: st.SearchStrategy[Any] = json_values) -> Any:
    """``value`` with one place replaced by a generated value (or a key dropped)."""
    path = data.draw(st.sampled_from(json_paths(value)), label="at")
    if path and isinstance(value, dict | list) and data.draw(st.booleans(), label="drop"):
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        dropped: Any = ({k: v for k, v in parent.items() if k != path[-1]} if isinstance(parent, dict)
                        else [v for i, v in enumerate(parent) if i != path[-1]])
        return replace_at(value, path[:-1], dropped)
    return replace_at(value, path, data.draw(values, label="new"))


def mutate_bytes(data: st.DataObject, raw: bytes, others: list[bytes]) -> bytes:
    """One to four byte-level edits of ``raw``."""
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind = data.draw(st.sampled_from(["flip", "set", "cut", "insert", "truncate", "splice",
                                          "repeat"]), label="edit")
        at = data.draw(st.integers(0, max(len(out) - 1, 0)), label="offset")
        if kind == "flip" and out:
            out[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "set" and out:
            out[at] = data.draw(st.sampled_from([0, 0x22, 0x5C, 0x7B, 0x7D, 0x30, 0xFF, 0x80, 0x20,
                                                 0x2E, 0x2D, 0x65]), label="byte")
        elif kind == "cut":
            out[at:at + data.draw(st.integers(1, 64), label="len")] = b""
        elif kind == "insert":
            out[at:at] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        elif kind == "truncate":
            del out[at:]
        elif kind == "splice" and others:
            other = data.draw(st.sampled_from(others), label="other")
            cut = data.draw(st.integers(0, len(other)), label="cut")
            out = out[:at] + bytearray(other[cut:])
        elif kind == "repeat":
            end = min(len(out), at + data.draw(st.integers(1, 256), label="len"))
            out[at:at] = out[at:end]
    return bytes(out)


# -- outcomes -----------------------------------------------------------------


@dataclass
class Crash:
    where: str  # exception type and the innermost project frame
    message: str
    traceback: str
    saved: str
    count: int = 1


@dataclass
class Tally:
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    problem_kinds: Counter[str] = field(default_factory=Counter)  # in the reports, by kind
    crashes: dict[str, Crash] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def crash_count(self) -> int:
        return sum(c.count for c in self.crashes.values())

    def crash(self, exc: BaseException, name: str, data: bytes, suffix: str) -> None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if str(_REPO_ROOT) in f.filename and "/bench/" not in f.filename]
        frame = frames[-1] if frames else None
        where = (f"{type(exc).__name__} at {Path(frame.filename).relative_to(_REPO_ROOT)}:"
                 f"{frame.lineno}" if frame else type(exc).__name__)
        if where in self.crashes:
            self.crashes[where].count += 1
            return
        OUT.mkdir(parents=True, exist_ok=True)
        saved = OUT / f"crash-{name}-{len(self.crashes)}{suffix}"
        saved.write_bytes(data)
        self.crashes[where] = Crash(where, str(exc)[:300], "".join(
            traceback.format_exception(exc)[-6:]), str(saved.relative_to(_REPO_ROOT)))


def check_event(tally: Tally, data: bytes) -> None:
    tally.cases += 1
    try:
        event = decode_event(data)
        if canonical_bytes(event) != data:
            raise AssertionError("decode_event accepted bytes that are not their own canonical form")
    except EventError:
        tally.outcomes["EventError"] += 1
        return
    except Exception as exc:
        tally.crash(exc, "event", data, ".bin")
        return
    tally.outcomes["accepted"] += 1


def check_bundle(tally: Tally, path: Path, vkey: str | None,
                 pristine: dict[str, bytes] | None = None) -> None:
    """Verify; with ``pristine``, a bundle found ok must hold exactly those members."""
    tally.cases += 1
    try:
        # untrusted: the key the bundle carries (what the reader must survive past the signature)
        report = verify_bundle(path, vkey if vkey is not None else own_vkey(path))
        if report.ok and pristine is not None and read_last_members(path) != pristine:
            raise AssertionError("verify_bundle found an altered bundle ok")
    except Exception as exc:  # the reader reports problems; it raises only for usage mistakes
        tally.crash(exc, "bundle", path.read_bytes(), ".zip")
        return
    tally.outcomes["ok" if report.ok else "problems reported"] += 1
    tally.problem_kinds.update({p.kind for p in report.problems})


def read_last_members(path: Path) -> dict[str, bytes]:
    """Each member as a reader sees it (the last of a repeated name wins)."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_members(members: list[tuple[str, bytes]], compression: int) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are what some cases are about
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return buffer.getvalue()


# -- the targets ----------------------------------------------------------------


@dataclass
class Seeds:
    leaves: list[bytes]
    bundle: bytes
    members: dict[str, bytes]
    vkey: str
    scratch: Path


def event_target(seeds: Seeds, tally: Tally) -> Callable[[st.DataObject], None]:
    def run(data: st.DataObject) -> None:
        leaf = data.draw(st.sampled_from(seeds.leaves), label="seed")
        how = data.draw(st.sampled_from(["bytes", "json", "random"]), label="how")
        if how == "bytes":
            mutated = mutate_bytes(data, leaf, seeds.leaves)
        elif how == "json":
            value = edit_json(data, json.loads(leaf))
            try:
                mutated = json.dumps(value, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=data.draw(st.booleans(), label="ascii")).encode()
            except ValueError:
                return
        else:
            mutated = data.draw(st.binary(max_size=300), label="random")
        check_event(tally, mutated)
    return run


def _vkey(data: st.DataObject, seeds: Seeds) -> str | None:
    return seeds.vkey if data.draw(st.booleans(), label="trusted") else None


def bundle_zip_target(seeds: Seeds, tally: Tally) -> Callable[[st.DataObject], None]:
    def run(data: st.DataObject) -> None:
        path = seeds.scratch / "zip.zip"
        path.write_bytes(mutate_bytes(data, seeds.bundle, []))
        check_bundle(tally, path, _vkey(data, seeds), seeds.members)
    return run


def bundle_member_target(seeds: Seeds, tally: Tally) -> Callable[[st.DataObject], None]:
    names = sorted(seeds.members)
    json_names = [n for n in names if n.endswith(".json")]

    def run(data: st.DataObject) -> None:
        members = list(seeds.members.items())
        for _ in range(data.draw(st.integers(1, 3), label="edits")):
            index = data.draw(st.integers(0, len(members) - 1), label="member")
            name, raw = members[index]
            kind = data.draw(st.sampled_from(["bytes", "json", "drop", "rename", "duplicate",
                                              "add"]), label="edit")
            if kind == "bytes":
                members[index] = (name, mutate_bytes(data, raw, []))
            elif kind == "json":
                name = data.draw(st.sampled_from(json_names), label="json member")
                index = next(i for i, (n, _) in enumerate(members) if n == name) \
                    if any(n == name for n, _ in members) else index
                try:
                    value = json.loads(dict(members).get(name, raw))
                except ValueError:
                    continue
                members[index] = (name, json.dumps(edit_json(data, value)).encode())
            elif kind == "drop" and len(members) > 1:
                members.pop(index)
            elif kind == "rename":
                members[index] = (data.draw(st.sampled_from(
                    [*names, "custody/entries/99999.json", "custody/proofs/0.json",
                     "custody/entries/01.json", "../x", "/abs"]), label="name"), raw)
            elif kind == "duplicate":
                members.append((name, mutate_bytes(data, raw, [])))
            elif kind == "add":
                members.append((data.draw(st.text(max_size=30), label="name") or "x",
                                data.draw(st.binary(max_size=64), label="bytes")))
        compression = data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
                                label="compression")
        path = seeds.scratch / "member.zip"
        try:
            path.write_bytes(zip_members(members, compression))
        except (ValueError, UnicodeEncodeError, IndexError):
            return  # zipfile refuses to write such a name: not an input a reader can get
        check_bundle(tally, path, _vkey(data, seeds), seeds.members)
    return run


def bundle_forged_target(seeds: Seeds, tally: Tally) -> Callable[[st.DataObject], None]:
    seed_drafts = logged_drafts(seeds.members)
    origin = origin_of(seeds.members)
    types = sorted(t.value for t in EventType)
    ids = sorted({d.subject.evidence_id for d in seed_drafts if d.subject} | {"x"})

    def edit(data: st.DataObject, draft: EventDraft) -> EventDraft:
        kind = data.draw(st.sampled_from(["type", "subject", "details", "details-at"]),
                         label="event edit")
        if kind == "type":
            return dataclasses.replace(draft, type=data.draw(st.sampled_from(types), label="type"))
        if kind == "subject":
            return dataclasses.replace(draft, subject=data.draw(st.one_of(st.none(), st.builds(
                Subject, st.sampled_from(ids), st.sampled_from(["0" * 64, "x"]))), label="subject"))
        if kind == "details":
            return dataclasses.replace(draft, details=data.draw(st.dictionaries(st.sampled_from(
                ["size", "name", "object", "manifest_sha256", "case_id", "sha256", "path"]),
                canonical_values, max_size=4), label="details"))
        edited = edit_json(data, dict(draft.details), canonical_values)
        return dataclasses.replace(draft, details=edited) if isinstance(edited, dict) else draft

    def run(data: st.DataObject) -> None:
        edited = data.draw(st.sets(st.integers(0, len(seed_drafts) - 1), max_size=3), label="events")
        drafts = [edit(data, d) if i in edited else d for i, d in enumerate(seed_drafts)]
        signer = Ed25519Signer.generate(origin)
        # The forger names its own key in the manifest, so the cross-checks below it run.
        manifest: Any = forger_manifest(seeds.members, signer, len(drafts))
        for _ in range(data.draw(st.integers(0, 3), label="manifest edits")):
            manifest = edit_json(data, manifest)
        try:
            members = forge(seeds.members, drafts, manifest, signer, seeds.scratch)
        except EventError:
            return  # the log refuses to write it: a forger's log would not hold it either
        path = seeds.scratch / "forged.zip"
        path.write_bytes(zip_members(list(members.items()), zipfile.ZIP_DEFLATED))
        check_bundle(tally, path, None)
    return run


BUILDERS: dict[str, Callable[[Seeds, Tally], Callable[[st.DataObject], None]]] = {
    "event": event_target, "bundle-zip": bundle_zip_target,
    "bundle-member": bundle_member_target, "bundle-forged": bundle_forged_target,
}


def fuzz(target: Callable[[st.DataObject], None], tally: Tally, seconds: float, seed: int) -> None:
    """Run ``target`` in rounds of 50 examples, each round a new seed, until time is up."""
    began = time.monotonic()
    rounds = random.Random(seed)
    while time.monotonic() - began < seconds:
        @settings(max_examples=50, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            target(data)

        from hypothesis import seed as hypothesis_seed
        hypothesis_seed(rounds.getrandbits(64))(run)()
    tally.seconds = time.monotonic() - began


def make_seeds(root: Path) -> Seeds:
    say("building a bundle from a real ingest (tests/test_bundle.py build_sample)")
    built = build_sample(root / "sample")
    leaves = [leaf for _, leaf in built.home.custody_log().entries()]
    members = read_members(built.bundle)
    built.home.engine().dispose()
    scratch = root / "scratch"
    scratch.mkdir()
    return Seeds(leaves, built.bundle.read_bytes(), members, built.vkey, scratch)


# -- the report -------------------------------------------------------------------


def print_table(env: dict[str, Any], config: dict[str, Any], seeds: Seeds,
                tallies: dict[str, Tally], out: TextIO) -> None:
    print_environment(env, config, out)
    print(f"  seeds: {len(seeds.leaves)} event leaves, a {len(seeds.bundle)}-byte bundle of "
          f"{len(seeds.members)} members", file=out)
    print(file=out)
    print(f"{'target':<16}{'seconds':>9}{'cases':>9}{'crashes':>9}  outcomes", file=out)
    for name, t in tallies.items():
        outcomes = ", ".join(f"{k}: {v}" for k, v in t.outcomes.most_common())
        print(f"{name:<16}{t.seconds:>9.0f}{t.cases:>9}{t.crash_count:>9}  {outcomes}", file=out)
        if t.problem_kinds:
            kinds = ", ".join(f"{k}: {v}" for k, v in t.problem_kinds.most_common())
            print(f"{'':<16}  reports naming each problem kind: {kinds}", file=out)
    for name, t in tallies.items():
        for crash in t.crashes.values():
            print(f"\n!! {name}: {crash.where} ({crash.count}x), input {crash.saved}\n"
                  f"   {crash.message}\n{crash.traceback}", file=out)


def main() -> int:
    parser = new_parser(__doc__, "20 seconds per target")
    add_json_option(parser)
    parser.add_argument("--seconds", type=float, default=None,
                        help="time per target (default 300; 20 with --quick)")
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help=f"comma-separated, of {', '.join(TARGETS)}")
    parser.add_argument("--seed", type=int, default=12, help="seed of the rounds' seeds")
    args = parser.parse_args()
    seconds = args.seconds if args.seconds is not None else (20.0 if args.quick else 300.0)
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}")
    config = {"seconds_per_target": seconds, "targets": targets, "seed": args.seed}
    env = environment()
    tallies: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory(prefix="fuzz-decoders-") as directory:
        seeds = make_seeds(Path(directory))
        for name in targets:
            say(f"{name}: {seconds:.0f} s")
            tally = tallies[name] = Tally()
            fuzz(BUILDERS[name](seeds, tally), tally, seconds, args.seed)
            say(f"{name}: {tally.cases} cases, {tally.crash_count} crashes")
        print_table(env, config, seeds, tallies, sys.stderr if args.json else sys.stdout)
    document = {"config": config, "environment": env,
                "targets": {n: {"cases": t.cases, "seconds": round(t.seconds, 1),
                                "crashes": t.crash_count, "outcomes": dict(t.outcomes),
                                "problem_kinds": dict(t.problem_kinds),
                                "crash_sites": [c.__dict__ for c in t.crashes.values()]}
                            for n, t in tallies.items()}}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "latest.json").write_text(json.dumps(document, indent=1))
    if args.json:
        print(json.dumps(document))
    return 1 if any(t.crash_count for t in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
