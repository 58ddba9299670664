"""Server memory under many huge unauthenticated bodies (issue 12, item 6).

    .venv/bin/python bench/http_bodies.py                 # 20 clients x 200 MB, declared and chunked
    .venv/bin/python bench/http_bodies.py --clients 1 --code /path/to/old/checkout

Starts ``evidence serve`` (uvicorn, a real process) on a fresh temporary home,
waits until it answers, takes its idle RSS, then opens ``--clients`` connections
at once, each POSTing ``--megabytes`` of JSON-looking bytes to ``/api/v1/cases``
without a token, in 1 MiB writes, while reading the answer. A client stops
sending when the answer (or the end of the connection) arrives. Two rounds: the
body with a ``Content-Length`` (refused before it is read) and the body
``Transfer-Encoding: chunked`` (counted as it streams). The server's RSS is
sampled from /proc every 10 ms; its kernel high-water mark (VmHWM) is read at
the end, so a peak between samples is not missed.

Reported per round: answers by status, bytes the clients got to send before
their answer, wall time ("closed": the server answered 413 and closed while the
client was still sending, and the client's kernel dropped the answer on the
reset, as with any server that closes on an unread body); and for the server: idle RSS, peak RSS (VmHWM) and
peak/idle. ``--code`` runs the server from another checkout (e.g. main before
the fix) to compare; use few clients there, as the old server holds every body.

Standard library only.
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(_BENCH_DIR.parent))

from bench.common import say

MIB = 1024 * 1024
PATH = "/api/v1/cases"


@dataclass
class Answer:
    status: int | None  # None: the server closed before the client could read an answer
    sent: int
    seconds: float


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(code: Path, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EVIDENCE_HOME": str(home)}
    env.pop("EVIDENCE_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "api.cli", "init"], cwd=code, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
                              cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /api/v1/me HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 401"):
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("evidence serve did not answer within 60 s")


async def one_client(port: int, total: int, chunked: bool) -> Answer:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    writer.write(f"POST {PATH} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                 f"{framing}\r\n\r\n".encode())
    sent = 0

    async def send_body() -> None:
        nonlocal sent
        piece = b"[" * MIB
        while sent < total:
            size = min(MIB, total - sent)
            data = piece[:size]
            writer.write(b"%x\r\n%s\r\n" % (size, data) if chunked else data)
            await writer.drain()
            sent += size
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    sending = asyncio.create_task(send_body())
    status: int | None = None
    try:
        line = await reader.readline()
        if line.startswith(b"HTTP/1.1 "):
            status = int(line.split()[1])
    except (ConnectionError, OSError):
        pass
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
        await sending
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()
    return Answer(status, sent, time.monotonic() - started)


async def sample_rss(pid: int, stop: asyncio.Event, seen: list[int]) -> None:
    while not stop.is_set():
        seen.append(_rss_kib(pid, "VmRSS"))
        await asyncio.sleep(0.01)


async def round_of(port: int, pid: int, clients: int, total: int, chunked: bool) -> dict[str, Any]:
    stop = asyncio.Event()
    seen: list[int] = []
    sampler = asyncio.create_task(sample_rss(pid, stop, seen))
    started = time.monotonic()
    answers = await asyncio.gather(*(one_client(port, total, chunked) for _ in range(clients)))
    wall = time.monotonic() - started
    stop.set()
    await sampler
    return {"framing": "chunked" if chunked else "content-length", "clients": clients,
            "body_mb": total // MIB,
            "statuses": dict(Counter(str(a.status or "closed") for a in answers)),
            "max_sent_mib": round(max(a.sent for a in answers) / MIB, 1),
            "sent_mib_total": round(sum(a.sent for a in answers) / MIB, 1),
            "wall_s": round(wall, 2), "sampled_peak_rss_mib": round(max(seen) / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--code", type=Path, default=_BENCH_DIR.parent,
                        help="checkout whose `python -m api.cli serve` runs (default: this one)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-http-bodies-") as tmp:
        server = start_server(args.code.resolve(), Path(tmp) / "home", port)
        try:
            time.sleep(1)  # let start-up settle before the idle figure
            idle = _rss_kib(server.pid, "VmRSS")
            say(f"server pid {server.pid}, idle RSS {idle / 1024:.1f} MiB; "
                f"{args.clients} clients x {args.megabytes} MB")
            rounds = [asyncio.run(round_of(port, server.pid, args.clients, args.megabytes * MIB, chunked))
                      for chunked in (False, True)]
            peak = _rss_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {"code": str(args.code.resolve()), "idle_rss_mib": round(idle / 1024, 1),
              "peak_rss_mib": round(peak / 1024, 1), "peak_over_idle": round(peak / idle, 3),
              "rounds": rounds}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"server ({result['code']}): idle RSS {result['idle_rss_mib']} MiB, "
          f"peak RSS (VmHWM) {result['peak_rss_mib']} MiB, peak/idle {result['peak_over_idle']}")
    for r in rounds:
        print(f"  {r['framing']:>14}: {r['clients']} x {r['body_mb']} MB -> statuses {r['statuses']}, "
              f"each client sent at most {r['max_sent_mib']} MiB before its answer "
              f"({r['sent_mib_total']} MiB in all), {r['wall_s']} s, "
              f"sampled peak RSS {r['sampled_peak_rss_mib']} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
