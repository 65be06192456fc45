//! `tickwire-bot --url URL --bots N --duration SECS [--rooms R] [--behaviour NAME] [--latency-ms MS] [--jitter-ms MS] [--json]`
//! `tickwire-bot bench --scenario FILE --clients N[,N...] --duration SECS [--play] [--json]`
//! `tickwire-bot soak [--scenario FILE] [--bots N] [--duration SECS] [--warmup SECS] [--chaos] [--json]`

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tickwire_bot::{
    Behaviour, BenchConfig, BenchFigures, BenchOutcome, BotConfig, Link, MAX_OVERRUN_PCT,
    MAX_RSS_GROWTH_PCT, SoakConfig, locate_server_binary, run_bench, run_bots, run_soak,
    sweep_report,
};
use tracing_subscriber::EnvFilter;

/// Headless Tickwire bots: connect, play, verify every snapshot, report.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Server WebSocket URL. Give it several times for the nodes of a cluster: a bootstrap
    /// list each bot tries in order (from its own place in it) to connect and to resume.
    #[arg(long, default_value = "ws://127.0.0.1:7777/ws")]
    url: Vec<String>,
    /// Number of bots.
    #[arg(long, default_value_t = 10)]
    bots: usize,
    /// Seconds each bot plays.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Spread the bots over this many rooms, `URL/room-0` to `URL/room-{R-1}` (bot i joins
    /// room i mod R); the URL must then end in /ws. Default: every bot joins URL.
    #[arg(long)]
    rooms: Option<usize>,
    /// A signed join token (`tickwire-server mint-token`), for servers that require one. A
    /// token opens one seat: give it once per bot, in order.
    #[arg(long)]
    token: Vec<String>,
    /// For wss:// to a server with a private or self-signed certificate: trust the PEM
    /// certificates in this file (default: the web's root certificates).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// What the bots do.
    #[arg(long, value_enum, default_value_t = Behaviour::Fire)]
    behaviour: Behaviour,
    /// Link conditioner: after the handshake, delay every message this many milliseconds in
    /// each direction (so the round trip grows by twice this), keeping their order as TCP does.
    #[arg(long, default_value_t = 0.0, value_parser = non_negative_ms)]
    latency_ms: f64,
    /// Link conditioner: each message's delay varies uniformly by up to this many
    /// milliseconds either way around --latency-ms (never below zero).
    #[arg(long, default_value_t = 0.0, value_parser = non_negative_ms)]
    jitter_ms: f64,
    /// Print the summary as one JSON object on the last stdout line.
    #[arg(long)]
    json: bool,
}

/// A delay in milliseconds: finite and not negative.
fn non_negative_ms(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ms) if ms.is_finite() && (0.0..=60_000.0).contains(&ms) => Ok(ms),
        _ => Err(format!("{text:?} is not a delay in 0..=60000 ms")),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the release server with a scenario, connect spectator clients, measure, report.
    Bench(BenchArgs),
    /// Start the release server, play bots for a long time, report whether it stays healthy.
    Soak(SoakArgs),
}

