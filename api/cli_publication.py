"""`evidence inspection|guide|publication ...`: an agency's random-inspection list, its service
guides, and what of its lists the public site shows, as the operator. Each command calls the
domain function the HTTP API calls (cases/public_lists.py, cases/public_entries.py), so the
custody events are the same."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli_service import cli_operator, open_case_home
from api.cli_text import cells, console, emit_json, inert
from cases import public_entries as pe
from cases import public_lists as pl

inspection_app = typer.Typer(help="An agency's random-inspection list (随机抽查事项清单).",
                             no_args_is_help=True)
guide_app = typer.Typer(help="An agency's service guides (办事指南).", no_args_is_help=True)
publication_app = typer.Typer(
    help="What the public site shows of an agency's lists: matters, officers, inspections, "
         "guides.", no_args_is_help=True)
_out = console()

JsonOption = Annotated[bool, typer.Option("--json", help="JSON lines.")]
ListOption = Annotated[str, typer.Argument(help="matters, officers, inspections or guides.")]


def _inspection_json(i: pl.InspectionItem) -> dict[str, Any]:
    return {"id": i.id, "agency": i.agency_code, **i.public(),
            "updated_at": i.updated_at.isoformat(), "updated_by": i.updated_by}


def _guide_json(g: pl.ServiceGuide) -> dict[str, Any]:
    return {"id": g.id, "agency": g.agency_code, **g.public(),
            "updated_at": g.updated_at.isoformat(), "updated_by": g.updated_by}


@inspection_app.command("add")
def inspection_add(
    agency: Annotated[str, typer.Option(help="Code of the agency whose list it joins.")],
    name: Annotated[str, typer.Option(help="The inspection item (抽查事项).")],
    basis: Annotated[str, typer.Option(help="Its legal basis (检查依据).")],
    subject: Annotated[str, typer.Option(help="Who is inspected (检查对象).")],
    method: Annotated[str, typer.Option(help="How (检查方式).")],
    frequency: Annotated[str, typer.Option(help="Share and frequency (抽查比例和频次).")],
) -> None:
    """Add an inspection item (logged: org:inspection:added); publish it to show it."""
    item = pl.add_inspection(open_case_home().custody_log(), cli_operator(), agency, name=name,
                             basis=basis, subject=subject, method=method, frequency=frequency)
    _out.print(inert(f"added inspection item {item.id} ({item.name}) to agency {agency}"))


@inspection_app.command("change")
def inspection_change(
    item_id: Annotated[str, typer.Argument(help="The item's id.")],
    name: Annotated[str | None, typer.Option()] = None,
    basis: Annotated[str | None, typer.Option()] = None,
    subject: Annotated[str | None, typer.Option()] = None,
    method: Annotated[str | None, typer.Option()] = None,
    frequency: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change an inspection item (logged: org:inspection:changed); publish again to show it."""
    item = pl.change_inspection(open_case_home().custody_log(), cli_operator(), item_id,
                                name=name, basis=basis, subject=subject, method=method,
                                frequency=frequency)
    _out.print(inert(f"changed inspection item {item.id} ({item.name})"))


@inspection_app.command("remove")
def inspection_remove(item_id: Annotated[str, typer.Argument(help="The item's id.")]) -> None:
    """Remove an inspection item and its public copy (logged: org:inspection:removed)."""
    pl.remove_inspection(open_case_home().custody_log(), cli_operator(), item_id)
    _out.print(inert(f"removed inspection item {item_id}"))


@inspection_app.command("list")
def inspection_list(agency: Annotated[str, typer.Option(help="The agency's code.")],
                    as_json: JsonOption = False) -> None:
    """The agency's inspection items, published or not."""
    found = pl.list_inspections(open_case_home().engine(), cli_operator(), agency)
    if as_json:
        for item in found:
            emit_json(_inspection_json(item))
        return
    table = Table("id", "name", "subject", "method", "frequency")
    for i in found:
        table.add_row(*cells(i.id, i.name, i.subject, i.method, i.frequency))
    _out.print(table)


