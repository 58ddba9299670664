// Languages. Every sentence a person reads goes through t(), given the English text with
// {name} placeholders and an object of their values. The English text is the message id;
// the other languages' texts come from the server (GET /ui/i18n/{locale}.json, read from
// api/locale/<ll_CC>/LC_MESSAGES/pages.po). Write the id as one literal string in double
// quotes, never a variable or a template: the catalogue check (tests/test_pages_i18n.py)
// finds the ids by reading these files, and fails on a call it cannot read.

const LANGUAGE_KEY = "evidence.lang";

let messages = {};
let current = "zh-CN";
let offered = [{ code: "zh-CN", name: "中文" }, { code: "en", name: "English" }];

// The text of `id` in the current language, with each {name} replaced by params[name].
export function t(id, params) {
  const text = Object.prototype.hasOwnProperty.call(messages, id) ? messages[id] : id;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    (Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole));
}

// Like t(), for a sentence with elements in it (a link, a <code>): returns an array of
// strings and nodes, for h(). String values are placed as text.
export function tn(id, params) {
  const text = t(id);
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(/\{(\w+)\}/g)) {
    if (!Object.prototype.hasOwnProperty.call(params, match[1])) continue;
    parts.push(text.slice(last, match.index), params[match[1]]);
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts.filter((part) => part !== "");
}

export function language() {
  return current;
}

export function languages() {
  return offered;
}

// The language this browser chose before (localStorage), else the server's default.
export function chosenLanguage(config) {
  if (config && Array.isArray(config.locales) && config.locales.length) offered = config.locales;
  const saved = localStorage.getItem(LANGUAGE_KEY);
  if (offered.some((l) => l.code === saved)) return saved;
  return (config && config.default_locale) || offered[0].code;
}

// Loads the messages of `locale`, remembers the choice and sets <html lang>.
export async function useLanguage(locale) {
  const response = await fetch(`/ui/i18n/${encodeURIComponent(locale)}.json`,
    { credentials: "same-origin", cache: "no-cache" });
  if (!response.ok) throw new Error(`The messages of ${locale} could not be loaded (${response.status}).`);
  const body = await response.json();
  messages = body.messages || {};
  current = locale;
  localStorage.setItem(LANGUAGE_KEY, locale);
  document.documentElement.lang = locale;
}

// Numbers as the language writes them (1,234,567 in both of ours).
export function number(value) {
  return typeof value === "number" ? value.toLocaleString(current) : String(value);
}
