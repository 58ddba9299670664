"""Every endpoint x every role x every scope.

The world (tests/api_support.py) has two agencies: north (units n1, n2) and south (s1),
with users of every role in each, an auditor of north, one of every agency ("*"), and
footage and cases in each. Every request of the matrix targets north's unit n1: its
footage (officer 100234's), its case (managed by ``case_officer``, sent for review), its
recording. Each endpoint names, per role, the scope a user of that role needs
(``Reach``); users with that reach succeed, every other user gets 403 (``forbidden``) —
a user of another unit or agency as much as one of the wrong role. No token, an unknown
token and a revoked token get 401. A test pins that the matrix covers every operation in
the OpenAPI document, so a new endpoint cannot skip it.

To add an endpoint: one ``Endpoint`` with a ``prepare`` that builds the request against
north's n1 (fresh state per call where a request changes it) and, per allowed role, the
``Reach`` it needs.

Sign-in routes are ``public``: reachable with no credentials, since that is their job
(signing in, signing out, saying which ways to sign in exist, single sign-on); the
session's own routes (``cookie``) are called with the user's browser session instead of
a bearer token. Every other endpoint takes the session cookie as it takes a token, and
with the cookie needs the CSRF header on every unsafe method
(``test_the_session_cookie_works_as_a_token_and_unsafe_methods_need_its_csrf_token``).
"""

from __future__ import annotations

import base64
import importlib.util
import itertools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from typing import Any

import pytest
from sqlalchemy import select, update

from cases import tables
from cases.actions import ActionKind, Party, PartyKind, add_certificate, add_matter, open_action
from cases.case_records import assign_officer, attach_evidence, create_case
from cases.devices import register_device
from cases.documents import DocumentKind, add_document
from cases.evidence import change_legal_hold
from cases.export_jobs import run_export, start_export
from cases.legal_advice import AdviserKind, request_advice
from cases.legal_review import (
    CHECKLIST,
    Opinion,
    contest,
    decide,
    record_opinion,
    set_materials,
    submit,
)
from cases.passwords import set_password
from cases.public_entries import ListKind, publish
from cases.public_lists import add_guide, add_inspection
from cases.publication import confirm, edit
from cases.publication import publish as publish_decision
from cases.redactions import request_redaction
from cases.review import request_review
from cases.users import Role, User, add_user, authenticate, operator
from cases.web_sessions import SessionPolicy, open_session
from media.face_detector import Box
from media.redaction import ManualBox, RedactionSettings
from tests.api_support import (
    NORTH,
    NORTH_UNIT,
    OFFICER_NO,
    SOUTH_UNIT,
    T0,
    USERS,
    World,
    add_evidence,
    add_recording,
    clips_fixture,
    world_fixture,
)
from tests.redaction_support import face_photo_bytes, redaction_tools

_ = (world_fixture, clips_fixture)  # fixtures used by name
API = "/api/v1"
SIGNER_PASSWORD = "matrix sign-in secret"
BUNDLE_AVAILABLE = importlib.util.find_spec("cases.bundle") is not None


class Reach(Enum):
    """What a user must be to a request's target (north's n1) to be allowed."""

    ANY = "any user of the role, whatever their unit or agency"
    OWN = "the officer who recorded the footage"
    UNIT = "a member of the footage's unit"
    MANAGED = "a case officer managing the case"
    SENT = "a reviewer of the agency whose case was sent for review"
    SCOPE = "an auditor whose scope holds the target (north, or *)"
    STAR = "an auditor of every agency (*)"
    AGENCY = "an admin of the target's agency"
    OWNED = "an admin of the agency owning the footage"
    OF_AGENCY = "a member of the target's agency (a legal reviewer of it)"


# What each user is to north's n1 footage (officer 100234's), its case and its units.
REACHES: dict[str, frozenset[Reach]] = {
    "officer": frozenset({Reach.OWN}),
    "case_officer": frozenset({Reach.UNIT, Reach.MANAGED}),
    "case_officer2": frozenset({Reach.UNIT}),  # same unit, manages no case
    "reviewer": frozenset({Reach.SENT, Reach.OF_AGENCY}),
    "auditor": frozenset({Reach.SCOPE, Reach.STAR}),
    "north-auditor": frozenset({Reach.SCOPE}),
    "admin": frozenset({Reach.AGENCY, Reach.OWNED}),
}  # everyone else (officer2, n2-*, south-*) reaches nothing of it
assert set(REACHES) <= set(USERS)

EVERYONE = {role: Reach.ANY for role in Role}


@dataclass
class Context:
    world: World
    case_id: str
    south_case_id: str
    recording_id: str
    segments: list[str]  # the recording's evidence ids, on north's case
    made: dict[str, str] = field(default_factory=dict)  # label -> id, made on first use
    signer_made: bool = False

    def user(self, name: str) -> User:
        return authenticate(self.world.home.engine(), self.world.tokens[name])

    def fresh_evidence(self) -> str:
        data = uuid.uuid4().bytes * 8
        return add_evidence(self.world.home, f"X_{OFFICER_NO}_{uuid.uuid4().hex[:6]}.MP4", data,
                            officer_no=OFFICER_NO, device="ZFY0001", start=T0, unit=NORTH_UNIT)

    def fresh_user(self, role: Role = Role.CASE_OFFICER) -> str:
        name = f"u-{uuid.uuid4().hex[:10]}"
        add_user(self.world.home.custody_log(), name, role, None, by=operator("test"),
                 unit_code=NORTH_UNIT)
        return name

    def on_case(self, label: str, make: Callable[[], str]) -> str:
        """An item made once per context by ``make`` and attached to north's case."""
        if label not in self.made:
            self.made[label] = make()
            attach_evidence(self.world.home.custody_log(), self.world.home.object_store(),
                            self.user("admin"), self.case_id, self.made[label])
        return self.made[label]

    def finished_export(self) -> str:
        """An export of north's case, built once per context."""
        if "export" not in self.made:
            log = self.world.home.custody_log()
            job = start_export(log, self.user("admin"), self.case_id, False, "court")
            run_export(log, self.world.home.object_store(), job.id, self.world.home.exports)
            self.made["export"] = job.id
        return self.made["export"]

    def signer(self) -> dict[str, str]:
        """A user with a password (made once), for the sign-in route."""
        name = "matrix-signer"
        if not self.signer_made:
            log = self.world.home.custody_log()
            add_user(log, name, Role.REVIEWER, None, by=operator("test"), unit_code=NORTH_UNIT)
            set_password(log, name, SIGNER_PASSWORD, by=operator("test"), now=self.world.clock())
            self.signer_made = True
        return {"name": name, "password": SIGNER_PASSWORD}

    def cookie_auth(self, name: str) -> dict[str, str]:
        """A new browser session of ``name``: its cookie and CSRF header."""
        opened = open_session(self.world.home.custody_log(), self.user(name), method="password",
                              policy=SessionPolicy(), now=self.world.clock(), address="testclient")
        return {"Cookie": f"evidence_session={opened.session_id}",
                "X-CSRF-Token": opened.csrf_token}

    def locked_user(self) -> str:
        name = self.fresh_user(Role.REVIEWER)
        with self.world.home.engine().begin() as conn:
            conn.execute(update(tables.users).where(tables.users.c.name == name).values(
                failed_sign_ins=0, locked_until=self.world.clock() + timedelta(minutes=15)))
        return name

    def fresh_device(self) -> str:
        serial = f"ZFY{uuid.uuid4().hex[:8]}"
        register_device(self.world.home.custody_log(), operator("test"), serial, OFFICER_NO,
                        NORTH_UNIT)
        return serial

    def ingest_seq(self) -> int:
        """The entry recording the ingest of north's "mine" footage."""
        mine = self.world.evidence["mine"]
        return int(next(e["seq"] for e in self.world.events("evidence:file:ingested")
                        if e["subject"]["evidence_id"] == mine))

    def verify_job(self) -> str:
        """A verify job (the running one, or a new one)."""
        job, _ = self.world.client.app.state.services.verify_jobs.start(  # type: ignore[attr-defined]
            self.user("auditor"), False)
        return str(job.id)

    def fresh_case(self) -> str:
        return create_case(self.world.home.custody_log(), self.user("case_officer"), "Fare dodging",
                           f"F-{uuid.uuid4().hex[:8]}").id


