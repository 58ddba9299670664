// The evidence search: officer (name or number), recorder, unit, a time window entered in the
// person's zone, kind, case and flags; results with posters, newest first. The search is
// kept in the address, so Back and a shared link show the same results. Case officers and
// admins select results and attach them to a case they manage, several at once.

import { ApiError, act, api, go, h, link, route, session, showError } from "../core.js";
import { t } from "../i18n.js";
import { duration, flagName, joined, kindName, number, show } from "../format.js";
import { can } from "../roles.js";
import { readTime, timeField, timeInput, timeNode } from "../time.js";
import { badges, cell, check, field, hashCode, table } from "../ui.js";

const PAGE_SIZE = 50;
const KINDS = ["video", "audio", "image", "unknown"];
// What the search can filter on: GET /api/v1/evidence?flag=... (cases/evidence.py FLAGS).
export const SEARCH_FLAGS = ["unplayable", "no_playback_copy", "zero_byte", "unknown_device",
  "legal_hold", "on_case", "copy_pending", "time_uncertain"];

export function flagBadges(item) {
  const flags = [...(item.flags || [])];
  if (item.legal_hold) flags.push("legal_hold");
  if (item.retention_category === "case") flags.push("on_case");
  if (item.derivatives_state === "pending") flags.push("copy_pending");
  if (item.derivatives_state === "failed") flags.push("no_playback_copy");
  return badges([...new Set(flags)].map(flagName));
}

// The flags of the address ("flags=a,b"), only known ones.
function flagsOf(query) {
  return (query.flags || "").split(",").filter((f) => SEARCH_FLAGS.includes(f));
}

function searchForm(query, cases) {
  const officer = h("input", { id: "officer", name: "officer", value: query.officer || null, autocomplete: "off", maxlength: "64" });
  const device = h("input", { id: "device", name: "device", value: query.device || null, autocomplete: "off", maxlength: "64" });
  const unit = h("input", { id: "unit", name: "unit", value: query.unit || null, autocomplete: "off", maxlength: "32" });
  const from = timeInput("from", query.from);
  const to = timeInput("to", query.to);
  const kind = h("select", { id: "kind", name: "kind" },
    h("option", { value: "" }, t("Any kind")),
    KINDS.map((k) => h("option", { value: k, selected: query.kind === k }, kindName(k))));
  const caseMenu = cases ? h("select", { id: "case", name: "case" },
    h("option", { value: "" }, t("Any case")),
    cases.map((c) => h("option", { value: c.id, selected: query.case === c.id }, `${c.number} — ${c.title}`))) : null;
  const chosen = new Set(flagsOf(query));
  const flagBoxes = SEARCH_FLAGS.map((f) => h("input", { type: "checkbox", id: `flag-${f}`, name: "flag", value: f, checked: chosen.has(f) }));
  const form = h("form", { id: "search-form", role: "search", "aria-label": t("Search evidence") },
    h("div", { class: "search" },
      field(t("Officer name or number"), officer, t("A name may be part of it, e.g. 李娜; a number must be whole.")),
      field(t("Recorder serial"), device),
      field(t("Unit code"), unit),
      timeField(t("From"), from, t("Finds every item recorded at any moment from this time…")),
      timeField(t("To"), to, t("…until this time (not included).")),
      field(t("Kind"), kind),
      caseMenu ? field(t("Case"), caseMenu) : null),
    h("fieldset", { class: "flags" }, h("legend", {}, t("Only items with every flag ticked")),
      h("div", { class: "flag-list" }, flagBoxes.map((box) => check(box, flagName(box.value))))),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "search-button" }, t("Search")),
      h("button", { type: "button", class: "secondary", id: "clear-search", onclick: () => go("/evidence") }, t("Clear"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const [start, end] = [readTime(from), readTime(to)];
    if (start === undefined || end === undefined) return;  // readTime said what is wrong
    go("/evidence", {
      officer: officer.value.trim(), device: device.value.trim(), unit: unit.value.trim(),
      from: start, to: end, kind: kind.value,
      case: caseMenu ? caseMenu.value : query.case,
      flags: flagBoxes.filter((box) => box.checked).map((box) => box.value).join(","),
    });
  });
  return form;
}

function poster(item) {
  if (!item.poster) return h("span", { class: "poster none" }, t("No picture"));
  return h("img", { class: "poster", src: `/api/v1/evidence/${encodeURIComponent(item.id)}/poster`,
    alt: t("Picture from {name}", { name: item.original_name }), loading: "lazy", width: "160", height: "90" });
}

