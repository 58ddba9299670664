"""`evidence matter|certificate|action ...`: enforcement matters, certificates and actions, as
the operator. Each command calls the one domain function the HTTP API calls too
(cases/actions.py), so the custody events are the same."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli_service import cli_operator, open_case_home
from api.cli_text import cells, console, emit_json, inert
from api.settings import Settings
from cases.actions import (
    Action,
    Matter,
    Party,
    add_certificate,
    add_matter,
    assign_handlers,
    change_matter,
    list_actions,
    list_certificates,
    list_matters,
    mask_id_number,
    open_action,
    parse_kind,
    parse_party_kind,
)
from cases.decision_service import parse_method, record_service
from cases.documents import add_document, list_documents, parse_document_kind
from cases.errors import InvalidRequest
from cases.legal_review import decide, set_catalogue, submit
from cases.packet_bundle import build_packet_bundle
from cases.review_materials import set_requirements
from domain.messages import msg

matter_app = typer.Typer(help="An agency's list of enforcement matters (执法事项清单).",
                         no_args_is_help=True)
certificate_app = typer.Typer(help="Officers' enforcement certificates (执法证).",
                              no_args_is_help=True)
action_app = typer.Typer(help="Enforcement actions on cases.", no_args_is_help=True)
document_app = typer.Typer(help="A case's written record (forms, transcripts, notices, "
                                "decisions, scans) as evidence.", no_args_is_help=True)
_out = console()

JsonOption = Annotated[bool, typer.Option("--json", help="JSON lines.")]


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(msg("{what} {value!r} is not a date", what=what, value=value),
                             hint=msg("give it as YYYY-MM-DD")) from None


def _matter_json(m: Matter) -> dict[str, Any]:
    return {"id": m.id, "agency": m.agency_code, "name": m.name, "legal_basis": m.legal_basis,
            "procedure": m.procedure, "time_limit_days": m.time_limit_days, "remedy": m.remedy,
            "updated_at": m.updated_at.isoformat(), "updated_by": m.updated_by}


def _action_json(a: Action) -> dict[str, Any]:
    return {"id": a.id, "case_id": a.case_id, "kind": a.kind.value, "matter_id": a.matter_id,
            "matter": a.matter_name, "party": {"kind": a.party.kind.value, "name": a.party.name,
                                               "id_number": mask_id_number(a.party.id_number)},
            "on_site": a.on_site, "action_date": a.action_date.isoformat(),
            "state": a.state.value, "officers": list(a.officers)}


@matter_app.command("add")
def matter_add(
    agency: Annotated[str, typer.Option(help="Code of the agency whose list it joins.")],
    name: Annotated[str, typer.Option(help="The matter, e.g. 对无证经营的处罚.")],
    legal_basis: Annotated[str, typer.Option(help="Its legal basis.")],
    procedure: Annotated[str, typer.Option(help="Its procedure.")],
    time_limit: Annotated[int, typer.Option(help="Time limit in working days.")],
    remedy: Annotated[str, typer.Option(help="Remedy channels (复议、诉讼...).")],
) -> None:
    """Add an enforcement matter (logged: org:matter:added)."""
    home = open_case_home()
    m = add_matter(home.custody_log(), cli_operator(), agency, name, legal_basis, procedure,
                   time_limit, remedy)
    _out.print(inert(f"added matter {m.id} ({m.name}) to agency {m.agency_code}"))


@matter_app.command("change")
def matter_change(
    matter_id: Annotated[str, typer.Argument(help="The matter's id.")],
    name: Annotated[str | None, typer.Option()] = None,
    legal_basis: Annotated[str | None, typer.Option()] = None,
    procedure: Annotated[str | None, typer.Option()] = None,
    time_limit: Annotated[int | None, typer.Option(help="Working days.")] = None,
    remedy: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change an enforcement matter (logged with before and after: org:matter:changed)."""
    home = open_case_home()
    m = change_matter(home.custody_log(), cli_operator(), matter_id, name=name,
                      legal_basis=legal_basis, procedure=procedure, time_limit_days=time_limit,
                      remedy=remedy)
    _out.print(inert(f"changed matter {m.id} ({m.name})"))


@matter_app.command("list")
def matter_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The enforcement matters (of one agency)."""
    found = list_matters(open_case_home().engine(), cli_operator(), agency)
    if as_json:
        for m in found:
            emit_json(_matter_json(m))
        return
    table = Table("id", "agency", "name", "days", "legal basis")
    for m in found:
        table.add_row(*cells(m.id, m.agency_code, m.name, str(m.time_limit_days), m.legal_basis))
    _out.print(table)


@certificate_app.command("add")
def certificate_add(
    user: Annotated[str, typer.Argument(help="The holder's user name.")],
    number: Annotated[str, typer.Option(help="Certificate number (执法证号).")],
    issuing_body: Annotated[str, typer.Option(help="Who issued it.")],
    valid_from: Annotated[str, typer.Option(help="First valid day, YYYY-MM-DD.")],
    valid_to: Annotated[str, typer.Option(help="Last valid day, YYYY-MM-DD.")],
) -> None:
    """Record an officer's enforcement certificate (logged: user:certificate:added)."""
    home = open_case_home()
    c = add_certificate(home.custody_log(), cli_operator(), user, number, issuing_body,
                        _day(valid_from, "valid-from"), _day(valid_to, "valid-to"))
    _out.print(inert(f"recorded certificate {c.number} of {c.user_name}, valid "
                     f"{c.valid_from} to {c.valid_to}"))


