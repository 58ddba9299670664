// The legal reviewer's queue (法制审核): packets of their agency waiting for an opinion,
// the earliest due first, overdue ones said in words; each opens its checklist.

import { api, h, link, route } from "../core.js";
import { t } from "../i18n.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { cell, table } from "../ui.js";
import { actionKindName, dueNode, partyText } from "../review_words.js";

async function queue(view) {
  const waiting = (await api("/reviews")).items;
  // The queue lists packets; the case, matter and party come with each packet's own page.
  const packets = await Promise.all(waiting.map((p) => api(`/reviews/${p.id}`)));
  view.append(h("h1", {}, t("Legal review queue")),
    h("p", { class: "lead" }, t("Major decisions of your agency waiting for your opinion, the earliest due first.")));
  if (!packets.length) {
    view.append(h("p", { id: "review-queue" }, t("No packets are waiting for your review.")));
    return;
  }
  const overdue = waiting.filter((p) => p.overdue).length;
  if (overdue) view.append(h("p", { id: "overdue-count", class: "verdict bad" }, t("Overdue: {count}", { count: overdue })));
  view.append(table({ id: "review-queue", caption: t("Packets waiting: {count}", { count: packets.length }),
    columns: [t("Due"), t("Case"), t("Enforcement action"), t("Party"), t("Submitted"), t("Items"), t("Checklist")],
    rows: packets.map((v, i) => [dueNode(waiting[i]), link(`/cases/${v.action.case_id}`, v.case_number),
      t("{kind}: {matter}", { kind: actionKindName(v.action.kind), matter: v.action.matter }), partyText(v.action.party),
      [timeNode(v.packet.submitted_at), " ", t("by {actor}", { actor: v.packet.submitted_by })],
      cell(1 + v.cited.length, "num"),
      link(`/reviews/${v.packet.id}`, t("Open the checklist for case {number}", { number: v.case_number }))]) }));
}

route({ path: "/reviews", view: queue, allow: can.reviewQueue, nav: { label: () => t("Legal review"), order: 25 } });