@guide_app.command("add")
def guide_add(
    agency: Annotated[str, typer.Option(help="Code of the agency.")],
    matter: Annotated[str, typer.Option(help="Id of the enforcement matter it is for.")],
    title: Annotated[str, typer.Option(help="The guide's title.")],
    body_file: Annotated[Path, typer.Option(help="A UTF-8 text file with the guide's text.",
                                            exists=True, dir_okay=False)],
) -> None:
    """Add a service guide (logged: org:guide:added); publish it to show it."""
    guide = pl.add_guide(open_case_home().custody_log(), cli_operator(), agency,
                         matter_id=matter, title=title,
                         body=body_file.read_text(encoding="utf-8"))
    _out.print(inert(f"added service guide {guide.id} ({guide.title}) to agency {agency}"))


@guide_app.command("change")
def guide_change(
    guide_id: Annotated[str, typer.Argument(help="The guide's id.")],
    matter: Annotated[str | None, typer.Option(help="Id of another matter.")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    body_file: Annotated[Path | None, typer.Option(help="A UTF-8 text file with the new text.",
                                                   exists=True, dir_okay=False)] = None,
) -> None:
    """Change a service guide (logged: org:guide:changed); publish again to show it."""
    guide = pl.change_guide(open_case_home().custody_log(), cli_operator(), guide_id,
                            matter_id=matter, title=title,
                            body=None if body_file is None
                            else body_file.read_text(encoding="utf-8"))
    _out.print(inert(f"changed service guide {guide.id} ({guide.title})"))


@guide_app.command("remove")
def guide_remove(guide_id: Annotated[str, typer.Argument(help="The guide's id.")]) -> None:
    """Remove a service guide and its public copy (logged: org:guide:removed)."""
    pl.remove_guide(open_case_home().custody_log(), cli_operator(), guide_id)
    _out.print(inert(f"removed service guide {guide_id}"))


@guide_app.command("list")
def guide_list(agency: Annotated[str, typer.Option(help="The agency's code.")],
               as_json: JsonOption = False) -> None:
    """The agency's service guides, published or not."""
    found = pl.list_guides(open_case_home().engine(), cli_operator(), agency)
    if as_json:
        for guide in found:
            emit_json(_guide_json(guide))
        return
    table = Table("id", "title", "matter")
    for g in found:
        table.add_row(*cells(g.id, g.title, g.matter_name))
    _out.print(table)


@publication_app.command("publish")
def publication_publish(
    list_name: ListOption,
    entry_id: Annotated[str, typer.Argument(help="The entry's id; an officer's certificate "
                                                 "number.")],
    public_name: Annotated[str | None, typer.Option(
        help="Officers: the name the public sees (needed the first time).")] = None,
) -> None:
    """Publish an entry as it is now, or its new text (logged: org:public-entry:published)."""
    entry = pe.publish(open_case_home().custody_log(), cli_operator(), pe.parse_kind(list_name),
                       entry_id, public_name=public_name)
    _out.print(inert(f"published {entry.kind.value} entry {entry.entry_id} ({entry.title})"))


@publication_app.command("withdraw")
def publication_withdraw(
    list_name: ListOption,
    entry_id: Annotated[str, typer.Argument(help="The entry's id; an officer's certificate "
                                                 "number.")],
    reason: Annotated[str, typer.Option(help="Why it is taken off the public site.")],
) -> None:
    """Take an entry off the public site (logged: org:public-entry:withdrawn)."""
    pe.withdraw(open_case_home().custody_log(), cli_operator(), pe.parse_kind(list_name),
                entry_id, reason)
    _out.print(inert(f"withdrew {list_name} entry {entry_id}"))


@publication_app.command("list")
def publication_list(list_name: ListOption,
                     agency: Annotated[str, typer.Option(help="The agency's code.")],
                     as_json: JsonOption = False) -> None:
    """Each entry of one of the agency's lists: published when, and as it is now or not."""
    found = pe.list_status(open_case_home().engine(), cli_operator(), agency,
                           pe.parse_kind(list_name))
    if as_json:
        for s in found:
            emit_json({"list": s.kind.value, "id": s.entry_id, "title": s.title,
                       "published_at": None if s.published_at is None
                       else s.published_at.isoformat(), "current": s.current,
                       "holder": s.holder})
        return
    table = Table("id", "title", "published", "as it is now")
    for s in found:
        table.add_row(*cells(s.entry_id, s.title or s.holder,
                             "" if s.published_at is None else s.published_at.isoformat(),
                             "yes" if s.current else "no"))
    _out.print(table)
