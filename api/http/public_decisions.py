"""The public site's published decisions (事后公开): the list with its search, one decision
with its correction or revocation notice, the Atom feed of changes and the same as JSON.

Pages: ``/public/decisions`` (search: agency, kind, from, to, party),
``/public/decisions/{id}``, ``/public/agencies/{code}/decisions``; feed:
``/public/decisions/feed.atom``; JSON: ``/public/api/decisions`` and
``/public/api/decisions/{id}``. Everything comes from ``cases.publication_public``, which
reads published versions only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.http import atom
from api.http.public_site import (
    AGENCY_LINKS,
    AGENCY_SOURCES,
    GET_HEAD,
    NAV,
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
from cases import publication_public as pp
from domain.errors import NotFound

KIND_NAMES = {"licensing": "行政许可", "penalty": "行政处罚", "compulsory": "行政强制",
              "levy": "行政征收征用", "inspection": "行政检查"}
PAGE = 20
FEED_SIZE = 50

AGENCY_SOURCES.append(pp.agencies_with_decisions)
AGENCY_LINKS.append(("/decisions", "执法决定"))
NAV.append(("/decisions", "执法决定"))

pages = APIRouter(prefix=PUBLIC_URL, include_in_schema=False, dependencies=PUBLIC_DEPENDENCIES)
api = APIRouter(prefix=PUBLIC_API_URL, include_in_schema=False,  # documented in the README
                dependencies=[*PUBLIC_DEPENDENCIES, Depends(reject_unknown_query)])


def decision_url(decision_id: str) -> str:
    return f"{PUBLIC_URL}/decisions/{decision_id}"


def decision_json(d: pp.PublicDecision) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": d.id, "url": decision_url(d.id), "state": d.state, "agency": d.agency_code,
        "agency_name": d.agency_name, "kind": d.kind, "kind_name": KIND_NAMES.get(d.kind, d.kind),
        "first_published_at": d.first_published_at, "changed_at": d.changed_at,
        "version": d.version}
    if d.content is not None:
        c = d.content
        body.update(party=c["party"], conclusion=c["conclusion"], legal_basis=c["legal_basis"],
                    decision_date=c["decision_date"], document_number=c["document_number"],
                    corrections=[{"version": x.version,
                                  "replaced_published_at": x.replaced_published_at,
                                  "published_at": x.published_at, "reason": x.reason}
                                 for x in d.corrections])
    else:
        body.update(revoked_at=d.revoked_at, revoke_reason=d.revoke_reason)
    return body


def _date(value: str | None) -> tuple[date | None, str | None]:
    if not value:
        return None, None
    try:
        return date.fromisoformat(value), None
    except ValueError:
        return None, f"日期“{value}”无法识别，请按 2024-03-15 的格式填写。"


def _search_page(request: Request, services: ServicesDep, *, agency: str | None,
                 kind: str | None, date_from: str | None, date_to: str | None,
                 party: str | None, offset: int, title: str) -> Response:
    start, bad_from = _date(date_from)
    end, bad_to = _date(date_to)
    kind = kind if kind in KIND_NAMES else None
    found = pp.search(services.engine, agency=agency or None, kind=kind, date_from=start,
                      date_to=end, party=(party or "").strip() or None, offset=offset, limit=PAGE)
    query = {k: v for k, v in (("agency", agency), ("kind", kind), ("from", date_from),
                               ("to", date_to), ("party", party)) if v}
    more = offset + len(found.items) < found.total
    return render(request, "decisions.html", title=title, found=found, kinds=KIND_NAMES,
                  agencies=public_agency_names(services.engine), query=query,
                  problems=[p for p in (bad_from, bad_to) if p], offset=offset,
                  previous=("?" + urlencode({**query, "offset": max(0, offset - PAGE)}))
                  if offset > 0 else None,
                  next=("?" + urlencode({**query, "offset": offset + PAGE})) if more else None,
                  feed=PUBLIC_URL + "/decisions/feed.atom",
                  api=PUBLIC_API_URL + "/decisions" + ("?" + urlencode(query) if query else ""))


Text = Annotated[str | None, Query(max_length=100)]


@pages.api_route("/decisions", methods=GET_HEAD)
def decisions_page(request: Request, services: ServicesDep, agency: Text = None,
                   kind: Text = None, date_from: Annotated[str | None, Query(
                       alias="from", max_length=20)] = None,
                   date_to: Annotated[str | None, Query(alias="to", max_length=20)] = None,
                   party: Text = None,
                   offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    return _search_page(request, services, agency=agency, kind=kind, date_from=date_from,
                        date_to=date_to, party=party, offset=offset, title="执法决定公示")


@pages.api_route("/agencies/{code}/decisions", methods=GET_HEAD)
def agency_decisions_page(request: Request, services: ServicesDep, code: str,
                          offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    names = public_agency_names(services.engine)
    if code not in names:
        return not_found_page(request, "执法机关")
    return _search_page(request, services, agency=code, kind=None, date_from=None,
                        date_to=None, party=None, offset=offset, title=f"{names[code]} 执法决定")


@pages.api_route("/decisions/feed.atom", methods=GET_HEAD)
def decisions_feed(request: Request, services: ServicesDep) -> Response:
    """One entry per decision, updated when it is corrected or revoked (its title says so)."""
    entries = []
    for d in pp.recent_changes(services.engine, FEED_SIZE):
        kind = KIND_NAMES.get(d.kind, d.kind)
        if d.content is None:
            title = f"【已撤销】{d.agency_name} {kind}决定"
            summary = f"该执法决定信息已于{_day(d.revoked_at)}撤销公示。撤销理由：{d.revoke_reason}"
        else:
            c = d.content
            title = (f"{'【更正】' if d.corrections else ''}{d.agency_name} {kind}决定 "
                     f"{c['document_number']}")
            summary = f"当事人：{c['party']}；执法结论：{c['conclusion']}；决定日期：{c['decision_date']}"
            if d.corrections:
                last = d.corrections[-1]
                summary += f"。更正说明：{_day(last.published_at)}更正，理由：{last.reason}"
        entries.append(atom.Entry(id=feed_id(request, f"decision/{d.id}"), title=title,
                                  updated=d.changed_at, published=d.first_published_at,
                                  url=absolute(request, decision_url(d.id)), summary=summary))
    feed = atom.Feed(id=feed_id(request, "decisions"), title=f"{SITE_NAME} 执法决定公示",
                     self_url=absolute(request, PUBLIC_URL + "/decisions/feed.atom"),
                     page_url=absolute(request, PUBLIC_URL + "/decisions"), author=SITE_NAME,
                     entries=entries, subtitle="新公示、更正和撤销的执法决定")
    return atom_response(request, feed)


def _day(moment: Any) -> str:
    return "" if moment is None else str(moment.astimezone(SHOWN_ZONE).date().isoformat())


@pages.api_route("/decisions/{decision_id}", methods=GET_HEAD)
def decision_page(request: Request, services: ServicesDep, decision_id: str) -> Response:
    try:
        d = pp.public_decision(services.engine, decision_id)
    except NotFound:
        return not_found_page(request, "执法决定")
    kind = KIND_NAMES.get(d.kind, d.kind)
    # the document number tells one decision's page (and tab) from the agency's others
    number = "" if d.content is None else f" {d.content['document_number']}"
    return render(request, "decision.html", title=f"{d.agency_name} {kind}决定{number}", d=d,
                  kind_name=kind, api=f"{PUBLIC_API_URL}/decisions/{d.id}")


# --- JSON ------------------------------------------------------------------------------------------

@api.api_route("/decisions", methods=GET_HEAD)
def decisions_json(request: Request, services: ServicesDep,
                   agency: Text = None, kind: Text = None,
                   date_from: Annotated[date | None, Query(alias="from")] = None,
                   date_to: Annotated[date | None, Query(alias="to")] = None,
                   party: Text = None,
                   offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                   limit: Annotated[int, Query(ge=1, le=pp.PAGE_MAX)] = PAGE) -> Response:
    """Published decisions, newest decision first; revoked ones are only in the feed and at
    their own address."""
    found = pp.search(services.engine, agency=agency or None, kind=kind or None,
                      date_from=date_from, date_to=date_to, party=party or None,
                      offset=offset, limit=limit)
    return json_response(request, {"total": found.total, "offset": offset,
                                   "items": [decision_json(d) for d in found.items]})


@api.api_route("/decisions/{decision_id}", methods=GET_HEAD)
def decision_json_one(request: Request, services: ServicesDep, decision_id: str) -> Response:
    return json_response(request, decision_json(pp.public_decision(services.engine,
                                                                   decision_id)))


routers = [api, pages]  # for install_public_site
