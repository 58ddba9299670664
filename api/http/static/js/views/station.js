// The station screen: one tile per docked recorder (a dock port) of the docking stations
// the person may see, live. The tiles are the ones the terminal table of `evidence dock`
// shows (domain/station.py PortStatus), read from GET /api/v1/stations/events: a
// `snapshot`, then a `tile` for each change and a `remove` when a recorder is taken out;
// the browser reconnects by itself with Last-Event-ID (the stream's `retry:`), and the
// server ends each stream with an `end` event saying why.
//
// Made for a monitor across the room (large type; a "monitor mode" hides the header) and
// for a phone. A problem is said from its code (domain/station.py PROBLEMS) in the page's
// language; finished and failed docks are announced politely, never every byte.

import { ApiError, act, api, apiUrl, fill, h, onLeave, route } from "../core.js";
import { number, t } from "../i18n.js";
import { MISSING, isMissing } from "../format.js";
import { can } from "../roles.js";
import { timeNode } from "../time.js";

const MONITOR_KEY = "evidence.stationMonitor";
const FINISHED = new Set(["done", "incomplete", "failed", "stopped"]);
const RECONNECT_MS = [3000, 6000, 15000, 30000]; // after a stream the browser gave up on

// Every state a tile can be in (domain/station.py PortState), in words.
const STATES = {
  docked: () => t("Docked, reading its files"),
  transferring: () => t("Copying"),
  retrying: () => t("Waiting to try again"),
  wiping: () => t("Wiping the recorder"),
  done: () => t("Done"),
  incomplete: () => t("Finished with problems"),
  failed: () => t("Failed"),
  stopped: () => t("Stopped"),
  removed: () => t("Taken out"),
  online: () => t("Running"),
  offline: () => t("Not running"),
};

// What happens to the files on the recorder (domain/station.py WipeState).
const WIPES = {
  off: () => t("Kept on the recorder (this station does not wipe)"),
  waiting: () => t("Wiped once every file is stored"),
  wiping: () => t("Wiping now"),
  done: () => t("Wiped: every stored file was deleted from the recorder"),
  partial: () => t("Partly wiped: some files stay on the recorder"),
};

// Every problem code of domain/station.py PROBLEMS, said in the page's language. The
// English text is the server's sentence, word for word (tests/test_pages_station.py
// checks), so the catalogue translates it; {name} are the problem's parameters.
const PROBLEMS = {
  store_unreachable: (p) => t("The evidence store or the database cannot be reached. {files} file(s) will be tried again (attempt {attempt}); nothing is deleted from the recorder meanwhile.", p),
  storage_failed: (p) => t("The evidence store or the database refused the work. The files stay on the recorder; tell the administrator.", p),
  recorder_unplugged: (p) => t("The recorder was unplugged before its files were copied. Plug it in again to finish.", p),
  recorder_refused: (p) => t("The recorder refused the station's request. Dock it again.", p),
  recorder_password_refused: (p) => t("The recorder refused the station's password. The administrator must set the station's recorder password.", p),
  recorder_volume_timeout: (p) => t("The recorder's storage did not appear. Unplug the recorder and dock it again.", p),
  recorder_failed: (p) => t("The recorder could not be read. Unplug it and dock it again.", p),
  wipe_not_logged: (p) => t("{path} was deleted from the recorder after its copy was stored, but the deletion could not be logged yet. The copy is safe; tell the administrator.", p),
  station_stopped: (p) => t("The station stopped before every file was copied. What is left stays on the recorder for the next dock.", p),
  failed: (p) => t("Docking failed; the files stay on the recorder. Dock it again, and tell the administrator if this repeats.", p),
  unexpected: (p) => t("An unexpected error ({kind}) stopped the dock; the files stay on the recorder. Tell the administrator.", p),
  file_unplugged: (p) => t("The recorder was unplugged while {path} was copied; it stays on the recorder.", p),
  file_unreadable: (p) => t("{path} could not be read from the recorder; it stays on the recorder.", p),
  file_changed: (p) => t("{path} changed while it was copied; it stays on the recorder for the next dock.", p),
  file_copy_mismatch: (p) => t("The stored copy of {path} did not match the recorder's file; it stays on the recorder for the next dock.", p),
  file_refused: (p) => t("{path} was not copied: its name or place on the recorder is not allowed.", p),
  file_store_failed: (p) => t("{path} could not be stored; it stays on the recorder.", p),
  file_abandoned: (p) => t("The station stopped while {path} was copied; it stays on the recorder for the next dock.", p),
  file_failed: (p) => t("{path} could not be copied; it stays on the recorder.", p),
  file_unexpected: (p) => t("An unexpected error while copying {path}; it stays on the recorder. Tell the administrator.", p),
};

