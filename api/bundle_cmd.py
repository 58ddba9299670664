"""`evidence verify-bundle PATH [--vkey K] [--json]`: check a case bundle offline.

Exit 0 intact, 1 when anything in the bundle was changed (with a report), 2 for a
usage mistake (no such file, a malformed --vkey). Needs no database or home.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cases.bundle_verify import verify_bundle
from custody.report import VerifyReport
from domain.errors import ConfigError


def run_verify_bundle(path: Path, vkey: str | None, as_json: bool,
                      out: Console | None = None, err: Console | None = None) -> int:
    """Verify the bundle at ``path``, print the report, return the exit code."""
    out = out or Console(soft_wrap=True)
    err = err or Console(stderr=True, soft_wrap=True)
    try:
        report = verify_bundle(path, vkey)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        if exc.hint:
            err.print(f"  what to do: {exc.hint}", highlight=False)
        return exc.exit_code
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
        sys.stdout.flush()
    else:
        _print(report, out)
    return 0 if report.ok else 1


def _print(report: VerifyReport, out: Console) -> None:
    status = "[green]INTACT[/green]" if report.ok else "[red]CHANGED OR DAMAGED[/red]"
    out.print(f"{status}  {report.source}", highlight=False)
    out.print(f"  files {report.objects}, custody events {report.entries}, "
              f"checkpoint size {report.latest_checkpoint_size}", highlight=False)
    out.print(f"  checks: {', '.join(report.checks) or 'none'}", highlight=False)
    for note in report.notes:
        out.print(f"  [yellow]warning:[/yellow] {note}", highlight=False)
    if report.problems:
        table = Table("entry", "kind", "problem")
        for problem in report.problems:
            table.add_row("" if problem.index is None else str(problem.index), problem.kind,
                          problem.message)
        out.print(table)
