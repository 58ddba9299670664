"""The human-readable parts of a case bundle: the custody report (HTML) and README.txt.

Written for a court clerk: every custody event becomes a sentence. The report is
plain HTML with inline style and no script; every value is escaped with
``html.escape``. The report and README are listed in the manifest with their
SHA-256, so they are as tamper-evident as the footage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from cases.bundle_verify import (
    BUNDLE_FORMAT,
    CHECKPOINT,
    ENTRIES_DIR,
    EXPORT_EVENT,
    MANIFEST,
    PROOFS_DIR,
    VKEY,
)
from domain.event_types import EventType

Event = Mapping[str, Any]


def who(actor: str) -> str:
    """``user:alice`` → ``user alice``; ``station:office-3`` → ``station office-3``."""
    kind, _, name = actor.partition(":")
    return f"{kind} {name}" if name else actor


def when(time: str | None) -> str:
    """``2026-11-27T09:47:21Z`` → ``2026-11-27 09:47:21 UTC``."""
    if not time:
        return "unknown"
    return time.replace("T", " ").removesuffix("Z") + " UTC"


def _reason(details: Mapping[str, Any]) -> str:
    reason = details.get("reason")
    return f"; reason given: “{reason}”" if reason else "; no reason given"


def _size(value: Any) -> str:
    return f"{value:,} bytes" if isinstance(value, int) else "unknown size"


def _ingested(e: Event, d: Mapping[str, Any]) -> str:
    device = f"recorder {d['device']}" if d.get("device") else "an unidentified recorder"
    officer = f" (officer {d['officer']})" if d.get("officer") else ""
    unit = f" for unit {d['unit_code']}" if d.get("unit_code") else ""
    offset = (d.get("capture") or {}).get("clock_offset_seconds")
    clock = (f" The recorder's clock was {abs(offset)} s {'fast' if offset > 0 else 'slow'}; "
             "its times were corrected." if isinstance(offset, int) and offset else "")
    return (f"Copied off {device}{officer} by {who(e['actor'])} from “{d.get('source')}” "
            f"and stored as evidence{unit} ({_size(d.get('size'))}).{clock}")


def _derived(e: Event, d: Mapping[str, Any]) -> str:
    obj = d.get("object") or {}
    return (f"Copy “{d.get('name')}” made by {who(e['actor'])} ({d.get('method')}); "
            f"its SHA-256 is {obj.get('sha256')}.")


def _attached(e: Event, d: Mapping[str, Any]) -> str:
    until = (d.get("retention") or {}).get("retain_until")
    return (f"Attached to case {d.get('case_number')} by {who(e['actor'])}"
            f"{f'; to be kept until {when(until)}' if until else ''}.")


def _viewed(e: Event, d: Mapping[str, Any]) -> str:
    copy = "the playback copy" if d.get("copy") != "original" else "the original"
    return f"Viewed ({copy}) by {who(e['actor'])}{_reason(d)}."


def _granted(e: Event, d: Mapping[str, Any]) -> str:
    return (f"Made available by {who(e['actor'])} from unit {d.get('from_unit')} to case "
            f"{d.get('case_number')} of unit {d.get('to_unit')}{_reason(d)}.")


def _exported(e: Event, d: Mapping[str, Any]) -> str:
    return (f"Case bundle exported by {who(e['actor'])}: {d.get('files')} file(s), "
            f"manifest SHA-256 {d.get('manifest_sha256')}.")


def _recording_exported(e: Event, d: Mapping[str, Any]) -> str:
    gaps = d.get("gaps") or []
    start = (f"Exported by {who(e['actor'])} as segment {int(d.get('position') or 0) + 1} of "
             f"{d.get('segments')} of recording {d.get('recording')}, joined into one file "
             f"(SHA-256 {d.get('joined_sha256')})")
    if not d.get("gap_fill"):  # exports before the joined file kept the wall clock
        return f"{start} that closes {len(gaps)} gap(s){_reason(d)}."
    place = (f"it starts {d.get('offset_ms')} ms into the file" if d.get("in_joined_file")
             else "it lies inside another segment's time and plays only on its own")
    return (f"{start} that keeps the recording's own time: {len(gaps)} gap(s) shown as "
            f"{d.get('gap_fill')}, {len(d.get('overlaps') or [])} overlap(s); {place}"
            f"{_reason(d)}.")


def _changes(d: Mapping[str, Any]) -> str:
    before, after = d.get("before") or {}, d.get("after") or {}
    parts = [f"{field} {before.get(field)} → {after.get(field)}" for field in sorted(after)
             if before.get(field) != after.get(field)]
    return ", ".join(parts) or "nothing changed"


def _device_reassigned(e: Event, d: Mapping[str, Any]) -> str:
    return f"Recorder {d.get('serial')} reassigned by {who(e['actor'])}: {_changes(d)}{_reason(d)}."


def _user_changed(e: Event, d: Mapping[str, Any]) -> str:
    return f"Account {d.get('user')} changed by {who(e['actor'])}: {_changes(d)}{_reason(d)}."


def _verify_finished(e: Event, d: Mapping[str, Any]) -> str:
    if d.get("state") != "done":
        return (f"The check of the custody log (job {d.get('job')}) did not finish: "
                f"{d.get('error')}.")
    verdict = "found it intact" if d.get("ok") else f"found {d.get('problems')} problem(s)"
    return (f"The check of the custody log (job {d.get('job')}) {verdict}: {d.get('entries')} "
            f"entries and {d.get('checkpoints')} checkpoints, up to the checkpoint of size "
            f"{d.get('checkpoint_size')}.")


_SENTENCES: dict[str, Callable[[Event, Mapping[str, Any]], str]] = {
    EventType.FILE_INGESTED: _ingested,
    EventType.FILE_VERIFIED: lambda e, d: (
        f"Read back from storage by {who(e['actor'])}: the stored bytes matched "
        f"(SHA-256 {d.get('read_back_sha256')})."),
    EventType.FILE_SEEN_AGAIN: lambda e, d: (
        f"The same file was found again on {d.get('device') or 'a recorder'} by "
        f"{who(e['actor'])}; it was not stored twice."),
    EventType.FILE_PROBED: lambda e, d: (
        f"Media details read by {who(e['actor'])}"
        f"{' (problem: ' + str(d['error']) + ')' if d.get('error') else ''}."),
    EventType.FILE_DERIVED: _derived,
    EventType.FILE_VIEWED: _viewed,
    EventType.FILE_DOWNLOADED: lambda e, d: (
        f"Original downloaded by {who(e['actor'])}{_reason(d)}."),
    EventType.FILE_WIPED: lambda e, d: (
        f"Deleted from the recorder by {who(e['actor'])} after the stored copy was verified."),
    EventType.FILE_DELETED: lambda e, d: (
        f"Deleted from storage by {who(e['actor'])}{_reason(d)}."),
    EventType.ACCESS_GRANTED: _granted,
    EventType.OBJECT_ORPHANED: lambda e, d: (
        f"A stored original (SHA-256 {(d.get('object') or {}).get('sha256')}) that no ingest "
        f"recorded, its file never having come again, was accounted for as an orphan by "
        f"{who(e['actor'])}{_reason(d)}."),
    EventType.REDACTION_REQUESTED: lambda e, d: (
        f"Redacted copy {(d.get('copy') or {}).get('sha256')} requested by {who(e['actor'])} "
        f"for case {d.get('case_number')}{_reason(d)}; the original is unchanged."),
    EventType.REDACTION_APPROVED: lambda e, d: (
        f"Redacted copy {(d.get('copy') or {}).get('sha256')} approved for publication by "
        f"{who(e['actor'])} (requested by {d.get('requested_by')})."),
    EventType.REDACTION_REFUSED: lambda e, d: (
        f"Redacted copy {(d.get('copy') or {}).get('sha256')} refused by {who(e['actor'])}"
        f"{_reason(d)}."),
    EventType.REDACTION_DOWNLOADED: lambda e, d: (
        f"Redacted copy {(d.get('copy') or {}).get('sha256')} downloaded by "
        f"{who(e['actor'])}{_reason(d)}."),
    EventType.HOLD_PLACED: lambda e, d: f"Legal hold placed by {who(e['actor'])}{_reason(d)}.",
    EventType.HOLD_RELEASED: lambda e, d: (
        f"Legal hold released by {who(e['actor'])}{_reason(d)}."),
    EventType.CASE_CREATED: lambda e, d: (
        f"Case {d.get('number')} (“{d.get('title')}”) opened by {who(e['actor'])}."),
    EventType.CASE_EVIDENCE_ATTACHED: _attached,
    EventType.CASE_EVIDENCE_DETACHED: lambda e, d: (
        f"Taken off case {d.get('case_number')} by {who(e['actor'])}."),
    EventType.CASE_OFFICER_ASSIGNED: lambda e, d: (
        f"{d.get('officer')} assigned to the case by {who(e['actor'])}."),
    EventType.CASE_OFFICER_REMOVED: lambda e, d: (
        f"{d.get('officer')} removed from the case by {who(e['actor'])}."),
    EventType.CASE_REVIEW_REQUESTED: lambda e, d: (
        f"Case {d.get('case_number')} sent for review by {who(e['actor'])}."),
    EventType.ACTION_OPENED: lambda e, d: (
        f"Enforcement action ({d.get('kind')}, matter {d.get('matter')}) opened on case "
        f"{d.get('case_number')} by {who(e['actor'])}."),
    EventType.ACTION_HANDLERS_ASSIGNED: lambda e, d: (
        "Handling officers "
        + ", ".join(str(o.get("user")) for o in d.get("officers") or [] if isinstance(o, dict))
        + f" assigned to an enforcement action of case {d.get('case_number')} by "
          f"{who(e['actor'])}, each holding a certificate valid on {d.get('action_date')}."),
    EventType.CASE_DOCUMENT_ADDED: lambda e, d: (
        f"Document {d.get('name')} ({d.get('kind')}, {d.get('media_type')}) put on case "
        f"{d.get('case_number')} by {who(e['actor'])}; kept permanently."),
    EventType.ACTION_MARKED_MAJOR: lambda e, d: (
        f"Enforcement action marked major by {who(e['actor'])}: {d.get('reason')}."),
    EventType.ACTION_MATERIALS_SET: lambda e, d: (
        f"Draft decision and {len(d.get('cited') or [])} cited items of an enforcement action "
        f"set by {who(e['actor'])} (packet SHA-256 {d.get('packet_sha256')})."),
    EventType.ACTION_DECIDED: lambda e, d: (
        f"Decision of an enforcement action recorded by {who(e['actor'])} "
        f"(packet SHA-256 {d.get('packet_sha256')})."),
    EventType.REVIEW_SUBMITTED: lambda e, d: (
        f"Submitted for legal review by {who(e['actor'])}: {d.get('items')} verified items, "
        f"packet SHA-256 {d.get('packet_sha256')}, due {d.get('due')}."),
    EventType.REVIEW_OPINION: lambda e, d: (
        f"Legal-review opinion {d.get('opinion')} given by {who(e['actor'])}: "
        f"{d.get('reasons')}."),
    EventType.REVIEW_CONTESTED: lambda e, d: (
        f"Review opinion contested by {who(e['actor'])}: {d.get('reason')}."),
    EventType.REVIEW_RULED: lambda e, d: (
        f"Contest {d.get('ruling')} by the principal {who(e['actor'])}: {d.get('reason')}."),
    EventType.REVIEW_APPROVED: lambda e, d: (
        f"Reviewed decision approved by the head {who(e['actor'])} "
        f"(packet SHA-256 {d.get('packet_sha256')})."),
    EventType.REVIEW_VOIDED: lambda e, d: (
        f"Legal review of packet SHA-256 {d.get('packet_sha256')} voided for good: "
        f"{d.get('reason')}."),
    EventType.REVIEW_ADVICE_REQUESTED: lambda e, d: (
        f"Opinion of a {str(d.get('adviser_kind')).replace('_', ' ')} requested by "
        f"{who(e['actor'])}: {d.get('question')}."),
    EventType.REVIEW_ADVICE_RECORDED: lambda e, d: (
        f"Opinion of {str(d.get('adviser_kind')).replace('_', ' ')} {d.get('adviser')} "
        f"(given {d.get('given_on')}) recorded by {who(e['actor'])}: {d.get('opinion')}."),
    EventType.REVIEW_PACKET_EXPORTED: lambda e, d: (
        f"Review packet SHA-256 {d.get('packet_sha256')} exported as a bundle by "
        f"{who(e['actor'])} (manifest SHA-256 {d.get('manifest_sha256')})."),
    EventType.ACTION_DECISION_SERVED: lambda e, d: (
        f"Decision served ({d.get('method')}) on {d.get('recipient')} on {d.get('served_on')}, "
        f"recorded by {who(e['actor'])}."),
    EventType.REVIEW_MATERIALS_SET: lambda e, d: (
        f"Required review materials of agency {d.get('agency')} set to version "
        f"{d.get('version')} by {who(e['actor'])}."),
    EventType.PUBLICATION_DRAFTED: lambda e, d: (
        f"Publication record of a decision drafted ({d.get('masked')} items masked), due "
        f"{d.get('due')}{'' if d.get('due_confirmed') else ' (unconfirmed)'}."),
    EventType.PUBLICATION_EDITED: lambda e, d: (
        f"Publication record edited by {who(e['actor'])}: {', '.join(d.get('fields') or [])}."),
    EventType.PUBLICATION_CONFIRMED: lambda e, d: (
        f"Masked publication record confirmed by {who(e['actor'])} "
        f"(SHA-256 {d.get('content_sha256')})."),
    EventType.PUBLICATION_PUBLISHED: lambda e, d: (
        f"Decision published by {who(e['actor'])} (version {d.get('version')}, due "
        f"{d.get('due')}, {'on time' if d.get('on_time') else 'late'})."),
    EventType.PUBLICATION_UPDATED: lambda e, d: (
        f"Published decision updated to version {d.get('version')} by {who(e['actor'])}: "
        f"{d.get('reason')}."),
    EventType.PUBLICATION_REVOKED: lambda e, d: (
        f"Published decision revoked by {who(e['actor'])}: {d.get('reason')}."),
    EventType.CASE_BUNDLE_REQUESTED: lambda e, d: (
        f"Export of the case requested by {who(e['actor'])}{_reason(d)}."),
    EXPORT_EVENT: _exported,
    EventType.RECORDING_EXPORTED: _recording_exported,
    EventType.CASE_BUNDLE_DOWNLOADED: lambda e, d: (
        f"Case bundle {d.get('bundle')} (SHA-256 {d.get('sha256')}, manifest SHA-256 "
        f"{d.get('manifest_sha256')}), built on the server, downloaded by "
        f"{who(e['actor'])}{_reason(d)}."),
    EventType.DEVICE_REGISTERED: lambda e, d: (
        f"Recorder {d.get('serial')} registered to officer {d.get('officer_no')} by "
        f"{who(e['actor'])}."),
    EventType.DEVICE_REASSIGNED: _device_reassigned,
    EventType.DEVICE_RETIRED: lambda e, d: (
        f"Recorder {d.get('serial')} (officer {d.get('officer_no')}, unit {d.get('unit')}) "
        f"retired by {who(e['actor'])}{_reason(d)}."),
    EventType.RECORDER_DOCKED: lambda e, d: f"A recorder was docked at {who(e['actor'])}.",
    EventType.RECORDER_IDENTIFIED: lambda e, d: (
        f"The docked recorder was identified (from its {d.get('source')}) by {who(e['actor'])}."),
    EventType.RECORDER_CLOCK_OFFSET: lambda e, d: (
        f"The recorder's clock was {d.get('offset_seconds')} s off when read by "
        f"{who(e['actor'])}."),
    EventType.RECORDER_FILES_FOUND: lambda e, d: (
        f"{d.get('count')} file(s) found on the recorder by {who(e['actor'])}."),
    EventType.RECORDER_UNDOCKED: lambda e, d: f"The recorder was undocked at {who(e['actor'])}.",
    EventType.AGENCY_ADDED: lambda e, d: f"Agency {d.get('name')} added by {who(e['actor'])}.",
    EventType.AGENCY_CASE_RULE_SET: lambda e, d: (
        f"The case-number rule of agency {d.get('agency')} was set to "
        f"\u201c{d.get('rule') or 'the default'}\u201d by {who(e['actor'])}."),
    EventType.UNIT_ADDED: lambda e, d: (
        f"Unit {d.get('name')} of agency {d.get('agency')} added by {who(e['actor'])}."),
    EventType.MATTER_ADDED: lambda e, d: (
        f"Enforcement matter {d.get('name')} added to the list of agency {d.get('agency')} by "
        f"{who(e['actor'])}."),
    EventType.MATTER_CHANGED: lambda e, d: (
        f"An enforcement matter of agency {(d.get('after') or {}).get('agency')} changed by "
        f"{who(e['actor'])}."),
    EventType.CERTIFICATE_ADDED: lambda e, d: (
        f"Enforcement certificate {d.get('number')} of {d.get('user')} (valid "
        f"{d.get('valid_from')} to {d.get('valid_to')}) recorded by {who(e['actor'])}."),
    EventType.INSPECTION_ADDED: lambda e, d: (
        f"Inspection item {d.get('name')} added to the random-inspection list of agency "
        f"{d.get('agency')} by {who(e['actor'])}."),
    EventType.INSPECTION_CHANGED: lambda e, d: (
        f"An inspection item of agency {(d.get('after') or {}).get('agency')} changed by "
        f"{who(e['actor'])}."),
    EventType.INSPECTION_REMOVED: lambda e, d: (
        f"Inspection item {d.get('name')} removed from the list of agency {d.get('agency')} by "
        f"{who(e['actor'])}."),
    EventType.GUIDE_ADDED: lambda e, d: (
        f"Service guide {d.get('title')} of agency {d.get('agency')} added by {who(e['actor'])}."),
    EventType.GUIDE_CHANGED: lambda e, d: (
        f"A service guide of agency {(d.get('after') or {}).get('agency')} changed by "
        f"{who(e['actor'])}."),
    EventType.GUIDE_REMOVED: lambda e, d: (
        f"Service guide {d.get('title')} of agency {d.get('agency')} removed by "
        f"{who(e['actor'])}."),
    EventType.PUBLIC_ENTRY_PUBLISHED: lambda e, d: (
        f"{d.get('title')} ({d.get('kind')} of agency {d.get('agency')}) published on the public "
        f"site by {who(e['actor'])}."),
    EventType.ANNUAL_REPORT_PUBLISHED: lambda e, d: (
        f"The statistics of {d.get('year')} of agency {d.get('agency')} published by "
        f"{who(e['actor'])} (SHA-256 {d.get('sha256')})."),
    EventType.PUBLIC_ENTRY_WITHDRAWN: lambda e, d: (
        f"{d.get('title')} ({d.get('kind')} of agency {d.get('agency')}) taken off the public "
        f"site by {who(e['actor'])}: {d.get('reason')}."),
    EventType.MAJOR_CATALOGUE_SET: lambda e, d: (
        f"Major-decision catalogue of agency {d.get('agency')}, version {d.get('version')}, "
        f"set by {who(e['actor'])}."),
    EventType.CALENDAR_YEAR_ENTERED: lambda e, d: (
        f"The official calendar of {d.get('year')} ({len(d.get('holidays') or [])} holiday(s), "
        f"{len(d.get('workdays') or [])} adjusted working day(s)) entered from the notice "
        f"\u201c{d.get('notice')}\u201d by {who(e['actor'])}"
        + (f", replacing the entry from \u201c{d.get('replaces')}\u201d" if d.get("replaces") else "")
        + "."),
    EventType.USER_CREATED: lambda e, d: (
        f"Account {d.get('user')} ({d.get('role')}) created by {who(e['actor'])}."),
    EventType.USER_REVOKED: lambda e, d: (
        f"Account {d.get('user')} revoked by {who(e['actor'])}."),
    EventType.USER_TOKEN_ROTATED: lambda e, d: (
        f"A new bearer token for account {d.get('user')} issued by {who(e['actor'])}, valid until "
        f"{d.get('token_expires_at')}; the old one stopped working."),
    EventType.USER_PASSWORD_SET: lambda e, d: (
        f"A {'new ' if d.get('reset') else ''}password for account {d.get('user')} set by "
        f"{who(e['actor'])}; {_sessions_ended(d)}"
        f"{'; its lockout was lifted' if d.get('unlocked') else ''}."),
    EventType.USER_PASSWORD_CHANGED: lambda e, d: (
        f"Account {d.get('user')} changed its own password (giving the old one); "
        f"{d.get('sessions_ended', 'its')} other browser session(s) ended."),
    EventType.USER_LOCKED: lambda e, d: (
        f"Account {d.get('user')} locked until {when(d.get('locked_until'))} after "
        f"{d.get('failures')} failed sign-ins (the last from {d.get('address')})."),
    EventType.USER_UNLOCKED: lambda e, d: (
        f"Account {d.get('user')} unlocked by {who(e['actor'])}."),
    EventType.USER_SIGNED_IN: lambda e, d: (
        f"{who(e['actor']).capitalize()} signed in {_sign_in_method(d)} from {d.get('address')} "
        f"(browser session {d.get('session')})."),
    EventType.USER_SIGNED_OUT: lambda e, d: (
        f"Browser session {d.get('session')} of account {d.get('user')} ended by "
        f"{who(e['actor'])} ({d.get('reason')})."),
    EventType.USER_TOKEN_REVOKED: lambda e, d: (
        f"The bearer token of account {d.get('user')} ended by {who(e['actor'])}; the account "
        "stays, and gets a token again only when one is issued."),
    EventType.USER_CHANGED: _user_changed,
    EventType.VERIFY_STARTED: lambda e, d: (
        f"A check of the whole custody log (job {d.get('job')}"
        f"{', stored files included' if d.get('objects') else ''}) started by {who(e['actor'])}."),
    EventType.VERIFY_FINISHED: _verify_finished,
}


def _sessions_ended(d: Mapping[str, Any]) -> str:
    count = d.get("sessions_ended")
    return f"{count} browser session(s) of the account ended" if isinstance(count, int) \
        else "the account's browser sessions ended"


def _sign_in_method(d: Mapping[str, Any]) -> str:
    if d.get("method") == "oidc":
        return f"through single sign-on ({d.get('issuer')}, subject {d.get('subject')})"
    return "with a password"


def describe(event: Event) -> str:
    """One plain-language sentence for a custody event."""
    details = event.get("details") or {}
    sentence = _SENTENCES.get(str(event.get("type")))
    if sentence is None:
        return f"{event.get('type')} by {who(str(event.get('actor')))}."
    return sentence(event, details)


_STYLE = """
body{font-family:serif;max-width:60em;margin:2em auto;line-height:1.4;color:#111}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eee}.hash{font-family:monospace;word-break:break-all}
"""


def _row(label: str, value: Any, css: str = "") -> str:
    shown = "—" if value is None or value == "" else str(value)
    klass = f' class="{css}"' if css else ""
    return f"<tr><th>{escape(label)}</th><td{klass}>{escape(shown)}</td></tr>"


def _events_table(seqs: list[int], events: Mapping[int, Event], *,
                  name_subject: bool = False) -> str:
    rows = [f"<tr><td>{seq}</td><td>{escape(when(events[seq].get('time')))}</td>"
            f"<td>{escape(describe(events[seq]) + _subject(events[seq], name_subject))}</td></tr>"
            for seq in seqs if seq in events]
    if not rows:
        return "<p>No custody events.</p>"
    return ("<table><tr><th>entry</th><th>time</th><th>what happened</th></tr>"
            + "".join(rows) + "</table>")


def _subject(event: Event, wanted: bool) -> str:
    subject = event.get("subject")
    if not wanted or not isinstance(subject, Mapping):
        return ""
    return f" (evidence {subject.get('evidence_id')}, SHA-256 {subject.get('sha256')})"


def _file_section(item: Mapping[str, Any], events: Mapping[int, Event]) -> str:
    meta = item.get("metadata") or {}
    codecs = " / ".join(c for c in (meta.get("video_codec"), meta.get("audio_codec")) if c)
    duration = meta.get("duration_ms")
    rows = [
        _row("file in this bundle", item["path"]),
        _row("SHA-256", item["sha256"], "hash"),
        _row("size", _size(item["size"])),
        _row("kind", meta.get("kind")),
        _row("format", " ".join(p for p in (meta.get("container"), codecs) if p)),
        _row("duration", f"{duration / 1000:.1f} s" if isinstance(duration, int) else None),
        _row("recording started", when(meta.get("start_time")) if meta.get("start_time") else None),
        _row("recorder", meta.get("device_serial")),
        _row("officer", meta.get("officer_no")),
        _row("ingested", when(meta.get("ingested_at"))),
    ]
    for copy in item.get("derivatives") or []:
        if copy.get("path"):
            rows.append(_row(f"copy {copy['name']}", f"{copy['path']} (SHA-256 {copy['sha256']})",
                             "hash"))
    return (f"<h2>{escape(str(item['original_name']))}</h2><table>{''.join(rows)}</table>"
            f"<h3>Chain of custody</h3>{_events_table(item.get('events') or [], events)}")


def render_custody_report(manifest: Mapping[str, Any], events: Mapping[int, Event]) -> str:
    """The custody report; ``events`` maps entry index to its decoded custody event."""
    case = manifest["case"]
    log = manifest["log"]
    files = manifest["files"]
    title = f"Chain of custody report: case {case['number']}"
    head = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            f"style-src 'unsafe-inline'\"><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>")
    summary = "".join([
        _row("case number", case["number"]), _row("case title", case["title"]),
        _row("case id", case["id"]), _row("files", len(files)),
        _row("bundle made by", who(manifest["created_by"])),
        _row("bundle made at", when(manifest["created_at"])),
        _row("custody log", log["origin"]), _row("log verifier key", log["vkey"], "hash"),
    ])
    case_seqs = manifest.get("case_events") or []
    return "".join([
        head, f"<h1>{escape(title)}</h1><table>{summary}</table>",
        "<p>Every event below is a numbered entry of the custody log, an append-only record "
        "signed by the evidence office. Each entry is in this bundle with a proof that the "
        "signed log contains it. The export itself is the log entry "
        f"<code>{EXPORT_EVENT}</code>, which records the SHA-256 of this bundle's manifest. "
        "See README.txt for how to check the bundle.</p>",
        "<h2>The case</h2>", _events_table(case_seqs, events, name_subject=True),
        *(_file_section(item, events) for item in files),
        "</body></html>\n",
    ])


def render_readme(manifest: Mapping[str, Any]) -> str:
    """README.txt for the recipient: what is in the bundle and how to check it."""
    case = manifest["case"]
    log = manifest["log"]
    return f"""Case bundle: case {case['number']} ({case['title']})
Made by {who(manifest['created_by'])} at {when(manifest['created_at'])}. Format {BUNDLE_FORMAT}.

WHAT IS IN IT
  {MANIFEST}            the case, every file with its SHA-256 and size, the custody events
  originals/               the original files, named by SHA-256 (original names in {MANIFEST})
  playback/                playback copies, if they were asked for
  custody-report.html      the chain of custody in plain language
  {ENTRIES_DIR}<n>.json  custody log entry n, its exact bytes
  {PROOFS_DIR}<n>.json   proof that entry n is in the signed log
  {CHECKPOINT}       the signed state (checkpoint) of the custody log
  {VKEY}             the log's public key, as named in the bundle:
                           {log['vkey']}

Do not trust the key in the bundle on its own word: someone who replaced the
files could replace the key too. Obtain the evidence office's key from the office
itself (a letter, its website) and compare it with the one above.

CHECK IT WITH THE TOOL
  evidence verify-bundle BUNDLE.zip --vkey 'KEY-FROM-THE-OFFICE'
Exit status 0 means intact; 1 means something was changed, and the report says what.

CHECK IT BY HAND
1. Files: `sha256sum` each file; compare with "sha256" and "size" in {MANIFEST}
   (files, their "derivatives" with a "path", and "documents").
2. The manifest is sealed by the custody log: one entry in {ENTRIES_DIR} has
   "type":"{EXPORT_EVENT}"; its details.manifest_sha256 must equal
   `sha256sum {MANIFEST}`, and its details.case_id the case id.
3. Each entry is canonical JSON (RFC 8785). Its leaf hash is SHA-256 of one zero
   byte followed by the file's bytes:
     (printf '\\000'; cat {ENTRIES_DIR}N.json) | sha256sum
   which must equal "leaf_hash" in {PROOFS_DIR}N.json. The "proof" list is an
   RFC 9162 section 2.1.3.2 inclusion proof of entry "index" in a tree of "size"
   entries; interior nodes are SHA-256(0x01 || left || right). It must lead to the
   root hash in {CHECKPOINT}. One proof at a time:
     evidence log check-proof {PROOFS_DIR}N.json --vkey 'KEY-FROM-THE-OFFICE'
4. {CHECKPOINT} is a C2SP signed note (c2sp.org/signed-note) holding a C2SP
   tlog-checkpoint: origin line, tree size, base64 root hash. The signature line is
   "— <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>", signed over
   the text before the blank line. The key is "<name>+<hex key id>+<base64(0x01 ||
   32-byte Ed25519 public key)>"; the key id is the first 4 bytes of
   SHA-256(name || 0x0A || 0x01 || public key).
5. Each original must have an entry of type EventType.FILE_INGESTED whose subject
   names its evidence id and SHA-256: that is the record of it being taken in.
"""
