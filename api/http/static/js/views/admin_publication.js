// Publication before the action (cases/public_entries.py decides): an admin sees each of
// their agency's four lists — enforcement matters, officers' certificates, random-inspection
// items, service guides — with what the public site shows of each entry, publishes an entry
// as it is now (again after a change) or withdraws it with a reason, and adds or removes
// inspection items and service guides. Every step is a custody event
// (org:public-entry:published, org:public-entry:withdrawn, org:inspection:*, org:guide:*).

import { act, api, go, h, route, say, session } from "../core.js";
import { t } from "../i18n.js";
import { number } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { field, section, table } from "../ui.js";

const PATH = "/admin/publication";
const LISTS = [
  ["matters", () => t("Enforcement matters")],
  ["officers", () => t("Officers and their certificates")],
  ["inspections", () => t("Random-inspection list")],
  ["guides", () => t("Service guides")],
];

function textInput(id, max, required = true) {
  return h("input", { id, name: id, required, maxlength: String(max), autocomplete: "off" });
}

async function reload(message) {
  await go(PATH);
  say(message);
}

function publicState(entry) {
  if (!entry.published_at) return t("Not published");
  return entry.current ? t("Published") : t("Published; changed since");
}

function entryActions(list, entry, reason) {
  const buttons = [];
  const nameInput = list === "officers" && !entry.published_at
    ? h("input", { id: `public-name-${entry.id}`, maxlength: "64", autocomplete: "off",
      "aria-label": t("Name the public sees for certificate {number}", { number: entry.id }) })
    : null;
  if (!entry.published_at || !entry.current) {
    const publish = h("button", { type: "button", class: "publish" },
      entry.published_at ? t("Publish the change") : t("Publish"));
    publish.addEventListener("click", () => act(publish, async () => {
      const body = nameInput ? { public_name: nameInput.value.trim() } : {};
      await api(`/publication/${list}/${encodeURIComponent(entry.id)}`, { method: "POST", body });
      await reload(t("{title} is on the public site.", { title: entry.title || entry.id }));
    }));
    buttons.push(publish);
  }
  if (entry.published_at) {
    const withdraw = h("button", { type: "button", class: "withdraw" }, t("Withdraw"));
    withdraw.addEventListener("click", () => act(withdraw, async () => {
      if (!reason.value.trim()) {
        reason.focus();
        say(t("Give the reason for withdrawing first."));
        return;
      }
      await api(`/publication/${list}/${encodeURIComponent(entry.id)}/withdraw`,
        { method: "POST", body: { reason: reason.value.trim() } });
      await reload(t("{title} was taken off the public site.", { title: entry.title || entry.id }));
    }));
    buttons.push(withdraw);
  }
  if (list === "inspections" || list === "guides") {
    const remove = h("button", { type: "button", class: "remove" }, t("Remove"));
    remove.addEventListener("click", () => act(remove, async () => {
      await api(`/${list}/${encodeURIComponent(entry.id)}`, { method: "DELETE" });
      await reload(t("{title} was removed.", { title: entry.title }));
    }));
    buttons.push(remove);
  }
  return h("div", { class: "actions" }, nameInput, ...buttons);
}

function listSection(list, label, entries) {
  const reason = textInput(`withdraw-reason-${list}`, 500, false);
  const columns = [t("Entry"), t("On the public site"), t("Published on"), t("Actions")];
  const title = (e) => (list === "officers"
    ? [e.title || t("(no public name yet)"), " ", h("code", {}, e.id), " ", e.holder ? `(${e.holder})` : ""]
    : e.title);
  return section(`publication-${list}-h`, label,
    entries.length
      ? table({ id: `publication-${list}`, caption: t("Entries: {total}", { total: number(entries.length) }),
        columns, rows: entries.map((e) => [title(e), publicState(e),
          e.published_at ? timeNode(e.published_at) : null, entryActions(list, e, reason)]) })
      : h("p", { class: "note" }, t("This list has no entries yet.")),
    entries.some((e) => e.published_at)
      ? field(t("Reason for withdrawing"), reason, t("Recorded in the custody log with the withdrawal."))
      : null);
}

function inspectionForm(agency) {
  const inputs = {
    name: textInput("inspection-name", 200), basis: textInput("inspection-basis", 2000),
    subject: textInput("inspection-subject", 2000), method: textInput("inspection-method", 2000),
    frequency: textInput("inspection-frequency", 2000),
  };
  const button = h("button", { type: "submit" }, t("Add inspection item"));
  const form = h("form", { id: "new-inspection-form", class: "card" }, h("h3", {}, t("Add an inspection item")),
    field(t("Inspection item"), inputs.name), field(t("Legal basis"), inputs.basis),
    field(t("Who is inspected"), inputs.subject), field(t("Inspection method"), inputs.method),
    field(t("Share and frequency"), inputs.frequency, t("For example: at least 5% of shops each year.")), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const body = Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value.trim()]));
      const item = await api(`/agencies/${agency}/inspections`, { method: "POST", body });
      await reload(t("{title} was added; publish it to show it.", { title: item.name }));
    });
  });
  return form;
}

function guideForm(agency, matters) {
  if (!matters.length) return h("p", { class: "note" }, t("Add an enforcement matter before its service guide."));
  const matter = h("select", { id: "guide-matter", name: "matter", required: true },
    matters.map((m) => h("option", { value: m.id }, m.title)));
  const title = textInput("guide-title", 200);
  const body = h("textarea", { id: "guide-body", name: "body", required: true, rows: "6", maxlength: "5000" });
  const button = h("button", { type: "submit" }, t("Add service guide"));
  const form = h("form", { id: "new-guide-form", class: "card" }, h("h3", {}, t("Add a service guide")),
    field(t("Enforcement matter"), matter), field(t("Guide title"), title),
    field(t("Text"), body, t("Who accepts and decides, the conditions, the materials and the time limit.")), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const guide = await api(`/agencies/${agency}/guides`, { method: "POST",
        body: { matter_id: matter.value, title: title.value.trim(), body: body.value } });
      await reload(t("{title} was added; publish it to show it.", { title: guide.title }));
    });
  });
  return form;
}

async function publication(view) {
  const agency = session.user.agency;
  const entries = await Promise.all(LISTS.map(([list]) => api(`/agencies/${agency}/publication/${list}`)));
  const byList = Object.fromEntries(LISTS.map(([list], i) => [list, entries[i].items]));
  view.append(h("h1", {}, t("Public lists")),
    h("p", {}, t("What the public site shows before the action. An entry is shown as it was when published: publish it again after a change."),
      " ", h("a", { href: `/public/agencies/${agency}` }, t("Open the public site"))),
    ...LISTS.map(([list, label]) => listSection(list, label(), byList[list])),
    section("publication-add-h", t("Add to the lists"), inspectionForm(agency), guideForm(agency, byList.matters)));
}

route({ path: PATH, view: publication, allow: can.administer, nav: { label: () => t("Public lists"), order: 64 } });
