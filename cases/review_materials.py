"""The materials each kind of action must submit for legal review (送审材料), an agency
setting versioned like its catalogue of major decisions.

A requirement names a material and the document kinds (cases/documents.py) that satisfy
it, any one of them; ``when`` makes it apply only when that fact of the action holds (a
hearing record after a hearing). The defaults follow ordinary administrative-penalty
practice: the draft decision, the investigation report, the notice of the party's rights,
the party's statement or the hearing record, and the evidence list.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from cases import access, tables
from cases.documents import DocumentKind
from cases.errors import InvalidRequest
from cases.organisation import require_org_admin
from cases.packet_checks import ReviewError
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

ACTION_KINDS = ("licensing", "penalty", "compulsory", "levy", "inspection")
FACTS = ("licence_revoked", "business_closed", "after_hearing")
NAME_MAX = 200
D = DocumentKind
_DRAFT = {"name": "决定书（草稿）", "kinds": [D.DRAFT_DECISION.value]}
_REPORT = {"name": "案件调查终结报告", "kinds": [D.INVESTIGATION_REPORT.value]}
_RIGHTS = {"name": "事先告知书（当事人权利告知）", "kinds": [D.RIGHTS_NOTICE.value]}
_HEARD = {"name": "当事人陈述申辩笔录或听证笔录",
          "kinds": [D.STATEMENT.value, D.HEARING_RECORD.value]}
_HEARING = {"name": "听证笔录", "kinds": [D.HEARING_RECORD.value], "when": "after_hearing"}
_EVIDENCE = {"name": "证据清单", "kinds": [D.EVIDENCE_LIST.value]}
DEFAULT_REQUIREMENTS: dict[str, list[dict[str, Any]]] = {
    "penalty": [_DRAFT, _REPORT, _RIGHTS, _HEARD, _HEARING, _EVIDENCE],
    "compulsory": [_DRAFT, _REPORT, _RIGHTS, _HEARD, _EVIDENCE],
    "levy": [_DRAFT, _REPORT, _RIGHTS, _HEARD, _HEARING, _EVIDENCE],
    "licensing": [_DRAFT, {"name": "申请材料", "kinds": [D.APPLICATION.value]},
                  {"name": "审查报告", "kinds": [D.INVESTIGATION_REPORT.value]}, _HEARING],
    "inspection": [_DRAFT],
}


def check_requirements(requirements: Any) -> dict[str, list[dict[str, Any]]]:
    """The setting as given, refused unless it is kind -> list of {name, kinds[, when]}."""
    kinds = {k.value for k in DocumentKind}
    if not isinstance(requirements, dict) or not set(requirements) <= set(ACTION_KINDS):
        raise InvalidRequest(msg("the required materials are given by kind of action"),
                             hint=msg("keys: {kinds}", kinds=", ".join(ACTION_KINDS)))
    for action_kind, listed in requirements.items():
        for item in listed if isinstance(listed, list) else [None]:
            if not isinstance(item, dict) or not {"name", "kinds"} <= set(item) \
                    or not set(item) <= {"name", "kinds", "when"} \
                    or not isinstance(item["name"], str) \
                    or not 1 <= len(item["name"].strip()) <= NAME_MAX \
                    or not isinstance(item["kinds"], list) or not item["kinds"] \
                    or not set(item["kinds"]) <= kinds \
                    or item.get("when", FACTS[0]) not in FACTS:
                raise InvalidRequest(
                    msg("the required material {item!r} of {action_kind} is not allowed",
                        item=item, action_kind=action_kind),
                    hint=msg("each names a material (name), the document kinds that satisfy it "
                             "(kinds: {kinds}) and optionally when it applies ({facts})",
                             kinds=", ".join(sorted(kinds)), facts=", ".join(FACTS)))
    return requirements


def set_requirements(log: CustodyLog, user: User, agency_code: str,
                     requirements: dict[str, list[dict[str, Any]]],
                     now: datetime | None = None) -> int:
    """A new version of the agency's required review materials (``org:review-materials:set``);
    kinds not given keep their defaults. Returns the version."""
    require_org_admin(user, agency_code, f"edit the required review materials of {agency_code}")
    requirements = check_requirements(requirements)
    moment = now or datetime.now(UTC)
    rr = tables.review_requirements
    text = json.dumps(requirements, ensure_ascii=False, sort_keys=True)
    with write_transaction(log.engine) as conn:
        version = (conn.execute(select(func.max(rr.c.version)).where(
            rr.c.agency_code == agency_code)).scalar() or 0) + 1
        conn.execute(insert(rr).values(agency_code=agency_code, version=version,
                                       requirements=text, created_at=moment,
                                       created_by=user.name))
        log.append([EventDraft(EventType.REVIEW_MATERIALS_SET, user.actor, None, {
            "agency": agency_code, "version": version,
            "requirements": json.loads(text)}, moment)], conn)
    return version


def requirements_of(conn: Connection, agency_code: str | None
                    ) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """The agency's version (0: the defaults) and its requirements by kind of action."""
    rr = tables.review_requirements
    row = conn.execute(select(rr).where(rr.c.agency_code == agency_code)
                       .order_by(rr.c.version.desc()).limit(1)).first()
    if row is None:
        return 0, dict(DEFAULT_REQUIREMENTS)
    return int(row.version), {**DEFAULT_REQUIREMENTS, **json.loads(row.requirements)}


def read_requirements(engine: Engine, user: User, agency_code: str
                      ) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    access.require_role(user, access.READ_CASES, "read the required review materials")
    with engine.connect() as conn:
        return requirements_of(conn, agency_code)


def require_materials(conn: Connection, agency_code: str | None, listing: dict[str, Any]) -> None:
    """Refuse (ReviewError naming each missing material) unless the submission's items
    include a document of the kinds each requirement of the action's kind asks for."""
    version, requirements = requirements_of(conn, agency_code)
    cd = tables.case_documents
    ids = [item["evidence_id"] for item in [listing["draft"], *listing["cited"]]]
    present = set(conn.execute(select(cd.c.kind).where(
        cd.c.case_id == listing["case_id"], cd.c.evidence_id.in_(ids))).scalars())
    facts = listing.get("facts") or {}
    missing = [f"{item['name']} ({' / '.join(item['kinds'])})"
               for item in requirements.get(listing["kind"], [])
               if (item.get("when") is None or facts.get(item["when"]))
               and not present & set(item["kinds"])]
    if missing:
        raise ReviewError(
            msg("submission refused: required materials missing: {missing}",
                missing="; ".join(missing)),
            hint=msg("add each as a document of the case, of the kind named, and cite it in the "
                     "materials (required materials of agency {agency}, version {version})",
                     agency=agency_code, version=version))
