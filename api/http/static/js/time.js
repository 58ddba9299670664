// Time: shown in the person's zone with the zone named, entered in that zone, sent to the
// API as ISO-8601 with the offset. The zone is the station's (GET /ui/config.json) until
// the person picks another in the header; never the browser's own zone, which on a
// station PC is often wrong. Offsets come from Intl, so summer time is right.

import { h } from "./core.js";
import { MISSING } from "./format.js";
import { t } from "./i18n.js";

const ZONE_KEY = "evidence.timeZone";

let zone = "Asia/Shanghai";
const formatters = new Map();

export function isZone(name) {
  if (typeof name !== "string" || !name) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch (err) {
    return false;
  }
}

export function timeZone() {
  return zone;
}

// The zone chosen in this browser before, else the station's.
export function chosenTimeZone(stationZone) {
  const saved = localStorage.getItem(ZONE_KEY);
  if (isZone(saved)) return saved;
  return isZone(stationZone) ? stationZone : "UTC";
}

export function useTimeZone(name) {
  if (!isZone(name)) throw new Error(`Unknown time zone ${name}`);
  zone = name;
  localStorage.setItem(ZONE_KEY, name);
}

// Every zone the browser knows, for the zone menu: the station's first.
export function zones(stationZone) {
  const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const list = [...new Set([stationZone, zone, "UTC", ...all].filter(isZone))];
  return list;
}

