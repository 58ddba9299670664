// One enforcement action, as its handling officer follows it through the legal review
// (法制审核): its facts, why it is major, its draft decision and cited items, its steps from
// the custody log, and — first — what blocks the next step, in the gate's own words.
// Setting the materials, submitting (送审), contesting an opinion and recording the decision
// are done here; the API refuses what the gate does not allow, and the page says why. After
// the decision, its service (送达) is recorded here; each packet downloads as a bundle.

import { act, api, apiUrl, go, h, link, route, say, session } from "../core.js";
import { ask } from "../dialog.js";
import { t } from "../i18n.js";
import { MISSING, joined, kindName, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { check, definitions, field, hashCode, section, table } from "../ui.js";
import {
  SERVICE_METHODS, actionKindName, actionStateName, dueNode, dueText, itemKindName, opinionName, partyText,
  rulingName, serviceMethodName, shanghaiToday, stepList,
} from "../review_words.js";

async function actionView(view, { params }) {
  const id = params.id;
  const state = await api(`/actions/${id}/review-state`);
  const action = state.action;
  const manage = can.manageCases(session.user) && action.state === "draft";
  const [theCase, documents] = manage
    ? await Promise.all([api(`/cases/${action.case_id}`), api(`/cases/${action.case_id}/documents`)])
    : [null, null];
  const served = action.state === "decided" ? (await api(`/actions/${id}/service`)).items : null;
  const reload = async (message) => {
    await go(`/actions/${id}`);
    say(message);
  };

  view.append(
    h("p", { class: "back" }, link(`/cases/${action.case_id}`, t("← Case {number}", { number: state.case_number }))),
    h("h1", {}, t("Enforcement action: {matter}", { matter: action.matter })),
    nextStep(state),
    definitions([
      [t("Kind"), actionKindName(action.kind)],
      [t("Enforcement matter"), action.matter],
      [t("Party"), partyText(action.party)],
      [t("Date of the action"), action.action_date],
      [t("On-site work"), action.on_site ? t("yes") : t("no")],
      [t("Handling officers"), joined(action.officers)],
      [t("State"), actionStateName(action.state)],
      [t("Major decision"), h("span", { id: "action-major" },
        state.major ? t("Yes: {reason}", { reason: state.major }) : t("No: no rule of the catalogue matches and it was not marked major"))],
    ]),
    section("materials-h", t("Draft decision and cited materials"), materials(state),
      manage ? materialsForm(state, theCase, documents, reload) : null),
    section("steps-h", t("Steps"), stepList(state.steps)),
    section("packets-h", t("Reviews"), packets(state, manage, reload)),
    manage ? section("decide-h", t("Decision"), decideForm(id, reload)) : null,
    served ? section("service-h", t("Service of the decision"), serviceList(served),
      can.manageCases(session.user) ? serviceForm(id, reload) : null) : null);
}

// What blocks the next step, said first (the gate's own words), and what to do next.
function nextStep(state) {
  const action = state.action;
  const latest = state.packets.length ? state.packets[state.packets.length - 1] : null;
  const current = latest && latest.sha256 === state.packet_sha256 && !latest.voided_at ? latest : null;
  let next;
  if (action.state === "decided") next = t("The decision is recorded.");
  else if (!state.draft) next = t("Next: set the draft decision and the materials it cites.");
  else if (!current && state.major) next = t("Next: submit the draft decision and materials for legal review.");
  else if (current && current.opinion === null) next = t("Next: the legal reviewer gives an opinion, due {due}.", { due: dueText(current) });
  else if (current && current.opinion === "return" && !current.contested) next = t("Next: add the missing material, set the materials again and resubmit; or contest the opinion.");
  else if (current && current.opinion === "fail" && !current.contested) next = t("Next: change the decision and resubmit; or contest the opinion.");
  else if (current && current.contested && current.ruling === null) next = t("Next: the agency's principal rules on the contest.");
  else if (current && current.ruling === "upheld") next = t("Next: change the decision or add material, and resubmit.");
  else if (state.blocking) next = t("Next: the approving head signs off the passed review.");
  else next = t("Next: record the decision.");
  // Without a draft the decision cannot be recorded, major or not.
  const reason = state.blocking || (state.draft ? null : t("the action has no draft decision yet"));
  const blocked = action.state === "draft" && reason;
  return h("div", { id: "next-step", class: blocked ? "verdict bad" : "verdict ok", role: "status" },
    blocked ? h("p", { id: "blocking" }, t("The decision cannot be recorded yet: {reason}", { reason }))
      : action.state === "draft" ? h("p", { id: "blocking" }, t("Nothing blocks the decision: it can be recorded.")) : null,
    h("p", { id: "next-step-text" }, next));
}

function materials(state) {
  if (!state.draft) return h("p", { id: "materials" }, t("No draft decision is set yet."));
  const rows = [state.draft, ...state.cited].map((item, i) => [
    i === 0 ? t("Draft decision") : t("Cited"),
    link(`/evidence/${item.evidence_id}`, show(item.name)),
    itemKindName(item, kindName),
    hashCode(item.sha256, false)]);
  const facts = state.facts || {};
  return [
    table({ id: "materials", caption: t("Items of the packet: {count}", { count: rows.length }),
      columns: [t("Role"), t("Name"), t("Kind"), t("SHA-256")], rows }),
    definitions([
      [t("Fine"), facts.fine === undefined ? MISSING : t("{amount} yuan", { amount: facts.fine })],
      [t("Also"), joined([facts.licence_revoked ? t("licence revoked") : null,
        facts.business_closed ? t("business closed") : null, facts.after_hearing ? t("after a hearing") : null])],
      [t("Packet hash"), hashCode(state.packet_sha256, true)],
    ])];
}

// The draft is one of the case's documents; the cited items any of its documents and footage.
function materialsForm(state, theCase, documents, reload) {
  const kinds = new Map(documents.items.map((d) => [d.evidence_id, d.kind]));
  const chosen = new Set(state.cited.map((i) => i.evidence_id));
  const draftId = state.draft ? state.draft.evidence_id
    : (documents.items.find((d) => d.kind === "draft_decision") || {}).evidence_id;
  const draft = h("select", { id: "materials-draft", name: "draft", required: true },
    documents.items.map((d) => h("option", { value: d.evidence_id, selected: d.evidence_id === draftId }, d.name)));
  const boxes = theCase.evidence.map((e, i) => h("input", { type: "checkbox", id: `cite-${i}`, name: "cited",
    value: e.evidence_id, checked: chosen.has(e.evidence_id) }));
  const facts = state.facts || {};
  const fine = h("input", { id: "materials-fine", name: "fine", type: "number", min: "0", step: "1", inputmode: "numeric",
    value: facts.fine === undefined ? "" : String(facts.fine) });
  const flags = [["licence_revoked", t("Revokes a licence")], ["business_closed", t("Closes a business")],
    ["after_hearing", t("Made after a hearing")]].map(([name, label]) =>
    [name, h("input", { type: "checkbox", id: `materials-${name}`, name, checked: Boolean(facts[name]) }), label]);
  const button = h("button", { type: "submit" }, t("Set the materials"));
  const form = h("form", { id: "materials-form", class: "card" },
    h("h3", {}, t("Set the draft decision and materials")),
    h("p", {}, t("Changing them after a review voids that review: the changed materials need a review of their own.")),
    documents.items.length ? field(t("Draft decision"), draft, t("A document of the case (add it to the case first).")) :
      h("p", {}, t("The case has no documents yet: add the draft decision to the case first.")),
    h("fieldset", { class: "flags" }, h("legend", {}, t("Cited items (documents and footage of the case)")),
      h("div", { class: "flag-list" }, theCase.evidence.map((e, i) => check(boxes[i],
        t("{name} ({kind})", { name: e.original_name, kind: kinds.has(e.evidence_id) ? t("document") : t("footage") }))))),
    field(t("Fine (yuan)"), fine),
    h("div", { class: "flag-list" }, flags.map(([, box, label]) => check(box, label))),
    button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const cited = boxes.filter((b) => b.checked && b.value !== draft.value).map((b) => b.value);
      const body = { draft: draft.value, cited, facts: {} };
      if (fine.value !== "") body.facts.fine = Number.parseInt(fine.value, 10);
      for (const [name, box] of flags) if (box.checked) body.facts[name] = true;
      await api(`/actions/${state.action.id}/materials`, { method: "PUT", body });
      await reload(t("The draft decision and materials were set."));
    });
  });
  return form;
}

