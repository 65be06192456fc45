// The arena's page: joins a room through the browser SDK with the arena's own wasm module (so the
// own player is predicted), draws the room and sends the keyboard and mouse as the arena's input.
//
// Coordinates: world x grows to the right and world y grows DOWN the canvas, so W / ArrowUp move
// toward -y, and an aim of 0 radians points right, π/2 down.
//
// After every frame `window.tickwire` holds page.js's fields plus
//   me: {x, y} | null, players_drawn (the own player too), drones_drawn, projectiles_drawn.

import {
  everyFrame, fitCanvas, join, pageParams, publish, sendInput, setHud, worldBoundsOf, worldView,
} from "../../page.js";

// Drawn radii in world units (assets/scenarios/arena.toml); the protocol does not carry them.
const RADIUS = { player: 12, drone: 14, projectile: 3, prop: 8 };
const DEFAULT_BOUNDS = [0, 0, 1000, 1000]; // until the Welcome's rules say where players may go
const MARGIN = 24; // world units shown around the arena
const GRID = 50; // world units between grid lines
// A projectile has no Body: its Trajectory's origin, which the SDK draws where the flight is
// at render time, is in the arena's integer position units (1/64 world unit), not world units.
const STEPS_PER_UNIT = 64;
const FULL_MOVE = 127;
const FIRE = 1; // the fire bit of the input's `buttons`
const TURN = 2 * Math.PI;
const GAME_KEYS = new Set([
  "KeyW", "KeyA", "KeyS", "KeyD",
  "ArrowUp", "ArrowLeft", "ArrowDown", "ArrowRight",
  "Space",
]);

const canvas = document.getElementById("view");
const ctx = canvas.getContext("2d");

// ---- input --------------------------------------------------------------------------------

const held = new Set();
let mouse = null; // {x, y} in CSS pixels
let mouseDown = false;
let meScreen = null; // the own player's screen position in the last frame
let aim = 0; // radians

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
// Keys released while the window has no focus never send keyup: let go of everything.
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

/** The arena's input fields from the keys and the mouse. */
function controls() {
  if (mouse && meScreen) {
    const dx = mouse.x - meScreen.x;
    const dy = mouse.y - meScreen.y;
    // Screen and world axes point the same way, so the screen angle is the world angle.
    if (dx !== 0 || dy !== 0) aim = Math.atan2(dy, dx);
  }
  return {
    move_x: axis(held.has("KeyA") || held.has("ArrowLeft"), held.has("KeyD") || held.has("ArrowRight")),
    move_y: axis(held.has("KeyW") || held.has("ArrowUp"), held.has("KeyS") || held.has("ArrowDown")),
    aim,
    buttons: mouseDown || held.has("Space") ? FIRE : 0,
  };
}

// ---- drawing ------------------------------------------------------------------------------

const maxHp = {}; // the largest hp seen per kind: the full length of an hp bar

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

