// The pages' entry point: loads the language and zone, finds who is signed in, draws the
// header and the view the address names. Add a view: write js/views/NAME.js (it calls
// route()), and import it here (README, Tests).

import {
  ApiError, BASE, clearMessage, currentPath, currentQuery, findRoute, go, h, homeOf, leaveView, link, navFor,
  objectUrls, onNavigate, say, session, showError, viewContainer, whenSignedOut,
} from "./core.js";
import { chosenLanguage, language, languages, t, useLanguage } from "./i18n.js";
import { roleName } from "./format.js";
import { restore, signOut } from "./session.js";
import { chosenTimeZone, timeZone, useTimeZone, zones } from "./time.js";

import "./views/signin.js";
import "./views/evidence_list.js";
import "./views/evidence.js";
import "./views/recording.js";
import "./views/cases.js";
import "./views/case.js";
import "./views/action.js";
import "./views/reviews.js";
import "./views/review.js";
import "./views/approvals.js";
import "./views/audit.js";
import "./views/station.js";
import "./views/admin_users.js";
import "./views/admin_org.js";
import "./views/admin_devices.js";
import "./views/admin_publication.js";
import "./views/holds.js";
import "./views/calendar.js";
import "./views/annual_report.js";
import "./views/events.js";
import "./views/proof.js";
import "./views/checkpoints.js";
import { noticeCount } from "./views/publications.js";

const config = { time_zone: "Asia/Shanghai" };
let renderTicket = 0;
let pendingError = null; // shown after the next view is drawn (why the person was signed out)

// ---------------------------------------------------------------- header

function drawChrome() {
  const user = session.user;
  const path = currentPath() || "";
  document.querySelector(".skip").textContent = t("Skip to content");
  document.getElementById("brand").textContent = t("Body-camera evidence");
  const nav = document.getElementById("main-nav");
  nav.setAttribute("aria-label", t("Main"));
  document.getElementById("nav").replaceChildren(...navFor(user).map((item) =>
    h("li", {}, h("a", { href: BASE + item.path,
      "aria-current": path === item.path || path.startsWith(item.path + "/") ? "page" : null }, item.label()))));
  nav.hidden = !user;
  if (user) showNoticeCount();

  const languageMenu = h("select", { id: "language", onchange: (event) => changeLanguage(event.target.value) },
    languages().map((l) => h("option", { value: l.code, lang: l.code, selected: l.code === language() }, l.name)));
  const zoneMenu = h("select", { id: "time-zone", onchange: (event) => changeZone(event.target.value) },
    zones(config.time_zone).map((z) => h("option", { value: z, selected: z === timeZone() },
      z === config.time_zone ? t("{zone} (station)", { zone: z }) : z)));
  document.getElementById("prefs").replaceChildren(
    h("div", { class: "pref" }, h("label", { for: "language" }, t("Language")), languageMenu),
    h("div", { class: "pref" }, h("label", { for: "time-zone" }, t("Time zone")), zoneMenu));

  const notices = h("a", { id: "notices", href: BASE + "/notices" }, t("Notices"));
  document.getElementById("who").replaceChildren(...(!user ? [] : [
    notices,
    h("span", { id: "signed-in-as" }, t("{name} ({role})", { name: user.name, role: roleName(user.role) })),
    h("button", { type: "button", class: "link", id: "sign-out", onclick: () => leave(null) }, t("Sign out")),
  ]));
}

// The count of the person's notices (decisions to publish), filled in when it arrives.
async function showNoticeCount() {
  try {
    const count = await noticeCount();
    const node = document.getElementById("notices");
    if (node && count) node.replaceChildren(t("Notices"), " ", h("span", { class: "count", id: "notice-count" }, String(count)));
    if (node) node.setAttribute("aria-label", t("Notices: {count}", { count }));
  } catch (err) {
    console.warn("no notices", err); // the header works without them
  }
}

async function changeLanguage(code) {
  try {
    await useLanguage(code);
  } catch (err) {
    showError(err);
    return;
  }
  await render();
  document.getElementById("language").focus();
}

async function changeZone(name) {
  useTimeZone(name);
  await render();
  document.getElementById("time-zone").focus();
}

async function leave(reason) {
  await signOut();
  pendingError = reason;
  go("/signin", {}, { replace: Boolean(reason) });
}

