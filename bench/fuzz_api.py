"""Fuzz every operation of the HTTP API with schemathesis, in process, as several roles.

    .venv/bin/python bench/fuzz_api.py                     # 100 examples per operation, mode, role
    .venv/bin/python bench/fuzz_api.py --quick             # 5 examples, a short stateful run
    .venv/bin/python bench/fuzz_api.py --examples 300 --roles admin,officer --json > fuzz.json

Each role (admin, case_officer, auditor, officer by default) gets a fresh home built by
``tests.api_support.build_world`` (two agencies, users of every role, footage with playback
copies) on SQLite, and then:

1. stateless: every operation of ``/api/v1/openapi.json``, ``--examples`` generated requests
   in positive mode (valid by the document) and as many in negative mode (invalid), each
   sent with the role's token and checked with the checks ``tests/test_api_schemathesis.py``
   uses (no 5xx, status code / content type / headers / body as documented, valid data
   accepted, invalid data rejected);
2. stateful: schemathesis' state machine over the links it infers from the document
   (response fields feeding path parameters: POST /cases → GET /cases/{case_id}, ...),
   ``--stateful-examples`` scenarios, each response checked with the default checks.

A failing check is recorded and the run goes on (nothing is shrunk): the report gives the
number of requests sent, the status codes seen, the server errors (a 5xx, or an exception
out of the app) and every other check failure by kind, with one request to reproduce each.
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

import contextlib
import json
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure
from schemathesis.core.result import Err
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from bench.common import add_json_option, environment, new_parser, print_environment, say
from storage.db import make_engine, migrate, sqlite_url
from tests.api_support import World, build_world
from tests.test_api_schemathesis import CHECKS, ONE_OF_BODIES

DEFAULT_ROLES = ("admin", "case_officer", "auditor", "officer")
LATEST = _BENCH_DIR / "out" / "fuzz_api.json"


@dataclass
class Finding:
    kind: str  # "server_error", "app_exception" or a schemathesis failure title
    where: str  # operation label and phase
    detail: str
    reproduce: str


@dataclass
class Tally:
    cases: int = 0
    stateful_steps: int = 0
    linked_steps: int = 0  # stateful steps whose parameters came from an earlier response
    statuses: Counter[int] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    operations: int = 0
    links: set[str] = field(default_factory=set)
    flaky_rounds: int = 0  # stateful rounds hypothesis stopped as flaky (see fuzz_stateful)

    def find(self, finding: Finding) -> None:
        self.kinds[finding.kind] += 1
        # One sample of each kind per operation is enough to reproduce it.
        if not any(f.kind == finding.kind and f.where == finding.where for f in self.findings):
            self.findings.append(finding)

    @property
    def server_errors(self) -> int:
        return self.kinds["server_error"] + self.kinds["app_exception"]

    @property
    def violations(self) -> int:
        return sum(n for kind, n in self.kinds.items()
                   if kind not in ("server_error", "app_exception"))


def _curl(case: schemathesis.Case[Any]) -> str:
    try:
        return case.as_curl_command()
    except Exception as exc:  # only a hint for the report; never hide the finding itself
        return f"(no curl command: {exc})"


def _send(tally: Tally, case: schemathesis.Case[Any], where: str,
          validate: Callable[[Any], None]) -> Any:
    """Send one case, count it, and record any server error or failed check."""
    tally.cases += 1
    try:
        response = case.call()
    except Exception as exc:  # the app raised instead of answering: a server error
        tally.find(Finding("app_exception", where, "".join(
            traceback.format_exception_only(exc)).strip(), _curl(case)))
        return None
    tally.statuses[response.status_code] += 1
    if response.status_code >= 500:
        tally.find(Finding("server_error", where, f"{response.status_code}: {response.text[:300]}",
                           _curl(case)))
    try:
        validate(response)
    except Failure as single:
        _failed(tally, single, where, case)
    except BaseExceptionGroup as group:
        for failure in group.exceptions:
            _failed(tally, failure, where, case)
    return response


def _failed(tally: Tally, failure: BaseException, where: str, case: schemathesis.Case[Any]) -> None:
    if isinstance(failure, Failure):
        if failure.title == "Server error":  # counted from the status code already
            return
        tally.find(Finding(failure.title, where, failure.message[:500], _curl(case)))
    else:
        tally.find(Finding(type(failure).__name__, where, str(failure)[:500], _curl(case)))


def _new_world(root: Path) -> World:
    url = sqlite_url(root / "evidence.db")
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return build_world(root, url)


def _schema(world: World, role: str) -> Any:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.client.app)
    # Configured, not generated: the ignored_auth check then probes each operation with no
    # token and a wrong one and expects a refusal.
    schema.config.update(headers=world.auth(role))
    return schema


def _stateless_test(strategy: Any, examples: int, tally: Tally, where: str,
                    checks: list[Any]) -> Callable[[], None]:
    # The token is pinned in the strategy, not generated, as in the test suite.
    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case[Any]) -> None:
        _send(tally, case, where, lambda r: case.validate_response(r, checks=checks))

    return run


def fuzz_stateless(world: World, role: str, examples: int, tally: Tally) -> None:
    schema = _schema(world, role)
    tally.operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            tally.find(Finding("invalid_document", "openapi.json", str(result.err()), ""))
            continue
        operation = result.ok()
        tally.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = CHECKS
            if operation.label in ONE_OF_BODIES and mode is GenerationMode.NEGATIVE:
                checks = [c for c in CHECKS if c.__name__ != "negative_data_rejection"]
            where = f"{operation.label} [{role}, {mode.value}]"
            run = _stateless_test(operation.as_strategy(generation_mode=mode,
                                                         headers=world.auth(role)),
                                  examples, tally, where, checks)
            # Unsatisfiable: negative mode with nothing but the pinned token to negate.
            with contextlib.suppress(Unsatisfiable):
                run()


def fuzz_stateful(world: World, role: str, scenarios: int, steps: int, tally: Tally) -> None:
    schema = _schema(world, role)
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def step(self, input: StepInput) -> StepOutput:
            where = f"{input.case.operation.label} [{role}, stateful]"
            if input.transition is not None:
                tally.links.add(f"{input.transition.id}")
                tally.linked_steps += input.is_applied
            tally.stateful_steps += 1
            response = _send(tally, input.case, where,
                             lambda r: self.validate_response(r, input.case))
            if response is None:
                # Nothing to chain from; an empty output would break schemathesis' bookkeeping.
                raise _Stop()
            return StepOutput(response, input.case)

    # Every scenario runs against the same, changing home, so hypothesis may find a replay
    # drawing differently (a link whose source now answers otherwise) and stop the run as
    # flaky: the scenarios go in rounds of ten, and a round that stops so is counted.
    done = 0
    while done < scenarios:
        size = min(10, scenarios - done)
        done += size
        try:
            Machine.run(settings=settings(max_examples=size, stateful_step_count=steps,
                                          deadline=None, database=None,
                                          suppress_health_check=list(HealthCheck)))
        except _Stop:
            pass
        except Flaky:
            tally.flaky_rounds += 1


class _Stop(Exception):
    """An app exception inside a stateful scenario (already recorded): end the run."""


@dataclass
class Run:
    config: dict[str, Any]
    env: dict[str, Any]
    by_role: dict[str, Tally]
    seconds: float

    def total(self, name: str) -> int:
        return sum(int(getattr(t, name)) for t in self.by_role.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config, "environment": self.env, "seconds": round(self.seconds, 1),
            "cases": self.total("cases"), "stateful_steps": self.total("stateful_steps"),
            "server_errors": self.total("server_errors"), "violations": self.total("violations"),
            "roles": {role: {"operations": t.operations, "cases": t.cases,
                             "stateful_steps": t.stateful_steps, "linked_steps": t.linked_steps,
                             "links_followed": sorted(t.links),
                             "flaky_stateful_rounds": t.flaky_rounds,
                             "statuses": dict(sorted(t.statuses.items())),
                             "failures_by_kind": dict(t.kinds),
                             "findings": [f.__dict__ for f in t.findings]}
                      for role, t in self.by_role.items()},
        }


def print_table(run: Run, out: TextIO) -> None:
    print_environment(run.env, run.config, out)
    print(file=out)
    print(f"{'role':<14}{'ops':>5}{'cases':>9}{'stateful':>10}{'linked':>8}{'5xx':>6}"
          f"{'violations':>12}  statuses", file=out)
    for role, t in run.by_role.items():
        statuses = " ".join(f"{code}:{n}" for code, n in sorted(t.statuses.items()))
        print(f"{role:<14}{t.operations:>5}{t.cases:>9}{t.stateful_steps:>10}{t.linked_steps:>8}"
              f"{t.server_errors:>6}{t.violations:>12}  {statuses}", file=out)
    print(f"{'total':<14}{'':>5}{run.total('cases'):>9}{run.total('stateful_steps'):>10}"
          f"{'':>8}{run.total('server_errors'):>6}{run.total('violations'):>12}", file=out)
    print(f"  {run.seconds:.0f} s; stateful rounds stopped as flaky: "
          f"{ {role: t.flaky_rounds for role, t in run.by_role.items()} }", file=out)
    for role, t in run.by_role.items():
        if t.links:
            print(f"\n== links followed as {role} ({len(t.links)}) ==", file=out)
            for link in sorted(t.links):
                print(f"  {link}", file=out)
        for f in t.findings:
            print(f"\n!! {f.kind}: {f.where}\n   {f.detail}\n   {f.reproduce}", file=out)


def main() -> int:
    parser = new_parser(__doc__, "5 examples per operation and mode, 10 stateful scenarios")
    add_json_option(parser)
    parser.add_argument("--examples", type=int, default=None,
                        help="generated requests per operation, mode and role (default 100)")
    parser.add_argument("--stateful-examples", type=int, default=None,
                        help="stateful scenarios per role (default 100)")
    parser.add_argument("--stateful-steps", type=int, default=10,
                        help="most steps in one stateful scenario (default 10)")
    parser.add_argument("--roles", default=",".join(DEFAULT_ROLES),
                        help=f"comma-separated users of tests.api_support (default "
                             f"{','.join(DEFAULT_ROLES)})")
    args = parser.parse_args()
    if args.examples is None:
        args.examples = 5 if args.quick else 100
    if args.stateful_examples is None:
        args.stateful_examples = 10 if args.quick else 100
    roles = [r for r in args.roles.split(",") if r]
    config = {"examples": args.examples, "stateful_examples": args.stateful_examples,
              "stateful_steps": args.stateful_steps, "roles": roles, "database": "sqlite",
              "schemathesis": schemathesis.__version__}
    env = environment()
    began = time.monotonic()
    by_role: dict[str, Tally] = {}
    for role in roles:
        tally = by_role[role] = Tally()
        for phase in ("stateless", "stateful"):
            with tempfile.TemporaryDirectory(prefix="fuzz-api-") as directory:
                world = _new_world(Path(directory))
                try:
                    say(f"{role}: {phase}")
                    if phase == "stateless":
                        fuzz_stateless(world, role, args.examples, tally)
                    else:
                        fuzz_stateful(world, role, args.stateful_examples, args.stateful_steps,
                                      tally)
                finally:
                    world.close()
        say(f"{role}: {tally.cases} cases, {tally.server_errors} server errors, "
            f"{tally.violations} violations")
    run = Run(config, env, by_role, time.monotonic() - began)
    print_table(run, sys.stderr if args.json else sys.stdout)
    LATEST.parent.mkdir(parents=True, exist_ok=True)
    LATEST.write_text(json.dumps(run.to_json(), indent=1))
    if args.json:
        print(json.dumps(run.to_json()))
    return 1 if run.total("server_errors") or run.total("violations") else 0


if __name__ == "__main__":
    sys.exit(main())
