// The inspector: watches any room of any game as a spectator with the SDK's generic module (no
// game code), and shows every entity's fields by the schema's names in a live table, plus a dot
// for every entity that has a position.
//
// After every frame `window.tickwire` holds page.js's fields plus
//   rows (rows in the table), kinds ({kind: count}), dots (dots drawn).

import { everyFrame, fitCanvas, join, publish, setHud } from "../page.js";

// The DOM is rewritten at most this often: reading a table changing every frame is no easier,
// and a big room has thousands of cells.
const TABLE_EVERY_MS = 100;
// Names that most likely hold a position, best first; else the first other 2-lane fixed point
// field (world units). Other 2-lane ints are left out: they are often in a game's own sub-units
// (the arena's Trajectory.origin is in 1/64 units), which would throw the scale off.
const POSITION_NAMES = ["pos", "position", "xy"];
const DOT_COLOURS = ["#60a5fa", "#f97316", "#a3e635", "#f472b6", "#fde047", "#2dd4bf", "#c084fc", "#f87171"];
const PADDING = 12; // pixels round the dots

const canvas = document.getElementById("dots");
const ctx = canvas.getContext("2d");
const table = document.getElementById("entities");
const headRow = table.tHead.rows[0];
const body = table.tBodies[0];

// ---- the schema's shape -------------------------------------------------------------------

/** Each component field as a column: {component, field, label: "Component.field"}. */
function columnsOf(schema) {
  return schema.components.flatMap((component) =>
    component.fields.map((field) => ({
      component: component.name,
      field: field.name,
      label: `${component.name}.${field.name}`,
    })));
}

/** Per kind, the field drawn as its dot: {component, field}, or null if it has none. */
function positionsOf(schema) {
  const named = (field) => POSITION_NAMES.includes(field.name.toLowerCase());
  const numeric = (domain) => typeof domain === "object" && ("Fixed" in domain || "Int" in domain);
  const fixed = (domain) => typeof domain === "object" && "Fixed" in domain;
  const positions = {};
  for (const kind of schema.kinds) {
    const candidates = kind.components.flatMap((index) => {
      const component = schema.components[index];
      return component.fields
        .filter((field) => field.lanes === 2 && (named(field) ? numeric(field.domain) : fixed(field.domain)))
        .map((field) => ({ component: component.name, field: field.name }));
    });
    const rank = (c) => {
      const at = POSITION_NAMES.indexOf(c.field.toLowerCase());
      return at === -1 ? POSITION_NAMES.length : at;
    };
    candidates.sort((a, b) => rank(a) - rank(b)); // stable: schema order among equals
    positions[kind.name] = candidates[0] ?? null;
  }
  return positions;
}

// ---- the table ----------------------------------------------------------------------------

/** A field's value as short text: numbers to 2 decimals (integers as they are), arrays "x, y". */
function formatValue(value) {
  if (value === undefined) return ""; // the entity has no such component
  if (value === null) return "–";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (Array.isArray(value)) return value.map(formatValue).join(", ");
  return String(value);
}

function setHeader(columns) {
  const cells = ["id", "kind", ...columns.map((c) => c.label)].map((label) => {
    const th = document.createElement("th");
    th.textContent = label;
    return th;
  });
  headRow.replaceChildren(...cells);
}

const rows = new Map(); // entity id -> its <tr>

