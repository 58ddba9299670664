// Custody events in sentences, the same facts as the court bundle's report
// (cases/bundle_report.py, describe()), in the person's language.

import { h } from "./core.js";
import { eventTypeName } from "./event_types.js";
import { t } from "./i18n.js";
import { bytes, show } from "./format.js";
import { timeNode, timeText } from "./time.js";
import { cell, table } from "./ui.js";

// Who did it, for a sentence: "user li.na", "station dock-1", "command line (root)".
export function who(actor) {
  const [kind, ...rest] = String(actor || "").split(":");
  const name = rest.join(":");
  if (!name) return show(actor);
  if (kind === "user") return t("user {name}", { name });
  if (kind === "station") return t("station {name}", { name });
  if (kind === "cli") return t("command line ({name})", { name });
  return `${kind} ${name}`;
}

function recorder(d) {
  if (!d.device) return t("an unidentified recorder");
  return d.officer ? t("recorder {serial} (officer {officer})", { serial: d.device, officer: d.officer })
    : t("recorder {serial}", { serial: d.device });
}

function withReason(text, d) {
  return text + " " + (d.reason ? t("Reason given: “{reason}”.", { reason: d.reason }) : t("No reason given."));
}

const SENTENCES = {
  "evidence:file:ingested": (actor, d) => t("Copied off {recorder} by {actor} from “{source}” and stored as evidence ({size}).",
    { recorder: recorder(d), actor, source: show(d.source), size: bytes(d.size) }),
  "evidence:file:verified": (actor, d) => t("Read back from storage by {actor}: the stored bytes matched (SHA-256 {sha256}).",
    { actor, sha256: show(d.read_back_sha256) }),
  "evidence:file:seen-again": (actor, d) => t("The same file was found again on {recorder} by {actor}; it was not stored twice.",
    { recorder: recorder(d), actor }),
  // The logged problem is the server's English record; the item's page says it in the
  // reader's language, so the list only says that there was one.
  "evidence:file:probed": (actor, d) => (d.error
    ? t("Media details read by {actor}: a problem was found; the item's page says what.", { actor })
    : t("Media details read by {actor}.", { actor })),
  "evidence:file:derived": (actor, d) => t("Copy “{name}” made by {actor} ({method}); its SHA-256 is {sha256}.",
    { name: show(d.name), actor, method: show(d.method), sha256: show((d.object || {}).sha256) }),
  "evidence:file:viewed": (actor, d) => withReason(d.copy === "original"
    ? t("Viewed (the original) by {actor}.", { actor }) : t("Viewed (the playback copy) by {actor}.", { actor }), d),
  "evidence:file:downloaded": (actor, d) => withReason(t("Original downloaded by {actor}.", { actor }), d),
  "evidence:file:wiped": (actor) => t("Deleted from the recorder by {actor} after the stored copy was verified.", { actor }),
  "evidence:file:deleted": (actor, d) => withReason(t("Deleted from storage by {actor}.", { actor }), d),
  "evidence:access:granted": (actor, d) => withReason(
    t("Made available by {actor} from unit {from} to case {case} of unit {to}.",
      { actor, from: show(d.from_unit), case: show(d.case_number), to: show(d.to_unit) }), d),
  "evidence:hold:placed": (actor, d) => withReason(t("Legal hold placed by {actor}.", { actor }), d),
  "evidence:hold:released": (actor, d) => withReason(t("Legal hold released by {actor}.", { actor }), d),
  "evidence:recording:exported": (actor, d) => withReason(
    t("Exported as part of a joined recording by {actor}.", { actor }), d),
  "case:record:created": (actor, d) => t("Case {number} (“{title}”) opened by {actor}.",
    { number: show(d.number), title: show(d.title), actor }),
  "case:evidence:attached": (actor, d) => {
    const until = (d.retention || {}).retain_until;
    const text = t("Attached to case {number} by {actor}.", { number: show(d.case_number), actor });
    return until ? text + " " + t("To be kept until {time}.", { time: timeText(until) }) : text;
  },
  "case:evidence:detached": (actor, d) => t("Taken off case {number} by {actor}.", { number: show(d.case_number), actor }),
  "case:officer:assigned": (actor, d) => t("{officer} assigned to the case by {actor}.", { officer: show(d.officer), actor }),
  "case:officer:removed": (actor, d) => t("{officer} removed from the case by {actor}.", { officer: show(d.officer), actor }),
  "case:review:requested": (actor, d) => t("Case {number} sent for review by {actor}.", { number: show(d.case_number), actor }),
  "case:bundle:requested": (actor, d) => withReason(t("Export of the case requested by {actor}.", { actor }), d),
  "case:bundle:exported": (actor, d) => t("Case bundle exported by {actor}: files in it: {files}; manifest SHA-256 {sha256}.",
    { actor, files: show(d.files), sha256: show(d.manifest_sha256) }),
};

export function describe(event) {
  if (event.description) return event.description; // the API's own wording, when it sends one
  if (event.problem) return t("This log entry could not be read: {problem}", { problem: event.problem });
  const sentence = SENTENCES[event.type];
  const actor = who(event.actor);
  return sentence ? sentence(actor, event.details || {}) : t("{type}, by {actor}.", { type: eventTypeName(event.type), actor });
}

// The events as a table (cards on a phone), or a sentence when there are none.
export function custodyTable(events, truncated, caption) {
  const parts = [events.length
    ? table({ id: "custody-events", caption, columns: [t("Entry"), t("Time"), t("What happened")],
      rows: events.map((event) => [cell(event.seq, "num"), timeNode(event.time), describe(event)]) })
    : h("p", {}, t("No custody events."))];
  if (truncated) parts.push(h("p", { class: "note" }, t("Only the first events are shown; an auditor can read the rest from the custody log.")));
  return parts;
}
