// One recording: its segments on the wall clock with every gap and overlap drawn and listed,
// and a player on the joined file (GET /recordings/{id}/playback) whose position is shown
// as the wall-clock time in the chosen zone. The joined file lasts the recording's whole
// span: a gap plays as black picture of its true length, and the page says it is a gap.

import { API, ApiError, act, api, apiUrl, h, link, route, session } from "../core.js";
import { t } from "../i18n.js";
import { MISSING, duration, number } from "../format.js";
import { can } from "../roles.js";
import { clockText, timeNode, zoneLabel } from "../time.js";
import { cell, definitions, field, section, table } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";

// An SVG element (h() makes HTML ones); geometry goes in attributes, never in styles.
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return node;
}

// "4 s", "1.5 s", "0.04 s": the length of a gap or overlap exactly, however short.
export function seconds(ms) {
  const text = (ms / 1000).toFixed(3).replace(/\.?0+$/, "");
  return t("{seconds} s", { seconds: text });
}

const percent = (ms, span) => `${Math.max(0, Math.min(100, (ms / span) * 100)).toFixed(3)}%`;

// Every piece of the recording in time order, for the drawing and the list.
function pieces(rec) {
  const startMs = Date.parse(rec.start);
  const at = (iso) => Date.parse(iso) - startMs;
  const all = [
    ...rec.segments.map((s, index) => ({ kind: "segment", index, segment: s, from: at(s.start), to: at(s.end) })),
    ...rec.gaps.map((g) => ({ kind: "gap", span: g, from: at(g.start), to: at(g.end) })),
    ...rec.overlaps.map((o) => ({ kind: "overlap", span: o, from: at(o.start), to: at(o.end) })),
  ];
  const order = { segment: 0, gap: 1, overlap: 2 };
  return all.sort((a, b) => a.from - b.from || order[a.kind] - order[b.kind]);
}

function nameOf(rec, evidenceId) {
  const found = rec.segments.find((s) => s.evidence_id === evidenceId);
  return found ? found.original_name : evidenceId;
}

function timelineDrawing(rec, onSegment) {
  const span = Math.max(rec.span_ms, 1);
  const hatch = svg("pattern", { id: "gap-hatch", patternUnits: "userSpaceOnUse", width: 8, height: 8,
    patternTransform: "rotate(45)" },
  svg("rect", { width: 8, height: 8, class: "tl-gap-paper" }),
  svg("line", { x1: 0, y1: 0, x2: 0, y2: 8, class: "tl-gap-line" }));
  const overlapHatch = svg("pattern", { id: "overlap-hatch", patternUnits: "userSpaceOnUse", width: 6, height: 6,
    patternTransform: "rotate(-45)" },
  svg("rect", { width: 6, height: 6, class: "tl-overlap-paper" }),
  svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "tl-overlap-line" }));
  const shapes = [];
  const labels = [];
  rec.segments.forEach((s, index) => {
    const rect = svg("rect", { x: percent(s.joined_offset_ms, span), y: 10, height: 30,
      width: percent(Math.max(s.duration_ms, span / 400), span),
      class: `tl-seg ${index % 2 ? "tl-seg-b" : "tl-seg-a"}${s.in_joined_file ? "" : " tl-seg-alone"}`,
      "data-evidence-id": s.evidence_id },
    svg("title", {}, s.original_name));
    rect.addEventListener("click", () => onSegment(s));
    shapes.push(rect);
  });
  rec.gaps.forEach((g, index) => {
    const from = Date.parse(g.start) - Date.parse(rec.start);
    shapes.push(svg("rect", { x: percent(from, span), y: 10, height: 30,
      width: percent(Math.max(g.milliseconds, span / 400), span), fill: "url(#gap-hatch)", class: "tl-gap",
      "data-gap": index }));
    labels.push(svg("text", { x: percent(from + g.milliseconds / 2, span), y: 56, "text-anchor": "middle",
      class: "tl-label tl-gap-label" }, t("gap {length}", { length: seconds(g.milliseconds) })));
  });
  rec.overlaps.forEach((o, index) => {
    const from = Date.parse(o.start) - Date.parse(rec.start);
    shapes.push(svg("rect", { x: percent(from, span), y: 2, height: 38,
      width: percent(Math.max(o.milliseconds, span / 400), span), fill: "url(#overlap-hatch)",
      class: "tl-overlap", "data-overlap": index }));
    labels.push(svg("text", { x: percent(from + o.milliseconds / 2, span), y: 72, "text-anchor": "middle",
      class: "tl-label tl-overlap-label" }, t("overlap {length}", { length: seconds(o.milliseconds) })));
  });
  const marker = svg("line", { id: "timeline-marker", x1: "0%", x2: "0%", y1: 0, y2: 44, class: "tl-marker",
    visibility: "hidden" });
  const summary = t("Timeline of the recording: {segments} segments, {gaps} gaps, {overlaps} overlaps. Each is listed below.",
    { segments: rec.segments.length, gaps: rec.gaps.length, overlaps: rec.overlaps.length });
  const drawing = svg("svg", { id: "timeline", class: "timeline", width: "100%", height: rec.overlaps.length ? 78 : 62,
    role: "img", "aria-label": summary },
  svg("defs", {}, hatch, overlapHatch), svg("rect", { x: 0, y: 10, width: "100%", height: 30, class: "tl-track" }),
  shapes, labels, marker);
  const axis = h("div", { class: "tl-axis", "aria-hidden": "true" },
    h("span", {}, clockText(rec.start)), h("span", {}, zoneLabel()), h("span", {}, clockText(rec.end)));
  const legend = h("ul", { class: "tl-legend", "aria-hidden": "true" },
    h("li", {}, h("span", { class: "swatch swatch-seg" }), t("recorded")),
    h("li", {}, h("span", { class: "swatch swatch-gap" }), t("gap: nothing was recorded")),
    rec.overlaps.length ? h("li", {}, h("span", { class: "swatch swatch-overlap" }), t("overlap: two segments recorded the same time")) : null);
  return { node: h("div", { class: "timeline-box" }, drawing, axis, legend), marker };
}

