// One entry's inclusion proof, laid out so a person can follow it: the entry's exact
// bytes and leaf hash, each step up the tree (the sibling, its side, the two inputs and
// their hash), the root reached and the signed checkpoint. The browser then does the
// whole computation again itself (js/merkle.js: SHA-256 and Ed25519 in WebCrypto) and
// says whether the path matches the signed root, whatever the server claimed.

import { api, h, link, objectUrls, route } from "../core.js";
import { describe } from "../custody.js";
import { eventTypeName } from "../event_types.js";
import { t } from "../i18n.js";
import { MISSING, number, show } from "../format.js";
import { checkNoteSignature, fromBase64, fromHex, hex, leafHash, parseNote, parseVerifierKey, walkInclusion } from "../merkle.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { definitions, section } from "../ui.js";

const decoder = new TextDecoder("utf-8", { fatal: false });

function full(hash, id) {
  return hash ? h("code", { class: "hash", id }, hash) : MISSING;
}

function sideName(side) {
  return side === "left" ? t("on the left") : t("on the right");
}

// What the browser finds, with nothing but the response's bytes and the log's key.
async function recompute(proof, keyText) {
  const problems = [];
  const leaf = fromBase64(proof.leaf);
  const leafHashBytes = leaf ? await leafHash(leaf) : null;
  if (!leaf) problems.push(t("The entry's bytes could not be read."));
  else if (hex(leafHashBytes) !== proof.leaf_hash) {
    problems.push(t("The entry's bytes hash to {computed}, not to the leaf hash the server gave ({given}).",
      { computed: hex(leafHashBytes), given: show(proof.leaf_hash) }));
  }
  const siblings = proof.steps.map((s) => fromHex(s.sibling));
  const path = siblings.every((s) => s && s.length === 32) ? siblings : null;
  if (!path) problems.push(t("A sibling hash is not a SHA-256 hash."));
  const documentPath = (proof.document && proof.document.proof) || [];
  const documentDiffers = documentPath.length !== proof.steps.length ||
    documentPath.some((p, i) => p !== proof.steps[i].sibling);
  const walk = leafHashBytes && path ? await walkInclusion(proof.index, proof.size, leafHashBytes, path)
    : { steps: [], root: null, problem: null };
  if (walk.problem) {
    problems.push(t("The path has the wrong number of steps for entry {index} in a tree of {size} entries.",
      { index: proof.index, size: number(proof.size) }));
  }
  const note = parseNote(proof.checkpoint.note);
  if (!note || !note.root || note.size === null) problems.push(t("The signed checkpoint could not be read."));
  else {
    if (note.size !== proof.size) {
      problems.push(t("The checkpoint signs a tree of {signed} entries, but the proof is for {size}.",
        { signed: number(note.size), size: number(proof.size) }));
    }
    if (walk.root && hex(walk.root) !== hex(note.root)) {
      problems.push(t("The path reaches {computed}, but the signed checkpoint's root is {signed}.",
        { computed: hex(walk.root), signed: hex(note.root) }));
    }
  }
  const signature = note ? await checkNoteSignature(note, parseVerifierKey(keyText)) : "bad";
  if (signature === "bad") problems.push(t("The checkpoint's signature does not verify with the log's key."));
  const matches = problems.length === 0 && Boolean(walk.root);
  return { leaf, leafHash: leafHashBytes, walk, note, signature, problems, matches, documentDiffers };
}

function verdict(proof, mine) {
  const lines = [];
  if (mine.matches) {
    lines.push(h("p", { id: "proof-verdict", class: "verdict ok" },
      t("Your browser recomputed every step: the path matches the signed root, and the checkpoint's signature verifies with the log's key.")));
  } else {
    lines.push(h("div", { id: "proof-verdict", class: "verdict bad" },
      h("p", {}, t("Your browser's own check failed: this entry is not proven by the signed checkpoint.")),
      h("ul", { id: "proof-problems" }, mine.problems.map((p) => h("li", {}, p)))));
  }
  if (mine.signature === "unsupported") {
    lines.push(h("p", { class: "note" }, t("This browser cannot check Ed25519 signatures: only the hashes were checked here.")));
  }
  if (proof.verified && !mine.matches) {
    lines.push(h("p", { id: "server-verdict", class: "verdict bad" },
      t("The server says this proof verifies, but your browser's own check does not agree. Do not rely on this proof; tell an auditor.")));
  } else if (proof.verified) {
    lines.push(h("p", { id: "server-verdict" }, t("The server's check agrees: the proof verifies.")));
  } else {
    lines.push(h("div", { id: "server-verdict" },
      h("p", {}, t("The server's check also failed:")),
      h("ul", {}, proof.problems.map((p) => h("li", {}, p)))));
  }
  return lines;
}

