"""`evidence serve --workers N`: several processes answer on one port, each with its own app;
a worker count out of range is refused; the access log can be turned off."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.cli_helpers import run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(home: Path, *args: str, env: dict[str, str] | None = None
             ) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args],
        env={**os.environ, "EVIDENCE_HOME": str(home), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/config.json", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer in 120 s"
                time.sleep(0.3)
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True, check=False).stdout
    return [int(p) for p in out.split()]


def test_two_workers_answer_on_one_port_and_stop_together(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    with _serving(home, "--workers", "2") as (proc, port):
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers  # uvicorn's supervisor spawns one process per worker
        for _ in range(6):  # every answer is a whole app's (config, then the API's 401)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/config.json") as reply:
                assert json.load(reply)["time_zone"]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/me")
                raise AssertionError("an unauthenticated request was answered")
            except urllib.error.HTTPError as refused:
                assert refused.code == 401
    assert proc.returncode is not None
    deadline = time.monotonic() + 30  # no worker outlives the server
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, [_cmdline(p) for p in workers if _alive(p)]
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "(gone)"


def test_a_worker_count_out_of_range_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    refused = run_cli(home, "serve", "--port", "1", "--workers", "0", timeout=120)
    assert refused.returncode == 2
    assert "workers must be 1 to 64" in refused.stderr
    refused = run_cli(home, "serve", "--port", "1", env={"EVIDENCE_WORKERS": "65"}, timeout=120)
    assert refused.returncode == 2 and "EVIDENCE_WORKERS" in refused.stderr


def test_the_access_log_can_be_turned_off(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    for setting, logged in (("true", True), ("false", False)):
        with _serving(home, env={"EVIDENCE_ACCESS_LOG": setting}) as (proc, port):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/config.json").close()
        output = proc.communicate()[0]
        assert ('"GET /ui/config.json HTTP/1.1" 200' in output) is logged, output[-2000:]
