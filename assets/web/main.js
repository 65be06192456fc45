// Tickwire's browser client. The wasm module (shared/web, built into ./pkg by
// `bash assets/web/build.sh`) is the sans-I/O ClientSession; this page owns the WebSocket, the
// clock, the keyboard and mouse, and the canvas.
//
// Coordinates: world x grows to the right and world y grows DOWN the canvas, so W / ArrowUp move
// toward -y, D / ArrowRight toward +x, and an aim of 0 points right, 16384 (a quarter turn) down.
//
// After every frame `window.tickwire` holds what the end-to-end test reads:
//   { status, connected, tick, me: {x, y} | null, players_drawn, drones_drawn, projectiles_drawn,
//     entities_drawn, desyncs, corrections, ping_ms, frames }

const STRIDE = 8; // floats per entity in WebClient.render: id, kind, x, y, aim, hp, score, is_me
const KIND_PLAYER = 0;
const KIND_DRONE = 1;
const KIND_PROJECTILE = 2;
const KIND_PROP = 3;
// Drawn radii in world units (assets/scenarios/arena.toml); the protocol does not carry them.
const RADIUS = [12, 14, 3, 8];
const DEFAULT_ARENA = [0, 0, 1000, 1000]; // until the Welcome says where players may go
const MARGIN = 24; // world units shown around the arena
const GRID = 50; // world units between grid lines
const FULL_MOVE = 127;
const TURN = 2 * Math.PI;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 4000;
// Snapshots come every tick: this long without a message means a half-open connection, which
// the browser might not report until long after the server's resume window has closed.
const SILENCE_MS = 3000;
const GAME_KEYS = new Set([
  "KeyW", "KeyA", "KeyS", "KeyD",
  "ArrowUp", "ArrowLeft", "ArrowDown", "ArrowRight",
  "Space",
]);

const params = new URLSearchParams(location.search);
const room = params.get("room") || "";
const name = params.get("name") || "web-" + String(Math.floor(Math.random() * 1e6)).padStart(6, "0");

const canvas = document.getElementById("view");
const ctx = canvas.getContext("2d");
const hud = document.getElementById("hud");
const messageBox = document.getElementById("message");

window.tickwire = {
  status: "loading",
  connected: false,
  tick: null,
  me: null,
  players_drawn: 0,
  drones_drawn: 0,
  projectiles_drawn: 0,
  entities_drawn: 0,
  desyncs: 0,
  corrections: 0,
  ping_ms: null,
  frames: 0,
};

// ---- connection -------------------------------------------------------------------------------

let WebClient = null; // the class, once the wasm module is loaded
let client = null;
let ws = null;
let pageStatus = null; // overrides client.status: "reconnecting", "closed: ...", "error: ..."
let resuming = false; // the current socket carries a resume Hello
let backoff = BACKOFF_MIN_MS;
let lastHeardAt = 0; // performance.now() of the latest message on the current socket

function showMessage(...parts) {
  messageBox.replaceChildren(...parts.map((part) => {
    if (typeof part !== "object") return document.createTextNode(String(part));
    const code = document.createElement("code");
    code.textContent = part.code;
    return code;
  }));
  messageBox.hidden = false;
}

function hideMessage() {
  messageBox.hidden = true;
}

function wsUrl() {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws" + (room ? "/" + room : "");
}

function newClient() {
  if (client) client.free();
  client = new WebClient(name);
  resuming = false;
}

function connect() {
  pageStatus = null;
  const socket = new WebSocket(wsUrl());
  socket.binaryType = "arraybuffer";
  ws = socket;
  socket.onopen = () => {
    if (ws === socket) flush();
  };
  socket.onmessage = (event) => {
    if (ws !== socket || !(event.data instanceof ArrayBuffer)) return;
    lastHeardAt = performance.now();
    try {
      client.receive(new Uint8Array(event.data), performance.now());
    } catch (error) {
      protocolError(socket, error);
      return;
    }
    if (client.status === "playing") {
      backoff = BACKOFF_MIN_MS;
      hideMessage();
    }
    flush();
  };
  socket.onclose = (event) => {
    if (ws === socket) onClose(event);
  };
}

// Sends every queued frame while the socket is open.
function flush() {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  for (let frame = client.poll_outgoing(); frame !== undefined; frame = client.poll_outgoing()) {
    ws.send(frame);
  }
}