function packets(state, manage, reload) {
  const parts = [];
  if (!state.packets.length) parts.push(h("p", { id: "packets" }, t("Not submitted for legal review yet.")));
  else {
    parts.push(table({ id: "packets", caption: t("Submissions for legal review, oldest first"),
      columns: [t("Submitted"), t("Due"), t("Opinion"), t("Contest"), t("Approved by"), t("Packet")],
      rows: state.packets.map((p) => [
        [timeNode(p.submitted_at), " ", t("by {actor}", { actor: p.submitted_by })],
        dueNode(p),
        p.opinion ? t("{opinion} (by {name})", { opinion: opinionName(p.opinion), name: p.reviewed_by }) : opinionName(null),
        p.contested ? (p.ruling ? rulingName(p.ruling) : t("contested, waiting for the principal")) : MISSING,
        show(p.approved_by),
        [link(`/reviews/${p.id}`, t("Open the review")), " ", p.voided_at
          ? h("span", { class: "note" }, t("(voided: the materials changed)"))
          : p.sha256 === state.packet_sha256 ? null
            : h("span", { class: "note" }, t("(other materials: no longer counts)")),
          can.exportCases(session.user) ? [" ", bundleLink(p)] : null]]) }));
  }
  if (manage) {
    const submit = h("button", { type: "button", id: "submit-review", disabled: !state.draft }, t("Submit for legal review"));
    submit.addEventListener("click", () => act(submit, async () => {
      const packet = await api(`/actions/${state.action.id}/reviews`, { method: "POST" });
      await reload(t("Submitted for legal review; due {due}.", { due: packet.due }));
    }));
    parts.push(h("div", { class: "actions" }, submit));
    const latest = state.packets[state.packets.length - 1];
    if (latest && (latest.opinion === "fail" || latest.opinion === "return") && !latest.contested) {
      parts.push(contestButton(latest, reload));
    }
  }
  return parts;
}

