//! The server's command line, for the stock `tickwire-server` and for a game's own server
//! binary alike:
//!
//! `tickwire-server [--config FILE] [--bind ADDR:PORT] [--admin-bind ADDR:PORT] [--game NAME]
//! [--scenario FILE] [--scenarios-dir DIR] [--web-dir DIR] [--tick-rate HZ]
//! [--log-format text|json] [--tls-cert PEM --tls-key PEM]`
//! `tickwire-server list-games`
//! `tickwire-server mint-token --player ID [--room ROOM] [--ttl SECS]`

use crate::{ConfigFile, GameConfig, Games, JoinClaims, JoinSecret, ServerConfig};
use anyhow::Context;
use clap::Parser;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// Tickwire game server: serves WebSocket at ws://ADDR:PORT/ws (or /ws/ROOM for a named room),
/// and /healthz, /readyz and the browser client's files over HTTP on the same port; /rooms and
/// /metrics on --admin-bind, or on the game port to loopback peers only.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Settings file (see assets/server.toml); flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7777].
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// Serve the operations endpoints (/rooms, /metrics, /healthz, /readyz) to anyone on this
    /// address (plain HTTP; keep it private) instead of /rooms and /metrics on the game port
    /// [default: the config's admin_bind, else none].
    #[arg(long)]
    admin_bind: Option<SocketAddr>,
    /// The game rooms play unless a join names another (`/ws/ROOM?game=NAME`), with its own
    /// default config [default: the first game of `list-games`' binary, the arena for the stock
    /// server].
    #[arg(long)]
    game: Option<String>,
    /// Game config file rooms start with; it names its game (`game = "NAME"`) [default: the
    /// default game's own config].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Folder of game configs a join may name (`/ws/ROOM?scenario=NAME` plays NAME.toml)
    /// [default: the config's scenarios_dir, else assets/scenarios if it exists].
    #[arg(long)]
    scenarios_dir: Option<PathBuf>,
    /// Folder of the browser client's files, served over HTTP on the game port (`/` is its
    /// index.html) [default: the config's web_dir, else assets/web if it exists].
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// Join a cluster whose room directory is this Redis (`redis://HOST:PORT`): each room runs
    /// on exactly one node, and a node that does not own a room redirects its clients to the one
    /// that does. Needs --node-id and --public-url [default: the in-process directory of this
    /// server alone].
    #[arg(long, requires_all = ["node_id", "public_url"])]
    directory: Option<String>,
    /// This node's id in the cluster (1 to 32 of A-Z a-z 0-9 - _), unique among its nodes.
    #[arg(long, requires = "directory")]
    node_id: Option<String>,
    /// Where clients reach this node, `ws://HOST:PORT` or `wss://HOST:PORT`: the URL other
    /// nodes redirect them to.
    #[arg(long, requires = "directory")]
    public_url: Option<String>,
    /// Ticks per second, overriding the default config's.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=240))]
    tick_rate: Option<u16>,
    /// Log lines as text, or as one JSON object per line (for log pipelines and the benchmark).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Serve TLS (wss://, https://) with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the name of every game this server serves, one per line.
    ListGames,
    /// Print a signed join token (the secret comes from TICKWIRE_JOIN_SECRET, or --config).
    MintToken {
        /// The player's id (1 to 32 of A-Z a-z 0-9 - _); the server uses it as the name.
        #[arg(long)]
        player: String,
        /// The room it admits to (`default` for /ws).
        #[arg(long, default_value = "default")]
        room: String,
        /// Seconds until it expires.
        #[arg(long, default_value_t = 300)]
        ttl: u64,
        /// Settings file with a join_secret.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// The environment variable that holds the join secret (it overrides the config's).
const JOIN_SECRET_ENV: &str = "TICKWIRE_JOIN_SECRET";

/// Where the repository keeps its game configs (the default when running from a checkout).
const DEFAULT_SCENARIOS_DIR: &str = "assets/scenarios";

/// Where the repository keeps the browser client's page (the default when running from a
/// checkout).
const DEFAULT_WEB_DIR: &str = "assets/web";

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Runs the server command line (`std::env::args`) with `games`: what a game's own server
/// binary calls from its `main`.
pub fn main(games: Games) -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Some(Command::ListGames) => {
            for name in games.names() {
                println!("{name}");
            }
            Ok(())
        }
        Some(Command::MintToken {
            player,
            room,
            ttl,
            config,
        }) => mint_token(player, room, ttl, config.as_deref()),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(serve(args, games)),
    }
}