function entrySection(proof, mine) {
  const entry = proof.entry;
  const text = mine.leaf ? decoder.decode(mine.leaf) : MISSING;
  const same = mine.leafHash && hex(mine.leafHash) === proof.leaf_hash;
  return section("entry-h", t("1. The entry"),
    h("p", {}, t("The custody log stores each event as these exact bytes (canonical JSON). Its leaf hash is SHA-256 of a 0x00 byte followed by the bytes.")),
    definitions([
      [t("Entry"), number(proof.index)],
      [t("What happened"), describe(entry)],
      [t("Event type"), eventTypeName(entry.type)],
      [t("Actor"), h("code", {}, show(entry.actor))],
      [t("Time"), timeNode(entry.time)],
    ]),
    h("label", { for: "canonical", class: "block-label" }, t("Canonical event")),
    // Read-only, so the exact bytes can be selected and copied whole.
    h("textarea", { id: "canonical", class: "note-text canonical", readonly: true, rows: "6", spellcheck: "false" }, text),
    definitions([
      [t("Leaf hash = SHA-256(0x00 || bytes)"), full(proof.leaf_hash, "leaf-hash")],
      [t("Your browser's leaf hash"), h("span", { id: "browser-leaf", class: same ? "check-ok" : "check-bad" },
        same ? t("the same") : (mine.leafHash ? hex(mine.leafHash) : MISSING))],
    ]));
}

function stepsSection(proof, mine) {
  const items = proof.steps.map((step, i) => {
    const ours = mine.walk.steps[i];
    const agrees = ours && ours.side === step.side && hex(ours.result) === step.hash &&
      hex(ours.left) === step.left && hex(ours.right) === step.right;
    const last = step.end - 1;
    return h("li", { class: "proof-step" },
      h("p", {}, step.first === last
        ? t("The sibling is {side}: the leaf of entry {first}.", { side: sideName(step.side), first: number(step.first) })
        : t("The sibling is {side}: the subtree of entries {first}–{last}.",
          { side: sideName(step.side), first: number(step.first), last: number(last) })),
      definitions([
        [t("Sibling hash"), full(step.sibling)],
        [t("Left input"), full(step.left)],
        [t("Right input"), full(step.right)],
        [t("SHA-256(0x01 || left || right)"), full(step.hash)],
        [t("Your browser"), h("span", { class: agrees ? "check-ok" : "check-bad" }, agrees
          ? t("computed the same hash")
          : (ours ? t("computed {hash}, with the sibling {side}", { hash: hex(ours.result), side: sideName(ours.side) })
            : t("could not compute this step")))],
      ]));
  });
  return section("steps-h", t("2. The audit path"),
    h("p", {}, t("Each step joins the hash so far with its sibling: SHA-256 of a 0x01 byte, the left input and the right input. The result is the next step's input.")),
    items.length ? h("ol", { id: "proof-steps", class: "steps" }, items)
      : h("p", { id: "proof-steps" }, t("The tree has one entry: its leaf hash is the root.")),
    mine.documentDiffers ? h("p", { class: "check-bad" }, t("The steps do not list the same sibling hashes as the proof document.")) : null);
}

