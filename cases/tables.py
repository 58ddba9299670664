"""SQLAlchemy Core tables of the case service (migration 0004 creates exactly these).

The custody log stays the record of truth: every change to these tables is
written in the same transaction as the custody event describing it. Foreign
keys to ``evidence`` are declared in the migration only, since the catalogue
tables live in another ``MetaData``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()
DEFAULT_AGENCY = "default"  # named by migration 0009: an existing home's rows are placed here
DEFAULT_UNIT = "default"

# Enforcement agencies (执法机关) of the region, and their units (migration 0009).
agencies = Table(
    "agencies",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", String(16), nullable=False),  # region | city | county
    Column("parent_code", String(32), ForeignKey("agencies.code"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    # the agency's rule for case numbers (migration 0016): a regular expression and the rule
    # in words; NULL: the default rule (cases.organisation.DEFAULT_CASE_NUMBER_PATTERN)
    Column("case_number_pattern", Text, nullable=True),
    Column("case_number_rule", Text, nullable=True),
)

units = Table(
    "units",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
)

# A person (or service) holding one bearer token. Names are never reused, so the
# actor "user:<name>" in the custody log always means the same person.
users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("officer_no", String(64), nullable=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", String(128), nullable=True),
    Column("unit_code", String(32), ForeignKey("units.code", name="fk_users_unit_code"),
           nullable=True),
    Column("auditor_scope", String(32), nullable=True),  # auditors: an agency code, or "*"
    Column("token_expires_at", DateTime(timezone=True), nullable=False),  # migration 0010
    # migration 0011: sign-in with a password (argon2id hash only) and its lockout
    Column("password_hash", Text, nullable=True),
    Column("password_set_at", DateTime(timezone=True), nullable=True),
    Column("failed_sign_ins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
)

# A signed-in browser (migration 0011): the cookie holds a random id, this table its
# SHA-256 only. A session ends when signed out, idle too long, or at its absolute end.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False, index=True),
    Column("method", String(16), nullable=False),  # password | oidc
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
)

# A single sign-on request between the redirect to the provider and its answer
# (migration 0011): used once, and only within minutes.
oidc_requests = Table(
    "oidc_requests",
    metadata,
    Column("state_sha256", String(64), primary_key=True),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("next_path", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

cases = Table(
    "cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("unit_code", String(32), nullable=True, index=True),  # the unit that owns it
    Column("review_requested_at", DateTime(timezone=True), nullable=True),  # sent for review
    Column("review_requested_by", String(64), nullable=True),
)

# Footage of one unit made reachable on another unit's case by an admin of the
# owning agency (custody event evidence:access:granted names both sides).
evidence_grants = Table(
    "evidence_grants",
    metadata,
    Column("evidence_id", String(36), primary_key=True),  # FK to evidence in the migration
    Column("case_id", String(36), ForeignKey("cases.id"), primary_key=True),
    Column("from_unit", String(32), nullable=False),
    Column("to_unit", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("granted_by", String(128), nullable=False),
)

# Case officers who manage a case (its creator, and whoever an admin or a member adds).
case_officers = Table(
    "case_officers",
    metadata,
    Column("case_id", String(36), ForeignKey("cases.id"), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)

case_evidence = Table(
    "case_evidence",
    metadata,
    Column("case_id", String(36), ForeignKey("cases.id"), primary_key=True),
    Column("evidence_id", String(36), primary_key=True, index=True),
    Column("attached_at", DateTime(timezone=True), nullable=False),
    Column("attached_by", String(64), nullable=False),
)

# One row per viewing session; the custody event is written when a session opens.
view_sessions = Table(
    "view_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # playback | download
    Column("subject", String(80), nullable=False),  # evidence:<id> | recording:<id>
    Column("reason", Text, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("first_seq", BigInteger, nullable=False),  # the custody entry that opened it
    Index("ix_view_sessions_lookup", "user_name", "kind", "subject", "last_seen_at"),
)

# Every custody entry: which evidence item or case it names, its type, actor and time. A
# derived index, filled incrementally from the log (the entries' own bytes remain the record;
# an entry that is not valid JSON has NULLs here). Type, actor and time: migration 0014.
custody_subjects = Table(
    "custody_subjects",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("evidence_id", String(36), nullable=True, index=True),
    Column("case_id", String(36), nullable=True, index=True),
    Column("type", Text, nullable=True, index=True),
    Column("actor", Text, nullable=True, index=True),
    Column("time", DateTime(timezone=True), nullable=True),
)

# One row (id = 1): how many log entries custody_subjects has indexed.
custody_subjects_head = Table(
    "custody_subjects_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("indexed", BigInteger, nullable=False),
)

# Case exports built on the server (cases.export_jobs), with their progress; migration 0015.
export_jobs = Table(
    "export_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("requested_by", String(64), nullable=False),  # user name, or the CLI's actor
    Column("actor", String(128), nullable=False),  # as the custody events name them
    Column("include_playback", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    Column("state", String(16), nullable=False),  # queued | running | done | failed | expired
    Column("items_total", Integer, nullable=False),
    Column("items_done", Integer, nullable=False),
    Column("bytes_total", BigInteger, nullable=False),
    Column("bytes_done", BigInteger, nullable=False),
    Column("file_name", String(255), nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("manifest_sha256", String(64), nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),  # the builder's heartbeat
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # the file is deleted then
)


# Verify runs in the background (cases/verify_jobs.py, migration 0014). ``active`` is 1 while
# a job is queued or running, NULL after: unique, so one runs at a time per database.
verify_jobs = Table(
    "verify_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("state", String(16), nullable=False),  # queued | running | done | failed
    Column("active", Integer, nullable=True, unique=True),
    Column("objects", Boolean, nullable=False),  # also re-hash the stored objects
    Column("requested_by", String(128), nullable=False),  # the actor who started it
    Column("requested_at", DateTime(timezone=True), nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),  # the runner is alive
    Column("phase", String(32), nullable=True),
    Column("checked", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=True),
    Column("ok", Boolean, nullable=True),
    Column("report", Text, nullable=True),  # the report's JSON, once done
    Column("error", Text, nullable=True),  # why it failed
)


# Enforcement (migration 0022, cases/actions.py): the agency's list of enforcement matters
# (执法事项清单), officers' enforcement certificates (执法证), and enforcement actions on cases
# with their handling officers. A party's id number is kept here only (masked in events).
enforcement_matters = Table(
    "enforcement_matters",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("procedure", Text, nullable=False),
    Column("time_limit_days", Integer, nullable=False),  # working days
    Column("remedy", Text, nullable=False),  # remedy channels (救济途径)
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(128), nullable=False),
)

enforcement_certificates = Table(
    "enforcement_certificates",
    metadata,
    Column("number", String(64), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False, index=True),
    Column("issuing_body", Text, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
)

enforcement_actions = Table(
    "enforcement_actions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # licensing | penalty | compulsory | levy | inspection
    Column("matter_id", String(36), ForeignKey("enforcement_matters.id"), nullable=False),
    Column("party_kind", String(16), nullable=False),  # person | organisation
    Column("party_name", Text, nullable=False),
    Column("party_id_number", String(64), nullable=True),  # never in a custody event unmasked
    Column("on_site", Boolean, nullable=False),
    Column("action_date", Date, nullable=False),
    Column("state", String(16), nullable=False),  # draft | decided
    Column("facts", Text, nullable=True),  # JSON: fine, licence_revoked, business_closed, ...
    Column("major_reason", Text, nullable=True),  # marked major by hand, with this reason
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
)

action_officers = Table(
    "action_officers",
    metadata,
    Column("action_id", String(36), ForeignKey("enforcement_actions.id"), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), primary_key=True),
    Column("certificate_number", String(64), nullable=False),  # valid on the action's date
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)

# A case's written record (cases/documents.py, migration 0022): each document is an evidence
# item (its original, hash and custody events as footage's), on the case with its kind.
case_documents = Table(
    "case_documents",
    metadata,
    Column("case_id", String(36), ForeignKey("cases.id"), primary_key=True),
    Column("evidence_id", String(36), primary_key=True, index=True),  # FK in the migration
    Column("kind", String(32), nullable=False),  # form | transcript | notice | decision | ...
    Column("media_type", String(100), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("added_by", String(128), nullable=False),
)

# The legal review of major decisions (cases/legal_review.py, migration 0022).
major_catalogues = Table(  # the agency's catalogue of major decisions, versioned
    "major_catalogues",
    metadata,
    Column("agency_code", String(32), ForeignKey("agencies.code"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("rules", Text, nullable=False),  # canonical JSON list of rules
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
)

action_materials = Table(  # the draft decision (position 0) and the items it cites
    "action_materials",
    metadata,
    Column("action_id", String(36), ForeignKey("enforcement_actions.id"), primary_key=True),
    Column("evidence_id", String(36), primary_key=True),
    Column("position", Integer, nullable=False),
)

review_packets = Table(  # one submission, frozen: its listing and the hash over it
    "review_packets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("action_id", String(36), ForeignKey("enforcement_actions.id"), nullable=False,
           index=True),
    Column("sha256", String(64), nullable=False),
    Column("listing", Text, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("submitted_by", String(128), nullable=False),
    Column("due", Date, nullable=False),
    Column("opinion", String(16), nullable=True),  # pass | fail | return
    Column("reasons", Text, nullable=True),
    Column("checklist", Text, nullable=True),
    Column("reviewed_by", String(128), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("contested_by", String(128), nullable=True),
    Column("contest_reason", Text, nullable=True),
    Column("ruling", String(16), nullable=True),  # upheld | overturned
    Column("ruled_by", String(128), nullable=True),
    Column("ruling_reason", Text, nullable=True),
    Column("approved_by", String(128), nullable=True),
    Column("approved_at", DateTime(timezone=True), nullable=True),
    # whether every working day counted to ``due`` is on a known official calendar
    Column("due_confirmed", Boolean, nullable=False, server_default=false()),
    # set once the materials change after the submission: void for good, whatever its opinion
    Column("voided_at", DateTime(timezone=True), nullable=True),
    Column("voided_reason", Text, nullable=True),
)

review_requirements = Table(  # the materials each kind of action must submit, versioned
    "review_requirements",
    metadata,
    Column("agency_code", String(32), ForeignKey("agencies.code"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("requirements", Text, nullable=False),  # canonical JSON: kind -> list of materials
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
)

review_advice = Table(  # a legal adviser's or government lawyer's opinion on a packet
    "review_advice",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("packet_id", String(36), ForeignKey("review_packets.id"), nullable=False,
           index=True),
    Column("adviser_kind", String(32), nullable=False),  # legal_adviser | government_lawyer
    Column("question", Text, nullable=False),
    Column("requested_by", String(128), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("adviser", Text, nullable=True),  # who gave it (null: still requested)
    Column("opinion", Text, nullable=True),
    Column("given_on", Date, nullable=True),
    Column("recorded_by", String(128), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=True),
)

decision_services = Table(  # the service (送达) of an action's decision
    "decision_services",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("action_id", String(36), ForeignKey("enforcement_actions.id"), nullable=False,
           index=True),
    Column("served_on", Date, nullable=False),
    Column("method", String(16), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


# The official calendar (migration 0024, cases/calendar_admin.py): a year the chinese-calendar
# library does not know, entered by an admin from the State Council's notice. ``calendar_days``
# holds the days that differ from Monday-to-Friday: holidays (working false) and adjusted
# working weekend days (调休, working true).
calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("notice", Text, nullable=False),  # the notice's title and number
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("entered_by", String(128), nullable=False),
)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("year", Integer, ForeignKey("calendar_years.year"), nullable=False, index=True),
    Column("working", Boolean, nullable=False),
)

redactions = Table(  # a redacted copy's request and approval (cases/redactions.py)
    "redactions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("evidence_id", String(36), nullable=False, index=True),  # FK in the migration
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("copy_name", String(64), nullable=False),  # its name among the derivatives
    Column("media_type", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("settings", Text, nullable=False),
    Column("tracks", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False),  # requested | approved | refused
    Column("requested_by", String(128), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(128), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decision_reason", Text, nullable=True),
)

# The publication of decisions (公示, cases/publication.py, migration 0026). One record per
# decided action: its working copy (masked; what was masked kept here only), and each
# version published; the public reads versions, never the working copy.
publications = Table(
    "publications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("action_id", String(36), ForeignKey("enforcement_actions.id"), nullable=False,
           unique=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False, index=True),
    Column("unit_code", String(32), ForeignKey("units.code"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("decision_date", Date, nullable=False),  # local (Asia/Shanghai) calendar date
    Column("due", Date, nullable=False),
    Column("due_confirmed", Boolean, nullable=False),  # every day counted on a known schedule
    Column("state", String(16), nullable=False, index=True),  # draft|reviewed|published|revoked
    Column("party_kind", String(16), nullable=False),
    Column("party", Text, nullable=False),  # masked
    Column("conclusion", Text, nullable=False),  # masked; "" until a person writes it
    Column("legal_basis", Text, nullable=False),  # masked
    Column("document_number", Text, nullable=False),  # "" until a person writes it
    Column("masked", Text, nullable=False),  # JSON: what was masked (originals: never public)
    Column("confirmed_by", String(128), nullable=True),  # the working copy, as it is now
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
    Column("version", Integer, nullable=False),  # versions published so far
    Column("published_at", DateTime(timezone=True), nullable=True),  # version 1
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", String(128), nullable=True),
    Column("revoke_reason", Text, nullable=True),
    Column("drafted_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # when the public last saw a change (published, updated, revoked): the feed's order
    Column("public_changed_at", DateTime(timezone=True), nullable=True, index=True),
)

publication_versions = Table(
    "publication_versions",
    metadata,
    Column("publication_id", String(36), ForeignKey("publications.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("content", Text, nullable=False),  # canonical JSON of what the public sees
    Column("published_at", DateTime(timezone=True), nullable=False, index=True),
    Column("published_by", String(128), nullable=False),
    Column("reason", Text, nullable=True),  # why this version replaced the one before
    # the content's searchable fields, copied (the public search reads versions only)
    Column("agency_code", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("party", Text, nullable=False),
    Column("decision_date", Date, nullable=False),
    # the version the public sees now (the latest of a record not revoked): the search reads
    # live rows only, in decision-date order, without joining the records
    Column("live", Boolean, nullable=False),
    Index("ix_publication_versions_live", "live", "decision_date"),
    Index("ix_publication_versions_live_agency", "live", "agency_code", "decision_date"),
    Index("ix_publication_versions_live_kind", "live", "kind", "decision_date"),
)

# Publication before the action (cases/public_lists.py, migration 0027): the agency's
# random-inspection list (随机抽查事项清单) and service guides (办事指南), and the published copy
# of each entry of its public lists. The public site reads public_entries only (plus, for an
# officer, whether the certificate's holder is still active).
inspection_items = Table(
    "inspection_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False, index=True),
    Column("name", Text, nullable=False),  # the inspection item (抽查事项)
    Column("basis", Text, nullable=False),  # legal basis (检查依据)
    Column("subject", Text, nullable=False),  # who is inspected (检查对象)
    Column("method", Text, nullable=False),  # how (检查方式)
    Column("frequency", Text, nullable=False),  # share and frequency (抽查比例和频次)
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(128), nullable=False),
)

service_guides = Table(
    "service_guides",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False, index=True),
    Column("matter_id", String(36), ForeignKey("enforcement_matters.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(128), nullable=False),
)

public_entries = Table(
    "public_entries",
    metadata,
    Column("kind", String(16), primary_key=True),  # matters | officers | inspections | guides
    Column("entry_id", String(64), primary_key=True),  # the item's id; an officer's certificate
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),  # canonical JSON of the public fields only
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("published_by", String(128), nullable=False),
    Index("ix_public_entries_agency_kind", "agency_code", "kind", "title"),
)

# The annual statistics (统计年报, cases/annual_report.py, migration 0028): a report once
# published, frozen as canonical JSON with its SHA-256.
annual_reports = Table(
    "annual_reports",
    metadata,
    Column("agency_code", String(32), ForeignKey("agencies.code"), primary_key=True),
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("content", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("published_by", String(128), nullable=False),
)
