// The evidence pages: sign in with a token, search and play evidence, manage
// cases, audit the custody log. Everything comes from the JSON API under
// /api/v1 with the bearer token kept in this tab's sessionStorage. Text from
// the server is only ever placed with textContent, never parsed as HTML.
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "evidence.token";
const PAGE_SIZE = 50;
const SHORT_HASH = 12;

// The same rules as cases/access.py; the API enforces them, the pages only
// leave out what a role cannot use.
const CAN = {
  play: new Set(["officer", "case_officer", "reviewer", "admin"]),
  readCases: new Set(["case_officer", "reviewer", "auditor", "admin"]),
  manageCases: new Set(["case_officer", "admin"]),
  exportCases: new Set(["case_officer", "reviewer", "admin"]),
  audit: new Set(["auditor", "admin"]),
};
// The whole log (its entries, proofs and verify report) is for auditors of every agency.
const readsWholeLog = (user) => user.role === "auditor" && user.auditor_scope === "*";

const state = { user: null, renderTicket: 0, pendingError: null, objectUrls: [] };

// ---------------------------------------------------------------- DOM helpers

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return node;
}

function field(label, input, help) {
  const helpNode = help ? h("span", { class: "help", id: input.id + "-help" }, help) : null;
  if (helpNode) input.setAttribute("aria-describedby", helpNode.id);
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, helpNode);
}

function section(id, title, ...children) {
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

function table(caption, headings, rows, id) {
  return h("table", { id },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows));
}

function definitions(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, value]) => value !== null && value !== undefined)
    .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function hashCode(sha256, full) {
  return h("code", { class: "hash", title: sha256 }, full ? sha256 : sha256.slice(0, SHORT_HASH) + "…");
}

// ---------------------------------------------------------------- formatting

function when(time) {
  if (!time) return "unknown";
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|[+-]00:00)$/.exec(time);
  if (match) return `${match[1]} ${match[2]} UTC`;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? time : date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const parts = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  const text = parts.map((p) => String(p).padStart(2, "0")).join(":");
  return parts[0] ? text : text.slice(3);
}

function bytes(count) {
  return typeof count === "number" ? `${count.toLocaleString("en")} bytes` : "unknown size";
}

function who(actor) {
  const [kind, ...rest] = String(actor || "").split(":");
  return rest.length ? `${kind} ${rest.join(":")}` : String(actor);
}

function reasonText(details) {
  return details.reason ? `; reason given: “${details.reason}”` : "; no reason given";
}

// One sentence per custody event, the same wording as the court bundle's report
// (cases/bundle_report.py, describe()).
const SENTENCES = {
  "evidence:file:ingested": (e, d) => {
    const device = d.device ? `recorder ${d.device}` : "an unidentified recorder";
    const officer = d.officer ? ` (officer ${d.officer})` : "";
    return `Copied off ${device}${officer} by ${who(e.actor)} from “${d.source}” and stored as evidence (${bytes(d.size)}).`;
  },
  "evidence:file:verified": (e, d) =>
    `Read back from storage by ${who(e.actor)}: the stored bytes matched (SHA-256 ${d.read_back_sha256}).`,
  "evidence:file:seen-again": (e, d) =>
    `The same file was found again on ${d.device || "a recorder"} by ${who(e.actor)}; it was not stored twice.`,
  "evidence:file:probed": (e, d) =>
    `Media details read by ${who(e.actor)}${d.error ? ` (problem: ${d.error})` : ""}.`,
  "evidence:file:derived": (e, d) =>
    `Copy “${d.name}” made by ${who(e.actor)} (${d.method}); its SHA-256 is ${(d.object || {}).sha256}.`,
  "evidence:file:viewed": (e, d) =>
    `Viewed (${d.copy === "original" ? "the original" : "the playback copy"}) by ${who(e.actor)}${reasonText(d)}.`,
  "evidence:file:downloaded": (e, d) => `Original downloaded by ${who(e.actor)}${reasonText(d)}.`,
  "evidence:file:wiped": (e) =>
    `Deleted from the recorder by ${who(e.actor)} after the stored copy was verified.`,
  "evidence:file:deleted": (e, d) => `Deleted from storage by ${who(e.actor)}${reasonText(d)}.`,
  "evidence:access:granted": (e, d) =>
    `Made available by ${who(e.actor)} from unit ${d.from_unit} to case ${d.case_number} of unit ${d.to_unit}${reasonText(d)}.`,
  "evidence:hold:placed": (e, d) => `Legal hold placed by ${who(e.actor)}${reasonText(d)}.`,
  "evidence:hold:released": (e, d) => `Legal hold released by ${who(e.actor)}${reasonText(d)}.`,
  "case:record:created": (e, d) => `Case ${d.number} (“${d.title}”) opened by ${who(e.actor)}.`,
  "case:evidence:attached": (e, d) => {
    const until = (d.retention || {}).retain_until;
    return `Attached to case ${d.case_number} by ${who(e.actor)}${until ? `; to be kept until ${when(until)}` : ""}.`;
  },
  "case:evidence:detached": (e, d) => `Taken off case ${d.case_number} by ${who(e.actor)}.`,
  "case:officer:assigned": (e, d) => `${d.officer} assigned to the case by ${who(e.actor)}.`,
  "case:officer:removed": (e, d) => `${d.officer} removed from the case by ${who(e.actor)}.`,
  "case:review:requested": (e, d) => `Case ${d.case_number} sent for review by ${who(e.actor)}.`,
  "case:bundle:requested": (e, d) => `Export of the case requested by ${who(e.actor)}${reasonText(d)}.`,
  "case:bundle:exported": (e, d) =>
    `Case bundle exported by ${who(e.actor)}: ${d.files} file(s), manifest SHA-256 ${d.manifest_sha256}.`,
};

