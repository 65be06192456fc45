//! `tickwire-bot --url URL --bots N --duration SECS [--behaviour NAME] [--json]`

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use tickwire_bot::{Behaviour, BotConfig, run_bots};
use tracing_subscriber::EnvFilter;

/// Headless Tickwire bots: connect, play, verify every snapshot, report.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Server WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:7777/ws")]
    url: String,
    /// Number of bots.
    #[arg(long, default_value_t = 10)]
    bots: usize,
    /// Seconds each bot plays.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// What the bots do.
    #[arg(long, value_enum, default_value_t = Behaviour::Fire)]
    behaviour: Behaviour,
    /// Print the summary as one JSON object on the last stdout line.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    if !(args.duration.is_finite() && args.duration > 0.0) {
        eprintln!("--duration must be a positive number of seconds");
        return ExitCode::from(2);
    }
    let config = BotConfig {
        url: args.url,
        bots: args.bots,
        duration: Duration::from_secs_f64(args.duration),
        behaviour: args.behaviour,
        progress: true,
    };
    let summary = run_bots(&config).await;
    println!("{summary}");
    if args.json {
        match serde_json::to_string(&summary) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("cannot print JSON: {e}"),
        }
    }
    if summary.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
