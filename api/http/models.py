"""Request and response bodies of the HTTP API (the OpenAPI document is built from these)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from cases.case_records import TITLE_MAX
from cases.devices import LABEL_MAX, SERIAL_PATTERN
from cases.evidence import FLAGS as SEARCH_FLAGS
from cases.evidence import OFFICER_QUERY_MAX
from cases.organisation import (
    CASE_NUMBER_MAX,
    CODE_PATTERN,
    NAME_MAX,
    PATTERN_MAX,
    RULE_MAX,
    Level,
)
from cases.text import REASON_MAX, TEXT_PATTERN, clean_text
from cases.users import NAME_PATTERN, OFFICER_NO_PATTERN, Role
from domain.errors import EvidenceError
from domain.messages import msg


def _text(what: str, max_length: int) -> AfterValidator:
    """The domain's text check (cases.text), so a request stores and logs the same NFC text."""
    def check(value: str) -> str:
        try:
            return clean_text(value, what, max_length)
        except EvidenceError as exc:
            raise ValueError(exc.message) from None
    return AfterValidator(check)


def _in_utc_range(value: datetime) -> datetime:
    """In UTC; a bound beyond what UTC can express (year 1 or 9999 with an offset) is clamped."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


# A date-time as the document gives it (RFC 3339): a number of seconds is not a time here.
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")


_OFFSET = re.compile(r".*(?:[Zz]|[+-]\d\d(?::?\d\d)?)$")


def _date_time_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TIME.match(value):
        if not _OFFSET.fullmatch(value.strip()):
            raise ValueError(f"the time {value[:40]!r} has no UTC offset, so it could mean any "
                             "zone; add one, e.g. 2024-03-15T09:30:00+08:00 (Beijing time) or "
                             "2024-03-15T01:30:00Z (UTC)")
        return value
    raise ValueError(msg("not a date and time; give one in ISO 8601, e.g. "
                         "2024-03-15T09:30:00+08:00"))


Reason = Annotated[str, StringConstraints(min_length=1, max_length=REASON_MAX, pattern=TEXT_PATTERN),
                   _text(msg("reason"), REASON_MAX)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX, pattern=TEXT_PATTERN),
                  _text(msg("case title"), TITLE_MAX)]
# the rule is the agency's (cases.organisation.CaseNumberRule), checked by the domain
CaseNumber = Annotated[str, StringConstraints(min_length=1, max_length=CASE_NUMBER_MAX,
                                              pattern=TEXT_PATTERN)]
UserName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
OfficerNo = Annotated[str, StringConstraints(pattern=OFFICER_NO_PATTERN)]
UnitCode = Annotated[str, StringConstraints(pattern=f"^{CODE_PATTERN}$")]
AgencyCode = Annotated[str, StringConstraints(pattern=f"^{CODE_PATTERN}$")]
OrgName = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=TEXT_PATTERN),
                    _text(msg("name"), NAME_MAX)]
Serial = Annotated[str, StringConstraints(pattern=SERIAL_PATTERN)]
VolumeLabel = Annotated[str, StringConstraints(min_length=1, max_length=LABEL_MAX,
                                               pattern=TEXT_PATTERN), _text(msg("volume label"), LABEL_MAX)]
AuditorScope = Annotated[str, StringConstraints(pattern=f"^(\\*|{CODE_PATTERN})$")]
UtcTime = Annotated[AwareDatetime, BeforeValidator(_date_time_text), AfterValidator(_in_utc_range)]
OfficerQuery = Annotated[str, StringConstraints(min_length=1, max_length=OFFICER_QUERY_MAX,
                                                pattern=TEXT_PATTERN),
                         _text("officer", OFFICER_QUERY_MAX)]
SearchFlag = Literal["unplayable", "no_playback_copy", "zero_byte", "unknown_device",
                     "legal_hold", "on_case", "copy_pending", "time_uncertain"]
assert get_args(SearchFlag) == SEARCH_FLAGS, "the API's flags are the search's"
RecordingId = Annotated[str, StringConstraints(pattern=r"^rec-[0-9a-f]{32}$")]
EvidenceKind = Literal["video", "audio", "image", "unknown"]
Category = Literal["standard", "case"]  # cases.retention.CATEGORIES
MAX_INT = 2**53 - 1


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageInfo(BaseModel):
    total: int = Field(description="Items matching the query.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="Pass as offset for the next page; null at the end.")


class CustodyEventOut(BaseModel):
    seq: int = Field(description="Index of the entry in the custody log (provable by "
                                 "GET /custody/proof/inclusion).")
    type: str | None
    actor: str | None
    time: str | None
    subject: dict[str, str] | None
    details: dict[str, Any] | None
    problem: str | None = Field(description="Set when the stored entry is not a valid event.")


class EvidenceSummaryOut(BaseModel):
    id: str
    sha256: str = Field(description="SHA-256 of the original, as ingested.")
    size: int
    original_name: str
    kind: str
    device_serial: str | None
    officer_no: str | None
    start_time: datetime | None
    duration_ms: int | None
    retention_category: str
    retain_until: datetime | None
    legal_hold: bool
    derivatives_state: str
    ingested_at: datetime
    unit_code: str | None = Field(description="The unit the footage belongs to.")
    flags: list[str] = Field(description="What the search's `flag` filter finds it by: "
                             + ", ".join(SEARCH_FLAGS) + "; then any other flag the ingest "
                             "stored.")
    officer_name: str | None = Field(description="The device registry's name of its "
                                     "recorder's officer.")
    poster: bool = Field(default=False, description="GET /evidence/{id}/poster has a picture "
                         "for the caller (filled in search results).")


class EvidencePage(PageInfo):
    items: list[EvidenceSummaryOut]
    total_exact: bool = Field(default=True, description="False when the count stopped: `total` is then a "
                              "lower bound (there are at least that many).")


class DerivativeOut(BaseModel):
    name: str
    sha256: str
    size: int
    method: str
    created_at: datetime


class CaseRefOut(BaseModel):
    id: str
    number: str


class MediaStatusOut(BaseModel):
    state: Literal["ok", "pending", "damaged", "no_copy", "empty", "deleted"] = Field(
        description="ok; pending (copies still being made); damaged (the original could not "
                    "be read as media); no_copy (read, but no playback copy could be made); "
                    "empty (zero bytes); deleted (retention ended).")
    reason: str | None = Field(description="Why it is not ok, in words (for damaged: why the "
                                           "file could not be read).")
    playback: bool = Field(description="The caller can play it: GET /evidence/{id}/playback "
                                       "(video/mp4, or audio/mp4 for sound).")
    photo: bool = Field(description="The caller can view the photo: GET /evidence/{id}/photo.")
    poster: bool = Field(description="GET /evidence/{id}/poster has a picture.")
    strip: bool = Field(description="GET /evidence/{id}/strip has a thumbnail strip.")
    original_download: bool = Field(
        description="The caller may download the original: GET /evidence/{id}/original, "
                    "with a reason (the only way to reach a damaged file).")


class EvidenceDetailOut(EvidenceSummaryOut):
    source_path: str
    container: str | None
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    time_source: str
    sequence: int | None
    media: dict[str, Any]
    derivatives_error: str | None
    derivatives: list[DerivativeOut]
    cases: list[CaseRefOut]
    custody_events: list[CustodyEventOut] = Field(
        description="Every custody event naming the item, oldest first (the first 1000).")
    custody_events_truncated: bool = Field(
        description="True when there are more; read them with GET /custody/entries.")
    status: MediaStatusOut = Field(description="Whether and how the caller can see it.")
    recording_id: str | None = Field(None, description="The recording this video is a segment "
                                                       "of (GET /recordings/{id}: its timeline "
                                                       "with gaps and overlaps); null for "
                                                       "photos, audio and damaged files.")


class HoldIn(Strict):
    reason: Reason


class CaseIn(Strict):
    title: Title
    number: CaseNumber


class CaseOut(BaseModel):
    id: str
    number: str
    title: str
    created_at: datetime
    created_by: str
    officers: list[str]
    evidence_count: int
    unit: str | None = Field(description="Code of the unit that owns the case (its creator's).")
    review_requested_at: datetime | None = Field(
        description="When the case was sent for review; null if it was not.")
    review_requested_by: str | None


class CasePage(PageInfo):
    items: list[CaseOut]


def _distinct(values: list[UUID]) -> list[UUID]:
    if len(set(values)) != len(values):
        raise ValueError(msg("an item is listed twice"))
    return values


class AttachIn(Strict):
    evidence_id: UUID


class AttachManyIn(Strict):
    evidence_ids: Annotated[list[UUID], Field(
        min_length=1, max_length=500, json_schema_extra={"uniqueItems": True},
        description="Several items (from search results), attached all or nothing: one "
                    "custody event per item; if any cannot be attached, none is."),
        AfterValidator(_distinct)]


class GrantIn(Strict):
    case_id: UUID = Field(description="The other unit's case whose officers may attach it.")
    reason: Reason


class GrantOut(BaseModel):
    evidence_id: str
    case_id: str
    case_number: str
    from_unit: str
    to_unit: str
    reason: str
    granted_at: datetime
    granted_by: str


class AttachedOut(BaseModel):
    evidence_id: str
    sha256: str
    original_name: str
    attached_at: datetime
    attached_by: str


class AttachedList(BaseModel):
    items: list[AttachedOut] = Field(description="Every item attached, in the order given.")


class CaseDetailOut(CaseOut):
    evidence: list[AttachedOut]
    custody_events: list[CustodyEventOut] = Field(
        description="Every custody event naming the case, oldest first (the first 1000).")
    custody_events_truncated: bool = Field(
        description="True when there are more; read them with GET /custody/entries.")


class OfficerIn(Strict):
    user: UserName


class RecordingSegmentOut(BaseModel):
    evidence_id: str
    original_name: str
    start: datetime
    duration_ms: int


class GapOut(BaseModel):
    start: datetime
    end: datetime
    milliseconds: int


class RecordingOut(BaseModel):
    id: str
    device: str | None
    start: datetime
    end: datetime
    continuous: bool
    segments: list[RecordingSegmentOut]
    gaps: list[GapOut]
    overlaps: list[GapOut]


class RecordingPage(PageInfo):
    items: list[RecordingOut]


class TimelineSegmentOut(BaseModel):
    evidence_id: str
    original_name: str
    officer_no: str | None
    sequence: int | None
    start: datetime = Field(description="Wall-clock start (UTC).")
    end: datetime = Field(description="Wall-clock end (UTC): start plus duration.")
    duration_ms: int
    playback: bool = Field(description="It has a playback copy "
                                       "(GET /evidence/{id}/playback plays it alone).")
    derivatives_state: str = Field(description="pending, done, failed or none.")
    in_joined_file: bool = Field(description="False when it lies wholly inside time other "
                                             "segments show: it plays only on its own.")
    joined_offset_ms: int = Field(description="Where it starts in the joined file: its start "
                                              "minus the recording's start.")
    shown_ms: int = Field(description="How much of it the joined file shows, from its start "
                                      "(less than its duration when a later segment overlaps "
                                      "its end).")


class TimelineSpanOut(BaseModel):
    start: datetime
    end: datetime
    seconds: float
    milliseconds: int
    beyond_tolerance: bool = Field(description="Longer than the 2 s the recordings list "
                                               "tolerates; such a gap or overlap makes the "
                                               "recording not continuous.")


class TimelineGapOut(TimelineSpanOut):
    before_evidence_id: str = Field(description="The segment whose end starts the gap.")
    after_evidence_id: str = Field(description="The segment whose start ends it.")


class TimelineOverlapOut(TimelineSpanOut):
    earlier_evidence_id: str = Field(description="The segment that covered the time first.")
    later_evidence_id: str = Field(description="The segment that starts inside it; the joined "
                                               "file shows this one.")


class RecordingDetailOut(BaseModel):
    id: str
    device: str | None
    start: datetime
    end: datetime
    span_ms: int = Field(description="end minus start: the joined file's length.")
    continuous: bool
    missing_sequences: list[tuple[int, int]] = Field(
        description="Inclusive ranges of sequence numbers absent between joined segments.")
    joined_playable: bool = Field(description="Every segment the joined file shows has a "
                                              "playback copy (GET /recordings/{id}/playback).")
    segments: list[TimelineSegmentOut]
    gaps: list[TimelineGapOut] = Field(description="Every gap between consecutive segments, "
                                                   "however short, oldest first.")
    overlaps: list[TimelineOverlapOut] = Field(description="Every overlap, however short.")


class OfficerUserIn(Strict):
    name: UserName
    role: Literal[Role.OFFICER]
    officer_no: OfficerNo = Field(description="The number their recorder writes; they see "
                                              "only footage recorded under it.")
    unit: UnitCode = Field(description="Code of the unit they belong to.")
    auditor_scope: None = None


class StaffUserIn(Strict):
    name: UserName
    role: Literal[Role.CASE_OFFICER, Role.REVIEWER, Role.ADMIN, Role.CLERK]
    officer_no: OfficerNo | None = None
    unit: UnitCode = Field(description="Code of the unit they belong to.")
    auditor_scope: None = None


class AuditorUserIn(Strict):
    name: UserName
    role: Literal[Role.AUDITOR]
    officer_no: OfficerNo | None = None
    unit: UnitCode = Field(description="Code of the unit they belong to.")
    auditor_scope: AuditorScope = Field(
        description="The agency code they audit, or '*' for every agency (the operator only).")


UserIn = Annotated[OfficerUserIn | StaffUserIn | AuditorUserIn, Field(discriminator="role")]


class UserOut(BaseModel):
    name: str
    role: Role
    officer_no: str | None
    created_at: datetime
    revoked_at: datetime | None
    active: bool
    unit: str | None = Field(description="Code of the unit the user belongs to.")
    agency: str | None = Field(description="Code of that unit's agency.")
    auditor_scope: str | None = Field(description="Auditors: the agency they audit, or '*'.")
    token_expires_at: datetime | None = Field(
        description="When their bearer token stops working (renew it with "
                    "POST /users/{name}/token).")
    has_password: bool = Field(default=False, description="May sign in to the web pages with "
                                                         "a password (PUT /users/{name}/password).")
    locked_until: datetime | None = Field(
        default=None, description="Password sign-in is locked until then after repeated "
                                  "failures (POST /users/{name}/unlock lifts it).")


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=10, max_length=256,
                          description="The new password: 10 to 256 characters, not containing "
                                      "the user name.")
    old_password: str | None = Field(default=None, max_length=1024,
                                     description="Required when changing your own password.")


class NewUserOut(UserOut):
    token: str = Field(description="The bearer token. Shown only in this response; "
                                   "only its SHA-256 is stored.")


class UserList(BaseModel):
    items: list[UserOut]


class RegionAgencyIn(Strict):
    code: AgencyCode = Field(description="Short ASCII code, unique in the region (e.g. nmg-gat).")
    name: OrgName = Field(description="The agency's name, e.g. 内蒙古自治区公安厅.")
    level: Literal[Level.REGION]
    parent: None = None


class LocalAgencyIn(Strict):
    code: AgencyCode = Field(description="Short ASCII code, unique in the region (e.g. hhht-gaj).")
    name: OrgName = Field(description="The agency's name, e.g. 呼和浩特市公安局.")
    level: Literal[Level.CITY, Level.COUNTY]
    parent: AgencyCode = Field(description="The agency it sits under, of a higher level.")


AgencyIn = Annotated[RegionAgencyIn | LocalAgencyIn, Field(discriminator="level")]


class CaseNumberRuleOut(BaseModel):
    pattern: str = Field(description="A regular expression (Python's `re`) the whole case "
                                     "number must match.")
    rule: str = Field(description="The rule in words, as a person opening a case reads it.")
    default: bool = Field(description="True: the agency set none, and this is the default.")


class CaseNumberRuleIn(Strict):
    pattern: str | None = Field(min_length=1, max_length=PATTERN_MAX, pattern=TEXT_PATTERN,
                                description="A regular expression (Python's `re`, without "
                                "back-references or nested repetition) the whole number must "
                                "match; null: the default rule.")
    rule: str | None = Field(min_length=1, max_length=RULE_MAX, pattern=TEXT_PATTERN,
                             description="The rule in words (required with a pattern), e.g. "
                             "单位简称+刑+年份-三位序号.")


class AgencyOut(BaseModel):
    code: str
    name: str
    level: Level
    parent: str | None
    created_at: datetime
    case_number_rule: CaseNumberRuleOut


class AgencyList(BaseModel):
    items: list[AgencyOut]


class UnitIn(Strict):
    code: UnitCode = Field(description="Short ASCII code, unique in the region.")
    agency: AgencyCode = Field(description="The agency the unit belongs to.")
    name: OrgName


class UnitOut(BaseModel):
    code: str
    agency: str
    name: str
    created_at: datetime


class UnitList(BaseModel):
    items: list[UnitOut]


class DeviceIn(Strict):
    serial: Serial
    officer_no: OfficerNo
    unit: UnitCode = Field(description="The unit the recorder and its footage belong to.")
    officer_name: OrgName | None = None
    label: VolumeLabel | None = Field(default=None, description="Volume label or UUID.")


class DeviceOut(BaseModel):
    serial: str
    officer_no: str | None
    officer_name: str | None
    unit: str | None = Field(description="Code of the unit the recorder belongs to.")
    unit_name: str | None
    agency: str | None
    label: str | None
    registered_at: datetime
    retired_at: datetime | None = Field(None, description="When an admin retired it; null if "
                                                          "in use.")
    retired_by: str | None = None
    retired_reason: str | None = None


class DeviceList(BaseModel):
    items: list[DeviceOut]


class EntryOut(BaseModel):
    seq: int
    leaf: str = Field(description="The entry's exact bytes, base64.")
    leaf_hash: str = Field(description="RFC 9162 leaf hash, hex: SHA-256(0x00 || bytes).")


class EntryPage(BaseModel):
    size: int = Field(description="Entries in the log now.")
    start: int
    entries: list[EntryOut]
    next_start: int | None


class InclusionProofOut(BaseModel):
    index: int
    size: int
    leaf: str
    leaf_hash: str
    proof: list[str]
    checkpoint: str


class ConsistencyProofOut(BaseModel):
    old_size: int
    new_size: int
    proof: list[str]
    old_checkpoint: str
    new_checkpoint: str


class ProblemOut(BaseModel):
    index: int | None
    kind: str
    message: str


class VerifyReportOut(BaseModel):
    ok: bool
    source: str
    entries: int
    checkpoints: int
    objects: int
    latest_checkpoint_size: int | None
    root_hash: str | None
    checks: list[str]
    notes: list[str]
    problems: list[ProblemOut]


class RetentionIn(Strict):
    dry_run: StrictBool = Field(False, description="Say what would be deleted, and delete nothing.")


class RetentionActionOut(BaseModel):
    evidence_id: str
    sha256: str
    action: Literal["deleted", "kept"]
    reason: str = Field(description="Why: the retention period ended, a legal hold, a case, or "
                                    "a dry run.")


class RetentionOut(BaseModel):
    items: list[RetentionActionOut] = Field(
        description="Every item whose retention date has passed, and what was done with it.")


class ExportIn(Strict):
    include_playback: bool = Field(False, description="Add the playback copies.")
    reason: Reason | None = Field(None, description="Why the case is exported; recorded in "
                                                    "`case:bundle:requested`.")


class ExportJobOut(BaseModel):
    id: str
    case_id: str
    state: Literal["queued", "running", "done", "failed", "expired"] = Field(
        description="queued, running (progress below), done (download it), failed (`error` "
                    "says why), expired (the bundle was deleted after its keeping time).")
    requested_by: str
    include_playback: bool
    reason: str | None
    items_total: int = Field(description="Evidence items the bundle holds.")
    items_done: int = Field(description="Items copied into it so far.")
    bytes_total: int = Field(description="Bytes of footage the bundle copies.")
    bytes_done: int = Field(description="Bytes of footage copied so far.")
    file_name: str | None
    size: int | None = Field(description="Size of the finished ZIP.")
    sha256: str | None = Field(description="SHA-256 of the finished ZIP (its download's ETag).")
    manifest_sha256: str | None = Field(description="SHA-256 of its manifest, as the "
                                                    "`case:bundle:exported` event records it.")
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When the finished ZIP is deleted.")
    download: str | None = Field(description="Where to download it, once done.")


class ExportJobList(BaseModel):
    items: list[ExportJobOut] = Field(description="The case's exports, newest first.")


# --- the station screen (operational state, not evidence) -----------------------------

class StationProblemOut(BaseModel):
    code: str = Field(description="Stable code of the problem; a page shows its own sentence "
                                  "for it in the reader's language.")
    params: dict[str, str | int] = Field(description="The values the sentence names.")
    message: str = Field(description="The English sentence.")


class StationTileOut(BaseModel):
    station: str = Field(description="The station's name (EVIDENCE_STATION_NAME).")
    port: str = Field(description="The dock port (the recorder's volume, mtp-N, sdk); empty "
                                  "for the station's own tile.")
    kind: Literal["station", "port"]
    sequence: int = Field(description="Number of the change this tile reflects.")
    state: str = Field(description="docked, transferring, retrying, wiping, done, incomplete, "
                                   "failed, stopped; the station's own tile: online, offline.")
    station_unit: str | None
    device_serial: str | None
    officer_no: str | None
    officer_name: str | None
    recorder_unit: str | None
    identity_source: str | None = Field(description="sdk, registry, files or unknown.")
    files_total: int
    files_done: int
    files_failed: int = Field(description="Files left on the recorder because of a problem.")
    files_wiped: int
    bytes_total: int
    bytes_done: int
    rate: float = Field(description="Bytes per second over the last seconds.")
    wipe: str = Field(description="off (the policy keeps files), waiting, wiping, done, partial.")
    problem: StationProblemOut | None
    retry_at: datetime | None = Field(description="While retrying: when (the dock's clock).")
    started_at: datetime | None
    stale_after: datetime | None = Field(
        description="The station's own tile: past this time without a newer tile, the "
                    "station is not reporting.")
    updated_at: datetime


class StationScreenOut(BaseModel):
    sequence: int = Field(description="Number of the last change the tiles reflect; "
                                      "GET /stations/events with Last-Event-ID resumes after it.")
    now: datetime = Field(description="The server's time, to count down retry_at.")
    tiles: list[StationTileOut]
