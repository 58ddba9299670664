"""`evidence annual-report ...`: an agency's statistics of a year (统计年报) shown, written as
CSV or PDF, and published, as the operator (the functions the HTTP API calls too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli_service import cli_operator, open_case_home
from api.cli_text import cells, console, emit_json, inert
from cases import annual_report as ar
from cases.annual_report_output import rows, to_csv, to_pdf

annual_app = typer.Typer(help="The annual statistics (统计年报) of an agency, due by 31 January.",
                         no_args_is_help=True)
_out = console()
Agency = Annotated[str, typer.Argument(help="The agency's code.")]
Year = Annotated[int, typer.Argument(help="The year reported on, e.g. 2025.")]


def _report(agency: str, year: int) -> ar.AnnualReport:
    return ar.report_of(open_case_home().engine(), cli_operator(), agency, year)


@annual_app.command("show")
def annual_show(agency: Agency, year: Year,
                as_json: Annotated[bool, typer.Option("--json", help="JSON.")] = False) -> None:
    """The figures: published (frozen), else counted now."""
    report = _report(agency, year)
    if as_json:
        emit_json({**report.figures(), "published_at": report.published_at,
                   "published_by": report.published_by, "sha256": report.sha256})
        return
    table = Table("section", "item", "value")
    for line in rows(report):
        table.add_row(*cells(*line))
    _out.print(table)


@annual_app.command("export")
def annual_export(agency: Agency, year: Year,
                  out: Annotated[Path, typer.Option(help="The file to write: .csv or .pdf.")]
                  ) -> None:
    """Write the figures as CSV (UTF-8 with a BOM) or PDF, by the file's extension."""
    report = _report(agency, year)
    out.write_bytes(to_pdf(report) if out.suffix.lower() == ".pdf" else to_csv(report))
    _out.print(inert(f"wrote {out}"))


@annual_app.command("publish")
def annual_publish(agency: Agency, year: Year) -> None:
    """Freeze the year's figures and show them on the public site (logged; once only)."""
    report = ar.publish(open_case_home().custody_log(), cli_operator(), agency, year)
    _out.print(inert(f"published the statistics of {report.year} of agency {report.agency} "
                     f"(SHA-256 {report.sha256})"))