function describe(event) {
  if (event.description) return event.description; // the API's own wording, when it sends one
  if (event.problem) return `This log entry could not be read: ${event.problem}`;
  const sentence = SENTENCES[event.type];
  return sentence ? sentence(event, event.details || {}) : `${event.type} by ${who(event.actor)}.`;
}

function custodyTable(events, truncated, caption) {
  const rows = events.map((event) => h("tr", {},
    h("td", { class: "num" }, event.seq), h("td", { class: "nowrap" }, when(event.time)),
    h("td", {}, describe(event))));
  const parts = [events.length ? table(caption, ["Entry", "Time", "What happened"], rows, "custody-events")
    : h("p", {}, "No custody events.")];
  if (truncated) parts.push(h("p", { class: "note" }, "Only the first events are shown; an auditor can read the rest from the custody log."));
  return parts;
}

// ---------------------------------------------------------------- messages

class ApiError extends Error {
  constructor(status, code, message, hint) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

function showError(err) {
  const box = document.getElementById("message");
  const known = err instanceof ApiError;
  box.replaceChildren(
    h("p", { class: "message-text" }, known ? sentence(err.message) : "Something went wrong in this page."),
    known && err.hint ? h("p", { class: "message-hint" }, sentence(err.hint)) : null,
    known ? h("p", { class: "message-code" }, `Error code: ${err.code}${err.status ? ` (HTTP ${err.status})` : ""}`)
      : h("p", { class: "message-code" }, String(err)),
    h("button", { type: "button", class: "link", onclick: clearMessage }, "Dismiss"));
  box.hidden = false;
  if (!known) console.error(err);
}

// The API's messages are sentence fragments ("a case numbered ... already exists").
function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : capital + ".";
}

function clearMessage() {
  const box = document.getElementById("message");
  box.hidden = true;
  box.replaceChildren();
}

function say(text) {
  document.getElementById("status").textContent = text;
}

// ---------------------------------------------------------------- API calls

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function apiUrl(path, query) {
  const url = new URL(API + path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

// Returns parsed JSON, text (accept: "text") or the Response (accept: "response").
async function api(path, { method = "GET", query, body, accept = "json", headers = {}, bearer } = {}) {
  const all = { Authorization: `Bearer ${bearer || token()}`, ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, query), {
      method, headers: all, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, "network", "The server could not be reached.", "Check the network connection and try again.");
  }
  if (!response.ok) throw await errorFrom(response);
  if (accept === "response") return response;
  if (response.status === 204) return null;
  return accept === "text" ? response.text() : response.json();
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null; // not the API's JSON error (a proxy's page, say): described below
  }
  const detail = body && body.error;
  if (detail && typeof detail.message === "string") {
    return new ApiError(response.status, detail.code || "error", detail.message, detail.hint || null);
  }
  return new ApiError(response.status, `http_${response.status}`,
    `The server answered ${response.status} ${response.statusText}.`, null);
}

