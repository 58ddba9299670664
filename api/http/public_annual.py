"""The public site's annual statistics (统计年报): an agency's published reports.

Pages: ``/public/agencies/{code}/annual-reports`` (the years published) and
``/public/agencies/{code}/annual-reports/{year}``; JSON: ``/public/api/agencies/{code}/
annual-reports/{year}``. Only published (frozen) reports, from ``cases.annual_report``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Engine, select

from api.http.public_site import (
    AGENCY_LINKS,
    AGENCY_SOURCES,
    PUBLIC_API_URL,
    PUBLIC_DEPENDENCIES,
    PUBLIC_URL,
    json_response,
    not_found_page,
    public_agency_names,
    render,
)
from api.http.services import ServicesDep
from api.http.strict import reject_unknown_query
from cases import annual_report as ar
from cases import tables
from cases.annual_report_output import rows
from cases.publication import local_day
from domain.errors import NotFound


def agencies_with_reports(engine: Engine) -> dict[str, str]:
    ag, rep = tables.agencies, tables.annual_reports
    with engine.connect() as conn:
        return {r.code: r.name for r in conn.execute(
            select(ag.c.code, ag.c.name).where(ag.c.code.in_(select(rep.c.agency_code))))}


AGENCY_SOURCES.append(agencies_with_reports)
AGENCY_LINKS.append(("/annual-reports", "统计年报"))

pages = APIRouter(prefix=PUBLIC_URL, include_in_schema=False, dependencies=PUBLIC_DEPENDENCIES)
api = APIRouter(prefix=PUBLIC_API_URL, include_in_schema=False,
                dependencies=[*PUBLIC_DEPENDENCIES, Depends(reject_unknown_query)])


def report_json(report: ar.AnnualReport) -> dict[str, Any]:
    body = report.figures()
    body.pop("notes")
    return {**body, "published_at": report.published_at, "sha256": report.sha256}


@pages.get("/agencies/{code}/annual-reports")
def reports_page(request: Request, services: ServicesDep, code: str) -> Response:
    years = ar.published_years(services.engine, code)
    names = public_agency_names(services.engine)  # linked from each agency's page
    if code not in names:
        return not_found_page(request, "统计年报")
    return render(request, "annual_report.html", title=f"{names[code]} 统计年报", code=code,
                  years=years, report=None, rows=[], api=None,
                  published_on=None)


@pages.get("/agencies/{code}/annual-reports/{year}")
def report_page(request: Request, services: ServicesDep, code: str, year: int) -> Response:
    try:
        report = ar.published_report(services.engine, code, year)
    except NotFound:
        return not_found_page(request, "统计年报")
    return render(request, "annual_report.html",
                  title=f"{report.agency_name} {report.year}年度行政执法统计年报", code=code,
                  years=[], report=report, rows=rows(report),
                  published_on=report.published_at and local_day(
                      datetime.fromisoformat(report.published_at)).isoformat(),
                  api=f"{PUBLIC_API_URL}/agencies/{code}/annual-reports/{year}")


@api.get("/agencies/{code}/annual-reports/{year}")
def report_json_one(request: Request, services: ServicesDep, code: str, year: int) -> Response:
    return json_response(request, report_json(ar.published_report(services.engine, code, year)))


routers = [api, pages]  # for install_public_site
