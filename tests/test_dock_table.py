"""The live table of `evidence dock` in a terminal: what the person at the station reads."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from api.dock_cmd import run_dock
from api.home import init_home
from api.settings import Settings
from devices.simulated import SimulatedRecorder

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def clips(n: int, seed: int, size: int = 40_000) -> list[bytes]:
    return [bytes([seed, i]) * (size // 2) for i in range(n)]


def last_frame(text: str) -> str:
    """The table as the terminal shows it when the run ends (Live redraws in place)."""
    plain = ANSI.sub("", text)
    return plain[plain.rfind("recorder"):]


def test_the_file_counter_counts_the_files_done(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    home, _ = init_home(settings)
    mount = tmp_path / "media"
    mount.mkdir()
    SimulatedRecorder(mount, "ZFY0001", "100234", clips(3, 1)).dock()
    SimulatedRecorder(mount, "ZFY0002", "100235", clips(2, 2)).dock()
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    assert run_dock(home, settings, [mount], once=True, wipe=True, as_json=False,
                    console=console, udev=False)
    frame = last_frame(screen.getvalue())
    rows = {line.split()[1]: line.split() for line in frame.splitlines()
            if line.startswith("│ ZFY") or line.startswith("| ZFY")}
    assert rows.keys() == {"ZFY0001", "ZFY0002"}, frame
    assert "3/3" in rows["ZFY0001"] and "2/2" in rows["ZFY0002"], frame
    assert "done" in rows["ZFY0001"], frame
