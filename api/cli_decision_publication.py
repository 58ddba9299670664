"""`evidence decision-publication ...`: the publication record of an enforcement decision
(公示), step by step, as the operator: show, edit, confirm, publish, update and revoke with a
reason, the due list and a user's notices. Each command calls the domain function the HTTP
API calls (cases/publication.py, cases/publication_due.py), so the checks and the custody
events are the same. (`evidence publication ...` is the public lists: matters, officers.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli_service import cli_operator, open_case_home
from api.cli_text import cells, console, emit_json, inert
from cases import publication as pub
from cases.publication_due import DueItem, due_list, notices_of, parse_status
from cases.users import get_user
from domain.errors import ConfigError
from domain.messages import msg

decision_publication_app = typer.Typer(
    help="Publication of enforcement decisions (公示): check, confirm, publish, correct, revoke.",
    no_args_is_help=True)
_out = console()

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
IdArgument = Annotated[str, typer.Argument(help="The publication record's id (`due` lists "
                                                "them).")]
ReasonOption = Annotated[str, typer.Option(help="Why; the public reads it, masked like the "
                                                "record.")]


def _record_json(record: pub.Publication) -> dict[str, Any]:
    """The record as the HTTP API answers it (GET /api/v1/publications/{id})."""
    from api.http.routes_decisions import publication_out

    return publication_out(record).model_dump(mode="json")


def _print_record(record: pub.Publication, as_json: bool) -> None:
    if as_json:
        emit_json(_record_json(record))
        return
    w = record.working
    confirmed = ("not confirmed" if record.confirmed_by is None
                 else f"confirmed by {record.confirmed_by}")
    lines = [f"publication {record.id}  case {record.case_number}  action {record.action_id}",
             f"  state {record.state}  ({confirmed})  due {record.due.isoformat()}"
             + ("" if record.due_confirmed else " (unconfirmed)"),
             f"  kind {w['kind']}  decided {w['decision_date']}  agency {w['agency_name']}",
             f"  party           {w['party']}",
             f"  conclusion      {w['conclusion']}",
             f"  legal basis     {w['legal_basis']}",
             f"  document number {w['document_number']}"]
    for field, spans in record.masked.items():
        for span in spans:
            lines.append(f"  masked in {field}: {span['replacement']} ({span['kind']})")
    for v in record.versions:
        why = f": {v.reason}" if v.reason else ""
        lines.append(f"  version {v.version} published {v.published_at.isoformat()} by "
                     f"{v.published_by}{why}")
    if record.pending_changes:
        lines.append("  the working copy differs from the published version")
    if record.revoked_at is not None:
        lines.append(f"  revoked {record.revoked_at.isoformat()} by {record.revoked_by}: "
                     f"{record.revoke_reason}")
    for line in lines:
        _out.print(inert(line))


def _print_items(items: list[DueItem], as_json: bool) -> None:
    if as_json:
        from api.http.routes_decisions import due_out

        for item in items:
            emit_json(due_out(item).model_dump(mode="json"))
        return
    table = Table("id", "case", "kind", "state", "decided", "due", "status", "party",
                  "responsible")
    for i in items:
        table.add_row(*cells(i.publication_id, i.case_number, i.kind, i.state,
                             i.decision_date.isoformat(),
                             i.due.isoformat() + ("" if i.due_confirmed else "?"),
                             i.status.value, i.party, ", ".join(i.responsible)))
    _out.print(table)


@decision_publication_app.command("show")
def show(publication_id: Annotated[str | None, typer.Argument(
             help="The publication record's id.")] = None,
         action: Annotated[str | None, typer.Option(
             help="Or the decided action's id: its record.")] = None,
         as_json: JsonOption = False) -> None:
    """The masked working copy, what was masked, and every version published."""
    if (publication_id is None) == (action is None):
        raise ConfigError(msg("give exactly one of a publication id or --action"))
    engine = open_case_home().engine()
    record = (pub.publication_of_action(engine, cli_operator(), action) if action is not None
              else pub.get_publication(engine, cli_operator(), publication_id or ""))
    _print_record(record, as_json)


@decision_publication_app.command("edit")
def edit(publication_id: IdArgument,
         party: Annotated[str | None, typer.Option(help="The party as published.")] = None,
         conclusion: Annotated[str | None, typer.Option(help="The decision's conclusion.")] = None,
         legal_basis: Annotated[str | None, typer.Option(help="Its legal basis.")] = None,
         document_number: Annotated[str | None, typer.Option(
             help="The decision document's number.")] = None,
         as_json: JsonOption = False) -> None:
    """Change the working copy; it is masked again and must be confirmed again (logged:
    case:publication:edited)."""
    changes = {k: v for k, v in (("party", party), ("conclusion", conclusion),
                                 ("legal_basis", legal_basis),
                                 ("document_number", document_number)) if v is not None}
    record = pub.edit(open_case_home().custody_log(), cli_operator(), publication_id, changes)
    _print_record(record, as_json)


@decision_publication_app.command("confirm")
def confirm(publication_id: IdArgument, as_json: JsonOption = False) -> None:
    """Confirm the masked working copy as fit to publish (logged: case:publication:confirmed)."""
    record = pub.confirm(open_case_home().custody_log(), cli_operator(), publication_id)
    _print_record(record, as_json)


@decision_publication_app.command("publish")
def publish(publication_id: IdArgument, as_json: JsonOption = False) -> None:
    """Publish the confirmed record as version 1 (logged: case:publication:published)."""
    record = pub.publish(open_case_home().custody_log(), cli_operator(), publication_id)
    _print_record(record, as_json)


@decision_publication_app.command("update")
def update(publication_id: IdArgument, reason: ReasonOption, as_json: JsonOption = False) -> None:
    """Publish the confirmed, changed working copy as a new version; the reason shows in the
    public correction notice (logged: case:publication:updated)."""
    record = pub.update_published(open_case_home().custody_log(), cli_operator(),
                                  publication_id, reason)
    _print_record(record, as_json)


@decision_publication_app.command("revoke")
def revoke(publication_id: IdArgument, reason: ReasonOption, as_json: JsonOption = False) -> None:
    """Withdraw a published decision; the public sees a revocation notice only (logged:
    case:publication:revoked)."""
    record = pub.revoke(open_case_home().custody_log(), cli_operator(), publication_id, reason)
    _print_record(record, as_json)


@decision_publication_app.command("due")
def due(status: Annotated[str | None, typer.Option(
            help="due, due_soon, overdue, published or revoked (default: every unpublished "
                 "record).")] = None,
        agency: Annotated[str | None, typer.Option(help="One agency's code.")] = None,
        unit: Annotated[str | None, typer.Option(help="One unit's code.")] = None,
        as_json: JsonOption = False) -> None:
    """Publication deadlines, earliest due first (JSON lines with --json)."""
    chosen = parse_status(status)
    _print_items(due_list(open_case_home().engine(), cli_operator(), datetime.now(UTC), chosen,
                          agency, unit), as_json)


@decision_publication_app.command("notices")
def notices(user: Annotated[str, typer.Option(help="The user's login name.")],
            as_json: JsonOption = False) -> None:
    """A user's notices: every unpublished decision they handle, overdue first."""
    engine = open_case_home().engine()
    _print_items(notices_of(engine, get_user(engine, user), datetime.now(UTC)), as_json)