/** Draws one entity: `e` is {kind, x, y, aim, hp, own}. */
function drawEntity(view, e) {
  const sx = view.x(e.x);
  const sy = view.y(e.y);
  const r = Math.max(e.kind === "projectile" ? 2 : 4, (RADIUS[e.kind] ?? 8) * view.scale);
  if (e.kind === "projectile") {
    ctx.fillStyle = "#fde047";
    ctx.beginPath();
    ctx.arc(sx, sy, r, 0, TURN);
    ctx.fill();
    return;
  }
  if (e.kind === "prop") {
    ctx.fillStyle = "#6e7681";
    ctx.fillRect(sx - r, sy - r, 2 * r, 2 * r);
    return;
  }
  ctx.fillStyle = e.kind === "drone" ? "#f97316" : e.own ? "#a3e635" : "#60a5fa";
  ctx.beginPath();
  ctx.arc(sx, sy, r, 0, TURN);
  ctx.fill();
  if (e.own) {
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  // The aim line.
  ctx.strokeStyle = e.own ? "#ecfccb" : "#e5e7eb";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(sx, sy);
  ctx.lineTo(sx + Math.cos(e.aim) * r * 1.8, sy + Math.sin(e.aim) * r * 1.8);
  ctx.stroke();
  // The hp bar.
  maxHp[e.kind] = Math.max(maxHp[e.kind] ?? 1, e.hp);
  const frac = Math.min(1, e.hp / maxHp[e.kind]);
  ctx.fillStyle = "#30363d";
  ctx.fillRect(sx - r, sy - r - 7, 2 * r, 3);
  ctx.fillStyle = frac > 0.5 ? "#3fb950" : frac > 0.25 ? "#d29922" : "#f85149";
  ctx.fillRect(sx - r, sy - r - 7, 2 * r * frac, 3);
}

/** An SDK entity in the arena's terms; null if it has no position to draw. */
function arenaEntity(entity) {
  const c = entity.components;
  const flight = c.Trajectory?.origin;
  const pos = c.Body?.pos ?? (Array.isArray(flight) ? flight.map((v) => v / STEPS_PER_UNIT) : null);
  if (!Array.isArray(pos)) return null;
  return {
    id: entity.id,
    kind: entity.kind,
    own: entity.own,
    x: pos[0],
    y: pos[1],
    aim: c.Aim?.aim ?? 0,
    hp: c.Health?.hp ?? 0,
    score: c.Score?.score ?? 0,
  };
}

/** Draws the room at `now`; returns what the frame drew. */
function draw(client, bounds, now) {
  const { w, h } = fitCanvas(canvas, ctx);
  ctx.fillStyle = "#0d1117";
  ctx.fillRect(0, 0, w, h);
  const view = worldView(bounds, w, h, MARGIN);
  drawArena(view, bounds);

  const entities = client.entities(now);
  const counts = { player: 0, drone: 0, projectile: 0 };
  let me = null;
  for (const entity of entities) {
    const e = arenaEntity(entity);
    if (!e) continue;
    if (e.own) {
      me = e; // drawn last, on top
      continue;
    }
    drawEntity(view, e);
    if (e.kind in counts) counts[e.kind] += 1;
  }
  if (me) {
    drawEntity(view, me);
    counts.player += 1;
    meScreen = { x: view.x(me.x), y: view.y(me.y) };
  } else {
    meScreen = null;
  }
  return { counts, me, entities: entities.length };
}

// ---- start --------------------------------------------------------------------------------

async function main() {
  const params = pageParams();
  const joined = await join(
    async () => ({
      sdk: await import("../../sdk/index.js"),
      module: await import("./wasm/tickwire_arena_web.js"),
    }),
    // A new room plays the arena; joining a room of another game is refused (game mismatch).
    { game: params.game || "arena" },
  );
  if (!joined) return;
  const { client, module } = joined;

  // Where players may move comes with the schema's rules, once welcomed.
  const arenaBounds = worldBoundsOf(client, module, DEFAULT_BOUNDS);
  const sendControls = sendInput(client, controls);
  everyFrame((now) => {
    sendControls();
    const frame = draw(client, arenaBounds(), now);
    const state = publish(client, {
      me: frame.me ? { x: frame.me.x, y: frame.me.y } : null,
      players_drawn: frame.counts.player,
      drones_drawn: frame.counts.drone,
      projectiles_drawn: frame.counts.projectile,
      entities_drawn: frame.entities,
    });
    const lines = [
      `entities    ${frame.entities} (${frame.counts.player} players, ${frame.counts.drone} drones, ${frame.counts.projectile} projectiles)`,
    ];
    if (frame.me) {
      lines.push(`me          #${frame.me.id} at ${frame.me.x.toFixed(0)},${frame.me.y.toFixed(0)}  hp ${frame.me.hp}  score ${frame.me.score}`);
    }
    if (client.playerId !== null) lines.push("WASD/arrows move, mouse aims, click/Space fires");
    setHud(client, state, lines);
  });
}

main();
