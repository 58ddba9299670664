// Publication of decisions (公示): the queue of decisions to publish with their deadlines
// (due, due soon, overdue; published and revoked on request), one record's review page (the
// masked text with what was masked highlighted, edit, confirm, publish, update and revoke with
// a reason), and the signed-in person's notices. cases/publication.py keeps the rules; a
// deadline counted into a year whose official schedule is not known yet shows 未确认.

import { act, api, go, h, link, route, say, session } from "../core.js";
import { ask } from "../dialog.js";
import { t } from "../i18n.js";
import { show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { definitions, field, section, table } from "../ui.js";

const STATUSES = {
  due: () => t("Due to publish"),
  due_soon: () => t("Due soon"),
  overdue: () => t("Overdue"),
  published: () => t("Published"),
  revoked: () => t("Revoked"),
};
const STATES = {
  draft: () => t("Draft: to be checked"),
  reviewed: () => t("Confirmed: ready to publish"),
  published: () => t("Published"),
  revoked: () => t("Revoked"),
};
const KINDS = {
  licensing: () => t("Licensing"),
  penalty: () => t("Penalty"),
  compulsory: () => t("Compulsory measure"),
  levy: () => t("Levy or requisition"),
  inspection: () => t("Inspection"),
};
const FIELDS = {
  party: () => t("Party"),
  conclusion: () => t("Conclusion"),
  legal_basis: () => t("Legal basis"),
  document_number: () => t("Document number"),
};
const MASKS = {
  name: () => t("name"),
  id_number: () => t("identity-card number"),
  phone: () => t("phone number"),
  bank_card: () => t("bank-card number"),
  plate: () => t("licence plate"),
  address: () => t("address"),
};

const named = (table, key) => (table[key] ? table[key]() : show(key));

function dueNode(day, confirmed) {
  return confirmed ? h("span", {}, day)
    : h("span", {}, day, " ", h("span", { class: "badge", title: t("The official holiday schedule of that year is not known yet.") }, t("unconfirmed")));
}

function statusNode(item) {
  const text = named(STATUSES, item.status);
  if (item.status === "published" && item.on_time === false) return h("span", {}, text, " ", h("span", { class: "badge" }, t("late")));
  return h("span", { class: item.status === "overdue" ? "warning" : null }, text);
}

// ---------------------------------------------------------------- the queue

async function queue(view, { query }) {
  const status = STATUSES[query.status] ? query.status : "";
  const unit = query.unit || "";
  const agency = query.agency || "";
  const list = await api("/publications", { query: { status: status || undefined, unit: unit || undefined, agency: agency || undefined } });
  const chooser = h("select", { id: "publication-status", name: "status" },
    h("option", { value: "", selected: !status }, t("Not yet published")),
    Object.entries(STATUSES).map(([value, label]) => h("option", { value, selected: value === status }, label())));
  const unitInput = h("input", { id: "publication-unit", name: "unit", value: unit, maxlength: "32", autocomplete: "off" });
  const agencyInput = h("input", { id: "publication-agency", name: "agency", value: agency, maxlength: "32", autocomplete: "off" });
  const form = h("form", { id: "publication-filter", class: "filters" },
    field(t("Status"), chooser), field(t("Agency"), agencyInput, t("An agency's code; empty: every agency you may see.")),
    field(t("Unit"), unitInput, t("A unit's code; empty: every unit you may see.")),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("Show"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("/publications", { status: chooser.value, agency: agencyInput.value.trim(), unit: unitInput.value.trim() });
  });
  view.append(h("h1", {}, t("Publication of decisions")),
    h("p", { class: "lead" }, t("Licensing and penalty decisions are published within 7 working days of the decision, the others within 20.")),
    form);
  if (!status && can.annualReport(session.user)) view.append(await reportsDue());
  if (!list.items.length) {
    view.append(h("p", { id: "no-publications" }, t("No decision in this list.")));
    return;
  }
  view.append(table({ id: "publications-table", caption: t("Decisions: {count}", { count: list.items.length }),
    columns: [t("Case"), t("Party"), t("Kind"), t("Decided"), t("Publish by"), t("Status"), t("Responsible")],
    rows: list.items.map((item) => [
      link(`/publications/${item.publication_id}`, item.case_number), show(item.party), named(KINDS, item.kind),
      item.decision_date, dueNode(item.due, item.due_confirmed), statusNode(item),
      item.responsible.length ? item.responsible.join(", ") : null]) }));
}

// Last year's annual statistics not yet published (due 31 January; cases/annual_report.py).
async function reportsDue() {
  const due = await api("/annual-reports/due");
  if (!due.items.length) return null;
  return h("ul", { id: "reports-due", class: "notices" }, due.items.map((item) => h("li", {},
    link(`/annual-report?agency=${encodeURIComponent(item.agency)}&year=${item.year}`,
      t("Publish the annual statistics of {year} of agency {agency}", { year: String(item.year), agency: item.agency })),
    " — ", item.overdue ? t("overdue since {day}", { day: item.due }) : t("due {day}", { day: item.due }))));
}

// ---------------------------------------------------------------- one record

// The masked text with each replacement marked, and what it replaced said to screen readers.
function markedText(text, spans) {
  const placed = spans.filter((s) => Array.isArray(s.at)).sort((a, b) => a.at[0] - b.at[0]);
  const parts = [];
  let at = 0;
  for (const span of placed) {
    if (span.at[0] < at) continue;
    parts.push(text.slice(at, span.at[0]));
    parts.push(h("mark", { title: t("masked: {kind}", { kind: named(MASKS, span.kind) }) }, text.slice(span.at[0], span.at[1])));
    at = span.at[1];
  }
  parts.push(text.slice(at));
  return h("span", {}, ...parts);
}

function contentFacts(content, masked) {
  const text = (name) => (content[name] ? markedText(content[name], (masked && masked[name]) || []) : null);
  return definitions([
    [t("Agency"), content.agency_name],
    [t("Party"), text("party")],
    [t("Kind"), named(KINDS, content.kind)],
    [t("Conclusion"), text("conclusion")],
    [t("Legal basis"), text("legal_basis")],
    [t("Decided"), content.decision_date],
    [t("Document number"), content.document_number || null],
  ]);
}

function maskedTable(masked) {
  const rows = [];
  for (const [name, spans] of Object.entries(masked)) {
    for (const span of spans) rows.push([named(FIELDS, name), named(MASKS, span.kind), span.original, span.replacement]);
  }
  if (!rows.length) return h("p", { id: "nothing-masked" }, t("Nothing was masked. Check that the text names no person and holds no personal number or address."));
  return table({ id: "masked-table", caption: t("What was masked"), columns: [t("Field"), t("Kind"), t("Original text"), t("Published as")], rows });
}

function editForm(record, id) {
  const inputs = {
    party: h("input", { id: "edit-party", name: "party", value: record.working.party, maxlength: "200", autocomplete: "off" }),
    conclusion: h("textarea", { id: "edit-conclusion", name: "conclusion", rows: "3", maxlength: "2000" }, record.working.conclusion),
    legal_basis: h("textarea", { id: "edit-legal-basis", name: "legal_basis", rows: "2", maxlength: "2000" }, record.working.legal_basis),
    document_number: h("input", { id: "edit-document-number", name: "document_number", value: record.working.document_number, maxlength: "100", autocomplete: "off" }),
  };
  const save = h("button", { type: "submit", id: "save-publication" }, t("Save"));
  const form = h("form", { id: "publication-edit" },
    field(t("Party"), inputs.party, t("A person's name is published as 张某; an organisation by its name.")),
    field(t("Conclusion"), inputs.conclusion, t("The decision's conclusion as the public will read it; names are masked again when saved.")),
    field(t("Legal basis"), inputs.legal_basis),
    field(t("Document number"), inputs.document_number),
    h("div", { class: "actions" }, save));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const changes = {};
    for (const [name, input] of Object.entries(inputs)) {
      const value = input.value.trim();
      if (value && value !== record.working[name]) changes[name] = value;
    }
    if (!Object.keys(changes).length) {
      say(t("Nothing changed."));
      return;
    }
    act(save, async () => {
      await api(`/publications/${id}`, { method: "PATCH", body: changes });
      await go(`/publications/${id}`);
      say(t("Saved. Check the masked text and confirm it."));
    });
  });
  return form;
}

