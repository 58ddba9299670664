// Confirmations and short forms in a modal <dialog>, for changes that cannot be taken back
// (revoking an account, retiring a recorder, releasing a legal hold) or that need a reason.
// The focus moves into the dialog (its first field, else Cancel, so Enter never confirms by
// accident), Tab stays inside it, Escape or Cancel closes it, and the focus returns to the
// control that opened it. Also: the one-time token box with its copy button.

import { h, say } from "./core.js";
import { t } from "./i18n.js";

// ask({ id, title, text, fields: [nodes], confirm: "Retire", danger: true }) -> Promise of
// true (confirmed; the caller reads its own fields) or false (cancelled).
export function ask({ id, title, text, fields = [], confirm, danger = false }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const cancel = h("button", { type: "button", class: "secondary", id: `${id}-cancel` }, t("Cancel"));
    const ok = h("button", { type: "submit", id: `${id}-confirm`, class: danger ? "danger" : null }, confirm);
    const form = h("form", { id: `${id}-form` },
      text ? h("p", { id: `${id}-text` }, text) : null, fields, h("div", { class: "actions" }, ok, cancel));
    const dialog = h("dialog", { id, class: "dialog", "aria-labelledby": `${id}-title`,
      "aria-describedby": text ? `${id}-text` : null }, h("h2", { id: `${id}-title` }, title), form);
    let confirmed = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      confirmed = true;
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      resolve(confirmed);
    });
    document.body.append(dialog);
    dialog.showModal();
    (form.querySelector("input, select, textarea") || cancel).focus();
  });
}

// A token shown once: a warning, the token in a read-only field, and a copy button.
export function tokenBox(token, name) {
  const value = h("input", { id: "new-token", class: "token", readonly: true, value: token,
    autocomplete: "off", spellcheck: "false", "aria-describedby": "new-token-warning", "data-focus": true });
  const copy = h("button", { type: "button", id: "copy-token", class: "secondary" }, t("Copy the token"));
  copy.addEventListener("click", async () => {
    value.select();
    try {
      await navigator.clipboard.writeText(token);
    } catch (err) {
      document.execCommand("copy"); // no clipboard API (an address that is not secure)
    }
    say(t("The token was copied."));
  });
  value.addEventListener("focus", () => value.select());
  return h("div", { id: "token-box", class: "token-box", role: "group", "aria-labelledby": "token-box-title" },
    h("h2", { id: "token-box-title" }, t("New machine token for {name}", { name })),
    h("p", { id: "new-token-warning", class: "warning" },
      t("Copy it now: it is shown only this once and cannot be shown again. Anyone holding it acts as this user, so give it only to the program that needs it, never in an e-mail or chat.")),
    h("div", { class: "field" }, h("label", { for: "new-token" }, t("Token")), value),
    h("div", { class: "actions" }, copy));
}
