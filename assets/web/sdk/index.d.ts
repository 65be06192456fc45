// Types of tickwire-web, the browser SDK (index.js). Values are in the game's own units: see
// docs/EMBEDDING.md, "In the browser".

/** A field's value: a number (int, fixed point in world units, angle in radians), an enum
 * variant's name, a boolean or a string; an array of numbers for a field of several lanes. */
export type FieldValue = number | number[] | string | boolean | null;

/** One entity of the room as drawn. */
export interface Entity {
  /** Its id, stable while it lives. */
  id: number;
  /** Its kind's name in the schema. */
  kind: string;
  /** Whether it is this client's own player. */
  own: boolean;
  /** Its components by name, each its fields by name. */
  components: Record<string, Record<string, FieldValue>>;
}

/** An input by field names (fields left out keep their value). */
export type InputValues = Record<string, number | number[] | string | boolean>;

/** A field's domain as the schema declares it (in lane units). */
export type Domain =
  | { Int: { min: number; max: number } }
  | { Fixed: { frac_bits: number; min: number; max: number } }
  | { Angle: { bits: number } }
  | { Enum: { variants: string[] } }
  | "Bool"
  | { Str: { max_len: number } };

export interface FieldDesc {
  name: string;
  lanes: number;
  domain: Domain;
  coding: "Absolute" | "Delta" | "SpawnOnly";
  interpolate: "None" | "Linear" | "Angle";
  tolerance: number;
}

/** The room's game schema (docs/PROTOCOL.md). */
export interface Schema {
  game: string;
  version: number;
  tick_rate: number;
  components: { name: string; fields: FieldDesc[] }[];
  kinds: { name: string; components: number[] }[];
  owner_only: number[];
  input: FieldDesc[];
  /** The game's rules for its shared step, as the game encodes them. */
  rules: number[];
}

export type Status =
  | "connecting"
  | "playing"
  | "reconnecting"
  | `rejected: ${string}`
  | `closed: ${string}`
  | `error: ${string}`;

export interface Stats {
  status: Status;
  /** The newest snapshot's tick applied. */
  tick: number | null;
  ping_ms: number | null;
  /** Bytes received per second over the last second. */
  bytes_per_sec: number;
  snapshots: number;
  /** Redirects followed to the node of a cluster that owns the room. */
  redirects: number;
  /** Sessions resumed on a new connection (after a lost one, or when the room moved node). */
  resumes: number;
  /** Times the server corrected the predicted own player. */
  corrections: number;
  /** Snapshots whose checksum did not match (each recovered with a full snapshot). */
  desyncs: number;
  /** Times remote entities ran past the newest snapshot. */
  stalls: number;
  /** Whether the own player is predicted (a game module with its shared step). */
  predicted: boolean;
  player_id: number | null;
}

/** A wasm module the SDK runs: its own generic one, or a game's own with `sharedStep`. */
export interface WasmModule {
  default: (input?: unknown) => Promise<unknown>;
  WebClient: new (name: string, token: string | undefined, spectator: boolean, step?: unknown) => unknown;
  sharedStep?: () => unknown;
}

export interface ConnectOptions {
  /** The WebSocket URL; default: the page's server, `/ws/ROOM`. */
  url?: string;
  /** The room to join (1 to 32 of A-Z a-z 0-9 - _); default: the server's default room. */
  room?: string;
  /** The game a new room plays (`?game=`); default: the server's. */
  game?: string;
  /** A game config a new room starts with (`?scenario=`). */
  scenario?: string;
  /** The player's display name; default: `web-NNNNNN`. */
  name?: string;
  /** A signed join token, for a server that requires one. */
  token?: string;
  /** Watch without a player. */
  spectator?: boolean;
  /** A game's own wasm module (with its shared step); default: the SDK's generic module. */
  module?: WasmModule;
}

export declare class Client extends EventTarget {
  readonly status: Status;
  readonly schema: Schema | null;
  readonly playerId: number | null;
  readonly name: string;
  readonly stats: Stats;
  /** The entities to draw at `now` (default `performance.now()`). */
  entities(now?: number): Entity[];
  /** The world as last replicated (no interpolation or prediction), in id order. */
  world(): Entity[];
  /** Sets the input sent every tick; throws an Error naming the field on a bad value. */
  send(input: InputValues): void;
  close(): void;
  addEventListener(type: "status" | "welcome", listener: (event: Event) => void): void;
}

/** Connects to a room. Events: `status` (on every status change), `welcome` (schema known). */
export declare function connect(options?: ConnectOptions): Promise<Client>;

/** The WebSocket URL of a room on the server that served the page. */
export declare function roomUrl(
  room?: { room?: string; game?: string; scenario?: string },
  base?: { protocol: string; host: string },
): string;