function reasonStep({ id, button, title, text, help, path, done }) {
  button.addEventListener("click", async () => {
    const reason = h("input", { id: `${button.id}-reason`, name: "reason", required: true, maxlength: "500", autocomplete: "off" });
    const ok = await ask({ id: `${button.id}-dialog`, title, text, fields: [field(t("Reason"), reason, help)],
      confirm: button.textContent, danger: button.classList.contains("danger") });
    if (!ok) return;
    act(button, async () => {
      await api(path, { method: "POST", body: { reason: reason.value.trim() } });
      await go(`/publications/${id}`);
      say(done);
    });
  });
  return button;
}

function steps(record, id) {
  const buttons = [];
  const post = (buttonId, label, path, done, className) => {
    const button = h("button", { type: "button", id: buttonId, class: className || null }, label);
    button.addEventListener("click", () => act(button, async () => {
      await api(path, { method: "POST" });
      await go(`/publications/${id}`);
      say(done);
    }));
    return button;
  };
  if (!record.confirmed_by) {
    buttons.push(post("confirm-publication", t("Confirm the masked text"), `/publications/${id}/confirm`, t("The masked text was confirmed.")));
  }
  if (record.state === "reviewed") {
    buttons.push(post("publish-publication", t("Publish"), `/publications/${id}/publish`, t("The decision was published.")));
  }
  if (record.state === "published") {
    if (record.confirmed_by && record.pending_changes) {
      buttons.push(reasonStep({ id, button: h("button", { type: "button", id: "update-publication" }, t("Publish as a new version")),
        title: t("Publish the changes as a new version?"),
        text: t("The public sees the new version and a correction notice with this reason and the earlier version's date."),
        help: t("For example: the document number was entered wrongly."),
        path: `/publications/${id}/update`, done: t("The new version was published.") }));
    }
    buttons.push(reasonStep({ id, button: h("button", { type: "button", id: "revoke-publication", class: "danger" }, t("Revoke")),
      title: t("Revoke this publication?"),
      text: t("The decision is withdrawn from the public site; a revocation notice with this reason stays in its place. This cannot be undone."),
      help: t("For example: the decision was annulled on administrative reconsideration."),
      path: `/publications/${id}/revoke`, done: t("The publication was revoked.") }));
  }
  return buttons.length ? h("div", { class: "actions", id: "publication-steps" }, buttons) : null;
}