/** Makes the table's rows the entities' (in id order), changing only the cells that changed. */
function updateTable(entities, columns) {
  const seen = new Set();
  let previous = null;
  for (const entity of [...entities].sort((a, b) => a.id - b.id)) {
    seen.add(entity.id);
    let row = rows.get(entity.id);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.id = String(entity.id);
      for (let i = 0; i < 2 + columns.length; i++) row.insertCell();
      rows.set(entity.id, row);
    }
    const values = [entity.id, entity.kind, ...columns.map((c) => entity.components[c.component]?.[c.field])];
    values.forEach((value, i) => {
      const cell = row.cells[i];
      const text = formatValue(value);
      if (cell.textContent !== text) cell.textContent = text;
      const align = typeof value === "number" ? "num" : ""; // numbers right-aligned
      if (cell.className !== align) cell.className = align;
    });
    // Keep the id order with as few moves as possible.
    const expected = previous ? previous.nextSibling : body.firstChild;
    if (expected !== row) body.insertBefore(row, expected);
    previous = row;
  }
  for (const [id, row] of rows) {
    if (!seen.has(id)) {
      row.remove();
      rows.delete(id);
    }
  }
}

// ---- the dots -----------------------------------------------------------------------------

/** Draws a dot per entity with a position, the view fitted to them all; returns how many. */
function drawDots(entities, positions, kindIndex) {
  const { w, h } = fitCanvas(canvas, ctx);
  ctx.clearRect(0, 0, w, h);
  const dots = [];
  for (const entity of entities) {
    const at = positions[entity.kind];
    const value = at && entity.components[at.component]?.[at.field];
    if (Array.isArray(value) && value.length === 2 && value.every(Number.isFinite)) {
      dots.push({ x: value[0], y: value[1], kind: entity.kind, own: entity.own });
    }
  }
  if (dots.length === 0) return 0;
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const d of dots) {
    x0 = Math.min(x0, d.x);
    y0 = Math.min(y0, d.y);
    x1 = Math.max(x1, d.x);
    y1 = Math.max(y1, d.y);
  }
  // Same scale on both axes (world y down the canvas, as the games draw it), centred.
  const spanX = Math.max(x1 - x0, 1e-6);
  const spanY = Math.max(y1 - y0, 1e-6);
  const scale = Math.min((w - 2 * PADDING) / spanX, (h - 2 * PADDING) / spanY);
  const ox = (w - spanX * scale) / 2;
  const oy = (h - spanY * scale) / 2;
  for (const d of dots) {
    ctx.fillStyle = DOT_COLOURS[(kindIndex.get(d.kind) ?? 0) % DOT_COLOURS.length];
    ctx.beginPath();
    ctx.arc(ox + (d.x - x0) * scale, oy + (d.y - y0) * scale, d.own ? 4 : 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  return dots.length;
}

// ---- start --------------------------------------------------------------------------------

async function main() {
  // The generic module (no `module`): any game, nothing predicted; a spectator takes no seat.
  const joined = await join(async () => ({ sdk: await import("../sdk/index.js"), module: undefined }), {
    spectator: true,
  });
  if (!joined) return;
  const { client } = joined;

  let schema = null;
  let columns = [];
  let positions = {};
  let kindIndex = new Map(); // kind name -> its index in the schema, for its dot's colour
  let lastTableAt = -Infinity;
  let kinds = {};
  everyFrame((now) => {
    if (client.schema && client.schema !== schema) {
      schema = client.schema;
      columns = columnsOf(schema);
      positions = positionsOf(schema);
      kindIndex = new Map(schema.kinds.map((kind, i) => [kind.name, i]));
      setHeader(columns);
      for (const row of rows.values()) row.remove(); // their cells are the old columns'
      rows.clear();
    }
    const entities = client.entities(now);
    const dots = drawDots(entities, positions, kindIndex);
    const refresh = now - lastTableAt >= TABLE_EVERY_MS;
    if (refresh) {
      lastTableAt = now;
      updateTable(entities, columns);
      kinds = {};
      for (const entity of entities) kinds[entity.kind] = (kinds[entity.kind] ?? 0) + 1;
    }
    const state = publish(client, { rows: rows.size, kinds, dots, entities_drawn: entities.length });
    if (refresh) {
      const counts = Object.entries(kinds).map(([kind, n]) => `${kind} ${n}`).join(", ");
      setHud(client, state, [`entities    ${entities.length}${counts ? "  (" + counts + ")" : ""}`]);
    }
  });
}

main();
