// The official calendar (cases/calendar_admin.py decides): which years' holidays and
// adjusted working days (调休) are known, from the server's calendar package or entered by
// an admin from the State Council's notice. Deadlines that run into an unknown year are
// shown as unconfirmed. An admin of a region-level agency enters a year (event
// org:calendar:year-entered); other admins see the list.

import { act, api, go, h, route, say, session } from "../core.js";
import { who } from "../custody.js";
import { t } from "../i18n.js";
import { number, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { field, section, table } from "../ui.js";

function sourceName(source) {
  if (source === "library") return t("Known (published calendar)");
  if (source === "entered") return t("Entered from the notice");
  if (source === "both") return t("Entered; agrees with the published calendar");
  if (source === "conflict") return t("Conflict: enter it again (deadlines unconfirmed)");
  if (source === "unknown") return t("Unknown: deadlines unconfirmed");
  return show(source);
}

// "2027-02-05..2027-02-11" or "2027-02-05", separated by spaces, commas or new lines.
export function parseDays(text) {
  const days = [];
  for (const token of text.split(/[\s,，、;；]+/).filter(Boolean)) {
    const [first, last = first, extra] = token.split("..");
    const start = Date.parse(first + "T00:00:00Z");
    const end = Date.parse(last + "T00:00:00Z");
    if (extra !== undefined || !/^\d{4}-\d{2}-\d{2}$/.test(first) || !/^\d{4}-\d{2}-\d{2}$/.test(last)
        || Number.isNaN(start) || Number.isNaN(end) || end < start || end - start > 31 * 86400000) return null;
    for (let day = start; day <= end; day += 86400000) days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

async function calendar(view) {
  const me = session.user;
  const [years, agencies] = await Promise.all([api("/calendar/years"), api("/agencies")]);
  const mine = agencies.items.find((a) => a.code === me.agency);
  view.append(h("h1", {}, t("Official calendar")),
    h("p", { class: "lead" }, t("Working-day deadlines count on the State Council's holidays and adjusted working days. A year the server does not know yet is entered from the notice; until then deadlines that run into it are shown as unconfirmed.")),
    table({ id: "calendar-table", caption: t("Years: {total}", { total: number(years.items.length) }),
      columns: [t("Year"), t("Calendar"), t("Notice"), t("Entered by"), t("Entered")],
      rows: years.items.map((y) => [String(y.year), sourceName(y.source), show(y.notice),
        y.entered_by ? who(y.entered_by) : show(null), y.entered_at ? timeNode(y.entered_at) : show(null)]) }),
    mine && mine.level === "region"
      ? section("enter-year-h", t("Enter a year"), yearForm(years.items))
      : h("p", { id: "calendar-region-only", class: "note" }, t("An admin of a region-level agency enters a year: the calendar changes the deadlines of every agency in the region.")));
}

function yearForm(years) {
  const firstUnknown = years.find((y) => y.source === "unknown");
  const year = h("input", { id: "calendar-year", name: "year", type: "number", required: true, min: "2000", max: "2100",
    value: firstUnknown ? String(firstUnknown.year) : "" });
  const notice = h("input", { id: "calendar-notice", name: "notice", required: true, maxlength: "200", autocomplete: "off" });
  const holidays = h("textarea", { id: "calendar-holidays", name: "holidays", required: true, rows: "4" });
  const workdays = h("textarea", { id: "calendar-workdays", name: "workdays", rows: "2" });
  const button = h("button", { type: "submit" }, t("Enter the year"));
  const form = h("form", { id: "calendar-form", class: "card" },
    field(t("Year"), year),
    field(t("Notice"), notice, t("Its title and number, for example 国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕X号）.")),
    field(t("Holidays"), holidays, t("Every holiday day of the notice (放假): a day as 2027-01-01, a run as 2027-02-05..2027-02-11, separated by spaces or new lines.")),
    field(t("Adjusted working days"), workdays, t("The Saturdays and Sundays the notice makes working days (上班), written the same way.")),
    button);
  // a day refused at the last try stops refusing once it is edited
  for (const input of [holidays, workdays]) input.addEventListener("input", () => input.setCustomValidity(""));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const off = parseDays(holidays.value);
    const on = parseDays(workdays.value);
    holidays.setCustomValidity(off && off.length ? "" : t("Write days as 2027-01-01 or runs as 2027-02-05..2027-02-11."));
    workdays.setCustomValidity(on ? "" : t("Write days as 2027-01-01 or runs as 2027-02-05..2027-02-11."));
    if (!form.reportValidity()) return;
    act(button, async () => {
      const entered = await api(`/calendar/years/${Number(year.value)}`, { method: "PUT",
        body: { notice: notice.value.trim(), holidays: off, workdays: on } });
      await go("/admin/calendar");
      say(t("The calendar of {year} was entered: {holidays} holiday days, {workdays} adjusted working days.",
        { year: String(entered.year), holidays: number(entered.holidays.length), workdays: number(entered.workdays.length) }));
    });
  });
  return form;
}

route({ path: "/admin/calendar", view: calendar, allow: can.administer, nav: { label: () => t("Calendar"), order: 64 } });
