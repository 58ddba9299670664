"""Domain objects to response bodies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import orjson

from api.http.models import (
    AgencyOut,
    AttachedOut,
    CaseDetailOut,
    CaseNumberRuleOut,
    CaseOut,
    CaseRefOut,
    CustodyEventOut,
    DerivativeOut,
    DeviceOut,
    EvidenceDetailOut,
    EvidenceSummaryOut,
    GapOut,
    MediaStatusOut,
    ProblemOut,
    RecordingDetailOut,
    RecordingOut,
    RecordingSegmentOut,
    TimelineGapOut,
    TimelineOverlapOut,
    TimelineSegmentOut,
    UnitOut,
    UserOut,
    VerifyReportOut,
)
from api.i18n import tr
from cases.case_records import AttachedEvidence, Case, CaseDetail
from cases.custody_index import LoggedEvent
from cases.devices import Device
from cases.evidence import EvidenceDetail, EvidenceSummary, MediaStatus
from cases.organisation import Agency, CaseNumberRule, Unit
from cases.paging import Page
from cases.users import User
from cases.viewing import RecordingDetail
from custody.report import Problem
from domain.messages import from_data
from media.recordings import DEFAULT_MAX_GAP_SECONDS, Recording


def shallow(item: Any) -> dict[str, Any]:
    """A dataclass's fields, not deep-copied (asdict copied every datetime: bench/api.py)."""
    return {f.name: getattr(item, f.name) for f in fields(item)}


def event_out(logged: LoggedEvent) -> CustodyEventOut:
    event = logged.event
    if event is None:
        return CustodyEventOut(seq=logged.seq, type=None, actor=None, time=None, subject=None,
                               details=None, problem=logged.problem)
    return CustodyEventOut(seq=logged.seq, type=event["type"], actor=event["actor"],
                           time=event["time"], subject=event["subject"], details=event["details"],
                           problem=None)


def summary_out(item: EvidenceSummary) -> EvidenceSummaryOut:
    return EvidenceSummaryOut(**shallow(item))


def evidence_page_json(page: Page[EvidenceSummary]) -> bytes:
    """The JSON of ``EvidencePage`` for ``page``, written by orjson straight from the
    dataclasses: what pydantic writes, byte for byte (tests/test_search_json.py checks, and
    that the dataclass and the model name the same fields in the same order), without
    building and checking a model per item (a few ms of a 50-item page)."""
    return orjson.dumps({"total": page.total, "offset": page.offset, "limit": page.limit,
                         "next_offset": page.next_offset, "items": page.items,
                         "total_exact": page.exact}, option=orjson.OPT_UTC_Z)


def detail_out(detail: EvidenceDetail, locale: str) -> EvidenceDetailOut:
    """The item, its status's reason and its derive error in ``locale``."""
    status = _status(detail)
    return EvidenceDetailOut(
        **shallow(detail.summary), source_path=detail.source_path, container=detail.container,
        video_codec=detail.video_codec, audio_codec=detail.audio_codec, width=detail.width,
        height=detail.height, time_source=detail.time_source, sequence=detail.sequence,
        media=detail.media,
        derivatives_error=None if detail.derivatives_error is None else tr(detail.derivatives_error, locale),
        derivatives=[DerivativeOut(**shallow(d)) for d in detail.derivatives],
        cases=[CaseRefOut(**shallow(c)) for c in detail.cases],
        custody_events=[event_out(e) for e in detail.events],
        custody_events_truncated=detail.events_truncated,
        status=MediaStatusOut(**{**shallow(status),
                                 "reason": None if status.reason is None else tr(status.reason, locale)}),
        recording_id=detail.recording_id)


def report_out(report: Mapping[str, Any], locale: str) -> VerifyReportOut:
    """A verify report (``VerifyReport.to_json``, or a job's stored one) in ``locale``: each
    problem's and note's sentence translated; a report kept before as English reads as it is."""
    texts = list(report.get("notes_text") or [])
    notes = [tr(from_data(texts[i] if i < len(texts) else None, str(note)), locale)
             for i, note in enumerate(report.get("notes") or [])]
    problems = [ProblemOut(index=p.get("index"), kind=str(p.get("kind")),
                           message=tr(Problem.from_json(p).message, locale))
                for p in report.get("problems") or []]
    return VerifyReportOut(**{**report, "notes": notes, "problems": problems})


def _status(detail: EvidenceDetail) -> MediaStatus:
    assert detail.status is not None  # cases.evidence.evidence_detail always sets it
    return detail.status


