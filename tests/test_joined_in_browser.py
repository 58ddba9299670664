"""The joined recording in Debian's Chromium: played through, the picture is the first
segment, then black for the whole gap, then the second segment from its wall-clock time.

The gap's black clip is encoded by us (x264, ultrafast) and the segments by a "recorder"
(x264, preset medium: another profile and other parameter sets), so this also shows a
browser decodes the stream-copied join across the change."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from media.playback import JoinPart, join_on_wall_clock
from media.recordings import Segment, group_recordings, timeline
from tests.browser_support import browser
from tests.test_joining_wall_clock import T0, _clip

_ = browser
GAP = 3.0
PAGE = """<!doctype html><html><body>
<video id="v" src="joined.mp4" muted playsinline></video>
<canvas id="c" width="16" height="12"></canvas></body></html>"""
# Play the file and sample the middle pixel every 100 ms: [time, r, g, b].
SAMPLE = """
() => new Promise((done) => {
  const v = document.getElementById("v"), c = document.getElementById("c").getContext("2d");
  const samples = [];
  v.play().then(() => {
    const tick = () => {
      c.drawImage(v, 0, 0, 16, 12);
      const d = c.getImageData(8, 6, 1, 1).data;
      samples.push([v.currentTime, d[0], d[1], d[2]]);
      if (v.ended || samples.length > 400) { done({samples, duration: v.duration}); }
      else { setTimeout(tick, 100); }
    };
    tick();
  }, (e) => done({error: String(e)}));
})
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    red = _clip(tmp_path / "red.mp4", "red", 1.5)
    green = _clip(tmp_path / "green.mp4", "green", 1.5)
    [recording] = group_recordings([Segment("a", "ZFY1", T0, 1500),
                                    Segment("b", "ZFY1", T0 + timedelta(seconds=1.5 + GAP), 1500)])
    paths = {"a": red, "b": green}
    join_on_wall_clock([JoinPart(paths[p.evidence_id] if p.evidence_id else None, p.microseconds)
                        for p in timeline(recording).pieces], tmp_path / "joined.mp4")
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _kind(r: int, g: int, b: int) -> str:
    if max(r, g, b) < 30:
        return "black"
    return "red" if r > 150 and g < 80 else "green" if g > 80 and r < 80 else f"({r},{g},{b})"


def test_the_browser_plays_the_gap_as_black_and_the_second_segment_on_time(
        browser: Browser, site: str) -> None:
    page = browser.new_page()
    try:
        page.goto(site)
        result = page.evaluate(SAMPLE)
    finally:
        page.close()
    assert "error" not in result, result
    assert abs(result["duration"] - (3 + GAP)) < 0.15
    seen = [(t, _kind(r, g, b)) for t, r, g, b in result["samples"]]
    first_green = min(t for t, kind in seen if kind == "green")
    assert 1.5 + GAP - 0.05 <= first_green <= 1.5 + GAP + 0.35, seen  # on the wall clock
    for t, kind in seen:
        if t < 1.4:
            assert kind == "red", (t, seen)
        elif 1.7 < t < 1.5 + GAP - 0.1:
            assert kind == "black", (t, seen)
        elif t > 1.5 + GAP + 0.4:
            assert kind == "green", (t, seen)
