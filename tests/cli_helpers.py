"""Run the real `evidence` command in a subprocess, as a clerk or auditor would."""

from __future__ import annotations

import os
import subprocess
import sys
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