@certificate_app.command("list")
def certificate_list(user: Annotated[str, typer.Argument(help="The holder's user name.")],
                     as_json: JsonOption = False) -> None:
    """A user's enforcement certificates."""
    found = list_certificates(open_case_home().engine(), cli_operator(), user)
    if as_json:
        for c in found:
            emit_json({"number": c.number, "user": c.user_name, "issuing_body": c.issuing_body,
                       "valid_from": c.valid_from.isoformat(), "valid_to": c.valid_to.isoformat()})
        return
    table = Table("number", "issuing body", "valid from", "valid to")
    for c in found:
        table.add_row(*cells(c.number, c.issuing_body, c.valid_from.isoformat(),
                             c.valid_to.isoformat()))
    _out.print(table)


@action_app.command("open")
def action_open(
    case_id: Annotated[str, typer.Argument(help="The case's id.")],
    kind: Annotated[str, typer.Option(help="licensing, penalty, compulsory, levy or inspection.")],
    matter: Annotated[str, typer.Option(help="The matter's id (evidence matter list).")],
    party_kind: Annotated[str, typer.Option(help="person or organisation.")],
    party_name: Annotated[str, typer.Option(help="The party's name.")],
    on_the_day: Annotated[str, typer.Option("--date", help="The action's date, YYYY-MM-DD.")],
    party_id: Annotated[str | None, typer.Option(
        help="Id number or organisation code (kept in the catalogue, masked in the log).")] = None,
    on_site: Annotated[bool, typer.Option("--on-site", help="On-site enforcement.")] = False,
) -> None:
    """Open an enforcement action on a case, as a draft (logged: case:action:opened)."""
    home = open_case_home()
    a = open_action(home.custody_log(), cli_operator(), case_id, parse_kind(kind), matter,
                    Party(parse_party_kind(party_kind), party_name, party_id), on_site,
                    _day(on_the_day, "date"))
    _out.print(inert(f"opened action {a.id} ({a.kind.value}, {a.matter_name})"))


@action_app.command("officers")
def action_officers(
    action_id: Annotated[str, typer.Argument(help="The action's id.")],
    officer: Annotated[list[str], typer.Option(help="A handling officer's user name; repeat.")],
) -> None:
    """Name an action's handling officers, each with a certificate valid on its date
    (logged: case:action:handlers-assigned)."""
    home = open_case_home()
    a = assign_handlers(home.custody_log(), cli_operator(), action_id, officer)
    _out.print(inert(f"action {a.id} handled by {', '.join(a.officers)}"))


@action_app.command("list")
def action_list(case_id: Annotated[str, typer.Argument(help="The case's id.")],
                as_json: JsonOption = False) -> None:
    """A case's enforcement actions."""
    found = list_actions(open_case_home().engine(), cli_operator(), case_id)
    if as_json:
        for a in found:
            emit_json(_action_json(a))
        return
    table = Table("id", "kind", "matter", "party", "date", "state", "officers")
    for a in found:
        table.add_row(*cells(a.id, a.kind.value, a.matter_name, a.party.name,
                             a.action_date.isoformat(), a.state.value, ", ".join(a.officers)))
    _out.print(table)


@document_app.command("add")
def document_add(
    case_id: Annotated[str, typer.Argument(help="The case's id.")],
    path: Annotated[Path, typer.Argument(help="The file: PDF, DOCX, JPEG or PNG.", exists=True,
                                         dir_okay=False, readable=True)],
    kind: Annotated[str, typer.Option(help="form, transcript, notice, decision, "
                                           "draft_decision, scan, investigation_report, "
                                           "rights_notice, statement, hearing_record, "
                                           "evidence_list, application, service_receipt or "
                                           "other.")],
    name: Annotated[str | None, typer.Option(help="Its name (default: the file's).")] = None,
) -> None:
    """Store a document bit for bit and put it on the case (logged: evidence:file:ingested,
    evidence:file:verified, case:document:added); the same as POST /api/v1/cases/{id}/documents."""
    home = open_case_home()
    d = add_document(home.custody_log(), home.object_store(), cli_operator(), case_id,
                     name or path.name, parse_document_kind(kind), path.read_bytes())
    _out.print(inert(f"added {d.original_name} ({d.kind.value}, {d.media_type}) as evidence "
                     f"{d.evidence_id}, sha256 {d.sha256}"))