def case_out(case: Case) -> CaseOut:
    return CaseOut(id=case.id, number=case.number, title=case.title, created_at=case.created_at,
                   created_by=case.created_by, officers=list(case.officers),
                   evidence_count=case.evidence_count, unit=case.unit_code,
                   review_requested_at=case.review_requested_at,
                   review_requested_by=case.review_requested_by)


def attached_out(item: AttachedEvidence) -> AttachedOut:
    return AttachedOut(**shallow(item))


def case_detail_out(detail: CaseDetail) -> CaseDetailOut:
    return CaseDetailOut(**case_out(detail.case).model_dump(),
                         evidence=[attached_out(a) for a in detail.evidence],
                         custody_events=[event_out(e) for e in detail.events],
                         custody_events_truncated=detail.events_truncated)


def user_out(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role, officer_no=user.officer_no,
                   created_at=user.created_at, revoked_at=user.revoked_at, active=user.active,
                   unit=user.unit_code, agency=user.agency_code, auditor_scope=user.auditor_scope,
                   token_expires_at=user.token_expires_at, has_password=user.has_password,
                   locked_until=user.locked_until)


def agency_out(agency: Agency) -> AgencyOut:
    return AgencyOut(code=agency.code, name=agency.name, level=agency.level,
                     parent=agency.parent_code, created_at=agency.created_at,
                     case_number_rule=rule_out(agency.case_rule))


def rule_out(rule: CaseNumberRule) -> CaseNumberRuleOut:
    return CaseNumberRuleOut(pattern=rule.pattern, rule=rule.rule, default=rule.default)


def unit_out(unit: Unit) -> UnitOut:
    return UnitOut(code=unit.code, agency=unit.agency_code, name=unit.name,
                   created_at=unit.created_at)


def device_out(device: Device) -> DeviceOut:
    return DeviceOut(serial=device.serial, officer_no=device.officer_no,
                     officer_name=device.officer_name, unit=device.unit_code,
                     unit_name=device.unit_name, agency=device.agency_code, label=device.label,
                     registered_at=device.registered_at, retired_at=device.retired_at,
                     retired_by=device.retired_by, retired_reason=device.retired_reason)


def recording_out(recording: Recording, names: list[str]) -> RecordingOut:
    return RecordingOut(
        id=recording.recording_id, device=recording.device, start=recording.start,
        end=recording.end, continuous=recording.continuous,
        segments=[RecordingSegmentOut(evidence_id=s.evidence_id, original_name=name,
                                      start=s.start, duration_ms=s.duration_ms)
                  for s, name in zip(recording.segments, names, strict=True)],
        gaps=[GapOut(start=g.start, end=g.end, milliseconds=g.microseconds // 1000)
              for g in recording.gaps],
        overlaps=[GapOut(start=o.start, end=o.end, milliseconds=o.microseconds // 1000)
                  for o in recording.overlaps])


_TOLERANCE_US = DEFAULT_MAX_GAP_SECONDS * 1_000_000


def recording_detail_out(detail: RecordingDetail) -> RecordingDetailOut:
    line, rec = detail.timeline, detail.timeline.recording
    segments = []
    for placed in line.segments:
        s, facts = placed.segment, detail.segments[placed.segment.evidence_id]
        segments.append(TimelineSegmentOut(
            evidence_id=s.evidence_id, original_name=facts.original_name,
            officer_no=facts.officer_no, sequence=s.sequence, start=s.start, end=s.end,
            duration_ms=s.duration_ms, playback=facts.playback,
            derivatives_state=facts.derivatives_state, in_joined_file=placed.in_joined_file,
            joined_offset_ms=line.offset_microseconds(s.start) // 1000,
            shown_ms=placed.shown_microseconds // 1000))
    return RecordingDetailOut(
        id=rec.recording_id, device=rec.device, start=rec.start, end=rec.end,
        span_ms=line.offset_microseconds(rec.end) // 1000, continuous=rec.continuous,
        missing_sequences=list(rec.missing_sequences), joined_playable=detail.joined_playable,
        segments=segments,
        gaps=[TimelineGapOut(start=g.start, end=g.end, seconds=g.microseconds / 1e6,
                             milliseconds=g.microseconds // 1000,
                             beyond_tolerance=g.microseconds > _TOLERANCE_US,
                             before_evidence_id=g.before_evidence_id,
                             after_evidence_id=g.after_evidence_id) for g in line.gaps],
        overlaps=[TimelineOverlapOut(start=o.start, end=o.end, seconds=o.microseconds / 1e6,
                                     milliseconds=o.microseconds // 1000,
                                     beyond_tolerance=o.microseconds > _TOLERANCE_US,
                                     earlier_evidence_id=o.earlier_evidence_id,
                                     later_evidence_id=o.later_evidence_id)
                  for o in line.overlaps])
