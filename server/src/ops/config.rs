//! Server settings: `assets/server.toml` documents every field and its default.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tickwire_game::{GameConfig, Games};
use tickwire_shared::join_token::JoinSecret;

/// Everything `run` needs besides the listener.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The games this server serves.
    pub games: Games,
    /// The config a room starts with unless its first join names a game or a config.
    pub game: GameConfig,
    /// Configs a join may name (`/ws/ROOM?scenario=NAME`) for the room it creates.
    pub configs: BTreeMap<String, GameConfig>,
    /// Browser origins allowed to open a WebSocket (`Origin` header, e.g.
    /// `https://game.example`); an upgrade from any other origin gets 403. Empty: any origin.
    /// Requests without an `Origin` (non-browser clients) are not affected.
    pub allowed_origins: Vec<String>,
    /// When set, every `Hello` must carry a join token signed with it for the room it joins.
    pub join_secret: Option<JoinSecret>,
    /// When set, the port speaks TLS (wss:// and https://); see [`crate::net::tls`].
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Folder whose files are served over HTTP on the game port (the browser client: `/` is
    /// its `index.html`). `None`: no files, every other path is 404.
    pub web_dir: Option<PathBuf>,
    /// Limits on what clients may do and cost.
    pub limits: Limits,
    /// When set, this server is a node of a cluster whose room directory is in Redis
    /// (`--directory`); `None`: the in-process directory of one server.
    pub cluster: Option<ClusterConfig>,
}

/// A node's place in a cluster: see [`crate::cluster`].
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The Redis that holds the directory, `redis://HOST:PORT`.
    pub directory: String,
    /// This node: its id and the URL clients reach it at (`ws://HOST:PORT`).
    pub node: crate::cluster::lease_store::Node,
    /// How long a room's lease lasts without renewal (renewed every third of it). Default 3 s.
    pub lease_ttl: std::time::Duration,
    /// How often each room is saved, off its thread: at most this much play is lost when its
    /// node dies. Default 1 s.
    pub save_every: std::time::Duration,
}

impl ClusterConfig {
    /// The lease TTL nodes use unless told otherwise.
    pub const DEFAULT_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(3);
    /// How often rooms are saved unless told otherwise.
    pub const DEFAULT_SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
}

impl ServerConfig {
    /// Serves `games`, rooms starting with `game` by default; default limits, no named configs.
    pub fn new(games: Games, game: GameConfig) -> Self {
        Self {
            games,
            game,
            configs: BTreeMap::new(),
            allowed_origins: Vec::new(),
            join_secret: None,
            tls: None,
            web_dir: None,
            limits: Limits::default(),
            cluster: None,
        }
    }
}

/// The contents of a `--config` file (see `assets/server.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// Where to listen. Default: 127.0.0.1:7777.
    pub bind: SocketAddr,
    /// Game config file rooms start with; relative paths are relative to the config file.
    /// Default: the default game's own config.
    pub scenario: Option<PathBuf>,
    /// Folder of game configs a join may name; relative paths are relative to the config file.
    /// Default: none.
    pub scenarios_dir: Option<PathBuf>,
    /// See [`ServerConfig::web_dir`]; relative paths are relative to the config file. Default:
    /// none.
    pub web_dir: Option<PathBuf>,
    /// See [`ServerConfig::allowed_origins`]. Default: empty (any origin).
    pub allowed_origins: Vec<String>,
    /// See [`ServerConfig::join_secret`]; prefer the `TICKWIRE_JOIN_SECRET` environment
    /// variable, which overrides it. Default: none (no token needed).
    pub join_secret: Option<String>,
    /// Where to serve the operations endpoints (`/rooms`, `/metrics`, `/healthz`, `/readyz`)
    /// to anyone; `/rooms` and `/metrics` then leave the game port. Default: none (the game
    /// port answers `/rooms` and `/metrics` to loopback peers only).
    pub admin_bind: Option<SocketAddr>,
    /// Limits.
    pub limits: Limits,
}

impl Default for ConfigFile {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 7777)),
            scenario: None,
            scenarios_dir: None,
            web_dir: None,
            allowed_origins: Vec::new(),
            join_secret: None,
            admin_bind: None,
            limits: Limits::default(),
        }
    }
}

/// Why a config file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error (in the message, not a separate cause, so it is printed once).
        error: std::io::Error,
    },
    /// The file is not valid TOML for a config.
    #[error("invalid config: {0}")]
    Parse(#[from] toml::de::Error),
    /// A game config it names is invalid, or names a game the server does not have.
    #[error(transparent)]
    Game(#[from] tickwire_game::ConfigError),
    /// A limit is out of range.
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl ConfigFile {
    /// Reads a config file; relative paths are resolved against the file's folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            error,
        })?;
        let mut file: Self = toml::from_str(&text)?;
        if let Some(dir) = path.parent() {
            file.scenario = file.scenario.map(|scenario| dir.join(scenario));
            file.scenarios_dir = file.scenarios_dir.map(|scenarios| dir.join(scenarios));
            file.web_dir = file.web_dir.map(|web| dir.join(web));
        }
        Ok(file)
    }
}

