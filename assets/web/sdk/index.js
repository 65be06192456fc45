// tickwire-web: the browser SDK. Connects to a room of any game over the browser's WebSocket and
// gives the page the room's entities by the game's own names and units, interpolated (and the own
// player predicted with a game's own module), takes inputs by name, and resumes lost connections.
//
// The wasm module (shared/web, built by `bash assets/web/build.sh` into ./wasm) holds the
// session; this file owns the socket, the clock and the timers. Types: index.d.ts.

import * as genericModule from "./wasm/tickwire_web.js";

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 4000;
// Snapshots come every tick: this long without a message means a half-open connection, which the
// browser might not report until long after the server's resume window has closed.
const SILENCE_MS = 3000;
// Inputs and pings go out on this timer too, so they flow while the page draws nothing (the
// session sends one input per server tick, whenever it is called).
const PUMP_MS = 10;
const ROOM_NAME = /^[A-Za-z0-9_-]{1,32}$/;
// Redirects (to the node of a cluster that owns the room) followed in a row before giving up.
const MAX_REDIRECTS = 3;

const initialized = new WeakMap(); // module -> Promise of its initialization

/** Loads a wasm module's glue once (the SDK's generic module, or a game's own). */
function ready(module) {
  if (!initialized.has(module)) initialized.set(module, module.default());
  return initialized.get(module);
}

/** Connects to a room; resolves once the module is loaded and the socket is opening. */
export async function connect(options = {}) {
  const module = options.module ?? genericModule;
  await ready(module);
  const client = new Client(module, options);
  client._open();
  return client;
}

/** The WebSocket URL for a room on the server that served the page. */
export function roomUrl({ room = "", game = "", scenario = "" } = {}, base = globalThis.location) {
  if (room && !ROOM_NAME.test(room)) throw new Error("a room name is 1 to 32 of A-Z a-z 0-9 - _");
  const scheme = base.protocol === "https:" ? "wss://" : "ws://";
  const query = new URLSearchParams();
  if (game) query.set("game", game);
  if (scenario) query.set("scenario", scenario);
  const q = query.toString();
  return scheme + base.host + "/ws" + (room ? "/" + room : "") + (q ? "?" + q : "");
}

export class Client extends EventTarget {
  constructor(module, options) {
    super();
    this._module = module;
    this._options = options;
    this._url = options.url ?? roomUrl(options); // any node: every (re)join starts here
    this._redirectsInARow = 0;
    this._name = options.name || "web-" + String(Math.floor(Math.random() * 1e6)).padStart(6, "0");
    this._session = null;
    this._ws = null;
    this._pageStatus = null; // overrides the session's status: reconnecting, closed, error
    this._resuming = false;
    this._resumes = 0;
    this._backoff = BACKOFF_MIN_MS;
    this._lastHeardAt = 0;
    this._schema = null;
    this._rate = { at: performance.now(), bytes: 0, perSec: 0 }; // bytes received per second
    this._lastStatus = null;
    this._timer = null;
    this._newSession();
  }

  /** `connecting`, `playing`, `reconnecting`, `rejected: …`, `closed: …` or `error: …`. */
  get status() {
    return this._pageStatus ?? this._session.status;
  }

  /** The room's game schema, once welcomed (null before). */
  get schema() {
    return this._schema;
  }

  /** The own player's entity id (null before the Welcome and for spectators). */
  get playerId() {
    return this._session.player_id ?? null;
  }

  /** The player's name as sent in the Hello. */
  get name() {
    return this._name;
  }

  /** Counters for a HUD or a test. */
  get stats() {
    const s = this._session;
    const now = performance.now();
    if (now - this._rate.at >= 1000) {
      const bytes = s.bytes_in;
      const elapsed = (now - this._rate.at) / 1000;
      this._rate = { at: now, bytes, perSec: (bytes - this._rate.bytes) / elapsed };
    }
    return {
      status: this.status,
      tick: s.tick ?? null,
      ping_ms: s.ping_ms ?? null,
      bytes_per_sec: Math.max(0, this._rate.perSec),
      snapshots: s.snapshots,
      redirects: s.redirects,
      resumes: this._resumes,
      corrections: s.corrections,
      desyncs: s.desyncs,
      stalls: s.stalls,
      predicted: s.predicted,
      player_id: this.playerId,
    };
  }

  /** The entities to draw now: remote ones interpolated, the own one predicted. */
  entities(now = performance.now()) {
    this._pump(now);
    return JSON.parse(this._session.entities_json(now));
  }

  /** The world as last replicated, entities in id order (no interpolation or prediction). */
  world() {
    return JSON.parse(this._session.world_json());
  }

  /** Sets the input sent every tick from now on, by field names; throws on a bad field. */
  send(input) {
    this._session.send(JSON.stringify(input));
  }