export function problemText(problem) {
  if (!problem) return null;
  const say = PROBLEMS[problem.code];
  const params = Object.fromEntries(Object.entries(problem.params || {})
    .map(([name, value]) => [name, typeof value === "number" ? number(value) : String(value)]));
  return say ? say(params) : problem.message; // a code newer than this page: the server's English
}

function stateName(state) {
  return STATES[state] ? STATES[state]() : String(state);
}

// 1536 -> "1.5 KB": sizes for a screen read from across the room.
function size(count) {
  if (typeof count !== "number" || !Number.isFinite(count)) return MISSING;
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 ? number(value) : value.toLocaleString(document.documentElement.lang || "en",
    { maximumFractionDigits: 1, minimumFractionDigits: value < 10 ? 1 : 0 });
  return `${shown} ${units[unit]}`;
}

function officerLabel(tile) {
  if (tile.officer_name && tile.officer_no) return t("{name} ({number})", { name: tile.officer_name, number: tile.officer_no });
  if (tile.officer_name) return tile.officer_name;
  if (tile.officer_no) return t("Officer {number}", { number: tile.officer_no });
  return t("Unknown officer");
}

function recorderLabel(tile) {
  return tile.device_serial || tile.port;
}

const keyOf = (tile) => `${tile.station}\u0000${tile.port}`;

// ---------------------------------------------------------------- the view

