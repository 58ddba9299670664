"""Search and playback first byte under 50 signed-in users, with wrk, against `evidence serve`.

    .venv/bin/python bench/search_load.py                  # SQLite, 100,000 items
    .venv/bin/python bench/search_load.py --pg             # PostgreSQL
    .venv/bin/python bench/search_load.py --runs 3 --seconds 15 --json out.json

The corpus is ``bench/make_corpus.py``'s (built on first use, cached under /tmp). The
server is started as production starts it: ``python -m api.cli serve`` with
``EVIDENCE_HOME`` (and ``EVIDENCE_DATABASE_URL`` for PostgreSQL) in its environment, its
log to a file. Extra server environment can be given with ``--server-env NAME=VALUE``
(for the knobs ``evidence serve`` reads).

The 50 bench users sign in with ``POST /api/v1/session`` (their cookies are what wrk
sends). wrk (Debian's) runs a Lua script that takes, for each request, the next of a
list of (cookie, path) pairs prepared here, each thread starting at a different place:

* search: ``GET /api/v1/evidence`` as each user would search: the first page, a time
  window of hours or days (``from``/``to``, with +08:00 offsets), an officer
  of the user's unit, a recorder, an officer and a window, and later pages (offset 50,
  100, 250). Officers (role ``officer``) search their own footage.
* playback (session joined): ``GET /api/v1/evidence/{id}/playback`` with ``Range: bytes=0-1``
  for items the user already opened a viewing session on (a player's next request).
* playback (new viewing session): the same request where each one opens a session (a
  custody event is appended) is timed here in Python threads (1 and 50 at once), as it
  is limited to 120 per user and 1,200 per address by the production rate limits.

Each wrk run is closed loop (``-c 1 -t 1`` and ``-c 50 -t 2``), alternated ``--runs``
times; the figures are medians over runs of each run's p50/p99 and requests/s, and the
ratios are 50-connection over 1-connection figures of the same round. ``uptime`` is
recorded before and after: the machine is shared.
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _BENCH_DIR.parent
if sys.path and Path(sys.path[0] or ".").resolve() == _BENCH_DIR:
    sys.path[0] = str(_REPO_ROOT)

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from bench.common import DEFAULT_PG_ADMIN_URL, percentile, say
from bench.make_corpus import corpus

CST = timezone(timedelta(hours=8))
WRK_LUA = r"""
local pairs_ = {}
local n = 0
local counter = 0
local made = 0

function setup(thread)
  made = made + 1
  thread:set("tid", made)
end

function init(args)
  for line in io.lines(args[1]) do
    local cookie, path = line:match("^(%S+)\t(.+)$")
    table.insert(pairs_, {cookie, path})
  end
  n = #pairs_
  counter = ((tid or 1) - 1) * math.floor(n / 7) + 1
end

function request()
  local p = pairs_[counter]
  counter = counter + 1
  if counter > n then counter = 1 end
  local headers = {["Cookie"] = "evidence_session=" .. p[1], ["Accept-Language"] = "zh-CN"}
  if string.find(p[2], "/playback", 1, true) then headers["Range"] = "bytes=0-1" end
  return wrk.format("GET", p[2], headers)
end

function done(summary, latency, requests)
  local out = string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "status_errors": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout)
  io.stderr:write("WRKJSON " .. out .. "\n")
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