function formatter(name) {
  let found = formatters.get(name);
  if (!found) {
    found = new Intl.DateTimeFormat("en-US", {
      timeZone: name, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    formatters.set(name, found);
  }
  return found;
}

// The wall-clock fields of instant `ms` in zone `name`.
export function wallClock(ms, name = zone) {
  const fields = {};
  for (const part of formatter(name).formatToParts(new Date(ms))) {
    if (part.type !== "literal") fields[part.type] = Number.parseInt(part.value, 10);
  }
  return { year: fields.year, month: fields.month, day: fields.day,
    hour: fields.hour, minute: fields.minute, second: fields.second };
}

// Minutes east of UTC of zone `name` at instant `ms` (Asia/Shanghai: 480).
export function offsetMinutes(ms, name = zone) {
  const w = wallClock(ms, name);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

function offsetText(minutes) {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function parse(iso) {
  if (iso === null || iso === undefined || iso === "") return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

// "2024-03-15 09:30:00" in the zone, or null for a missing or unreadable time.
export function clockText(iso, name = zone) {
  const ms = parse(iso);
  if (ms === null) return null;
  const w = wallClock(ms, name);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

// "(Asia/Shanghai)": how every time shown names its zone.
export function zoneLabel(name = zone) {
  return `(${name})`;
}

// A time for a sentence: "2024-03-15 09:30:00 (Asia/Shanghai)"; "—" when missing.
export function timeText(iso) {
  const text = clockText(iso);
  return text === null ? MISSING : `${text} ${zoneLabel()}`;
}

// A time for a page: <time datetime=...>2024-03-15 09:30:00 <span>(Asia/Shanghai)</span></time>.
export function timeNode(iso) {
  const text = clockText(iso);
  if (text === null) return MISSING;
  return h("time", { datetime: new Date(parse(iso)).toISOString() },
    h("span", { class: "nowrap" }, text), " ", h("span", { class: "zone" }, zoneLabel()));
}

// Times are typed as text, "YYYY-MM-DD HH:mm" on a 24-hour clock (":ss" may follow), in
// the person's zone, named next to the input. Not <input type="datetime-local">: it shows
// the browser's own format (an English browser: mm/dd/yyyy and AM/PM, on a Chinese page
// too), never the language and zone chosen here.
export const INPUT_FORMAT = "YYYY-MM-DD HH:mm";

// The text of a time input showing `iso` in the zone: "2024-03-15 09:30" (":ss" when the
// seconds are not 0, so a time from the address reads back exactly).
export function inputValue(iso) {
  const text = clockText(iso);
  if (text === null) return "";
  return text.endsWith(":00") ? text.slice(0, -3) : text;
}

// The wall-clock fields of a typed time, or null when it is no real time. Full-width
// digits and colons (a Chinese keyboard) are read as ASCII; "T" may stand for the space;
// a date alone means its midnight.
export function parseInput(value) {
  const text = String(value || "").normalize("NFKC").trim();
  const match = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map((v) => Number.parseInt(v || "0", 10));
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();  // in that month
  if (month < 1 || month > 12 || day < 1 || day > days || hour > 23 || minute > 59 || second > 59) return null;
  return { year, month, day, hour, minute, second };
}

// What a typed time means in the zone, as ISO-8601 with the offset
// ("2024-03-15T09:31:00+08:00"); null when empty or unreadable. A wall-clock time that
// happens twice (summer time ends) is the earlier instant; one that never happens
// (summer time starts) moves forward by the gap, as most calendars do.
export function fromInput(value, name = zone) {
  const fields = parseInput(value);
  if (!fields) return null;
  const { year, month, day, hour, minute, second } = fields;
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const day_ms = 86400000;
  const before = offsetMinutes(asUtc - day_ms, name);
  const after = offsetMinutes(asUtc + day_ms, name);
  const fits = [before, after].map((offset) => asUtc - offset * 60000).filter((ms) => {
    const w = wallClock(ms, name);
    return w.year === year && w.month === month && w.day === day && w.hour === hour &&
      w.minute === minute && w.second === second;
  });
  const instant = fits.length ? Math.min(...fits) : asUtc - before * 60000;
  return isoWithOffset(instant, name);
}

// Instant `ms` as ISO-8601 in the zone with its offset: "2024-03-15T09:31:00+08:00".
export function isoWithOffset(ms, name = zone) {
  const w = wallClock(ms, name);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` +
    offsetText(offsetMinutes(ms, name));
}

// A time input holding `iso` in the zone: text in INPUT_FORMAT. Put it on the page with
// timeField, which names the zone next to it; read it with readTime.
export function timeInput(id, iso) {
  return h("input", { id, name: id, type: "text", class: "time-input", inputmode: "numeric",
    autocomplete: "off", spellcheck: "false", maxlength: "25", size: "19",
    placeholder: INPUT_FORMAT, value: inputValue(iso) || null });
}

// A labelled time input: the zone it is read in named after it, a help line, and the place
// where readTime says what is wrong with what was typed.
export function timeField(label, input, help) {
  const zoneNode = h("span", { class: "zone", id: `${input.id}-zone` }, zoneLabel());
  const formatNode = h("span", { class: "help", id: `${input.id}-format` },
    help ? [help, " "] : null, t("Format: {format}, 24-hour clock.", { format: INPUT_FORMAT }));
  const error = h("span", { class: "field-error", id: `${input.id}-error`, hidden: true });
  input.setAttribute("aria-describedby", `${zoneNode.id} ${formatNode.id} ${error.id}`);
  return h("div", { class: "field" }, h("label", { for: input.id }, label),
    h("span", { class: "time-entry" }, input, " ", zoneNode), formatNode, error);
}

// The instant a time input means (ISO-8601 with the offset), or null when it is empty.
// Something else typed there: the input is marked invalid, says how to write a time, takes
// the focus, and the answer is undefined (the form is not sent).
export function readTime(input) {
  const error = document.getElementById(`${input.id}-error`);
  const value = input.value.trim();
  const instant = value === "" ? null : fromInput(value);
  const wrong = value !== "" && instant === null;
  input.setAttribute("aria-invalid", wrong ? "true" : "false");
  if (error) {
    error.hidden = !wrong;
    error.textContent = wrong ? t("“{value}” is not a time: write it as {format}, for example {example}.",
      { value, format: INPUT_FORMAT, example: clockText(new Date().toISOString()).slice(0, 16) }) : "";
  }
  if (wrong) {
    input.focus();
    return undefined;
  }
  return instant;
}