#[derive(Debug, clap::Args)]
struct SoakArgs {
    /// The scenario the server plays.
    #[arg(long, default_value = "assets/scenarios/arena.toml")]
    scenario: PathBuf,
    /// Bots to play.
    #[arg(long, default_value_t = 500)]
    bots: usize,
    /// Seconds to measure, after the warm-up.
    #[arg(long, default_value_t = 600.0)]
    duration: f64,
    /// Seconds the bots play before the measurement starts: long enough for the world and the
    /// allocator to settle (500 firing bots take about two minutes).
    #[arg(long, default_value_t = 150.0)]
    warmup: f64,
    /// What the bots do.
    #[arg(long, value_enum, default_value_t = Behaviour::Fire)]
    behaviour: Behaviour,
    /// The server binary [default: target/release/tickwire-server beside this program].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Print the figures as one JSON object on the last stdout line.
    #[arg(long)]
    json: bool,
    /// Run a chaos client in the bots' room all along: seat churn, full-snapshot and ping
    /// floods, fresh room names, garbage, dropped connections resumed, readers that stall.
    #[arg(long)]
    chaos: bool,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// The scenario the server plays, e.g. assets/scenarios/parity-320.toml.
    #[arg(long)]
    scenario: PathBuf,
    /// Clients to connect; a comma-separated list runs a sweep (one fresh server per count).
    #[arg(long, value_delimiter = ',', required = true)]
    clients: Vec<usize>,
    /// Seconds to measure, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds to wait after every client connected before measuring.
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Clients that rebuild the world and verify every checksum (the rest count bytes).
    #[arg(long, default_value_t = 10)]
    verifying: usize,
    /// The clients join as players and play: the verifying ones with the game's own behaviour
    /// (the arena's: chase and fire), the rest with a random walk through the game's input
    /// (in the arena: move, aim and fire). Without it they are spectators.
    #[arg(long)]
    play: bool,
    /// The server binary [default: target/release/tickwire-server beside this program].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Where a sweep writes its table and plot.
    #[arg(long, default_value = "docs/benchmarks")]
    report_dir: PathBuf,
    /// Print each run's figures as one JSON object per line (the last line is the last run).
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
    // Every bot is a socket: lift the soft open-files limit (often 1024) to the hard limit.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("cannot raise the open files limit: {e}");
    }
    match args.command {
        Some(Command::Bench(bench)) => run_bench_command(bench).await,
        Some(Command::Soak(soak)) => run_soak_command(soak).await,
        None => run_bots_command(args).await,
    }
}

fn seconds(value: f64, flag: &str) -> Result<Duration, ExitCode> {
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        eprintln!("{flag} must be a non-negative number of seconds");
        Err(ExitCode::from(2))
    }
}

