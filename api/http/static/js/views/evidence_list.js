// The evidence list: search by officer, recorder and time (in the person's zone).

import { api, go, h, link, route } from "../core.js";
import { t } from "../i18n.js";
import { duration, flagName, kindName, number, show } from "../format.js";
import { can } from "../roles.js";
import { fromInput, timeInput, timeNode, timeZone } from "../time.js";
import { badges, cell, field, hashCode, table } from "../ui.js";

const PAGE_SIZE = 50;

export function flagBadges(item) {
  const flags = [...(item.flags || [])];
  if (item.legal_hold) flags.push("legal_hold");
  if (item.retention_category === "case") flags.push("on_case");
  if (item.derivatives_state === "pending") flags.push("copy_pending");
  if (item.derivatives_state === "failed") flags.push("no_playback_copy");
  return badges([...new Set(flags)].map(flagName));
}

async function evidenceList(view, { query }) {
  const officer = h("input", { id: "officer", name: "officer", value: query.officer || null, autocomplete: "off" });
  const device = h("input", { id: "device", name: "device", value: query.device || null, autocomplete: "off" });
  const from = timeInput("from", query.from);
  const to = timeInput("to", query.to);
  const zone = timeZone();
  const form = h("form", { id: "search-form", class: "search", role: "search", "aria-label": t("Search evidence") },
    field(t("Officer number"), officer), field(t("Recorder serial"), device),
    field(t("Started at or after ({zone})", { zone }), from), field(t("Started before ({zone})", { zone }), to),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("Search")),
      h("button", { type: "button", class: "secondary", id: "clear-search", onclick: () => go("/evidence") }, t("Clear"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("/evidence", { officer: officer.value.trim(), device: device.value.trim(),
      from: fromInput(from.value), to: fromInput(to.value) });
  });
  const offset = Number.parseInt(query.offset || "0", 10) || 0;
  const page = await api("/evidence", { query: {
    officer: query.officer, device: query.device, start_from: query.from, start_to: query.to,
    offset, limit: PAGE_SIZE } });
  const rows = page.items.map((item) => [
    link(`/evidence/${item.id}`, item.original_name),
    kindName(item.kind),
    timeNode(item.start_time),
    cell(duration(item.duration_ms), "num"),
    show(item.officer_no),
    show(item.device_serial),
    flagBadges(item),
    hashCode(item.sha256, false),
  ]);
  const caption = page.items.length
    ? t("Evidence found: {first}–{last} of {total}", { first: number(offset + 1), last: number(offset + page.items.length), total: number(page.total) })
    : "";
  const pager = h("nav", { class: "pager", "aria-label": t("Result pages") },
    offset > 0 ? h("button", { type: "button", class: "secondary",
      onclick: () => go("/evidence", { ...query, offset: Math.max(0, offset - PAGE_SIZE) }) }, t("Previous page")) : null,
    page.next_offset !== null && page.next_offset !== undefined ? h("button", { type: "button", class: "secondary",
      onclick: () => go("/evidence", { ...query, offset: page.next_offset }) }, t("Next page")) : null);
  view.append(h("h1", {}, t("Evidence")), form,
    page.items.length
      ? table({ id: "evidence-table", caption,
        columns: [t("Name"), t("Kind"), t("Started"), t("Duration"), t("Officer"), t("Recorder"), t("Flags"), t("SHA-256")],
        rows })
      : h("p", { id: "no-evidence" }, t("No evidence matches this search.")),
    pager.childElementCount ? pager : null);
}

route({ path: "/evidence", view: evidenceList, allow: can.readEvidence,
  nav: { label: () => t("Evidence"), order: 10 } });
