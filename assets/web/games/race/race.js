// The race's page: joins a room through the browser SDK with the race's own wasm module (so the
// own car is predicted), draws the track and the cars, ranks the drivers by laps, and sends the
// held keys as the race's input (throttle, steer).
//
// Coordinates: world x grows to the right and world y grows DOWN the canvas; a heading of 0
// radians points right, π/2 down, so a positive steer turns clockwise on screen.
//
// After every frame `window.tickwire` holds page.js's fields plus
//   me: {x, y, heading, laps} | null, cars_drawn, checkpoints_drawn.

import {
  everyFrame, fitCanvas, join, pageParams, publish, sendInput, setHud, worldBoundsOf, worldView,
} from "../../page.js";

// Drawn sizes in world units: the protocol carries neither a car's size nor a checkpoint's
// radius (a config's `checkpoint_radius`: 40 on race-short, 60 on the stock track).
const CAR_LENGTH = 22;
const CAR_WIDTH = 11;
const MAX_CHECKPOINT_RADIUS = 60;
const DEFAULT_BOUNDS = [0, 0, 1200, 800]; // until the Welcome's rules say where cars may drive
const MARGIN = 30; // world units shown round the track
const FULL = 127; // full throttle, full lock
const TURN = 2 * Math.PI;
const GAME_KEYS = new Set(["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowLeft", "ArrowDown", "ArrowRight"]);

const canvas = document.getElementById("view");
const ctx = canvas.getContext("2d");
const board = document.getElementById("board");

// ---- input --------------------------------------------------------------------------------

const held = new Set();

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
window.addEventListener("blur", () => held.clear());

function axis(negative, positive) {
  return (positive ? FULL : 0) - (negative ? FULL : 0);
}

/** The race's input fields from the held keys. */
function controls() {
  return {
    throttle: axis(held.has("KeyS") || held.has("ArrowDown"), held.has("KeyW") || held.has("ArrowUp")),
    steer: axis(held.has("KeyA") || held.has("ArrowLeft"), held.has("KeyD") || held.has("ArrowRight")),
  };
}

// ---- drawing ------------------------------------------------------------------------------

/** A car's colour, fixed by its id so it keeps it all race. */
function carColour(id) {
  return `hsl(${(id * 137.508) % 360}, 75%, 60%)`;
}

/** The SDK's entities as the race's cars and checkpoints (checkpoints in lap order). */
function raceEntities(entities) {
  const cars = [];
  const checkpoints = [];
  for (const entity of entities) {
    const c = entity.components;
    if (entity.kind === "car" && Array.isArray(c.Car?.pos)) {
      cars.push({
        id: entity.id,
        own: entity.own,
        x: c.Car.pos[0],
        y: c.Car.pos[1],
        heading: c.Car.heading ?? 0,
        speed: c.Car.speed ?? 0,
        laps: c.Progress?.laps ?? 0,
        next: c.Progress?.next_checkpoint ?? 0,
        name: c.Driver?.name || "#" + entity.id,
      });
    } else if (entity.kind === "checkpoint" && Array.isArray(c.Checkpoint?.pos)) {
      checkpoints.push({ x: c.Checkpoint.pos[0], y: c.Checkpoint.pos[1], order: c.Checkpoint.order ?? 0 });
    }
  }
  checkpoints.sort((a, b) => a.order - b.order);
  return { cars, checkpoints };
}

function drawField(view, bounds) {
  const [x0, y0, x1, y1] = bounds;
  ctx.fillStyle = "#13231a"; // grass
  ctx.fillRect(view.x(x0), view.y(y0), (x1 - x0) * view.scale, (y1 - y0) * view.scale);
  ctx.strokeStyle = "#8b949e";
  ctx.lineWidth = 2;
  ctx.strokeRect(view.x(x0), view.y(y0), (x1 - x0) * view.scale, (y1 - y0) * view.scale);
}

// The road: a wide band through the checkpoints in lap order, back to the finish.
function drawRoad(view, checkpoints, radius) {
  if (checkpoints.length < 2) return;
  ctx.beginPath();
  checkpoints.forEach((cp, i) => (i === 0 ? ctx.moveTo(view.x(cp.x), view.y(cp.y)) : ctx.lineTo(view.x(cp.x), view.y(cp.y))));
  ctx.closePath();
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#2d333b";
  ctx.lineWidth = 2 * radius * view.scale;
  ctx.stroke();
  ctx.setLineDash([8, 10]);
  ctx.strokeStyle = "#6e7681";
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.setLineDash([]);
}

function drawCheckpoint(view, cp, radius, towards, highlight) {
  const sx = view.x(cp.x);
  const sy = view.y(cp.y);
  const r = Math.max(6, radius * view.scale);
  ctx.beginPath();
  ctx.arc(sx, sy, r, 0, TURN);
  ctx.fillStyle = cp.order === 0 ? "rgba(255, 255, 255, 0.08)" : "rgba(88, 166, 255, 0.08)";
  ctx.fill();
  ctx.strokeStyle = highlight ?? (cp.order === 0 ? "#f0f6fc" : "#58a6ff");
  ctx.lineWidth = highlight ? 3 : 2;
  ctx.stroke();
  if (cp.order === 0) drawFinishLine(sx, sy, r, towards);
  ctx.fillStyle = cp.order === 0 ? "#f0f6fc" : "#58a6ff";
  ctx.font = "bold 13px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  // Above the circle; the finish's below, clear of the cars' names (they start on it).
  ctx.fillText(cp.order === 0 ? "0 finish" : String(cp.order), sx, cp.order === 0 ? sy + r + 10 : sy - r - 10);
}

