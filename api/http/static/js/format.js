// Values for people: a missing value is "—" (never "null", "undefined" or "NaN"),
// sizes and durations in the person's language, roles and kinds by their names.

import { number, t } from "./i18n.js";

export const MISSING = "—";

export function isMissing(value) {
  return value === null || value === undefined || value === "" ||
    (typeof value === "number" && !Number.isFinite(value));
}

// The value as text, or "—".
export function show(value) {
  return isMissing(value) ? MISSING : String(value);
}

// Joins the values that are present with `separator`; "—" when none is.
export function joined(values, separator = ", ") {
  const present = (values || []).filter((v) => !isMissing(v)).map(String);
  return present.length ? present.join(separator) : MISSING;
}

export function bytes(count) {
  return typeof count === "number" && Number.isFinite(count)
    ? t("{count} bytes", { count: number(count) }) : MISSING;
}

export function duration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return MISSING;
  if (ms < 60000) return t("{seconds} s", { seconds: (ms / 1000).toFixed(1) });
  const seconds = Math.round(ms / 1000);
  const parts = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  const text = parts.map((p) => String(p).padStart(2, "0")).join(":");
  return parts[0] ? text : text.slice(3);
}

const ROLES = {
  officer: () => t("officer"),
  case_officer: () => t("case officer"),
  reviewer: () => t("reviewer"),
  auditor: () => t("auditor"),
  admin: () => t("administrator"),
  clerk: () => t("station clerk"),
};

export function roleName(role) {
  return ROLES[role] ? ROLES[role]() : show(role);
}

const KINDS = {
  video: () => t("video"),
  audio: () => t("audio"),
  image: () => t("photo"),
  document: () => t("document"),
  unknown: () => t("unknown kind"),
};

export function kindName(kind) {
  return KINDS[kind] ? KINDS[kind]() : show(kind);
}

const FLAGS = {
  unplayable: () => t("cannot be played"),
  no_playback_copy: () => t("no playback copy"),
  zero_byte: () => t("empty file"),
  unknown_device: () => t("unknown recorder"),
  legal_hold: () => t("legal hold"),
  on_case: () => t("on a case"),
  copy_pending: () => t("playback copy pending"),
  time_uncertain: () => t("start time uncertain"),
};

export function flagName(flag) {
  return FLAGS[flag] ? FLAGS[flag]() : show(flag);
}

const TIME_SOURCES = {
  exif: () => t("the photo's EXIF data"),
  filename: () => t("the file name"),
  file_name: () => t("the file name"),
  container: () => t("the video file's header"),
  file_mtime: () => t("the file's modification time"),
};

export function timeSourceName(source) {
  return TIME_SOURCES[source] ? TIME_SOURCES[source]() : show(source);
}

export { number } from "./i18n.js";