// ---------------------------------------------------------------- the player's service worker

async function playerWorker() {
  if (!("serviceWorker" in navigator)) {
    throw new ApiError(0, "player_unavailable", "This browser cannot attach your token to the video player.",
      "Use a current browser, and open these pages over HTTPS (or on localhost).");
  }
  const registration = await navigator.serviceWorker.register("/ui/sw.js", { scope: "/ui/" });
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    // A hard reload bypasses the worker; ask it to take this page over.
    const taken = new Promise((resolve) =>
      navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    (registration.active || (await navigator.serviceWorker.ready).active).postMessage({ type: "claim" });
    await taken;
  }
}

function answerTokenRequests() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "token-request" && event.ports[0]) {
      event.ports[0].postMessage({ token: token() });
    }
  });
  navigator.serviceWorker.startMessages();
}

// ---------------------------------------------------------------- routing

const ROUTES = [
  [/^\/signin$/, viewSignIn],
  [/^\/evidence$/, viewEvidenceList],
  [/^\/evidence\/([0-9a-fA-F-]{36})$/, viewEvidence],
  [/^\/cases$/, viewCaseList],
  [/^\/cases\/([0-9a-fA-F-]{36})$/, viewCase],
  [/^\/audit$/, viewAudit],
];

function go(path, params) {
  const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  const target = "#" + path + (query.toString() ? "?" + query : "");
  if (location.hash === target) render();
  else location.hash = target;
}

function homePath(user) {
  return user.role === "auditor" ? "/audit" : "/evidence";
}

async function render() {
  const ticket = ++state.renderTicket;
  const [path, queryText] = (location.hash.slice(1) || "/").split("?");
  const params = Object.fromEntries(new URLSearchParams(queryText || ""));
  clearMessage();
  say("");
  for (const url of state.objectUrls.splice(0)) URL.revokeObjectURL(url);
  try {
    if (!token()) {
      if (path !== "/signin") return go("/signin");
    } else if (!state.user) {
      state.user = await api("/me");
    }
    drawChrome();
    if (state.user && (path === "/" || path === "/signin")) return go(homePath(state.user));
    const route = ROUTES.find(([pattern]) => pattern.test(path));
    const main = document.getElementById("main");
    const view = h("div", {});
    if (!route) {
      view.append(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/evidence" }, "Go to the evidence list")));
    } else {
      main.setAttribute("aria-busy", "true");
      await route[1](view, params, ...route[0].exec(path).slice(1));
    }
    if (ticket !== state.renderTicket) return; // the user has moved on
    main.replaceChildren(view);
    main.removeAttribute("aria-busy");
    const heading = view.querySelector("h1");
    document.title = `${heading ? heading.textContent + " — " : ""}Evidence`;
    const focusTarget = view.querySelector("[data-focus]") || heading;
    if (focusTarget) {
      if (focusTarget === heading) heading.setAttribute("tabindex", "-1");
      focusTarget.focus();
    }
    if (state.pendingError) { // why the user was sent here (signed out)
      showError(state.pendingError);
      state.pendingError = null;
    }
  } catch (err) {
    if (ticket !== state.renderTicket) return;
    if (err instanceof ApiError && err.status === 401) return signOut(err);
    const main = document.getElementById("main");
    main.removeAttribute("aria-busy");
    main.replaceChildren(h("h1", {}, "This page could not be shown"));
    showError(err);
  }
}

// Runs an action from a button or form; shows its error in the message box.
async function act(button, work) {
  clearMessage();
  if (button) button.disabled = true;
  try {
    await work();
  } catch (err) {
    say("");
    if (err instanceof ApiError && err.status === 401) return signOut(err);
    showError(err);
  } finally {
    if (button) button.disabled = false;
  }
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.user = null;
  state.pendingError = reason || null;
  drawChrome();
  go("/signin");
}

function drawChrome() {
  const user = state.user;
  const links = !user ? [] : [
    ["#/evidence", "Evidence", true],
    ["#/cases", "Cases", CAN.readCases.has(user.role)],
    ["#/audit", "Audit", CAN.audit.has(user.role)],
  ];
  const current = location.hash.split("?")[0];
  document.getElementById("nav").replaceChildren(...links.filter(([, , shown]) => shown).map(([href, text]) =>
    h("li", {}, h("a", { href, "aria-current": current.startsWith(href) ? "page" : null }, text))));
  document.getElementById("who").replaceChildren(...(!user ? [] : [
    h("span", { id: "signed-in-as" }, `${user.name} (${user.role.replace("_", " ")})`),
    h("button", { type: "button", class: "link", onclick: () => signOut(null) }, "Sign out"),
  ]));
}

// ---------------------------------------------------------------- sign in

async function viewSignIn(view) {
  const input = h("input", { id: "token", name: "token", type: "password", required: true,
    autocomplete: "off", spellcheck: "false", "data-focus": true });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { id: "signin-form", class: "card" },
    field("Access token", input, "Paste the token an administrator gave you. It is kept only in this browser tab and forgotten when the tab closes."),
    button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const candidate = input.value.trim();
      const user = await api("/me", { bearer: candidate });
      sessionStorage.setItem(TOKEN_KEY, candidate);
      state.user = user;
      go(homePath(user));
    });
  });
  view.append(h("h1", {}, "Sign in"), form);
}