@document_app.command("list")
def document_list(case_id: Annotated[str, typer.Argument(help="The case's id.")],
                  as_json: JsonOption = False) -> None:
    """A case's documents."""
    found = list_documents(open_case_home().engine(), cli_operator(), case_id)
    if as_json:
        for d in found:
            emit_json({"evidence_id": d.evidence_id, "kind": d.kind.value,
                       "media_type": d.media_type, "name": d.original_name, "sha256": d.sha256,
                       "size": d.size, "added_at": d.added_at.isoformat(),
                       "added_by": d.added_by})
        return
    table = Table("evidence", "kind", "name", "sha256")
    for d in found:
        table.add_row(*cells(d.evidence_id, d.kind.value, d.original_name, d.sha256))
    _out.print(table)


@action_app.command("submit")
def action_submit(action_id: Annotated[str, typer.Argument(help="The action's id.")]) -> None:
    """Submit the action's draft and materials for legal review (送审): each cited item is
    verified first (logged: case:review:submitted); the same as POST /api/v1/actions/{id}/reviews."""
    home = open_case_home()
    settings = Settings()
    packet = submit(home.custody_log(), home.object_store(), home.verifier(), cli_operator(),
                    action_id, working_days=settings.review_days,
                    witnesses=settings.review_witnesses())
    _out.print(inert(f"submitted packet {packet.id} (sha256 {packet.sha256}), due "
                     f"{packet.due.isoformat()}"))


@action_app.command("decide")
def action_decide(action_id: Annotated[str, typer.Argument(help="The action's id.")]) -> None:
    """Record the action's decision (logged: case:action:decided). A major action needs a
    passed, approved review of exactly its current materials: exit 1 saying what is missing."""
    home = open_case_home()
    decide(home.custody_log(), cli_operator(), action_id)
    _out.print(inert(f"decision of action {action_id} recorded"))


@action_app.command("packet-export")
def action_packet_export(
    packet_id: Annotated[str, typer.Argument(help="The review packet's id.")],
    out: Annotated[Path, typer.Option(help="Directory to write the bundle in.")] = Path(),
) -> None:
    """Export a review packet as a bundle `evidence verify-bundle` checks offline (logged:
    case:review:packet-exported); the same as GET /api/v1/reviews/{id}/bundle."""
    home = open_case_home()
    path = build_packet_bundle(home.custody_log(), home.object_store(), cli_operator(),
                               packet_id, out)
    _out.print(inert(f"wrote {path}"))


@action_app.command("serve")
def action_serve(
    action_id: Annotated[str, typer.Argument(help="The action's id.")],
    served_on: Annotated[str, typer.Option(help="The day it was served, YYYY-MM-DD.")],
    method: Annotated[str, typer.Option(help="direct, post, left, electronic or public_notice.")],
    recipient: Annotated[str, typer.Option(help="Who received it.")],
) -> None:
    """Record the service (送达) of the action's decision (logged: case:action:decision-served)."""
    home = open_case_home()
    record_service(home.custody_log(), cli_operator(), action_id, _day(served_on, "served-on"),
                   parse_method(method), recipient)
    _out.print(inert(f"service of the decision of action {action_id} recorded"))


@matter_app.command("major-catalogue")
def major_catalogue(
    agency: Annotated[str, typer.Option(help="The agency's code.")],
    rules: Annotated[Path, typer.Option(help="A JSON file: a list of rules.", exists=True,
                                        dir_okay=False)],
) -> None:
    """Set a new version of the agency's catalogue of major decisions (logged:
    org:major-catalogue:set); the same as PUT /api/v1/agencies/{code}/major-catalogue."""
    try:
        listed = json.loads(rules.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidRequest(msg("{rules} is not JSON: {reason}", rules=rules, reason=exc)) from None
    if not isinstance(listed, list):
        raise InvalidRequest(msg("{rules} holds no list of rules", rules=rules))
    home = open_case_home()
    version = set_catalogue(home.custody_log(), cli_operator(), agency, listed)
    _out.print(inert(f"major-decision catalogue of {agency}: version {version}"))


@matter_app.command("review-materials")
def review_materials(
    agency: Annotated[str, typer.Option(help="The agency's code.")],
    requirements: Annotated[Path, typer.Option(
        help="A JSON file: by kind of action, a list of {name, kinds, when?}.", exists=True,
        dir_okay=False)],
) -> None:
    """Set a new version of the materials each kind of action must cite for legal review
    (logged: org:review-materials:set); the same as PUT /api/v1/agencies/{code}/review-materials."""
    try:
        listed = json.loads(requirements.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidRequest(msg("{rules} is not JSON: {reason}", rules=requirements,
                                 reason=exc)) from None
    home = open_case_home()
    version = set_requirements(home.custody_log(), cli_operator(), agency, listed)
    _out.print(inert(f"required review materials of {agency}: version {version}"))
