"""Time until the evidence list shows its first result rows in Chromium, cold and warm.

    .venv/bin/python bench/time_to_usable.py                # SQLite, 100,000 items
    .venv/bin/python bench/time_to_usable.py --pg --runs 7

The server is ``evidence serve`` on the corpus of ``bench/make_corpus.py`` (as in
``bench/search_load.py``); nothing else loads it. A bench user signs in through
``POST /api/v1/session``; the cookie is given to each new browser context, so sign-in is
not timed. Debian's Chromium (/usr/bin/chromium) through Playwright:

* cold: a new context (empty cache, no service worker), ``page.goto("/ui/evidence")``;
* warm: the same context navigates to ``/ui/evidence`` again (scripts, styles and the
  catalogue in its cache, revalidated as the server's headers say).

The time is the browser's own: ``performance.now()`` (milliseconds since the navigation
started) at the first animation frame in which ``#evidence-table tbody tr`` exists,
read in the page. Medians of ``--runs`` runs, per user (a case officer, whose unit holds
~20,000 items, and an admin, whose agency holds ~99,000).
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
import json
import statistics
import tempfile
from collections.abc import Sequence
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from bench.common import DEFAULT_PG_ADMIN_URL, say
from bench.make_corpus import corpus
from bench.search_load import Server, sign_in, uptime

CHROMIUM = "/usr/bin/chromium"
ROWS = "() => document.querySelector('#evidence-table tbody tr') ? performance.now() : null"


def usable_ms(browser: Browser, port: int, cookie: str, runs: int) -> dict[str, Any]:
    cold: list[float] = []
    warm: list[float] = []
    url = f"http://127.0.0.1:{port}/ui/evidence"
    for _ in range(runs):
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        try:
            context.add_cookies([{"name": "evidence_session", "value": cookie,
                                  "url": f"http://127.0.0.1:{port}"}])
            page = context.new_page()
            for bucket in (cold, warm):
                page.goto(url, wait_until="commit")
                handle = page.wait_for_function(ROWS, polling="raf", timeout=60_000)
                bucket.append(float(handle.json_value()))
        finally:
            context.close()
    return {"cold_ms": statistics.median(cold), "warm_ms": statistics.median(warm),
            "cold_runs": cold, "warm_runs": warm}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--server-env", action="append", default=[])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    root, facts = corpus(args.items, args.pg, admin_url=args.pg_admin_url)
    extra = dict(kv.split("=", 1) for kv in args.server_env)
    users = [u for u in facts["users"] if u["name"] in ("bench.co00", "bench.ad00")]
    result: dict[str, Any] = {"database": "postgresql" if args.pg else "sqlite",
                              "items": facts["items"], "uptime_before": uptime()}
    with tempfile.TemporaryDirectory(prefix="bench-usable-") as tmp:
        server = Server(root, facts, extra, Path(tmp) / "server.log")
        try:
            cookies = sign_in(server.port, users, facts["password"])
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--disable-background-networking", "--disable-component-update",
                          "--no-first-run"])
                try:
                    usable_ms(browser, server.port, cookies[users[0]["name"]], 1)  # warm-up
                    for user in users:
                        result[user["name"]] = found = usable_ms(
                            browser, server.port, cookies[user["name"]], args.runs)
                        say(f"{user['name']} ({user['role']}): cold {found['cold_ms']:.0f} ms, "
                            f"warm {found['warm_ms']:.0f} ms (medians of {args.runs}; cold "
                            f"{[round(x) for x in found['cold_runs']]}, warm "
                            f"{[round(x) for x in found['warm_runs']]})")
                finally:
                    browser.close()
        finally:
            server.stop()
    result["uptime_after"] = uptime()
    say(f"uptime before: {result['uptime_before']}")
    say(f"uptime after:  {result['uptime_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
