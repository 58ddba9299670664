"""Run the real `evidence` command in a subprocess, as a clerk or auditor would."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

FAKES = Path(__file__).parent / "fakes"


# The CLI speaks the environment's language (Chinese by default); the tests read English
# unless they say otherwise (tests/test_i18n.py).
_LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def run_cli(home: Path, *args: str, env: dict[str, str] | None = None,
            timeout: int = 300) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k not in _LANGUAGE_VARIABLES}
    full_env = {**inherited, "LANG": "C.UTF-8", "EVIDENCE_HOME": str(home), "COLUMNS": "200",
                **(env or {})}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout, check=False)


def build_fsfault(out_dir: Path) -> Path:
    """Compile the LD_PRELOAD recorder-fault shim with gcc (see tests/fakes/fsfault.c)."""
    lib = out_dir / "fsfault.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-o", str(lib),
                    str(FAKES / "fsfault.c"), "-ldl"], check=True, capture_output=True)
    return lib


def run_cli_in_process(home: Path, *args: str,
                       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The Typer app of `evidence` called in this process, with the environment ``run_cli``
    gives it: for the tests that compare what a command does with what the HTTP API does,
    where a new interpreter (a second or more of start-up and imports each time) adds nothing.
    The real entry point keeps its subprocess tests (tests/test_cli.py, the crash and
    recorder-fault trials, ``evidence serve``). An exception the command lets out is written
    to ``stderr`` with exit code 1, as Python's own handler would."""
    from typer.testing import CliRunner

    from api.cli import app

    result = CliRunner().invoke(app, list(args), env={"EVIDENCE_HOME": str(home), "COLUMNS": "200",
                                                      **(env or {})})
    stderr = result.stderr
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(["evidence", *args], result.exit_code, result.stdout, stderr)
