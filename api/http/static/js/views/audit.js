// The custody log for auditors: the latest signed checkpoint, the verifier key and the
// verification of the whole log, run in the server as a background job with its progress.

import { ApiError, act, api, fill, h, link, route, say, session, showError } from "../core.js";
import { t } from "../i18n.js";
import { MISSING, number, show } from "../format.js";
import { can } from "../roles.js";
import { cell, check, definitions, section, table } from "../ui.js";
import { timeNode, timeText } from "../time.js";

async function audit(view) {
  const ticket = ++auditTicket;
  const wholeLog = can.readWholeLog(session.user);
  const [checkpoint, key, jobs] = await Promise.all([
    api("/custody/checkpoint", { accept: "text" })
      .catch((err) => (err instanceof ApiError && err.status === 404 ? null : Promise.reject(err))),
    api("/custody/key", { accept: "text" }),
    wholeLog ? api("/verify/jobs", { query: { limit: JOBS_SHOWN } }) : null,
  ]);
  const readMore = [
    wholeLog ? h("li", {}, link("/custody/events", t("Custody events, filtered by actor, type and time"))) : null,
    can.readCheckpoints(session.user) ? h("li", {}, link("/custody/checkpoints", t("Checkpoint history and consistency"))) : null,
  ].filter(Boolean);
  view.append(h("h1", {}, t("Custody log audit")),
    readMore.length ? h("ul", { class: "links" }, readMore) : null,
    section("checkpoint-h", t("Latest signed checkpoint"),
      checkpoint ? h("pre", { id: "checkpoint", class: "note-text" }, checkpoint)
        : h("p", { id: "checkpoint" }, t("The log has no checkpoint yet."))),
    section("vkey-h", t("Verifier key"),
      h("p", {}, t("Anyone can check the checkpoint's signature with this key.")),
      h("pre", { id: "verifier-key", class: "note-text" }, key.trim())),
    section("verify-h", t("Verification"), wholeLog ? verifyJobs(view, ticket, jobs)
      : h("p", {}, t("Verifying the whole log is for auditors of every agency (scope *)."))));
}

// ---------------------------------------------------------------- the verify, as a job

const JOBS_SHOWN = 10;
const POLL_MS = 400;
let auditTicket = 0;

const STATES = {
  queued: () => t("waiting to start"),
  running: () => t("running"),
  done: () => t("finished"),
  failed: () => t("could not finish"),
};

function phaseName(phase) {
  if (phase === "objects") return t("Stored objects, re-hashed");
  return checkName(phase);
}

// role=progressbar: the share of the current phase checked, and the phase in words.
function progressBar(job) {
  const { phase, checked, total } = job.progress;
  const known = typeof total === "number" && total > 0;
  const percent = known ? Math.min(100, Math.round((checked / total) * 100)) : null;
  let text;
  if (job.state === "queued" || !phase) text = t("Waiting to start.");
  else if (known) text = t("{phase}: {checked} of {total} checked.", { phase: phaseName(phase), checked: number(checked), total: number(total) });
  else text = t("{phase}: {checked} checked.", { phase: phaseName(phase), checked: number(checked) });
  // Drawn by a native <progress> (no inline style under the CSP); the div speaks for it.
  const bar = h("progress", { max: "100", value: percent === null ? null : String(percent), "aria-hidden": "true" });
  return [
    h("p", { id: "verify-progress-text" }, text),
    h("div", { id: "verify-bar", class: "progress", role: "progressbar", "aria-labelledby": "verify-progress-text",
      "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": percent === null ? null : String(percent),
      "aria-valuetext": text }, bar),
  ];
}

function jobResult(job) {
  if (job.state === "failed") return t("Could not finish: {error}", { error: show(job.error) });
  if (job.state !== "done") return MISSING;
  if (job.ok) return t("Intact");
  return t("Problems found: {count}.", { count: number(job.report ? job.report.problems.length : 0) });
}