async fn serve(args: Args, games: Games) -> anyhow::Result<()> {
    let logs = tracing_subscriber::fmt().with_env_filter(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    );
    match args.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
    let cluster = cluster(&args)?;
    // Each client is a socket: lift the soft open-files limit (often 1024) to the hard limit.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
    }
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let mut game = default_config(
        &games,
        args.game.as_deref(),
        args.scenario.or(file.scenario),
    )?;
    if let Some(hz) = args.tick_rate {
        game.tick_rate = hz;
    }
    let scenarios_dir = args
        .scenarios_dir
        .or(file.scenarios_dir)
        .or_else(|| Some(PathBuf::from(DEFAULT_SCENARIOS_DIR)).filter(|dir| dir.is_dir()));
    let configs = match &scenarios_dir {
        Some(dir) => {
            let mut configs = crate::load_configs(dir)?;
            // A folder may hold configs of games this binary does not serve (the repository's
            // holds the example games'): those are left out, and a join naming one is refused.
            configs.retain(|name, config| {
                let served = games.contains(&config.game);
                if !served {
                    tracing::warn!(config = %name, game = %config.game, "config for a game this server does not serve; left out");
                }
                served
            });
            configs
        }
        None => Default::default(),
    };
    let web_dir = args
        .web_dir
        .or(file.web_dir)
        .or_else(|| Some(PathBuf::from(DEFAULT_WEB_DIR)).filter(|dir| dir.is_dir()));
    if let Some(dir) = &web_dir {
        anyhow::ensure!(dir.is_dir(), "web dir {} is not a folder", dir.display());
        tracing::info!(dir = %dir.display(), "serving web files");
    }
    let join_secret = join_secret(file.join_secret.clone())?;
    if join_secret.is_some() {
        tracing::info!("join tokens required");
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key)?),
        _ => None,
    };
    tracing::info!(game = %game.game, config = %game.name, "rooms start with");
    let config = ServerConfig {
        games,
        game,
        configs,
        allowed_origins: file.allowed_origins,
        join_secret,
        tls,
        web_dir,
        limits: file.limits,
        cluster,
    };
    let bind = args.bind.unwrap_or(file.bind);
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    match args.admin_bind.or(file.admin_bind) {
        Some(admin_bind) => {
            let admin = TcpListener::bind(admin_bind)
                .await
                .with_context(|| format!("cannot listen on {admin_bind} (admin)"))?;
            crate::run_with_admin(listener, admin, config, shutdown_signal()).await?;
        }
        None => crate::run(listener, config, shutdown_signal()).await?,
    }
    Ok(())
}

/// The config rooms start with: the `--scenario` file (which must be for `--game`, if both are
/// given), else the game's own default config.
fn default_config(
    games: &Games,
    game: Option<&str>,
    scenario: Option<PathBuf>,
) -> anyhow::Result<GameConfig> {
    let config = match (scenario, game) {
        (Some(path), _) => GameConfig::load(&path)?,
        (None, Some(game)) => games.default_config(game)?,
        (None, None) => {
            let game = games.default_game().context("this server has no games")?;
            games.default_config(game)?
        }
    };
    if let Some(game) = game {
        anyhow::ensure!(
            config.game == game,
            "the scenario (--scenario, or the config file's) is a config for {:?}, not for --game {game:?}",
            config.game
        );
    }
    Ok(config)
}

/// The join secret from the environment, else from the config file.
fn join_secret(from_file: Option<String>) -> anyhow::Result<Option<JoinSecret>> {
    let Some(secret) = std::env::var(JOIN_SECRET_ENV).ok().or(from_file) else {
        return Ok(None);
    };
    JoinSecret::new(secret).map(Some).with_context(|| {
        format!(
            "the join secret must be at least {} bytes",
            JoinSecret::MIN_BYTES
        )
    })
}

fn mint_token(
    player: String,
    room: String,
    ttl: u64,
    config: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let from_file = match config {
        Some(path) => ConfigFile::load(path)?.join_secret,
        None => None,
    };
    let secret = join_secret(from_file)?.with_context(|| {
        format!("no join secret: set {JOIN_SECRET_ENV} or join_secret in --config")
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?;
    let expires_unix = now
        .as_secs()
        .checked_add(ttl)
        .context("--ttl is too large")?;
    let claims = JoinClaims {
        player,
        room,
        expires_unix,
    };
    let token = crate::join_token::mint(&secret, &claims)
        .context("player and room must be 1 to 32 of A-Z a-z 0-9 - _")?;
    println!("{token}");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// The cluster this node joins (`--directory`), with its flags checked.
fn cluster(args: &Args) -> anyhow::Result<Option<crate::config::ClusterConfig>> {
    let (Some(directory), Some(id), Some(url)) = (&args.directory, &args.node_id, &args.public_url)
    else {
        return Ok(None);
    };
    anyhow::ensure!(
        directory.starts_with("redis://"),
        "--directory {directory:?}: expected redis://HOST:PORT"
    );
    anyhow::ensure!(
        tickwire_shared::room_path::is_valid_name(id),
        "--node-id {id:?}: 1 to 32 of A-Z a-z 0-9 - _"
    );
    let redirect = tickwire_shared::Redirect {
        url: format!("{}/ws/room", url.trim_end_matches('/')),
        epoch: 0,
    };
    anyhow::ensure!(
        redirect.is_valid() && !url.contains(['?', '#']),
        "--public-url {url:?}: expected ws://HOST:PORT or wss://HOST:PORT"
    );
    Ok(Some(crate::config::ClusterConfig {
        directory: directory.clone(),
        node: crate::cluster::lease_store::Node {
            id: id.clone(),
            url: url.trim_end_matches('/').to_owned(),
        },
        lease_ttl: crate::config::ClusterConfig::DEFAULT_LEASE_TTL,
        save_every: crate::config::ClusterConfig::DEFAULT_SAVE_EVERY,
    }))
}
