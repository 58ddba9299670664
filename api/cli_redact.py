"""`evidence redact ...`: redacted copies of footage and photos for publication, as the
operator. Each command calls the domain function the HTTP API calls (cases/redactions.py),
so the custody events are the same."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli_service import cli_operator, open_case_home
from api.cli_text import cells, console, emit_json, inert
from api.settings import Settings
from cases.errors import InvalidRequest
from cases.redactions import (
    Redaction,
    case_redactions,
    decide_redaction,
    download_redacted,
    get_redaction,
    request_redaction,
)
from domain.errors import IntegrityError
from domain.messages import msg
from media.face_detector import Box
from media.redaction import BoxKind, ManualBox, MuteRange, RedactionSettings

redact_app = typer.Typer(help="Redacted copies of footage and photos for publication (公示).",
                         no_args_is_help=True)
_out = console()
JsonOption = Annotated[bool, typer.Option("--json", help="JSON.")]
_SPAN = re.compile(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)")
_BOX = re.compile(r"(\d+),(\d+),(\d+),(\d+)(?:,(face|plate|other))?(?:@(.+))?")


def parse_span(text: str) -> tuple[int, int]:
    """``1.5-3`` (seconds) -> (1500, 3000) milliseconds."""
    found = _SPAN.fullmatch(text.strip())
    if found is None:
        raise InvalidRequest(msg("{text!r} is not a time range", text=text),
                             hint=msg("give START-END in seconds, e.g. 1.5-3"))
    return round(float(found[1]) * 1000), round(float(found[2]) * 1000)


def parse_box(text: str) -> ManualBox:
    """``x,y,w,h[,kind][@START-END]`` in the original's pixels and seconds."""
    found = _BOX.fullmatch(text.strip())
    if found is None:
        raise InvalidRequest(msg("{text!r} is not a box", text=text),
                             hint=msg("give x,y,width,height[,face|plate|other][@START-END], "
                                      "e.g. 40,60,120,40,plate@0-2.5"))
    start, end = parse_span(found[6]) if found[6] else (0, 0)
    return ManualBox(Box(int(found[1]), int(found[2]), int(found[3]), int(found[4])),
                     BoxKind(found[5] or "face"), start, end)


def redaction_json(r: Redaction) -> dict[str, Any]:
    return {"id": r.id, "evidence_id": r.evidence_id, "original_sha256": r.original_sha256,
            "case_id": r.case_id, "media_type": r.media_type, "sha256": r.sha256,
            "size": r.size, "state": r.state, "settings": r.settings, "tracks": r.tracks,
            "reason": r.reason, "requested_by": r.requested_by,
            "requested_at": r.requested_at.isoformat(), "decided_by": r.decided_by,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "decision_reason": r.decision_reason}


def _show(r: Redaction, as_json: bool) -> None:
    if as_json:
        emit_json(redaction_json(r))
        return
    _out.print(inert(f"redacted copy {r.id} of evidence {r.evidence_id}: {r.state}, "
                     f"sha256 {r.sha256}, {len(r.tracks)} face(s) found"))
    for track in r.tracks:
        _out.print(inert(f"  face {track['id']}: {track['start_ms']}-{track['end_ms']} ms, "
                         f"first box {track['first_box']}"
                         f"{' (removed)' if track.get('removed') else ''}"))


