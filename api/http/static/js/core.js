// The foundation every view is built on: h() makes elements, api() calls the JSON API,
// ApiError and showError() speak to people, route() registers a view and go() moves
// between them. Text from the server is only ever placed as text, never parsed as HTML.
//
// A view is a module under js/views/ that calls route() once at load; js/main.js imports
// it (README, Tests).

import { language, t } from "./i18n.js";

export const BASE = "/ui";
export const API = "/api/v1";

// What the whole app shares: the signed-in user, how they signed in, and the CSRF token.
export const session = {
  user: null,
  mode: null, // "session" (cookie), "token" (a machine token pasted into the sign-in form) or null
  csrf: null,
  token: null,
  sessionsAvailable: true, // false when this server has no /api/v1/session (token sign-in only)
};

// ---------------------------------------------------------------- elements

// h("a", { href, class: "x", onclick: fn }, "text", child, [more]) -> element.
// null, undefined and false children and attributes are left out.
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return node;
}

// The container a view fills: its append() takes what h() takes (null, undefined and
// false are left out, arrays are flattened), so a view may append `cond ? node : null`.
export function viewContainer() {
  const view = h("div", {});
  view.append = (...children) => Element.prototype.append.apply(view, children.flat(Infinity)
    .filter((c) => c !== null && c !== undefined && c !== false));
  return view;
}

// Replaces a node's children with what h() takes (null, undefined and false left out).
export function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// A link to a view: link("/evidence/ID", "name"). Clicks move without reloading.
export function link(path, ...children) {
  return h("a", { href: BASE + path }, ...children);
}

// ---------------------------------------------------------------- errors

export class ApiError extends Error {
  constructor(status, code, message, hint) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

// The API's messages may be sentence fragments ("a case numbered ... already exists").
function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[A-Za-z0-9)"”']$/.test(capital) ? capital + "." : capital;
}

// Status lines for an error the API did not explain (a proxy's page, say); never the
// request line, which means nothing to a clerk.
function unexplained(status) {
  if (status === 401) return t("You are not signed in, or your sign-in has expired.");
  if (status === 403) return t("You may not do this.");
  if (status === 404) return t("This item does not exist, or it is not yours to see.");
  if (status === 413) return t("What you sent is too large.");
  if (status === 429) return t("Too many requests in a short time. Wait a minute and try again.");
  if (status >= 500) return t("The server could not finish this. Try again in a moment.");
  return t("The server refused this request.");
}

export function showError(err) {
  const box = document.getElementById("message");
  const known = err instanceof ApiError;
  if (!known) console.error(err);
  fill(box,
    h("p", { class: "message-text" }, known ? sentence(err.message) : t("Something went wrong in this page.")),
    known && err.hint ? h("p", { class: "message-hint" }, sentence(err.hint)) : null,
    known && err.status
      ? h("p", { class: "message-code" }, t("Reference for support: {code} ({status})", { code: err.code, status: err.status }))
      : null,
    !known ? h("p", { class: "message-hint" }, t("Reload the page and try again. If it happens again, tell your administrator.")) : null,
    h("button", { type: "button", class: "link", onclick: clearMessage }, t("Dismiss")));
  box.hidden = false;
}

export function clearMessage() {
  const box = document.getElementById("message");
  box.hidden = true;
  box.replaceChildren();
}

// A short status line ("Attached."), read out by screen readers.
export function say(text) {
  document.getElementById("status").textContent = text;
}

