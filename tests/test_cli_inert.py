"""What the `evidence` command prints is inert: names from a recorder, a ZIP or the registry can
neither crash the printer with markup nor drive the terminal with control characters. And a
missing verifier key file is a configuration error, not a traceback."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.cli_text import cells, inert, json_line, styled
from api.dock_cmd import Output
from ingest.station import DockOutcome
from tests.cli_helpers import run_cli

HOSTILE = {
    "\x1b[2J\x1b[H\x1b[32mINTACT\x1b[0m": "\\x1b[2J\\x1b[H\\x1b[32mINTACT\\x1b[0m",
    "csi \x9b2J and bell \x07": "csi \\x9b2J and bell \\x07",
    "ev\u202elive.mp4": "ev\\u202elive.mp4",  # right-to-left override: would show "ev4pm.evil"
    "isolate \u2066x\u2069 mark \u200f": "isolate \\u2066x\\u2069 mark \\u200f",
    "line\nbreak\rreturn\u2028sep": "line\\x0abreak\\x0dreturn\\u2028sep",
    "gbk \udcd6\udcd0": "gbk \\udcd6\\udcd0",  # surrogate-escaped bytes of a non-UTF-8 name
    "del \x7f": "del \\x7f",
}


@pytest.mark.parametrize("raw", sorted(HOSTILE))
def test_control_characters_are_shown_escaped(raw: str) -> None:
    assert inert(raw) == HOSTILE[raw]


def test_plain_names_markup_and_chinese_are_kept_as_they_are() -> None:
    for name in ("a [/x]", "[red]x[/red]", ":smile:", "呼和浩特市公安局", "tab-free name.mp4",
                 "emoji 👮 and ZWJ 👩\u200d⚖️"):
        assert inert(name) == name
        assert _printed(styled(("ok", "green"), " ", name)) == f"ok {name}\n"


def test_tables_and_json_are_inert_too() -> None:
    table = _printed_table(cells("a [/x]", "\x1b[31mred", None))
    assert "a [/x]" in table and "\\x1b[31mred" in table and "\x1b[31mred" not in table
    for raw in HOSTILE:
        line = json_line({"name": raw})
        assert not any(ch in line for ch in "\x1b\x9b\u202e\u2066\u2028\x7f\n\r")
        assert json.loads(line) == {"name": raw}  # escaped as JSON, so the data is exact


def test_the_dock_summary_and_live_table_escape_volume_names() -> None:
    buffer = io.StringIO()
    output = Output(Console(file=buffer, width=200, markup=False), as_json=False)
    output.summary([DockOutcome(label="vol\x1b[2J [/x]", complete=False, error="bad \x1b]0;t\x07")])
    assert "\x1b" not in buffer.getvalue() and "vol\\x1b[2J [/x]" in buffer.getvalue()


def test_ingest_prints_hostile_file_names_inert(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    card = tmp_path / "card"
    (card / "a [").mkdir(parents=True)
    (card / "a [" / "x]").write_bytes(b"a file whose path reads as a closing markup tag")
    (card / "\x1b[2J\x1b[32mall fine.txt").write_bytes(b"clears the screen")
    (card / "ev\u202elive.txt").write_bytes(b"reorders the line")
    result = run_cli(home, "ingest", str(card))
    assert "Traceback" not in result.stderr and "MarkupError" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "a [/x]" in result.stdout
    assert "\\x1b[2J\\x1b[32mall fine.txt" in result.stdout
    assert "ev\\u202elive.txt" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr and "\u202e" not in result.stdout
    assert "Done: 3 ingested." in result.stdout


def test_a_missing_verifier_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    vkey_file = home / "keys" / "log.vkey"
    key = vkey_file.read_text(encoding="utf-8").strip()
    vkey_file.unlink()
    for args in (("verify",), ("log", "key"), ("log", "export", str(tmp_path / "export"))):
        result = run_cli(home, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert "log.vkey is missing" in result.stderr and "what to do: restore" in result.stderr
    # --vkey stands in for it where a command takes one
    assert run_cli(home, "verify", "--vkey", key).returncode == 0
    vkey_file.write_text("not a key\n", encoding="utf-8")
    broken = run_cli(home, "verify")
    assert broken.returncode == 2 and "is not a verifier key" in broken.stderr, broken.stderr



def test_a_missing_or_broken_signing_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    key_file = home / "keys" / "log.key"
    key = key_file.read_bytes()
    card = tmp_path / "card"
    card.mkdir()
    (card / "A0001.MP4").write_bytes(b"footage" * 100)
    key_file.unlink()
    for args in (("ingest", str(card)), ("log", "checkpoint"), ("user", "add", "ann", "--role",
                                                                 "admin", "--unit", "default"),
                 ("serve", "--port", "1")):
        result = run_cli(home, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "log.key is missing" in result.stderr, result.stderr
        assert "what to do: restore" in result.stderr and "backup" in result.stderr
    assert run_cli(home, "init").returncode == 0 and not key_file.exists()  # never a new key
    for broken in (b"", b"PRIVATE+KEY+not a key\n", bytes(range(256))):
        key_file.write_bytes(broken)
        key_file.chmod(0o600)
        result = run_cli(home, "log", "checkpoint")
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "is not a signing key" in result.stderr and "what to do: restore" in result.stderr
    key_file.write_bytes(key)
    assert run_cli(home, "ingest", str(card)).returncode == 0
    assert run_cli(home, "verify").returncode == 0

def _printed(renderable: object) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, markup=False, force_terminal=False).print(renderable)
    return buffer.getvalue()


def _printed_table(row: list[Text]) -> str:
    table = Table("a", "b", "c")
    table.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=200, force_terminal=True).print(table)  # styles on, like a tty
    return buffer.getvalue()
