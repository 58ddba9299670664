// Recorders (cases/devices.py decides): the device registry of the admin's agency;
// registering a recorder to an officer and unit, giving it to another officer or unit, and
// retiring it with a reason. Each is a custody event (station:device:registered,
// reassigned, retired); footage already stored keeps its unit.

import { act, api, go, h, route, say } from "../core.js";
import { who } from "../custody.js";
import { ask } from "../dialog.js";
import { t } from "../i18n.js";
import { number, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { field, table } from "../ui.js";

const SERIAL = "[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}";
const OFFICER_NO = "[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}";

function unitSelect(id, units, selected) {
  return h("select", { id, name: "unit", required: true },
    units.map((u) => h("option", { value: u.code, selected: u.code === selected }, `${u.name} (${u.code})`)));
}

function officerNoInput(id, value) {
  return h("input", { id, name: "officer_no", required: true, maxlength: "64", pattern: OFFICER_NO,
    autocomplete: "off", value: value || null });
}

function officerNameInput(id, value) {
  return h("input", { id, name: "officer_name", maxlength: "100", autocomplete: "off", value: value || null });
}

function stateOf(device) {
  if (!device.retired_at) return t("In use");
  // one node: a table cell on a phone is a grid of its label and one value
  return h("span", {}, t("Retired"), " ", timeNode(device.retired_at), " ",
    t("by {name}: {reason}", { name: who(device.retired_by), reason: show(device.retired_reason) }));
}

async function recorders(view) {
  const [devices, units] = await Promise.all([api("/devices"), api("/units")]);
  const items = devices.items;
  view.append(h("h1", {}, t("Recorders")),
    h("p", { class: "lead" }, t("Which officer and unit each recorder belongs to. Footage a docked recorder brings belongs to its unit.")),
    registerForm(units.items),
    items.length
      ? table({ id: "devices-table", caption: t("Recorders: {total}", { total: number(items.length) }),
        columns: [t("Serial"), t("Officer number"), t("Officer"), t("Unit"), t("Volume label"), t("Registered"), t("State"), t("Action")],
        rows: items.map((d) => [h("code", {}, d.serial), show(d.officer_no), show(d.officer_name),
          d.unit_name ? `${d.unit_name} (${show(d.unit)})` : show(d.unit), show(d.label), timeNode(d.registered_at),
          stateOf(d), d.retired_at ? show(null) : actions(d, units.items)]) })
      : h("p", { id: "no-devices" }, t("No recorder is registered yet.")));
}

function registerForm(units) {
  const serial = h("input", { id: "device-serial", name: "serial", required: true, maxlength: "64", pattern: SERIAL,
    autocomplete: "off", spellcheck: "false" });
  const officerNo = officerNoInput("device-officer-no");
  const officerName = officerNameInput("device-officer-name");
  const unit = unitSelect("device-unit", units, null);
  const label = h("input", { id: "device-label", name: "label", maxlength: "128", autocomplete: "off" });
  const button = h("button", { type: "submit" }, t("Register"));
  const form = h("form", { id: "register-device-form", class: "card" }, h("h2", {}, t("Register a recorder")),
    field(t("Serial number"), serial, t("As the recorder reports it, for example ZFY0001. Registering a serial again replaces its entry.")),
    field(t("Officer number"), officerNo), field(t("Officer's name (optional)"), officerName),
    field(t("Unit"), unit), field(t("Volume label (optional)"), label, t("For recorders that show up as a USB drive with this label.")),
    button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const body = { serial: serial.value.trim(), officer_no: officerNo.value.trim(), unit: unit.value };
      if (officerName.value.trim()) body.officer_name = officerName.value.trim();
      if (label.value.trim()) body.label = label.value.trim();
      const device = await api("/devices", { method: "POST", body });
      await go("/admin/recorders");
      say(t("Recorder {serial} was registered.", { serial: device.serial }));
    });
  });
  return form;
}

function actions(device, units) {
  const reassign = h("button", { type: "button", class: "secondary",
    "aria-label": t("Reassign {serial}", { serial: device.serial }) }, t("Reassign"));
  const retire = h("button", { type: "button", class: "secondary",
    "aria-label": t("Retire {serial}", { serial: device.serial }) }, t("Retire"));
  reassign.addEventListener("click", async () => {
    const officerNo = officerNoInput("reassign-officer-no", device.officer_no);
    const officerName = officerNameInput("reassign-officer-name", device.officer_name);
    const unit = unitSelect("reassign-unit", units, device.unit);
    // Another officer's recorder does not keep the last one's name.
    officerNo.addEventListener("input", () => {
      if (officerNo.value.trim() !== device.officer_no && officerName.value === (device.officer_name || "")) officerName.value = "";
    });
    const ok = await ask({ id: "reassign-dialog", title: t("Reassign recorder {serial}", { serial: device.serial }),
      text: t("Footage already stored keeps its unit; what the recorder brings from now on belongs to the new one."),
      fields: [field(t("Officer number"), officerNo), field(t("Officer's name (optional)"), officerName),
        field(t("Unit"), unit)],
      confirm: t("Reassign") });
    if (!ok) return;
    const body = {};
    if (officerNo.value.trim() !== (device.officer_no || "")) body.officer_no = officerNo.value.trim();
    if (officerName.value.trim() && officerName.value.trim() !== device.officer_name) body.officer_name = officerName.value.trim();
    if (unit.value !== device.unit) body.unit = unit.value;
    if (!Object.keys(body).length) {
      say(t("Nothing was changed."));
      return;
    }
    act(reassign, async () => {
      await api(`/devices/${encodeURIComponent(device.serial)}`, { method: "PATCH", body });
      await go("/admin/recorders");
      say(t("Recorder {serial} was reassigned.", { serial: device.serial }));
    });
  });
  retire.addEventListener("click", async () => {
    const reason = h("input", { id: "retire-reason", name: "reason", required: true, maxlength: "500", autocomplete: "off" });
    const ok = await ask({ id: "retire-dialog", title: t("Retire recorder {serial}?", { serial: device.serial }),
      text: t("It stays listed as retired, and footage it still brings is kept. Registering it again brings it back."),
      fields: [field(t("Reason"), reason, t("Recorded in the custody log, for example: lost, broken, returned to the vendor."))],
      confirm: t("Retire"), danger: true });
    if (!ok) return;
    act(retire, async () => {
      await api(`/devices/${encodeURIComponent(device.serial)}`, { method: "DELETE", query: { reason: reason.value.trim() } });
      await go("/admin/recorders");
      say(t("Recorder {serial} was retired.", { serial: device.serial }));
    });
  });
  return h("div", { class: "actions" }, reassign, retire);
}

route({ path: "/admin/recorders", view: recorders, allow: can.administer, nav: { label: () => t("Recorders"), order: 62 } });
