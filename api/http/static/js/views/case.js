// One case: its evidence (attach, detach), review, export and history.

import { API, act, api, apiUrl, go, h, link, route, say, session } from "../core.js";
import { custodyTable } from "../custody.js";
import { t } from "../i18n.js";
import { bytes, joined } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { check, definitions, field, hashCode, section, table } from "../ui.js";
import { actionKindName, actionStateName, partyText } from "../review_words.js";

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
  const rows = theCase.evidence.map((e) => [link(`/evidence/${e.evidence_id}`, e.original_name),
    hashCode(e.sha256, false), timeNode(e.attached_at), e.attached_by,
    ...(manage ? [detachControl(id, e)] : [])]);
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
    actionsSection((await api(`/cases/${id}/actions`)).items),
    can.exportCases(user)
      ? exportSection(theCase, refreshHistory, (await api(`/cases/${id}/exports`)).items) : null,
    section("case-history-h", t("Case history"), history,
      can.readCaseEvents(user) ? h("p", {}, link(`/cases/${id}/events`, t("Custody events of this case"))) : null));
}

// The case's enforcement actions, each linked to its page (materials, legal review, decision).
function actionsSection(actions) {
  return section("case-actions-h", t("Enforcement actions"), actions.length
    ? table({ id: "case-actions", caption: t("Enforcement actions on the case: {count}", { count: actions.length }),
      columns: [t("Matter"), t("Kind"), t("Party"), t("State")],
      rows: actions.map((a) => [link(`/actions/${a.id}`, a.matter), actionKindName(a.kind), partyText(a.party),
        actionStateName(a.state)]) })
    : h("p", { id: "case-actions" }, t("No enforcement action is recorded on this case.")));
}

// Detaching asks first: the button gives way to a question with Detach and Cancel.
function detachControl(caseId, e) {
  const box = h("div", { class: "confirm" });
  const ask = h("button", { type: "button", class: "secondary",
    "aria-label": t("Detach {name}", { name: e.original_name }) }, t("Detach"));
  const question = () => {
    const yes = h("button", { type: "button", class: "danger",
      "aria-label": t("Yes, take {name} off the case", { name: e.original_name }) }, t("Yes, detach"));
    const no = h("button", { type: "button", class: "secondary" }, t("Cancel"));
    yes.addEventListener("click", () => act(yes, async () => {
      await api(`/cases/${caseId}/evidence/${e.evidence_id}`, { method: "DELETE" });
      await go(`/cases/${caseId}`);
      say(t("{name} was taken off the case; its retention is not shortened.", { name: e.original_name }));
    }));
    no.addEventListener("click", () => {
      box.replaceChildren(ask);
      ask.focus();
    });
    box.replaceChildren(h("span", {}, t("Take it off the case?")), yes, no);
    yes.focus();
  };
  ask.addEventListener("click", question);
  box.append(ask);
  return box;
}

const POLL_MS = 500;
const FINISHED = new Set(["done", "failed", "expired"]);

// A case export is a job on the server: started, followed (items and bytes), then downloaded
// by a plain link the browser streams to disk; the bundle is never assembled in the page.
function exportSection(theCase, onExported, earlier) {
  const playback = h("input", { id: "include-playback", name: "include_playback", type: "checkbox" });
  const reason = h("input", { id: "export-reason", name: "reason", maxlength: "500", autocomplete: "off" });
  const button = h("button", { type: "submit", id: "export-button" }, t("Export bundle"));
  const result = h("div", { id: "export-result" });
  const form = h("form", { id: "export-form", class: "card" },
    h("p", {}, t("The bundle is a ZIP with the originals, their custody events and inclusion proofs, and a report a court can read. It is built on the server; you can leave this page meanwhile. Exporting is recorded in the custody log.")),
    check(playback, t("Also include the playback copies")),
    field(t("Reason for the export (optional)"), reason), button, result);

  const follow = async (job, why) => {
    const label = h("p", { id: "export-progress-label" });
    const bar = h("progress", { id: "export-progress", max: "1", value: "0", "aria-labelledby": "export-progress-label" });
    result.replaceChildren(label, bar);
    button.disabled = true;
    try {
      let current = job;
      let shown = false;
      for (let polls = 0; !FINISHED.has(current.state); polls += 1) {
        showProgress(current, label, bar);
        await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
        shown = shown || result.isConnected;
        // The person has moved to another page (the build goes on on the server).
        if (!result.isConnected && (shown || polls > 20)) return;
        current = await api(`/cases/${theCase.id}/exports/${current.id}`);
      }
      finished(current, why, true);
      if (current.state === "done") await onExported();
    } finally {
      button.disabled = false;
    }
  };

  const finished = (job, why, live) => {
    if (job.state === "done") {
      const href = apiUrl(job.download.slice(API.length), { reason: why });
      const download = h("a", { id: "export-download", class: "button", href: href.pathname + href.search,
        download: job.file_name }, t("Download {file}", { file: job.file_name }));
      result.replaceChildren(
        h("p", { id: "export-done" }, t("The bundle is ready: {items} items, {size}.",
          { items: job.items_total, size: bytes(job.size) })),
        download,
        definitions([[t("SHA-256 of the ZIP"), hashCode(job.sha256, true)],
          [t("SHA-256 of its manifest"), hashCode(job.manifest_sha256, true)],
          [t("Kept on the server until"), timeNode(job.expires_at)]]));
      if (live) {
        say(t("The bundle is ready to download."));
        download.focus();
      }
    } else if (job.state === "failed") {
      result.replaceChildren(h("p", { id: "export-failed", class: "error-text", role: "alert" },
        t("The bundle could not be built: {error}", { error: job.error || t("no reason was given") })));
    } else {
      result.replaceChildren(h("p", { id: "export-expired", class: "note" },
        t("This bundle was deleted after its keeping time; export again.")));
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const why = reason.value.trim();
    act(button, async () => {
      const job = await api(`/cases/${theCase.id}/exports`, { method: "POST",
        body: { include_playback: playback.checked, reason: why || null } });
      say(t("Building the bundle on the server…"));
      await follow(job, why);
    });
  });
  // A bundle still being built, or ready, from before: follow it, or offer it (its download
  // is a new custody event, with no reason unless one is typed for a new export).
  const latest = earlier.find((job) => job.state !== "expired" && job.state !== "failed");
  if (latest) {
    if (latest.state === "done") finished(latest, "", false);
    else act(null, () => follow(latest, ""));
  }
  return section("export-h", t("Export"), form);
}

function showProgress(job, label, bar) {
  const fraction = job.bytes_total > 0 ? job.bytes_done / job.bytes_total
    : job.items_total > 0 ? job.items_done / job.items_total : 0;
  const text = job.state === "queued" ? t("Waiting for the server to start building the bundle…")
    : t("Building the bundle: {done} of {total} items, {bytes_done} of {bytes_total}.",
      { done: job.items_done, total: job.items_total, bytes_done: bytes(job.bytes_done), bytes_total: bytes(job.bytes_total) });
  label.textContent = text;
  bar.value = Math.min(1, fraction);
  bar.setAttribute("aria-valuetext", text);
}

route({ path: "/cases/:id", view: oneCase, allow: can.readCases });
