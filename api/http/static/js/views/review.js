// One review packet: what was submitted (each item with its hash, linked to its page), and
// the reviewer's checklist form: the plan's eight points, each passed, failed or needing
// material with a note, then the opinion (pass, fail, return for material) with reasons.
// Once given, the checklist and opinion are shown as recorded. Before it, the reviewer can
// ask a legal adviser or government lawyer and record the opinion they gave.

import { act, api, go, h, link, route, say, session } from "../core.js";
import { t } from "../i18n.js";
import { MISSING, bytes, joined, kindName, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { definitions, field, hashCode, section, table } from "../ui.js";
import {
  ADVISER_KINDS, CHECKLIST, actionKindName, adviserKindName, dueNode, itemKindName, opinionName, partyText,
  resultName, rulingName, shanghaiToday,
} from "../review_words.js";

async function review(view, { params }) {
  const v = await api(`/reviews/${params.id}`);
  const p = v.packet;
  const facts = v.facts || {};
  view.append(
    h("p", { class: "back" }, can.reviewQueue(session.user) ? link("/reviews", t("← Legal review queue"))
      : link(`/actions/${v.action.id}`, t("← The action"))),
    h("h1", {}, t("Legal review: {matter}", { matter: v.action.matter })),
    definitions([
      [t("Case"), can.readCases(session.user) ? link(`/cases/${v.action.case_id}`, v.case_number) : v.case_number],
      [t("Enforcement action"), [link(`/actions/${v.action.id}`, actionKindName(v.action.kind)), " ", v.action.matter]],
      [t("Party"), partyText(v.action.party)],
      [t("Handling officers"), joined(v.action.officers)],
      [t("Submitted"), [timeNode(p.submitted_at), " ", t("by {actor}", { actor: p.submitted_by })]],
      [t("Due"), dueNode(p)],
      [t("Fine"), facts.fine === undefined ? MISSING : t("{amount} yuan", { amount: facts.fine })],
      [t("Packet hash"), hashCode(p.sha256, true)],
      [t("Opinion"), h("span", { id: "packet-opinion" }, opinionName(p.opinion))],
      ...(p.voided_at ? [[t("Voided"), h("span", { id: "packet-voided" },
        [timeNode(p.voided_at), " ", show(p.voided_reason)])]] : []),
    ]),
    v.current ? null : h("p", { class: "verdict bad", id: "packet-stale" },
      t("The action's materials have changed since this packet was submitted: its review no longer counts for the decision.")),
    section("items-h", t("What was submitted"), table({ id: "packet-items",
      caption: t("Items of the packet: {count}", { count: 1 + v.cited.length }),
      columns: [t("Role"), t("Name"), t("Kind"), t("Size"), t("SHA-256")],
      rows: [v.draft, ...v.cited].map((item, i) => [i === 0 ? t("Draft decision") : t("Cited"),
        link(`/evidence/${item.evidence_id}`, show(item.name)), itemKindName(item, kindName), bytes(item.size),
        hashCode(item.sha256, true)]) })),
    advice(v),
    p.opinion === null && can.reviewQueue(session.user) ? checklistForm(v) : recorded(v));
}

// Legal advisers' and government lawyers' opinions on the packet: asked and given.
function advice(v) {
  const p = v.packet;
  const reviewer = can.reviewQueue(session.user) && !p.voided_at;
  const reload = async (message) => {
    await go(`/reviews/${p.id}`);
    say(message);
  };
  const list = p.advice.length ? table({ id: "advice", caption: t("Opinions asked for: {count}", { count: p.advice.length }),
    columns: [t("Adviser"), t("Question"), t("Asked"), t("Opinion"), t("Given on")],
    rows: p.advice.map((a) => [
      a.adviser ? t("{name} ({kind})", { name: a.adviser, kind: adviserKindName(a.adviser_kind) }) : adviserKindName(a.adviser_kind),
      a.question,
      [timeNode(a.requested_at), " ", t("by {actor}", { actor: a.requested_by })],
      a.opinion ? [a.opinion, " ", h("span", { class: "note" }, t("(recorded by {name})", { name: a.recorded_by }))]
        : t("awaited"),
      show(a.given_on)]) })
    : h("p", { id: "advice" }, t("No legal adviser's or government lawyer's opinion was asked for."));
  const awaited = reviewer ? p.advice.filter((a) => !a.adviser) : [];
  return section("advice-h", t("Legal adviser's or government lawyer's opinion"), list,
    awaited.map((a, i) => recordAdviceForm(p, a, i, reload)),
    reviewer && p.opinion === null ? requestAdviceForm(p, reload) : null);
}

function requestAdviceForm(p, reload) {
  const kind = h("select", { id: "advice-kind", name: "adviser_kind", required: true },
    ADVISER_KINDS.map(([value, label]) => h("option", { value }, label())));
  const question = h("textarea", { id: "advice-question", name: "question", rows: "3", required: true, maxlength: "4000" });
  const button = h("button", { type: "submit", id: "advice-request" }, t("Ask for the opinion"));
  const form = h("form", { id: "advice-request-form", class: "card" },
    h("h3", {}, t("Ask a legal adviser or government lawyer")),
    field(t("Whom to ask"), kind), field(t("Question"), question), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      await api(`/reviews/${p.id}/advice`, { method: "POST",
        body: { adviser_kind: kind.value, question: question.value.trim() } });
      await reload(t("The request for an opinion was recorded."));
    });
  });
  return form;
}

