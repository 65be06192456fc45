//! A real `redis-server` (the Debian package) for the cluster tests: started on a free loopback
//! port with a data folder of its own, and stopped by its pid on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep};

pub(crate) struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// With its append-only file, fsynced on every write (it survives a crash).
    durable: bool,
}

impl RedisServer {
    /// Starts one (in memory only) and waits until it answers PING.
    pub(crate) async fn start() -> Self {
        Self::start_with(false).await
    }

    /// Starts one with its append-only file (`appendfsync always`), as the README runs it.
    pub(crate) async fn start_durable() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(durable: bool) -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
            probe.local_addr().expect("local addr").port()
        };
        let dir =
            std::env::temp_dir().join(format!("tickwire-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the redis data dir");
        let child = spawn(port, &dir, durable);
        let server = Self {
            child,
            port,
            dir,
            durable,
        };
        server.wait_ready().await;
        server
    }

    /// Kills it (SIGKILL: a crash).
    pub(crate) fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and data folder, after [`Self::crash`].
    pub(crate) async fn restart(&mut self) {
        self.child = spawn(self.port, &self.dir, self.durable);
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        let port = self.port;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers_ping().await {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {port} not ready in 10 s"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// `redis://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut reply = [0; 7];
        stream.write_all(b"PING\r\n").await.is_ok()
            && stream.read_exact(&mut reply).await.is_ok()
            && &reply == b"+PONG\r\n"
    }
}

fn spawn(port: u16, dir: &std::path::Path, durable: bool) -> Child {
    let binary = std::env::var_os("REDIS_SERVER").unwrap_or_else(|| "redis-server".into());
    let persistence: &[&str] = if durable {
        &["--appendonly", "yes", "--appendfsync", "always"]
    } else {
        &["--appendonly", "no"]
    };
    Command::new(&binary)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--protected-mode", "no"])
        .args(persistence)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}): install the Debian package redis-server")
        })
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
