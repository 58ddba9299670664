// Agencies and units (cases/organisation.py decides): an admin sees their agency, the
// agencies directly under it and its units; adds a unit to their agency and an agency
// under it. Each addition is a custody event (org:agency:added, org:unit:added).

import { act, api, go, h, route, say, session } from "../core.js";
import { t } from "../i18n.js";
import { number, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { definitions, field, section, table } from "../ui.js";

const CODE = "[a-z0-9][a-z0-9_\\-]{0,31}";
const LEVELS = ["region", "city", "county"];

function levelName(level) {
  if (level === "region") return t("region level");
  if (level === "city") return t("city or league level");
  if (level === "county") return t("county or banner level");
  return show(level);
}

function codeInput(id) {
  return h("input", { id, name: "code", required: true, maxlength: "32", pattern: CODE, autocomplete: "off",
    spellcheck: "false", autocapitalize: "none" });
}

function nameInput(id) {
  return h("input", { id, name: "name", required: true, maxlength: "100", autocomplete: "off" });
}

async function organisation(view) {
  const me = session.user;
  const [agencies, units] = await Promise.all([api("/agencies"), api("/units")]);
  const mine = agencies.items.find((a) => a.code === me.agency);
  const nameOf = (code) => {
    const agency = agencies.items.find((a) => a.code === code);
    return agency ? `${agency.name} (${agency.code})` : show(code);
  };
  view.append(h("h1", {}, t("Agencies and units")),
    definitions([[t("Your agency"), nameOf(me.agency)], [t("Level"), mine ? levelName(mine.level) : show(null)]]),
    section("units-h", t("Units of your agency"),
      units.items.length
        ? table({ id: "units-table", caption: t("Units: {total}", { total: number(units.items.length) }),
          columns: [t("Code"), t("Name"), t("Agency"), t("Added")],
          rows: units.items.map((u) => [h("code", {}, u.code), u.name, nameOf(u.agency), timeNode(u.created_at)]) })
        : h("p", { id: "no-units" }, t("Your agency has no units yet.")),
      unitForm(me)),
    section("agencies-h", t("Agencies"),
      table({ id: "agencies-table", caption: t("Your agency and those directly under it: {total}", { total: number(agencies.items.length) }),
        columns: [t("Code"), t("Name"), t("Level"), t("Under"), t("Added")],
        rows: agencies.items.map((a) => [h("code", {}, a.code), a.name, levelName(a.level),
          a.parent ? nameOf(a.parent) : show(null), timeNode(a.created_at)]) }),
      mine ? agencyForm(me, mine) : null));
}

function unitForm(me) {
  const code = codeInput("unit-code");
  const name = nameInput("unit-name");
  const button = h("button", { type: "submit" }, t("Add unit"));
  const form = h("form", { id: "new-unit-form", class: "card" }, h("h3", {}, t("Add a unit to your agency")),
    field(t("Code"), code, t("1–32 lower-case letters, digits, '_' or '-', unique in the region; it cannot be changed later.")),
    field(t("Name"), name, t("As people read it, for example 朝阳派出所.")), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const unit = await api("/units", { method: "POST", body: { code: code.value.trim(), agency: me.agency, name: name.value.trim() } });
      await go("/admin/units");
      say(t("Unit {name} was added.", { name: unit.name }));
    });
  });
  return form;
}

function agencyForm(me, mine) {
  const below = LEVELS.slice(LEVELS.indexOf(mine.level) + 1);
  if (!below.length) return h("p", { class: "note" }, t("No agency can be added under a county-level agency."));
  const code = codeInput("agency-code");
  const name = nameInput("agency-name");
  const level = h("select", { id: "agency-level", name: "level", required: true },
    below.map((l) => h("option", { value: l }, levelName(l))));
  const button = h("button", { type: "submit" }, t("Add agency"));
  const form = h("form", { id: "new-agency-form", class: "card" }, h("h3", {}, t("Add an agency under yours")),
    field(t("Code"), code, t("1–32 lower-case letters, digits, '_' or '-', unique in the region; it cannot be changed later.")),
    field(t("Name"), name, t("As people read it, for example 呼和浩特市公安局.")), field(t("Level"), level), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const agency = await api("/agencies", { method: "POST",
        body: { code: code.value.trim(), name: name.value.trim(), level: level.value, parent: me.agency } });
      await go("/admin/units");
      say(t("Agency {name} was added.", { name: agency.name }));
    });
  });
  return form;
}

route({ path: "/admin/units", view: organisation, allow: can.administer, nav: { label: () => t("Units"), order: 61 } });