function recordAdviceForm(p, a, i, reload) {
  const adviser = h("input", { id: `advice-adviser-${i}`, name: "adviser", required: true, maxlength: "200" });
  const opinion = h("textarea", { id: `advice-opinion-${i}`, name: "opinion", rows: "3", required: true, maxlength: "4000" });
  const today = shanghaiToday();
  const given = h("input", { id: `advice-given-${i}`, name: "given_on", type: "date", required: true, max: today, value: today });
  const button = h("button", { type: "submit", id: `advice-record-${i}` }, t("Record the opinion"));
  const form = h("form", { id: `advice-form-${i}`, class: "card advice-form" },
    h("h3", {}, t("Record the {kind}'s opinion", { kind: adviserKindName(a.adviser_kind) })),
    h("p", {}, t("Question: {question}", { question: a.question })),
    field(t("Adviser (name, firm or office)"), adviser), field(t("Opinion given"), opinion),
    field(t("Given on"), given, t("The day the adviser gave it (Asia/Shanghai).")), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      await api(`/reviews/${p.id}/advice/${a.id}`, { method: "PUT",
        body: { adviser: adviser.value.trim(), opinion: opinion.value.trim(), given_on: given.value } });
      await reload(t("The adviser's opinion was recorded."));
    });
  });
  return form;
}

function radios(name, legend, options, required = true) {
  return h("fieldset", { class: "flags choice", id: `${name}-group` }, h("legend", {}, legend),
    h("div", { class: "flag-list" }, options.map(([value, label]) => h("div", { class: "check" },
      h("input", { type: "radio", id: `${name}-${value}`, name, value, required }),
      h("label", { for: `${name}-${value}` }, label)))));
}

function checklistForm(v) {
  const results = [["pass", t("passed")], ["fail", t("failed")], ["material", t("needs material")]];
  const points = CHECKLIST.map(([key, label], i) => {
    const note = h("textarea", { id: `note-${key}`, name: `note-${key}`, rows: "2", maxlength: "2000" });
    return h("div", { class: "point" }, radios(`point-${key}`, t("{number}. {point}", { number: i + 1, point: label() }), results),
      field(t("Note"), note));
  });
  const reasons = h("textarea", { id: "opinion-reasons", name: "reasons", rows: "4", required: true, maxlength: "4000" });
  const button = h("button", { type: "submit", id: "opinion-submit" }, t("Give the opinion"));
  const form = h("form", { id: "checklist-form" }, points,
    radios("opinion", t("Opinion"), [["pass", t("Pass")], ["fail", t("Fail")], ["return", t("Return for more material")]]),
    h("p", { class: "help", id: "opinion-help" }, t("A pass needs every point passed.")),
    field(t("Reasons"), reasons), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const checked = (name) => form.querySelector(`input[name="${name}"]:checked`).value;
    const checklist = Object.fromEntries(CHECKLIST.map(([key]) => {
      const note = form.querySelector(`#note-${key}`).value.trim();
      return [key, note ? { result: checked(`point-${key}`), note } : { result: checked(`point-${key}`) }];
    }));
    act(button, async () => {
      await api(`/reviews/${v.packet.id}/opinion`, { method: "POST",
        body: { opinion: checked("opinion"), reasons: reasons.value.trim(), checklist } });
      await go("/reviews");
      say(t("Your opinion on case {number} was recorded: {opinion}.", { number: v.case_number, opinion: opinionName(checked("opinion")) }));
    });
  });
  return section("checklist-h", t("Checklist"), form);
}

function recorded(v) {
  const p = v.packet;
  if (p.opinion === null) return section("checklist-h", t("Checklist"), h("p", { id: "checklist" }, t("The reviewer has not given an opinion yet.")));
  const list = v.checklist || {};
  return section("checklist-h", t("Checklist"),
    table({ id: "checklist", caption: t("The eight points, as the reviewer found them"),
      columns: [t("Point"), t("Result"), t("Note")],
      rows: CHECKLIST.map(([key, label]) => [label(), resultName((list[key] || {}).result), show((list[key] || {}).note)]) }),
    definitions([
      [t("Opinion"), [opinionName(p.opinion), " ", t("by {actor}", { actor: p.reviewed_by }), " ", timeNode(v.reviewed_at)]],
      [t("Reasons"), show(v.reasons)],
      [t("Contest"), p.contested ? t("{reason} (by {name})", { reason: show(v.contest_reason), name: show(v.contested_by) }) : MISSING],
      [t("Principal's ruling"), p.ruling ? t("{ruling}: {reason}", { ruling: rulingName(p.ruling), reason: show(v.ruling_reason) }) : MISSING],
      [t("Approved by"), show(p.approved_by)],
    ]));
}

route({ path: "/reviews/:id", view: review, allow: can.readCases });
