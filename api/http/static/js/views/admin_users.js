// Administration of users (admins, within their agency; cases/users.py and passwords.py
// decide): the list, adding a user with a first password, and one user's page to change
// their role and unit, set a new password, unlock them, issue or end their machine token
// and revoke the account. Every change is a custody event written by the server.

import { act, api, go, h, link, route, say, session } from "../core.js";
import { ask, tokenBox } from "../dialog.js";
import { t } from "../i18n.js";
import { MISSING, number, roleName, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode, timeText } from "../time.js";
import { definitions, field, section, table } from "../ui.js";

const ROLES = ["officer", "case_officer", "reviewer", "auditor", "admin", "clerk"];
const OFFICER_NO = "[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}";
const PASSWORD_MIN = 10; // cases/passwords.py
const PASSWORD_MAX = 256;

// A token the server returned to the last action, shown once on the user's page.
let fresh = null;

const userPath = (name) => `/admin/users/${encodeURIComponent(name)}`;
const apiPath = (name) => `/users/${encodeURIComponent(name)}`;

function isLocked(user) {
  return Boolean(user.locked_until) && Date.parse(user.locked_until) > Date.now();
}

function stateOf(user) {
  // one node: a table cell on a phone is a grid of its label and one value
  if (!user.active) return h("span", {}, t("Revoked"), " ", timeNode(user.revoked_at));
  if (isLocked(user)) return h("span", {}, t("Locked until"), " ", timeNode(user.locked_until));
  return t("Active");
}

function signInOf(user) {
  return user.has_password ? t("Password") : t("No password (machine token only)");
}

function unitName(units, code) {
  const unit = units.find((u) => u.code === code);
  return unit ? `${unit.name} (${unit.code})` : show(code);
}

function roleSelect(id, selected) {
  return h("select", { id, name: "role", required: true },
    ROLES.map((r) => h("option", { value: r, selected: r === selected }, roleName(r))));
}

function unitSelect(id, units, selected) {
  return h("select", { id, name: "unit", required: true },
    units.map((u) => h("option", { value: u.code, selected: u.code === selected }, `${u.name} (${u.code})`)));
}

// The password rules the server applies, checked before anything is sent, so that a user is
// not created without the password that was meant for them.
function passwordProblem(name, password) {
  if (password.length < PASSWORD_MIN) return t("A password needs at least {count} characters.", { count: PASSWORD_MIN });
  if (password.length > PASSWORD_MAX) return t("A password may have at most {count} characters.", { count: PASSWORD_MAX });
  if (name && password.toLowerCase().includes(name.toLowerCase())) return t("A password must not contain the user name.");
  return null;
}

function passwordInput(id) {
  const input = h("input", { id, name: "password", type: "password", required: true, autocomplete: "new-password",
    minlength: String(PASSWORD_MIN), maxlength: String(PASSWORD_MAX) });
  input.addEventListener("input", () => input.setCustomValidity(""));
  return input;
}

function checkPassword(input, name) {
  const problem = passwordProblem(name, input.value);
  input.setCustomValidity(problem || "");
  return input.reportValidity();
}

// The officer number is needed for an officer (it is how they see their own footage).
function officerNoRule(role, officerNo) {
  const sync = () => { officerNo.required = role.value === "officer"; };
  role.addEventListener("change", sync);
  sync();
}

// ---------------------------------------------------------------- the list

