// One evidence item: its facts, the player, its cases, its copies and its custody events.

import { API, ApiError, act, api, apiUrl, go, h, link, route, say, session, showError } from "../core.js";
import { custodyTable } from "../custody.js";
import { t, tn } from "../i18n.js";
import { MISSING, bytes, duration, joined, kindName, show, timeSourceName } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";
import { cell, definitions, field, hashCode, section, table } from "../ui.js";
import { flagBadges } from "./evidence_list.js";

function retentionName(category) {
  if (category === "case") return t("case retention");
  if (category === "standard") return t("standard retention");
  return show(category);
}

async function evidenceItem(view, { params }) {
  const id = params.id;
  const item = await api(`/evidence/${id}`);
  const user = session.user;
  const size = item.width && item.height ? `${item.width}×${item.height}` : null;
  const format = joined([joined([item.video_codec, item.audio_codec], " / "), size].filter((v) => v !== MISSING));
  const caption = t("Custody events for this item, oldest first");
  const custody = h("div", { id: "custody" }, custodyTable(item.custody_events, item.custody_events_truncated, caption));
  const refreshCustody = async () => {
    const fresh = await api(`/evidence/${id}`);
    custody.replaceChildren(...custodyTable(fresh.custody_events, fresh.custody_events_truncated, caption));
  };
  view.append(
    h("p", { class: "back" }, link("/evidence", t("← All evidence"))),
    h("h1", {}, item.original_name),
    definitions([
      [t("Evidence ID"), h("code", {}, item.id)],
      [t("SHA-256 of the original"), hashCode(item.sha256, true)],
      [t("Size"), bytes(item.size)],
      [t("Kind"), kindName(item.kind)],
      [t("Format"), format],
      [t("Container (as ffprobe names it)"), item.container],
      [t("Started"), item.start_time ? [timeNode(item.start_time), " ",
        h("span", { class: "note" }, t("(time taken from {source})", { source: timeSourceName(item.time_source) }))] : null],
      [t("Duration"), duration(item.duration_ms)],
      [t("Officer"), item.officer_no],
      [t("Recorder"), item.device_serial],
      [t("Segment number"), item.sequence],
      [t("Flags"), flagBadges(item)],
      [t("Kept until"), item.retain_until ? [timeNode(item.retain_until), " ",
        h("span", { class: "note" }, t("({retention})", { retention: retentionName(item.retention_category) }))] : null],
      [t("Legal hold"), item.legal_hold ? t("yes") : t("no")],
      [t("Ingested"), timeNode(item.ingested_at)],
    ]),
    can.play(user) ? playerSection(item, refreshCustody) : null,
    await casesOfEvidence(item),
    section("copies-h", t("Copies made from the original"),
      item.derivatives.length
        ? table({ id: "derivatives", caption: t("Derived copies"),
          columns: [t("Name"), t("Method"), t("Size"), t("SHA-256"), t("Made")],
          rows: item.derivatives.map((d) => [d.name, d.method, cell(bytes(d.size), "num"),
            hashCode(d.sha256, true), timeNode(d.created_at)]) })
        : h("p", {}, t("No copies were made.")),
      item.derivatives_error ? h("p", { class: "note" }, t("Making copies failed: {error}", { error: item.derivatives_error })) : null),
    section("custody-h", t("Chain of custody"), custody));
}

function playerSection(item, onViewLogged) {
  const hasCopy = item.derivatives.some((d) => d.name === "playback.mp4");
  if (!hasCopy) {
    const why = item.derivatives_state === "pending" ? t("The playback copy is still being made; reload shortly.")
      : t("This item has no playback copy (still images and damaged files have none).");
    return section("playback-h", t("Playback"), h("p", {}, why));
  }
  if (session.mode === "token") {
    return section("playback-h", t("Playback"), h("p", { id: "player-needs-session" },
      t("The player needs a sign-in with your name and password; a machine token cannot open it.")));
  }
  const reason = h("input", { id: "view-reason", name: "reason", maxlength: "500", autocomplete: "off" });
  const button = h("button", { type: "submit" }, t("Play"));
  const video = h("video", { id: "player", controls: true, preload: "auto", playsinline: true, hidden: true,
    "aria-label": t("Playback copy of {name}", { name: item.original_name }) });
  const form = h("form", { id: "play-form", class: "inline" },
    field(t("Reason for viewing (optional)"), reason, t("Recorded in the custody log with your name.")), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const url = apiUrl(`/evidence/${item.id}/playback`, { reason: reason.value.trim() });
      video.hidden = false;
      video.onloadedmetadata = () => act(null, onViewLogged);
      video.onerror = () => explainPlayerFailure(url, video.error);
      video.src = url.pathname + url.search; // the session cookie authenticates the player's requests
      video.focus();
      // The browser may refuse to start sound without a further click; the controls remain.
      video.play().catch(() => undefined);
    });
  });
  return section("playback-h", t("Playback"),
    h("p", {}, t("Opening the player records a custody event naming you; further viewing within 30 minutes joins it.")),
    form, video);
}

// The player says only that it failed; ask the API why (an API error opens no session).
async function explainPlayerFailure(url, mediaError) {
  try {
    const response = await api(url.pathname.slice(API.length), {
      query: Object.fromEntries(url.searchParams), headers: { Range: "bytes=0-0" }, accept: "response" });
    await response.body.cancel();
    showError(new ApiError(0, "media_error", t("The browser could not play this playback copy."),
      t("Ask a reviewer or case officer for the original, or try another browser.")));
    if (mediaError) console.warn("media error", mediaError.code, mediaError.message);
  } catch (err) {
    showError(err);
  }
}

async function casesOfEvidence(item) {
  const user = session.user;
  const list = item.cases.length
    ? h("ul", { id: "evidence-cases" }, item.cases.map((c) => h("li", {},
      can.readCases(user) ? link(`/cases/${c.id}`, t("Case {number}", { number: c.number }))
        : t("Case {number}", { number: c.number }))))
    : h("p", { id: "evidence-cases" }, t("Not on any case. Footage on no case is deleted when its retention ends."));
  let attach = null;
  if (can.manageCases(user)) {
    const cases = (await api("/cases", { query: { limit: 200 } })).items
      .filter((c) => !item.cases.some((on) => on.id === c.id));
    if (cases.length) {
      const select = h("select", { id: "attach-case", name: "case" },
        cases.map((c) => h("option", { value: c.id }, `${c.number} — ${c.title}`)));
      const button = h("button", { type: "submit" }, t("Attach to case"));
      attach = h("form", { id: "attach-form", class: "inline" }, field(t("Case"), select), button);
      attach.addEventListener("submit", (event) => {
        event.preventDefault();
        act(button, async () => {
          await api(`/cases/${select.value}/evidence`, { method: "POST", body: { evidence_id: item.id } });
          await go(`/evidence/${item.id}`);
          say(t("Attached. The item and its copies are now kept for as long as the case needs them."));
        });
      });
    } else {
      attach = h("p", { class: "note" }, tn("There is no other case of yours to attach it to. {open} first.",
        { open: link("/cases", t("Open a case")) }));
    }
  }
  return section("cases-h", t("Cases"), list, attach);
}

route({ path: "/evidence/:id", view: evidenceItem, allow: can.readEvidence });
