//! The server under benchmark: the release binary started as a child process on a free loopback
//! port, its JSON log read for its address and every tick's duration, and its CPU time and
//! memory read from the kernel's own accounting in /proc.

use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ, fixed by the ABI).
const USER_HZ: f64 = 100.0;

/// Why the server could not be run or measured.
#[derive(Debug, thiserror::Error)]
pub enum ServerProcessError {
    /// No server binary where one was expected.
    #[error(
        "no server binary at {0}: build it first with `cargo build --release` (or pass --server-bin)"
    )]
    Missing(PathBuf),
    /// Starting, signalling or reading the process failed.
    #[error("server process: {0}")]
    Io(#[from] std::io::Error),
    /// The server did not log its address in time, or exited.
    #[error("the server did not start listening within {0:?} (see its output above)")]
    NoAddress(Duration),
    /// /proc did not have the expected figures.
    #[error("cannot read /proc/{pid}/{file}")]
    Proc {
        /// The process.
        pid: u32,
        /// The file.
        file: &'static str,
    },
}

/// The release `tickwire-server` next to this executable's target directory: `target/release`
/// when this is a release build, else the sibling `release` directory if it has one.
pub fn locate_server_binary() -> Result<PathBuf, ServerProcessError> {
    let name = format!("tickwire-server{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe()?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let release = dir.with_file_name("release").join(&name);
    let candidates = [dir.join(&name), release];
    let found = if cfg!(debug_assertions) {
        candidates.iter().rev().find(|p| p.exists())
    } else {
        candidates.iter().find(|p| p.exists())
    };
    found
        .cloned()
        .ok_or_else(|| ServerProcessError::Missing(candidates[0].clone()))
}

/// Tick durations (microseconds) and overruns logged while recording was on.
#[derive(Debug, Default)]
pub(crate) struct TickLog {
    pub(crate) tick_us: Vec<u32>,
    pub(crate) overruns: u64,
}

/// A running server process.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    recording: Arc<AtomicBool>,
    ticks: Arc<Mutex<TickLog>>,
    reader: Option<JoinHandle<()>>,
}

/// One line of the server's JSON log (only what the benchmark reads).
#[derive(Deserialize)]
struct LogLine {
    level: String,
    fields: LogFields,
}

#[derive(Deserialize)]
struct LogFields {
    message: String,
    addr: Option<String>,
    tick_us: Option<u32>,
    ticks: Option<u64>,
}

impl ServerProcess {
    /// Starts `binary` on 127.0.0.1 port 0 and waits until it logs the address it listens on.
    pub(crate) fn start(
        binary: &Path,
        scenario: &Path,
        config: &Path,
    ) -> Result<Self, ServerProcessError> {
        if !binary.exists() {
            return Err(ServerProcessError::Missing(binary.to_owned()));
        }
        let mut child = Command::new(binary)
            .args([
                "--bind",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--scenario",
            ])
            .arg(scenario)
            .arg("--config")
            .arg(config)
            .env(
                "RUST_LOG",
                "warn,tickwire_server=info,tickwire_server::tick_stats=trace",
            )
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("the server's stdout was not captured"))?;
        let recording = Arc::new(AtomicBool::new(false));
        let ticks = Arc::new(Mutex::new(TickLog::default()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let reader = {
            let (recording, ticks) = (Arc::clone(&recording), Arc::clone(&ticks));
            std::thread::spawn(move || read_log(stdout, &addr_tx, &recording, &ticks))
        };
        let wait = Duration::from_secs(20);
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            recording,
            ticks,
            reader: Some(reader),
        };
        match addr_rx.recv_timeout(wait) {
            Ok(addr) => server.addr = addr,
            Err(_) => {
                let _ = server.child.kill();
                return Err(ServerProcessError::NoAddress(wait));
            }
        }
        Ok(server)
    }

    pub(crate) fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts collecting tick durations from the log.
    pub(crate) fn start_recording(&self) {
        self.recording.store(true, Ordering::SeqCst);
    }

    /// Stops collecting and returns what was collected.
    pub(crate) fn stop_recording(&self) -> TickLog {
        self.recording.store(false, Ordering::SeqCst);
        let mut ticks = self.ticks.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *ticks)
    }

    /// Sends SIGTERM and waits for a clean exit (killing the process after `grace`).
    pub(crate) fn stop(mut self, grace: Duration) -> Result<ExitStatus, ServerProcessError> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                self.child.kill()?;
                break self.child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        Ok(status)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Never leave a server behind (after an error, `stop` was not called).
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_log(
    stdout: impl std::io::Read,
    addr_tx: &mpsc::Sender<SocketAddr>,
    recording: &AtomicBool,
    ticks: &Mutex<TickLog>,
) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { return };
        let Ok(LogLine { level, fields }) = serde_json::from_str::<LogLine>(&line) else {
            continue;
        };
        match fields.message.as_str() {
            "listening" => {
                if let Some(addr) = fields.addr.and_then(|a| a.parse().ok()) {
                    let _ = addr_tx.send(addr);
                }
            }
            "tick" | "overrun" if recording.load(Ordering::SeqCst) => {
                let mut log = ticks.lock().unwrap_or_else(|e| e.into_inner());
                log.tick_us.extend(fields.tick_us);
                log.overruns += fields.ticks.unwrap_or(0);
            }
            // Warnings and errors are passed on for the reader to see.
            _ if level == "WARN" || level == "ERROR" => eprintln!("server: {line}"),
            _ => {}
        }
    }
}

/// User plus system CPU time of a process, from /proc/PID/stat.
pub(crate) fn cpu_time(pid: u32) -> Result<Duration, ServerProcessError> {
    let error = ServerProcessError::Proc { pid, file: "stat" };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|_| error)?;
    // Fields after the command name (which may contain spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest);
    let fields: Vec<&str> = after_name.unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok(Duration::from_secs_f64((user + system) as f64 / USER_HZ)),
        _ => Err(ServerProcessError::Proc { pid, file: "stat" }),
    }
}

/// Resident memory of a process in KiB, from /proc/PID/status.
pub(crate) fn rss_kb(pid: u32) -> Result<u64, ServerProcessError> {
    let error = || ServerProcessError::Proc {
        pid,
        file: "status",
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|_| error())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {}
        assert!(cpu_time(pid).expect("stat") > Duration::ZERO);
        assert!(rss_kb(pid).expect("status") > 100);
    }
}
