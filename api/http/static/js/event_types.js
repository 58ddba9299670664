// Custody event types by name, for people: the same vocabulary as domain/event_types.py.
// The filter of the events page offers them in this order, grouped by area.

import { t } from "./i18n.js";
import { show } from "./format.js";

export const EVENT_TYPE_GROUPS = [
  [() => t("Evidence"), [
    ["evidence:file:ingested", () => t("File copied off a recorder and stored")],
    ["evidence:file:verified", () => t("Stored file read back and checked")],
    ["evidence:file:seen-again", () => t("Same file found again")],
    ["evidence:file:probed", () => t("Media details read")],
    ["evidence:file:derived", () => t("Copy made (playback copy, poster)")],
    ["evidence:file:viewed", () => t("Viewed")],
    ["evidence:file:downloaded", () => t("Original downloaded")],
    ["evidence:file:wiped", () => t("Deleted from the recorder")],
    ["evidence:file:deleted", () => t("Deleted from storage")],
    ["evidence:access:granted", () => t("Made available to another unit's case")],
    ["evidence:hold:placed", () => t("Legal hold placed")],
    ["evidence:hold:released", () => t("Legal hold released")],
    ["evidence:recording:exported", () => t("Exported in a joined recording")],
    ["evidence:object:orphaned", () => t("Stored original no ingest recorded")],
  ]],
  [() => t("Cases"), [
    ["case:record:created", () => t("Case opened")],
    ["case:evidence:attached", () => t("Evidence attached to a case")],
    ["case:evidence:detached", () => t("Evidence taken off a case")],
    ["case:officer:assigned", () => t("Officer assigned to a case")],
    ["case:officer:removed", () => t("Officer removed from a case")],
    ["case:bundle:requested", () => t("Case export requested")],
    ["case:bundle:exported", () => t("Case bundle exported")],
    ["case:bundle:downloaded", () => t("Case bundle downloaded")],
    ["case:review:requested", () => t("Case sent for review")],
  ]],
  [() => t("Enforcement and legal review"), [
    ["case:action:opened", () => t("Enforcement action opened")],
    ["case:action:handlers-assigned", () => t("Handling officers named")],
    ["case:document:added", () => t("Document added to a case")],
    ["case:action:marked-major", () => t("Action marked major")],
    ["case:action:materials-set", () => t("Draft decision and materials set")],
    ["case:review:submitted", () => t("Submitted for legal review")],
    ["case:review:opinion", () => t("Legal review opinion given")],
    ["case:review:contested", () => t("Review opinion contested")],
    ["case:review:ruled", () => t("Principal ruled on a contest")],
    ["case:review:approved", () => t("Reviewed decision approved")],
    ["case:action:decided", () => t("Decision recorded")],
    ["case:review:voided", () => t("Review voided by a change of materials")],
    ["case:review:advice-requested", () => t("Legal adviser's opinion requested")],
    ["case:review:advice-recorded", () => t("Legal adviser's opinion recorded")],
    ["case:review:packet-exported", () => t("Review packet exported")],
    ["case:action:decision-served", () => t("Decision served")],
  ]],
  [() => t("Docking stations and recorders"), [
    ["station:device:registered", () => t("Recorder registered")],
    ["station:device:reassigned", () => t("Recorder reassigned")],
    ["station:device:retired", () => t("Recorder retired")],
    ["station:recorder:docked", () => t("Recorder docked")],
    ["station:recorder:identified", () => t("Recorder identified")],
    ["station:recorder:clock-offset", () => t("Recorder clock offset measured")],
    ["station:recorder:files-found", () => t("Files found on a recorder")],
    ["station:recorder:undocked", () => t("Recorder undocked")],
  ]],
  [() => t("Organisation and accounts"), [
    ["org:agency:added", () => t("Agency added")],
    ["org:unit:added", () => t("Unit added")],
    ["user:account:created", () => t("Account created")],
    ["user:account:changed", () => t("Account changed")],
    ["user:account:revoked", () => t("Account revoked")],
    ["user:account:locked", () => t("Account locked")],
    ["user:account:unlocked", () => t("Account unlocked")],
    ["user:password:set", () => t("Password set")],
    ["user:password:changed", () => t("Password changed")],
    ["user:session:started", () => t("Signed in")],
    ["user:session:ended", () => t("Signed out")],
    ["user:token:rotated", () => t("API token replaced")],
    ["user:token:revoked", () => t("API token revoked")],
  ]],
  [() => t("Custody log"), [
    ["custody:verify:started", () => t("Verification started")],
    ["custody:verify:finished", () => t("Verification finished")],
  ]],
];

const NAMES = new Map(EVENT_TYPE_GROUPS.flatMap(([, types]) => types));

// The type in words ("Viewed"); an unknown type as it is logged.
export function eventTypeName(type) {
  const name = NAMES.get(type);
  return name ? name() : show(type);
}

export function isEventType(type) {
  return NAMES.has(type);
}