function protocolError(socket, error) {
  const reason = String((error && error.message) || error);
  pageStatus = "error: " + reason;
  showMessage("The server broke the protocol: " + reason);
  // A close reason is at most 123 bytes; the session's messages are ASCII.
  socket.close(4000, reason.slice(0, 120));
  ws = null;
}

function onClose(event) {
  ws = null;
  const status = client.status;
  const rejected = status.startsWith("rejected");
  if (rejected && resuming) {
    // The resume came too late (or its token was used): join afresh.
    newClient();
    retry(0);
  } else if (event.code === 1006 && !rejected) {
    // Lost, not closed: resume the session on a new socket (same player, same world).
    if (client.reconnect()) {
      resuming = true;
    } else {
      newClient(); // never welcomed: nothing to resume
    }
    retry(backoff);
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  } else if (rejected) {
    showMessage("The server refused to join: " + status.slice("rejected: ".length) + ` (close code ${event.code})`);
  } else {
    pageStatus = `closed: ${event.code}${event.reason ? " " + event.reason : ""}`;
    showMessage(`Connection closed: code ${event.code}${event.reason ? ", " + event.reason : ""}. Reload to join again.`);
  }
}

// A welcomed connection that went silent is treated as lost: drop it and resume on a new one.
setInterval(() => {
  if (!ws || !client || client.status !== "playing") return;
  if (performance.now() - lastHeardAt < SILENCE_MS) return;
  const silent = ws;
  ws = null; // its own close event, whenever it comes, is ignored
  silent.close();
  onClose({ code: 1006, reason: "no message for " + SILENCE_MS / 1000 + " s" });
}, 500);

function retry(delay) {
  pageStatus = "reconnecting";
  setTimeout(connect, delay);
}

function status() {
  if (pageStatus) return pageStatus;
  return client ? client.status : "loading";
}

// ---- input ------------------------------------------------------------------------------------

const held = new Set();
let mouse = null; // {x, y} in CSS pixels
let mouseDown = false;
let meScreen = null; // the own player's screen position in the last frame
let aim = 0;

window.addEventListener("keydown", (event) => {
  if (!GAME_KEYS.has(event.code)) return;
  held.add(event.code);
  event.preventDefault();
});
window.addEventListener("keyup", (event) => {
  if (!GAME_KEYS.has(event.code)) return;
  held.delete(event.code);
  event.preventDefault();
});
window.addEventListener("blur", () => {
  held.clear();
  mouseDown = false;
});
window.addEventListener("mousemove", (event) => {
  mouse = { x: event.clientX, y: event.clientY };
});
window.addEventListener("mousedown", (event) => {
  if (event.button === 0) mouseDown = true;
  mouse = { x: event.clientX, y: event.clientY };
});
window.addEventListener("mouseup", (event) => {
  if (event.button === 0) mouseDown = false;
});

function axis(negative, positive) {
  return (positive ? FULL_MOVE : 0) - (negative ? FULL_MOVE : 0);
}

function controls() {
  const moveX = axis(held.has("KeyA") || held.has("ArrowLeft"), held.has("KeyD") || held.has("ArrowRight"));
  const moveY = axis(held.has("KeyW") || held.has("ArrowUp"), held.has("KeyS") || held.has("ArrowDown"));
  if (mouse && meScreen) {
    const dx = mouse.x - meScreen.x;
    const dy = mouse.y - meScreen.y;
    if (dx !== 0 || dy !== 0) {
      // Screen and world axes point the same way, so the screen angle is the world angle.
      aim = Math.round((Math.atan2(dy, dx) / TURN) * 65536) & 0xffff;
    }
  }
  return { moveX, moveY, aim, fire: mouseDown || held.has("Space") };
}

// ---- drawing ----------------------------------------------------------------------------------

const maxHp = [1, 1, 1, 1]; // the largest hp seen per kind: the full length of an hp bar
let bytesSample = { at: 0, bytes: 0 };
let downRate = 0;