// ---------------------------------------------------------------- views

function notFound(view) {
  view.append(h("h1", {}, t("Page not found")),
    h("p", {}, t("There is no page at this address. It may have been mistyped, or the page has moved.")),
    h("p", {}, link("/", t("Go to the start page"))));
}

function forbidden(view) {
  view.append(h("h1", {}, t("You cannot open this page")),
    h("p", {}, t("Your role does not include this page. If you need it, ask your administrator.")),
    h("p", {}, link("/", t("Go to the start page"))));
}

function safeNext(next) {
  return typeof next === "string" && next.startsWith(BASE + "/") && !next.startsWith("//") ? next : null;
}

async function render() {
  const ticket = ++renderTicket;
  clearMessage();
  say("");
  for (const url of objectUrls.splice(0)) URL.revokeObjectURL(url);
  leaveView();
  const main = document.getElementById("main");
  const path = currentPath();
  const query = currentQuery();
  drawChrome();
  const view = viewContainer();
  try {
    const found = path === null ? null : findRoute(path);
    if (path === "/") {
      return go(session.user ? homeOf(session.user) : "/signin", {}, { replace: true });
    }
    if (found && !found.entry.public && !session.user) {
      return go("/signin", { next: location.pathname + location.search }, { replace: true });
    }
    if (found && path === "/signin" && session.user) {
      const next = safeNext(query.next);
      return next ? go(next.slice(BASE.length), {}, { replace: true }) : go(homeOf(session.user), {}, { replace: true });
    }
    if (!found) {
      notFound(view);
    } else if (!found.entry.public && !found.entry.allow(session.user)) {
      forbidden(view);
    } else {
      main.setAttribute("aria-busy", "true");
      await found.entry.view(view, { params: found.params, query, user: session.user });
    }
    if (ticket !== renderTicket) return; // the person has moved on
    main.replaceChildren(view);
    main.removeAttribute("aria-busy");
    const heading = view.querySelector("h1");
    document.title = heading ? `${heading.textContent} — ${t("Body-camera evidence")}` : t("Body-camera evidence");
    const focusTarget = view.querySelector("[data-focus]") || heading;
    if (focusTarget) {
      if (focusTarget === heading) heading.setAttribute("tabindex", "-1");
      focusTarget.focus();
    }
    if (pendingError) {
      showError(pendingError);
      pendingError = null;
    }
  } catch (err) {
    if (ticket !== renderTicket) return;
    if (err instanceof ApiError && err.status === 401 && session.user) return leave(err);
    main.removeAttribute("aria-busy");
    main.replaceChildren(h("h1", { tabindex: "-1" }, t("This page could not be shown")),
      h("p", {}, link("/", t("Go to the start page"))));
    showError(err);
  }
}

// Links to views move without reloading the page.
function followLinks(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.target.closest("a[href]");
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE + "/")) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) history.pushState(null, "", url.pathname + url.search);
  render();
}

// The player once needed a service worker to add a token to its requests; a browser that
// still has it registered would send the player's requests without the cookie.
async function removeOldPlayerWorker() {
  if (!("serviceWorker" in navigator)) return;
  const registrations = await navigator.serviceWorker.getRegistrations();
  await Promise.all(registrations.map((r) => r.unregister()));
  if (registrations.length && navigator.serviceWorker.controller) location.reload();
}

async function start() {
  try {
    await removeOldPlayerWorker();
  } catch (err) {
    console.warn("could not remove the old player worker", err);
  }
  try {
    const response = await fetch("/ui/config.json", { credentials: "same-origin", cache: "no-cache" });
    if (response.ok) Object.assign(config, await response.json());
  } catch (err) {
    console.warn("no page configuration; using the defaults", err);
  }
  useTimeZone(chosenTimeZone(config.time_zone));
  try {
    await useLanguage(chosenLanguage(config));
  } catch (err) {
    console.warn(err); // the English ids remain
  }
  onNavigate(render);
  whenSignedOut((err) => leave(err));
  document.addEventListener("click", followLinks);
  window.addEventListener("popstate", render);
  try {
    await restore();
  } catch (err) {
    drawChrome();
    document.getElementById("main").replaceChildren(h("h1", { tabindex: "-1" }, t("This page could not be shown")));
    showError(err);
    return;
  }
  await render();
}

start();
