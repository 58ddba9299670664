"""Every custody event type, in one vocabulary.

The code that writes events names them from here, and the custody report that
explains them to a court clerk (``cases.bundle_report``) keys its sentences by
the same members, so a new type cannot be written without being known. Values
are the exact ``type`` strings in the log: ``<area>:<object>:<action>``.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    # a file's life as evidence
    FILE_INGESTED = "evidence:file:ingested"
    FILE_VERIFIED = "evidence:file:verified"
    FILE_SEEN_AGAIN = "evidence:file:seen-again"
    FILE_PROBED = "evidence:file:probed"
    FILE_DERIVED = "evidence:file:derived"
    FILE_VIEWED = "evidence:file:viewed"
    FILE_DOWNLOADED = "evidence:file:downloaded"
    FILE_WIPED = "evidence:file:wiped"
    FILE_DELETED = "evidence:file:deleted"
    ACCESS_GRANTED = "evidence:access:granted"
    HOLD_PLACED = "evidence:hold:placed"
    HOLD_RELEASED = "evidence:hold:released"
    RECORDING_EXPORTED = "evidence:recording:exported"
    OBJECT_ORPHANED = "evidence:object:orphaned"  # a stored original no ingest recorded
    # redacted copies for publication (cases/redactions.py)
    REDACTION_REQUESTED = "evidence:redaction:requested"
    REDACTION_APPROVED = "evidence:redaction:approved"
    REDACTION_REFUSED = "evidence:redaction:refused"
    REDACTION_DOWNLOADED = "evidence:redaction:downloaded"
    # cases
    CASE_CREATED = "case:record:created"
    CASE_EVIDENCE_ATTACHED = "case:evidence:attached"
    CASE_EVIDENCE_DETACHED = "case:evidence:detached"
    CASE_OFFICER_ASSIGNED = "case:officer:assigned"
    CASE_OFFICER_REMOVED = "case:officer:removed"
    CASE_BUNDLE_REQUESTED = "case:bundle:requested"
    CASE_BUNDLE_EXPORTED = "case:bundle:exported"
    CASE_BUNDLE_DOWNLOADED = "case:bundle:downloaded"
    CASE_REVIEW_REQUESTED = "case:review:requested"
    # enforcement actions on cases (cases/actions.py)
    ACTION_OPENED = "case:action:opened"
    ACTION_HANDLERS_ASSIGNED = "case:action:handlers-assigned"
    CASE_DOCUMENT_ADDED = "case:document:added"  # a written record, stored as evidence
    ACTION_MARKED_MAJOR = "case:action:marked-major"
    ACTION_MATERIALS_SET = "case:action:materials-set"
    ACTION_DECIDED = "case:action:decided"
    ACTION_DECISION_SERVED = "case:action:decision-served"  # 送达
    # the legal review of major decisions (cases/legal_review.py)
    REVIEW_SUBMITTED = "case:review:submitted"
    REVIEW_OPINION = "case:review:opinion"
    REVIEW_CONTESTED = "case:review:contested"
    REVIEW_RULED = "case:review:ruled"
    REVIEW_APPROVED = "case:review:approved"
    REVIEW_VOIDED = "case:review:voided"  # the materials changed after the submission
    REVIEW_ADVICE_REQUESTED = "case:review:advice-requested"  # 法律顾问/公职律师意见
    REVIEW_ADVICE_RECORDED = "case:review:advice-recorded"
    REVIEW_PACKET_EXPORTED = "case:review:packet-exported"  # a bundle of the packet
    # the publication of decisions (公示, cases/publication.py)
    PUBLICATION_DRAFTED = "case:publication:drafted"  # with the decision, masked
    PUBLICATION_EDITED = "case:publication:edited"  # the working copy changed by a person
    PUBLICATION_CONFIRMED = "case:publication:confirmed"  # a person confirmed the masked text
    PUBLICATION_PUBLISHED = "case:publication:published"  # version 1 on the public site
    PUBLICATION_UPDATED = "case:publication:updated"  # a new version, with the reason
    PUBLICATION_REVOKED = "case:publication:revoked"  # withdrawn, with the reason
    # the docking station
    DEVICE_REGISTERED = "station:device:registered"
    DEVICE_REASSIGNED = "station:device:reassigned"
    DEVICE_RETIRED = "station:device:retired"
    RECORDER_DOCKED = "station:recorder:docked"
    RECORDER_IDENTIFIED = "station:recorder:identified"
    RECORDER_CLOCK_OFFSET = "station:recorder:clock-offset"
    RECORDER_FILES_FOUND = "station:recorder:files-found"
    RECORDER_UNDOCKED = "station:recorder:undocked"
    # the organisation
    AGENCY_ADDED = "org:agency:added"
    UNIT_ADDED = "org:unit:added"
    AGENCY_CASE_RULE_SET = "org:agency:case-number-rule-set"
    MATTER_ADDED = "org:matter:added"  # the agency's list of enforcement matters
    MATTER_CHANGED = "org:matter:changed"
    MAJOR_CATALOGUE_SET = "org:major-catalogue:set"  # a new version of the catalogue
    REVIEW_MATERIALS_SET = "org:review-materials:set"  # required review materials, versioned
    CALENDAR_YEAR_ENTERED = "org:calendar:year-entered"  # a year's holidays, from the notice
    # publication before the action (cases/public_lists.py)
    INSPECTION_ADDED = "org:inspection:added"  # the random-inspection list (随机抽查事项清单)
    INSPECTION_CHANGED = "org:inspection:changed"
    INSPECTION_REMOVED = "org:inspection:removed"
    GUIDE_ADDED = "org:guide:added"  # a service guide (办事指南)
    GUIDE_CHANGED = "org:guide:changed"
    GUIDE_REMOVED = "org:guide:removed"
    PUBLIC_ENTRY_PUBLISHED = "org:public-entry:published"  # on the public site, or its new text
    PUBLIC_ENTRY_WITHDRAWN = "org:public-entry:withdrawn"  # taken off the public site
    ANNUAL_REPORT_PUBLISHED = "org:annual-report:published"  # 统计年报, frozen with its hash
    # accounts
    USER_CREATED = "user:account:created"
    USER_REVOKED = "user:account:revoked"
    USER_TOKEN_ROTATED = "user:token:rotated"  # noqa: S105 (an event type, not a secret)
    # sign-in (passwords, lockout, browser sessions)
    USER_PASSWORD_SET = "user:password:set"  # noqa: S105 (an event type, not a secret)
    USER_PASSWORD_CHANGED = "user:password:changed"  # noqa: S105 (an event type, not a secret)
    USER_LOCKED = "user:account:locked"
    USER_UNLOCKED = "user:account:unlocked"
    USER_SIGNED_IN = "user:session:started"
    USER_SIGNED_OUT = "user:session:ended"
    USER_TOKEN_REVOKED = "user:token:revoked"  # noqa: S105 (an event type, not a secret)
    USER_CHANGED = "user:account:changed"
    CERTIFICATE_ADDED = "user:certificate:added"  # an enforcement certificate (执法证)
    # the custody log itself
    VERIFY_STARTED = "custody:verify:started"
    VERIFY_FINISHED = "custody:verify:finished"
