// Sign in: name and password (a session cookie), single sign-on when the agency has it,
// and a pasted machine token only on a server without sign-in sessions.

import { BASE, act, go, h, homeOf, route } from "../core.js";
import { t } from "../i18n.js";
import { oidcLoginUrl, providers, signInWithPassword, signInWithToken } from "../session.js";
import { field } from "../ui.js";

function nextOf(query) {
  const next = query.next;
  return typeof next === "string" && next.startsWith(BASE + "/") && !next.startsWith("//") ? next : null;
}

function after(user, query) {
  const next = nextOf(query);
  return next ? go(next.slice(BASE.length)) : go(homeOf(user));
}

function passwordForm(query) {
  const name = h("input", { id: "signin-name", name: "username", required: true, autocomplete: "username",
    spellcheck: "false", autocapitalize: "none", maxlength: "200", "data-focus": true });
  const password = h("input", { id: "signin-password", name: "password", type: "password", required: true,
    autocomplete: "current-password", maxlength: "1000" });
  const button = h("button", { type: "submit" }, t("Sign in"));
  const form = h("form", { id: "signin-form", class: "card" },
    field(t("User name"), name), field(t("Password"), password), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      try {
        const user = await signInWithPassword(name.value.trim(), password.value);
        await after(user, query);
      } finally {
        password.value = "";
      }
    });
  });
  return form;
}

function tokenForm(query) {
  const input = h("input", { id: "token", name: "token", type: "password", required: true,
    autocomplete: "off", spellcheck: "false", "data-focus": true });
  const button = h("button", { type: "submit" }, t("Sign in"));
  const form = h("form", { id: "token-form", class: "card" },
    field(t("Machine token"), input,
      t("This server takes no passwords yet. Paste the token an administrator gave you; it is kept only in this browser tab and forgotten when the tab closes.")),
    button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const user = await signInWithToken(input.value.trim());
      await after(user, query);
    });
  });
  return form;
}

async function signIn(view, { query }) {
  const ways = await providers();
  view.append(h("h1", {}, t("Sign in")));
  if (!ways.password) {
    view.append(tokenForm(query));
    return;
  }
  view.append(passwordForm(query));
  if (ways.oidc) {
    const next = nextOf(query) || BASE + "/";
    view.append(h("p", { class: "or" }, t("or")),
      h("p", {}, h("a", { id: "oidc-signin", class: "button secondary", href: oidcLoginUrl(next) },
        t("Sign in with your agency's single sign-on"))));
  }
}

route({ path: "/signin", view: signIn, public: true });