function pieceList(rec, onSegment, playable) {
  const rows = pieces(rec).map((p) => {
    if (p.kind === "segment") {
      const s = p.segment;
      let action = MISSING;
      if (playable && s.in_joined_file) {
        const button = h("button", { type: "button", class: "secondary",
          "aria-label": t("Play from {name}", { name: s.original_name }) }, t("Play from here"));
        button.addEventListener("click", () => onSegment(s));
        action = button;
      } else if (!s.in_joined_file) {
        action = h("span", { class: "note" }, t("plays only on its own page"));
      }
      return [h("span", {}, t("Segment {number}", { number: p.index + 1 }), ": ",
        link(`/evidence/${s.evidence_id}`, s.original_name)),
      timeNode(s.start), timeNode(s.end), cell(seconds(s.duration_ms), "num"), action];
    }
    if (p.kind === "gap") {
      return [h("strong", { class: "gap-text" }, t("Gap: nothing was recorded")),
        timeNode(p.span.start), timeNode(p.span.end), cell(seconds(p.span.milliseconds), "num"), MISSING];
    }
    return [h("strong", { class: "overlap-text" }, t("Overlap: {earlier} and {later} both recorded this time; the joined file shows {later}",
      { earlier: nameOf(rec, p.span.earlier_evidence_id), later: nameOf(rec, p.span.later_evidence_id) })),
    timeNode(p.span.start), timeNode(p.span.end), cell(seconds(p.span.milliseconds), "num"), MISSING];
  });
  return table({ id: "timeline-list", caption: t("Segments, gaps and overlaps, in time order"),
    columns: [t("What"), t("Start"), t("End"), t("Length"), t("Action")], rows });
}

// What is shown at `ms` into the joined file: the gap it lies in, else the segment shown.
function whatIsAt(rec, ms) {
  const startMs = Date.parse(rec.start);
  for (const g of rec.gaps) {
    if (ms >= Date.parse(g.start) - startMs && ms < Date.parse(g.end) - startMs) return { gap: g };
  }
  let shown = null;
  for (const s of rec.segments) {
    if (s.in_joined_file && ms >= s.joined_offset_ms && ms < s.joined_offset_ms + Math.max(s.shown_ms, 1)) shown = s;
  }
  if (!shown && ms >= rec.span_ms) shown = [...rec.segments].reverse().find((s) => s.in_joined_file) || null;
  return { segment: shown };
}