// ---------------------------------------------------------------- evidence list

function utcInput(id, value) {
  return h("input", { id, name: id, type: "datetime-local", step: "1", value: value || null });
}

function asUtc(localValue) {
  if (!localValue) return null;
  return (localValue.length === 16 ? localValue + ":00" : localValue) + "Z";
}

function flagBadges(item) {
  const flags = [...(item.flags || [])];
  if (item.legal_hold) flags.push("legal hold");
  if (item.retention_category === "case") flags.push("on a case");
  if (item.derivatives_state === "pending") flags.push("playback copy pending");
  if (item.derivatives_state === "failed") flags.push("no playback copy");
  return flags.length ? h("ul", { class: "badges" }, flags.map((f) => h("li", { class: "badge" }, f))) : "—";
}

async function viewEvidenceList(view, params) {
  const officer = h("input", { id: "officer", name: "officer", value: params.officer || null, autocomplete: "off" });
  const device = h("input", { id: "device", name: "device", value: params.device || null, autocomplete: "off" });
  const from = utcInput("from", params.from);
  const to = utcInput("to", params.to);
  const form = h("form", { id: "search-form", class: "search", role: "search" },
    field("Officer number", officer), field("Recorder serial", device),
    field("Started at or after (UTC)", from), field("Started before (UTC)", to),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Search"),
      h("button", { type: "button", class: "secondary", onclick: () => go("/evidence") }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("/evidence", { officer: officer.value.trim(), device: device.value.trim(), from: from.value, to: to.value });
  });
  const offset = Number.parseInt(params.offset || "0", 10) || 0;
  const page = await api("/evidence", { query: {
    officer: params.officer, device: params.device, start_from: asUtc(params.from),
    start_to: asUtc(params.to), offset, limit: PAGE_SIZE } });
  const rows = page.items.map((item) => h("tr", {},
    h("td", {}, h("a", { href: `#/evidence/${item.id}` }, item.original_name)),
    h("td", {}, item.kind),
    h("td", { class: "nowrap" }, item.start_time ? when(item.start_time) : "unknown"),
    h("td", { class: "num" }, duration(item.duration_ms)),
    h("td", {}, item.officer_no || "—"),
    h("td", {}, item.device_serial || "—"),
    h("td", {}, flagBadges(item)),
    h("td", {}, hashCode(item.sha256, false))));
  const shown = page.items.length ? `${offset + 1}–${offset + page.items.length} of ${page.total}` : "none";
  const pager = h("nav", { class: "pager", "aria-label": "Result pages" },
    offset > 0 ? h("button", { type: "button", class: "secondary",
      onclick: () => go("/evidence", { ...params, offset: Math.max(0, offset - PAGE_SIZE) }) }, "Previous page") : null,
    page.next_offset !== null ? h("button", { type: "button", class: "secondary",
      onclick: () => go("/evidence", { ...params, offset: page.next_offset }) }, "Next page") : null);
  view.append(h("h1", {}, "Evidence"), form,
    page.items.length
      ? table(`Evidence found: ${shown}`, ["Name", "Kind", "Started", "Duration", "Officer", "Recorder", "Flags", "SHA-256"], rows, "evidence-table")
      : h("p", { id: "no-evidence" }, "No evidence matches this search."),
    pager);
}

