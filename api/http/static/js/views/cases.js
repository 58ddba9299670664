// The list of cases, and opening a new one.

import { act, api, go, h, link, route, session } from "../core.js";
import { t } from "../i18n.js";
import { joined, number } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { cell, field, table } from "../ui.js";

async function caseList(view) {
  const user = session.user;
  const page = await api("/cases", { query: { limit: 200 } });
  view.append(h("h1", {}, t("Cases")));
  if (can.manageCases(user)) {
    const caseNumber = h("input", { id: "case-number", name: "number", required: true, maxlength: "64", autocomplete: "off" });
    const title = h("input", { id: "case-title", name: "title", required: true, maxlength: "300", autocomplete: "off" });
    const button = h("button", { type: "submit" }, t("Open case"));
    // The agency's own rule for case numbers, in the words its admin wrote (the default needs none).
    const rule = await api("/case-number-rule").catch(() => null);
    const help = rule && !rule.default
      ? t("The number your agency gave the case. Your agency's rule: {rule}", { rule: rule.rule })
      : t("The number your agency gave the case.");
    const form = h("form", { id: "new-case-form", class: "card" }, h("h2", {}, t("Open a new case")),
      field(t("Case number"), caseNumber, help), field(t("Title"), title), button);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(button, async () => {
        const created = await api("/cases", { method: "POST", body: { number: caseNumber.value.trim(), title: title.value.trim() } });
        await go(`/cases/${created.id}`);
      });
    });
    view.append(form);
  }
  view.append(page.items.length
    ? table({ id: "cases-table", caption: t("Cases: {total}", { total: number(page.total) }),
      columns: [t("Number"), t("Title"), t("Case officers"), t("Items"), t("Opened"), t("Opened by")],
      rows: page.items.map((c) => [link(`/cases/${c.id}`, c.number), c.title, joined(c.officers),
        cell(number(c.evidence_count), "num"), timeNode(c.created_at), c.created_by]) })
    : h("p", { id: "no-cases" }, user.role === "case_officer" ? t("You manage no cases yet.") : t("There are no cases.")));
}

route({ path: "/cases", view: caseList, allow: can.readCases, nav: { label: () => t("Cases"), order: 20 } });
