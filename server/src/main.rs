//! `tickwire-server [--config FILE] [--bind ADDR:PORT] [--scenario FILE] [--scenarios-dir DIR]
//! [--tick-rate HZ] [--log-format text|json]`

use anyhow::Context;
use clap::Parser;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use tickwire_server::{ConfigFile, Scenario, ServerConfig};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// Tickwire game server: serves WebSocket at ws://ADDR:PORT/ws (or /ws/ROOM for a named room),
/// and /healthz, /readyz, /rooms and /metrics over HTTP on the same port.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Settings file (see assets/server.toml); flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7777].
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// Scenario a room starts with [default: the built-in arena, assets/scenarios/arena.toml].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Folder of scenarios a join may name (`/ws/ROOM?scenario=NAME` plays NAME.toml)
    /// [default: the config's scenarios_dir, else assets/scenarios if it exists].
    #[arg(long)]
    scenarios_dir: Option<PathBuf>,
    /// Ticks per second, overriding the scenario's.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=240))]
    tick_rate: Option<u16>,
    /// Log lines as text, or as one JSON object per line (for log pipelines and the benchmark).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// Where the repository keeps its scenarios (the default when running from a checkout).
const DEFAULT_SCENARIOS_DIR: &str = "assets/scenarios";

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let logs = tracing_subscriber::fmt().with_env_filter(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    );
    match args.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
    // Each client is a socket: lift the soft open-files limit (often 1024) to the hard limit.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
    }
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let mut scenario = match args.scenario.as_ref().or(file.scenario.as_ref()) {
        Some(path) => Scenario::load(path)?,
        None => Scenario::arena(),
    };
    if let Some(hz) = args.tick_rate {
        scenario.tick_rate = hz;
    }
    let scenarios_dir = args
        .scenarios_dir
        .or(file.scenarios_dir)
        .or_else(|| Some(PathBuf::from(DEFAULT_SCENARIOS_DIR)).filter(|dir| dir.is_dir()));
    let scenarios = match &scenarios_dir {
        Some(dir) => tickwire_server::load_scenarios(dir)?,
        None => Default::default(),
    };
    let config = ServerConfig {
        scenario,
        scenarios,
        allowed_origins: file.allowed_origins,
        limits: file.limits,
    };
    let bind = args.bind.unwrap_or(file.bind);
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    tickwire_server::run(listener, config, shutdown_signal()).await?;
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
