// Helpers shared by the pages that join a room (the games' pages and the inspector): the query
// string, joining through the SDK, the HUD and message box, the canvas, and `window.tickwire`,
// the state an end-to-end test reads after every animation frame.

/** A room name as the server takes it. */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,32}$/;

const BUILD_HINT = "bash assets/web/build.sh";

let watching = false; // whether the page joined as a spectator (for the HUD)

/** What a page was asked for: `?room= ?name= ?token= ?spectator=1 ?game= ?scenario=`. */
export function pageParams(search = location.search) {
  const query = new URLSearchParams(search);
  const flag = query.get("spectator");
  return {
    room: query.get("room") || "",
    name: query.get("name") || "",
    token: query.get("token") || "",
    spectator: flag !== null && flag !== "0" && flag !== "false",
    game: query.get("game") || "",
    scenario: query.get("scenario") || "",
  };
}

// Until a client exists a test sees "loading" (or the error that stopped the page).
window.tickwire = { status: "loading", connected: false, frames: 0 };

// ---- messages and the HUD -----------------------------------------------------------------

/** Shows a message over the page; a part `{code: "..."}` is shown as code, others as text. */
export function showMessage(...parts) {
  const box = document.getElementById("message");
  if (!box) return;
  box.replaceChildren(...parts.map((part) => {
    if (typeof part !== "object") return document.createTextNode(String(part));
    const code = document.createElement("code");
    code.textContent = part.code;
    return code;
  }));
  box.hidden = false;
}

export function hideMessage() {
  const box = document.getElementById("message");
  if (box) box.hidden = true;
}

/** Writes the HUD: the connection's lines (from a `publish`ed state), then the page's own. */
export function setHud(client, state, lines = []) {
  const hud = document.getElementById("hud");
  if (!hud) return;
  const params = pageParams();
  const ms = (v) => (v === null || v === undefined ? "-" : v.toFixed(1) + " ms");
  hud.textContent = [
    `tickwire    room ${params.room || "default"}  ${watching ? "watching as " : "name "}${client.name}`,
    `game        ${state.game ?? "-"}${state.predicted && state.player_id !== null ? " (own player predicted)" : ""}`,
    `status      ${state.status}`,
    `ping        ${ms(state.ping_ms)}`,
    `tick        ${state.tick ?? "-"}`,
    `down        ${(state.bytes_per_sec / 1000).toFixed(1)} kB/s`,
    `corrections ${state.corrections}`,
    `desyncs     ${state.desyncs}`,
    ...lines,
  ].join("\n");
}

/** Stops the page with `status` (an "error: ..." string) and a message. */
function fail(status, ...message) {
  window.tickwire = { ...window.tickwire, status, connected: false };
  const hud = document.getElementById("hud");
  if (hud) hud.textContent = "status      " + status;
  showMessage(...message);
}

// ---- joining ------------------------------------------------------------------------------

/**
 * Loads the SDK (and a game's module) with `load`, an async function returning `{sdk, module}`
 * (module: a game's own wasm module, or undefined for the SDK's generic one), then joins the
 * room the query string names; `overrides` change the join options. Resolves to
 * `{client, sdk, module}`, or null when the page cannot start (it then shows why).
 */
export async function join(load, overrides = {}) {
  const params = pageParams();
  if (params.room && !ROOM_NAME.test(params.room)) {
    fail("error: invalid room name", "A room name is 1 to 32 of A-Z a-z 0-9 - _ (from ?room=NAME).");
    return null;
  }
  let sdk, module;
  try {
    // Imported here rather than statically so that a missing wasm build shows a message
    // instead of a blank page: the SDK imports its wasm glue itself.
    ({ sdk, module } = await load());
    // Initializes the wasm now, so its failure is told apart from a failure to connect.
    if (module) await module.default();
  } catch (error) {
    notBuilt(error);
    return null;
  }
  const options = {
    room: params.room || undefined,
    game: params.game || undefined,
    scenario: params.scenario || undefined,
    name: params.name || undefined,
    token: params.token || undefined,
    spectator: params.spectator,
    module,
    ...overrides,
  };
  watching = options.spectator;
  let client;
  try {
    client = await sdk.connect(options);
  } catch (error) {
    // The SDK's generic wasm loads only here, so a build missing it fails here too.
    if (error instanceof WebAssembly.CompileError || /wasm/i.test(errorText(error))) {
      notBuilt(error);
    } else {
      console.error("joining failed:", error);
      fail("error: " + errorText(error), "Cannot start: " + errorText(error) + ".");
    }
    return null;
  }
  client.addEventListener("status", () => explainStatus(client));
  explainStatus(client);
  return { client, sdk, module };
}

