"""Agencies (执法机关) and their units: who belongs where.

A region's enforcement agencies sit at three levels (region, league/city,
banner/county), each but the top one under a parent. A unit is a field office
or team inside one agency; users, recorders, footage and cases belong to a
unit. Codes are short ASCII identifiers (they appear in URLs and the custody
log); names are what people read and may be Chinese.

Who may add: the command line's operator anything; an admin of agency A may
add units to A and agencies directly under A. Who may list: the operator
everything; an admin their agency, the agencies directly under it, and its units.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # typeshed has no stub
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from cases import tables
from cases.errors import AccessDenied, Conflict, InvalidRequest
from cases.text import TEXT_PATTERN, clean_text
from cases.text import problem as text_problem
from cases.times import aware
from cases.users import Role, User, role_words
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import AlreadyExists, NotFound
from domain.event_types import EventType
from domain.messages import listing, msg
from storage.db import write_transaction

CODE_PATTERN = r"[a-z0-9][a-z0-9_-]{0,31}"
CASE_NUMBER_MAX = 64  # cases.number is VARCHAR(64)
# The rule of an agency that set none: letters of any script (朝阳刑2024-001), digits,
# brackets (呼公(刑)字[2024]001号) and / . _ -, starting with a letter or digit.
DEFAULT_CASE_NUMBER_PATTERN = r"[^\W_][\w()（）\[\]〔〕【】/._-]{0,63}"
DEFAULT_CASE_NUMBER_RULE = ("1-64 letters (Chinese too), digits, brackets and '/', '.', '_' "
                            "or '-', starting with a letter or digit, e.g. 朝阳刑2024-001")
PATTERN_MAX = 200  # an agency's case-number pattern
RULE_MAX = 200  # the rule in words
REPEATS_MAX = 4  # quantifiers in a pattern: a case number is short, but backtracking is not
NAME_MAX = 100
NAME_PATTERN = TEXT_PATTERN  # what check_name accepts, for request schemas (see cases.text)
_CODE_RE = re.compile(CODE_PATTERN)


class Level(StrEnum):
    REGION = "region"  # 自治区
    CITY = "city"  # 盟市
    COUNTY = "county"  # 旗县区


_RANK = {Level.REGION: 0, Level.CITY: 1, Level.COUNTY: 2}


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    level: Level
    parent_code: str | None
    created_at: datetime
    case_number_pattern: str | None = None  # None: DEFAULT_CASE_NUMBER_PATTERN
    case_number_rule: str | None = None  # the rule in words, with the pattern

    @property
    def case_rule(self) -> CaseNumberRule:
        if self.case_number_pattern is None:
            return CaseNumberRule(DEFAULT_CASE_NUMBER_PATTERN, DEFAULT_CASE_NUMBER_RULE, True)
        return CaseNumberRule(self.case_number_pattern, self.case_number_rule or "", False)


@dataclass(frozen=True)
class CaseNumberRule:
    """What case numbers an agency accepts: a regular expression the whole number must match
    (Python's ``re``), and the rule in words for the person whose number is refused."""

    pattern: str
    rule: str
    default: bool

    def check(self, number: str) -> str:
        """``number`` (NFC, trimmed) if it follows the rule; else InvalidRequest saying it."""
        problem = text_problem(number)
        number = unicodedata.normalize("NFC", number).strip()
        if problem is None and (not 1 <= len(number) <= CASE_NUMBER_MAX
                                or re.fullmatch(self.pattern, number) is None):
            problem = "it does not follow the case-number rule of the unit's agency"
        if problem is not None:
            raise InvalidRequest(msg("case number {number!r} is not allowed: {reason}", number=number,
                                     reason=problem),
                                 hint=msg("the rule: {rule}", rule=self.rule))
        return number


@dataclass(frozen=True)
class Unit:
    code: str
    agency_code: str
    name: str
    created_at: datetime


def parse_level(value: str) -> Level:
    try:
        return Level(value)
    except ValueError:
        raise InvalidRequest(msg("unknown agency level {value!r}", value=value),
                             hint=msg("use one of: {levels}",
                                      levels=listing(level.value for level in Level))) from None


def check_code(code: str, what: str) -> None:
    if not _CODE_RE.fullmatch(code):
        raise InvalidRequest(msg("{what} code {code!r} is not allowed", what=what, code=code),
                             hint=msg("use 1-32 lower-case letters, digits, '_' or '-', starting with a "
                                      "letter or digit (e.g. hhht-gaj)"))


def check_name(name: str, what: str) -> str:
    """NFC, trimmed, 1..NAME_MAX characters of text (``cases.text``: format characters stay
    allowed, since Mongolian script needs its vowel separator U+180E and joiners)."""
    return clean_text(name, {"officer": msg("officer name"), "agency": msg("agency name"),
                             "unit": msg("unit name")}.get(what, what), NAME_MAX)


def require_admin_role(user: User, action: str) -> None:
    """The operator or an admin (of any agency: which one is checked against the target)."""
    if not user.operator and user.role is not Role.ADMIN:
        raise AccessDenied(msg("a {role} may not {action}", role=role_words(user.role), action=action),
                           hint=msg("an admin of the agency can do this"))


def require_org_admin(user: User, agency_code: str, action: str) -> None:
    """The operator, or an admin of ``agency_code``."""
    if user.operator:
        return
    if user.role is not Role.ADMIN or user.agency_code != agency_code:
        raise AccessDenied(msg("{user} may not {action}", user=user.name, action=action),
                           hint=msg("an admin of agency {agency_code} can do this", agency_code=agency_code))


def add_agency(log: CustodyLog, user: User, code: str, name: str, level: Level,
               parent_code: str | None, now: datetime | None = None) -> Agency:
    """A new agency (event ``org:agency:added``); under ``parent_code`` unless region level."""
    require_admin_role(user, msg("add agencies"))
    check_code(code, msg("agency"))
    name = check_name(name, "agency")
    if level is Level.REGION and parent_code is not None:
        raise InvalidRequest(msg("a region-level agency has no parent"),
                             hint=msg("drop --parent, or give the level city or county"))
    if level is not Level.REGION and parent_code is None:
        raise InvalidRequest(msg("a {level}-level agency needs a parent", level=level.value),
                             hint=msg("give --parent, the code of the agency it sits under"))
    if parent_code is None and not user.operator:
        raise AccessDenied(msg("only the server's operator may add a top-level agency"),
                           hint=msg("give --parent, the agency you administer"))
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        if parent_code is not None:
            parent = get_agency(conn, parent_code)
            require_org_admin(user, parent_code, msg("add an agency under {parent_code}",
                                                     parent_code=parent_code))
            if _RANK[level] <= _RANK[parent.level]:
                raise Conflict(msg("a {level} agency cannot be under the {level2} agency {parent_code}",
                                   level=level.value, level2=parent.level.value, parent_code=parent_code),
                                     hint=msg("an agency sits below its parent: region, then city, then "
                                              "county"))
        if conn.execute(select(tables.agencies.c.code)
                        .where(tables.agencies.c.code == code)).first():
            raise AlreadyExists(msg("an agency with code {code!r} already exists", code=code),
                                hint=msg("agency codes are unique; choose another"))
        conn.execute(insert(tables.agencies).values(
            code=code, name=name, level=level.value, parent_code=parent_code, created_at=moment,
            created_by=user.actor))
        log.append([EventDraft(EventType.AGENCY_ADDED, user.actor, None, {
            "agency": code, "name": name, "level": level.value, "parent": parent_code},
            moment)], conn)
    return Agency(code, name, level, parent_code, moment)


def add_unit(log: CustodyLog, user: User, code: str, agency_code: str, name: str,
             now: datetime | None = None) -> Unit:
    """A new unit of ``agency_code`` (event ``org:unit:added``)."""
    require_admin_role(user, msg("add units"))
    check_code(code, msg("unit"))
    name = check_name(name, "unit")
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        get_agency(conn, agency_code)
        require_org_admin(user, agency_code, msg("add a unit to agency {agency_code}",
                                                 agency_code=agency_code))
        if conn.execute(select(tables.units.c.code).where(tables.units.c.code == code)).first():
            raise AlreadyExists(msg("a unit with code {code!r} already exists", code=code),
                                hint=msg("unit codes are unique across the region; choose another"))
        conn.execute(insert(tables.units).values(code=code, agency_code=agency_code, name=name,
                                                 created_at=moment, created_by=user.actor))
        log.append([EventDraft(EventType.UNIT_ADDED, user.actor, None, {
            "unit": code, "agency": agency_code, "name": name}, moment)], conn)
    return Unit(code, agency_code, name, moment)


def get_agency(conn: Connection, code: str) -> Agency:
    row = conn.execute(select(tables.agencies).where(tables.agencies.c.code == code)).first()
    if row is None:
        raise NotFound(msg("there is no agency {code!r}", code=code),
                       hint=msg("list agencies with `evidence agency list`"))
    return _agency(row)


def _agency(row: Any) -> Agency:
    return Agency(row.code, row.name, Level(row.level), row.parent_code, aware(row.created_at),
                  row.case_number_pattern, row.case_number_rule)


def check_case_number_pattern(pattern: str) -> str:
    """``pattern`` if it can be an agency's case-number rule: a regular expression of Python's
    ``re`` of at most PATTERN_MAX characters, without back-references, repetition inside
    repetition or more than REPEATS_MAX quantifiers (they make matching slow enough to stall
    the server), and matching no empty number."""
    why = None
    if not 1 <= len(pattern) <= PATTERN_MAX or text_problem(pattern) is not None:
        why = f"it must be 1 to {PATTERN_MAX} printable characters on one line"
    else:
        try:
            parsed = sre_parse.parse(pattern)
        except re.error as exc:
            why = f"it is not a regular expression ({exc})"
        else:
            why = _slow_parts(parsed, 0, [0])
            if why is None and re.fullmatch(pattern, "") is not None:
                why = "it accepts an empty case number"
    if why is not None:
        raise InvalidRequest(msg("the case-number pattern {pattern!r} is not allowed: {why}",
                                 pattern=pattern[:PATTERN_MAX], why=why),
                             hint=msg("give a regular expression the whole number must match, "
                                                "e.g. [^\\W_]{{1,4}}刑\\d{{4}}-\\d{{3}}"))
    return pattern


def _slow_parts(items: Any, depth: int, repeats: list[int]) -> str | None:
    """Why a parsed pattern could match slowly, or None (``depth``: enclosing repeats)."""
    for op, arg in items:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return "it has a back-reference"
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            repeats[0] += 1
            if repeats[0] > REPEATS_MAX:
                return f"it has more than {REPEATS_MAX} repetitions"
            if depth and arg[1] > 1:
                return "it repeats a repetition"
            found = _slow_parts(arg[2], depth + (1 if arg[1] > 1 else 0), repeats)
        elif name == "BRANCH":
            if depth:
                return "it repeats a choice"
            found = next((why for branch in arg[1] if (why := _slow_parts(branch, depth, repeats))),
                         None)
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            found = _slow_parts(arg[-1], depth, repeats)
        elif name in ("ASSERT", "ASSERT_NOT"):
            found = _slow_parts(arg[1], depth, repeats)
        else:
            found = None
        if found:
            return found
    return None


def set_case_number_rule(log: CustodyLog, user: User, agency_code: str, pattern: str | None,
                         rule: str | None, now: datetime | None = None) -> Agency:
    """Set the rule ``agency_code``'s case numbers must follow (event
    ``org:agency:case-number-rule-set``, with the rule before); ``pattern`` None: the default
    rule. Cases already opened keep their numbers. The operator, or an admin of the agency."""
    require_admin_role(user, "set an agency's case-number rule")
    if pattern is None:
        if rule is not None:
            raise InvalidRequest(msg("a rule in words goes with a pattern"),
                                 hint=msg("give the pattern too, or neither for the default rule"))
    else:
        pattern = check_case_number_pattern(pattern)
        if rule is None:
            raise InvalidRequest(msg("a case-number pattern needs the rule in words"),
                                 hint=msg("say what the pattern asks for, as the person opening a case "
                                          "should read it, e.g. 单位简称+刑+年份-三位序号"))
        rule = clean_text(rule, "case-number rule", RULE_MAX)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        before = get_agency(conn, agency_code)
        require_org_admin(user, agency_code, f"set the case-number rule of agency {agency_code}")
        conn.execute(update(tables.agencies).where(tables.agencies.c.code == agency_code)
                     .values(case_number_pattern=pattern, case_number_rule=rule))
        log.append([EventDraft(EventType.AGENCY_CASE_RULE_SET, user.actor, None, {
            "agency": agency_code, "pattern": pattern, "rule": rule,
            "before": {"pattern": before.case_number_pattern, "rule": before.case_number_rule}},
            moment)], conn)
        return get_agency(conn, agency_code)


def my_case_number_rule(engine: Engine, user: User) -> CaseNumberRule:
    """The rule of the user's agency, for the form that opens a case (anyone with a unit)."""
    if user.unit_code is None:
        raise InvalidRequest(msg("{user} belongs to no unit, so to no agency's rule", user=user.name),
                             hint=msg("read an agency's rule with `evidence agency list`"))
    with engine.connect() as conn:
        return case_number_rule(conn, user.unit_code)


def case_number_rule(conn: Connection, unit_code: str) -> CaseNumberRule:
    """The rule case numbers of ``unit_code``'s agency follow."""
    a, u = tables.agencies, tables.units
    row = conn.execute(select(a).join(u, u.c.agency_code == a.c.code)
                       .where(u.c.code == unit_code)).first()
    if row is None:
        raise NotFound(msg("there is no unit {unit_code!r}", unit_code=unit_code),
                       hint=msg("list units with `evidence unit list`"))
    return _agency(row).case_rule


def get_unit(conn: Connection, code: str) -> Unit:
    row = conn.execute(select(tables.units).where(tables.units.c.code == code)).first()
    if row is None:
        raise NotFound(msg("there is no unit {code!r}", code=code),
                       hint=msg("list units with `evidence unit list`"))
    return Unit(row.code, row.agency_code, row.name, aware(row.created_at))


def list_agencies(engine: Engine, user: User) -> list[Agency]:
    """Every agency for the operator; for an admin, theirs and those directly under it."""
    require_admin_role(user, msg("list agencies"))
    a = tables.agencies
    query = select(a).order_by(a.c.code)
    if not user.operator:
        query = query.where((a.c.code == user.agency_code) | (a.c.parent_code == user.agency_code))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_agency(r) for r in rows]


def list_units(engine: Engine, user: User, agency_code: str | None = None) -> list[Unit]:
    """Units (of ``agency_code``): every one for the operator, their agency's for an admin."""
    require_admin_role(user, msg("list units"))
    if not user.operator:
        if agency_code is not None and agency_code != user.agency_code:
            raise AccessDenied(msg("{user} may not list the units of agency {agency_code}", user=user.name,
                                   agency_code=agency_code),
                               hint=msg("an admin sees the units of their own agency ({agency_code})",
                                        agency_code=user.agency_code))
        agency_code = user.agency_code
    query = select(tables.units).order_by(tables.units.c.code)
    if agency_code is not None:
        query = query.where(tables.units.c.agency_code == agency_code)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Unit(r.code, r.agency_code, r.name, aware(r.created_at)) for r in rows]
