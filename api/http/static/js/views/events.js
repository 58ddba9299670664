// Custody events filtered by actor, type and time (in the person's zone), in pages: of the
// whole log (auditors of every agency), of one item or of one case (whoever may read it).
// Each entry links to its inclusion proof.

import { ApiError, api, go, h, link, route, showError } from "../core.js";
import { describe } from "../custody.js";
import { EVENT_TYPE_GROUPS, eventTypeName } from "../event_types.js";
import { t } from "../i18n.js";
import { number, show } from "../format.js";
import { can } from "../roles.js";
import { readTime, timeField, timeInput, timeNode } from "../time.js";
import { cell, field, table } from "../ui.js";

const PAGE_SIZE = 50;

// A name typed alone ("li.na") is a user's; the log writes actors as "user:li.na".
export function actorOf(text) {
  const trimmed = (text || "").trim();
  if (!trimmed) return "";
  return trimmed.includes(":") ? trimmed : `user:${trimmed}`;
}

function filterForm(path, query) {
  const actor = h("input", { id: "actor", name: "actor", value: query.actor || null, autocomplete: "off",
    spellcheck: "false" });
  const type = h("select", { id: "type", name: "type" },
    h("option", { value: "" }, t("Any type")),
    EVENT_TYPE_GROUPS.map(([group, types]) => h("optgroup", { label: group() },
      types.map(([value, name]) => h("option", { value, selected: value === query.type }, name())))));
  const from = timeInput("from", query.from);
  const to = timeInput("to", query.to);
  const order = h("select", { id: "order", name: "order" },
    h("option", { value: "oldest", selected: query.order !== "newest" }, t("Oldest first")),
    h("option", { value: "newest", selected: query.order === "newest" }, t("Newest first")));
  const form = h("form", { id: "events-form", class: "search", role: "search", "aria-label": t("Filter custody events") },
    field(t("Actor"), actor, t("As the log names them, e.g. user:li.na or station:office-3; a name alone means a user.")),
    field(t("Event type"), type),
    timeField(t("At or after"), from),
    timeField(t("Before"), to),
    field(t("Order"), order),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("Show events")),
      h("button", { type: "button", class: "secondary", id: "clear-events", onclick: () => go(path) }, t("Clear"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const [start, end] = [readTime(from), readTime(to)];
    if (start === undefined || end === undefined) return;  // readTime said what is wrong
    go(path, { actor: actorOf(actor.value), type: type.value, from: start,
      to: end, order: order.value === "newest" ? "newest" : null });
  });
  return form;
}

async function heading(subject) {
  if (subject.kind === "evidence") {
    const item = await api(`/evidence/${subject.id}`);
    return [h("h1", {}, t("Custody events of {name}", { name: item.original_name })),
      h("p", { class: "back" }, link(`/evidence/${subject.id}`, t("Back to the item")))];
  }
  if (subject.kind === "case") {
    const found = await api(`/cases/${subject.id}`);
    return [h("h1", {}, t("Custody events of case {number}", { number: found.number })),
      h("p", { class: "back" }, link(`/cases/${subject.id}`, t("Back to the case")))];
  }
  return [h("h1", {}, t("Custody events")),
    h("p", { class: "lead" }, t("Every entry of the custody log, filtered by who acted, what happened and when."))];
}

async function events(view, query, subject) {
  const path = subject.kind === "log" ? "/custody/events" : `/${subject.kind === "case" ? "cases" : "evidence"}/${subject.id}/events`;
  const offset = Number.parseInt(query.offset || "0", 10) || 0;
  // A filter the server refuses (an address typed by hand) leaves the form to correct it.
  const [top, page] = await Promise.all([heading(subject), api(path, { query: {
    actor: query.actor, type: query.type, from: query.from, to: query.to,
    order: query.order === "newest" ? "newest" : null, offset, limit: PAGE_SIZE } })
    .catch((err) => (err instanceof ApiError && (err.status === 400 || err.status === 422) ? err : Promise.reject(err)))]);
  if (page instanceof ApiError) {
    view.append(top, filterForm(path, query), h("p", { id: "no-events" }, t("These events could not be read: correct the filter.")));
    showError(page);
    return;
  }
  const rows = page.items.map((event) => [
    cell(number(event.seq), "num"),
    timeNode(event.time),
    eventTypeName(event.type),
    h("code", {}, show(event.actor)),
    describe(event),
    link(`/custody/entries/${event.seq}`, t("Proof of entry {seq}", { seq: event.seq })),
  ]);
  const caption = t("Custody events {first}–{last} of {total}", { first: number(offset + 1),
    last: number(offset + page.items.length), total: number(page.total) });
  const pager = h("nav", { class: "pager", "aria-label": t("Result pages") },
    offset > 0 ? h("button", { type: "button", class: "secondary", id: "previous-page",
      onclick: () => go(path, { ...query, offset: Math.max(0, offset - PAGE_SIZE) }) }, t("Previous page")) : null,
    page.next_offset !== null && page.next_offset !== undefined ? h("button", { type: "button", class: "secondary",
      id: "next-page", onclick: () => go(path, { ...query, offset: page.next_offset }) }, t("Next page")) : null);
  view.append(top, filterForm(path, query),
    page.items.length
      ? table({ id: "events-table", caption,
        columns: [t("Entry"), t("Time"), t("Event type"), t("Actor"), t("What happened"), t("Inclusion proof")], rows })
      : h("p", { id: "no-events" }, t("No custody events match this filter.")),
    pager.childElementCount ? pager : null);
}

route({ path: "/custody/events", view: (view, { query }) => events(view, query, { kind: "log" }),
  allow: can.readWholeLog, nav: { label: () => t("Custody events"), order: 31 } });
route({ path: "/evidence/:id/events", view: (view, { params, query }) => events(view, query, { kind: "evidence", id: params.id }),
  allow: can.readItemEvents });
route({ path: "/cases/:id/events", view: (view, { params, query }) => events(view, query, { kind: "case", id: params.id }),
  allow: can.readCaseEvents });
