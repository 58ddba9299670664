// Words of enforcement actions and their legal review (cases/actions.py, legal_review.py):
// kinds, states, opinions, the checklist's eight points, and each step of the custody log
// as a sentence, in the person's language.

import { h, link } from "./core.js";
import { who } from "./custody.js";
import { eventTypeName } from "./event_types.js";
import { t } from "./i18n.js";
import { MISSING, show } from "./format.js";
import { timeNode, wallClock } from "./time.js";

const ACTION_KINDS = {
  licensing: () => t("licensing"),
  penalty: () => t("penalty"),
  compulsory: () => t("compulsory measure"),
  levy: () => t("levy or expropriation"),
  inspection: () => t("inspection"),
};

export function actionKindName(kind) {
  return ACTION_KINDS[kind] ? ACTION_KINDS[kind]() : show(kind);
}

export function actionStateName(state) {
  if (state === "draft") return t("decision not yet recorded");
  if (state === "decided") return t("decision recorded");
  return show(state);
}

export function partyText(party) {
  const kind = party.kind === "person" ? t("person") : t("organisation");
  return party.id_number ? t("{name} ({kind}, {id})", { name: party.name, kind, id: party.id_number })
    : t("{name} ({kind})", { name: party.name, kind });
}

const DOCUMENT_KINDS = {
  form: () => t("form"),
  transcript: () => t("transcript"),
  notice: () => t("notice"),
  decision: () => t("decision"),
  draft_decision: () => t("draft decision"),
  scan: () => t("signed paper, scanned"),
  investigation_report: () => t("investigation report"),
  rights_notice: () => t("notice of the party's rights"),
  statement: () => t("party's statement"),
  hearing_record: () => t("hearing record"),
  evidence_list: () => t("evidence list"),
  application: () => t("application"),
  service_receipt: () => t("receipt of service"),
  other: () => t("other document"),
};

// A document's kind, or the footage's (video, photo).
export function itemKindName(item, mediaKindName) {
  if (item.document_kind) return DOCUMENT_KINDS[item.document_kind] ? DOCUMENT_KINDS[item.document_kind]() : show(item.document_kind);
  return mediaKindName(item.kind);
}

export function opinionName(opinion) {
  if (opinion === "pass") return t("passed");
  if (opinion === "fail") return t("failed");
  if (opinion === "return") return t("returned for more material");
  return opinion ? show(opinion) : t("waiting for the reviewer");
}

export function rulingName(ruling) {
  if (ruling === "upheld") return t("opinion upheld");
  if (ruling === "overturned") return t("opinion overturned (counts as a pass)");
  return show(ruling);
}

// The plan's eight points, in its order (cases/legal_review.py CHECKLIST).
export const CHECKLIST = [
  ["enforcing_body_lawful", () => t("The enforcing body is lawful")],
  ["officers_qualified", () => t("The officers hold enforcement qualification")],
  ["procedure_lawful", () => t("The procedure is lawful")],
  ["facts_and_evidence", () => t("The facts are clear and the evidence lawful and sufficient")],
  ["law_and_discretion", () => t("The law applied is correct and the discretion standard appropriate")],
  ["within_authority", () => t("No excess of authority or abuse of power")],
  ["documents_in_order", () => t("The documents are complete and in order")],
  ["possible_crime", () => t("Whether the conduct may be a crime to transfer to the judicial organs")],
];

export function resultName(result) {
  if (result === "pass") return t("passed");
  if (result === "fail") return t("failed");
  if (result === "material") return t("needs material");
  return show(result);
}

// A due date (a calendar date in Asia/Shanghai), marked unconfirmed while the official
// holiday calendar of the days counted is not published, with "overdue" in words when it is.
export function dueNode(packet) {
  return h("span", { class: "due" }, packet.due,
    packet.due_confirmed === false ? [" ", h("span", { class: "note unconfirmed" }, t("(unconfirmed: the official holiday calendar for these days is not published yet)"))] : null,
    packet.overdue ? [" ", h("strong", { class: "overdue" }, t("Overdue"))] : null);
}

