// The annual statistics (统计年报, cases/annual_report.py counts them): an agency's figures of
// a year, downloadable as CSV and PDF; an admin of the agency publishes them once the year
// has ended (event org:annual-report:published), which freezes them and puts them on the
// public site. Admins see their agency's, auditors those of their scope.

import { act, api, go, h, route, say, session } from "../core.js";
import { who } from "../custody.js";
import { ask } from "../dialog.js";
import { t } from "../i18n.js";
import { number, show } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { cell, definitions, field, hashCode, section, table } from "../ui.js";

const PATH = "/annual-report";
const KINDS = ["licensing", "penalty", "compulsory", "levy", "inspection"];
const OUTCOMES = ["licence_revoked", "business_closed", "fine", "other"];

function kindName(kind) {
  return { licensing: t("Licensing"), penalty: t("Penalty"), compulsory: t("Compulsory measure"),
    levy: t("Levy or requisition"), inspection: t("Inspection") }[kind] || kind;
}

function outcomeName(outcome) {
  return { licence_revoked: t("Licence revoked"), business_closed: t("Business closed"),
    fine: t("Fine"), other: t("Other") }[outcome] || outcome;
}

async function agenciesOf(user) {
  if (user.role === "admin") return [user.agency];
  if (user.auditor_scope && user.auditor_scope !== "*") return [user.auditor_scope];
  return (await api("/agencies")).items.map((a) => a.code);
}

async function annualReport(view, { query }) {
  const user = session.user;
  const agencies = await agenciesOf(user);
  const agency = agencies.includes(query.agency) ? query.agency : agencies[0];
  const thisYear = new Date().getFullYear();
  const year = Number.parseInt(query.year || "", 10) || thisYear - 1;
  view.append(h("h1", {}, t("Annual statistics")),
    h("p", { class: "lead" }, t("Each agency publishes the statistics of the previous year by 31 January. Until published, the figures are counted again on each visit; once published they are frozen.")),
    chooser(agencies, agency, year, thisYear));
  if (!agency) return;
  const base = `/agencies/${agency}/annual-reports/${year}`;
  const report = await api(base);
  view.append(statusSection(report, base, user, year < thisYear), figures(report));
}

function chooser(agencies, agency, year, thisYear) {
  const agencyInput = h("select", { id: "report-agency", name: "agency" },
    agencies.map((code) => h("option", { value: code, selected: code === agency }, code)));
  const yearInput = h("input", { id: "report-year", name: "year", type: "number", required: true,
    min: "2000", max: String(thisYear), value: String(year) });
  const form = h("form", { id: "report-form", class: "card" }, field(t("Agency"), agencyInput),
    field(t("Year"), yearInput), h("button", { type: "submit" }, t("Show")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    go(PATH, { agency: agencyInput.value, year: yearInput.value });
  });
  return form;
}

function download(base, format, label) {
  const button = h("button", { type: "button", class: "secondary", id: `report-${format}` }, label);
  button.addEventListener("click", () => act(button, async () => {
    const response = await api(`${base}/${format}`, { accept: "response" });
    const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    const url = URL.createObjectURL(await response.blob());
    const a = h("a", { href: url, download: name ? name[1] : `annual-report.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }));
  return button;
}

function statusSection(report, base, user, ended) {
  const parts = report.sha256
    ? [definitions([[t("Published"), timeNode(report.published_at)], [t("Published by"), who(report.published_by)],
      [t("SHA-256 of the figures"), hashCode(report.sha256, true)]]),
    h("p", {}, h("a", { href: `/public/agencies/${report.agency}/annual-reports/${report.year}` }, t("Open on the public site")))]
    : [h("p", { id: "report-draft" }, t("Not published yet: figures as of {date}.", { date: report.as_of }))];
  const actions = h("p", { class: "actions" }, download(base, "csv", t("Download CSV")), " ",
    download(base, "pdf", t("Download PDF")));
  if (!report.sha256 && user.role === "admin" && ended) actions.append(" ", publishButton(report, base));
  return section("report-status-h", t("{agency}: statistics of {year}", { agency: report.agency_name, year: String(report.year) }),
    ...parts, actions);
}

function publishButton(report, base) {
  const button = h("button", { type: "button", id: "report-publish" }, t("Publish"));
  button.addEventListener("click", async () => {
    const ok = await ask({ id: "publish-report-dialog", title: t("Publish the statistics of {year}?", { year: String(report.year) }),
      text: t("The figures are frozen as they are now and shown on the public site. This cannot be undone."),
      confirm: t("Publish") });
    if (!ok) return;
    act(button, async () => {
      await api(`${base}/publish`, { method: "POST" });
      await go(PATH, { agency: report.agency, year: String(report.year) });
      say(t("The statistics of {year} were published.", { year: String(report.year) }));
    });
  });
  return button;
}

const num = (value) => cell(number(value), "num");

function figures(r) {
  const share = r.footage_share === null ? show(null) : `${r.footage_share.toFixed(1)}%`;
  return h("div", { id: "report-figures" },
    table({ id: "report-decisions", caption: t("Decisions: {total}", { total: number(r.decisions) }),
      columns: [t("Kind"), t("Total"), ...OUTCOMES.map(outcomeName)],
      rows: KINDS.map((kind) => [kindName(kind), num(r.by_kind[kind] || 0),
        ...OUTCOMES.map((o) => num((r.by_kind_outcome[kind] || {})[o] || 0))]) }),
    section("report-review-h", t("Major decisions and legal review"), definitions([
      [t("Decisions that went through a legal review"), number(r.major_decisions)],
      [t("Reviews submitted"), number(r.reviews.submitted)], [t("Passed"), number(r.reviews.passed)],
      [t("Returned"), number(r.reviews.returned)], [t("Failed"), number(r.reviews.failed)],
      [t("Waiting for an opinion"), number(r.reviews.pending)], [t("Void (materials changed)"), number(r.reviews.voided)]])),
    section("report-deadlines-h", t("Publication deadlines"), definitions([
      [t("Published on time"), number(r.deadlines.on_time)], [t("Published late"), number(r.deadlines.late)],
      [t("Unpublished, past due"), number(r.deadlines.overdue_unpublished)],
      [t("Unpublished, not yet due"), number(r.deadlines.not_yet_due)],
      [t("Publications revoked"), number(r.revoked)], [t("Publications corrected"), number(r.updated)],
      [t("Corrections"), number(r.updates)]])),
    section("report-footage-h", t("Footage coverage"), definitions([
      [t("On-site actions"), number(r.on_site)], [t("With footage on their case"), number(r.on_site_with_footage)],
      [t("Coverage"), share]]),
    h("p", { class: "note" }, t("An on-site action counts as covered when its case holds at least one evidence item that is not one of the case's written documents."))));
}

route({ path: PATH, view: annualReport, allow: can.annualReport, nav: { label: () => t("Annual statistics"), order: 65 } });
