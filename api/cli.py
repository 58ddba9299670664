"""The `evidence` command line. Exit 0 = success/intact, 1 = problems found, 2 = usage/config."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from api.cli_actions import action_app, certificate_app, document_app, matter_app
from api.cli_annual import annual_app
from api.cli_calendar import calendar_app
from api.cli_decision_publication import decision_publication_app
from api.cli_org import agency_app, device_app, unit_app
from api.cli_publication import guide_app, inspection_app, publication_app
from api.cli_redact import redact_app
from api.cli_service import cli_operator, serve, user_app
from api.cli_text import console, emit_json, inert, print_error, problem_table, styled
from api.cli_witness import witness_app
from api.home import Home, init_home, open_home
from api.i18n import env_locale, tr
from api.settings import Settings
from api.verify_run import check_witnesses_now, run_verify
from custody.note import Verifier
from custody.proofs import check_consistency_document, check_inclusion_document
from custody.report import VerifyReport
from custody.tiles import export_tiles, verify_export
from domain.errors import ConfigError, EvidenceError
from domain.messages import msg


class EvidenceGroup(TyperGroup):
    """Renders project errors in one place, with the contract's exit codes."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EvidenceError as exc:
            print_error(err, exc)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(help="Body-camera evidence ingestion and chain of custody.",
                  no_args_is_help=True, add_completion=False, cls=EvidenceGroup,
                  pretty_exceptions_enable=False)
log_app = typer.Typer(help="The custody log: checkpoints, proofs, export.", no_args_is_help=True)
app.add_typer(log_app, name="log")
app.add_typer(user_app, name="user")
app.add_typer(agency_app, name="agency")
app.add_typer(unit_app, name="unit")
app.add_typer(device_app, name="device")
app.add_typer(witness_app, name="witness")
app.add_typer(matter_app, name="matter")
app.add_typer(certificate_app, name="certificate")
app.add_typer(action_app, name="action")
app.add_typer(redact_app, name="redact")
app.add_typer(document_app, name="document")
app.add_typer(calendar_app, name="calendar")
app.add_typer(inspection_app, name="inspection")
app.add_typer(guide_app, name="guide")
app.add_typer(publication_app, name="publication")
app.add_typer(decision_publication_app, name="decision-publication")
app.add_typer(annual_app, name="annual-report")

out = console()
err = console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _home() -> Home:
    return open_home(Settings())


@app.command()
def init(origin: Annotated[str | None, typer.Option(
        help="Checkpoint origin line, e.g. evidence.example.gov.cn/office-3.")] = None,
        as_json: JsonOption = False) -> None:
    """Create $EVIDENCE_HOME with its database, object folder and signing key."""
    home, created = init_home(Settings(), origin)
    vkey = home.verifier().vkey()
    if as_json:
        emit_json({"home": str(home.root), "created": created, "origin": home.origin,
                   "vkey": vkey, "signer": "pkcs11" if home.pkcs11 else "file",
                   "signer_detail": home.describe_signer()})
        return
    verb = "Created" if created else "Already initialised:"
    out.print(inert(f"{verb} evidence home {home.root}"))
    out.print(inert(f"  log origin   {home.origin}"))
    out.print(inert(f"  verifier key {vkey}"))
    out.print(inert(f"  signer       {home.describe_signer()}"))