/// Loads every `NAME.toml` in `dir` as the game config a join names with `?scenario=NAME`.
pub fn load_configs(dir: &Path) -> Result<BTreeMap<String, GameConfig>, ConfigError> {
    let read_error = |error| ConfigError::Read {
        path: dir.display().to_string(),
        error,
    };
    let mut configs = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .filter(|stem| tickwire_shared::room_path::is_valid_name(stem))
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "game config file {} must be named NAME.toml, NAME 1 to 32 of A-Z a-z 0-9 - _",
                    path.display()
                ))
            })?;
        configs.insert(name.to_owned(), GameConfig::load(&path)?);
    }
    Ok(configs)
}

/// Limits on everything that comes from the network. Defaults are in `assets/server.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Clients (players and spectators) per room. Default: 1000.
    pub max_clients: usize,
    /// Rooms open at once. Default: 1000.
    pub max_rooms: usize,
    /// Close a room that has had no clients this long, in ms. Default: 30000.
    pub room_close_after_empty_ms: u64,
    /// Close a room (1011 to its clients) whose every tick took longer than its tick period for
    /// this long, in ms. Default: 5000.
    pub slow_room_timeout_ms: u64,
    /// Largest frame and message a client may send, in bytes. Default: 1024.
    pub max_message_bytes: usize,
    /// Per-connection read buffer, in bytes. Default: 4096.
    pub read_buffer_bytes: usize,
    /// Open connections at once, joined or still handshaking; more are dropped at accept.
    /// Default: 2000.
    pub max_connections: usize,
    /// Open connections from one IP address; more are dropped at accept. Loopback peers are
    /// exempt unless `limit_loopback_per_ip` is set. Default: 64.
    pub max_connections_per_ip: usize,
    /// Apply `max_connections_per_ip` and `max_detached_seats_per_ip` to loopback peers too.
    /// Off by default: a loopback peer is a local tool (bots, load tests) or a local proxy that
    /// every client comes through, which a per-address cap cannot tell apart. Default: false.
    pub limit_loopback_per_ip: bool,
    /// IPv6 peers count toward per-address limits by this prefix of their address (a client
    /// usually owns a whole /64). At most 128. Default: 64.
    pub ipv6_prefix_len: u8,
    /// Seats one address may have waiting for a resume in one room (their connection lost);
    /// past it, that address's oldest waiting seat is given up. Default: 8.
    pub max_detached_seats_per_ip: usize,
    /// A client's requested full snapshots are sent at most once per this interval (one
    /// request per desync is what a client sends; requests past a burst of 5 faster than this
    /// close the session with 1008), in ms. Default: 1000.
    pub full_snapshot_interval_ms: u64,
    /// Pings (ours or WebSocket's) one client may send per second (burst: one second's worth);
    /// more get no Pong, and a second's worth of those within a second closes with 1008.
    /// Default: 10.
    pub max_pings_per_sec: u32,
    /// Join tokens remembered as used, until each expires (a token opens one seat); when full
    /// of unexpired tokens, joins with a new token get `ServerBusy`. Default: 100000.
    pub max_used_join_tokens: usize,
    /// Bytes that may wait for all client sockets together; past it, the longest queues are
    /// cut (4002) until the total is under it again. Default: 268435456 (256 MiB).
    pub max_queued_bytes_total: usize,
    /// Inputs per second one client may send (burst: one second's worth); more are dropped,
    /// and a client with that many dropped within a second is closed with 1008. Default: 120.
    pub max_inputs_per_sec: u32,
    /// Bytes that may wait for one client's socket (snapshots, control frames, TLS records);
    /// past it the session ends with 4002. At least one full snapshot must fit. Default:
    /// 4259840 (4 MiB, the protocol's largest message, plus 64 KiB).
    pub write_queue_bytes: usize,
    /// SO_SNDBUF for client sockets in bytes; 0 keeps the kernel default. Default: 0.
    pub socket_send_buffer_bytes: u32,
    /// Snapshots in flight per client (not yet taken by the kernel); at this many the loop
    /// skips the client for the tick. Default: 8.
    pub outbound_queue_snapshots: usize,
    /// Input frames queued per client. Default: 16.
    pub input_queue_frames: usize,
    /// Input frames applied per player per tick. Default: 2.
    pub max_inputs_per_tick: usize,
    /// Disconnect a client skipped for this long, in ms. Default: 3000.
    pub slow_consumer_timeout_ms: u64,
    /// Time for the upgrade plus Hello, in ms. Default: 5000.
    pub handshake_timeout_ms: u64,
    /// Time without a message before disconnecting, in ms. Default: 10000.
    pub idle_timeout_ms: u64,
    /// Interval between server Pings, in ms. Default: 1000.
    pub heartbeat_interval_ms: u64,
    /// Ticks of history kept for delta baselines. Default: 64.
    pub history_ticks: usize,
    /// How long a player whose connection was lost keeps its seat for a resume, in ms.
    /// Default: 10000.
    pub resume_grace_ms: u64,
    /// Time to wait for close acknowledgements on shutdown, in ms. Default: 2000.
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_clients: 1000,
            max_rooms: 1000,
            room_close_after_empty_ms: 30_000,
            slow_room_timeout_ms: 5000,
            max_message_bytes: 1024,
            read_buffer_bytes: 512,
            max_connections: 2000,
            max_connections_per_ip: 64,
            limit_loopback_per_ip: false,
            ipv6_prefix_len: 64,
            max_detached_seats_per_ip: 8,
            full_snapshot_interval_ms: 1000,
            max_pings_per_sec: 10,
            max_used_join_tokens: 100_000,
            max_queued_bytes_total: 256 << 20,
            max_inputs_per_sec: 120,
            write_queue_bytes: tickwire_shared::codec::MAX_SERVER_MESSAGE_BYTES + 64 * 1024,
            socket_send_buffer_bytes: 0,
            outbound_queue_snapshots: 8,
            input_queue_frames: 16,
            max_inputs_per_tick: 2,
            slow_consumer_timeout_ms: 3000,
            handshake_timeout_ms: 5000,
            idle_timeout_ms: 10_000,
            heartbeat_interval_ms: 1000,
            history_ticks: 64,
            resume_grace_ms: 10_000,
            shutdown_grace_ms: 2000,
        }
    }
}