async function userList(view) {
  const me = session.user;
  const [users, units] = await Promise.all([api("/users"), api("/units")]);
  const items = users.items;
  const name = h("input", { id: "new-user-name", name: "name", required: true, maxlength: "64",
    autocomplete: "off", spellcheck: "false" });
  const role = roleSelect("new-user-role", "officer");
  const unit = unitSelect("new-user-unit", units.items, me.unit);
  const officerNo = h("input", { id: "new-user-officer-no", name: "officer_no", maxlength: "64", pattern: OFFICER_NO,
    autocomplete: "off" });
  const password = passwordInput("new-user-password");
  const button = h("button", { type: "submit" }, t("Add user"));
  officerNoRule(role, officerNo);
  const form = h("form", { id: "new-user-form", class: "card" }, h("h2", { id: "new-user-h" }, t("Add a user")),
    field(t("User name"), name, t("How they sign in, for example 李娜 or li.na. Names are never reused.")),
    field(t("Role"), role, t("An auditor you add audits your agency.")),
    field(t("Unit"), unit),
    field(t("Officer number"), officerNo, t("Needed for an officer: the number their recorder writes.")),
    field(t("First password"), password,
      t("At least {count} characters, not containing the user name. Give it to them in person; they can change it after signing in.", { count: PASSWORD_MIN })),
    button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = name.value.trim();
    if (!checkPassword(password, wanted)) return;
    act(button, async () => {
      const body = { name: wanted, role: role.value, unit: unit.value };
      if (officerNo.value.trim()) body.officer_no = officerNo.value.trim();
      if (role.value === "auditor") body.auditor_scope = me.agency;
      const created = await api("/users", { method: "POST", body });
      fresh = { name: created.name, token: created.token };
      try {
        await api(`${apiPath(created.name)}/password`, { method: "PUT", body: { password: password.value } });
      } catch (err) {
        await go(userPath(created.name));
        throw err; // shown on their page, where a password can be set again
      } finally {
        password.value = "";
      }
      await go(userPath(created.name));
      say(t("User {name} was added; they can sign in with the password you gave.", { name: created.name }));
    });
  });
  view.append(h("h1", {}, t("Users")),
    h("p", { class: "lead" }, t("The users of your agency, {agency}. Every change here is recorded in the custody log.", { agency: show(me.agency) })),
    form,
    items.length
      ? table({ id: "users-table", caption: t("Users: {total}", { total: number(items.length) }),
        columns: [t("Name"), t("Role"), t("Unit"), t("Officer number"), t("Sign-in"), t("State")],
        rows: items.map((u) => [link(userPath(u.name), u.name), roleName(u.role), unitName(units.items, u.unit),
          show(u.officer_no), signInOf(u), stateOf(u)]) })
      : h("p", { id: "no-users" }, t("There are no users yet.")));
}

// ---------------------------------------------------------------- one user

async function oneUser(view, { params }) {
  const me = session.user;
  const name = decodeURIComponent(params.name);
  const [users, units] = await Promise.all([api("/users"), api("/units")]);
  const user = users.items.find((u) => u.name === name);
  if (!user) {
    view.append(h("p", { class: "back" }, link("/admin/users", t("← All users"))),
      h("h1", {}, t("No such user")),
      h("p", {}, t("There is no user named {name} in your agency.", { name })));
    return;
  }
  const shown = fresh && fresh.name === name ? fresh.token : null;
  fresh = null;
  const self = me.name === name;
  view.append(h("p", { class: "back" }, link("/admin/users", t("← All users"))),
    h("h1", {}, t("User {name}", { name })),
    shown ? tokenBox(shown, name) : null,
    definitions([
      [t("Role"), roleName(user.role)],
      [t("Unit"), unitName(units.items, user.unit)],
      [t("Agency"), show(user.agency)],
      [t("Officer number"), show(user.officer_no)],
      user.auditor_scope ? [t("Audits"), user.auditor_scope === "*" ? t("every agency") : user.auditor_scope] : null,
      [t("Added"), timeNode(user.created_at)],
      [t("Sign-in"), signInOf(user)],
      [t("State"), h("span", { id: "user-state" }, stateOf(user))],
      [t("Machine token valid until"), user.active ? timeNode(user.token_expires_at) : MISSING],
    ].filter(Boolean)));
  if (!user.active) {
    view.append(h("p", { id: "revoked-note", class: "note" }, t("This account was revoked; it cannot be changed or used again. Names are never reused.")));
    return;
  }
  if (self) {
    view.append(h("p", { id: "self-note", class: "note" }, t("This is your own account: another admin of your agency changes it.")));
    return;
  }
  view.append(changeSection(user, units.items, me), passwordSection(user),
    isLocked(user) ? unlockSection(user) : null, tokenSection(user), revokeSection(user));
}

function changeSection(user, units, me) {
  const role = roleSelect("user-role", user.role);
  const unit = unitSelect("user-unit", units, user.unit);
  const officerNo = h("input", { id: "user-officer-no", name: "officer_no", maxlength: "64", pattern: OFFICER_NO,
    autocomplete: "off", value: user.officer_no || null });
  const button = h("button", { type: "submit" }, t("Save changes"));
  officerNoRule(role, officerNo);
  const form = h("form", { id: "change-user-form", class: "card" },
    field(t("Role"), role), field(t("Unit"), unit), field(t("Officer number"), officerNo), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    if (role.value !== user.role) body.role = role.value;
    if (unit.value !== user.unit) body.unit = unit.value;
    if (officerNo.value.trim() && officerNo.value.trim() !== user.officer_no) body.officer_no = officerNo.value.trim();
    if (role.value === "auditor" && user.role !== "auditor") body.auditor_scope = me.agency;
    if (!Object.keys(body).length) {
      say(t("Nothing was changed."));
      return;
    }
    act(button, async () => {
      await api(apiPath(user.name), { method: "PATCH", body });
      await go(userPath(user.name));
      say(t("The changes to {name} were saved.", { name: user.name }));
    });
  });
  return section("change-user-h", t("Role and unit"), form);
}

