//! A chaos client for the fault soak: one connection after another, each doing something an
//! attacker or a broken network does (docs/SECURITY.md), in turn, until the deadline:
//! joining and vanishing, flooding full-snapshot requests or pings, opening rooms with fresh
//! names, sending garbage, dropping a connection and resuming it, and leaving connections that
//! never read. It counts what it saw; the honest bots beside it must not notice.

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;
use tickwire_shared::{
    ClientMessage, Hello, PROTOCOL_VERSION, Resume, ServerMessage, Welcome, close_code, codec,
};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one action may take before it counts as unexpected.
const ACTION_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections left open without ever being read, at most.
const MAX_STALLED: usize = 20;

/// What the chaos client did and saw.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChaosCounts {
    /// Actions run, all kinds.
    pub actions: u64,
    /// Players that joined and dropped their connection without a close.
    pub vanished: u64,
    /// Full-snapshot request floods closed with 1008.
    pub full_floods_closed: u64,
    /// Ping floods closed with 1008.
    pub ping_floods_closed: u64,
    /// Rooms opened under a fresh name and left.
    pub rooms_opened: u64,
    /// Garbage messages closed with 4000.
    pub garbage_closed: u64,
    /// Dropped connections resumed as the same player.
    pub resumed: u64,
    /// Connections opened that never read.
    pub stalled: u64,
    /// Actions whose outcome was not the documented one (or that timed out); the first few
    /// are in `unexpected_samples`.
    pub unexpected: u64,
    /// What the first unexpected outcomes were.
    pub unexpected_samples: Vec<String>,
}

/// Runs the chaos client against `url` (a `/ws/ROOM` URL; fresh rooms are its siblings) until
/// `until`, one action every `pause`.
pub async fn run_chaos(url: &str, until: Instant, pause: Duration) -> ChaosCounts {
    let mut counts = ChaosCounts::default();
    let mut stalled: VecDeque<Ws> = VecDeque::new();
    let base = url
        .rsplit_once('/')
        .map_or(url, |(base, _)| base)
        .to_owned();
    let mut step = 0u64;
    while Instant::now() < until {
        step += 1;
        let outcome = timeout(ACTION_TIMEOUT, async {
            match step % 7 {
                0 => vanish(url).await.map(|()| counts.vanished += 1),
                1 => flood(url, ClientMessage::RequestFull)
                    .await
                    .map(|()| counts.full_floods_closed += 1),
                2 => flood(url, ClientMessage::Ping { client_time_us: 0 })
                    .await
                    .map(|()| counts.ping_floods_closed += 1),
                3 => open_room(&format!("{base}/chaos-{step}"))
                    .await
                    .map(|()| counts.rooms_opened += 1),
                4 => garbage(url).await.map(|()| counts.garbage_closed += 1),
                5 => drop_and_resume(url).await.map(|()| counts.resumed += 1),
                _ => stall(url).await.map(|ws| {
                    counts.stalled += 1;
                    if stalled.len() == MAX_STALLED {
                        stalled.pop_front();
                    }
                    stalled.push_back(ws);
                }),
            }
        })
        .await
        .unwrap_or_else(|_| Err("timed out".into()));
        counts.actions += 1;
        if let Err(what) = outcome {
            counts.unexpected += 1;
            if counts.unexpected_samples.len() < 10 {
                counts
                    .unexpected_samples
                    .push(format!("step {step}: {what}"));
            }
        }
        tokio::time::sleep(pause).await;
    }
    counts
}

type Outcome<T = ()> = Result<T, String>;

fn hello(resume: Option<Resume>) -> Hello {
    Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "chaos".into(),
        spectator: false,
        resume,
        token: None,
        schema_hash: None,
    }
}

async fn connect(url: &str) -> Outcome<Ws> {
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| format!("connect: {e}"))
}

async fn send(ws: &mut Ws, message: &ClientMessage) -> Outcome {
    let bytes = codec::encode_client(message).map_err(|e| e.to_string())?;
    ws.send(Message::Binary(bytes.into()))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// Sends a Hello and reads until the Welcome.
async fn join(ws: &mut Ws, resume: Option<Resume>) -> Outcome<Welcome> {
    send(ws, &ClientMessage::Hello(hello(resume))).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => match codec::decode_server(&bytes) {
                Ok(ServerMessage::Welcome(welcome)) => return Ok(welcome),
                Ok(ServerMessage::Rejected(reason)) => return Err(format!("rejected: {reason}")),
                Ok(_) => {}
                Err(e) => return Err(format!("undecodable: {e}")),
            },
            Some(Ok(_)) => {}
            other => return Err(format!("no Welcome: {other:?}")),
        }
    }
}

/// Reads until the close frame; its code.
async fn close_code_of(ws: &mut Ws) -> Outcome<u16> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => return Ok(u16::from(frame.code)),
            Some(Ok(_)) => {}
            other => return Err(format!("no close frame: {other:?}")),
        }
    }
}

fn expect_code(seen: u16, expected: u16) -> Outcome {
    if seen == expected {
        Ok(())
    } else {
        Err(format!("closed with {seen}, expected {expected}"))
    }
}

async fn vanish(url: &str) -> Outcome {
    let mut ws = connect(url).await?;
    join(&mut ws, None).await?;
    Ok(())
}

/// Joins, then sends `message` far past its rate: the server closes with 1008.
async fn flood(url: &str, message: ClientMessage) -> Outcome {
    let mut ws = connect(url).await?;
    join(&mut ws, None).await?;
    for _ in 0..100 {
        if send(&mut ws, &message).await.is_err() {
            break;
        }
    }
    expect_code(close_code_of(&mut ws).await?, close_code::POLICY)
}

async fn open_room(url: &str) -> Outcome {
    let mut ws = connect(url).await?;
    join(&mut ws, None).await?;
    ws.close(None).await.map_err(|e| format!("close: {e}"))
}

async fn garbage(url: &str) -> Outcome {
    let mut ws = connect(url).await?;
    join(&mut ws, None).await?;
    ws.send(Message::Binary(vec![0xff, 0x13, 0x37, 0x00, 0xff].into()))
        .await
        .map_err(|e| format!("send: {e}"))?;
    expect_code(close_code_of(&mut ws).await?, close_code::MALFORMED)
}

/// Joins, reads a snapshot, drops the connection, and resumes on a new one: the same player.
async fn drop_and_resume(url: &str) -> Outcome {
    let mut ws = connect(url).await?;
    let welcome = join(&mut ws, None).await?;
    drop(ws);
    let mut ws = connect(url).await?;
    let resume = Resume {
        token: welcome.resume_token,
        last_applied: None,
    };
    // The server may not have seen the old connection end yet: then it closes that one with
    // 4005 and hands the seat over all the same.
    let resumed = join(&mut ws, Some(resume)).await?;
    if resumed.player != welcome.player {
        return Err(format!(
            "resumed as {:?}, not {:?}",
            resumed.player, welcome.player
        ));
    }
    ws.close(None).await.map_err(|e| format!("close: {e}"))
}

/// A connection that says Hello and never reads again.
async fn stall(url: &str) -> Outcome<Ws> {
    let mut ws = connect(url).await?;
    send(&mut ws, &ClientMessage::Hello(hello(None))).await?;
    Ok(ws)
}