impl Limits {
    /// Refuses values that would stall or break every session.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            (self.max_connections, "max_connections"),
            (self.max_rooms, "max_rooms"),
            (self.max_connections_per_ip, "max_connections_per_ip"),
            (self.max_inputs_per_sec as usize, "max_inputs_per_sec"),
            (self.outbound_queue_snapshots, "outbound_queue_snapshots"),
            (self.input_queue_frames, "input_queue_frames"),
            (self.max_inputs_per_tick, "max_inputs_per_tick"),
            (self.history_ticks, "history_ticks"),
            (self.read_buffer_bytes, "read_buffer_bytes"),
            (self.heartbeat_interval_ms as usize, "heartbeat_interval_ms"),
            (self.max_pings_per_sec as usize, "max_pings_per_sec"),
            (self.max_used_join_tokens, "max_used_join_tokens"),
            (
                self.full_snapshot_interval_ms as usize,
                "full_snapshot_interval_ms",
            ),
        ];
        if let Some((_, name)) = positive.iter().find(|(value, _)| *value == 0) {
            return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
        }
        if self.write_queue_bytes < 64 * 1024 {
            return Err(ConfigError::Invalid(
                "write_queue_bytes must be at least 65536".into(),
            ));
        }
        if self.ipv6_prefix_len > 128 {
            return Err(ConfigError::Invalid(
                "ipv6_prefix_len must be at most 128".into(),
            ));
        }
        if self.max_queued_bytes_total < self.write_queue_bytes {
            return Err(ConfigError::Invalid(
                "max_queued_bytes_total must be at least write_queue_bytes".into(),
            ));
        }
        if self.max_message_bytes < 64 {
            return Err(ConfigError::Invalid(
                "max_message_bytes must be at least 64 (a Hello)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_server_toml_states_the_built_in_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/server.toml");
        let file = ConfigFile::load(&path).expect("assets/server.toml loads");
        let defaults = ConfigFile::default();
        assert_eq!(file.bind, defaults.bind);
        assert_eq!(file.scenario, None);
        assert_eq!(file.scenarios_dir, defaults.scenarios_dir);
        assert_eq!(file.web_dir, defaults.web_dir);
        assert_eq!(file.limits, defaults.limits);
        defaults.limits.validate().expect("the defaults are valid");
    }

    #[test]
    fn web_dir_is_relative_to_the_config_file() {
        let dir = std::env::temp_dir().join(format!("tickwire-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("server.toml");
        std::fs::write(&path, "web_dir = \"web\"\n").expect("write");
        let file = ConfigFile::load(&path);
        let _ = std::fs::remove_dir_all(&dir);
        let file = file.expect("loads");
        assert_eq!(file.web_dir, Some(dir.join("web")));
    }

    #[test]
    fn limits_that_would_stall_sessions_are_refused() {
        let limits = Limits {
            max_inputs_per_tick: 0,
            ..Limits::default()
        };
        assert!(
            matches!(limits.validate(), Err(ConfigError::Invalid(m)) if m.contains("max_inputs_per_tick"))
        );
        let limits = Limits {
            max_message_bytes: 10,
            ..Limits::default()
        };
        assert!(limits.validate().is_err());
    }
}