@redact_app.command("request")
def redact_request(
    evidence_id: Annotated[str, typer.Argument(help="The footage or photo (on the case).")],
    case: Annotated[str, typer.Option(help="The case's id.")],
    reason: Annotated[str, typer.Option(help="Why the copy is made (recorded).")],
    faces: Annotated[bool, typer.Option(help="Blur the faces the detector finds.")] = True,
    box: Annotated[list[str] | None, typer.Option(
        help="Cover x,y,w,h[,face|plate|other][@START-END] (pixels, seconds); repeat.")] = None,
    remove_track: Annotated[list[int] | None, typer.Option(
        help="A face found earlier that is not a face (its number); repeat.")] = None,
    mute: Annotated[list[str] | None, typer.Option(
        help="Silence START-END (seconds); repeat.")] = None,
    detect_every: Annotated[int, typer.Option(help="Search for faces every K-th frame.")] = 3,
    detect_width: Annotated[int, typer.Option(help="... on a copy this many pixels wide.")] = 640,
    as_json: JsonOption = False,
) -> None:
    """Make a signed, redacted copy of an item on a case, awaiting a legal reviewer's approval
    (logged: evidence:file:derived, evidence:redaction:requested); the same as
    POST /api/v1/redactions."""
    settings = RedactionSettings(
        faces=faces, boxes=tuple(parse_box(b) for b in box or []),
        removed_tracks=tuple(remove_track or []),
        muted=tuple(MuteRange(*parse_span(m)) for m in mute or []),
        detect_every=detect_every, detect_width=detect_width)
    home = open_case_home()
    made = request_redaction(home.custody_log(), home.object_store(),
                             Settings().redaction_tools(), cli_operator(), evidence_id, case,
                             settings, reason)
    _show(made, as_json)


@redact_app.command("approve")
def redact_approve(redaction_id: Annotated[str, typer.Argument(help="The redacted copy.")],
                   reason: Annotated[str | None, typer.Option(help="Recorded.")] = None,
                   as_json: JsonOption = False) -> None:
    """Approve a redacted copy for publication (not by whoever asked for it; logged:
    evidence:redaction:approved); the same as POST /api/v1/redactions/{id}/decision."""
    home = open_case_home()
    _show(decide_redaction(home.custody_log(), cli_operator(), redaction_id, True, reason),
          as_json)


@redact_app.command("refuse")
def redact_refuse(redaction_id: Annotated[str, typer.Argument(help="The redacted copy.")],
                  reason: Annotated[str, typer.Option(help="What must change (recorded).")],
                  as_json: JsonOption = False) -> None:
    """Refuse a redacted copy (logged: evidence:redaction:refused)."""
    home = open_case_home()
    _show(decide_redaction(home.custody_log(), cli_operator(), redaction_id, False, reason),
          as_json)


@redact_app.command("show")
def redact_show(redaction_id: Annotated[str, typer.Argument(help="The redacted copy.")],
                as_json: JsonOption = False) -> None:
    """A redacted copy's request, faces found and state."""
    _show(get_redaction(open_case_home().engine(), cli_operator(), redaction_id), as_json)


@redact_app.command("list")
def redact_list(case_id: Annotated[str, typer.Argument(help="The case's id.")],
                as_json: JsonOption = False) -> None:
    """A case's redacted copies, oldest first."""
    found = case_redactions(open_case_home().engine(), cli_operator(), case_id)
    if as_json:
        for r in found:
            emit_json(redaction_json(r))
        return
    table = Table("id", "evidence", "state", "sha256")
    for r in found:
        table.add_row(*cells(r.id, r.evidence_id, r.state, r.sha256))
    _out.print(table)


@redact_app.command("get")
def redact_get(redaction_id: Annotated[str, typer.Argument(help="The redacted copy.")],
               out: Annotated[Path, typer.Option(help="Where to write it.")],
               reason: Annotated[str | None, typer.Option(help="Recorded.")] = None) -> None:
    """Write a redacted copy to a file, checked against its SHA-256 (logged:
    evidence:redaction:downloaded); the same as GET /api/v1/redactions/{id}/file."""
    home = open_case_home()
    found, copy = download_redacted(home.custody_log(), cli_operator(), redaction_id, reason)
    digest = hashlib.sha256()
    partial = out.with_name(out.name + ".part")
    with home.object_store().open(copy.object_key, copy.object_version) as reader, \
            partial.open("wb") as target:
        for chunk in reader:
            digest.update(chunk)
            target.write(chunk)
    if digest.hexdigest() != found.sha256:
        partial.unlink()
        raise IntegrityError(msg("the stored redacted copy no longer matches its SHA-256"),
                             hint=msg("run `evidence verify --objects`; report it to an auditor"))
    partial.replace(out)
    _out.print(inert(f"wrote {out} ({found.state}), sha256 {found.sha256}"))
