"""Who may see and do what. Every rule of the case service's role model is in this module.

``ROLE_TABLE`` is the rulebook in words (the API serves it in its OpenAPI
description); the code below is the same rules. A right has two parts: the
role (the frozensets, checked first) and the scope, which says *which* footage
and cases: "own footage" is ``evidence.officer_no`` equal to the user's officer
number; a unit's footage is footage whose ``unit_code`` is that unit; an
agency's footage is footage of its units and footage on its units' cases.

Refusals are 403 with a hint saying who can help, whether or not the item is
in the user's scope: ids are random UUIDs handed from person to person, and
telling a case officer which agency owns footage is what lets them ask its
admin for a grant. Lists are filtered silently: what a user may not see is
neither listed nor counted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, false, literal, or_, select, true

from cases import tables
from cases.errors import AccessDenied
from cases.tables import DEFAULT_UNIT
from cases.users import ALL_AGENCIES, Role, User, role_words
from domain.messages import listing, msg
from domain.station import PortStatus
from storage import catalog

ROLE_TABLE = """\
| action | officer | case_officer | reviewer | auditor | admin | clerk |
|---|---|---|---|---|---|---|
| search evidence, read its metadata and custody events | own | unit, managed | sent | scope | agency | no |
| play back evidence, a recording or a photo (custody event) | own | unit, managed | sent | no | agency | no |
| export a recording as one MP4 (custody event) | own | unit, managed | sent | no | agency | no |
| download an original (custody event, with a reason) | no | managed | sent | no | agency | no |
| place or release a legal hold | no | no | no | no | owned | no |
| grant footage to another unit's case (custody event) | no | no | no | no | owned | no |
| run the retention job (deletes expired footage; custody event) | no | no | no | no | yes | no |
| create a case | no | unit | no | no | unit | no |
| list and read cases | no | managed | sent | scope | agency | no |
| attach, detach, assign case officers | no | managed | no | no | agency | no |
| send a case for review | no | managed | no | no | agency | no |
| read a decision's publication record (公示) | no | managed | sent | scope | agency | no |
| edit, confirm, publish, update, revoke a publication (event) | no | managed | no | no | agency | no |
| remove a case officer | no | no | no | no | agency | no |
| export a case bundle (custody event) | no | managed | sent | no | agency | no |
| ask for a redacted copy of an item on a case (custody event) | no | managed | no | no | agency | no |
| read a redacted copy and download it (custody event) | no | managed | their agency | no | agency | no |
| approve or refuse another's redacted copy (custody event) | no | no | their agency | no | no | no |
| custody checkpoint, verifier key, `/me` | yes | yes | yes | yes | yes | yes |
| custody entries, proofs, verify report | no | no | no | scope `*` | no | no |
| checkpoint history and consistency between checkpoints | no | no | yes | yes | no | no |
| list devices | no | yes | yes | yes | yes | no |
| manage users | no | no | no | no | agency | no |
| add and list agencies and units | no | no | no | no | agency | no |
| register, reassign and retire recorders | no | no | no | no | agency | no |
| sign in and out (password or single sign-on); change own password | yes | yes | yes | yes | yes | yes |
| station screen: docks' progress (not evidence) | own docks | no | no | scope's | agency's | unit's |

- *own*: footage recorded under the officer's own number.
- *unit*: their unit's footage; a case they create belongs to their unit.
- *managed*: the cases they manage, the footage on them and footage granted to them.
- *sent*: their agency's cases sent for review, and the footage on them.
- *scope*: an auditor's scope, one agency or `*` (every agency): its footage and cases.
- *agency*: their agency's cases, and footage of its units or on its cases.
- *owned*: footage of their agency's units.
- *their agency* (reviewers): the legal reviewers of the case's agency, whether or not the
  case was sent for review (approving what is published is theirs: cases/redactions.py).