// The finish: a chequered bar across its circle, square to the way to the next checkpoint.
function drawFinishLine(sx, sy, r, towards) {
  const squares = 8;
  const size = (2 * r) / squares;
  ctx.save();
  ctx.translate(sx, sy);
  ctx.rotate(towards + Math.PI / 2);
  for (let i = 0; i < squares; i++) {
    for (let row = 0; row < 2; row++) {
      ctx.fillStyle = (i + row) % 2 === 0 ? "#f0f6fc" : "#0d1117";
      ctx.fillRect(-r + i * size, (row - 1) * size, size, size);
    }
  }
  ctx.restore();
}

function drawCar(view, car) {
  const sx = view.x(car.x);
  const sy = view.y(car.y);
  const length = Math.max(10, CAR_LENGTH * view.scale);
  const width = Math.max(5, CAR_WIDTH * view.scale);
  ctx.save();
  ctx.translate(sx, sy);
  ctx.rotate(car.heading);
  ctx.fillStyle = carColour(car.id);
  ctx.fillRect(-length / 2, -width / 2, length, width);
  ctx.fillStyle = "rgba(13, 17, 23, 0.7)"; // the windscreen shows which way is forward
  ctx.fillRect(length / 2 - length * 0.35, -width / 2 + 2, length * 0.15, width - 4);
  if (car.own) {
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 2;
    ctx.strokeRect(-length / 2 - 2, -width / 2 - 2, length + 4, width + 4);
  }
  ctx.restore();
  ctx.fillStyle = car.own ? "#ffffff" : "#d8dee9";
  ctx.font = (car.own ? "bold " : "") + "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  // A dark outline keeps the name readable over the chequered finish.
  ctx.strokeStyle = "rgba(13, 17, 23, 0.9)";
  ctx.lineWidth = 3;
  ctx.lineJoin = "round";
  ctx.strokeText(car.name, sx, sy - length / 2 - 4);
  ctx.fillText(car.name, sx, sy - length / 2 - 4);
}

/** Draws the room at `now`; returns what the frame drew. */
function draw(client, bounds, now) {
  const { w, h } = fitCanvas(canvas, ctx);
  ctx.fillStyle = "#0d1117";
  ctx.fillRect(0, 0, w, h);
  const view = worldView(bounds, w, h, MARGIN);
  drawField(view, bounds);

  const entities = client.entities(now);
  const { cars, checkpoints } = raceEntities(entities);
  const radius = Math.min(MAX_CHECKPOINT_RADIUS, 0.2 * Math.min(bounds[2] - bounds[0], bounds[3] - bounds[1]));
  drawRoad(view, checkpoints, radius);
  const me = cars.find((car) => car.own) ?? null;
  for (const [i, cp] of checkpoints.entries()) {
    const next = checkpoints[(i + 1) % checkpoints.length];
    const towards = Math.atan2(next.y - cp.y, next.x - cp.x);
    // The own car's next checkpoint is ringed in its colour.
    const highlight = me && me.next === cp.order ? carColour(me.id) : null;
    drawCheckpoint(view, cp, radius, towards, highlight);
  }
  for (const car of cars) if (!car.own) drawCar(view, car);
  if (me) drawCar(view, me); // on top
  return { cars, checkpoints, me, entities: entities.length };
}

/** The leaderboard: most laps first, then the furthest round the current lap. */
function leaderboard(cars, checkpointCount) {
  const n = Math.max(1, checkpointCount);
  const passed = (car) => (car.next - 1 + n) % n; // checkpoints passed this lap
  const ranked = [...cars].sort((a, b) => b.laps - a.laps || passed(b) - passed(a) || a.id - b.id);
  if (ranked.length === 0) return "";
  const lines = ["laps  driver"];
  for (const car of ranked) lines.push(`${String(car.laps).padStart(4)}  ${car.own ? "▶ " : "  "}${car.name}`);
  return lines.join("\n");
}

// ---- start --------------------------------------------------------------------------------

async function main() {
  const params = pageParams();
  const joined = await join(
    async () => ({
      sdk: await import("../../sdk/index.js"),
      module: await import("./wasm/tickwire_race_web.js"),
    }),
    // A new room plays the race; joining a room of another game is refused (game mismatch).
    { game: params.game || "race" },
  );
  if (!joined) return;
  const { client, module } = joined;

  // Where cars may drive comes with the schema's rules, once welcomed.
  const trackBounds = worldBoundsOf(client, module, DEFAULT_BOUNDS);
  const sendControls = sendInput(client, controls);
  let lastBoard = "";
  everyFrame((now) => {
    sendControls();
    const frame = draw(client, trackBounds(), now);
    const me = frame.me;
    const state = publish(client, {
      me: me ? { x: me.x, y: me.y, heading: me.heading, laps: me.laps } : null,
      cars_drawn: frame.cars.length,
      checkpoints_drawn: frame.checkpoints.length,
      entities_drawn: frame.entities,
    });
    const lines = [`cars        ${frame.cars.length}  checkpoints ${frame.checkpoints.length}`];
    if (me) {
      lines.push(`me          #${me.id} at ${me.x.toFixed(0)},${me.y.toFixed(0)}  speed ${me.speed.toFixed(1)}  laps ${me.laps}  next ${me.next}`);
    }
    if (client.playerId !== null) lines.push("W/S or ↑/↓ throttle and brake, A/D or ←/→ steer");
    setHud(client, state, lines);
    const text = leaderboard(frame.cars, frame.checkpoints.length);
    if (text !== lastBoard) board.textContent = lastBoard = text; // the DOM only when it changes
  });
}

main();