async function oneRecord(view, { params, user }) {
  const id = params.id;
  const record = await api(`/publications/${id}`);
  view.append(h("p", { class: "back" }, link("/publications", t("All decisions to publish"))),
    h("h1", {}, t("Publication of the decision of case {number}", { number: record.case_number })),
    definitions([
      [t("State"), named(STATES, record.state)],
      [t("Publish by"), dueNode(record.due, record.due_confirmed)],
      [t("Confirmed by"), record.confirmed_by ? h("span", {}, record.confirmed_by, " · ", timeNode(record.confirmed_at)) : t("not confirmed")],
      [t("Case"), link(`/cases/${record.case_id}`, record.case_number)],
    ]));
  if (record.state === "revoked") {
    view.append(section("revocation", t("Revoked"), definitions([
      [t("Revoked"), timeNode(record.revoked_at)], [t("By"), record.revoked_by], [t("Reason"), record.revoke_reason]])));
  }
  view.append(section("working-copy", record.state === "published" || record.state === "revoked" ? t("Working copy (the next version)") : t("Text to publish"),
    h("p", {}, t("Highlighted: what masking replaced.")), contentFacts(record.working, record.masked), maskedTable(record.masked)));
  if (can.manageCases(user) && record.state !== "revoked") {
    view.append(section("check", t("Check, edit and publish"), editForm(record, id), steps(record, id)));
  }
  if (record.versions.length) {
    view.append(section("versions", t("Published versions"), table({ id: "versions-table", caption: t("Every version the public has seen"),
      columns: [t("Version"), t("Published"), t("By"), t("Reason for the change"), t("Document number")],
      rows: record.versions.map((v) => [String(v.version), timeNode(v.published_at), v.published_by, v.reason, v.content.document_number]) })));
  }
}

// ---------------------------------------------------------------- notices

async function notices(view) {
  const list = await api("/notices");
  view.append(h("h1", {}, t("Notices")),
    h("p", { class: "lead" }, t("Decisions you handle that are not published yet, overdue first.")));
  if (!list.items.length) {
    view.append(h("p", { id: "no-notices" }, t("You have no notices.")));
    return;
  }
  view.append(h("ul", { id: "notice-list", class: "notices" }, list.items.map((item) => h("li", {},
    can.readCases(session.user) ? link(`/publications/${item.publication_id}`, t("Publish the decision of case {number}", { number: item.case_number }))
      : t("Publish the decision of case {number}", { number: item.case_number }),
    " — ", statusNode(item), " · ", t("due {day}", { day: item.due }),
    item.due_confirmed ? null : h("span", {}, " ", h("span", { class: "badge" }, t("unconfirmed")))))));
}

// The header's count of notices (main.js fills it after drawing the header).
export async function noticeCount() {
  const list = await api("/notices");
  return list.items.length;
}

route({ path: "/publications", view: queue, allow: can.readCases, nav: { label: () => t("Publication"), order: 25 } });
route({ path: "/publications/:id", view: oneRecord, allow: can.readCases });
route({ path: "/notices", view: notices });