// ---------------------------------------------------------------- one evidence item

async function viewEvidence(view, params, id) {
  const item = await api(`/evidence/${id}`);
  const user = state.user;
  const format = [[item.video_codec, item.audio_codec].filter(Boolean).join(" / "),
    item.width && item.height ? `${item.width}×${item.height}` : null].filter(Boolean).join(", ");
  const custody = h("div", { id: "custody" }, custodyTable(item.custody_events, item.custody_events_truncated, "Custody events for this item, oldest first"));
  const refreshCustody = async () => {
    const fresh = await api(`/evidence/${id}`);
    custody.replaceChildren(...custodyTable(fresh.custody_events, fresh.custody_events_truncated, "Custody events for this item, oldest first"));
  };
  view.append(
    h("p", { class: "back" }, h("a", { href: "#/evidence" }, "← All evidence")),
    h("h1", {}, item.original_name),
    definitions([
      ["Evidence ID", h("code", {}, item.id)],
      ["SHA-256 of the original", hashCode(item.sha256, true)],
      ["Size", bytes(item.size)],
      ["Kind", item.kind],
      ["Format", format || "unknown"],
      ["Container (as ffprobe names it)", item.container],
      ["Started", `${item.start_time ? when(item.start_time) : "unknown"} (time taken from: ${item.time_source})`],
      ["Duration", duration(item.duration_ms)],
      ["Officer", item.officer_no || "—"],
      ["Recorder", item.device_serial || "—"],
      ["Segment number", item.sequence],
      ["Flags", flagBadges(item)],
      ["Kept until", `${item.retain_until ? when(item.retain_until) : "—"} (${item.retention_category} retention)`],
      ["Legal hold", item.legal_hold ? "yes" : "no"],
      ["Ingested", when(item.ingested_at)],
    ]),
    CAN.play.has(user.role) ? playerSection(item, refreshCustody) : null,
    await casesOfEvidence(item),
    section("copies-h", "Copies made from the original",
      item.derivatives.length ? table("Derived copies", ["Name", "Method", "Size", "SHA-256", "Made"],
        item.derivatives.map((d) => h("tr", {}, h("td", {}, d.name), h("td", {}, d.method),
          h("td", { class: "num" }, bytes(d.size)), h("td", {}, hashCode(d.sha256, true)),
          h("td", { class: "nowrap" }, when(d.created_at)))), "derivatives")
        : h("p", {}, "No copies were made."),
      item.derivatives_error ? h("p", { class: "note" }, `Making copies failed: ${item.derivatives_error}`) : null),
    section("custody-h", "Chain of custody", custody));
}

function playerSection(item, onViewLogged) {
  const hasCopy = item.derivatives.some((d) => d.name === "playback.mp4");
  if (!hasCopy) {
    const why = item.derivatives_state === "pending" ? "The playback copy is still being made; reload shortly."
      : "This item has no playback copy (still images and damaged files have none).";
    return section("playback-h", "Playback", h("p", {}, why));
  }
  const reason = h("input", { id: "view-reason", name: "reason", maxlength: "500", autocomplete: "off" });
  const button = h("button", { type: "submit" }, "Play");
  const video = h("video", { id: "player", controls: true, preload: "auto", playsinline: true, hidden: true,
    "aria-label": `Playback copy of ${item.original_name}` });
  const form = h("form", { id: "play-form", class: "inline" },
    field("Reason for viewing (optional)", reason, "Recorded in the custody log with your name."), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      await playerWorker();
      const url = apiUrl(`/evidence/${item.id}/playback`, { reason: reason.value.trim() });
      video.hidden = false;
      video.onloadedmetadata = () => act(null, onViewLogged);
      video.onerror = () => explainPlayerFailure(url, video.error);
      video.src = url.pathname + url.search;
      // The browser may refuse to start sound without a further click; the controls remain.
      video.play().catch(() => undefined);
    });
  });
  return section("playback-h", "Playback",
    h("p", {}, "Opening the player records a custody event naming you; further viewing within 30 minutes joins it."),
    form, video);
}

