// Page parts every view uses: labelled fields, sections, tables that become stacked
// cards on a narrow screen, lists of facts, hashes and badges.

import { h } from "./core.js";
import { MISSING, isMissing } from "./format.js";

const SHORT_HASH = 12;

// A labelled input, with an optional help line tied to it by aria-describedby.
export function field(label, input, help) {
  const helpNode = help ? h("span", { class: "help", id: input.id + "-help" }, help) : null;
  if (helpNode) input.setAttribute("aria-describedby", helpNode.id);
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, helpNode);
}

// A checkbox with its label after it.
export function check(input, label) {
  return h("div", { class: "check" }, input, h("label", { for: input.id }, label));
}

export function section(id, title, ...children) {
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

// A cell with a class: cell(value, "num").
export function cell(content, className) {
  return { content, className };
}

// table({ id, caption, columns: ["Name", ...], rows: [[cell, ...], ...] }).
// Each cell is content (text, node, array) or cell(content, class). On a narrow screen
// each row becomes a card, each cell labelled with its column (the CSS reads data-label).
export function table({ id, caption, columns, rows }) {
  return h("table", { id, class: "cards" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((value, i) => {
      const isCell = value && typeof value === "object" && "content" in value && !(value instanceof Node);
      const content = isCell ? value.content : value;
      return h("td", { class: isCell ? value.className : null, "data-label": columns[i] },
        isMissing(content) ? MISSING : content);
    })))));
}

// A list of facts: definitions([["Size", "3 bytes"], ...]); missing values show "—".
export function definitions(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([term, value]) =>
    [h("dt", {}, term), h("dd", {}, isMissing(value) ? MISSING : value)]));
}

export function hashCode(sha256, full) {
  if (isMissing(sha256)) return MISSING;
  return h("code", { class: "hash", title: sha256 }, full ? sha256 : sha256.slice(0, SHORT_HASH) + "…");
}

export function badges(names) {
  return names.length ? h("ul", { class: "badges" }, names.map((f) => h("li", { class: "badge" }, f))) : MISSING;
}
