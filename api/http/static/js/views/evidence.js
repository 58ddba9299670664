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
      ...(item.recording_id ? [[t("Recording"), link(`/recordings/${item.recording_id}`,
        t("Timeline of the whole recording, with its gaps"))]] : []),
      [t("Flags"), flagBadges(item)],
      [t("Kept until"), item.retain_until ? [timeNode(item.retain_until), " ",
        h("span", { class: "note" }, t("({retention})", { retention: retentionName(item.retention_category) }))] : null],
      [t("Legal hold"), item.legal_hold ? t("yes") : t("no")],
      [t("Ingested"), timeNode(item.ingested_at)],
    ]),
    mediaSection(item, refreshCustody),
    originalSection(item),
    await casesOfEvidence(item),
    section("copies-h", t("Copies made from the original"),
      item.derivatives.length
        ? table({ id: "derivatives", caption: t("Derived copies"),
          columns: [t("Name"), t("Method"), t("Size"), t("SHA-256"), t("Made")],
          rows: item.derivatives.map((d) => [d.name, d.method, cell(bytes(d.size), "num"),
            hashCode(d.sha256, true), timeNode(d.created_at)]) })
        : h("p", {}, t("No copies were made.")),
      item.derivatives_error && item.derivatives_error !== item.status.reason
        ? h("p", { class: "note" }, t("Making copies failed: {error}", { error: item.derivatives_error })) : null),
    section("custody-h", t("Chain of custody"), custody));
}

const STATES = {
  pending: () => t("Still being processed: the playback copy and pictures are not ready yet. Reload shortly."),
  damaged: () => t("Damaged: the file could not be read as video, sound or a picture, so it cannot be played. The original is kept as it came off the recorder."),
  no_copy: () => t("No playback copy: the file was read, but no copy the browser can play could be made."),
  empty: () => t("Empty: the recorder wrote a file of zero bytes."),
  deleted: () => t("Deleted: its retention ended."),
};

// The item's status in words, when it is not simply viewable.
function statusNote(item) {
  const status = item.status;
  if (status.state === "ok") return null;
  const words = STATES[status.state] ? STATES[status.state]() : status.state;
  return h("div", { id: "media-status" },
    h("p", {}, h("span", { class: `media-state${status.state === "pending" ? "" : " bad"}` }, words)),
    status.reason ? h("p", { class: "note" }, t("What the server found: {reason}", { reason: status.reason })) : null);
}

// Photos, sound and video: each opened by a button (with an optional reason), as opening
// it records a custody event; a damaged or unplayable file gets its status, never a player.
function mediaSection(item, onViewLogged) {
  const user = session.user;
  const status = item.status;
  const title = item.kind === "image" ? t("Photo") : t("Playback");
  const note = statusNote(item);
  const strip = status.strip && item.kind === "video"
    ? h("figure", { class: "strip" },
      h("img", { id: "strip", class: "media-picture", src: `${API}/evidence/${item.id}/strip`, loading: "lazy",
        alt: t("Eight frames taken evenly through {name}", { name: item.original_name }) }),
      h("figcaption", { class: "note" }, t("Thumbnail strip: eight frames from the start to the end of the video.")))
    : null;
  if (!status.playback && !status.photo) {
    if (!can.play(user)) return note ? section("playback-h", title, note) : null;
    const why = note || h("p", { id: "media-status" }, item.kind === "image"
      ? t("This picture's format cannot be shown in the browser; download the original to see it.")
      : t("This item has no playback copy."));
    return section("playback-h", title, why, strip);
  }
  if (session.mode === "token") {
    return section("playback-h", title, note, h("p", { id: "player-needs-session" },
      t("The player needs a sign-in with your name and password; a machine token cannot open it.")), strip);
  }
  const photo = status.photo;
  const reason = h("input", { id: "view-reason", name: "reason", maxlength: "500", autocomplete: "off" });
  const button = h("button", { type: "submit" }, photo ? t("Show the photo") : t("Play"));
  let shown;
  if (photo) {
    shown = h("img", { id: "photo", class: "media-picture", hidden: true, alt: t("Photo {name}", { name: item.original_name }) });
  } else if (item.kind === "audio") {
    shown = h("audio", { id: "player", controls: true, preload: "auto", hidden: true,
      "aria-label": t("Sound recording {name}", { name: item.original_name }) });
  } else {
    shown = h("video", { id: "player", controls: true, preload: "auto", playsinline: true, hidden: true,
      poster: status.poster ? `${API}/evidence/${item.id}/poster` : null,
      "aria-label": t("Playback copy of {name}", { name: item.original_name }) });
  }
  const form = h("form", { id: "play-form", class: "inline" },
    field(t("Reason for viewing (optional)"), reason, t("Recorded in the custody log with your name.")), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, async () => {
      const url = apiUrl(`/evidence/${item.id}/${photo ? "photo" : "playback"}`, { reason: reason.value.trim() });
      shown.hidden = false;
      if (photo) {
        shown.onload = () => act(null, onViewLogged);
        shown.onerror = () => explainPlayerFailure(url, null);
        shown.src = url.pathname + url.search; // the session cookie authenticates the request
        return;
      }
      shown.onloadedmetadata = () => act(null, onViewLogged);
      shown.onerror = () => explainPlayerFailure(url, shown.error);
      shown.src = url.pathname + url.search; // the session cookie authenticates the player's requests
      shown.focus();
      // The browser may refuse to start sound without a further click; the controls remain.
      shown.play().catch(() => undefined);
    });
  });
  return section("playback-h", title, note,
    h("p", {}, photo
      ? t("Showing the photo records a custody event naming you; further viewing within 30 minutes joins it.")
      : t("Opening the player records a custody event naming you; further viewing within 30 minutes joins it.")),
    form, shown, strip);
}

// The original, bit for bit, for those allowed: a reason is required, and the download is
// a plain link the browser streams to disk (never read into the page).
function originalSection(item) {
  const user = session.user;
  if (!can.downloadOriginal(user)) return null;
  if (!item.status.original_download) {
    return section("original-h", t("Original file"), h("p", { id: "original-not-allowed", class: "note" },
      t("You may download the original only of footage on a case you manage, or, as a reviewer, on a case sent for review.")));
  }
  const reason = h("input", { id: "original-reason", name: "reason", required: true, maxlength: "500", autocomplete: "off" });
  const button = h("button", { type: "submit" }, t("Download the original"));
  const result = h("div", { id: "original-result", "aria-live": "polite" });
  const form = h("form", { id: "original-form", class: "card", novalidate: true },
    h("p", {}, t("The original leaves the system exactly as it came off the recorder. Say why you take it: the reason is recorded in the custody log with your name.")),
    field(t("Reason for taking the original (required)"), reason), button, result);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const why = reason.value.trim();
    if (!why) {
      reason.setAttribute("aria-invalid", "true");
      result.replaceChildren(h("p", { id: "original-needs-reason", class: "error-text" },
        t("Give a reason: the original is not handed out without one.")));
      reason.focus();
      return;
    }
    reason.removeAttribute("aria-invalid");
    const url = apiUrl(`/evidence/${item.id}/original`, { reason: why });
    const download = h("a", { id: "original-link", href: url.pathname + url.search, download: item.original_name },
      item.original_name);
    result.replaceChildren(h("p", {}, t("The download starts now and is recorded in the custody log. If it did not start, use this link:"),
      " ", download));
    download.click();
  });
  return section("original-h", t("Original file"), form);
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