def render_report(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_json())
    else:
        status = ("INTACT", "green") if report.ok else ("PROBLEMS FOUND", "red")
        out.print(styled(status, "  ", report.source))
        out.print(f"  entries {report.entries}, checkpoints {report.checkpoints}, "
                  f"objects {report.objects}, latest signed size {report.latest_checkpoint_size}")
        out.print(inert(f"  checks: {', '.join(report.checks) or 'none'}"))
        for note in report.notes:
            out.print(styled("  note: ", tr(note, env_locale())))
        if report.problems:
            out.print(problem_table(report))
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def verify(
    objects: Annotated[bool, typer.Option(
        "--objects", help="Also re-hash every stored object named by an event.")] = False,
    export: Annotated[Path | None, typer.Option(
        help="Verify a `log export` folder offline, with no database.")] = None,
    witness: Annotated[list[str] | None, typer.Option(
        help="A witness's key (repeatable): the log must extend what it cosigned; its URL "
        "comes from EVIDENCE_WITNESSES_FILE.")] = None,
    quorum: Annotated[int | None, typer.Option(
        help="Witnesses that must vouch (default: every --witness).")] = None,
    tsa_roots: Annotated[Path | None, typer.Option(
        help="CA certificate(s), PEM, that checkpoint time-stamps must chain to "
        "(default EVIDENCE_TSA_ROOTS).")] = None,
    vkey: Annotated[str | None, typer.Option(
        help="Verifier key to trust (default: the home's, or the export's own).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Walk the whole custody log and report every problem, then check the catalogue against it."""
    if export is not None:
        if objects:
            raise ConfigError(msg("--objects needs the database and store"),
                              hint=msg("drop --objects when verifying an export"))
        from api.witnessing import witness_keys

        render_report(verify_export(export, vkey, witness_keys(witness or ()), quorum), as_json)
        return
    from api.timestamping import load_roots

    home = _home()
    store = home.object_store() if objects else None
    settings = Settings()
    roots_file = tsa_roots or settings.tsa_roots
    verifier = _verifier(home, vkey)
    report = run_verify(home.engine(), store, verifier, home.origin, objects=objects,
                        tsa_roots=load_roots(roots_file) if roots_file else None)
    if witness:
        check_witnesses_now(home.engine(), report, verifier, home.origin, witness, quorum,
                            settings.witnesses_file)
    render_report(report, as_json)


def _verifier(home: Home, vkey: str | None) -> Verifier:
    return Verifier.from_vkey(vkey) if vkey else home.verifier()


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A mounted recorder or any folder.")],
    device_serial: Annotated[str | None, typer.Option(help="Recorder serial, if known.")] = None,
    officer: Annotated[str | None, typer.Option(help="Officer number, if known.")] = None,
    unit: Annotated[str | None, typer.Option(
        help="Code of the unit the footage belongs to (default: EVIDENCE_STATION_UNIT).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest every file under PATH; returns when originals and playback copies are done."""
    from api.ingest_cmd import run_ingest

    ok = run_ingest(_home(), Settings(), path, device_serial, officer, as_json, out, unit)
    raise typer.Exit(0 if ok else 1)


@app.command()
def recordings(
    join: Annotated[str | None, typer.Option(help="Recording id to write as one MP4.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Where --join writes.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why it is exported (logged).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Segments grouped into recordings, with gaps and overlaps; --join plays one as one file."""
    from api.ingest_cmd import join_recording, list_recordings

    if join is not None:
        if out_file is None:
            raise ConfigError(msg("--join needs --out FILE.mp4"))
        join_recording(_home(), join, out_file, reason)
        out.print(inert(f"wrote {out_file}; on the wall clock, each gap black and silent; the gaps "
                        "are logged with the export"))
        return
    for rec in list_recordings(_home()):
        if as_json:
            emit_json(rec)
        else:
            gaps = ", ".join(f"{g['seconds']} s at {g['start']}" for g in rec["gaps"]) or "none"
            out.print(inert(f"{rec['id']}  {rec['device']}  {rec['start']} → {rec['end']}  "
                            f"{len(rec['segments'])} segment(s); gaps: {gaps}"))


@app.command("case-export")
def case_export(
    case_id: Annotated[str, typer.Argument(help="The case's id.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder the bundle is copied to.")] = Path(),
    playback: Annotated[bool, typer.Option("--playback", help="Add the playback copies.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why it is exported (logged).")] = None,
) -> None:
    """Build a case's export bundle with the server's export job, showing its progress; the
    same job as POST /api/v1/cases/{id}/exports. Exit 1 if the bundle could not be built."""
    from api.export_cmd import run_case_export

    job = run_case_export(case_id, out_dir, playback, reason, out)
    if job.error is not None:
        err.print(inert(f"error: {job.error}"))
        raise typer.Exit(1)


@app.command()
def dock(
    watch: Annotated[list[Path] | None, typer.Option(help="Mount root to poll (repeatable).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Process what is docked now, then exit.")] = False,
    wipe: Annotated[bool | None, typer.Option("--wipe/--keep",
                                              help="Delete verified files off the recorder.")] = None,
    sdk_id: Annotated[list[str] | None, typer.Option(
        help="Dock a recorder through the GA/T 947.4 SDK by its ID code (repeatable).")] = None,
    mtp: Annotated[bool, typer.Option("--mtp", help="Also dock recorders attached over MTP.")] = False,
    udev: Annotated[bool, typer.Option(
        "--udev/--no-udev", help="Also dock mounted USB volumes that udev reports.")] = True,
    as_json: JsonOption = False,
) -> None:
    """The station daemon: ingest each recorder as it arrives; verify, then wipe."""
    from api.dock_cmd import run_dock

    settings = Settings()
    ok = run_dock(_home(), settings, watch or [], once,
                  settings.dock_wipe if wipe is None else wipe, as_json, out, sdk_id or [], mtp,
                  udev)
    raise typer.Exit(0 if ok else 1)


@app.command()
def retention(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete footage whose retention ended (not held, not on a case); each deletion is logged."""
    from cases.retention import run_retention

    home = _home()
    for action in run_retention(home.custody_log(), home.object_store(), cli_operator(),
                                dry_run=dry_run):
        if as_json:
            emit_json(action.to_json())
        else:
            out.print(inert(f"{action.action:>8}  {action.evidence_id}  {action.reason}"))


@app.command()
def orphans(
    record: Annotated[bool, typer.Option(
        "--record", help="Account for each with an evidence:object:orphaned event (logged).")] = False,
    reason: Annotated[str | None, typer.Option(
        help="Why their files will never come again (needed with --record; logged).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Originals stored by an ingest that failed before recording them; --record accounts for
    those whose files will never come again. Exit 1 while any is left unaccounted for."""
    from cases.text import REASON_MAX, clean_text
    from ingest.fixity import find_orphans, record_orphans

    home = _home()
    if record:
        if reason is None:
            raise ConfigError(msg("--record needs --reason"),
                              hint=msg("say why the files will never come again, e.g. --reason 'the card "
                                       "was lost'"))
        found = record_orphans(home.custody_log(), home.object_store(), cli_operator().actor,
                               clean_text(reason, msg("reason"), REASON_MAX))
    else:
        found = find_orphans(home.custody_log(), home.object_store())
    for orphan in found:
        if as_json:
            emit_json(orphan.to_json())
        else:
            why = f"  ({orphan.reason})" if orphan.reason else ""
            out.print(inert(f"{orphan.status:>10}  {orphan.key}{why}"))
    if not as_json and not found:
        out.print("no unrecorded originals")
    if not as_json and found and not record:
        out.print(inert("ingest their recorders or folders again to record them; if their files "
                        "will never come again: evidence orphans --record --reason R"))
    raise typer.Exit(1 if any(o.status in ("unrecorded", "refused") for o in found) else 0)


@app.command()
def hold(
    action: Annotated[str, typer.Argument(help="place or release")],
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    reason: Annotated[str, typer.Option(help="Why (court order, complaint number).")],
) -> None:
    """Place or release a legal hold, which blocks deletion whatever the date."""
    from cases.evidence import change_legal_hold

    if action not in ("place", "release"):
        raise ConfigError(msg("unknown hold action {action!r}", action=action),
                          hint=msg("use place or release"))
    home = _home()
    change_legal_hold(home.custody_log(), home.object_store(), cli_operator(), evidence_id,
                      action == "place", reason)
    out.print(inert(f"legal hold {action}d on {evidence_id}"))


@app.command()
def holds(as_json: JsonOption = False) -> None:
    """Footage under legal hold, with who placed each hold, when and why (the same as
    GET /api/v1/holds, for every agency)."""
    from cases.holds import list_holds

    home = _home()
    offset: int | None = 0
    while offset is not None:
        page = list_holds(home.engine(), cli_operator(), offset, 500)
        for item in page.items:
            if as_json:
                emit_json({"evidence_id": item.evidence.id, "sha256": item.evidence.sha256,
                           "unit": item.unit_code, "placed_at": item.placed_at,
                           "placed_by": item.placed_by, "reason": item.reason, "seq": item.seq})
            else:
                out.print(inert(f"{item.evidence.id}  unit {item.unit_code}  since "
                                f"{item.placed_at} by {item.placed_by}: {item.reason}"))
        offset = page.next_offset


@app.command()
def grant(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    case: Annotated[str, typer.Option("--case", help="Id of the other unit's case.")],
    reason: Annotated[str, typer.Option(help="Why that case needs this footage (logged).")],
) -> None:
    """Let the officers of another unit's case see and attach this footage (logged)."""
    from api.cli_service import cli_operator
    from cases.grants import grant_evidence

    made = grant_evidence(_home().custody_log(), cli_operator(), evidence_id, case, reason)
    out.print(inert(f"granted {evidence_id} (unit {made.from_unit}) to case {made.case_number} "
                    f"(unit {made.to_unit})"))


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(
        help="Address to listen on; anything but loopback needs a TLS proxy in front.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    tls_cert: Annotated[Path | None, typer.Option(
        "--tls-cert", help="PEM certificate (chain): serve HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option(
        "--tls-key", help="The certificate's PEM private key.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes (default EVIDENCE_WORKERS, 1); one per CPU core.")] = None,
) -> None:
    """Run the case service HTTP API (uvicorn) on this home."""
    serve(host, port, tls_cert, tls_key, workers)


@app.command("verify-bundle")
def verify_bundle_cmd(
    path: Annotated[Path, typer.Argument(help="A case bundle ZIP.")],
    vkey: Annotated[str | None, typer.Option(
        help="The sending agency's verifier key (default: EVIDENCE_TRUSTED_VKEY; "
             "never the bundle's own).")] = None,
    witness: Annotated[list[str] | None, typer.Option(
        help="A witness's key (repeatable): the bundle's checkpoint must extend one they "
        "cosigned.")] = None,
    quorum: Annotated[int | None, typer.Option(
        help="Witnesses whose cosignature is required (default: every --witness).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a case export bundle offline: files, manifest, events, proofs, checkpoint."""
    from api.bundle_cmd import run_verify_bundle

    raise typer.Exit(run_verify_bundle(path, vkey, as_json, witness or (), quorum))


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option(
        "--serve", help="Then create demo users, print their tokens and serve the web pages.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
) -> None:
    """Ingest a simulated recorder with synthetic footage, verify, and summarise."""
    from api.demo import demo_users, run_demo

    home = _home()
    for line in run_demo(home, Settings()):
        out.print(inert(line))
    if serve_after:
        for name, role, token in demo_users(home):
            out.print(inert(f"  sign in as {name} ({role}) with token: {token}"))
        out.print(f"Open http://127.0.0.1:{port}/ and paste a token. Ctrl-C stops.")
        serve("127.0.0.1", port)


@log_app.command("checkpoint")
def log_checkpoint(as_json: JsonOption = False) -> None:
    """Sign a checkpoint of the current log size (returns the latest if unchanged)."""
    cp = _home().custody_log().checkpoint()
    if as_json:
        emit_json({"size": cp.size, "root_hash": cp.root_hash.hex(), "note": cp.note})
    else:
        for line in cp.note.splitlines():  # the origin line is configuration, shown inert
            out.print(inert(line))


@log_app.command("timestamp")
def log_timestamp(as_json: JsonOption = False) -> None:
    """Ask the TSA (EVIDENCE_TSA_URL) now for a time-stamp of the newest checkpoint."""
    from api.timestamping import timestamp_newest, tsa_setup

    setup = tsa_setup(Settings())
    if setup is None:
        raise ConfigError(msg("no time-stamping authority is configured"),
                          hint=msg("set EVIDENCE_TSA_URL and EVIDENCE_TSA_ROOTS"))
    home = _home()
    home.custody_log().checkpoint()  # the newest size is signed before it is time-stamped
    stamped = timestamp_newest(home.engine(), setup)
    if as_json:
        emit_json(None if stamped is None else {"size": stamped.size, "tsa": stamped.tsa,
                                                "gen_time": stamped.gen_time.isoformat()})
    elif stamped is None:
        out.print("the newest checkpoint is already time-stamped")
    else:
        out.print(inert(f"checkpoint size {stamped.size} time-stamped by {stamped.tsa} at "
                        f"{stamped.gen_time.isoformat()}"))


@log_app.command("cosigned")
def log_cosigned() -> None:
    """Print the newest checkpoint with the witnesses' cosignatures (C2SP signed note)."""
    from custody.cosigned import cosigned_checkpoint

    note = cosigned_checkpoint(_home().engine())
    if note is None:
        raise ConfigError(msg("no checkpoint is cosigned yet"),
                          hint=msg("set EVIDENCE_WITNESSES_FILE; `serve` and `dock` ask the witnesses"))
    sys.stdout.write(note)


@log_app.command("checkpoints")
def log_checkpoints(as_json: JsonOption = False) -> None:
    """List every signed checkpoint (JSON lines with --json)."""
    for cp in _home().custody_log().checkpoints():
        if as_json:
            emit_json({"size": cp.size, "root_hash": cp.root_hash.hex(),
                       "created_at": cp.created_at.isoformat()})
        else:
            out.print(f"{cp.size:>10}  {cp.root_hash.hex()}  {cp.created_at.isoformat()}")


@log_app.command("key")
def log_key() -> None:
    """Print the C2SP verifier key string of this log."""
    sys.stdout.write(_home().verifier().vkey() + "\n")


@log_app.command("show")
def log_show(start: int = 0, end: Annotated[int | None, typer.Option()] = None) -> None:
    """Print entries as JSON lines (their exact leaf bytes)."""
    for _seq, leaf in _home().custody_log().entries(start, end):
        sys.stdout.write(leaf.decode("utf-8") + "\n")


@log_app.command("prove")
def log_prove(
    entry: Annotated[int | None, typer.Option(help="Entry index for an inclusion proof.")] = None,
    size: Annotated[int | None, typer.Option(help="Signed tree size (default latest).")] = None,
    old: Annotated[int | None, typer.Option(help="Old size for a consistency proof.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Inclusion proof of --entry in the signed tree of --size, or consistency from --old."""
    log = _home().custody_log()
    if (entry is None) == (old is None):
        raise ConfigError(msg("give exactly one of --entry (inclusion) or --old (consistency)"))
    doc = (log.inclusion_proof(entry, size).to_json() if entry is not None
           else log.consistency_proof(old, size).to_json())  # type: ignore[arg-type]
    if as_json:
        emit_json(doc)
    else:
        emit_json(doc, indent=2)


@log_app.command("check-proof")
def log_check_proof(
    path: Annotated[Path, typer.Argument(help="A JSON file written by `log prove --json`.")],
    vkey: Annotated[str | None, typer.Option(help="Verifier key to trust.")] = None,
) -> None:
    """Check a proof offline against a signed checkpoint."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(msg("cannot read proof {path}: {reason}", path=path, reason=exc)) from None
    verifier = Verifier.from_vkey(vkey) if vkey else _home().verifier()
    if "old_checkpoint" in doc:
        cp = check_consistency_document(doc, verifier)
    else:
        cp = check_inclusion_document(doc, verifier)
    out.print(inert(f"proof verifies against the checkpoint of size {cp.size} signed by "
                    f"{verifier.name}"))


@log_app.command("export")
def log_export(directory: Annotated[Path, typer.Argument(help="New or empty folder.")]) -> None:
    """Write the log as a static C2SP tlog-tiles tree plus its verifier key."""
    home = _home()
    size = export_tiles(home.engine(), home.verifier().vkey(), directory)
    out.print(inert(f"exported {size} entries to {directory} (tlog-tiles; verifier key in vkey)"))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