function resize() {
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

// The world-to-screen mapping that fits `bounds` (plus a margin) in w x h, keeping the aspect.
function fit(bounds, w, h) {
  const x0 = bounds[0] - MARGIN;
  const y0 = bounds[1] - MARGIN;
  const vw = bounds[2] - bounds[0] + 2 * MARGIN;
  const vh = bounds[3] - bounds[1] + 2 * MARGIN;
  const scale = Math.max(1e-6, Math.min(w / vw, h / vh));
  const ox = (w - vw * scale) / 2;
  const oy = (h - vh * scale) / 2;
  return {
    scale,
    x: (wx) => ox + (wx - x0) * scale,
    y: (wy) => oy + (wy - y0) * scale,
  };
}

function drawArena(view, bounds) {
  const [x0, y0, x1, y1] = bounds;
  ctx.fillStyle = "#161b22";
  ctx.fillRect(view.x(x0), view.y(y0), (x1 - x0) * view.scale, (y1 - y0) * view.scale);
  ctx.strokeStyle = "#21262d";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let gx = Math.ceil(x0 / GRID) * GRID; gx <= x1; gx += GRID) {
    ctx.moveTo(view.x(gx), view.y(y0));
    ctx.lineTo(view.x(gx), view.y(y1));
  }
  for (let gy = Math.ceil(y0 / GRID) * GRID; gy <= y1; gy += GRID) {
    ctx.moveTo(view.x(x0), view.y(gy));
    ctx.lineTo(view.x(x1), view.y(gy));
  }
  ctx.stroke();
  ctx.strokeStyle = "#8b949e";
  ctx.lineWidth = 2;
  ctx.strokeRect(view.x(x0), view.y(y0), (x1 - x0) * view.scale, (y1 - y0) * view.scale);
}