// The packet's bundle (ZIP: listing, items, custody events with proofs) for offline checks.
function bundleLink(packet) {
  return h("a", { class: "bundle-link", href: apiUrl(`/reviews/${packet.id}/bundle`).pathname, download: "" },
    t("Download the review packet bundle"));
}

function serviceList(served) {
  if (!served.length) return h("p", { id: "service" }, t("The service of the decision is not recorded yet."));
  return table({ id: "service", caption: t("Service of the decision: {count}", { count: served.length }),
    columns: [t("Served on"), t("Method"), t("Recipient"), t("Recorded")],
    rows: served.map((s) => [s.served_on, serviceMethodName(s.method), s.recipient,
      [timeNode(s.recorded_at), " ", t("by {actor}", { actor: s.recorded_by })]]) });
}

function serviceForm(id, reload) {
  const today = shanghaiToday();
  const day = h("input", { id: "service-day", name: "served_on", type: "date", required: true, max: today, value: today });
  const method = h("select", { id: "service-method", name: "method", required: true },
    SERVICE_METHODS.map(([value, label]) => h("option", { value }, label())));
  const recipient = h("input", { id: "service-recipient", name: "recipient", required: true, maxlength: "200" });
  const button = h("button", { type: "submit", id: "service-submit" }, t("Record the service"));
  const form = h("form", { id: "service-form", class: "card" },
    h("h3", {}, t("Record how the decision was served")),
    field(t("Served on"), day, t("The day it was served (Asia/Shanghai).")), field(t("Method"), method),
    field(t("Recipient"), recipient, t("Who received it: the party or the person who signed for it.")), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      await api(`/actions/${id}/service`, { method: "POST",
        body: { served_on: day.value, method: method.value, recipient: recipient.value.trim() } });
      await reload(t("The service of the decision was recorded."));
    });
  });
  return form;
}

function contestButton(packet, reload) {
  const button = h("button", { type: "button", id: "contest-button", class: "secondary" }, t("Contest this opinion"));
  button.addEventListener("click", async () => {
    const reason = h("textarea", { id: "contest-reason", name: "reason", required: true, maxlength: "500", rows: "3" });
    const ok = await ask({ id: "contest-dialog", title: t("Contest the review opinion?"),
      text: t("The contest goes to the agency's principal, whose ruling is recorded."),
      fields: [field(t("Why the opinion is wrong"), reason)], confirm: t("Contest") });
    if (!ok) return;
    act(button, async () => {
      await api(`/reviews/${packet.id}/contest`, { method: "POST", body: { reason: reason.value.trim() } });
      await reload(t("The opinion was contested; the principal will rule on it."));
    });
  });
  return h("div", { class: "actions" }, button);
}

function decideForm(id, reload) {
  const button = h("button", { type: "button", id: "decide-button" }, t("Record the decision"));
  button.addEventListener("click", () => act(button, async () => {
    await api(`/actions/${id}/decision`, { method: "POST" });
    await reload(t("The decision was recorded."));
  }));
  return [h("p", {}, t("A major decision can be recorded only after a passed legal review of exactly the current materials and the approving head's sign-off; otherwise the refusal says what is missing.")),
    h("div", { class: "actions" }, button)];
}

route({ path: "/actions/:id", view: actionView, allow: can.readCases });
