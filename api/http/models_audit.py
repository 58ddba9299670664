"""Bodies of the audit and administration routes: events filtered, proofs explained,
checkpoint history, verify jobs, user and recorder changes, legal holds."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.http.models import (
    AuditorScope,
    CustodyEventOut,
    EvidenceSummaryOut,
    InclusionProofOut,
    OfficerNo,
    OrgName,
    PageInfo,
    Strict,
    UnitCode,
    VerifyReportOut,
)
from cases.users import Role


class EventPage(PageInfo):
    items: list[CustodyEventOut]


class ProofStepOut(BaseModel):
    sibling: str = Field(description="Hash (hex) of the subtree next to the path at this level.")
    side: Literal["left", "right"] = Field(description="Where the sibling sits.")
    first: int = Field(description="First entry the sibling's subtree covers.")
    end: int = Field(description="One past the last entry it covers.")
    left: str = Field(description="The left input of this step (hex).")
    right: str = Field(description="The right input of this step (hex).")
    hash: str = Field(description="SHA-256(0x01 || left || right), hex: the next step's input.")


class CheckpointOut(BaseModel):
    note: str = Field(description="The signed checkpoint exactly as stored (C2SP signed note).")
    origin: str | None
    size: int | None = Field(description="Entries the checkpoint signs (null if unreadable).")
    root_hash: str | None = Field(description="The root it signs, hex.")
    signature_ok: bool = Field(description="The signature verifies with the log's key "
                                           "(GET /custody/key) for the log's origin.")
    key_name: str = Field(description="The name of the key it was checked with.")
    problem: str | None


class EntryProofOut(BaseModel):
    entry: CustodyEventOut = Field(description="The entry, decoded.")
    index: int
    size: int = Field(description="The signed tree the entry is proven in.")
    leaf: str = Field(description="The entry's exact bytes, base64.")
    leaf_hash: str = Field(description="SHA-256(0x00 || bytes), hex, computed from the bytes.")
    stored_leaf_hash: str = Field(description="The leaf hash the log's table holds.")
    steps: list[ProofStepOut] = Field(description="From the leaf hash to the root, in order.")
    root: str = Field(description="Where the steps lead, hex; must equal the checkpoint's root.")
    checkpoint: CheckpointOut
    checkpoint_created_at: datetime | None
    verified: bool = Field(description="The server's verdict: every check passed.")
    problems: list[str] = Field(description="Each check that failed, in words.")
    offline_check: str | None = Field(
        description="Null when the offline checker (`evidence log check-proof`) accepts the "
                    "document; else its refusal.")
    document: InclusionProofOut = Field(
        description="The proof as `evidence log prove --json` writes it: save it and run "
                    "`evidence log check-proof FILE --vkey KEY` to check it yourself.")


class BreakOut(BaseModel):
    kind: Literal["bad_signature", "altered", "numbering_gap", "rolled_back", "beyond_log",
                  "root_mismatch", "inconsistent", "unreadable"]
    message: str


class HistoryItemOut(BaseModel):
    number: int = Field(description="The checkpoint's number, in the order they were stored.")
    size: int = Field(description="Size stored beside the note.")
    root_hash: str = Field(description="Root stored beside the note, hex.")
    created_at: datetime
    checkpoint: CheckpointOut
    previous: int | None = Field(description="The number of the checkpoint stored before it.")
    compared_with: int | None = Field(
        description="The nearest older checkpoint whose signature verifies: the one it must "
                    "extend.")
    breaks: list[BreakOut] = Field(
        description="What does not hold between it and the previous one or the log now; "
                    "empty when it is signed, matches the log and extends the previous one.")


class WitnessedOut(BaseModel):
    kind: Literal["missing", "forked"]
    seq: int = Field(description="The custody:verify:finished entry that recorded it.")
    size: int
    root_hash: str
    message: str


class CheckpointHistoryOut(PageInfo):
    log_size: int = Field(description="Entries in the log now.")
    items: list[HistoryItemOut] = Field(description="Newest first.")
    witnessed: list[WitnessedOut] = Field(
        description="Checkpoints an intact verify recorded that are no longer stored as they "
                    "were (deleted, or the log rewritten).")


class NumberedCheckpointOut(BaseModel):
    number: int
    created_at: datetime
    checkpoint: CheckpointOut


class CheckpointConsistencyOut(BaseModel):
    old: NumberedCheckpointOut
    new: NumberedCheckpointOut
    log_size: int
    proof: list[str] = Field(description="RFC 9162 consistency proof (hex), from the stored "
                                         "nodes; empty when none could be built.")
    verified: bool = Field(description="The newer signed tree extends the older one.")
    problem: str | None


class VerifyJobIn(Strict):
    objects: bool = Field(False, description="Also re-hash every stored object (slow).")


class VerifyProgressOut(BaseModel):
    phase: str | None = Field(description="entries, nodes, head, checkpoints, documents, "
                                          "catalog or objects; null before it starts.")
    checked: int = Field(description="Items of the phase checked so far.")
    total: int | None = Field(description="Items in the phase, when known.")


class VerifyJobOut(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed"]
    objects: bool
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: VerifyProgressOut
    ok: bool | None = Field(description="Set when done: the log (and catalogue) are intact.")
    report: VerifyReportOut | None = Field(description="Set when done: as GET /verify.")
    error: str | None = Field(description="Set when failed: why.")


class VerifyJobPage(PageInfo):
    items: list[VerifyJobOut]


class UserChangeIn(Strict):
    role: Role | None = None
    unit: UnitCode | None = Field(None, description="Another unit (of the same agency, unless "
                                                    "the operator moves them).")
    officer_no: OfficerNo | None = None
    auditor_scope: AuditorScope | None = Field(
        None, description="Auditors: the agency they audit. Dropped when the role stops "
                          "being auditor.")


class DeviceChangeIn(Strict):
    officer_no: OfficerNo | None = None
    officer_name: OrgName | None = None
    unit: UnitCode | None = None


class HeldItemOut(EvidenceSummaryOut):
    unit: str | None
    hold_placed_at: str | None = Field(description="Time of the evidence:hold:placed event.")
    hold_placed_by: str | None
    hold_reason: str | None
    hold_seq: int | None = Field(description="That event's entry (null: no event names it; "
                                             "run the verifier).")


class HoldPage(PageInfo):
    items: list[HeldItemOut]