function drawEntity(view, kind, x, y, aimTurns, hp, isMe) {
  const sx = view.x(x);
  const sy = view.y(y);
  const r = Math.max(kind === KIND_PROJECTILE ? 2 : 4, (RADIUS[kind] ?? 8) * view.scale);
  if (kind === KIND_PROJECTILE) {
    ctx.fillStyle = "#fde047";
    ctx.beginPath();
    ctx.arc(sx, sy, r, 0, TURN);
    ctx.fill();
    return;
  }
  if (kind === KIND_PROP) {
    ctx.fillStyle = "#6e7681";
    ctx.fillRect(sx - r, sy - r, 2 * r, 2 * r);
    return;
  }
  ctx.fillStyle = kind === KIND_DRONE ? "#f97316" : isMe ? "#a3e635" : "#60a5fa";
  ctx.beginPath();
  ctx.arc(sx, sy, r, 0, TURN);
  ctx.fill();
  if (isMe) {
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  // The aim line.
  const angle = aimTurns * TURN;
  ctx.strokeStyle = isMe ? "#ecfccb" : "#e5e7eb";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(sx, sy);
  ctx.lineTo(sx + Math.cos(angle) * r * 1.8, sy + Math.sin(angle) * r * 1.8);
  ctx.stroke();
  // The hp bar.
  maxHp[kind] = Math.max(maxHp[kind], hp);
  const frac = Math.min(1, hp / maxHp[kind]);
  ctx.fillStyle = "#30363d";
  ctx.fillRect(sx - r, sy - r - 7, 2 * r, 3);
  ctx.fillStyle = frac > 0.5 ? "#3fb950" : frac > 0.25 ? "#d29922" : "#f85149";
  ctx.fillRect(sx - r, sy - r - 7, 2 * r * frac, 3);
}

function draw(now) {
  const { w, h } = resize();
  ctx.fillStyle = "#0d1117";
  ctx.fillRect(0, 0, w, h);
  const arena = client ? client.arena : [];
  const bounds = arena.length === 4 ? Array.from(arena) : DEFAULT_ARENA;
  const view = fit(bounds, w, h);
  drawArena(view, bounds);

  const flat = client ? client.render(now) : new Float32Array(0);
  const drawn = [0, 0, 0, 0];
  let me = null;
  for (let i = 0; i + STRIDE <= flat.length; i += STRIDE) {
    const kind = flat[i + 1];
    if (flat[i + 7] === 1) {
      me = { id: flat[i], x: flat[i + 2], y: flat[i + 3], aim: flat[i + 4], hp: flat[i + 5], score: flat[i + 6] };
      continue; // drawn last, on top
    }
    drawEntity(view, kind, flat[i + 2], flat[i + 3], flat[i + 4], flat[i + 5], false);
    if (kind >= 0 && kind < drawn.length) drawn[kind] += 1;
  }
  if (me) {
    drawEntity(view, KIND_PLAYER, me.x, me.y, me.aim, me.hp, true);
    drawn[KIND_PLAYER] += 1;
    meScreen = { x: view.x(me.x), y: view.y(me.y) };
  } else {
    meScreen = null;
  }
  return { drawn, me, entities: flat.length / STRIDE };
}

function hudText(state, frame) {
  const fmt = (v, digits = 1) => (v === null ? "-" : v.toFixed(digits));
  const lines = [
    `tickwire    room ${room || "default"}  name ${name}`,
    `status      ${state.status}`,
    `ping        ${state.ping_ms === null ? "-" : fmt(state.ping_ms) + " ms"}`,
    `tick        ${state.tick ?? "-"}`,
    `down        ${(downRate / 1000).toFixed(1)} kB/s`,
    `corrections ${state.corrections}`,
    `desyncs     ${state.desyncs}`,
    `entities    ${state.entities_drawn} (${state.players_drawn} players, ${state.drones_drawn} drones, ${state.projectiles_drawn} projectiles)`,
  ];
  if (frame.me) {
    lines.push(`me          #${frame.me.id} at ${frame.me.x.toFixed(0)},${frame.me.y.toFixed(0)}  hp ${frame.me.hp}  score ${frame.me.score}`);
  }
  lines.push("WASD/arrows move, mouse aims, click/Space fires");
  return lines.join("\n");
}

function loop() {
  const now = performance.now();
  if (client && ws && ws.readyState === WebSocket.OPEN) {
    const c = controls();
    client.update(now, c.moveX, c.moveY, c.aim, c.fire);
    flush();
  }
  const frame = draw(now);

  if (client) {
    const bytes = client.bytes_in;
    if (now - bytesSample.at >= 1000 || bytes < bytesSample.bytes) {
      const elapsed = (now - bytesSample.at) / 1000;
      downRate = bytes >= bytesSample.bytes && elapsed > 0 ? (bytes - bytesSample.bytes) / elapsed : 0;
      bytesSample = { at: now, bytes };
    }
  }
  const current = status();
  const state = {
    status: current,
    connected: current === "playing",
    tick: client ? client.tick ?? null : null,
    me: frame.me ? { x: frame.me.x, y: frame.me.y } : null,
    players_drawn: frame.drawn[KIND_PLAYER],
    drones_drawn: frame.drawn[KIND_DRONE],
    projectiles_drawn: frame.drawn[KIND_PROJECTILE],
    entities_drawn: frame.entities,
    desyncs: client ? client.desyncs : 0,
    corrections: client ? client.corrections : 0,
    ping_ms: client ? client.ping_ms ?? null : null,
    frames: window.tickwire.frames + 1,
  };
  window.tickwire = state;
  hud.textContent = hudText(state, frame);
  requestAnimationFrame(loop);
}

// ---- start ------------------------------------------------------------------------------------

async function main() {
  try {
    const wasm = await import("./pkg/tickwire_web.js");
    await wasm.default();
    WebClient = wasm.WebClient;
  } catch (error) {
    console.error("loading ./pkg/tickwire_web.js failed:", error);
    pageStatus = "error: the wasm client is not built";
    window.tickwire = { ...window.tickwire, status: pageStatus };
    hud.textContent = "status      " + pageStatus;
    showMessage("The wasm client is not built: run ", { code: "bash assets/web/build.sh" }, ", then reload.");
    return;
  }
  if (room && !/^[A-Za-z0-9_-]{1,32}$/.test(room)) {
    pageStatus = "error: invalid room name";
    window.tickwire = { ...window.tickwire, status: pageStatus };
    hud.textContent = "status      " + pageStatus;
    showMessage("A room name is 1 to 32 of A-Z a-z 0-9 - _ (from ?room=NAME).");
    return;
  }
  try {
    newClient();
  } catch (error) {
    pageStatus = "error: " + String((error && error.message) || error);
    window.tickwire = { ...window.tickwire, status: pageStatus };
    showMessage("Cannot start the client: " + pageStatus.slice("error: ".length));
    return;
  }
  connect();
  requestAnimationFrame(loop);
}

main();
