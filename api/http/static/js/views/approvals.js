// The head's approvals (an admin of the agency is its approving head and principal): passed
// reviews of the current materials waiting for sign-off (approve), and contested opinions
// waiting for a ruling (uphold or overturn, with the reason).

import { act, api, go, h, link, route, say } from "../core.js";
import { ask } from "../dialog.js";
import { t } from "../i18n.js";
import { show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { field, section, table } from "../ui.js";
import { actionKindName, opinionName, partyText } from "../review_words.js";

async function approvals(view) {
  const lists = await api("/approvals");
  view.append(h("h1", {}, t("Approvals")),
    h("p", { class: "lead" }, t("Major decisions whose legal review passed wait for your sign-off; contested opinions wait for your ruling as the agency's principal.")),
    section("to-approve-h", t("Passed reviews waiting for approval"), lists.to_approve.length
      ? table({ id: "to-approve", caption: t("Waiting for approval: {count}", { count: lists.to_approve.length }),
        columns: [t("Case"), t("Enforcement action"), t("Party"), t("Review"), t("Reasons"), t("Sign-off")],
        rows: lists.to_approve.map((v) => [link(`/cases/${v.action.case_id}`, v.case_number), actionLink(v), partyText(v.action.party),
          [link(`/reviews/${v.packet.id}`, opinionName(v.packet.opinion)), " ", t("by {actor}", { actor: show(v.packet.reviewed_by) }), " ",
            timeNode(v.reviewed_at)],
          show(v.reasons), approveButton(v)]) })
      : h("p", { id: "to-approve" }, t("No passed review is waiting for your approval."))),
    section("to-rule-h", t("Contests waiting for a ruling"), lists.to_rule.length
      ? table({ id: "to-rule", caption: t("Waiting for a ruling: {count}", { count: lists.to_rule.length }),
        columns: [t("Case"), t("Enforcement action"), t("Opinion"), t("Contest"), t("Ruling")],
        rows: lists.to_rule.map((v) => [link(`/cases/${v.action.case_id}`, v.case_number), actionLink(v),
          [link(`/reviews/${v.packet.id}`, opinionName(v.packet.opinion)), ": ", show(v.reasons)],
          t("{reason} (by {name})", { reason: show(v.contest_reason), name: show(v.contested_by) }),
          ruleButtons(v)]) })
      : h("p", { id: "to-rule" }, t("No contest is waiting for your ruling."))));
}

function actionLink(v) {
  return link(`/actions/${v.action.id}`, t("{kind}: {matter}", { kind: actionKindName(v.action.kind), matter: v.action.matter }));
}

function approveButton(v) {
  const button = h("button", { type: "button", class: "approve",
    "aria-label": t("Approve the decision of case {number}", { number: v.case_number }) }, t("Approve"));
  button.addEventListener("click", async () => {
    const ok = await ask({ id: "approve-dialog", title: t("Approve the decision of case {number}?", { number: v.case_number }),
      text: t("Your sign-off is recorded in the custody log; the handling officer can then record the decision."),
      confirm: t("Approve") });
    if (!ok) return;
    act(button, async () => {
      await api(`/reviews/${v.packet.id}/approval`, { method: "POST" });
      await go("/approvals");
      say(t("Approved: the decision of case {number} can now be recorded.", { number: v.case_number }));
    });
  });
  return button;
}

function ruleButtons(v) {
  const make = (upheld) => {
    const label = upheld ? t("Uphold") : t("Overturn");
    const button = h("button", { type: "button", class: upheld ? "secondary" : null,
      "aria-label": upheld ? t("Uphold the opinion on case {number}", { number: v.case_number })
        : t("Overturn the opinion on case {number}", { number: v.case_number }) }, label);
    button.addEventListener("click", async () => {
      const reason = h("textarea", { id: "ruling-reason", name: "reason", required: true, maxlength: "500", rows: "3" });
      const ok = await ask({ id: "ruling-dialog",
        title: upheld ? t("Uphold the review opinion?") : t("Overturn the review opinion?"),
        text: upheld ? t("The opinion stands: the decision cannot be recorded on this review.")
          : t("An overturned opinion counts as a pass: the decision then needs your approval."),
        fields: [field(t("Reason for the ruling"), reason)], confirm: label });
      if (!ok) return;
      act(button, async () => {
        await api(`/reviews/${v.packet.id}/ruling`, { method: "POST", body: { upheld, reason: reason.value.trim() } });
        await go("/approvals");
        say(upheld ? t("The opinion on case {number} was upheld.", { number: v.case_number })
          : t("The opinion on case {number} was overturned.", { number: v.case_number }));
      });
    });
    return button;
  };
  return h("div", { class: "actions" }, make(true), make(false));
}

route({ path: "/approvals", view: approvals, allow: can.approve, nav: { label: () => t("Approvals"), order: 26 } });