function passwordSection(user) {
  const password = passwordInput("user-password");
  const button = h("button", { type: "submit" }, t("Set password"));
  const form = h("form", { id: "password-form", class: "card" },
    h("p", {}, t("A new password lifts a lockout and signs the user out of every browser.")),
    field(t("New password"), password, t("At least {count} characters, not containing the user name.", { count: PASSWORD_MIN })),
    button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!checkPassword(password, user.name)) return;
    act(button, async () => {
      try {
        await api(`${apiPath(user.name)}/password`, { method: "PUT", body: { password: password.value } });
      } finally {
        password.value = "";
      }
      await go(userPath(user.name));
      say(t("A new password was set for {name}.", { name: user.name }));
    });
  });
  return section("password-h", t("Password"), form);
}

function unlockSection(user) {
  const button = h("button", { type: "button", id: "unlock-button" }, t("Unlock"));
  button.addEventListener("click", () => act(button, async () => {
    await api(`${apiPath(user.name)}/unlock`, { method: "POST" });
    await go(userPath(user.name));
    say(t("{name} can sign in again.", { name: user.name }));
  }));
  return section("unlock-h", t("Locked out"),
    h("p", {}, t("Too many wrong passwords in a row locked this account until {time}. Unlock it if you know it was them.",
      { time: timeText(user.locked_until) })), button);
}

function tokenSection(user) {
  const issue = h("button", { type: "button", id: "issue-token", class: "secondary" }, t("Issue a new token"));
  const end = h("button", { type: "button", id: "revoke-token", class: "secondary" }, t("End the token"));
  issue.addEventListener("click", async () => {
    const ok = await ask({ id: "issue-token-dialog", title: t("Issue a new machine token?"),
      text: t("The token that {name} has now stops working at once. The new one is shown only once.", { name: user.name }),
      confirm: t("Issue token") });
    if (!ok) return;
    act(issue, async () => {
      const renewed = await api(`${apiPath(user.name)}/token`, { method: "POST" });
      fresh = { name: user.name, token: renewed.token };
      await go(userPath(user.name));
      say(t("A new token was issued. Copy it now."));
    });
  });
  end.addEventListener("click", async () => {
    const ok = await ask({ id: "revoke-token-dialog", title: t("End this machine token?"),
      text: t("Programs using the token of {name} are refused at once. The account and its password stay.", { name: user.name }),
      confirm: t("End the token"), danger: true });
    if (!ok) return;
    act(end, async () => {
      await api(`${apiPath(user.name)}/token`, { method: "DELETE" });
      await go(userPath(user.name));
      say(t("The token of {name} no longer works.", { name: user.name }));
    });
  });
  return section("token-h", t("Machine token"),
    h("p", {}, t("A machine token lets a program use the API as this user. People sign in with their password instead.")),
    h("div", { class: "actions" }, issue, end));
}

function revokeSection(user) {
  const button = h("button", { type: "button", id: "revoke-user", class: "danger" }, t("Revoke the account"));
  button.addEventListener("click", async () => {
    const ok = await ask({ id: "revoke-user-dialog", title: t("Revoke {name}?", { name: user.name }),
      text: t("They can no longer sign in or use a token, and the name is never given to anyone else. This cannot be undone."),
      confirm: t("Revoke the account"), danger: true });
    if (!ok) return;
    act(button, async () => {
      await api(apiPath(user.name), { method: "DELETE" });
      await go(userPath(user.name));
      say(t("{name} was revoked.", { name: user.name }));
    });
  });
  return section("revoke-h", t("Revoke the account"),
    h("p", {}, t("For someone who has left: their history stays in the custody log under their name.")), button);
}

route({ path: "/admin/users", view: userList, allow: can.administer, nav: { label: () => t("Users"), order: 60 } });
route({ path: "/admin/users/:name", view: oneUser, allow: can.administer });
