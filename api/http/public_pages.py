"""The public site's lists before the action: pages, JSON (``/public/api/``) and Atom feeds.

Pages: ``/public/`` (home), ``/public/agencies``, ``/public/agencies/{code}``,
``/public/agencies/{code}/{list}`` (matters, officers, inspections, guides), a guide at
``/public/guides/{id}``, the certificate check at ``/public/certificates?number=...``.
Feeds: ``/public/agencies/{code}/{list}/feed.atom``. JSON: the same paths under
``/public/api/`` (``/public/api/certificates/{number}`` for the check).
Everything comes from ``cases.public_entries`` (published copies only).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from api.http import atom
from api.http.public_site import (
    AGENCY_LINKS,
    AGENCY_SOURCES,
    GET_HEAD,
    PUBLIC_API_URL,
    PUBLIC_DEPENDENCIES,
    PUBLIC_URL,
    SHOWN_ZONE,
    SITE_NAME,
    absolute,
    atom_response,
    feed_id,
    json_response,
    not_found_page,
    public_agency_names,
    render,
)
from api.http.services import ServicesDep
from api.http.strict import reject_unknown_query
from cases import public_entries as pe
from cases.public_entries import CertificateCheck, ListKind, PublicEntry
from domain.errors import NotFound

LIST_NAMES = {ListKind.MATTERS: "行政执法事项清单", ListKind.OFFICERS: "行政执法人员",
              ListKind.INSPECTIONS: "随机抽查事项清单", ListKind.GUIDES: "办事指南"}
STATUS_WORDS = {pe.CertificateStatus.VALID: "有效", pe.CertificateStatus.EXPIRED: "已过期",
                pe.CertificateStatus.NOT_YET_VALID: "尚未生效",
                pe.CertificateStatus.UNKNOWN: "未查到"}


def _before_lists_agencies(engine: Engine) -> dict[str, str]:
    return {a.code: a.name for a in pe.public_agencies(engine)}


AGENCY_SOURCES.append(_before_lists_agencies)

pages = APIRouter(prefix=PUBLIC_URL, include_in_schema=False, dependencies=PUBLIC_DEPENDENCIES)
api = APIRouter(prefix=PUBLIC_API_URL, include_in_schema=False,  # documented in the README
                dependencies=[*PUBLIC_DEPENDENCIES, Depends(reject_unknown_query)])


def _today(services: Any) -> date:
    moment = services.now()
    day: date = moment.astimezone(SHOWN_ZONE).date()
    return day


def _list_url(code: str, kind: ListKind) -> str:
    return f"{PUBLIC_URL}/agencies/{code}/{kind.value}"


def _entry_url(entry: PublicEntry) -> str:
    if entry.kind is ListKind.GUIDES:
        return f"{PUBLIC_URL}/guides/{entry.entry_id}"
    return f"{_list_url(entry.agency_code, entry.kind)}#e-{entry.entry_id}"


def _entry_json(entry: PublicEntry) -> dict[str, Any]:
    return {"id": entry.entry_id, "agency": entry.agency_code, "title": entry.title,
            "published_at": entry.published_at, **entry.content}


def _agency_json(code: str, name: str, counts: dict[ListKind, int]) -> dict[str, Any]:
    return {"code": code, "name": name, "lists": {
        k.value: {"name": LIST_NAMES[k], "count": counts.get(k, 0),
                  "url": f"{PUBLIC_API_URL}/agencies/{code}/{k.value}",
                  "page": _list_url(code, k), "feed": _list_url(code, k) + "/feed.atom"}
        for k in ListKind}}


def _counts(engine: Engine) -> dict[str, dict[ListKind, int]]:
    return {a.code: a.counts for a in pe.public_agencies(engine)}


# --- pages ---------------------------------------------------------------------------------------

@pages.api_route("/", methods=GET_HEAD)
def home(request: Request, services: ServicesDep) -> Response:
    return render(request, "home.html", title=SITE_NAME,
                  agencies=public_agency_names(services.engine))


@pages.api_route("/agencies", methods=GET_HEAD)
def agencies_page(request: Request, services: ServicesDep) -> Response:
    return render(request, "agencies.html", title="执法机关",
                  agencies=public_agency_names(services.engine),
                  counts=_counts(services.engine), list_names=LIST_NAMES)


@pages.api_route("/agencies/{code}", methods=GET_HEAD)
def agency_page(request: Request, services: ServicesDep, code: str) -> Response:
    names = public_agency_names(services.engine)
    if code not in names:
        return not_found_page(request, "执法机关")
    counts = _counts(services.engine).get(code, {})
    return render(request, "agency.html", title=names[code], code=code,
                  lists=[(k, LIST_NAMES[k], counts.get(k, 0)) for k in ListKind],
                  links=AGENCY_LINKS)


def list_page(request: Request, services: ServicesDep, code: str, list_kind: ListKind) -> Response:
    names = public_agency_names(services.engine)
    if code not in names:
        return not_found_page(request, "清单")
    entries = pe.public_list(services.engine, code, list_kind)
    feed = _list_url(code, list_kind) + "/feed.atom"
    return render(request, f"list_{list_kind.value}.html",
                  title=f"{names[code]} {LIST_NAMES[list_kind]}", agency=names[code], code=code,
                  entries=entries, feed=feed, today=_today(services), kind=list_kind.value,
                  list_name=LIST_NAMES[list_kind])


def list_feed(request: Request, services: ServicesDep, code: str, list_kind: ListKind) -> Response:
    names = public_agency_names(services.engine)
    if code not in names:
        return not_found_page(request, "清单")
    entries = pe.public_list(services.engine, code, list_kind)
    page = _list_url(code, list_kind)
    feed = atom.Feed(
        id=feed_id(request, f"agency/{code}/{list_kind.value}"),
        title=f"{names[code]} {LIST_NAMES[list_kind]}", self_url=absolute(request, page + "/feed.atom"),
        page_url=absolute(request, page), author=names[code],
        entries=[atom.Entry(id=feed_id(request, f"{list_kind.value}/{e.entry_id}"), title=e.title,
                            updated=e.published_at, url=absolute(request, _entry_url(e)),
                            summary=_summary(e)) for e in entries])
    return atom_response(request, feed)


def _summary(entry: PublicEntry) -> str:
    c = entry.content
    if entry.kind is ListKind.MATTERS:
        return f"依据：{c['legal_basis']}；办理时限：{c['time_limit_days']}个工作日"
    if entry.kind is ListKind.OFFICERS:
        return f"执法证号：{c['certificate_number']}；有效期：{c['valid_from']} 至 {c['valid_to']}"
    if entry.kind is ListKind.INSPECTIONS:
        return f"检查对象：{c['subject']}；检查方式：{c['method']}；频次：{c['frequency']}"
    return f"所属事项：{c['matter']}"


@pages.api_route("/guides/{guide_id}", methods=GET_HEAD)
def guide_page(request: Request, services: ServicesDep, guide_id: str) -> Response:
    try:
        entry = pe.public_entry(services.engine, ListKind.GUIDES, guide_id)
    except NotFound:
        return not_found_page(request, "办事指南")
    names = public_agency_names(services.engine)
    return render(request, "guide.html", title=entry.title, entry=entry,
                  agency=names.get(entry.agency_code, entry.agency_code),
                  code=entry.agency_code)


@pages.api_route("/certificates", methods=GET_HEAD)
def certificate_page(request: Request, services: ServicesDep,
                     number: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    check = None
    if number is not None and number.strip():
        check = pe.check_certificate(services.engine, number, _today(services))
    return render(request, "certificates.html", title="执法证查询", number=number or "",
                  check=check, words=STATUS_WORDS, today=_today(services))


# --- JSON ------------------------------------------------------------------------------------------

@api.api_route("/agencies", methods=GET_HEAD)
def agencies_json(request: Request, services: ServicesDep) -> Response:
    """Agencies that publish anything, with their lists (counts, JSON, page and feed URLs)."""
    counts = _counts(services.engine)
    return json_response(request, {"agencies": [
        _agency_json(code, name, counts.get(code, {}))
        for code, name in public_agency_names(services.engine).items()]})


def list_json(request: Request, services: ServicesDep, code: str, list_kind: ListKind) -> Response:
    """One published list of one agency: matters, officers, inspections or guides."""
    names = public_agency_names(services.engine)
    if code not in names:
        pe.public_agency(services.engine, code)  # raises NotFound with the words
    entries = pe.public_list(services.engine, code, list_kind)
    return json_response(request, {"agency": {"code": code, "name": names[code]},
                                   "list": list_kind.value, "name": LIST_NAMES[list_kind],
                                   "entries": [_entry_json(e) for e in entries]})


@api.api_route("/guides/{guide_id}", methods=GET_HEAD)
def guide_json(request: Request, services: ServicesDep, guide_id: str) -> Response:
    return json_response(request, _entry_json(pe.public_entry(services.engine, ListKind.GUIDES,
                                                              guide_id)))


def check_json(check: CertificateCheck) -> dict[str, Any]:
    body: dict[str, Any] = {"number": check.number, "status": check.status.value,
                            "status_words": STATUS_WORDS[check.status]}
    if check.entry is not None:
        c = check.entry.content
        body.update(name=c["name"], agency=check.agency_name, issuing_body=c["issuing_body"],
                    valid_from=c["valid_from"], valid_to=c["valid_to"])
    return body


@api.api_route("/certificates/{number}", methods=GET_HEAD)
def certificate_json(request: Request, services: ServicesDep, number: str) -> Response:
    """Is this enforcement certificate valid today? valid, expired, not_yet_valid or unknown."""
    return json_response(request, check_json(pe.check_certificate(services.engine, number,
                                                                  _today(services))))


def _route_list(kind: ListKind) -> None:
    """One route per list (not ``{kind}``), so another part may add ``/agencies/{code}/x``."""
    def page(request: Request, services: ServicesDep, code: str) -> Response:
        return list_page(request, services, code, kind)

    def feed(request: Request, services: ServicesDep, code: str) -> Response:
        return list_feed(request, services, code, kind)

    def data(request: Request, services: ServicesDep, code: str) -> Response:
        return list_json(request, services, code, kind)

    path = f"/agencies/{{code}}/{kind.value}"
    pages.add_api_route(path, page, methods=GET_HEAD, name=f"public_{kind.value}_page")
    pages.add_api_route(path + "/feed.atom", feed, methods=GET_HEAD, name=f"public_{kind.value}_feed")
    api.add_api_route(path, data, methods=GET_HEAD, name=f"public_{kind.value}_json",
                      summary=f"The published {kind.value} list of an agency")


for _kind in ListKind:
    _route_list(_kind)
routers = [api, pages]  # for install_public_site