function verifyJobs(view, ticket, jobs) {
  const objects = h("input", { id: "verify-objects", name: "objects", type: "checkbox" });
  const button = h("button", { type: "submit" }, t("Start a verification"));
  const progress = h("div", { id: "verify-progress", hidden: true });
  const report = h("div", { id: "verify-report" });
  const list = h("div", { id: "verify-jobs-list" });
  const form = h("form", { id: "verify-form", class: "inline" },
    check(objects, t("Also re-hash every stored object (slow)")), button);
  // The page may be left or drawn again (a language change) while a job runs.
  let attached = false;
  const current = () => {
    if (view.isConnected) attached = true;
    return ticket === auditTicket && (view.isConnected || !attached);
  };

  const showReport = (job) => {
    if (job.state === "failed") {
      fill(report, h("p", { id: "verify-verdict", class: "verdict bad" },
        t("The verification could not finish: {error}", { error: show(job.error) })));
      return;
    }
    fill(report, h("p", { class: "note", id: "verify-report-of" },
      t("Verification requested by {actor}, finished {time}.", { actor: job.requested_by, time: timeText(job.finished_at) })),
    verifyReport(job.report));
  };
  const drawList = (page) => {
    fill(list, page.items.length ? table({ id: "verify-jobs", caption: t("Verifications, newest first"),
      columns: [t("Requested"), t("By"), t("Re-hash objects"), t("State"), t("Result"), t("Finished"), t("Report")],
      rows: page.items.map((job) => [
        timeNode(job.requested_at), job.requested_by, job.objects ? t("yes") : t("no"),
        STATES[job.state] ? STATES[job.state]() : show(job.state), jobResult(job), timeNode(job.finished_at),
        job.state === "done" || job.state === "failed"
          ? h("button", { type: "button", class: "link", onclick: () => { showReport(job); report.focus(); },
            "aria-label": t("Show the report of the verification requested {time}", { time: timeText(job.requested_at) }) },
          t("Show"))
          : null,
      ]) }) : h("p", { id: "verify-jobs" }, t("No verification has been run yet.")));
  };
  const follow = async (first) => {
    let job = first;
    progress.hidden = false;
    button.disabled = true;
    let listed = null; // the state the list shows the job in: redrawn when it changes
    try {
      for (;;) {
        fill(progress, progressBar(job));
        if (job.state !== listed && job.state !== "done" && job.state !== "failed") {
          listed = job.state;
          drawList(await api("/verify/jobs", { query: { limit: JOBS_SHOWN } }));
        }
        if (job.state === "done" || job.state === "failed") break;
        await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
        if (!current()) return;
        job = await api(`/verify/jobs/${encodeURIComponent(job.id)}`);
      }
      if (!current()) return;
      progress.hidden = true;
      showReport(job);
      drawList(await api("/verify/jobs", { query: { limit: JOBS_SHOWN } }));
      say(job.state === "failed" ? t("The verification could not finish.")
        : job.ok ? t("Verification finished: intact.") : t("Verification finished: problems found."));
    } catch (err) {
      progress.hidden = true;
      showError(err);
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    let started = null;
    act(button, async () => {
      started = await api("/verify/jobs", { method: "POST", body: { objects: objects.checked } });
      fill(report);
      say(t("Verification started; it goes on if you leave this page."));
    }).then(() => (started ? follow(started) : null));
  });
  report.setAttribute("tabindex", "-1");
  drawList(jobs);
  const active = jobs.items.find((job) => job.state === "queued" || job.state === "running");
  const latest = jobs.items.find((job) => job.state === "done" || job.state === "failed");
  if (active) follow(active);
  else if (latest) showReport(latest);
  return [h("p", {}, t("The verification checks every entry, the tree, the checkpoints and the catalogue, in the server, in the background; you may leave this page while it runs.")),
    form, progress, report, h("h3", {}, t("Earlier verifications")), list];
}

// The verifier names its checks with machine words (custody/verify.py); these are for people.
const CHECKS = {
  entries: () => t("Log entries: their form, order and chain"),
  nodes: () => t("Stored Merkle tree nodes"),
  head: () => t("Log head: its size and frontier"),
  checkpoints: () => t("Signed checkpoints"),
  documents: () => t("Custody documents"),
  catalog: () => t("The evidence catalogue against the log"),
  tiles: () => t("Exported log tiles"),
};

function checkName(check) {
  return CHECKS[check] ? CHECKS[check]() : show(check);
}

function verifyReport(result) {
  return [
    h("p", { id: "verify-verdict", class: result.ok ? "verdict ok" : "verdict bad" },
      result.ok ? t("Intact: every check passed.") : t("Problems found: {count}.", { count: result.problems.length })),
    definitions([
      [t("Source"), result.source],
      [t("Entries"), number(result.entries)],
      [t("Checkpoints"), number(result.checkpoints)],
      [t("Stored objects re-hashed"), show(result.objects)],
      [t("Latest checkpoint covers"), result.latest_checkpoint_size === null || result.latest_checkpoint_size === undefined
        ? MISSING : t("entries: {count}", { count: number(result.latest_checkpoint_size) })],
      [t("Root hash"), result.root_hash ? h("code", { class: "hash" }, result.root_hash) : null],
    ]),
    h("h3", {}, t("Checks made")),
    h("ul", { id: "verify-checks" }, result.checks.map((c) => h("li", {}, checkName(c)))),
    result.notes.length ? [h("h3", {}, t("Notes")), h("ul", {}, result.notes.map((n) => h("li", {}, n)))] : null,
    result.problems.length
      ? table({ id: "verify-problems", caption: t("Problems"), columns: [t("Entry"), t("Kind"), t("What is wrong")],
        rows: result.problems.map((p) => [cell(show(p.index), "num"), p.kind, p.message]) })
      : null,
  ];
}

route({ path: "/audit", view: audit, allow: can.audit, nav: { label: () => t("Audit"), order: 30 },
  home: (user) => user.role === "auditor" });
