// One case: its evidence (attach, detach), review, export and history.

import { act, api, go, h, link, objectUrls, route, say, session } from "../core.js";
import { custodyTable } from "../custody.js";
import { t } from "../i18n.js";
import { bytes, joined } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { check, definitions, field, hashCode, section, table } from "../ui.js";

async function oneCase(view, { params }) {
  const id = params.id;
  const user = session.user;
  const theCase = await api(`/cases/${id}`);
  const manage = can.manageCases(user);
  const caption = t("Custody events for this case, oldest first");
  const history = h("div", { id: "case-history" }, custodyTable(theCase.custody_events, theCase.custody_events_truncated, caption));
  const refreshHistory = async () => {
    const fresh = await api(`/cases/${id}`);
    history.replaceChildren(...custodyTable(fresh.custody_events, fresh.custody_events_truncated, caption));
  };
  const rows = theCase.evidence.map((e) => {
    const detach = h("button", { type: "button", class: "secondary",
      "aria-label": t("Detach {name}", { name: e.original_name }) }, t("Detach"));
    detach.addEventListener("click", () => act(detach, async () => {
      await api(`/cases/${id}/evidence/${e.evidence_id}`, { method: "DELETE" });
      await go(`/cases/${id}`);
      say(t("{name} was taken off the case; its retention is not shortened.", { name: e.original_name }));
    }));
    return [link(`/evidence/${e.evidence_id}`, e.original_name), hashCode(e.sha256, false),
      timeNode(e.attached_at), e.attached_by, ...(manage ? [detach] : [])];
  });
  let attach = null;
  if (manage) {
    const evidenceId = h("input", { id: "attach-evidence-id", name: "evidence_id", required: true, autocomplete: "off",
      pattern: "[0-9a-fA-F\\-]{36}", size: "38" });
    const button = h("button", { type: "submit" }, t("Attach"));
    attach = h("form", { id: "attach-by-id-form", class: "inline" },
      field(t("Evidence ID"), evidenceId, t("Shown on the item's page.")), button);
    attach.addEventListener("submit", (event) => {
      event.preventDefault();
      act(button, async () => {
        await api(`/cases/${id}/evidence`, { method: "POST", body: { evidence_id: evidenceId.value.trim() } });
        await go(`/cases/${id}`);
        say(t("Attached."));
      });
    });
  }
  // Sending for review opens the case to its agency's reviewers; once only.
  let review = theCase.review_requested_at
    ? [t("Sent by {name}", { name: theCase.review_requested_by }), " ", timeNode(theCase.review_requested_at)]
    : t("Not sent");
  if (manage && !theCase.review_requested_at) {
    const send = h("button", { type: "button", id: "review-button", class: "secondary" }, t("Send for review"));
    send.addEventListener("click", () => act(send, async () => {
      await api(`/cases/${id}/review`, { method: "POST" });
      await go(`/cases/${id}`);
      say(t("Sent for review: the agency's reviewers can now read the case and its footage."));
    }));
    review = [t("Not sent"), " ", send];
  }
  view.append(
    h("p", { class: "back" }, link("/cases", t("← All cases"))),
    h("h1", {}, t("Case {number}", { number: theCase.number })),
    h("p", { class: "lead" }, theCase.title),
    definitions([
      [t("Case ID"), h("code", {}, theCase.id)],
      [t("Opened"), [timeNode(theCase.created_at), " ", t("by {name}", { name: theCase.created_by })]],
      [t("Case officers"), joined(theCase.officers)],
      [t("Review"), h("span", { id: "case-review" }, review)],
    ]),
    section("case-evidence-h", t("Evidence on this case"),
      theCase.evidence.length
        ? table({ id: "case-evidence", caption: t("Items on the case: {count}", { count: theCase.evidence.length }),
          columns: [t("Name"), t("SHA-256"), t("Attached"), t("Attached by"), ...(manage ? [t("Action")] : [])], rows })
        : h("p", { id: "case-evidence" }, t("No evidence is attached yet.")),
      attach),
    can.exportCases(user) ? exportSection(theCase, refreshHistory) : null,
    section("case-history-h", t("Case history"), history));
}

function exportSection(theCase, onExported) {
  const playback = h("input", { id: "include-playback", name: "include_playback", type: "checkbox" });
  const reason = h("input", { id: "export-reason", name: "reason", maxlength: "500", autocomplete: "off" });
  const button = h("button", { type: "submit", id: "export-button" }, t("Export bundle"));
  const result = h("p", { id: "export-result", "aria-live": "polite" });
  const form = h("form", { id: "export-form", class: "card" },
    h("p", {}, t("The bundle is a ZIP with the originals, their custody events and inclusion proofs, and a report a court can read. Exporting is recorded in the custody log.")),
    check(playback, t("Also include the playback copies")),
    field(t("Reason for the export (optional)"), reason), button, result);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      say(t("Building the bundle…"));
      const response = await api(`/cases/${theCase.id}/export`, { accept: "response",
        query: { include_playback: playback.checked ? "true" : null, reason: reason.value.trim() } });
      const blob = await response.blob();
      const name = fileNameOf(response.headers.get("Content-Disposition")) || `case-${theCase.number}.zip`;
      const href = URL.createObjectURL(blob);
      objectUrls.push(href);
      const download = h("a", { href, download: name }, name);
      result.replaceChildren(t("Bundle ready:"), " ", download, " ", `(${bytes(blob.size)})`);
      say("");
      download.click();
      await onExported();
    });
  });
  return section("export-h", t("Export"), form);
}

function fileNameOf(disposition) {
  if (!disposition) return null;
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (encoded) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1] : null;
}

route({ path: "/cases/:id", view: oneCase, allow: can.readCases });
