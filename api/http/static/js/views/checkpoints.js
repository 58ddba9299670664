// The history of the signed checkpoints, each checked by the server (signature, root, and
// that it extends the one before), and the consistency of any two a person picks.

import { act, api, fill, go, h, route, say } from "../core.js";
import { t } from "../i18n.js";
import { MISSING, number, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode, timeText } from "../time.js";
import { cell, field, hashCode, section, table } from "../ui.js";

const PAGE_SIZE = 50;

const BREAKS = {
  bad_signature: () => t("Its signature does not verify with the log's key."),
  altered: () => t("It was changed after it was stored."),
  numbering_gap: () => t("Checkpoints stored before it are missing."),
  rolled_back: () => t("It signs fewer entries than the one before: the log was rolled back."),
  beyond_log: () => t("It signs more entries than the log has now."),
  root_mismatch: () => t("Its root does not match the log's entries now."),
  inconsistent: () => t("It does not extend the checkpoint before it."),
  unreadable: () => t("It cannot be read."),
};

function breakText(b) {
  return BREAKS[b.kind] ? BREAKS[b.kind]() : show(b.kind);
}

function state(item) {
  if (item.breaks.length) {
    return h("ul", { class: "breaks check-bad" }, item.breaks.map((b) =>
      h("li", {}, breakText(b), " ", h("span", { class: "note" }, b.message))));
  }
  return h("span", { class: "check-ok" }, item.compared_with === null || item.compared_with === undefined
    ? t("Signed and matches the log.")
    : t("Signed, matches the log and extends checkpoint {number}.", { number: number(item.compared_with) }));
}

function choice(id, label, items, selected) {
  const select = h("select", { id, name: id }, items.map((item) => h("option", { value: item.number,
    selected: item.number === selected }, t("No. {number}: {size} entries, {time}",
    { number: number(item.number), size: number(item.size), time: timeText(item.created_at) }))));
  return { select, node: field(label, select) };
}

function consistencyResult(found) {
  const words = { old: number(found.old.number), new: number(found.new.number),
    oldSize: number(found.old.checkpoint.size), newSize: number(found.new.checkpoint.size) };
  if (found.verified) {
    return [h("p", { id: "consistency-verdict", class: "verdict ok" },
      t("Checkpoint {new} ({newSize} entries) extends checkpoint {old} ({oldSize} entries): the log only grew, and nothing signed before was changed.", words)),
    found.proof.length
      ? [h("p", {}, t("The consistency proof (RFC 9162), hashes: {count}", { count: number(found.proof.length) })),
        h("ol", { id: "consistency-proof" }, found.proof.map((node) => h("li", {}, h("code", { class: "hash" }, node))))]
      : h("p", {}, t("Both sign the same tree: no proof is needed."))];
  }
  return h("div", { id: "consistency-verdict", class: "verdict bad" },
    h("p", {}, t("Checkpoint {new} ({newSize} entries) does not extend checkpoint {old} ({oldSize} entries): the log was changed between them.", words)),
    found.problem ? h("p", {}, found.problem) : null);
}

function consistencyForm(items) {
  const result = h("div", { id: "consistency-result", "aria-live": "polite" });
  if (items.length < 2) {
    return [h("p", { id: "consistency-form" }, t("Two checkpoints are needed to compare.")), result];
  }
  const older = choice("older", t("Older checkpoint"), items, items[1].number);
  const newer = choice("newer", t("Newer checkpoint"), items, items[0].number);
  const button = h("button", { type: "submit" }, t("Check consistency"));
  const form = h("form", { id: "consistency-form", class: "pick" }, older.node, newer.node, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const a = Number.parseInt(older.select.value, 10);
      const b = Number.parseInt(newer.select.value, 10);
      if (a === b) {
        fill(result, h("p", { id: "consistency-verdict" }, t("Pick two different checkpoints.")));
        return;
      }
      result.setAttribute("aria-busy", "true");
      const found = await api("/custody/checkpoints/consistency", { query: { old: Math.min(a, b), new: Math.max(a, b) } });
      fill(result, consistencyResult(found));
      result.removeAttribute("aria-busy");
      say(found.verified ? t("Consistent.") : t("Not consistent."));
    });
  });
  return [form, result];
}

async function checkpoints(view, { query }) {
  const offset = Number.parseInt(query.offset || "0", 10) || 0;
  const found = await api("/custody/checkpoints", { query: { offset, limit: PAGE_SIZE } });
  const broken = found.items.filter((i) => i.breaks.length).length;
  const rows = found.items.map((item) => [
    cell(number(item.number), "num"),
    cell(number(item.size), "num"),
    hashCode(item.root_hash, false),
    timeNode(item.created_at),
    item.checkpoint.signature_ok ? t("verifies") : t("does not verify"),
    state(item),
  ]);
  const pager = h("nav", { class: "pager", "aria-label": t("Result pages") },
    offset > 0 ? h("button", { type: "button", class: "secondary",
      onclick: () => go("/custody/checkpoints", { offset: Math.max(0, offset - PAGE_SIZE) }) }, t("Previous page")) : null,
    found.next_offset !== null && found.next_offset !== undefined ? h("button", { type: "button", class: "secondary",
      onclick: () => go("/custody/checkpoints", { offset: found.next_offset }) }, t("Next page")) : null);
  view.append(h("h1", {}, t("Checkpoint history")),
    h("p", { class: "lead" }, t("The log has {count} entries now. Each checkpoint below was checked: its signature, its root against the entries now, and that it extends the one stored before it.",
      { count: number(found.log_size) })),
    broken || found.witnessed.length
      ? h("p", { id: "history-verdict", class: "verdict bad" }, t("Problems found: {count}.", { count: number(broken + found.witnessed.length) }))
      : h("p", { id: "history-verdict", class: "verdict ok" }, t("Every checkpoint shown holds.")),
    found.items.length
      ? table({ id: "checkpoints-table", caption: t("Checkpoints {first}–{last} of {total}, newest first",
        { first: number(offset + 1), last: number(offset + found.items.length), total: number(found.total) }),
      columns: [t("No."), t("Entries"), t("Root"), t("Signed at"), t("Signature"), t("What holds")], rows })
      : h("p", { id: "checkpoints-table" }, t("The log has no checkpoint yet.")),
    pager.childElementCount ? pager : null,
    found.witnessed.length ? section("witnessed-h", t("Checkpoints a verification saw that are gone"),
      h("ul", { id: "witnessed" }, found.witnessed.map((w) => h("li", {},
        w.kind === "missing"
          ? t("A checkpoint of {size} entries, checked by the verification in entry {seq}, is no longer stored.", { size: number(w.size), seq: number(w.seq) })
          : t("The checkpoint of {size} entries, checked by the verification in entry {seq}, now signs another root: the log was rewritten.", { size: number(w.size), seq: number(w.seq) }),
        " ", h("code", { class: "hash" }, w.root_hash || MISSING))))) : null,
    section("consistency-h", t("Consistency of two checkpoints"),
      h("p", {}, t("Pick two checkpoints: the server proves (RFC 9162) that the newer one's tree extends the older one's, with both signed roots.")),
      consistencyForm(found.items)));
}

route({ path: "/custody/checkpoints", view: checkpoints, allow: can.readCheckpoints,
  nav: { label: () => t("Checkpoint history"), order: 32 } });
