"""Counting the test run's PostgreSQL connections: the session's peak, and leaks per test.

CI's server allows 100 connections and other clients share it, so the suite must
neither hold many at once nor leave any open after the test that made them. A
``ConnectionWatch`` samples ``pg_stat_activity`` from a background thread over one
connection of its own (which it leaves out of every count), and tells which
backends of the test database are this process's: those whose client port is a
TCP socket this process holds (Linux's /proc; elsewhere it attributes none).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

SAMPLE_INTERVAL_S = 0.02
PEAK_FILE = ".pytest-pg-peak.json"

_COUNTS = ("SELECT count(*) FILTER (WHERE datname = %(db)s), "
           "count(*) FILTER (WHERE backend_type = 'client backend'), "
           "current_setting('max_connections')::int "
           "FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
_BACKENDS = ("SELECT pid, client_port, application_name FROM pg_stat_activity "
             "WHERE datname = %(db)s AND pid <> pg_backend_pid() AND client_port > 0")


def libpq_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def own_tcp_ports() -> set[int]:
    """Local ports of the TCP sockets this process has open."""
    inodes: set[str] = set()
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return set()
    for fd in descriptors:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed while listing
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports: set[int] = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            rows = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@dataclass
class Peak:
    """The most connections seen at once, and during which test."""

    test_database: int = 0
    test_database_during: str = ""
    server: int = 0  # every client backend on the server, other clients' too
    server_during: str = ""
    max_connections: int = 0
    samples: int = 0
    leaks: list[dict[str, Any]] = field(default_factory=list)


class ConnectionWatch:
    """Samples the connection counts of ``database`` until stopped."""

    def __init__(self, admin_url: str, database: str) -> None:
        self.database = database
        self.current_test = ""
        self.peak = Peak()
        self._dsn = libpq_dsn(admin_url)
        self._conn = self._connect()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-connection-watch", daemon=True)

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._dsn, autocommit=True,
                               application_name="evidence tests: connection watch")

    def start(self) -> ConnectionWatch:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        with self._lock:
            self._conn.close()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            try:
                self.sample()
            except psycopg.Error:
                if self._stop.is_set():
                    return  # closed under us at the end
                self._reconnect_if_broken()  # a hiccup of the server: sample on

    def _reconnect_if_broken(self) -> None:
        with self._lock:
            if not self._conn.broken:
                return
            try:
                fresh = self._connect()
            except psycopg.Error:
                return  # still down: tried again after the next sample fails
            self._conn.close()
            self._conn = fresh

    def sample(self) -> tuple[int, int]:
        with self._lock:
            row = self._conn.execute(_COUNTS, {"db": self.database}).fetchone()
        assert row is not None
        in_database, on_server, max_connections = int(row[0]), int(row[1]), int(row[2])
        peak = self.peak
        peak.samples += 1
        peak.max_connections = max_connections
        if in_database > peak.test_database:
            peak.test_database, peak.test_database_during = in_database, self.current_test
        if on_server > peak.server:
            peak.server, peak.server_during = on_server, self.current_test
        return in_database, on_server

    def own_backends(self) -> dict[int, str]:
        """This process's connections to the test database: backend pid -> application name."""
        with self._lock:
            rows = self._conn.execute(_BACKENDS, {"db": self.database}).fetchall()
        ports = own_tcp_ports()
        return {int(pid): str(name or "") for pid, port, name in rows if int(port) in ports}

    def record_leak(self, test: str, left: dict[int, str]) -> None:
        self.peak.leaks.append({"test": test, "backends": len(left),
                                "application_names": sorted(set(left.values()))})

    def report(self) -> dict[str, Any]:
        """What the run's summary, its budget check and PEAK_FILE need (plain JSON: a pytest-xdist
        worker sends it to the controller)."""
        return {"database": self.database, **asdict(self.peak),
                "summary": summary(self.database, self.peak)}


def write_reports(path: Path, reports: list[dict[str, Any]]) -> None:
    """PEAK_FILE: one watch's report; with pytest-xdist, ``{"workers": [one per worker]}``."""
    shown = [{k: v for k, v in report.items() if k != "summary"} for report in reports]
    body: Any = shown[0] if len(shown) == 1 else {"workers": shown}
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def summary(database: str, peak: Peak) -> list[str]:
    lines = [f"peak {peak.test_database} connections to the test database {database} "
             f"(during {peak.test_database_during or 'setup'}); "
             f"peak {peak.server} client connections server-wide, other clients included "
             f"(max_connections {peak.max_connections}); {peak.samples} samples"]
    lines += [f"LEAK: {leak['test']} left {leak['backends']} connection(s) open "
              f"({', '.join(leak['application_names']) or 'no application name'})"
              for leak in peak.leaks]
    return lines
