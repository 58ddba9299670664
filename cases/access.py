"""Who may do what. Every rule of the case service's role model is in this module.

``ROLE_TABLE`` is the rulebook in words (the API serves it in its OpenAPI
description); the frozensets below are the same rules in code. "Own footage"
means ``evidence.officer_no`` equals the user's officer number. Metadata reads
leave no custody event; anything that delivers footage does.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, select

from cases import tables
from cases.errors import AccessDenied
from cases.users import Role, User

ROLE_TABLE = """\
| action | officer | case_officer | reviewer | auditor | admin |
|---|---|---|---|---|---|
| search evidence, read its metadata and custody events | own footage | yes | yes | yes | yes |
| play back evidence or a recording (custody event) | own footage | yes | yes | no | yes |
| export a recording as one MP4 (custody event) | own footage | yes | yes | no | yes |
| download an original (custody event) | no | on a case they manage | yes | no | yes |
| place or release a legal hold | no | no | no | no | yes |
| run the retention job (deletes expired footage; custody event) | no | no | no | no | yes |
| create a case | no | yes | no | no | yes |
| list and read cases | no | cases they manage | yes | yes | yes |
| attach, detach, assign case officers | no | cases they manage | no | no | yes |
| remove a case officer | no | no | no | no | yes |
| export a case bundle (custody event) | no | cases they manage | yes | no | yes |
| custody checkpoint, verifier key, `/me` | yes | yes | yes | yes | yes |
| custody entries, proofs, verify report | no | no | no | yes | yes |
| list devices | no | yes | yes | yes | yes |
| manage users | no | no | no | no | yes |
| add and list agencies and units | no | no | no | no | under their agency |
| register recorders | no | no | no | no | to their agency's units |
"""

ALL = frozenset(Role)
READ_EVIDENCE = ALL
PLAY = frozenset({Role.OFFICER, Role.CASE_OFFICER, Role.REVIEWER, Role.ADMIN})
DOWNLOAD_ORIGINAL = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.ADMIN})
LEGAL_HOLD = frozenset({Role.ADMIN})
RUN_RETENTION = frozenset({Role.ADMIN})
CREATE_CASE = frozenset({Role.CASE_OFFICER, Role.ADMIN})
READ_CASES = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN})
MANAGE_CASE = frozenset({Role.CASE_OFFICER, Role.ADMIN})
EXPORT_CASE = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.ADMIN})
CUSTODY_PUBLIC = ALL
CUSTODY_AUDIT = frozenset({Role.AUDITOR, Role.ADMIN})
LIST_DEVICES = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN})
MANAGE_USERS = frozenset({Role.ADMIN})


def require_role(user: User, allowed: Collection[Role], action: str) -> None:
    if user.role not in allowed:
        roles = ", ".join(sorted(r.value for r in allowed))
        raise AccessDenied(f"a {user.role.value} may not {action}",
                           hint=f"this needs one of the roles: {roles}")


def sees_only_own_footage(user: User) -> bool:
    return user.role is Role.OFFICER


def require_own_footage(user: User, evidence_officer_no: str | None, action: str) -> None:
    """Officers may only reach footage recorded under their own officer number."""
    if sees_only_own_footage(user) and (
            user.officer_no is None or evidence_officer_no != user.officer_no):
        raise AccessDenied(f"officer {user.name} may not {action}: it is not their footage",
                           hint="officers see only footage recorded under their officer number")


def manages_case(conn: Connection, user: User, case_id: str) -> bool:
    return conn.execute(select(tables.case_officers.c.case_id).where(
        (tables.case_officers.c.case_id == case_id)
        & (tables.case_officers.c.user_name == user.name))).first() is not None


def require_case_access(conn: Connection, user: User, case_id: str,
                        allowed: Collection[Role], action: str) -> None:
    """Role check, and for a case officer: they must manage this case."""
    require_role(user, allowed, action)
    if user.role is Role.CASE_OFFICER and not manages_case(conn, user, case_id):
        raise AccessDenied(f"{user.name} does not manage this case and may not {action}",
                           hint="an admin or one of the case's officers can assign you to it")


def require_original_access(conn: Connection, user: User, evidence_id: str) -> None:
    """Originals: reviewers and admins; case officers only on a case they manage."""
    action = "download this original"
    require_role(user, DOWNLOAD_ORIGINAL, action)
    if user.role is not Role.CASE_OFFICER:
        return
    ce, co = tables.case_evidence, tables.case_officers
    holding = conn.execute(select(ce.c.case_id).join(co, co.c.case_id == ce.c.case_id).where(
        (ce.c.evidence_id == evidence_id) & (co.c.user_name == user.name))).first()
    if holding is None:
        raise AccessDenied(f"{user.name} manages no case holding this evidence and may not {action}",
                           hint="attach it to a case you manage first")