// The player says only that it failed; ask the API why (an API error opens no session).
async function explainPlayerFailure(url, mediaError) {
  try {
    const response = await api(url.pathname.slice(API.length), {
      query: Object.fromEntries(url.searchParams), headers: { Range: "bytes=0-0" }, accept: "response" });
    await response.body.cancel();
    showError(new ApiError(0, "media_error", "The browser could not play this playback copy"
      + (mediaError && mediaError.message ? ` (${mediaError.message}).` : "."),
    "Ask a reviewer or case officer for the original, or try another browser."));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signOut(err);
    showError(err);
  }
}

async function casesOfEvidence(item) {
  const user = state.user;
  const list = item.cases.length
    ? h("ul", { id: "evidence-cases" }, item.cases.map((c) => h("li", {},
      CAN.readCases.has(user.role) ? h("a", { href: `#/cases/${c.id}` }, `Case ${c.number}`) : `Case ${c.number}`)))
    : h("p", { id: "evidence-cases" }, "Not on any case. Footage on no case is deleted when its retention ends.");
  let attach = null;
  if (CAN.manageCases.has(user.role)) {
    const cases = (await api("/cases", { query: { limit: 200 } })).items
      .filter((c) => !item.cases.some((on) => on.id === c.id));
    if (cases.length) {
      const select = h("select", { id: "attach-case", name: "case" },
        cases.map((c) => h("option", { value: c.id }, `${c.number} — ${c.title}`)));
      const button = h("button", { type: "submit" }, "Attach to case");
      attach = h("form", { id: "attach-form", class: "inline" }, field("Case", select), button);
      attach.addEventListener("submit", (event) => {
        event.preventDefault();
        act(button, async () => {
          await api(`/cases/${select.value}/evidence`, { method: "POST", body: { evidence_id: item.id } });
          state.pendingError = null;
          await render();
          say("Attached. The item and its copies are now kept for as long as the case needs them.");
        });
      });
    } else {
      attach = h("p", { class: "note" }, "There is no other case of yours to attach it to. ",
        h("a", { href: "#/cases" }, "Open a case"), " first.");
    }
  }
  return section("cases-h", "Cases", list, attach);
}

// ---------------------------------------------------------------- cases

async function viewCaseList(view) {
  const user = state.user;
  const page = await api("/cases", { query: { limit: 200 } });
  view.append(h("h1", {}, "Cases"));
  if (CAN.manageCases.has(user.role)) {
    const number = h("input", { id: "case-number", name: "number", required: true, maxlength: "64",
      pattern: "[A-Za-z0-9][A-Za-z0-9/._\\-]{0,63}", autocomplete: "off" });
    const title = h("input", { id: "case-title", name: "title", required: true, maxlength: "300", autocomplete: "off" });
    const button = h("button", { type: "submit" }, "Open case");
    const form = h("form", { id: "new-case-form", class: "card" }, h("h2", {}, "Open a new case"),
      field("Case number", number, "Letters, digits and / . _ -"), field("Title", title), button);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(button, async () => {
        const created = await api("/cases", { method: "POST", body: { number: number.value.trim(), title: title.value.trim() } });
        go(`/cases/${created.id}`);
      });
    });
    view.append(form);
  }
  view.append(page.items.length
    ? table(`Cases (${page.total})`, ["Number", "Title", "Case officers", "Items", "Opened"],
      page.items.map((c) => h("tr", {},
        h("td", {}, h("a", { href: `#/cases/${c.id}` }, c.number)), h("td", {}, c.title),
        h("td", {}, c.officers.join(", ")), h("td", { class: "num" }, c.evidence_count),
        h("td", { class: "nowrap" }, `${when(c.created_at)} by ${c.created_by}`))), "cases-table")
    : h("p", {}, user.role === "case_officer" ? "You manage no cases yet." : "There are no cases."));
}