  /** Closes the connection for good. */
  close() {
    clearInterval(this._timer);
    this._timer = null;
    const ws = this._ws;
    this._ws = null;
    this._pageStatus = "closed: by the page";
    if (ws) ws.close(1000, "bye");
    this._notify();
  }

  // ---- connection -----------------------------------------------------------------------------

  _newSession() {
    if (this._session) this._session.free();
    const { token = "", spectator = false } = this._options;
    const step = this._module.sharedStep ? this._module.sharedStep() : undefined;
    this._session = new this._module.WebClient(this._name, token || undefined, !!spectator, step);
    this._resuming = false;
    this._schema = null; // a fresh join learns it again (and fires "welcome" again)
  }

  _open(url = this._url) {
    this._pageStatus = null;
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this._ws = socket;
    socket.onopen = () => {
      if (this._ws === socket) this._flush();
    };
    socket.onmessage = (event) => {
      if (this._ws !== socket || !(event.data instanceof ArrayBuffer)) return;
      this._receive(socket, new Uint8Array(event.data));
    };
    socket.onclose = (event) => {
      if (this._ws === socket) this._closed(event.code, event.reason);
    };
    if (!this._timer) this._timer = setInterval(() => this._tick(), PUMP_MS);
    this._notify();
  }

  _receive(socket, bytes) {
    this._lastHeardAt = performance.now();
    try {
      this._session.receive(bytes, performance.now());
    } catch (error) {
      const reason = String(error?.message ?? error);
      this._pageStatus = "error: " + reason;
      socket.close(4000, reason.slice(0, 120)); // a close reason is at most 123 bytes
      this._ws = null;
      this._notify();
      return;
    }
    const redirect = this._session.take_redirect();
    if (redirect !== undefined) {
      // The room is on another node: the same Hello goes there (queued again by the session).
      this._ws = null;
      socket.close(1000, "redirected");
      this._redirectsInARow += 1;
      if (this._redirectsInARow > MAX_REDIRECTS) {
        this._pageStatus = `error: more than ${MAX_REDIRECTS} redirects in a row`;
        clearInterval(this._timer);
        this._timer = null;
      } else {
        this._open(redirect);
      }
      this._notify();
      return;
    }
    if (this._session.status === "playing") {
      this._redirectsInARow = 0;
      this._backoff = BACKOFF_MIN_MS;
      if (this._resuming) {
        this._resuming = false;
        this._resumes += 1;
      }
      if (!this._schema) {
        this._schema = JSON.parse(this._session.schema_json());
        this.dispatchEvent(new Event("welcome"));
      }
    }
    this._flush();
    this._notify();
  }

  _closed(code, reason) {
    this._ws = null;
    const status = this._session.status;
    const rejected = status.startsWith("rejected");
    // Resume the session on a new socket (same player, same world) when the connection was lost
    // (1006), when the room moves to another node of a cluster (1012), or when a resume found a
    // node busy (a room between two owners).
    const resumable = rejected
      ? this._resuming && status.includes("busy")
      : code === 1006 || code === 1012;
    if (resumable) {
      if (this._session.reconnect()) this._resuming = true;
      else this._newSession(); // never welcomed: nothing to resume
      this._retry(this._backoff);
      this._backoff = Math.min(this._backoff * 2, BACKOFF_MAX_MS);
    } else if (rejected && this._resuming) {
      // The resume came too late (or its token was used): join afresh.
      this._newSession();
      this._retry(0);
    } else {
      // Refused (the status says why) or closed for good: nothing more to send.
      if (!rejected) this._pageStatus = `closed: ${code}${reason ? " " + reason : ""}`;
      clearInterval(this._timer);
      this._timer = null;
    }
    this._notify();
  }

  _retry(delay) {
    this._pageStatus = "reconnecting";
    setTimeout(() => this._open(), delay);
  }

  _tick() {
    const now = performance.now();
    const ws = this._ws;
    if (ws && this._session.status === "playing" && now - this._lastHeardAt >= SILENCE_MS) {
      // A welcomed connection that went silent is lost: drop it and resume on a new one.
      this._ws = null; // its own close event, whenever it comes, is ignored
      ws.close();
      this._closed(1006, "");
      return;
    }
    this._pump(now);
  }

  _pump(now) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) return;
    this._session.update(now);
    this._flush();
  }

  _flush() {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    for (let frame = this._session.poll_outgoing(); frame !== undefined; frame = this._session.poll_outgoing()) {
      ws.send(frame);
    }
  }

  _notify() {
    const status = this.status;
    if (status === this._lastStatus) return;
    this._lastStatus = status;
    this.dispatchEvent(new Event("status"));
  }
}