function notBuilt(error) {
  console.error("loading the wasm modules failed:", error);
  fail("error: the wasm modules are not built (" + errorText(error) + ")",
    "The wasm modules did not load: run ", { code: BUILD_HINT }, ", then reload.");
}

function errorText(error) {
  return String(error?.message ?? error);
}

// Tells the player why the room is gone (refused, closed, broken); hides that once playing.
function explainStatus(client) {
  const status = client.status;
  if (status === "playing") hideMessage();
  else if (status.startsWith("rejected: ")) showMessage("The server refused to join: " + status.slice(10) + ".");
  else if (status.startsWith("closed: ")) showMessage("Connection closed (" + status.slice(8) + "). Reload to join again.");
  else if (status.startsWith("error: ")) showMessage("The server broke the protocol: " + status.slice(7) + ".");
}

// ---- every frame --------------------------------------------------------------------------

/**
 * Sets `window.tickwire` from the client's counters plus the page's `extra` (its drawn counts,
 * `me` and so on); pages call it after every animation frame. Returns the new state.
 */
export function publish(client, extra = {}) {
  const stats = client.stats;
  window.tickwire = {
    status: stats.status,
    connected: stats.status === "playing",
    tick: stats.tick,
    desyncs: stats.desyncs,
    corrections: stats.corrections,
    ping_ms: stats.ping_ms,
    bytes_per_sec: stats.bytes_per_sec,
    player_id: stats.player_id,
    predicted: stats.predicted,
    redirects: stats.redirects,
    resumes: stats.resumes,
    game: client.schema?.game ?? null,
    entities_drawn: 0,
    frames: (window.tickwire?.frames ?? 0) + 1,
    ...extra,
  };
  return window.tickwire;
}

/**
 * The area a game's rules allow, from its module's `worldBounds(rules)` once welcomed (worked out
 * once); `fallback` before, or when the rules are not that game's.
 */
export function worldBoundsOf(client, module, fallback) {
  let bounds = null;
  return () => {
    if (!bounds && client.schema) {
      const b = module.worldBounds(Uint8Array.from(client.schema.rules));
      bounds = b.length === 4 ? Array.from(b) : fallback;
    }
    return bounds ?? fallback;
  };
}

/** Sends `input()` while the client plays with a player; a refused input is logged once. */
export function sendInput(client, input) {
  let refused = false;
  return () => {
    if (client.status !== "playing" || client.playerId === null) return;
    try {
      client.send(input());
    } catch (error) {
      if (!refused) console.error(`the ${client.schema?.game ?? "game"}'s input was refused:`, error);
      refused = true;
    }
  };
}

/** Calls `frame(now)` on every animation frame from now on. */
export function everyFrame(frame) {
  const loop = (now) => {
    frame(now);
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}

// ---- the canvas ---------------------------------------------------------------------------

/** Sizes the canvas's pixels to its CSS size (sharp on high-DPI screens); returns that size. */
export function fitCanvas(canvas, ctx) {
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { w: canvas.clientWidth, h: canvas.clientHeight };
}

/**
 * The world-to-screen mapping that shows `bounds` ([min_x, min_y, max_x, max_y]) plus `margin`
 * world units round it in a w x h canvas, keeping the aspect. World y grows down the screen.
 */
export function worldView(bounds, w, h, margin) {
  const x0 = bounds[0] - margin;
  const y0 = bounds[1] - margin;
  const vw = Math.max(1e-6, bounds[2] - bounds[0] + 2 * margin);
  const vh = Math.max(1e-6, bounds[3] - bounds[1] + 2 * margin);
  const scale = Math.max(1e-6, Math.min(w / vw, h / vh));
  const ox = (w - vw * scale) / 2;
  const oy = (h - vh * scale) / 2;
  return {
    scale,
    x: (wx) => ox + (wx - x0) * scale,
    y: (wy) => oy + (wy - y0) * scale,
  };
}