Prepare = Callable[[Context], tuple[str, dict[str, Any] | None]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str  # as in the OpenAPI document
    allowed: Mapping[Role, Reach]  # per role, what a user must be to the target; absent: refused
    prepare: Prepare
    success: int = 200
    public: bool = False  # answers without credentials: signing in is its job
    cookie: bool = False  # called with the user's browser session, not their bearer token

    def allows(self, name: str) -> bool:
        member = USERS[name]
        reach = self.allowed.get(member.role)
        return reach is Reach.ANY or reach in REACHES.get(name, frozenset())


def fixed(path: str, body: dict[str, Any] | None = None) -> Prepare:
    return lambda ctx: (path.format(mine=ctx.world.evidence["mine"], case=ctx.case_id,
                                    rec=ctx.recording_id), body)


def attached(ctx: Context) -> tuple[str, None]:
    evidence_id = ctx.fresh_evidence()
    attach_evidence(ctx.world.home.custody_log(), ctx.world.home.object_store(), ctx.user("admin"),
                    ctx.case_id, evidence_id)
    return f"{API}/cases/{ctx.case_id}/evidence/{evidence_id}", None


def with_previews(ctx: Context) -> str:
    """Officer 100234's video with a poster and a strip, as ingest records them."""
    data = uuid.uuid4().bytes * 8
    return add_evidence(ctx.world.home, f"P_{OFFICER_NO}_{uuid.uuid4().hex[:6]}.MP4", data,
                        officer_no=OFFICER_NO, device="ZFY0001", start=T0, unit=NORTH_UNIT,
                        playback=b"copy", extra={"poster.jpg": b"\xff\xd8poster",
                                                 "strip.jpg": b"\xff\xd8strip"})


def preview(name: str) -> Prepare:
    return lambda ctx: (f"{API}/evidence/{ctx.on_case('previews', lambda: with_previews(ctx))}"
                        f"/{name}", None)


def photo(ctx: Context) -> tuple[str, None]:
    evidence_id = ctx.on_case("photo", lambda: ctx.world.evidence["photo"])
    return f"{API}/evidence/{evidence_id}/photo?reason=report", None


def export_path(suffix: str) -> Prepare:
    return lambda ctx: (f"{API}/cases/{ctx.case_id}/exports/{ctx.finished_export()}{suffix}",
                        None)


def held(ctx: Context) -> tuple[str, None]:
    evidence_id = ctx.fresh_evidence()
    change_legal_hold(ctx.world.home.custody_log(), ctx.world.home.object_store(),
                      ctx.user("admin"), evidence_id, True, "court order 12")
    return f"{API}/evidence/{evidence_id}/hold?reason=order+lifted", None


def assigned(ctx: Context) -> tuple[str, None]:
    name = ctx.fresh_user()
    assign_officer(ctx.world.home.custody_log(), ctx.user("admin"), ctx.case_id, name)
    return f"{API}/cases/{ctx.case_id}/officers/{name}", None


OF, CO, R, AU, AD = Role.OFFICER, Role.CASE_OFFICER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN
CL = Role.CLERK  # a station clerk: the station screen, /me, the checkpoint and the key only
READ_FOOTAGE = {OF: Reach.OWN, CO: Reach.UNIT, R: Reach.SENT, AU: Reach.SCOPE, AD: Reach.AGENCY}
PLAY_FOOTAGE = {OF: Reach.OWN, CO: Reach.UNIT, R: Reach.SENT, AD: Reach.AGENCY}
ORIGINALS = {CO: Reach.MANAGED, R: Reach.SENT, AD: Reach.AGENCY}
OWNER_ADMIN = {AD: Reach.OWNED}
READ_CASE = {CO: Reach.MANAGED, R: Reach.SENT, AU: Reach.SCOPE, AD: Reach.AGENCY}
MANAGE_CASE = {CO: Reach.MANAGED, AD: Reach.AGENCY}
EXPORT_CASE = {CO: Reach.MANAGED, R: Reach.SENT, AD: Reach.AGENCY}
CASE_ADMIN = {AD: Reach.AGENCY}
LOG_WIDE = {AU: Reach.STAR}
LISTS = {role: Reach.ANY for role in Role if role is not CL}  # 200 to every role holding the
# right (a clerk sees no footage); their content is scoped
STATIONS = {OF: Reach.ANY, AU: Reach.ANY, AD: Reach.ANY, CL: Reach.ANY}  # content is scoped
STAFF = {CO: Reach.ANY, R: Reach.ANY, AU: Reach.ANY, AD: Reach.ANY}

MATRIX = [
    Endpoint("GET", "/evidence", LISTS, fixed(f"{API}/evidence")),
    Endpoint("GET", "/evidence/{evidence_id}", READ_FOOTAGE, fixed(f"{API}/evidence/{{mine}}")),
    Endpoint("GET", "/evidence/{evidence_id}/playback", PLAY_FOOTAGE,
             fixed(f"{API}/evidence/{{mine}}/playback?reason=review")),
    Endpoint("GET", "/evidence/{evidence_id}/original", ORIGINALS,
             fixed(f"{API}/evidence/{{mine}}/original?reason=court")),
    Endpoint("GET", "/evidence/{evidence_id}/photo", PLAY_FOOTAGE, photo),
    Endpoint("GET", "/evidence/{evidence_id}/poster", PLAY_FOOTAGE, preview("poster")),
    Endpoint("GET", "/evidence/{evidence_id}/strip", PLAY_FOOTAGE, preview("strip")),
    Endpoint("POST", "/evidence/{evidence_id}/hold", OWNER_ADMIN,
             lambda ctx: (f"{API}/evidence/{ctx.fresh_evidence()}/hold", {"reason": "court order"})),
    Endpoint("DELETE", "/evidence/{evidence_id}/hold", OWNER_ADMIN, held),
    Endpoint("POST", "/evidence/{evidence_id}/grants", OWNER_ADMIN,
             lambda ctx: (f"{API}/evidence/{ctx.fresh_evidence()}/grants",
                          {"case_id": ctx.south_case_id, "reason": "joint operation"}), 201),
    Endpoint("POST", "/retention", {AD: Reach.ANY}, fixed(f"{API}/retention", {"dry_run": True})),
    Endpoint("GET", "/recordings", LISTS, fixed(f"{API}/recordings")),
    Endpoint("GET", "/recordings/{recording_id}", READ_FOOTAGE, fixed(f"{API}/recordings/{{rec}}")),
    Endpoint("GET", "/recordings/{recording_id}/playback", PLAY_FOOTAGE,
             fixed(f"{API}/recordings/{{rec}}/playback")),
    Endpoint("GET", "/recordings/{recording_id}/export", PLAY_FOOTAGE,
             fixed(f"{API}/recordings/{{rec}}/export?reason=court")),
    Endpoint("POST", "/cases", {CO: Reach.ANY, AD: Reach.ANY},
             lambda ctx: (f"{API}/cases", {"title": "Theft at 5th St",
                                           "number": f"C-{uuid.uuid4().hex[:8]}"}), 201),
    Endpoint("GET", "/cases", STAFF, fixed(f"{API}/cases")),
    Endpoint("GET", "/cases/{case_id}", READ_CASE, fixed(f"{API}/cases/{{case}}")),
    Endpoint("POST", "/cases/{case_id}/evidence", MANAGE_CASE,
             lambda ctx: (f"{API}/cases/{ctx.case_id}/evidence",
                          {"evidence_id": ctx.fresh_evidence()}), 201),
    Endpoint("DELETE", "/cases/{case_id}/evidence/{evidence_id}", MANAGE_CASE, attached, 204),
    # the same route, several items at once (the matrix keys endpoints by route, so this one
    # is checked by test_attaching_several_follows_the_matrix below)
    Endpoint("POST", "/cases/{case_id}/officers", MANAGE_CASE,
             lambda ctx: (f"{API}/cases/{ctx.case_id}/officers", {"user": ctx.fresh_user()})),
    Endpoint("DELETE", "/cases/{case_id}/officers/{name}", CASE_ADMIN, assigned),
    Endpoint("POST", "/cases/{case_id}/review", MANAGE_CASE,
             lambda ctx: (f"{API}/cases/{ctx.fresh_case()}/review", None)),
    Endpoint("GET", "/cases/{case_id}/export", EXPORT_CASE,
             fixed(f"{API}/cases/{{case}}/export?reason=court")),
    Endpoint("POST", "/cases/{case_id}/exports", EXPORT_CASE,
             fixed(f"{API}/cases/{{case}}/exports", {"reason": "court"}), 202),
    Endpoint("GET", "/cases/{case_id}/exports", EXPORT_CASE, fixed(f"{API}/cases/{{case}}/exports")),
    Endpoint("GET", "/cases/{case_id}/exports/{export_id}", EXPORT_CASE, export_path("")),
    Endpoint("GET", "/cases/{case_id}/exports/{export_id}/download", EXPORT_CASE,
             export_path("/download?reason=court")),
    Endpoint("GET", "/custody/checkpoint", EVERYONE, fixed(f"{API}/custody/checkpoint")),
    # the matrix's log has no witness: an allowed role gets the 404 that says so
    Endpoint("GET", "/custody/checkpoint/cosigned", EVERYONE,
             fixed(f"{API}/custody/checkpoint/cosigned"), 404),
    Endpoint("GET", "/custody/key", EVERYONE, fixed(f"{API}/custody/key")),
    Endpoint("GET", "/custody/entries", LOG_WIDE, fixed(f"{API}/custody/entries?limit=5")),
    Endpoint("GET", "/custody/proof/inclusion", LOG_WIDE,
             fixed(f"{API}/custody/proof/inclusion?index=0")),
    Endpoint("GET", "/custody/proof/consistency", LOG_WIDE,
             lambda ctx: (f"{API}/custody/proof/consistency?old="
                          f"{ctx.world.home.custody_log().checkpoints()[0].size}", None)),
    Endpoint("GET", "/verify", LOG_WIDE, fixed(f"{API}/verify")),
    Endpoint("GET", "/me", EVERYONE, fixed(f"{API}/me")),
    # lists answer every admin (or staff member); their content is their agency's
    Endpoint("GET", "/users", {AD: Reach.ANY}, fixed(f"{API}/users")),
    Endpoint("POST", "/users", CASE_ADMIN,
             lambda ctx: (f"{API}/users", {"name": f"n-{uuid.uuid4().hex[:8]}", "role": "reviewer",
                                           "unit": NORTH_UNIT}), 201),
    Endpoint("DELETE", "/users/{name}", CASE_ADMIN,
             lambda ctx: (f"{API}/users/{ctx.fresh_user(Role.REVIEWER)}", None)),
    # the user themselves may renew their own token too (test_api_tokens.py)
    Endpoint("POST", "/users/{name}/token", CASE_ADMIN,
             lambda ctx: (f"{API}/users/{ctx.fresh_user(Role.REVIEWER)}/token", None)),
    Endpoint("PUT", "/users/{name}/password", CASE_ADMIN,
             lambda ctx: (f"{API}/users/{ctx.fresh_user(Role.REVIEWER)}/password",
                          {"password": "correct horse battery"})),
    Endpoint("POST", "/users/{name}/unlock", CASE_ADMIN,
             lambda ctx: (f"{API}/users/{ctx.locked_user()}/unlock", None)),
    # sign-in: public, or the caller's own browser session
    Endpoint("POST", "/session", EVERYONE, lambda ctx: (f"{API}/session", ctx.signer()),
             public=True),
    Endpoint("GET", "/session", EVERYONE, fixed(f"{API}/session"), cookie=True),
    Endpoint("DELETE", "/session", EVERYONE, fixed(f"{API}/session"), 204, public=True,
             cookie=True),
    Endpoint("GET", "/session/providers", EVERYONE, fixed(f"{API}/session/providers"),
             public=True),
    # single sign-on is not set up in this world (404 for anyone); tests/test_oidc.py runs it
    # against a real provider
    Endpoint("GET", "/auth/oidc/login", EVERYONE, fixed("/auth/oidc/login"), 404, public=True),
    Endpoint("GET", "/auth/oidc/callback", EVERYONE, fixed("/auth/oidc/callback?state=s&code=c"),
             404, public=True),
    Endpoint("GET", "/devices", STAFF, fixed(f"{API}/devices")),
    Endpoint("POST", "/devices", CASE_ADMIN,
             lambda ctx: (f"{API}/devices", {"serial": f"ZFY{uuid.uuid4().hex[:8]}",
                                             "officer_no": OFFICER_NO, "unit": NORTH_UNIT}), 201),
    Endpoint("GET", "/agencies", {AD: Reach.ANY}, fixed(f"{API}/agencies")),
    Endpoint("POST", "/agencies", CASE_ADMIN,
             lambda ctx: (f"{API}/agencies", {"code": f"a-{uuid.uuid4().hex[:8]}",
                                              "name": "呼和浩特市公安局", "level": "city",
                                              "parent": NORTH}), 201),
    Endpoint("GET", "/units", {AD: Reach.ANY}, fixed(f"{API}/units")),
    Endpoint("PUT", "/agencies/{code}/case-number-rule", CASE_ADMIN,
             fixed(f"{API}/agencies/{NORTH}/case-number-rule", {"pattern": None, "rule": None})),
    Endpoint("GET", "/case-number-rule", EVERYONE, fixed(f"{API}/case-number-rule")),
    # the official calendar is region-wide: any admin lists it; an admin of a region-level
    # agency enters a year (north and south both are; tests/test_calendar_admin.py refuses a
    # city agency's admin)
    Endpoint("GET", "/calendar/years", {AD: Reach.ANY}, fixed(f"{API}/calendar/years")),
    Endpoint("PUT", "/calendar/years/{year}", {AD: Reach.ANY}, fixed(
        f"{API}/calendar/years/2030", {"notice": "测试通知", "holidays": ["2030-01-01"],
                                       "workdays": []})),
    Endpoint("GET", "/stations", STATIONS, fixed(f"{API}/stations")),
    Endpoint("GET", "/stations/events", STATIONS, fixed(f"{API}/stations/events")),
    Endpoint("POST", "/units", CASE_ADMIN,
             lambda ctx: (f"{API}/units", {"code": f"u-{uuid.uuid4().hex[:8]}", "agency": NORTH,
                                           "name": "新城区大队"}), 201),
    # audit: events filtered, proofs explained, checkpoint history, verify jobs
    Endpoint("GET", "/evidence/{evidence_id}/events", READ_FOOTAGE,
             fixed(f"{API}/evidence/{{mine}}/events?type=evidence:file:ingested")),
    Endpoint("GET", "/cases/{case_id}/events", READ_CASE,
             fixed(f"{API}/cases/{{case}}/events?order=newest")),
    Endpoint("GET", "/custody/events", LOG_WIDE, fixed(f"{API}/custody/events?limit=5")),
    Endpoint("GET", "/custody/entries/{index}/proof", READ_FOOTAGE,
             lambda ctx: (f"{API}/custody/entries/{ctx.ingest_seq()}/proof", None)),
    Endpoint("GET", "/custody/checkpoints", {R: Reach.ANY, AU: Reach.ANY},
             fixed(f"{API}/custody/checkpoints?limit=3")),
    Endpoint("GET", "/custody/checkpoints/consistency", {R: Reach.ANY, AU: Reach.ANY},
             fixed(f"{API}/custody/checkpoints/consistency?old=1&new=2")),
    Endpoint("POST", "/verify/jobs", LOG_WIDE, fixed(f"{API}/verify/jobs", {}), 202),
    Endpoint("GET", "/verify/jobs", LOG_WIDE, fixed(f"{API}/verify/jobs")),
    Endpoint("GET", "/verify/jobs/{job_id}", LOG_WIDE,
             lambda ctx: (f"{API}/verify/jobs/{ctx.verify_job()}", None)),
    # administration: users, recorders, holds
    Endpoint("PATCH", "/users/{name}", CASE_ADMIN,
             lambda ctx: (f"{API}/users/{ctx.fresh_user(Role.REVIEWER)}",
                          {"role": "case_officer"})),
    # the user themselves may end their own token too (test_admin_entry_points.py)
    Endpoint("DELETE", "/users/{name}/token", CASE_ADMIN,
             lambda ctx: (f"{API}/users/{ctx.fresh_user(Role.REVIEWER)}/token", None)),
    Endpoint("PATCH", "/devices/{serial}", CASE_ADMIN,
             lambda ctx: (f"{API}/devices/{ctx.fresh_device()}", {"officer_no": "100299"})),
    Endpoint("DELETE", "/devices/{serial}", CASE_ADMIN,
             lambda ctx: (f"{API}/devices/{ctx.fresh_device()}?reason=lost+on+patrol", None)),
    Endpoint("GET", "/holds", {AD: Reach.ANY}, fixed(f"{API}/holds")),
]


# --- enforcement actions, documents and the legal review (cases/actions.py, legal_review.py) ---

def _matter(ctx: Context) -> str:
    if "matter" not in ctx.made:
        ctx.made["matter"] = add_matter(ctx.world.home.custody_log(), operator("test"), NORTH,
                                        "无证经营处罚", "第十三条", "一般程序", 90, "复议").id
        add_certificate(ctx.world.home.custody_log(), operator("test"), "case_officer",
                        "RBAC-1", "north", date(2020, 1, 1), date(2030, 1, 1))
    return ctx.made["matter"]


def _action(ctx: Context, with_materials: bool = False) -> str:
    """A fresh inspection (never major) on north's case."""
    action = open_action(ctx.world.home.custody_log(), operator("test"), ctx.case_id,
                         ActionKind.INSPECTION, _matter(ctx), Party(PartyKind.PERSON, "张三"),
                         False, date(2024, 3, 16)).id
    if with_materials:
        set_materials(ctx.world.home.custody_log(), operator("test"), action, _draft(ctx), [],
                      {})
    return action


def _draft(ctx: Context) -> str:
    if "draft" not in ctx.made:
        ctx.made["draft"] = add_document(
            ctx.world.home.custody_log(), ctx.world.home.object_store(), operator("test"),
            ctx.case_id, "决定书.pdf", DocumentKind.DRAFT_DECISION, b"%PDF-1.7 draft").evidence_id
    return ctx.made["draft"]


def _packet(ctx: Context, opinion: Opinion | None = None, contested: bool = False) -> str:
    log = ctx.world.home.custody_log()
    packet = submit(log, ctx.world.home.object_store(), ctx.world.home.verifier(),
                    operator("test"), _action(ctx, with_materials=True)).id
    if opinion is not None:
        result = "pass" if opinion is Opinion.PASS else "fail"
        record_opinion(log, operator("test"), packet, opinion, "意见",
                       {point: {"result": result} for point in CHECKLIST})
    if contested:
        contest(log, operator("test"), packet, "不同意")
    return packet


def _advice(ctx: Context) -> str:
    """``packet_id/advice/advice_id`` of a fresh request for advice."""
    packet = _packet(ctx)
    asked = request_advice(ctx.world.home.custody_log(), operator("test"), packet,
                           AdviserKind.LEGAL_ADVISER, "是否合法？")
    return f"{packet}/advice/{asked.id}"


def _decided(ctx: Context) -> str:
    action = _action(ctx, with_materials=True)
    decide(ctx.world.home.custody_log(), operator("test"), action)
    return action


def _checklist() -> dict[str, Any]:
    return {point: {"result": "pass"} for point in CHECKLIST}


ENFORCEMENT = [
    Endpoint("GET", "/matters", STAFF, fixed(f"{API}/matters")),
    Endpoint("POST", "/matters", CASE_ADMIN, lambda ctx: (f"{API}/matters", {
        "agency": NORTH, "name": f"事项 {uuid.uuid4().hex[:8]}", "legal_basis": "第一条",
        "procedure": "简易程序", "time_limit_days": 30, "remedy": "复议"}), 201),
    Endpoint("PATCH", "/matters/{matter_id}", CASE_ADMIN, lambda ctx: (
        f"{API}/matters/{add_matter(ctx.world.home.custody_log(), operator('test'), NORTH, f'事项 {uuid.uuid4().hex[:8]}', '第一条', '简易程序', 30, '复议').id}",  # noqa: E501
        {"time_limit_days": 60})),
    Endpoint("POST", "/certificates", CASE_ADMIN, lambda ctx: (f"{API}/certificates", {
        "user": ctx.fresh_user(), "number": f"C-{uuid.uuid4().hex[:10]}", "issuing_body": "政府",
        "valid_from": "2024-01-01", "valid_to": "2026-01-01"}), 201),
    Endpoint("GET", "/users/{name}/certificates", CASE_ADMIN,
             lambda ctx: (f"{API}/users/{ctx.fresh_user()}/certificates", None)),
    Endpoint("POST", "/cases/{case_id}/actions", MANAGE_CASE, lambda ctx: (
        f"{API}/cases/{ctx.case_id}/actions", {
            "kind": "inspection", "matter_id": _matter(ctx), "action_date": "2024-03-16",
            "party": {"kind": "organisation", "name": "某公司"}}), 201),
    Endpoint("GET", "/cases/{case_id}/actions", READ_CASE, fixed(f"{API}/cases/{{case}}/actions")),
    Endpoint("GET", "/actions/{action_id}", READ_CASE,
             lambda ctx: (f"{API}/actions/{_action(ctx)}", None)),
    Endpoint("PUT", "/actions/{action_id}/officers", MANAGE_CASE,
             lambda ctx: (f"{API}/actions/{_action(ctx)}/officers", {"officers": ["case_officer"]})),
    Endpoint("POST", "/cases/{case_id}/documents", MANAGE_CASE, lambda ctx: (
        f"{API}/cases/{ctx.case_id}/documents", {
            "name": "笔录.pdf", "kind": "transcript",
            "content_base64": base64.b64encode(b"%PDF-" + uuid.uuid4().bytes).decode()}), 201),
    Endpoint("GET", "/cases/{case_id}/documents", READ_CASE,
             fixed(f"{API}/cases/{{case}}/documents")),
    Endpoint("PUT", "/agencies/{agency}/major-catalogue", CASE_ADMIN, fixed(
        f"{API}/agencies/{NORTH}/major-catalogue",
        {"rules": [{"kind": "penalty", "fine_at_least": 10000}]})),
    Endpoint("POST", "/actions/{action_id}/major", MANAGE_CASE,
             lambda ctx: (f"{API}/actions/{_action(ctx)}/major", {"reason": "公共利益"}), 204),
    Endpoint("PUT", "/actions/{action_id}/materials", MANAGE_CASE,
             lambda ctx: (f"{API}/actions/{_action(ctx)}/materials", {"draft": _draft(ctx)})),
    Endpoint("POST", "/actions/{action_id}/reviews", MANAGE_CASE,
             lambda ctx: (f"{API}/actions/{_action(ctx, with_materials=True)}/reviews", None),
             201),
    Endpoint("GET", "/actions/{action_id}/reviews", READ_CASE,
             lambda ctx: (f"{API}/actions/{_action(ctx)}/reviews", None)),
    Endpoint("GET", "/reviews", {R: Reach.ANY}, fixed(f"{API}/reviews")),
    Endpoint("POST", "/reviews/{packet_id}/opinion", {R: Reach.SENT}, lambda ctx: (
        f"{API}/reviews/{_packet(ctx)}/opinion",
        {"opinion": "pass", "reasons": "同意", "checklist": _checklist()})),
    Endpoint("POST", "/reviews/{packet_id}/contest", MANAGE_CASE, lambda ctx: (
        f"{API}/reviews/{_packet(ctx, Opinion.FAIL)}/contest", {"reason": "不同意"})),
    Endpoint("POST", "/reviews/{packet_id}/ruling", CASE_ADMIN, lambda ctx: (
        f"{API}/reviews/{_packet(ctx, Opinion.FAIL, contested=True)}/ruling",
        {"upheld": True, "reason": "维持"})),
    Endpoint("POST", "/reviews/{packet_id}/approval", CASE_ADMIN, lambda ctx: (
        f"{API}/reviews/{_packet(ctx, Opinion.PASS)}/approval", None)),
    Endpoint("POST", "/actions/{action_id}/decision", MANAGE_CASE, lambda ctx: (
        f"{API}/actions/{_action(ctx, with_materials=True)}/decision", None), 204),
    Endpoint("GET", "/agencies/{agency}/review-materials", STAFF,
             fixed(f"{API}/agencies/{NORTH}/review-materials")),
    Endpoint("PUT", "/agencies/{agency}/review-materials", CASE_ADMIN, fixed(
        f"{API}/agencies/{NORTH}/review-materials",
        {"requirements": {"inspection": [{"name": "决定书", "kinds": ["draft_decision"]}]}})),
    Endpoint("POST", "/reviews/{packet_id}/advice", {R: Reach.SENT}, lambda ctx: (
        f"{API}/reviews/{_packet(ctx)}/advice",
        {"adviser_kind": "legal_adviser", "question": "是否超越职权？"}), 201),
    Endpoint("PUT", "/reviews/{packet_id}/advice/{advice_id}", {R: Reach.SENT},
             lambda ctx: (f"{API}/reviews/{_advice(ctx)}",
                          {"adviser": "李律师", "opinion": "合法", "given_on": "2024-03-16"})),
    Endpoint("POST", "/actions/{action_id}/service", MANAGE_CASE, lambda ctx: (
        f"{API}/actions/{_decided(ctx)}/service",
        {"served_on": "2024-03-16", "method": "post", "recipient": "张三"}), 201),
    Endpoint("GET", "/actions/{action_id}/service", READ_CASE,
             lambda ctx: (f"{API}/actions/{_decided(ctx)}/service", None)),
    Endpoint("GET", "/reviews/{packet_id}/bundle", EXPORT_CASE,
             lambda ctx: (f"{API}/reviews/{_packet(ctx)}/bundle", None)),
    # what the review pages read (cases/review_lists.py)
    Endpoint("GET", "/actions/{action_id}/review-state", READ_CASE,
             lambda ctx: (f"{API}/actions/{_action(ctx, with_materials=True)}/review-state", None)),
    Endpoint("GET", "/reviews/{packet_id}", READ_CASE,
             lambda ctx: (f"{API}/reviews/{_packet(ctx)}", None)),
    Endpoint("GET", "/approvals", {AD: Reach.ANY}, fixed(f"{API}/approvals")),
]
MATRIX += ENFORCEMENT


# --- redacted copies for publication (cases/redactions.py) --------------------------------

def _redaction_photo(ctx: Context) -> str:
    """A photo with a face, on north's case."""
    return ctx.on_case("redaction-photo", lambda: add_evidence(
        ctx.world.home, f"P_{OFFICER_NO}_0001.JPG", face_photo_bytes(), officer_no=OFFICER_NO,
        device="ZFY0001", start=T0, kind="image", unit=NORTH_UNIT))


def _redaction(ctx: Context, fresh: bool = False) -> str:
    """A redacted copy of that photo asked for by the operator (one box, no face search:
    cheap), awaiting approval; made once per context unless ``fresh``."""
    if fresh or "redaction" not in ctx.made:
        ctx.made["redaction"] = request_redaction(
            ctx.world.home.custody_log(), ctx.world.home.object_store(), redaction_tools(),
            operator("test"), _redaction_photo(ctx), ctx.case_id,
            RedactionSettings(faces=False, boxes=(ManualBox(Box(0, 0, 20, 20)),)), "公示").id
    return ctx.made["redaction"]


READ_REDACTION = {CO: Reach.MANAGED, R: Reach.OF_AGENCY, AD: Reach.AGENCY}
REDACTIONS = [
    Endpoint("POST", "/redactions", MANAGE_CASE, lambda ctx: (f"{API}/redactions", {
        "evidence_id": _redaction_photo(ctx), "case_id": ctx.case_id, "reason": "公示",
        "faces": False, "boxes": [{"x": 0, "y": 0, "width": 20, "height": 20}]}), 201),
    Endpoint("GET", "/redactions/{redaction_id}", READ_REDACTION,
             lambda ctx: (f"{API}/redactions/{_redaction(ctx)}", None)),
    Endpoint("GET", "/cases/{case_id}/redactions", READ_REDACTION,
             fixed(f"{API}/cases/{{case}}/redactions")),
    Endpoint("GET", "/redactions/{redaction_id}/file", READ_REDACTION,
             lambda ctx: (f"{API}/redactions/{_redaction(ctx)}/file?reason=check", None)),
    Endpoint("POST", "/redactions/{redaction_id}/decision", {R: Reach.OF_AGENCY}, lambda ctx: (
        f"{API}/redactions/{_redaction(ctx, fresh=True)}/decision", {"approve": True})),
]
MATRIX += REDACTIONS
# --- publication of decisions (cases/publication.py) -------------------------------------------

def _publication(ctx: Context, stage: str = "draft") -> str:
    """A fresh decision's publication record on north's case, taken to ``stage``: draft,
    filled (conclusion and number written), confirmed, published, or changed (published, then
    edited and confirmed again)."""
    log, op = ctx.world.home.custody_log(), operator("test")
    action = _decided(ctx)
    with ctx.world.home.engine().connect() as conn:
        pid = str(conn.execute(select(tables.publications.c.id).where(
            tables.publications.c.action_id == action)).scalar_one())
    steps = ["filled", "confirmed", "published", "changed"]
    for step in steps[:steps.index(stage) + 1] if stage in steps else []:
        if step == "filled":
            edit(log, op, pid, {"conclusion": "责令改正", "document_number": "北检字1号"})
        elif step == "confirmed":
            confirm(log, op, pid)
        elif step == "published":
            publish_decision(log, op, pid)
        else:
            edit(log, op, pid, {"document_number": "北检字2号"})
            confirm(log, op, pid)
    return pid


DECISIONS = [
    Endpoint("GET", "/publications", STAFF, fixed(f"{API}/publications")),
    Endpoint("GET", "/notices", EVERYONE, fixed(f"{API}/notices")),
    Endpoint("GET", "/publications/{publication_id}", READ_CASE,
             lambda ctx: (f"{API}/publications/{_publication(ctx)}", None)),
    Endpoint("GET", "/actions/{action_id}/publication", READ_CASE,
             lambda ctx: (f"{API}/actions/{_decided(ctx)}/publication", None)),
    Endpoint("PATCH", "/publications/{publication_id}", MANAGE_CASE, lambda ctx: (
        f"{API}/publications/{_publication(ctx)}", {"conclusion": "罚款200元"})),
    Endpoint("POST", "/publications/{publication_id}/confirm", MANAGE_CASE, lambda ctx: (
        f"{API}/publications/{_publication(ctx, 'filled')}/confirm", None)),
    Endpoint("POST", "/publications/{publication_id}/publish", MANAGE_CASE, lambda ctx: (
        f"{API}/publications/{_publication(ctx, 'confirmed')}/publish", None)),
    Endpoint("POST", "/publications/{publication_id}/update", MANAGE_CASE, lambda ctx: (
        f"{API}/publications/{_publication(ctx, 'changed')}/update", {"reason": "文号有误"})),
    Endpoint("POST", "/publications/{publication_id}/revoke", MANAGE_CASE, lambda ctx: (
        f"{API}/publications/{_publication(ctx, 'published')}/revoke", {"reason": "复议撤销"})),
]
MATRIX += DECISIONS


def _inspection(ctx: Context) -> str:
    return add_inspection(ctx.world.home.custody_log(), operator("test"), NORTH,
                          name=f"抽查 {uuid.uuid4().hex[:8]}", basis="条例", subject="商户",
                          method="现场检查", frequency="5%").id


def _guide(ctx: Context) -> str:
    return add_guide(ctx.world.home.custody_log(), operator("test"), NORTH,
                     matter_id=_matter(ctx), title="指南", body="第一步").id


def _published_inspection(ctx: Context) -> str:
    item = _inspection(ctx)
    publish(ctx.world.home.custody_log(), operator("test"), ListKind.INSPECTIONS, item)
    return item


INSPECTION = {"name": "抽查", "basis": "条例", "subject": "商户", "method": "现场", "frequency": "5%"}
PUBLICATION = [  # an agency's admins keep its public lists (cases/public_lists, public_entries)
    Endpoint("GET", "/agencies/{agency}/inspections", CASE_ADMIN,
             fixed(f"{API}/agencies/{NORTH}/inspections")),
    Endpoint("POST", "/agencies/{agency}/inspections", CASE_ADMIN,
             fixed(f"{API}/agencies/{NORTH}/inspections", INSPECTION), 201),
    Endpoint("PATCH", "/inspections/{item_id}", CASE_ADMIN, lambda ctx: (
        f"{API}/inspections/{_inspection(ctx)}", {"frequency": "10%"})),
    Endpoint("DELETE", "/inspections/{item_id}", CASE_ADMIN, lambda ctx: (
        f"{API}/inspections/{_inspection(ctx)}", None), 204),
    Endpoint("GET", "/agencies/{agency}/guides", CASE_ADMIN,
             fixed(f"{API}/agencies/{NORTH}/guides")),
    Endpoint("POST", "/agencies/{agency}/guides", CASE_ADMIN, lambda ctx: (
        f"{API}/agencies/{NORTH}/guides", {"matter_id": _matter(ctx), "title": "指南",
                                           "body": "第一步\n第二步"}), 201),
    Endpoint("PATCH", "/guides/{guide_id}", CASE_ADMIN, lambda ctx: (
        f"{API}/guides/{_guide(ctx)}", {"title": "新指南"})),
    Endpoint("DELETE", "/guides/{guide_id}", CASE_ADMIN, lambda ctx: (
        f"{API}/guides/{_guide(ctx)}", None), 204),
    Endpoint("GET", "/agencies/{agency}/publication/{list_name}", CASE_ADMIN,
             fixed(f"{API}/agencies/{NORTH}/publication/matters")),
    Endpoint("POST", "/publication/{list_name}/{entry_id}", CASE_ADMIN, lambda ctx: (
        f"{API}/publication/inspections/{_inspection(ctx)}", {})),
    Endpoint("POST", "/publication/{list_name}/{entry_id}/withdraw", CASE_ADMIN, lambda ctx: (
        f"{API}/publication/inspections/{_published_inspection(ctx)}/withdraw",
        {"reason": "过时"}), 204),
]
MATRIX += PUBLICATION

_CALLS = itertools.count()  # each publish call takes another year: a fresh one in a test
ANNUAL = f"{API}/agencies/{NORTH}/annual-reports/2023"
ANNUAL_REPORT = [  # the annual statistics (cases/annual_report.py)
    Endpoint("GET", "/agencies/{agency}/annual-reports/{year}", {AU: Reach.SCOPE, AD: Reach.AGENCY},
             fixed(ANNUAL)),
    Endpoint("GET", "/agencies/{agency}/annual-reports/{year}/csv",
             {AU: Reach.SCOPE, AD: Reach.AGENCY}, fixed(f"{ANNUAL}/csv")),
    Endpoint("GET", "/agencies/{agency}/annual-reports/{year}/pdf",
             {AU: Reach.SCOPE, AD: Reach.AGENCY}, fixed(f"{ANNUAL}/pdf")),
    Endpoint("POST", "/agencies/{agency}/annual-reports/{year}/publish", CASE_ADMIN,
             lambda ctx: (f"{API}/agencies/{NORTH}/annual-reports/{2023 - next(_CALLS) % 23}/publish", None)),
    Endpoint("GET", "/annual-reports/due", {AU: Reach.ANY, AD: Reach.ANY},
             fixed(f"{API}/annual-reports/due")),
]
MATRIX += ANNUAL_REPORT


@pytest.fixture
def context(world: World, clips: list[bytes]) -> Context:
    """North's case (unit n1) holds "mine" and a recording and is sent for review; south has
    a case of its own (a grant's far side)."""
    log, store = world.home.custody_log(), world.home.object_store()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    case = create_case(log, manager, "Assault on platform 2", "2024-0042")
    attach_evidence(log, store, manager, case.id, world.evidence["mine"])
    recording_id, segments = add_recording(world, clips)
    for segment in segments:
        attach_evidence(log, store, manager, case.id, segment)
    request_review(log, manager, case.id)
    south = create_case(log, authenticate(world.home.engine(), world.tokens["south-case_officer"]),
                        "Smuggling", "S-2024-7")
    assert south.unit_code == SOUTH_UNIT
    return Context(world, case.id, south.id, recording_id, segments)


def test_matrix_covers_every_operation(world: World) -> None:
    document = world.client.get(f"{API}/openapi.json").json()
    documented = {(method.upper(), path.removeprefix(API))
                  for path, item in document["paths"].items() for method in item}
    assert documented == {(e.method, e.template) for e in MATRIX}


def test_every_user_has_a_role_and_the_matrix_has_both_answers() -> None:
    """The matrix means something: every endpoint but the public ones refuses someone, and
    each scoped endpoint is allowed to someone in scope and refused to someone out of it."""
    for endpoint in MATRIX:
        allowed = {name for name in USERS if endpoint.allows(name)}
        assert allowed, endpoint.template
        scoped = [role for role, reach in endpoint.allowed.items() if reach is not Reach.ANY]
        for role in scoped:
            of_role = {name for name, member in USERS.items() if member.role is role}
            assert of_role & allowed and of_role - allowed, (endpoint.template, role)


def _call(world: World, endpoint: Endpoint, path: str, body: dict[str, Any] | None,
          headers: dict[str, str]) -> Any:
    world.client.cookies.clear()  # only the credentials given: no cookie a sign-in left
    return world.client.request(endpoint.method, path, json=body, headers=headers)


def matrix_users(endpoint: Endpoint, turn: int, *, every: bool) -> list[str]:
    """Who asks: every user; or (``every=False``) three of them, one for each answer of the
    route: allowed, refused in a role that may (another unit, agency or case), and refused in
    a role that may not. ``turn`` picks which of each, so that the routes go round the users."""
    if every:
        return sorted(USERS)
    allowed = sorted(name for name in USERS if endpoint.allows(name))
    refused = sorted(name for name in USERS if not endpoint.allows(name))
    out_of_reach = [name for name in refused if USERS[name].role in endpoint.allowed]
    wrong_role = [name for name in refused if USERS[name].role not in endpoint.allowed]
    return [group[turn % len(group)] for group in (allowed, out_of_reach, wrong_role) if group]


def test_every_endpoint_for_every_role_and_scope(context: Context) -> None:
    """On SQLite every route as every user; on PostgreSQL, where the same scoped queries run
    on another engine, each route as three users (``matrix_users``), all of them over the
    routes."""
    world = context.world
    every = world.home.engine().dialect.name == "sqlite"
    wrong: list[str] = []
    asked: set[str] = set()
    for turn, endpoint in enumerate(MATRIX):
        for user in matrix_users(endpoint, turn, every=every):
            asked.add(user)
            allowed = endpoint.allows(user)
            if endpoint.template.endswith("/export") and allowed and not BUNDLE_AVAILABLE:
                continue  # cases/bundle.py is not there yet: see test_api_cases export test
            path, body = endpoint.prepare(context)
            headers = context.cookie_auth(user) if endpoint.cookie else world.auth(user)
            response = _call(world, endpoint, path, body, headers)
            expected = endpoint.success if allowed else 403
            if response.status_code != expected:
                wrong.append(f"{endpoint.method} {endpoint.template} as {user}: "
                             f"{response.status_code} (expected {expected}) "
                             f"{response.content[:200]!r}")
            elif expected == 403:
                error = response.json()["error"]
                assert error["code"] == "forbidden" and error["hint"], (endpoint.template, user)
    assert not wrong, "\n".join(wrong)
    assert asked == set(USERS)


def test_the_postgresql_sample_of_the_matrix_has_every_answer_of_every_route() -> None:
    for turn, endpoint in enumerate(MATRIX):
        users = matrix_users(endpoint, turn, every=False)
        assert any(endpoint.allows(user) for user in users), endpoint.template
        if any(not endpoint.allows(user) for user in USERS):
            assert any(not endpoint.allows(user) for user in users), endpoint.template
        scoped = any(reach is not Reach.ANY for reach in endpoint.allowed.values())
        if scoped:  # refused though the role may: another unit, agency or case
            assert any(not endpoint.allows(user) and USERS[user].role in endpoint.allowed
                       for user in users), endpoint.template


def test_every_endpoint_refuses_missing_unknown_and_revoked_tokens(context: Context) -> None:
    world = context.world
    revoked = world.tokens["reviewer"]
    world.client.delete(f"{API}/users/reviewer", headers=world.auth("admin")).raise_for_status()
    bad_headers = {"no token": {}, "unknown token": {"Authorization": "Bearer " + "x" * 43},
                   "revoked token": {"Authorization": f"Bearer {revoked}"},
                   "other scheme": {"Authorization": f"Basic {revoked}"}}
    wrong = []
    for endpoint in MATRIX:
        if endpoint.public:
            continue  # test_public_endpoints_need_no_credentials
        path, body = endpoint.prepare(context)
        for label, headers in bad_headers.items():
            response = _call(world, endpoint, path, body, headers)
            if response.status_code != 401 or response.headers.get("WWW-Authenticate") is None:
                wrong.append(f"{endpoint.method} {path} with {label}: {response.status_code}")
            elif response.json()["error"]["code"] != "unauthenticated":
                wrong.append(f"{endpoint.method} {path} with {label}: {response.text}")
    assert not wrong, "\n".join(wrong)


def test_public_endpoints_need_no_credentials(context: Context) -> None:
    """Signing in (and out, and finding out how) needs no token: every public endpoint gives
    its answer to a request without credentials, and to one with a bad token alike."""
    world = context.world
    public = [endpoint for endpoint in MATRIX if endpoint.public]
    assert {(e.method, e.template) for e in public} == {
        ("POST", "/session"), ("DELETE", "/session"), ("GET", "/session/providers"),
        ("GET", "/auth/oidc/login"), ("GET", "/auth/oidc/callback")}
    for endpoint in public:
        for headers in ({}, {"Authorization": "Bearer " + "x" * 43}):
            path, body = endpoint.prepare(context)
            response = _call(world, endpoint, path, body, headers)
            assert response.status_code == endpoint.success, (endpoint.template, response.text)


COOKIE_USERS = ("admin", "officer")  # allowed most, refused most


def test_the_session_cookie_works_as_a_token_and_unsafe_methods_need_its_csrf_token(
        context: Context) -> None:
    """The matrix again, for two users, with the browser session instead of the bearer
    token: the same answers; and every POST, PUT, PATCH and DELETE made with the cookie but
    without the session's CSRF token (or with another session's) is refused with code csrf
    before anything happens (the same request then succeeds with the token)."""
    world = context.world
    wrong: list[str] = []
    for user in COOKIE_USERS:
        auth, other = context.cookie_auth(user), context.cookie_auth(user)["X-CSRF-Token"]
        for endpoint in MATRIX:
            if endpoint.public or endpoint.cookie:
                continue
            allowed = endpoint.allows(user)
            if endpoint.template.endswith("/export") and allowed and not BUNDLE_AVAILABLE:
                continue
            path, body = endpoint.prepare(context)
            if endpoint.method not in ("GET", "HEAD"):
                for label, csrf in (("no", None), ("another session's", other)):
                    headers = {"Cookie": auth["Cookie"], **({"X-CSRF-Token": csrf} if csrf else {})}
                    response = _call(world, endpoint, path, body, headers)
                    if response.status_code != 403 or response.json()["error"]["code"] != "csrf":
                        wrong.append(f"{endpoint.method} {endpoint.template} as {user} with "
                                     f"{label} CSRF token: {response.status_code}")
            response = _call(world, endpoint, path, body, auth)
            expected = endpoint.success if allowed else 403
            if response.status_code != expected:
                wrong.append(f"{endpoint.method} {endpoint.template} as {user} by cookie: "
                             f"{response.status_code} (expected {expected}) "
                             f"{response.content[:200]!r}")
    assert not wrong, "\n".join(wrong)


def _listed(world: World, user: str, what: str) -> set[str]:
    page = world.get(user, f"{API}/{what}?limit=500").json()
    assert page["total"] == len(page["items"]), (user, what)
    return {item["id"] for item in page["items"]}


def test_lists_hold_exactly_what_each_scope_sees(context: Context) -> None:
    """Searches and lists are filtered, not refused: nothing out of scope is listed or counted."""
    world = context.world
    ev = world.evidence
    on_case = {ev["mine"], *context.segments}
    north_n1 = {ev["mine"], ev["theirs"], ev["photo"], *context.segments}
    everything = _listed(world, "auditor", "evidence")
    assert _listed(world, "reviewer", "evidence") == on_case  # the case sent for review
    assert _listed(world, "case_officer", "evidence") == north_n1
    assert _listed(world, "admin", "evidence") == north_n1 | {ev["n2"]}
    assert _listed(world, "north-auditor", "evidence") == north_n1 | {ev["n2"]}
    assert _listed(world, "n2-case_officer", "evidence") == {ev["n2"]}
    assert _listed(world, "south-admin", "evidence") == {ev["south"]}
    assert _listed(world, "south-auditor", "evidence") == {ev["south"]}
    assert _listed(world, "south-reviewer", "evidence") == set()
    assert everything == north_n1 | {ev["n2"], ev["south"]}

    north_case, south_case = context.case_id, context.south_case_id
    assert _listed(world, "auditor", "cases") == {north_case, south_case}
    for user in ("case_officer", "reviewer", "admin", "north-auditor"):
        assert _listed(world, user, "cases") == {north_case}, user
    for user in ("case_officer2", "n2-case_officer", "south-reviewer"):
        assert _listed(world, user, "cases") == set(), user
    for user in ("south-case_officer", "south-admin", "south-auditor"):
        assert _listed(world, user, "cases") == {south_case}, user

    recordings = world.get("reviewer", f"{API}/recordings").json()["items"]
    assert context.recording_id in {r["id"] for r in recordings}
    assert {s["evidence_id"] for r in recordings for s in r["segments"]} == on_case
    for user in ("south-admin", "south-auditor", "n2-case_officer", "officer2"):
        listed = {r["id"] for r in world.get(user, f"{API}/recordings").json()["items"]}
        assert context.recording_id not in listed, user


def test_officers_reach_only_their_own_footage(context: Context) -> None:
    world = context.world
    theirs = world.evidence["theirs"]
    listed = world.get("officer", f"{API}/evidence").json()
    assert listed["total"] == len(listed["items"]) > 0
    assert {item["officer_no"] for item in listed["items"]} == {OFFICER_NO}
    assert world.get("officer", f"{API}/evidence?officer=200345").json()["total"] == 0
    for suffix in ("", "/playback"):
        response = world.get("officer", f"{API}/evidence/{theirs}{suffix}")
        assert response.status_code == 403, suffix
    assert world.get("officer2", f"{API}/evidence/{theirs}/playback").status_code == 200
    assert world.get("officer2", f"{API}/recordings/{context.recording_id}/playback"
                     ).status_code == 403
    recordings = world.get("officer2", f"{API}/recordings").json()["items"]
    assert context.recording_id not in {r["id"] for r in recordings}


def test_case_officers_manage_only_their_cases(context: Context) -> None:
    world = context.world
    other = world.evidence["theirs"]
    # case_officer2 manages no case: cannot read, attach, or download originals through it
    assert world.get("case_officer2", f"{API}/cases/{context.case_id}").status_code == 403
    assert world.get("case_officer2", f"{API}/cases").json()["total"] == 0
    assert world.client.post(f"{API}/cases/{context.case_id}/evidence",
                             json={"evidence_id": other},
                             headers=world.auth("case_officer2")).status_code == 403
    mine = world.evidence["mine"]
    assert world.get("case_officer2", f"{API}/evidence/{mine}/original").status_code == 403
    # an original on no case of theirs is refused even to its case's manager
    assert world.get("case_officer", f"{API}/evidence/{other}/original").status_code == 403
    # once assigned, case_officer2 can read and manage it
    assert world.client.post(f"{API}/cases/{context.case_id}/officers",
                             json={"user": "case_officer2"},
                             headers=world.auth("case_officer")).status_code == 200
    assert world.get("case_officer2", f"{API}/cases/{context.case_id}").status_code == 200
    assert world.get("case_officer2", f"{API}/evidence/{mine}/original?reason=court"
                     ).status_code == 200
    # only case officers can be assigned, and only of the case's agency
    for name in ("reviewer", "south-case_officer"):
        response = world.client.post(f"{API}/cases/{context.case_id}/officers",
                                     json={"user": name}, headers=world.auth("admin"))
        assert response.status_code == 400
    assert world.get("south-case_officer", f"{API}/cases/{context.case_id}").status_code == 403


def test_assigning_an_officer_tells_no_one_who_exists_or_what_role_they_have(
        context: Context) -> None:
    """A user nobody has, a revoked one, a reviewer and another agency's case officer are
    refused alike: the answer says neither whether the name exists, nor its role or agency."""
    world = context.world
    assert world.client.delete(f"{API}/users/n2-case_officer",
                               headers=world.auth("admin")).status_code == 200
    refused = ("nobody-here", "n2-case_officer", "reviewer", "south-case_officer", "south-admin")
    for caller in ("case_officer", "admin"):
        answers = set()
        for name in refused:
            response = world.client.post(f"{API}/cases/{context.case_id}/officers",
                                         json={"user": name}, headers=world.auth(caller))
            assert response.status_code == 400, (caller, name, response.text)
            error = response.json()["error"]
            assert error["code"] == "invalid_request"
            assert "admin" in error["hint"]
            answers.add((error["message"].replace(name, "X"), error["hint"]))
            for leak in ("reviewer", "revoked", "south", "no active user", "grant"):
                assert leak not in (error["message"] + error["hint"]).replace(name, "X"), leak
        assert len(answers) == 1, answers
    assert world.get("case_officer", f"{API}/cases/{context.case_id}").json()["officers"] == [
        "case_officer"]


def test_an_admin_cannot_revoke_their_own_token(world: World) -> None:
    response = world.client.delete(f"{API}/users/admin", headers=world.auth("admin"))
    assert response.status_code == 403
    assert world.get("admin", f"{API}/me").json()["name"] == "admin"


DOCUMENTED_ROWS = {
    "search evidence, read its metadata and custody events": ("GET", "/evidence/{evidence_id}"),
    "play back evidence, a recording or a photo (custody event)": (
        "GET", "/evidence/{evidence_id}/playback"),
    "export a recording as one MP4 (custody event)": ("GET", "/recordings/{recording_id}/export"),
    "download an original (custody event, with a reason)": ("GET",
                                                             "/evidence/{evidence_id}/original"),
    "place or release a legal hold": ("POST", "/evidence/{evidence_id}/hold"),
    "grant footage to another unit's case (custody event)": ("POST",
                                                             "/evidence/{evidence_id}/grants"),
    "run the retention job (deletes expired footage; custody event)": ("POST", "/retention"),
    "create a case": ("POST", "/cases"),
    "list and read cases": ("GET", "/cases/{case_id}"),
    "attach, detach, assign case officers": ("POST", "/cases/{case_id}/evidence"),
    "send a case for review": ("POST", "/cases/{case_id}/review"),
    "read a decision's publication record (公示)": ("GET", "/publications/{publication_id}"),
    "edit, confirm, publish, update, revoke a publication (event)": (
        "POST", "/publications/{publication_id}/publish"),
    "remove a case officer": ("DELETE", "/cases/{case_id}/officers/{name}"),
    "export a case bundle (custody event)": ("GET", "/cases/{case_id}/export"),
    "custody checkpoint, verifier key, `/me`": ("GET", "/custody/checkpoint"),
    "custody entries, proofs, verify report": ("GET", "/verify"),
    "checkpoint history and consistency between checkpoints": ("GET", "/custody/checkpoints"),
    "list devices": ("GET", "/devices"),
    "manage users": ("POST", "/users"),
    "add and list agencies and units": ("POST", "/units"),
    "register, reassign and retire recorders": ("POST", "/devices"),
    "sign in and out (password or single sign-on); change own password": (
        "GET", "/session"),
    "station screen: docks' progress (not evidence)": ("GET", "/stations"),
    "ask for a redacted copy of an item on a case (custody event)": ("POST", "/redactions"),
    "read a redacted copy and download it (custody event)": (
        "GET", "/redactions/{redaction_id}/file"),
    "approve or refuse another's redacted copy (custody event)": (
        "POST", "/redactions/{redaction_id}/decision"),
}
# The table's words for a scope, and the matrix's reach they stand for.
CELL_REACH = {"yes": Reach.ANY, "own": Reach.OWN, "unit, managed": Reach.UNIT,
              "unit": Reach.ANY, "managed": Reach.MANAGED, "sent": Reach.SENT,
              "scope": Reach.SCOPE, "scope `*`": Reach.STAR, "agency": Reach.AGENCY,
              "owned": Reach.OWNED, "their agency": Reach.OF_AGENCY,
              # the station screen is a list: every user of the role gets it, scoped
              "own docks": Reach.ANY, "scope's": Reach.ANY, "agency's": Reach.ANY,
              "unit's": Reach.ANY}


def test_the_documented_role_table_is_what_the_matrix_tests() -> None:
    from cases.access import ROLE_TABLE

    lines = ROLE_TABLE.strip().split("\n\n")[0].splitlines()
    roles = [Role(cell.strip()) for cell in lines[0].strip("|").split("|")[1:]]
    by_route = {(e.method, e.template): dict(e.allowed) for e in MATRIX}
    rows = {}
    for line in lines[2:]:
        action, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        rows[action] = {role: CELL_REACH[cell] for role, cell in zip(roles, cells, strict=True)
                        if cell != "no"}
    assert rows.keys() == DOCUMENTED_ROWS.keys()
    for action, route in DOCUMENTED_ROWS.items():
        assert rows[action] == by_route[route], action


def test_filtering_by_a_case_needs_the_case(context: Context) -> None:
    """case_officer2 sees the unit's footage on north's case, but may not read the case: the
    case filter must not tell them which of that footage is on it."""
    world = context.world
    on_case = {world.evidence["mine"], *context.segments}
    query = f"{API}/evidence?case={context.case_id}&limit=500"
    assert {i["id"] for i in world.get("case_officer", query).json()["items"]} == on_case
    assert on_case <= _listed(world, "case_officer2", "evidence")
    assert world.get("case_officer2", query).json()["total"] == 0


def test_attaching_several_follows_the_matrix(context: Context) -> None:
    """POST /cases/{id}/evidence with `evidence_ids`: the same reach as one item."""
    world = context.world
    [endpoint] = [e for e in MATRIX if (e.method, e.template) == ("POST", "/cases/{case_id}/evidence")]
    wrong = []
    for user in sorted(USERS):
        ids = [context.fresh_evidence(), context.fresh_evidence()]
        response = world.client.post(f"{API}/cases/{context.case_id}/evidence",
                                     json={"evidence_ids": ids}, headers=world.auth(user))
        expected = 201 if endpoint.allows(user) else 403
        if response.status_code != expected:
            wrong.append(f"{user}: {response.status_code} (expected {expected}) {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