async function viewCase(view, params, id) {
  const user = state.user;
  const theCase = await api(`/cases/${id}`);
  const manage = CAN.manageCases.has(user.role);
  const caption = "Custody events for this case, oldest first";
  const history = h("div", { id: "case-history" }, custodyTable(theCase.custody_events, theCase.custody_events_truncated, caption));
  const refreshHistory = async () => {
    const fresh = await api(`/cases/${id}`);
    history.replaceChildren(...custodyTable(fresh.custody_events, fresh.custody_events_truncated, caption));
  };
  const rows = theCase.evidence.map((e) => {
    const detach = h("button", { type: "button", class: "secondary", "aria-label": `Detach ${e.original_name}` }, "Detach");
    detach.addEventListener("click", () => act(detach, async () => {
      await api(`/cases/${id}/evidence/${e.evidence_id}`, { method: "DELETE" });
      await render();
      say(`${e.original_name} was taken off the case; its retention is not shortened.`);
    }));
    return h("tr", {},
      h("td", {}, h("a", { href: `#/evidence/${e.evidence_id}` }, e.original_name)),
      h("td", {}, hashCode(e.sha256, false)),
      h("td", { class: "nowrap" }, `${when(e.attached_at)} by ${e.attached_by}`),
      manage ? h("td", {}, detach) : null);
  });
  let attach = null;
  if (manage) {
    const evidenceId = h("input", { id: "attach-evidence-id", name: "evidence_id", required: true, autocomplete: "off",
      pattern: "[0-9a-fA-F\\-]{36}", size: "38" });
    const button = h("button", { type: "submit" }, "Attach");
    attach = h("form", { id: "attach-by-id-form", class: "inline" },
      field("Evidence ID", evidenceId, "Shown on the item's page."), button);
    attach.addEventListener("submit", (event) => {
      event.preventDefault();
      act(button, async () => {
        await api(`/cases/${id}/evidence`, { method: "POST", body: { evidence_id: evidenceId.value.trim() } });
        await render();
        say("Attached.");
      });
    });
  }
  // Sending for review opens the case to its agency's reviewers; once only.
  let review = theCase.review_requested_at
    ? `sent ${when(theCase.review_requested_at)} by ${theCase.review_requested_by}` : "not sent";
  if (manage && !theCase.review_requested_at) {
    const send = h("button", { type: "button", id: "review-button", class: "secondary" }, "Send for review");
    send.addEventListener("click", () => act(send, async () => {
      await api(`/cases/${id}/review`, { method: "POST" });
      await render();
      say("Sent for review: the agency's reviewers can now read the case and its footage.");
    }));
    review = h("span", {}, "not sent ", send);
  }
  view.append(
    h("p", { class: "back" }, h("a", { href: "#/cases" }, "← All cases")),
    h("h1", {}, `Case ${theCase.number}`),
    h("p", { class: "lead" }, theCase.title),
    definitions([
      ["Case ID", h("code", {}, theCase.id)],
      ["Opened", `${when(theCase.created_at)} by ${theCase.created_by}`],
      ["Case officers", theCase.officers.join(", ") || "—"],
      ["Review", h("span", { id: "case-review" }, review)],
    ]),
    section("case-evidence-h", "Evidence on this case",
      theCase.evidence.length
        ? table(`${theCase.evidence.length} item(s)`, ["Name", "SHA-256", "Attached", ...(manage ? ["Action"] : [])], rows, "case-evidence")
        : h("p", { id: "case-evidence" }, "No evidence is attached yet."),
      attach),
    CAN.exportCases.has(user.role) ? exportSection(theCase, refreshHistory) : null,
    section("case-history-h", "Case history", history));
}

