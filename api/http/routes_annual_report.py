"""The annual statistics (统计年报, cases/annual_report.py): read (JSON, CSV, PDF), publish, and
the reports still due. The public copy is on the public site (api/http/public_annual.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from api.http.auth import CurrentUser
from api.http.errors import responses
from api.http.models import AgencyCode
from api.http.services import ServicesDep
from cases import annual_report as ar
from cases.annual_report_output import to_csv, to_pdf

router = APIRouter(tags=["annual statistics"])
Year = Annotated[int, Path(ge=ar.FIRST_YEAR, le=9999)]


class AnnualReportOut(BaseModel):
    agency: str
    agency_name: str
    year: int
    as_of: str
    decisions: int
    by_kind: dict[str, int]
    by_kind_outcome: dict[str, dict[str, int]]
    major_decisions: int
    reviews: dict[str, int]
    deadlines: dict[str, int]
    revoked: int
    updated: int
    updates: int
    on_site: int
    on_site_with_footage: int
    footage_share: float | None
    published_at: str | None
    published_by: str | None
    sha256: str | None


class ReportDueOut(BaseModel):
    agency: str
    year: int
    due: date
    overdue: bool


class ReportDueList(BaseModel):
    items: list[ReportDueOut]


def report_out(report: ar.AnnualReport) -> AnnualReportOut:
    fields = report.figures()
    fields.pop("notes")
    return AnnualReportOut(**fields, published_at=report.published_at,
                           published_by=report.published_by, sha256=report.sha256)


def _file_name(report: ar.AnnualReport, extension: str) -> str:
    return f"annual-report-{report.agency}-{report.year}.{extension}"


@router.get("/agencies/{agency}/annual-reports/{year}", response_model=AnnualReportOut,
            responses=responses(400, 401, 403, 404), summary="An agency's statistics of a year")
def read_report(agency: Annotated[AgencyCode, Path()], year: Year, services: ServicesDep,
                user: CurrentUser) -> AnnualReportOut:
    """Admins of the agency and its auditors: the published (frozen) report, else the figures
    counted now."""
    return report_out(ar.report_of(services.engine, user, agency, year, services.now()))


@router.get("/agencies/{agency}/annual-reports/{year}/csv", response_class=Response,
            responses={200: {"description": "The statistics as CSV (UTF-8, with a BOM).", "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary"}}}},
                **responses(400, 401, 403, 404)}, summary="The statistics as CSV")
def report_csv(agency: Annotated[AgencyCode, Path()], year: Year, services: ServicesDep,
               user: CurrentUser) -> Response:
    """The same figures as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
    report = ar.report_of(services.engine, user, agency, year, services.now())
    return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(report, "csv")}"'})


@router.get("/agencies/{agency}/annual-reports/{year}/pdf", response_class=Response,
            responses={200: {"description": "The statistics as PDF.", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                **responses(400, 401, 403, 404)}, summary="The statistics as PDF")
def report_pdf(agency: Annotated[AgencyCode, Path()], year: Year, services: ServicesDep,
               user: CurrentUser) -> Response:
    """The same figures as a PDF document."""
    report = ar.report_of(services.engine, user, agency, year, services.now())
    return Response(to_pdf(report), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(report, "pdf")}"'})


@router.post("/agencies/{agency}/annual-reports/{year}/publish", response_model=AnnualReportOut,
             responses=responses(400, 401, 403, 404, 409), summary="Publish the statistics")
def publish_report(agency: Annotated[AgencyCode, Path()], year: Year, services: ServicesDep,
                   user: CurrentUser) -> AnnualReportOut:
    """Admins of the agency, once the year ended: the figures are frozen (with their SHA-256)
    and shown on the public site. Event `org:annual-report:published`. Once only (409)."""
    return report_out(ar.publish(services.log, user, agency, year, services.now()))


@router.get("/annual-reports/due", response_model=ReportDueList, responses=responses(401, 403),
            summary="Annual statistics still due")
def reports_due(services: ServicesDep, user: CurrentUser) -> ReportDueList:
    """Last year's reports not yet published of the agencies the user may read (due 31
    January)."""
    return ReportDueList(items=[ReportDueOut(agency=d.agency, year=d.year, due=d.due,
                                             overdue=d.overdue)
                                for d in ar.reports_due(services.engine, user, services.now())])
