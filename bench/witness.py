"""Witnessing figures for issue 14, all on 127.0.0.1 in one run:

    .venv/bin/python bench/witness.py [--rounds 200] [--appends 400]

1. witness round trip: one add-checkpoint (log signs, witness verifies the signature and
   the consistency proof, stores, cosigns; the log checks and keeps the cosignature), the
   median and p90 of ``--rounds`` rounds, each after one new event; cosigned checkpoints
   per second is its inverse;
2. append throughput with a Witnesser running every 0.2 s against with none: single-event
   appends (one signed checkpoint each) for a fixed count, alternating off/on five times;
   the ratio is the median of the paired on/off times (>1 means witnessing costs);
3. time from an insider's rollback to its detection: one verify of the whole log plus
   the witness check, as `evidence verify --witness` runs it.
The witness runs in its own process (`evidence witness serve`), as an outside body's would.
The machine is shared: `uptime` is printed before and after.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and its modules would shadow packages.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import contextlib
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator

from api.home import dispose_engines, init_home
from api.settings import Settings
from api.verify_run import check_witnesses_now, run_verify
from api.witness_home import init_witness
from api.witnessing import Witnesser, WitnessPeer, ask_to_cosign
from custody.events import EventDraft
from tests.custody_tamper import roll_back

ORIGIN = "bench.test/witness"


@contextlib.contextmanager
def _witness_process(home: Path) -> Iterator[str]:
    """`evidence witness serve` in its own process, as the outside body would run it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "witness", "serve", "--home",
                               str(home), "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the witness did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def _event(n: int) -> list[EventDraft]:
    return [EventDraft("bench:event", "bench", None, {"n": n})]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--appends", type=int, default=400)
    args = parser.parse_args()
    print("load before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        home, _ = init_home(Settings(home=root / "log", s3_endpoint=None, log_origin=ORIGIN))
        witness_home = init_witness(root / "witness", "bench.test/w1")
        witness_home.add_log(home.verifier().vkey())
        with _witness_process(root / "witness") as url:
            peer = WitnessPeer(url, witness_home.cosigner().key)
            log = home.custody_log()
            trips = []
            for n in range(args.rounds):
                log.append(_event(n))
                started = time.perf_counter()
                ask_to_cosign(log, peer)
                trips.append(time.perf_counter() - started)
            trips.sort()
            median = statistics.median(trips)
            print(f"witness round trip: median {median * 1000:.2f} ms, p90 "
                  f"{trips[int(len(trips) * 0.9)] * 1000:.2f} ms over {len(trips)} rounds; "
                  f"{1 / median:.0f} cosigned checkpoints/s")

            ratios = []
            for _ in range(5):
                times = {}
                for witnessing in (False, True):
                    stamper = Witnesser(log, [peer], every=0.2) if witnessing else None
                    if stamper:
                        stamper.start()
                    started = time.perf_counter()
                    for n in range(args.appends):
                        log.append(_event(n))
                    times[witnessing] = time.perf_counter() - started
                    if stamper:
                        stamper.stop()
                ratios.append(times[True] / times[False])
                print(f"  {args.appends} appends: off {times[False]:.2f} s, on {times[True]:.2f} s")
            print(f"append time with witnessing on / off: median ratio {statistics.median(ratios):.3f}")

            size = log.latest_checkpoint().size  # type: ignore[union-attr]
            ask_to_cosign(log, peer)
            roll_back(log.engine, size // 2)
            peers = root / "witnesses"
            peers.write_text(f"{url} {peer.key.vkey()}\n", encoding="utf-8")
            started = time.perf_counter()
            report = run_verify(log.engine, None, home.verifier(), ORIGIN, objects=False)
            check_witnesses_now(log.engine, report, home.verifier(), ORIGIN, [peer.key.vkey()],
                                None, peers)
            took = time.perf_counter() - started
            assert not report.ok
            print(f"rollback of {size - size // 2} of {size} entries detected by one verify "
                  f"--witness in {took:.2f} s")
        dispose_engines()
    print("load after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