class Server:
    """``python -m api.cli serve`` on a free port, its log in a file."""

    def __init__(self, root: Path, facts: dict[str, Any], extra_env: dict[str, str],
                 log_path: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "EVIDENCE_HOME": str(root), **extra_env}
        env.pop("EVIDENCE_DATABASE_URL", None)
        if facts["database_url"]:
            env["EVIDENCE_DATABASE_URL"] = facts["database_url"]
        env["PYTHONPATH"] = str(_REPO_ROOT)
        self.log_path = log_path
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port",
             str(self.port)], cwd=_REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {log_path.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("server did not start in 60 s")

    def pids(self) -> list[int]:
        """The server process and its children (worker processes, when it has them)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        return [self.proc.pid, *map(int, out)]

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its worker processes so far."""
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None,
            body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def sign_in(port: int, users: list[dict[str, str]], password: str) -> dict[str, str]:
    cookies = {}
    for user in users:
        status, headers, body = request(port, "POST", "/api/v1/session", {
            "Content-Type": "application/json"},
            json.dumps({"name": user["name"], "password": password}).encode())
        if status != 200:
            raise SystemExit(f"sign-in of {user['name']} failed: {status} {body[:300]!r}")
        cookie = headers["set-cookie"].split(";", 1)[0]
        name, _, value = cookie.partition("=")
        assert name == "evidence_session", cookie
        cookies[user["name"]] = value
    return cookies


def _window(rng: random.Random, span: tuple[datetime, datetime], hours: float) -> dict[str, str]:
    total = (span[1] - span[0]).total_seconds() - hours * 3600
    start = (span[0] + timedelta(seconds=rng.randrange(int(total)))).astimezone(CST)
    start = start.replace(minute=(start.minute // 10) * 10, second=0, microsecond=0)
    return {"from": start.isoformat(), "to":
            (start + timedelta(hours=hours)).isoformat()}


def search_paths(facts: dict[str, Any], cookies: dict[str, str], count: int,
                 seed: int = 1) -> list[tuple[str, str]]:
    """(cookie, path) pairs: what each user would search, in a realistic mix."""
    rng = random.Random(seed)
    span = (datetime.fromisoformat(facts["span"][0].replace("Z", "+00:00")),
            datetime.fromisoformat(facts["span"][1].replace("Z", "+00:00")))
    by_unit: dict[str, list[list[str]]] = {}
    for officer in facts["officers"]:
        by_unit.setdefault(officer[2], []).append(officer)
    out = []
    users = facts["users"]
    for n in range(count):
        user = users[n % len(users)]
        colleagues = by_unit.get(user["unit"]) or facts["officers"]
        draw = rng.random()
        params: dict[str, str | int] = {}
        if draw < 0.20:
            pass  # the list as it opens: page 1, newest first
        elif draw < 0.40:
            params.update(_window(rng, span, rng.choice((1, 2, 4, 8))))
        elif draw < 0.52:
            params.update(_window(rng, span, 24 * rng.choice((1, 3, 7, 30))))
        elif draw < 0.64 and user["role"] != "officer":
            params["officer"] = rng.choice(colleagues)[0]
        elif draw < 0.72 and user["role"] != "officer":
            params["device"] = rng.choice(colleagues)[3]
        elif draw < 0.84:
            if user["role"] != "officer":
                params["officer"] = rng.choice(colleagues)[0]
            params.update(_window(rng, span, 24 * rng.choice((1, 7, 30))))
        else:
            params["offset"] = rng.choice((50, 100, 250))
            if rng.random() < 0.5:
                params.update(_window(rng, span, 24 * 7))
        path = "/api/v1/evidence" + (f"?{urlencode(params)}" if params else "")
        out.append((cookies[user["name"]], path))
    return out


def playable_for(facts: dict[str, Any], user: dict[str, str]) -> list[str]:
    """Items the user may play: their unit's (officers: their own; admins: the agency's)."""
    items = facts["playable"]
    if user["role"] == "officer":
        mine = [i for i, _unit, officer in items if officer == user["officer_no"]]
        return mine or [facts["real_ids"][0]] * 0
    if user["role"] == "admin":
        return [i for i, unit, _ in items if unit]
    return [i for i, unit, _ in items if unit == user["unit"]]


def playback_pairs(facts: dict[str, Any], cookies: dict[str, str], per_user: int,
                   seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for user in facts["users"]:
        items = playable_for(facts, user)
        if not items:
            continue
        for item in rng.sample(items, min(per_user, len(items))):
            out.append((cookies[user["name"]], f"/api/v1/evidence/{item}/playback"))
    rng.shuffle(out)
    return out


def first_byte(port: int, cookie: str, path: str) -> tuple[float, int]:
    """Seconds until the first body byte of a ranged playback request, and its status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": f"evidence_session={cookie}",
                                           "Range": "bytes=0-1"})
        resp = conn.getresponse()
        resp.read(1)
        elapsed = time.perf_counter() - t0
        resp.read()
        return elapsed, resp.status
    finally:
        conn.close()


def new_sessions(port: int, pairs: list[tuple[str, str]], concurrency: int) -> dict[str, Any]:
    """Each pair opens a new viewing session (custody event); ``concurrency`` at once."""
    lock = threading.Lock()
    times: list[float] = []
    statuses: dict[int, int] = {}
    todo = list(pairs)

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                cookie, path = todo.pop()
            try:
                elapsed, status = first_byte(port, cookie, path)
            except OSError as exc:
                say(f"playback request failed: {exc!r}")
                elapsed, status = float("nan"), 0
            with lock:
                times.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - t0
    return {"n": len(times), "p50_ms": percentile(times, 50) * 1000,
            "p99_ms": percentile(times, 99) * 1000, "rps": len(times) / wall,
            "statuses": statuses}


def wrk(server: Server, pairs_file: Path, lua: Path, connections: int,
        seconds: int) -> dict[str, Any]:
    port = server.port
    cpu0 = server.cpu_seconds()
    threads = 1 if connections == 1 else 2
    done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d",
                           f"{seconds}s", "--timeout", "10s", "-s", str(lua),
                           f"http://127.0.0.1:{port}", "--", str(pairs_file)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    line = next(x for x in done.stderr.splitlines() if x.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line[len("WRKJSON "):])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["p50_ms"] = result["p50_us"] / 1000
    result["p99_ms"] = result["p99_us"] / 1000
    # the server's CPU per request: what the machine's noise changes least
    result["cpu_ms"] = (server.cpu_seconds() - cpu0) * 1000 / max(1, result["requests"])
    return result


def rounds(name: str, server: Server, pairs: list[tuple[str, str]], lua: Path, runs: int,
           seconds: int, tmp: Path) -> dict[str, Any]:
    pairs_file = tmp / f"{name}.tsv"
    pairs_file.write_text("".join(f"{c}\t{p}\n" for c, p in pairs))
    say(f"{name}: warm-up 5 s at 50 connections")
    wrk(server, pairs_file, lua, 50, 5)
    one, fifty = [], []
    for r in range(runs):
        one.append(wrk(server, pairs_file, lua, 1, seconds))
        fifty.append(wrk(server, pairs_file, lua, 50, seconds))
        say(f"{name} round {r + 1}: 1 conn p50 {one[-1]['p50_ms']:.1f} ms p99 "
            f"{one[-1]['p99_ms']:.1f} ms {one[-1]['rps']:.0f}/s | 50 conns p50 "
            f"{fifty[-1]['p50_ms']:.1f} ms p99 {fifty[-1]['p99_ms']:.1f} ms "
            f"{fifty[-1]['rps']:.0f}/s | CPU/request {one[-1]['cpu_ms']:.2f} / "
            f"{fifty[-1]['cpu_ms']:.2f} ms | errors {fifty[-1]['status_errors']}+"
            f"{fifty[-1]['timeouts']}")

    def med(runs_: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in runs_))

    return {
        "one": {k: med(one, k) for k in ("p50_ms", "p99_ms", "rps", "cpu_ms")},
        "fifty": {k: med(fifty, k) for k in ("p50_ms", "p99_ms", "rps", "cpu_ms")},
        "ratio_p50": statistics.median(f["p50_ms"] / o["p50_ms"] for o, f in zip(one, fifty, strict=True)),
        "ratio_p99": statistics.median(f["p99_ms"] / o["p99_ms"] for o, f in zip(one, fifty, strict=True)),
        "ratio_rps": statistics.median(f["rps"] / o["rps"] for o, f in zip(one, fifty, strict=True)),
        "errors": sum(f["status_errors"] + f["timeouts"] + o["status_errors"] + o["timeouts"]
                      for o, f in zip(one, fifty, strict=True)),
        "runs": {"one": one, "fifty": fifty},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--only", choices=("search", "playback", "floor"), default=None)
    parser.add_argument("--server-env", action="append", default=[],
                        help="NAME=VALUE for the server's environment")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--hold", type=int, default=0,
                        help="keep the server up this many seconds after signing in (profiling)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("this bench needs wrk (Debian: apt-get install wrk); it is not part of "
                         "the tests, so scripts/install-system-deps does not install it")
    root, facts = corpus(args.items, args.pg, admin_url=args.pg_admin_url)
    extra = dict(kv.split("=", 1) for kv in args.server_env)
    result: dict[str, Any] = {"database": "postgresql" if args.pg else "sqlite",
                              "items": facts["items"], "server_env": extra,
                              "uptime_before": uptime(), "started": datetime.now().isoformat()}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        lua = tmp / "rotate.lua"
        lua.write_text(WRK_LUA)
        server = Server(root, facts, extra, tmp / "server.log")
        try:
            say(f"server on port {server.port} (pids {server.pids()}); signing in 50 users")
            cookies = sign_in(server.port, facts["users"], facts["password"])
            if args.hold:
                say(f"holding {args.hold} s")
                time.sleep(args.hold)
            if args.only in (None, "floor"):
                # the floor: authentication by session and a small JSON answer, no search
                floor = [(cookies[u["name"]], "/api/v1/me") for u in facts["users"]]
                result["floor"] = rounds("floor", server, floor, lua, args.runs,
                                         args.seconds, tmp)
            if args.only in (None, "search"):
                pairs = search_paths(facts, cookies, 5000)
                status, _, body = request(server.port, "GET", pairs[1][1],
                                          {"Cookie": f"evidence_session={pairs[1][0]}"})
                if status != 200:
                    raise SystemExit(f"search refused: {status} {body[:400]!r}")
                result["search"] = rounds("search", server, pairs, lua, args.runs,
                                          args.seconds, tmp)
            if args.only in (None, "playback"):
                # new viewing sessions: 1 at a time, then 50 at once (each a custody event)
                fresh = playback_pairs(facts, cookies, 12, seed=2)
                result["playback_new_one"] = new_sessions(server.port, fresh[:100], 1)
                result["playback_new_fifty"] = new_sessions(server.port, fresh[100:], 50)
                say(f"playback, new session: 1 at a time {result['playback_new_one']}; "
                    f"50 at once {result['playback_new_fifty']}")
                joined = fresh  # every pair now has its open session: the next request joins
                result["playback_joined"] = rounds("playback", server, joined, lua,
                                                   args.runs, args.seconds, tmp)
        finally:
            server.stop()
            kept = Path("/tmp/bench-corpus") / f"server-{result['database']}.log"
            kept.write_bytes(server.log_path.read_bytes())
            result["server_log"] = str(kept)
    result["uptime_after"] = uptime()
    say(f"uptime before: {result['uptime_before']}")
    say(f"uptime after:  {result['uptime_after']}")
    for key in ("floor", "search", "playback_joined"):
        if key in result:
            r = result[key]
            say(f"{key}: 1 conn p50 {r['one']['p50_ms']:.1f} ms p99 {r['one']['p99_ms']:.1f} ms "
                f"{r['one']['rps']:.0f}/s; 50 conns p50 {r['fifty']['p50_ms']:.1f} ms p99 "
                f"{r['fifty']['p99_ms']:.1f} ms {r['fifty']['rps']:.0f}/s; ratios p50 x"
                f"{r['ratio_p50']:.1f} p99 x{r['ratio_p99']:.1f} rps x{r['ratio_rps']:.2f}; "
                f"CPU/request {r['one']['cpu_ms']:.2f} / {r['fifty']['cpu_ms']:.2f} ms; "
                f"errors {r['errors']}")
    out = json.dumps(result, indent=1, default=str)
    if args.json:
        args.json.write_text(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