async function stationScreen(view) {
  const tiles = new Map(); // key -> tile
  let skew = 0; // the server's clock minus this browser's (from the snapshot's `now`)
  let source = null;
  let retryTimer = null;
  let failures = 0;
  let over = false; // the person left, or the stream may not be followed any more
  let quietEnd = false; // the server ended the stream and the browser reconnects: no alarm

  const connection = h("p", { id: "station-connection", class: "connection connecting" }, t("Connecting…"));
  const news = h("p", { id: "station-news", class: "station-news", role: "status", "aria-live": "polite" });
  const board = h("div", { id: "station-tiles", class: "stations" });
  const monitor = h("button", { type: "button", id: "monitor-mode", class: "secondary", "aria-pressed": "false" },
    t("Monitor mode"));

  const now = () => Date.now() + skew;

  function setConnection(kind, text) {
    connection.className = `connection ${kind}`;
    connection.textContent = text;
  }

  // ---- monitor mode: no header, larger tiles; full screen where the browser allows it
  function useMonitor(on) {
    document.body.classList.toggle("monitor", on);
    monitor.setAttribute("aria-pressed", on ? "true" : "false");
    localStorage.setItem(MONITOR_KEY, on ? "1" : "0");
    const full = document.fullscreenElement;
    if (on && !full && document.fullscreenEnabled) {
      document.documentElement.requestFullscreen().catch(() => {}); // refused: the page mode alone
    } else if (!on && full) {
      document.exitFullscreen().catch(() => {});
    }
  }
  monitor.addEventListener("click", () => useMonitor(monitor.getAttribute("aria-pressed") !== "true"));
  const escape = (event) => {
    if (event.key === "Escape" && document.body.classList.contains("monitor")) useMonitor(false);
  };
  const fullscreenLeft = () => {
    if (!document.fullscreenElement && document.body.classList.contains("monitor")) useMonitor(false);
  };
  document.addEventListener("keydown", escape);
  document.addEventListener("fullscreenchange", fullscreenLeft);

  // ---- drawing
  function countdown(tile) {
    if (tile.state !== "retrying" || !tile.retry_at) return null;
    return h("p", { class: "countdown", "data-retry-at": tile.retry_at }, countdownText(tile.retry_at));
  }

  function countdownText(retryAt) {
    const seconds = Math.ceil((Date.parse(retryAt) - now()) / 1000);
    return seconds > 0 ? t("Trying again in {seconds} s", { seconds: number(seconds) }) : t("Trying again now…");
  }

  function progress(tile) {
    const total = Math.max(tile.files_total, 0);
    const done = Math.min(Math.max(tile.files_done, 0), total);
    const text = t("{done} of {total} files", { done: number(done), total: number(total) });
    return h("div", { class: "files" },
      h("p", { class: "files-count" }, text),
      h("progress", {
        class: "files-bar", role: "progressbar", max: String(Math.max(total, 1)), value: String(done),
        "aria-label": t("Files copied"), "aria-valuemin": "0", "aria-valuemax": String(total),
        "aria-valuenow": String(done), "aria-valuetext": text,
      }, text));
  }

  function fact(term, value, className) {
    return [h("dt", {}, term), h("dd", { class: className || null }, isMissing(value) ? MISSING : value)];
  }

  function portTile(tile) {
    const id = `tile-h-${tile.sequence}`;
    const moving = tile.state === "transferring" || tile.state === "wiping";
    const problem = problemText(tile.problem);
    return h("article", {
      class: `tile state-${tile.state}`, "aria-labelledby": id, "data-station": tile.station,
      "data-port": tile.port, "data-serial": tile.device_serial || null, "data-state": tile.state,
    },
    h("h3", { id, class: "tile-officer" }, officerLabel(tile)),
    h("p", { class: "tile-recorder" }, t("Recorder {serial}", { serial: recorderLabel(tile) })),
    h("p", { class: "tile-state" }, stateName(tile.state)),
    progress(tile),
    h("dl", { class: "tile-facts" },
      fact(t("Data"), t("{done} of {total}", { done: size(tile.bytes_done), total: size(tile.bytes_total) }), "tile-bytes"),
      fact(t("Speed"), moving && tile.rate > 0 ? t("{size}/s", { size: size(Math.round(tile.rate)) }) : null, "tile-rate"),
      tile.files_failed > 0 ? fact(t("Left on the recorder"), t("{count} file(s)", { count: number(tile.files_failed) }), "tile-failed") : null,
      fact(t("Wipe"), WIPES[tile.wipe] ? WIPES[tile.wipe]() : tile.wipe, "tile-wipe"),
      fact(t("Docked at"), timeNode(tile.started_at)),
      fact(t("Last change"), timeNode(tile.updated_at))),
    problem ? h("p", { class: "tile-problem" }, problem) : null,
    countdown(tile));
  }

  // The station's own tile (not shown to officers): running, not running, or silent.
  const isStale = (own) => own.state === "online" && Boolean(own.stale_after) && Date.parse(own.stale_after) < now();
  let staleShown = "";

  function staleStations() {
    return [...tiles.values()].filter((tile) => tile.kind === "station" && isStale(tile))
      .map(keyOf).sort().join("\n");
  }

  function stationState(own) {
    if (!own) return null;
    const stale = isStale(own);
    return h("p", { class: `station-state station-${stale ? "stale" : own.state}` },
      t("Station: {state}", { state: stale ? t("Not responding") : stateName(own.state) }));
  }

  function draw() {
    staleShown = staleStations();
    const byStation = new Map();
    for (const tile of tiles.values()) {
      if (!byStation.has(tile.station)) byStation.set(tile.station, { own: null, ports: [] });
      const entry = byStation.get(tile.station);
      if (tile.kind === "station") entry.own = tile;
      else entry.ports.push(tile);
    }
    const names = [...byStation.keys()].sort((a, b) => a.localeCompare(b));
    const ports = names.reduce((count, name) => count + byStation.get(name).ports.length, 0);
    fill(board,
      ports === 0 ? h("p", { id: "no-recorders", class: "empty" }, t("No recorder is docked at the stations you can see.")) : null,
      names.map((name, i) => {
        const { own, ports: list } = byStation.get(name);
        const heading = `station-h-${i}`;
        list.sort((a, b) => a.port.localeCompare(b.port));
        return h("section", { class: "station", "aria-labelledby": heading, "data-station": name },
          h("h2", { id: heading }, t("Station {name}", { name })),
          stationState(own),
          list.length ? h("div", { class: "tiles" }, list.map(portTile)) : null);
      }));
  }

  function tick() {
    if (staleStations() !== staleShown) draw(); // a station that stopped reporting
    for (const node of board.querySelectorAll("[data-retry-at]")) {
      const text = countdownText(node.getAttribute("data-retry-at"));
      if (node.textContent !== text) node.textContent = text;
    }
  }

  // ---- what changed, and what to announce
  function announce(before, tile) {
    if (!FINISHED.has(tile.state) || (before && before.state === tile.state)) return;
    const who = officerLabel(tile);
    const serial = recorderLabel(tile);
    let text;
    if (tile.state === "done") {
      text = t("{officer}: recorder {serial} is done, {done} of {total} files stored.",
        { officer: who, serial, done: number(tile.files_done), total: number(tile.files_total) });
    } else if (tile.state === "incomplete") {
      text = t("{officer}: recorder {serial} finished with problems; files left on the recorder: {count}.",
        { officer: who, serial, count: number(tile.files_failed) });
    } else if (tile.state === "failed") {
      text = t("{officer}: docking recorder {serial} failed.", { officer: who, serial });
    } else {
      text = t("{officer}: docking recorder {serial} stopped.", { officer: who, serial });
    }
    news.textContent = text;
  }

  function snapshot(body) {
    skew = Date.parse(body.now) - Date.now();
    if (!Number.isFinite(skew)) skew = 0;
    tiles.clear();
    for (const tile of body.tiles) tiles.set(keyOf(tile), tile);
    draw();
  }

  function changed(tile) {
    const before = tiles.get(keyOf(tile));
    tiles.set(keyOf(tile), tile);
    if (tile.kind !== "station") announce(before, tile);
    draw();
  }

  function removed(gone) {
    if (tiles.delete(`${gone.station}\u0000${gone.port}`)) draw();
  }

  const read = (handler) => (event) => {
    if (over) return;
    let body;
    try {
      body = JSON.parse(event.data);
    } catch (err) {
      console.error("an event the station screen cannot read", err);
      return;
    }
    handler(body);
  };

  // ---- the stream
  function live() {
    failures = 0;
    quietEnd = false;
    setConnection("live", t("Live"));
  }

  function lost() {
    setConnection("lost", t("Connection lost; reconnecting…"));
  }

  function stop() {
    over = true;
    if (source) source.close();
    source = null;
    clearTimeout(retryTimer);
  }

  // The browser gave up on the stream (refused, or not a stream): ask why, then either
  // sign in again, say the screen is not theirs, or open a new stream after a while.
  async function giveUp() {
    if (source) source.close();
    source = null;
    try {
      snapshot(await api("/stations"));
    } catch (err) {
      if (over) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        stop();
        setConnection("closed", err.status === 401 ? t("Signed out") : t("This station screen is not open to you."));
        act(null, () => Promise.reject(err)); // 401: to the sign-in page; 403: the API's words
        return;
      }
    }
    if (over) return;
    // the tiles are the server's now; the stream itself is tried again after a while
    lost();
    retryTimer = setTimeout(open, RECONNECT_MS[Math.min(failures++, RECONNECT_MS.length - 1)]);
  }

  function open() {
    if (over) return;
    const stream = new EventSource(apiUrl("/stations/events"), { withCredentials: true });
    source = stream;
    stream.addEventListener("open", () => {
      if (source === stream && !over) live();
    });
    stream.addEventListener("snapshot", read((body) => {
      live();
      snapshot(body);
    }));
    stream.addEventListener("tile", read(changed));
    stream.addEventListener("remove", read(removed));
    stream.addEventListener("end", read((body) => {
      const reason = body.reason;
      if (reason === "signed_out" || reason === "forbidden") {
        giveUp();
      } else if (reason === "lifetime") {
        quietEnd = true; // the browser reconnects at once, with Last-Event-ID
      } else {
        lost(); // shutdown, unavailable: the browser reconnects after the stream's retry
      }
    }));
    stream.addEventListener("error", () => {
      if (source !== stream || over) return;
      if (stream.readyState === EventSource.CLOSED) {
        giveUp();
      } else if (quietEnd) {
        quietEnd = false; // the expected end of a stream; a failed reconnect is not
      } else {
        lost();
      }
    });
  }

  onLeave(() => {
    stop();
    clearInterval(clock);
    document.removeEventListener("keydown", escape);
    document.removeEventListener("fullscreenchange", fullscreenLeft);
    document.body.classList.remove("monitor");
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  });
  const clock = setInterval(tick, 1000);

  view.append(
    h("div", { class: "station-head" },
      h("h1", {}, t("Station screen")),
      h("div", { class: "station-tools" }, connection, monitor)),
    h("p", { class: "lead" }, t("Every recorder docked at your stations, as it happens.")),
    news,
    board);
  if (localStorage.getItem(MONITOR_KEY) === "1") {
    document.body.classList.add("monitor");
    monitor.setAttribute("aria-pressed", "true");
  }
  open();
}

route({ path: "/station", view: stationScreen, allow: can.stationScreen,
  nav: { label: () => t("Station screen"), order: 40 }, home: (user) => user.role === "clerk" });
