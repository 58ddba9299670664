// The custody log for auditors: the latest signed checkpoint, the verifier key and a
// verification of the whole log.

import { ApiError, act, api, fill, h, route, say, session } from "../core.js";
import { t } from "../i18n.js";
import { MISSING, number, show } from "../format.js";
import { can } from "../roles.js";
import { cell, check, definitions, section, table } from "../ui.js";

async function audit(view) {
  const [checkpoint, key] = await Promise.all([
    api("/custody/checkpoint", { accept: "text" })
      .catch((err) => (err instanceof ApiError && err.status === 404 ? null : Promise.reject(err))),
    api("/custody/key", { accept: "text" }),
  ]);
  const wholeLog = can.readWholeLog(session.user);
  const objects = h("input", { id: "verify-objects", name: "objects", type: "checkbox" });
  const button = h("button", { type: "submit" }, t("Verify the log"));
  const report = h("div", { id: "verify-report" });
  const form = h("form", { id: "verify-form", class: "inline" },
    check(objects, t("Also re-hash every stored object (slow)")), button);
  const verify = () => act(button, async () => {
    report.setAttribute("aria-busy", "true");
    say(t("Verifying the custody log…"));
    const result = await api("/verify", { query: { objects: objects.checked ? "true" : null } });
    fill(report, verifyReport(result));
    report.removeAttribute("aria-busy");
    say(result.ok ? t("Verification finished: intact.") : t("Verification finished: problems found."));
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    verify();
  });
  view.append(h("h1", {}, t("Custody log audit")),
    section("checkpoint-h", t("Latest signed checkpoint"),
      checkpoint ? h("pre", { id: "checkpoint", class: "note-text" }, checkpoint)
        : h("p", { id: "checkpoint" }, t("The log has no checkpoint yet."))),
    section("vkey-h", t("Verifier key"),
      h("p", {}, t("Anyone can check the checkpoint's signature with this key.")),
      h("pre", { id: "verifier-key", class: "note-text" }, key.trim())),
    section("verify-h", t("Verification"), wholeLog ? form
      : h("p", {}, t("Verifying the whole log is for auditors of every agency (scope *).")), report));
  if (wholeLog) verify();
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
