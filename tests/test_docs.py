"""The README documents every setting and every command (datasette's habit)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from api.cli import app
from api.settings import Settings

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [f"EVIDENCE_{name.upper()}" for name in Settings.model_fields
               if f"EVIDENCE_{name.upper()}" not in README]
    assert not missing, f"document these settings in README.md: {missing}"


def _commands(group: object, prefix: str = "evidence") -> list[str]:
    found = []
    for name, command in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}"
        found.append(path)
        found += _commands(command, path)
    return found


def test_every_command_is_documented() -> None:
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 10
    missing = [c for c in commands if f"`{c}" not in README]
    assert not missing, f"document these commands in README.md: {missing}"