function rootSection(proof, mine) {
  const signed = mine.note && mine.note.root ? hex(mine.note.root) : null;
  const computed = mine.walk.root ? hex(mine.walk.root) : null;
  return section("root-h", t("3. The root it reaches"),
    definitions([
      [t("Root the server's steps reach"), full(proof.root, "server-root")],
      [t("Root your browser computed"), full(computed, "computed-root")],
      [t("Root the checkpoint signs"), full(signed, "signed-root")],
    ]),
    h("p", { class: computed && computed === signed ? "check-ok" : "check-bad" }, computed && computed === signed
      ? t("The root your browser computed is the signed root.")
      : t("The root your browser computed is not the signed root.")));
}

function signatureText(state) {
  if (state === "ok") return t("verifies with the log's key");
  if (state === "unsupported") return t("not checked: this browser has no Ed25519");
  return t("does not verify with the log's key");
}

function checkpointSection(proof, mine, keyText) {
  const cp = proof.checkpoint;
  const lines = mine.note ? mine.note.signatures.map((s) => s.line) : [];
  return section("checkpoint-h", t("4. The signed checkpoint"),
    h("p", {}, t("The log signs its size and root at intervals. This is the checkpoint the proof reaches, exactly as stored:")),
    h("pre", { id: "checkpoint-note", class: "note-text" }, cp.note),
    definitions([
      [t("Origin"), show(cp.origin)],
      [t("Tree size"), cp.size === null ? MISSING : t("entries: {count}", { count: number(cp.size) })],
      [t("Root"), full(cp.root_hash)],
      [t("Signature line"), lines.length ? lines.map((l) => h("code", { class: "hash signature-line" }, l)) : MISSING],
      [t("Key name"), show(cp.key_name)],
      [t("Signed at"), timeNode(proof.checkpoint_created_at)],
      [t("Signature, checked by the server"), cp.signature_ok ? t("verifies with the log's key") : t("does not verify with the log's key")],
      [t("Signature, checked by your browser"), h("span", { id: "browser-signature" }, signatureText(mine.signature))],
      [t("Log's verifier key"), h("code", { class: "hash", id: "proof-vkey" }, keyText.trim())],
    ]));
}

function offlineSection(proof, keyText) {
  const name = `entry-${proof.index}-proof.json`;
  const url = URL.createObjectURL(new Blob([JSON.stringify(proof.document, null, 2) + "\n"], { type: "application/json" }));
  objectUrls.push(url);
  return section("offline-h", t("Check it yourself"),
    h("p", {}, t("Save the proof and check it with the command-line tool, on a computer that does not trust this server:")),
    h("p", {}, h("a", { href: url, download: name, id: "proof-download", class: "button secondary" }, t("Save the proof ({name})", { name }))),
    h("pre", { class: "note-text" }, `evidence log check-proof ${name} --vkey '${keyText.trim()}'`),
    h("p", {}, proof.offline_check === null || proof.offline_check === undefined
      ? t("The server's offline checker accepts this document.")
      : t("The server's offline checker refuses this document: {reason}", { reason: proof.offline_check })));
}

async function entryProof(view, { params, query }) {
  const index = params.index;
  const [proof, keyText] = await Promise.all([
    api(`/custody/entries/${index}/proof`, { query: { size: query.size } }),
    api("/custody/key", { accept: "text" }),
  ]);
  const mine = await recompute(proof, keyText);
  const subject = proof.entry.subject || {};
  const caseId = (proof.entry.details || {}).case_id;
  const back = subject.evidence_id ? link(`/evidence/${encodeURIComponent(subject.evidence_id)}/events`, t("Custody events of this item"))
    : typeof caseId === "string" ? link(`/cases/${encodeURIComponent(caseId)}/events`, t("Custody events of this case"))
      : link("/custody/events", t("Custody events"));
  view.append(h("h1", {}, t("Inclusion proof of entry {index}", { index: number(proof.index) })),
    h("p", { class: "back" }, back),
    h("p", { class: "lead" }, t("How entry {index} is part of the signed custody log of {size} entries, step by step.",
      { index: number(proof.index), size: number(proof.size) })),
    verdict(proof, mine),
    entrySection(proof, mine), stepsSection(proof, mine), rootSection(proof, mine),
    checkpointSection(proof, mine, keyText), offlineSection(proof, keyText));
}

route({ path: "/custody/entries/:index", view: entryProof, allow: can.readProofs });
