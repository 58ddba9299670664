"""`evidence verify-bundle PATH [--vkey K] [--json]`: check a case bundle offline.

Exit 0 intact, 1 when anything in the bundle was changed (with a report), 2 for a
usage mistake (no such file, no trusted key, a malformed key). Needs no database or home.

The key must come from the recipient, never from the bundle: --vkey, else the key pinned
in EVIDENCE_TRUSTED_VKEY. A bundle's own key vouches for nothing, since whoever altered
the bundle could have re-signed it with a key of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from api.cli_text import console, emit_json, inert, print_error, problem_table, styled
from api.i18n import env_locale, tr
from api.settings import Settings
from api.witnessing import witness_keys
from cases.bundle_verify import verify_bundle
from custody.report import VerifyReport
from domain.errors import ConfigError
from domain.messages import msg

NO_KEY_HINT = msg(
    "ask the evidence office that sent the bundle for its verifier key, by a channel other "
    "than the bundle (they print it with `evidence log key`; the case service shows it on "
    "its custody page), then pass it with --vkey KEY or pin it "
    "in EVIDENCE_TRUSTED_VKEY. Take it not from the bundle: whoever altered a bundle can "
    "re-sign it with a key of their own.")


def trusted_key(vkey: str | None, settings: Settings | None = None) -> str:
    """The key the recipient trusts: --vkey, else the pinned setting; none is a usage error."""
    if vkey:
        return vkey
    pinned = (settings or Settings()).trusted_vkey
    if pinned:
        return pinned.strip()
    raise ConfigError(msg("verify-bundle needs the verifier key you trust; a bundle's own key proves "
                          "nothing"),
                      hint=NO_KEY_HINT)


def run_verify_bundle(path: Path, vkey: str | None, as_json: bool,
                      witnesses: Sequence[str] = (), quorum: int | None = None,
                      out: Console | None = None, err: Console | None = None,
                      settings: Settings | None = None) -> int:
    """Verify the bundle at ``path``, print the report, return the exit code."""
    out = out or console()
    err = err or console(stderr=True)
    try:
        keys = witness_keys(witnesses)
        report = verify_bundle(path, trusted_key(vkey, settings), keys, quorum)
    except ConfigError as exc:
        print_error(err, exc)
        return exc.exit_code
    if as_json:
        emit_json(report.to_json())
    else:
        _print(report, out)
    return 0 if report.ok else 1


def _print(report: VerifyReport, out: Console) -> None:
    status = ("INTACT", "green") if report.ok else ("CHANGED OR DAMAGED", "red")
    out.print(styled(status, "  ", report.source))
    out.print(f"  files {report.objects}, custody events {report.entries}, "
              f"checkpoint size {report.latest_checkpoint_size}")
    out.print(inert(f"  checks: {', '.join(report.checks) or 'none'}"))
    for note in report.notes:
        out.print(styled(("  warning:", "yellow"), " ", tr(note, env_locale())))
    if report.problems:
        out.print(problem_table(report))