- *own docks*: the tiles of docks of recorders that name the officer's number, at any station.
- *unit's*, *agency's*, *scope's* (stations): the tiles of stations whose unit
  (`EVIDENCE_STATION_UNIT`) is the clerk's unit, one of the admin's agency's units, or
  one of the audited agency's units (`*`: every station).

A clerk (内勤) runs a unit's docking station: they watch its screen and hand recorders back,
and see no footage, case or custody entry (the screen shows officers' names and numbers,
file counts and problems, never a file's content). The station screen is operational
state, not evidence: reading it is no custody event.

Managing users includes setting their passwords and unlocking them after failed
sign-ins. For users, units, agencies and recorders, *agency* means the agency the user,
unit or recorder belongs to (a new agency: its parent). An admin's retention
run deletes only their agency's expired footage, and their list of legal holds
(`GET /holds`) holds their agency's footage.

An entry's inclusion proof, explained (`GET /custody/entries/{index}/proof`), goes
with reading the entry: an event of footage or a case the user may read (auditors
of scope `*`: any entry). Verify jobs (`/verify/jobs`) are the verify report's:
scope `*`; starting one is a custody event.

Attaching footage also needs it to belong to the case's unit or to have been
granted to that case. The server's command line (`evidence ...`) acts as an
admin of every agency. Out of scope is refused (403) with a hint.
"""

ALL = frozenset(Role)
READ_EVIDENCE = ALL - {Role.CLERK}
PLAY = frozenset({Role.OFFICER, Role.CASE_OFFICER, Role.REVIEWER, Role.ADMIN})
DOWNLOAD_ORIGINAL = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.ADMIN})
LEGAL_HOLD = frozenset({Role.ADMIN})
RUN_RETENTION = frozenset({Role.ADMIN})
GRANT = frozenset({Role.ADMIN})
CREATE_CASE = frozenset({Role.CASE_OFFICER, Role.ADMIN})
READ_CASES = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN})
MANAGE_CASE = frozenset({Role.CASE_OFFICER, Role.ADMIN})
REQUEST_REVIEW = MANAGE_CASE
REMOVE_OFFICER = frozenset({Role.ADMIN})
EXPORT_CASE = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.ADMIN})
CUSTODY_PUBLIC = ALL
CUSTODY_AUDIT = frozenset({Role.AUDITOR})
CHECKPOINT_HISTORY = frozenset({Role.REVIEWER, Role.AUDITOR})
LIST_DEVICES = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN})
MANAGE_USERS = frozenset({Role.ADMIN})
STATION_SCREEN = frozenset({Role.OFFICER, Role.AUDITOR, Role.ADMIN, Role.CLERK})


def require_role(user: User, allowed: Collection[Role], action: str) -> None:
    if user.role not in allowed:
        roles = listing(role_words(r) for r in sorted(allowed, key=lambda r: r.value))
        raise AccessDenied(msg("a {role} may not {action}", role=role_words(user.role), action=action),
                           hint=msg("this needs one of the roles: {roles}", roles=roles))


def sees_only_own_footage(user: User) -> bool:
    return user.role is Role.OFFICER and not user.operator


# --- scopes as SQL: which footage and which cases a user may see -------------------------

def _footage_of_units(units: Select[Any]) -> ColumnElement[bool]:
    """Footage whose unit is one of ``units``. Footage recorded before it had a unit counts as
    the default unit's, where migration 0009 placed every older row (written so that the
    index on ``evidence.unit_code`` serves the common case)."""
    unit = catalog.evidence.c.unit_code
    return or_(unit.in_(units), and_(unit.is_(None), literal(DEFAULT_UNIT).in_(units)))


def _agency_units(agency_code: str | None) -> Select[Any]:
    return select(tables.units.c.code).where(tables.units.c.agency_code == agency_code)


def _managed_case_ids(user: User) -> Select[Any]:
    co = tables.case_officers
    return select(co.c.case_id).where(co.c.user_name == user.name)


def _footage_on(case_ids: Select[Any]) -> Select[Any]:
    ce = tables.case_evidence
    return select(ce.c.evidence_id).where(ce.c.case_id.in_(case_ids))


def _agency_case_ids(agency_code: str | None) -> Select[Any]:
    return select(tables.cases.c.id).where(tables.cases.c.unit_code.in_(_agency_units(agency_code)))


def _review_case_ids(agency_code: str | None) -> Select[Any]:
    c = tables.cases
    return select(c.c.id).where(c.c.unit_code.in_(_agency_units(agency_code)),
                                c.c.review_requested_at.is_not(None))


def _agency_footage(agency_code: str | None) -> ColumnElement[bool]:
    ev = catalog.evidence
    return or_(_footage_of_units(_agency_units(agency_code)),
               ev.c.id.in_(_footage_on(_agency_case_ids(agency_code))))


def sees_all_footage(user: User) -> bool:
    return user.operator or (user.role is Role.AUDITOR and user.auditor_scope == ALL_AGENCIES)


def visible_footage(user: User) -> ColumnElement[bool]:
    """A condition on ``storage.catalog.evidence``: the rows the user may read."""
    ev, grants = catalog.evidence, tables.evidence_grants
    if sees_all_footage(user):
        return true()
    if user.role is Role.OFFICER:
        # an officer without a number sees nothing (never the footage whose number is NULL)
        return ev.c.officer_no == user.officer_no if user.officer_no else false()
    if user.role is Role.CASE_OFFICER:
        managed = _managed_case_ids(user)
        own_unit = select(tables.units.c.code).where(tables.units.c.code == user.unit_code)
        return or_(_footage_of_units(own_unit),
                   ev.c.id.in_(_footage_on(managed)),
                   ev.c.id.in_(select(grants.c.evidence_id).where(grants.c.case_id.in_(managed))))
    if user.role is Role.REVIEWER:
        return ev.c.id.in_(_footage_on(_review_case_ids(user.agency_code)))
    if user.role is Role.AUDITOR:
        return _agency_footage(user.auditor_scope)
    if user.role is Role.CLERK:
        return false()  # a station clerk sees no footage
    assert user.role is Role.ADMIN  # every role has its rule above; mypy checks the enum
    return _agency_footage(user.agency_code)


def owned_footage(user: User) -> ColumnElement[bool]:
    """A condition on ``storage.catalog.evidence``: the footage whose legal hold the user may
    place or release (the operator: all; an admin: footage of their agency's units)."""
    if user.operator:
        return true()
    if user.role is not Role.ADMIN:
        return false()
    return _footage_of_units(_agency_units(user.agency_code))


def visible_cases(user: User) -> ColumnElement[bool]:
    """A condition on ``cases.tables.cases``: the cases the user may read."""
    c = tables.cases
    if user.operator:
        return true()
    if user.role is Role.CASE_OFFICER:
        return c.c.id.in_(_managed_case_ids(user))
    if user.role is Role.REVIEWER:
        return c.c.id.in_(_review_case_ids(user.agency_code))
    if user.role is Role.AUDITOR:
        if user.auditor_scope == ALL_AGENCIES:
            return true()
        return c.c.unit_code.in_(_agency_units(user.auditor_scope))
    if user.role is Role.ADMIN:
        return c.c.unit_code.in_(_agency_units(user.agency_code))
    return false()


def named_cases(user: User) -> ColumnElement[bool]:
    """The cases an evidence item's detail names: those the user may read; an officer (who
    reads no case) the numbers of every case holding their own footage, as before scopes."""
    return true() if sees_only_own_footage(user) else visible_cases(user)


def sees_footage(conn: Connection, user: User, evidence_id: str) -> bool:
    ev = catalog.evidence
    return conn.execute(select(ev.c.id).where(ev.c.id == evidence_id, visible_footage(user))
                        ).first() is not None


def sees_case(conn: Connection, user: User, case_id: str) -> bool:
    c = tables.cases
    return conn.execute(select(c.c.id).where(c.c.id == case_id, visible_cases(user))
                        ).first() is not None


def unit_agency(conn: Connection, unit_code: str | None) -> str | None:
    return conn.execute(select(tables.units.c.agency_code).where(
        tables.units.c.code == (unit_code or DEFAULT_UNIT))).scalar()


# --- checks: raise AccessDenied with a hint --------------------------------------------

def require_sees_footage(conn: Connection, user: User, evidence: Any, action: str) -> None:
    """``evidence`` is its catalogue row; the user must be allowed to read it."""
    if sees_footage(conn, user, evidence.id):
        return
    if sees_only_own_footage(user):
        raise AccessDenied(msg("officer {user} may not {action}: it is not their footage", user=user.name,
                               action=action),
                           hint=msg("officers see only footage recorded under their officer number"))
    unit = evidence.unit_code or DEFAULT_UNIT
    raise AccessDenied(msg("{user} may not {action}: footage of unit {unit} is outside what a {role} of "
                           "{scope_words} sees", user=user.name, action=action, unit=unit,
                           role=role_words(user.role), scope_words=_scope_words(user)),
                       hint=_footage_hint(user, unit_agency(conn, unit)))


def _scope_words(user: User) -> str:
    if user.role is Role.AUDITOR:
        return (msg("every agency") if user.auditor_scope == ALL_AGENCIES
                else msg("agency {agency}", agency=user.auditor_scope))
    if user.role is Role.CASE_OFFICER:
        return msg("unit {unit}", unit=user.unit_code)
    return msg("agency {agency}", agency=user.agency_code)


def _footage_hint(user: User, owner_agency: str | None) -> str:
    if user.role is Role.CASE_OFFICER:
        return msg("an admin of agency {agency} can grant it to a case you manage",
                   agency=owner_agency)
    if user.role is Role.REVIEWER:
        return msg("reviewers see the footage on cases of their agency that were sent for review")
    return msg("an admin or auditor of agency {agency} can see it", agency=owner_agency)


def require_case_access(conn: Connection, user: User, case_id: str,
                        allowed: Collection[Role], action: str) -> None:
    """Role check, then scope: the case must be one the user may read, and a case officer
    must manage it (reviewers: sent for review; admins: their agency's)."""
    require_role(user, allowed, action)
    if sees_case(conn, user, case_id):
        return
    if user.role is Role.CASE_OFFICER:
        raise AccessDenied(msg("{user} does not manage this case and may not {action}", user=user.name,
                               action=action),
                           hint=msg("an admin or one of the case's officers can assign you to it"))
    if user.role is Role.REVIEWER:
        raise AccessDenied(msg("{user} may not {action}: it is not a case of agency {agency_code} sent for "
                               "review", user=user.name, action=action, agency_code=user.agency_code),
                           hint=msg("a case officer of the case sends it for review"))
    raise AccessDenied(msg("{user} may not {action}: the case is outside {scope_words}", user=user.name,
                           action=action, scope_words=_scope_words(user)),
                       hint=msg("an admin of the case's agency can do this"))


def require_original_access(conn: Connection, user: User, evidence: Any) -> None:
    """Originals: case officers only of footage on a case they manage; reviewers and admins
    of footage they can read (for a reviewer: footage on a case sent for review)."""
    action = "download this original"
    require_role(user, DOWNLOAD_ORIGINAL, action)
    if user.role is not Role.CASE_OFFICER:
        require_sees_footage(conn, user, evidence, action)
        return
    ce, co = tables.case_evidence, tables.case_officers
    holding = conn.execute(select(ce.c.case_id).join(co, co.c.case_id == ce.c.case_id).where(
        (ce.c.evidence_id == evidence.id) & (co.c.user_name == user.name))).first()
    if holding is None:
        raise AccessDenied(msg("{user} manages no case holding this evidence and may not {action}",
                               user=user.name, action=action),
                           hint=msg("attach it to a case you manage first"))


def require_may_attach(conn: Connection, user: User, case: Any, evidence: Any) -> None:
    """Attaching needs the footage to be visible to the user, and to belong to the case's
    unit or to have been granted to this case."""
    require_sees_footage(conn, user, evidence, msg("attach this evidence"))
    unit = evidence.unit_code or DEFAULT_UNIT
    if unit == case.unit_code:
        return
    grants = tables.evidence_grants
    if conn.execute(select(grants.c.case_id).where(grants.c.evidence_id == evidence.id,
                                                   grants.c.case_id == case.id)).first():
        return
    raise AccessDenied(msg("evidence {evidence} belongs to unit {unit}, not to unit {unit_code} of case "
                           "{number}, and was not granted to it", evidence=evidence.id, unit=unit,
                           unit_code=case.unit_code, number=case.number),
                       hint=msg("an admin of agency {unit_agency} can grant it to this case",
                                unit_agency=unit_agency(conn, unit)))


def require_owner_admin(conn: Connection, user: User, evidence: Any, allowed: Collection[Role],
                        action: str) -> None:
    """Legal holds and grants: the operator, or an admin of the agency owning the footage."""
    require_role(user, allowed, action)
    if user.operator:
        return
    owner = unit_agency(conn, evidence.unit_code)
    if owner is None or owner != user.agency_code:
        raise AccessDenied(msg("{user} may not {action}: the footage belongs to agency {owner}",
                               user=user.name, action=action, owner=owner),
                           hint=msg("an admin of agency {owner} can do this", owner=owner))


def assignable(conn: Connection, case: Any, user: Any) -> bool:
    """Whether ``user`` (a users row, or None) may be assigned to ``case``: an active case
    officer of a unit of the case's agency."""
    return (user is not None and user.revoked_at is None
            and user.role == Role.CASE_OFFICER.value
            and unit_agency(conn, user.unit_code) == unit_agency(conn, case.unit_code))


def require_log_wide(user: User, action: str) -> None:
    """The whole custody log (entries, proofs, verify report) names every agency's footage:
    auditors of every agency only."""
    require_role(user, CUSTODY_AUDIT, action)
    if user.auditor_scope != ALL_AGENCIES:
        raise AccessDenied(msg("{user} audits agency {auditor_scope} and may not {action}: the whole log "
                               "names every agency's footage", user=user.name,
                               auditor_scope=user.auditor_scope, action=action),
                           hint=msg("read the custody events of your agency's footage and cases on their "
                                    "own pages, or ask an auditor of every agency (scope '*')"))



# --- the station screen (operational state, not evidence) ---------------------------------

@dataclass(frozen=True)
class StationScope:
    """Which tiles of the station screen a user sees (ROLE_TABLE's station row)."""

    units: frozenset[str] | None  # tiles of stations of these units; None: every station
    officer_no: str | None = None  # an officer: the docks of recorders naming their number

    @property
    def per_recorder(self) -> bool:
        """Whether a port's tile can change hands (an officer's recorder replaced by another's
        on the same port), rather than belonging to its station for good."""
        return self.officer_no is not None

    def sees(self, tile: PortStatus) -> bool:
        if self.officer_no is not None:
            return not tile.is_station and tile.officer_no == self.officer_no
        return self.units is None or (tile.station_unit or DEFAULT_UNIT) in self.units


def station_scope(conn: Connection, user: User) -> StationScope:
    """The tiles ``user`` may see; refused (403) to roles that have no station screen."""
    require_role(user, STATION_SCREEN, msg("see the station screen"))
    if sees_all_footage(user):
        return StationScope(None)
    if user.role is Role.OFFICER:
        # an officer without a number sees nothing (never the docks of unidentified recorders)
        return (StationScope(frozenset(), officer_no=user.officer_no) if user.officer_no
                else StationScope(frozenset()))
    if user.role is Role.CLERK:
        return StationScope(frozenset({user.unit_code or DEFAULT_UNIT}))
    agency = user.auditor_scope if user.role is Role.AUDITOR else user.agency_code
    return StationScope(frozenset(conn.execute(_agency_units(agency)).scalars()))