function exportSection(theCase, onExported) {
  const playback = h("input", { id: "include-playback", name: "include_playback", type: "checkbox" });
  const reason = h("input", { id: "export-reason", name: "reason", maxlength: "500", autocomplete: "off" });
  const button = h("button", { type: "submit", id: "export-button" }, "Export bundle");
  const result = h("p", { id: "export-result", "aria-live": "polite" });
  const form = h("form", { id: "export-form", class: "card" },
    h("p", {}, "The bundle is a ZIP with the originals, their custody events and inclusion proofs, and a report a court can read. Exporting is recorded in the custody log."),
    h("div", { class: "check" }, playback, h("label", { for: playback.id }, "Also include the playback copies")),
    field("Reason for the export (optional)", reason), button, result);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      say("Building the bundle…");
      const response = await api(`/cases/${theCase.id}/export`, { accept: "response",
        query: { include_playback: playback.checked ? "true" : null, reason: reason.value.trim() } });
      const blob = await response.blob();
      const name = fileNameOf(response.headers.get("Content-Disposition")) || `case-${theCase.number}.zip`;
      const href = URL.createObjectURL(blob);
      state.objectUrls.push(href);
      const link = h("a", { href, download: name }, name);
      result.replaceChildren("Bundle ready: ", link, ` (${bytes(blob.size)}).`);
      say("");
      link.click();
      await onExported();
    });
  });
  return section("export-h", "Export", form);
}

function fileNameOf(disposition) {
  if (!disposition) return null;
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (encoded) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1] : null;
}

// ---------------------------------------------------------------- audit

async function viewAudit(view) {
  const [checkpoint, key] = await Promise.all([
    api("/custody/checkpoint", { accept: "text" }).catch((err) => (err instanceof ApiError && err.status === 404 ? null : Promise.reject(err))),
    api("/custody/key", { accept: "text" }),
  ]);
  const objects = h("input", { id: "verify-objects", name: "objects", type: "checkbox" });
  const button = h("button", { type: "submit" }, "Verify the log");
  const report = h("div", { id: "verify-report" });
  const form = h("form", { id: "verify-form", class: "inline" },
    h("div", { class: "check" }, objects, h("label", { for: objects.id }, "Also re-hash every stored object (slow)")), button);
  const verify = () => act(button, async () => {
    report.setAttribute("aria-busy", "true");
    say("Verifying the custody log…");
    const result = await api("/verify", { query: { objects: objects.checked ? "true" : null } });
    report.replaceChildren(...verifyReport(result));
    report.removeAttribute("aria-busy");
    say(result.ok ? "Verification finished: intact." : "Verification finished: problems found.");
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    verify();
  });
  view.append(h("h1", {}, "Custody log audit"),
    section("checkpoint-h", "Latest signed checkpoint",
      checkpoint ? h("pre", { id: "checkpoint", class: "note-text" }, checkpoint) : h("p", { id: "checkpoint" }, "The log has no checkpoint yet.")),
    section("vkey-h", "Verifier key",
      h("p", {}, "Anyone can check the checkpoint's signature with this key."),
      h("pre", { id: "verifier-key", class: "note-text" }, key.trim())),
    section("verify-h", "Verification", readsWholeLog(state.user) ? form
      : h("p", {}, "Verifying the whole log is for auditors of every agency (scope *)."), report));
  if (readsWholeLog(state.user)) verify();
}

function verifyReport(result) {
  return [
    h("p", { id: "verify-verdict", class: result.ok ? "verdict ok" : "verdict bad" },
      result.ok ? "Intact: every check passed." : `Problems found: ${result.problems.length}.`),
    definitions([
      ["Source", result.source],
      ["Entries", result.entries],
      ["Checkpoints", result.checkpoints],
      ["Stored objects re-hashed", result.objects],
      ["Latest checkpoint covers", result.latest_checkpoint_size === null ? "—" : `${result.latest_checkpoint_size} entries`],
      ["Root hash", result.root_hash ? h("code", { class: "hash" }, result.root_hash) : "—"],
    ]),
    h("h3", {}, "Checks made"),
    h("ul", { id: "verify-checks" }, result.checks.map((c) => h("li", {}, c))),
    result.notes.length ? [h("h3", {}, "Notes"), h("ul", {}, result.notes.map((n) => h("li", {}, n)))] : null,
    result.problems.length
      ? table("Problems", ["Entry", "Kind", "What is wrong"], result.problems.map((p) => h("tr", {},
        h("td", { class: "num" }, p.index === null ? "—" : p.index), h("td", {}, p.kind), h("td", {}, p.message))), "verify-problems")
      : null,
  ];
}

// ---------------------------------------------------------------- start

answerTokenRequests();
window.addEventListener("hashchange", render);
render();
