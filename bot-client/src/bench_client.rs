//! One benchmark client: a spectator, or with `--play` a player, that either rebuilds the world
//! and verifies every checksum (a [`Bot`]), or, to keep the load generator light at thousands
//! of clients, only reads each snapshot's stamp and counts bytes. Both measure latency from the
//! server's send stamp, and both count only while the benchmark is measuring. A verifying
//! player plays the game's own behaviour (the arena's: chase and fire); a light one sends a
//! random walk through the game's input schema, one input per snapshot.

use crate::behaviour::{Behaviour, Brain, InputWalk};
use crate::bot::{Bot, BotError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;
use tickwire_shared::{SentAt, codec};
use tokio_util::sync::CancellationToken;

/// Where a benchmark run is: every client reads the flag once per frame, and waits on the
/// token with one future for its whole life (cheap at thousands of clients).
#[derive(Clone, Debug, Default)]
pub(crate) struct Phase {
    pub(crate) measuring: Arc<AtomicBool>,
    pub(crate) done: CancellationToken,
}

/// What one client saw while measuring (join size: whenever it arrived).
#[derive(Debug, Default)]
pub(crate) struct ClientTally {
    pub(crate) connected: bool,
    pub(crate) snapshots: u64,
    pub(crate) bytes: u64,
    pub(crate) patches: u64,
    pub(crate) patch_bytes: u64,
    pub(crate) join_bytes: Option<usize>,
    pub(crate) latency_us: Vec<u32>,
    pub(crate) desyncs: u64,
    pub(crate) error: Option<String>,
}

impl ClientTally {
    fn record_snapshot(&mut self, len: usize, full: bool, measuring: bool, sent_at: SentAt) {
        if full {
            self.join_bytes.get_or_insert(len);
        }
        if !measuring {
            return;
        }
        self.snapshots += 1;
        if !full {
            self.patches += 1;
            self.patch_bytes += len as u64;
        }
        if let Some(latency) = sent_at.until(SentAt::from_system_time(SystemTime::now())) {
            self.latency_us
                .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        }
    }
}

/// How a playing client picks its inputs.
enum Inputs {
    /// The game's own behaviour, predicted through the client session.
    Game { brain: Brain, rng: StdRng },
    /// A random walk through the input schema, sent without prediction (the client does not
    /// apply snapshots, so nothing would confirm its inputs).
    Walk {
        walk: InputWalk,
        rng: StdRng,
        sequence: u32,
    },
}

impl Inputs {
    fn new(bot: &Bot, verify: bool) -> Option<Self> {
        bot.player()?;
        let mut rng = StdRng::from_os_rng();
        Some(if verify {
            Self::Game {
                brain: Brain::new(Behaviour::Fire),
                rng,
            }
        } else {
            let ranges = bot.world().layout()?.input_ranges();
            Self::Walk {
                walk: InputWalk::new(ranges, &mut rng),
                rng,
                sequence: 0,
            }
        })
    }

    /// This tick's input.
    async fn send(&mut self, bot: &mut Bot) -> Result<(), BotError> {
        match self {
            Self::Game { brain, rng } => {
                let lanes = bot
                    .player()
                    .and_then(|me| brain.decide(bot.session(), me, rng));
                bot.update_lanes(lanes.as_deref()).await
            }
            Self::Walk {
                walk,
                rng,
                sequence,
            } => {
                *sequence += 1;
                let lanes = walk.step(rng).to_vec();
                bot.send_input_unpredicted(*sequence, lanes).await
            }
        }
    }
}

/// Reads snapshots on a connected client until the phase is `Done`; with `play`, a player
/// sends an input for every snapshot.
pub(crate) async fn run_client(
    mut bot: Bot,
    verify: bool,
    play: bool,
    phase: Phase,
) -> ClientTally {
    let mut tally = ClientTally {
        connected: true,
        ..ClientTally::default()
    };
    let mut inputs = if play {
        Inputs::new(&bot, verify)
    } else {
        None
    };
    let done = phase.done.cancelled_owned();
    tokio::pin!(done);
    let outcome = loop {
        let frame = tokio::select! {
            () = &mut done => break Ok(()),
            frame = bot.receive_frame() => frame,
        };
        let measuring = phase.measuring.load(Ordering::Relaxed);
        let result = match frame {
            Ok(frame) => match on_frame(&mut bot, &mut tally, &frame, verify, measuring).await {
                Ok(true) => match &mut inputs {
                    Some(inputs) => inputs.send(&mut bot).await,
                    None => Ok(()),
                },
                other => other.map(drop),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            break Err(e);
        }
    };
    tally.desyncs = bot.stats().desyncs;
    if let Err(e) = outcome {
        tally.error = Some(format!("{}: {e}", bot.name()));
    }
    bot.close().await;
    tally
}

/// Counts one frame, and applies it when `verify` (or when it is not a snapshot). `Ok(true)`:
/// it was a snapshot.
async fn on_frame(
    bot: &mut Bot,
    tally: &mut ClientTally,
    frame: &[u8],
    verify: bool,
    measuring: bool,
) -> Result<bool, BotError> {
    if measuring {
        tally.bytes += frame.len() as u64;
    }
    // The stamp alone for the figures, so a snapshot is decoded in full at most once.
    let stamp = codec::peek_snapshot(frame);
    if let Ok(stamp) = &stamp {
        tally.record_snapshot(
            frame.len(),
            stamp.baseline.is_none(),
            measuring,
            stamp.sent_at,
        );
    }
    // Verifying clients apply and check every snapshot; every client answers the server's Pings.
    if verify || stamp.is_err() {
        bot.handle_frame(frame).await?;
    }
    Ok(stamp.is_ok())
}
