// Legal holds (证据保全): the footage of the admin's agency under hold, with who placed each
// hold, when and why (its evidence:hold:placed event), and releasing one with a reason
// (evidence:hold:released). A hold is placed from the item's own page.

import { act, api, go, h, link, route, say } from "../core.js";
import { who } from "../custody.js";
import { ask } from "../dialog.js";
import { t } from "../i18n.js";
import { number, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { field, table } from "../ui.js";

const PAGE = 50;

async function holds(view, { query }) {
  const offset = Math.max(0, Number.parseInt(query.offset || "0", 10) || 0);
  const page = await api("/holds", { query: { offset, limit: PAGE } });
  view.append(h("h1", {}, t("Legal holds")),
    h("p", { class: "lead" }, t("Footage under legal hold is kept whatever its retention date. To place a hold, open the item and use its page.")));
  if (!page.items.length) {
    view.append(h("p", { id: "no-holds" }, t("No footage of your agency is under legal hold.")));
    return;
  }
  const last = offset + page.items.length;
  view.append(table({ id: "holds-table",
    caption: t("Items under legal hold: {first}–{last} of {total}", { first: number(offset + 1), last: number(last), total: number(page.total) }),
    columns: [t("Item"), t("Unit"), t("Placed by"), t("Placed"), t("Reason"), t("Action")],
    rows: page.items.map((item) => [link(`/evidence/${item.id}`, item.original_name), show(item.unit),
      who(item.hold_placed_by), timeNode(item.hold_placed_at), show(item.hold_reason), releaseButton(item, offset)]) }));
  if (offset > 0 || page.next_offset !== null) {
    view.append(h("nav", { class: "pager", "aria-label": t("Pages") },
      offset > 0 ? link(`/holds?offset=${Math.max(0, offset - PAGE)}`, t("Previous page")) : null,
      page.next_offset !== null && page.next_offset !== undefined ? link(`/holds?offset=${page.next_offset}`, t("Next page")) : null));
  }
}

function releaseButton(item, offset) {
  const button = h("button", { type: "button", class: "secondary",
    "aria-label": t("Release the hold on {name}", { name: item.original_name }) }, t("Release"));
  button.addEventListener("click", async () => {
    const reason = h("input", { id: "release-reason", name: "reason", required: true, maxlength: "500", autocomplete: "off" });
    const ok = await ask({ id: "release-dialog", title: t("Release the legal hold on {name}?", { name: item.original_name }),
      text: t("Its retention applies again: once its date has passed and it is on no case, it can be deleted."),
      fields: [field(t("Reason"), reason, t("Recorded in the custody log, for example: the court case was closed."))],
      confirm: t("Release"), danger: true });
    if (!ok) return;
    act(button, async () => {
      await api(`/evidence/${item.id}/hold`, { method: "DELETE", query: { reason: reason.value.trim() } });
      await go("/holds", { offset: offset || null });
      say(t("The legal hold on {name} was released.", { name: item.original_name }));
    });
  });
  return button;
}

route({ path: "/holds", view: holds, allow: can.holds, nav: { label: () => t("Legal holds"), order: 63 } });