// ---------------------------------------------------------------- the API

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function apiUrl(path, query) {
  const url = new URL(API + path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (Array.isArray(value)) value.forEach((item) => url.searchParams.append(name, item));
    else if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

// Calls the API: parsed JSON, text (accept: "text") or the Response (accept: "response").
// Sends the session cookie (or a machine token), the CSRF token on unsafe methods and
// the page's language, so the API's errors come back in it. Throws ApiError.
export async function api(path, { method = "GET", query, body, accept = "json", headers = {}, bearer } = {}) {
  const all = { "Accept-Language": language(), ...headers };
  const token = bearer || (session.mode === "token" ? session.token : null);
  if (token) all.Authorization = `Bearer ${token}`;
  if (UNSAFE.has(method) && session.csrf) all["X-CSRF-Token"] = session.csrf;
  if (body !== undefined) all["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, query), {
      method, headers: all, cache: "no-store", credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, "network", t("The server could not be reached."),
      t("Check the network connection and try again."));
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
    body = null; // not the API's JSON error: described by its status below
  }
  const detail = body && body.error;
  if (response.status === 422) {
    // The schema's own words ("path.id: Input should be a valid UUID") are for developers.
    return new ApiError(422, (detail && detail.code) || "invalid_request",
      t("Something in this request is not in the form the server expects."),
      t("Check what you typed, or go back and open the page again from a list."));
  }
  if (detail && typeof detail.message === "string") {
    return new ApiError(response.status, detail.code || "error", detail.message, detail.hint || null);
  }
  return new ApiError(response.status, `http_${response.status}`, unexplained(response.status), null);
}

// ---------------------------------------------------------------- views and routing

const routes = [];
const navItems = [];

// Registers a view.
//   path:    "/cases/:id" (under /ui); each :name is handed to the view in params
//   view:    async (container, { params, query, user }) => fills `container`
//   allow:   (user) => may this user open it (default: anyone signed in)
//   public:  true for a view shown without signing in (sign-in itself)
//   nav:     { label: () => t("Cases"), order: 20 } puts it in the header for those allowed
//   home:    (user) => true makes it the start page of such users
export function route({ path, view, allow = () => true, public: open = false, nav = null, home = null }) {
  const names = [];
  const pattern = new RegExp("^" + path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .replace(/:(\w+)/g, (_, name) => { names.push(name); return "([^/]+)"; }) + "$");
  const entry = { path, pattern, names, view, allow, public: open, home };
  routes.push(entry);
  if (nav) navItems.push({ path, label: nav.label, order: nav.order || 0, allow });
  return entry;
}

export function findRoute(path) {
  for (const entry of routes) {
    const match = entry.pattern.exec(path);
    if (match) {
      const params = {};
      // Kept as the address has them (still %-encoded), so they go into API paths safely.
      entry.names.forEach((name, i) => { params[name] = match[i + 1]; });
      return { entry, params };
    }
  }
  return null;
}

export function navFor(user) {
  return navItems.filter((item) => user && item.allow(user)).sort((a, b) => a.order - b.order);
}

export function homeOf(user) {
  const home = routes.find((r) => r.home && r.home(user));
  if (home) return home.path;
  const first = navFor(user)[0];
  return first ? first.path : "/";
}

let renderer = null;

// main.js hands the function that draws the current path.
export function onNavigate(render) {
  renderer = render;
}

// Moves to a view: go("/evidence", { officer: "100234" }). `replace` keeps history short.
export function go(path, query, { replace = false } = {}) {
  const search = new URLSearchParams(Object.entries(query || {})
    .filter(([, v]) => v !== "" && v !== null && v !== undefined));
  const target = BASE + path + (search.toString() ? "?" + search : "");
  if (location.pathname + location.search !== target) {
    if (replace) history.replaceState(null, "", target);
    else history.pushState(null, "", target);
  }
  return renderer ? renderer() : undefined;
}

// The path under /ui being shown ("/evidence/ID"), or null outside /ui.
export function currentPath() {
  if (location.pathname === BASE || location.pathname === BASE + "/") return "/";
  return location.pathname.startsWith(BASE + "/") ? location.pathname.slice(BASE.length) : null;
}

export function currentQuery() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

// Runs an action from a button or form, showing its error in the message box. A 401
// sends the person to sign in again (main.js's handler).
let onSignedOut = null;

export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export async function act(button, work) {
  clearMessage();
  if (button) button.disabled = true;
  try {
    await work();
  } catch (err) {
    say("");
    if (err instanceof ApiError && err.status === 401 && onSignedOut && session.user) return onSignedOut(err);
    showError(err);
  } finally {
    if (button) button.disabled = false;
  }
}

// Object URLs made for downloads live until the next view.
export const objectUrls = [];

// What a view must stop when the person leaves it (a live stream, a ticking clock): each
// function is called once, before the next view is drawn (the same view drawn again in
// another language or zone included). Register it before the view's first await.
const leaving = [];

export function onLeave(stop) {
  leaving.push(stop);
}

export function leaveView() {
  for (const stop of leaving.splice(0)) {
    try {
      stop();
    } catch (err) {
      console.error(err);
    }
  }
}