function officerText(item) {
  if (item.officer_name && item.officer_no) return `${item.officer_name} (${item.officer_no})`;
  return joined([item.officer_name, item.officer_no]);
}

// Attach the selected results to a case the person manages: all or none (the API's rule).
function attachBar(cases, selected, onChange) {
  const menu = h("select", { id: "attach-selected-case", name: "attach_case" },
    cases.map((c) => h("option", { value: c.id }, `${c.number} — ${c.title}`)));
  const button = h("button", { type: "submit", id: "attach-selected" }, t("Attach selected"));
  const count = h("p", { id: "selected-count", class: "help", "aria-live": "polite" });
  const result = h("p", { id: "attach-result", "aria-live": "polite" });
  const update = () => {
    count.textContent = t("Selected: {count}", { count: number(selected.size) });
    button.disabled = selected.size === 0;
  };
  onChange(update);
  update();
  const form = h("form", { id: "attach-selected-form", class: "inline attach" },
    field(t("Attach to case"), menu), button, count, result);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!selected.size) return;
    act(button, async () => {
      const chosen = cases.find((c) => c.id === menu.value);
      const ids = [...selected];
      await api(`/cases/${encodeURIComponent(menu.value)}/evidence`, { method: "POST", body: { evidence_ids: ids } });
      result.replaceChildren(t("{count} items attached to case", { count: number(ids.length) }), " ",
        link(`/cases/${chosen.id}`, chosen.number));
      for (const box of document.querySelectorAll("input.select-item")) box.checked = false;
      selected.clear();
    }).then(update);
  });
  return form;
}

async function evidenceList(view, { query }) {
  const user = session.user;
  const cases = can.readCases(user) ? (await api("/cases", { query: { limit: 200 } })).items : null;
  const offset = Number.parseInt(query.offset || "0", 10) || 0;
  const form = searchForm(query, cases);
  let page = null;
  try {
    page = await api("/evidence", { query: {
      officer: query.officer, device: query.device, unit: query.unit, from: query.from, to: query.to,
      kind: query.kind, case: query.case, flag: flagsOf(query), offset, limit: PAGE_SIZE } });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    showError(err); // the form stays, so the search can be corrected
  }
  view.append(h("h1", {}, t("Evidence")), form);
  if (!page) return;
  const manage = can.manageCases(user) && cases && cases.length > 0;
  const selected = new Set();
  let changed = () => {};
  const rows = page.items.map((item) => {
    const box = manage ? h("input", { type: "checkbox", class: "select-item", id: `select-${item.id}`, value: item.id,
      "aria-label": t("Select {name}", { name: item.original_name }) }) : null;
    if (box) {
      box.addEventListener("change", () => {
        if (box.checked) selected.add(item.id); else selected.delete(item.id);
        changed();
      });
    }
    return [
      ...(manage ? [box] : []),
      poster(item),
      link(`/evidence/${item.id}`, item.original_name),
      kindName(item.kind),
      timeNode(item.start_time),
      cell(duration(item.duration_ms), "num"),
      officerText(item),
      show(item.device_serial),
      show(item.unit_code),
      flagBadges(item),
      hashCode(item.sha256, false),
    ];
  });
  const total = page.total_exact === false
    ? t("at least {total}", { total: number(page.total) }) : number(page.total);
  const caption = page.items.length
    ? t("Evidence found: {first}–{last} of {total}", { first: number(offset + 1), last: number(offset + page.items.length), total })
    : "";
  const pager = h("nav", { class: "pager", "aria-label": t("Result pages") },
    offset > 0 ? h("button", { type: "button", class: "secondary",
      onclick: () => go("/evidence", { ...query, offset: Math.max(0, offset - PAGE_SIZE) }) }, t("Previous page")) : null,
    page.next_offset !== null && page.next_offset !== undefined ? h("button", { type: "button", class: "secondary",
      onclick: () => go("/evidence", { ...query, offset: page.next_offset }) }, t("Next page")) : null);
  view.append(
    manage && page.items.length ? attachBar(cases, selected, (fn) => { changed = fn; }) : null,
    page.items.length
      ? table({ id: "evidence-table", caption,
        columns: [...(manage ? [t("Select")] : []), t("Picture"), t("Name"), t("Kind"), t("Started"), t("Duration"),
          t("Officer"), t("Recorder"), t("Unit"), t("Flags"), t("SHA-256")],
        rows })
      : h("p", { id: "no-evidence" }, t("No evidence matches this search.")),
    pager.childElementCount ? pager : null);
}

route({ path: "/evidence", view: evidenceList, allow: can.readEvidence,
  nav: { label: () => t("Evidence"), order: 10 } });