function playerSection(rec, marker) {
  const user = session.user;
  if (!can.play(user)) {
    return { node: section("playback-h", t("Playback"), h("p", {}, t("Your role does not include playing footage."))), seek: null };
  }
  if (!rec.joined_playable) {
    const missing = rec.segments.filter((s) => s.in_joined_file && !s.playback).map((s) => s.original_name);
    return { node: section("playback-h", t("Playback"), h("p", { id: "not-playable" },
      t("The whole recording cannot be played yet: these segments have no playback copy: {names}.",
        { names: missing.join(", ") }))), seek: null };
  }
  if (session.mode === "token") {
    return { node: section("playback-h", t("Playback"), h("p", { id: "player-needs-session" },
      t("The player needs a sign-in with your name and password; a machine token cannot open it."))), seek: null };
  }
  const startMs = Date.parse(rec.start);
  const span = Math.max(rec.span_ms, 1);
  const reason = h("input", { id: "view-reason", name: "reason", maxlength: "500", autocomplete: "off" });
  const button = h("button", { type: "submit" }, t("Play"));
  const video = h("video", { id: "player", controls: true, preload: "auto", playsinline: true, hidden: true,
    "aria-label": t("The whole recording, joined on the wall clock") });
  const clock = h("time", { id: "wall-clock-time" }, MISSING);
  const what = h("span", { id: "wall-clock-what" });
  const position = h("p", { id: "wall-clock", class: "wall-clock", hidden: true },
    h("span", { class: "wall-clock-label" }, t("Recorded at")), " ", clock, " ", what);
  let opened = null;
  const playbackUrl = () => apiUrl(`/recordings/${encodeURIComponent(rec.id)}/playback`, { reason: reason.value.trim() });

  const show = () => {
    const ms = Math.round(video.currentTime * 1000);
    const instant = new Date(startMs + ms);
    clock.setAttribute("datetime", instant.toISOString());
    clock.replaceChildren(h("span", { class: "nowrap" }, clockText(instant.toISOString())), " ",
      h("span", { class: "zone" }, zoneLabel()));
    const here = whatIsAt(rec, ms);
    what.className = here.gap ? "in-gap" : "";
    what.textContent = here.gap
      ? t("— a gap of {length}: nothing was recorded; the picture is black", { length: seconds(here.gap.milliseconds) })
      : here.segment ? t("— segment {name}", { name: here.segment.original_name }) : "";
    marker.setAttribute("x1", percent(ms, span));
    marker.setAttribute("x2", percent(ms, span));
    marker.setAttribute("visibility", "visible");
  };
  for (const event of ["timeupdate", "seeked", "pause", "loadedmetadata"]) video.addEventListener(event, show);

  // Opens the joined file (one viewing session, logged per segment); resolves when it can seek.
  const open = () => {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const url = playbackUrl();
        video.hidden = false;
        position.hidden = false;
        video.addEventListener("loadedmetadata", () => resolve(), { once: true });
        video.addEventListener("error", () => {
          opened = null;
          reject(new Error("media error"));
        }, { once: true });
        video.src = url.pathname + url.search; // the session cookie authenticates the player
      });
    }
    return opened;
  };
  // The player says only that it failed; the API says why, in the person's language (the
  // same request as the player's: a refusal opens no session, a success joins the player's).
  const explain = async () => {
    const url = playbackUrl();
    const response = await api(url.pathname.slice(API.length), {
      query: Object.fromEntries(url.searchParams), accept: "response", headers: { Range: "bytes=0-0" } });
    await response.body.cancel();
    throw new ApiError(0, "media_error", t("The browser could not play the joined recording."),
      t("Play the segments one by one from their own pages, or try another browser."));
  };
  const play = async (ms) => {
    try {
      await open();
    } catch (err) {
      await explain();
    }
    video.currentTime = ms / 1000;
    video.focus();
    video.play().catch(() => undefined); // the browser may want a further click to start sound
  };
  const form = h("form", { id: "play-form", class: "inline" },
    field(t("Reason for viewing (optional)"), reason, t("Recorded in the custody log with your name.")), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(button, () => play(video.currentTime * 1000));
  });
  return {
    node: section("playback-h", t("Playback"),
      h("p", {}, t("The segments play as one file on the wall clock: a gap plays as a black picture for as long as it lasted, so every time after it stays true. Opening the player records a custody event for each segment, naming you.")),
      form, video, position),
    seek: (segment) => act(null, () => play(segment.joined_offset_ms)),
  };
}

async function recordingView(view, { params }) {
  const rec = await api(`/recordings/${params.id}`);
  let seek = null;
  const onSegment = (segment) => {
    if (seek && segment.in_joined_file) seek(segment);
  };
  const drawing = timelineDrawing(rec, onSegment);
  const player = playerSection(rec, drawing.marker);
  seek = player.seek;
  const missing = rec.missing_sequences.map(([from, to]) => (from === to ? String(from) : `${from}–${to}`));
  view.append(
    h("p", { class: "back" }, link("/evidence", t("← All evidence"))),
    h("h1", {}, rec.device ? t("Recording of recorder {serial}", { serial: rec.device }) : t("Recording")),
    definitions([
      [t("Started"), timeNode(rec.start)],
      [t("Ended"), timeNode(rec.end)],
      [t("Length on the wall clock"), duration(rec.span_ms)],
      [t("Segments"), number(rec.segments.length)],
      [t("Gaps"), rec.gaps.length
        ? rec.gaps.map((g) => seconds(g.milliseconds)).join(", ") : t("none")],
      [t("Overlaps"), rec.overlaps.length
        ? rec.overlaps.map((o) => seconds(o.milliseconds)).join(", ") : t("none")],
      [t("Missing segment numbers"), missing.length ? missing.join(", ") : t("none")],
      [t("Recording ID"), h("code", {}, rec.id)],
    ]),
    section("timeline-h", t("Timeline"), drawing.node, pieceList(rec, onSegment, Boolean(seek))),
    player.node);
}

route({ path: "/recordings/:id", view: recordingView, allow: can.readEvidence });
