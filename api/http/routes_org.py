"""The organisation (admin): agencies (执法机关) and their units."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.http.auth import CurrentUser
from api.http.convert import agency_out, rule_out, unit_out
from api.http.errors import responses
from api.http.models import (
    AgencyCode,
    AgencyIn,
    AgencyList,
    AgencyOut,
    CaseNumberRuleIn,
    CaseNumberRuleOut,
    UnitIn,
    UnitList,
    UnitOut,
)
from api.http.services import ServicesDep
from cases.organisation import (
    add_agency,
    add_unit,
    list_agencies,
    list_units,
    my_case_number_rule,
    set_case_number_rule,
)

router = APIRouter(tags=["organisation"])


@router.get("/agencies", response_model=AgencyList, responses=responses(401, 403),
            summary="List agencies")
def agencies(services: ServicesDep, user: CurrentUser) -> AgencyList:
    """Admin: their agency and the agencies directly under it."""
    return AgencyList(items=[agency_out(a) for a in list_agencies(services.engine, user)])


@router.post("/agencies", response_model=AgencyOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409), summary="Add an agency")
def new_agency(body: AgencyIn, services: ServicesDep, user: CurrentUser) -> AgencyOut:
    """Admin: an agency directly under their own. Event `org:agency:added`."""
    return agency_out(add_agency(services.log, user, body.code, body.name, body.level, body.parent,
                                 now=services.now()))


@router.get("/units", response_model=UnitList, responses=responses(401, 403),
            summary="List units")
def units(services: ServicesDep, user: CurrentUser,
          agency: Annotated[AgencyCode | None, Query(description="Only this agency's.")] = None
          ) -> UnitList:
    """Admin: the units of their agency."""
    return UnitList(items=[unit_out(u) for u in list_units(services.engine, user, agency)])


@router.post("/units", response_model=UnitOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409), summary="Add a unit")
def new_unit(body: UnitIn, services: ServicesDep, user: CurrentUser) -> UnitOut:
    """Admin: a unit of their agency. Event `org:unit:added`."""
    return unit_out(add_unit(services.log, user, body.code, body.agency, body.name,
                             now=services.now()))


@router.put("/agencies/{code}/case-number-rule", response_model=AgencyOut,
            responses=responses(400, 401, 403, 404), summary="Set an agency's case-number rule")
def put_case_rule(code: Annotated[AgencyCode, Path()], body: CaseNumberRuleIn,
                  services: ServicesDep, user: CurrentUser) -> AgencyOut:
    """Admin of the agency: the regular expression its case numbers must match and the rule in
    words (refused numbers are answered with it); both null: the default rule, which takes
    Chinese (朝阳刑2024-001). Cases already opened keep their numbers. Event
    `org:agency:case-number-rule-set`, with the rule before. The same as `evidence agency
    case-rule`."""
    return agency_out(set_case_number_rule(services.log, user, code, body.pattern, body.rule,
                                           now=services.now()))


@router.get("/case-number-rule", response_model=CaseNumberRuleOut,
            responses=responses(400, 401), summary="The case-number rule of my agency")
def my_case_rule(services: ServicesDep, user: CurrentUser) -> CaseNumberRuleOut:
    """The rule the numbers of cases the caller opens must follow (their unit's agency's)."""
    return rule_out(my_case_number_rule(services.engine, user))