// A due date in a sentence, "unconfirmed" when it may still move.
export function dueText(packet) {
  return packet.due_confirmed === false ? t("{due} (unconfirmed)", { due: packet.due }) : packet.due;
}

// Today's calendar date in Asia/Shanghai (YYYY-MM-DD): the latest day an opinion can have
// been given or a decision served.
export function shanghaiToday() {
  const w = wallClock(Date.now(), "Asia/Shanghai");
  return `${w.year}-${String(w.month).padStart(2, "0")}-${String(w.day).padStart(2, "0")}`;
}

export const ADVISER_KINDS = [
  ["legal_adviser", () => t("legal adviser")],
  ["government_lawyer", () => t("government lawyer")],
];

export function adviserKindName(kind) {
  const found = ADVISER_KINDS.find(([value]) => value === kind);
  return found ? found[1]() : show(kind);
}

export const SERVICE_METHODS = [
  ["direct", () => t("served directly")],
  ["post", () => t("by post")],
  ["left", () => t("left at the address")],
  ["electronic", () => t("electronically")],
  ["public_notice", () => t("by public notice")],
];

export function serviceMethodName(method) {
  const found = SERVICE_METHODS.find(([value]) => value === method);
  return found ? found[1]() : show(method);
}

function short(hash) {
  return hash ? String(hash).slice(0, 12) + "…" : MISSING;
}

const STEPS = {
  "case:action:opened": () => t("Action opened."),
  "case:action:handlers-assigned": (d) => t("Handling officers named: {officers}.", {
    officers: (d.officers || []).map((o) => (o && o.user ? t("{name} (certificate {number})", { name: o.user, number: show(o.certificate) }) : show(o))).join(", ") || MISSING }),
  "case:action:marked-major": (d) => t("Marked major by hand: {reason}.", { reason: show(d.reason) }),
  "case:action:materials-set": (d) => t("Draft decision and materials set (packet {hash}).", { hash: short(d.packet_sha256) }),
  "case:review:submitted": (d) => t("Submitted for legal review: {items} items, packet {hash}, due {due}.",
    { items: show(d.items), hash: short(d.packet_sha256), due: show(d.due) }),
  "case:review:opinion": (d) => t("Review opinion: {opinion}. Reasons: {reasons}", { opinion: opinionName(d.opinion), reasons: show(d.reasons) }),
  "case:review:contested": (d) => t("Opinion contested: {reason}", { reason: show(d.reason) }),
  "case:review:ruled": (d) => t("Principal's ruling: {ruling}. Reason: {reason}", { ruling: rulingName(d.ruling), reason: show(d.reason) }),
  "case:review:approved": () => t("Approved by the approving head."),
  "case:action:decided": () => t("Decision recorded."),
  "case:review:voided": () => t("Review voided: the materials changed after the submission."),
  "case:review:advice-requested": () => t("A legal adviser's or government lawyer's opinion was requested."),
  "case:review:advice-recorded": () => t("A legal adviser's or government lawyer's opinion was recorded."),
  "case:review:packet-exported": (d) => t("Review packet {hash} exported as a bundle.", { hash: short(d.packet_sha256) }),
  "case:action:decision-served": () => t("Service of the decision recorded."),
};

// The action's steps as a list: what, who, when (in the person's zone), each linked to its
// custody entry.
export function stepList(steps) {
  if (!steps.length) return h("p", { id: "action-steps" }, t("No steps yet."));
  return h("ol", { id: "action-steps", class: "steps" }, steps.map((step) => {
    const sentence = STEPS[step.type] ? STEPS[step.type](step.details || {}) : eventTypeName(step.type);
    return h("li", { "data-type": step.type },
      h("span", { class: "step-what" }, sentence), " ",
      h("span", { class: "step-who" }, t("by {actor}", { actor: who(step.actor) })), " ",
      timeNode(step.time), " ",
      link(`/custody/entries/${step.seq}`, t("entry {seq}", { seq: step.seq })));
  }));
}