async fn run_bots_command(args: Args) -> ExitCode {
    if !(args.duration.is_finite() && args.duration > 0.0) {
        eprintln!("--duration must be a positive number of seconds");
        return ExitCode::from(2);
    }
    let duration = Duration::from_secs_f64(args.duration);
    if !args.token.is_empty() && args.token.len() != args.bots {
        eprintln!(
            "a join token opens one seat: give --token once per bot ({} bots, {} tokens)",
            args.bots,
            args.token.len()
        );
        return ExitCode::from(2);
    }
    if let Some(rooms) = args.rooms
        && (rooms == 0 || !args.url.iter().all(|url| url.ends_with("/ws")))
    {
        eprintln!("--rooms needs at least one room and a URL ending in /ws (rooms are URL/room-K)");
        return ExitCode::from(2);
    }
    let tls = match args.ca_cert.as_deref().map(tickwire_bot::tls_trusting) {
        Some(Ok(tls)) => Some(tls),
        Some(Err(e)) => {
            eprintln!("--ca-cert: {e}");
            return ExitCode::from(2);
        }
        None => None,
    };
    let config = BotConfig {
        urls: args.url,
        rooms: args.rooms,
        tokens: args.token,
        tls,
        bots: args.bots,
        duration,
        behaviour: args.behaviour,
        link: Link {
            latency: Duration::from_secs_f64(args.latency_ms / 1000.0),
            jitter: Duration::from_secs_f64(args.jitter_ms / 1000.0),
        },
        progress: true,
    };
    let summary = run_bots(&config).await;
    println!("{summary}");
    if args.json {
        print_json(&summary);
    }
    if summary.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `--duration`, `--warmup` and the server binary of `bench` and `soak`.
fn timing_and_server(
    duration: f64,
    warmup: f64,
    server_bin: Option<PathBuf>,
) -> Result<(Duration, Duration, PathBuf), ExitCode> {
    let duration = seconds(duration, "--duration")?;
    let warmup = seconds(warmup, "--warmup")?;
    let server_bin = server_bin
        .map_or_else(locate_server_binary, Ok)
        .map_err(|e| {
            eprintln!("{e}");
            ExitCode::FAILURE
        })?;
    Ok((duration, warmup, server_bin))
}

async fn run_bench_command(args: BenchArgs) -> ExitCode {
    let (duration, warmup, server_bin) =
        match timing_and_server(args.duration, args.warmup, args.server_bin) {
            Ok(plan) => plan,
            Err(code) => return code,
        };
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build of tickwire-bot; its own figures are pessimistic");
    }
    let mut runs: Vec<BenchFigures> = Vec::new();
    let mut all_ok = true;
    for &clients in &args.clients {
        let config = BenchConfig {
            scenario: args.scenario.clone(),
            clients,
            duration,
            warmup,
            verifying: args.verifying.min(clients),
            play: args.play,
            server_bin: server_bin.clone(),
        };
        eprintln!("bench: {clients} clients on {}", server_bin.display());
        let outcome = match run_bench(&config).await {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!("bench failed: {e}");
                return ExitCode::FAILURE;
            }
        };
        print_outcome(&outcome);
        all_ok &= outcome.success();
        if args.json {
            print_json(&outcome.figures);
        }
        runs.push(outcome.figures);
    }
    if runs.len() > 1 {
        let stem = format!("{}-sweep", runs[0].scenario);
        match sweep_report::write_report(&args.report_dir, &stem, &runs) {
            Ok((table, plot)) => {
                eprintln!("sweep: wrote {} and {}", table.display(), plot.display())
            }
            Err(e) => {
                eprintln!("cannot write the sweep report: {e}");
                all_ok = false;
            }
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run_soak_command(args: SoakArgs) -> ExitCode {
    let (duration, warmup, server_bin) =
        match timing_and_server(args.duration, args.warmup, args.server_bin) {
            Ok(plan) => plan,
            Err(code) => return code,
        };
    let config = SoakConfig {
        scenario: args.scenario,
        bots: args.bots,
        duration,
        warmup,
        behaviour: args.behaviour,
        server_bin,
        chaos: args.chaos,
    };
    let f = match run_soak(&config).await {
        Ok(figures) => figures,
        Err(e) => {
            eprintln!("soak failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{} bots for {:.0} s: tick p50 {:.2} ms p99 {:.2} ms ({} ticks, {} overruns = {:.3}%, bar {MAX_OVERRUN_PCT}%) | RSS {} -> {} KiB ({:+.2}%, bar {MAX_RSS_GROWTH_PCT}%) | resumes {} | desyncs {} | errors {} | slowest bot {:.2} Hz | server exit {:?} | {}",
        f.bots,
        f.duration_s,
        f.tick_ms_p50,
        f.tick_ms_p99,
        f.ticks,
        f.overruns,
        f.overrun_pct,
        f.rss_kb_start,
        f.rss_kb_end,
        f.rss_growth_pct,
        f.resumes,
        f.desyncs,
        f.errors,
        f.snapshot_hz_min,
        f.server_exit,
        if f.success() {
            "healthy"
        } else {
            "NOT healthy"
        },
    );
    if let Some(chaos) = &f.chaos {
        println!(
            "chaos: {} actions: {} vanished, {} full-request floods and {} ping floods closed 1008, {} rooms opened, {} garbage closed 4000, {} resumed, {} stalled; {} unexpected {:?}",
            chaos.actions,
            chaos.vanished,
            chaos.full_floods_closed,
            chaos.ping_floods_closed,
            chaos.rooms_opened,
            chaos.garbage_closed,
            chaos.resumed,
            chaos.stalled,
            chaos.unexpected,
            chaos.unexpected_samples,
        );
    }
    if args.json {
        print_json(&f);
    }
    if f.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_outcome(outcome: &BenchOutcome) {
    let f = &outcome.figures;
    println!(
        "{} clients ({} connected, {} errors): {:.2} Hz of {} | tick p50 {:.2} ms p99 {:.2} ms ({} ticks, {} overruns) | patch {:.1} B, join {} B, {:.0} B/s per client | server CPU {:.1}% = {:.2} us per client per tick | RSS {} KiB, {:.1} KiB per client | latency p50 {:.2} ms p99 {:.2} ms | desyncs {} | load generator CPU {:.1}% | server exit {:?}",
        f.clients,
        outcome.connected,
        outcome.errors,
        f.achieved_hz,
        f.tick_hz,
        f.tick_ms_p50,
        f.tick_ms_p99,
        outcome.ticks,
        outcome.overruns,
        f.patch_bytes_avg,
        f.join_bytes,
        f.down_bytes_per_client_per_sec,
        f.server_cpu_pct,
        f.server_cpu_us_per_client_tick,
        f.server_rss_kb,
        f.rss_kb_per_client,
        f.latency_ms_p50,
        f.latency_ms_p99,
        f.desyncs,
        outcome.load_cpu_pct,
        outcome.server_exit,
    );
    if let Some(error) = &outcome.first_error {
        println!("first error: {error}");
    }
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("cannot print JSON: {e}"),
    }
}
