// Time: shown in the person's zone with the zone named, entered in that zone, sent to the
// API as ISO-8601 with the offset. The zone is the station's (GET /ui/config.json) until
// the person picks another in the header; never the browser's own zone, which on a
// station PC is often wrong. Offsets come from Intl, so summer time is right.

import { h } from "./core.js";
import { MISSING } from "./format.js";

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

// The value for <input type="datetime-local" step="1"> showing `iso` in the zone.
export function inputValue(iso) {
  const text = clockText(iso);
  return text === null ? "" : text.replace(" ", "T");
}

// What a datetime-local input's value means in the zone, as ISO-8601 with the offset
// ("2024-03-15T09:31:00+08:00"); null when empty or unreadable. A wall-clock time that
// happens twice (summer time ends) is the earlier instant; one that never happens
// (summer time starts) moves forward by the gap, as most calendars do.
export function fromInput(value, name = zone) {
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?/.exec(value || "");
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map((v) => Number.parseInt(v || "0", 10));
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

// A datetime-local input (seconds shown) holding `iso` in the zone.
export function timeInput(id, iso) {
  return h("input", { id, name: id, type: "datetime-local", step: "1", value: inputValue(iso) || null });
}
