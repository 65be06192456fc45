//! The room directory: rooms by name, each created on its first join (with the default game
//! config, or the game or config the join names) and closed by its loop once empty for a while.

use crate::cluster::lease_clock::LeaseClock;
use crate::cluster::lease_store::Owner;
use crate::net::writers::Writers;
use crate::ops::config::ServerConfig;
use crate::ops::metrics::{Metrics, RoomSeries};
use crate::ops::status::{RoomStatus, RoomSummary};
use crate::room::core::{Join, Seated};
use crate::room::game_loop::{ClientLink, Command, GameLoop, JoinRequest, Refused};
use crate::room::placement::{Placement, RoomDirectory};
use crate::room::threads::{RoomTask, RoomThreads};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tickwire_game::{GameConfig, SavedRoom};
use tickwire_shared::room_path::RoomPath;
use tickwire_shared::{Hello, RejectReason};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

/// Commands queued per room.
const COMMAND_QUEUE: usize = 1024;

/// Joins retried when the room closed between lookup and join.
const JOIN_ATTEMPTS: usize = 3;

/// Every open room.
#[derive(Debug)]
pub(crate) struct Rooms {
    /// The games, the default config, the configs a join may name, and the limits.
    config: ServerConfig,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    threads: RoomThreads,
    writers: Writers,
    metrics: Arc<Metrics>,
    next_generation: std::sync::atomic::AtomicU64,
    /// Where rooms run: here alone, or in a cluster on the node holding each one's lease.
    placement: Arc<dyn RoomDirectory>,
}

#[derive(Debug, Clone)]
struct Entry {
    commands: mpsc::Sender<Command>,
    status: Arc<RoomStatus>,
    /// The game it plays.
    game: String,
    /// Tells this room from a later one with the same name.
    generation: u64,
    /// In a cluster: the room's lease. A room whose lease ran out closes before its next tick;
    /// until then it takes no joins (a new lease opens a new room).
    lease: Option<Arc<LeaseClock>>,
}

impl Entry {
    fn is_joinable(&self) -> bool {
        !self.commands.is_closed()
            && self
                .lease
                .as_ref()
                .is_none_or(|lease| lease.allows(std::time::Instant::now()))
    }
}

/// A room's loop just started, not yet in the directory.
struct Started {
    game: GameLoop,
    commands: mpsc::Sender<Command>,
    status: Arc<RoomStatus>,
    game_name: String,
    config_name: String,
    /// From another node's save.
    restored: bool,
}

/// Why a join did not get into a room.
#[derive(Debug)]
pub(crate) enum JoinError {
    Rejected(RejectReason),
    /// The room's loop is gone (it failed, or the server is stopping).
    RoomStopped,
    /// Another node of the cluster owns the room.
    Elsewhere(Owner),
}

impl Rooms {
    pub(crate) fn new(
        config: ServerConfig,
        threads: RoomThreads,
        writers: Writers,
        metrics: Arc<Metrics>,
        placement: Arc<dyn RoomDirectory>,
    ) -> Self {
        Self {
            config,
            entries: Arc::default(),
            threads,
            writers,
            metrics,
            next_generation: Default::default(),
            placement,
        }
    }

    /// Whether a room of this name is open here.
    pub(crate) fn is_open(&self, room: &str) -> bool {
        lock(&self.entries)
            .get(room)
            .is_some_and(Entry::is_joinable)
    }

    /// Where rooms run.
    pub(crate) fn placement(&self) -> &Arc<dyn RoomDirectory> {
        &self.placement
    }

    /// Joins the requested room, creating it if needed (not for a resume). Returns the client's
    /// seat and the room's command queue (for the Leave).
    pub(crate) async fn join(
        &self,
        request: &RoomPath,
        hello: &Hello,
        address: Option<IpAddr>,
        mut link: ClientLink,
    ) -> Result<(Seated, mpsc::Sender<Command>), JoinError> {
        let (lease, saved) = match Arc::clone(&self.placement)
            .place(request.room.clone())
            .await
        {
            Ok(Placement::Here { lease, saved }) => (lease, saved),
            Ok(Placement::There(owner)) => return Err(JoinError::Elsewhere(owner)),
            Ok(Placement::Full) => return Err(JoinError::Rejected(RejectReason::TooManyRooms)),
            Err(error) => {
                warn!(room = %request.room, %error, "the cluster directory did not answer");
                return Err(JoinError::Rejected(RejectReason::ServerBusy));
            }
        };
        for _ in 0..JOIN_ATTEMPTS {
            let commands = match self.room_for(request, hello, lease.as_ref(), saved.as_deref()) {
                Ok(commands) => commands,
                Err(reject) => {
                    // A lease taken for a room that did not open here (a resume of a room this
                    // node never ran, a limit) is given back at once, not renewed forever.
                    if let Some(lease) = &lease
                        && !self.is_open(&request.room)
                    {
                        Arc::clone(&self.placement).not_opened(&request.room, lease);
                    }
                    return Err(JoinError::Rejected(reject));
                }
            };
            let (reply, replied) = oneshot::channel();
            let join = Command::Join(JoinRequest {
                join: Join {
                    name: hello.name.clone(),
                    spectator: hello.spectator,
                    resume: hello.resume.clone(),
                    schema_hash: hello.schema_hash,
                    address,
                },
                link,
                reply,
            });
            if let Err(mpsc::error::SendError(command)) = commands.send(join).await {
                // Closed between lookup and send: try again with a fresh room.
                let Command::Join(JoinRequest { link: back, .. }) = command else {
                    return Err(JoinError::RoomStopped);
                };
                link = back;
                continue;
            }
            match replied.await {
                Ok(Ok(seated)) => return Ok((seated, commands)),
                Ok(Err(Refused::Rejected(reason))) => return Err(JoinError::Rejected(reason)),
                Ok(Err(Refused::RoomClosed(back))) => link = back,
                Err(_) => return Err(JoinError::RoomStopped),
            }
        }
        Err(JoinError::RoomStopped)
    }

    /// The open room of that name, or a new one: from `saved` (a save another node left) when
    /// there is one, else a fresh room, but not for a resume, whose room must still be open or
    /// saved. The world is built outside the directory's lock, so joins to other rooms never
    /// wait for it.
    fn room_for(
        &self,
        request: &RoomPath,
        hello: &Hello,
        lease: Option<&Arc<LeaseClock>>,
        saved: Option<&SavedRoom>,
    ) -> Result<mpsc::Sender<Command>, RejectReason> {
        let may_create = hello.resume.is_none() || saved.is_some();
        let open = |entries: &HashMap<String, Entry>| {
            let entry = entries
                .get(&request.room)
                .filter(|entry| entry.is_joinable())?;
            let named = request
                .scenario
                .as_ref()
                .and_then(|n| self.config.configs.get(n));
            let asked = request.game.as_ref().or(named.map(|config| &config.game));
            Some(match asked {
                Some(game) if *game != entry.game => Err(RejectReason::GameMismatch),
                _ => Ok(entry.commands.clone()),
            })
        };
        let max_rooms = self.config.limits.max_rooms;
        {
            let entries = lock(&self.entries);
            if let Some(commands) = open(&entries) {
                return commands;
            }
            if !may_create {
                return Err(RejectReason::ResumeExpired);
            }
            if entries.len() >= max_rooms {
                return Err(RejectReason::TooManyRooms);
            }
        }
        let Started {
            game,
            commands,
            status,
            game_name,
            config_name,
            restored,
        } = self.start_room(request, hello, saved)?;
        let generation = {
            let mut entries = lock(&self.entries);
            // Another join may have opened it meanwhile: this world is not needed then.
            if let Some(commands) = open(&entries) {
                return commands;
            }
            if entries.len() >= max_rooms {
                return Err(RejectReason::TooManyRooms);
            }
            let generation = self
                .next_generation
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            entries.insert(
                request.room.clone(),
                Entry {
                    commands: commands.clone(),
                    status,
                    game: game_name.clone(),
                    generation,
                    lease: lease.cloned(),
                },
            );
            generation
        };
        info!(room = %request.room, game = %game_name, config = %config_name, "room created");
        self.metrics.rooms.increment(1.0);
        let on_end = {
            let entries = Arc::clone(&self.entries);
            let room = request.room.clone();
            let metrics = Arc::clone(&self.metrics);
            Box::new(move || {
                {
                    let mut entries = lock(&entries);
                    if entries
                        .get(&room)
                        .is_some_and(|e| e.generation == generation)
                    {
                        entries.remove(&room);
                    }
                }
                metrics.rooms.decrement(1.0);
            })
        };
        let lease = Arc::clone(&self.placement).opened(&request.room, lease, restored);
        self.threads.add(RoomTask {
            name: request.room.clone(),
            game,
            on_end,
            lease,
        });
        Ok(commands)
    }

    /// A room's loop, its command queue and its status: restored from `saved` when this node
    /// can load it, else a fresh room (but not for a resume: its seat was in the save).
    fn start_room(
        &self,
        request: &RoomPath,
        hello: &Hello,
        saved: Option<&SavedRoom>,
    ) -> Result<Started, RejectReason> {
        let (limits, games) = (&self.config.limits, &self.config.games);
        if let Some(saved) = saved {
            let (commands, commands_rx) = mpsc::channel(COMMAND_QUEUE);
            let restored = GameConfig::parse(&saved.config).and_then(|config| {
                let status = Arc::new(RoomStatus::new(&request.room, &config.game, &config.name));
                let (game_name, config_name) = (config.game.clone(), config.name.clone());
                let (outbox, metrics) = (self.writers.outbox(), self.metrics.room());
                let restored = GameLoop::restore(
                    saved,
                    config,
                    games,
                    limits.clone(),
                    commands_rx,
                    outbox,
                    Arc::clone(&status),
                    metrics,
                )?;
                Ok(restored.map(|game| Started {
                    game,
                    commands,
                    status,
                    game_name,
                    config_name,
                    restored: true,
                }))
            });
            match restored {
                Ok(Some(room)) => return Ok(room),
                Ok(None) => {
                    warn!(room = %request.room, "the room's game cannot move: it starts afresh")
                }
                Err(error) => {
                    warn!(room = %request.room, %error, "the room's save does not load: it starts afresh")
                }
            }
            if hello.resume.is_some() {
                return Err(RejectReason::ResumeExpired);
            }
        }
        let config = self.config_for(request)?;
        let (commands, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let status = Arc::new(RoomStatus::new(&request.room, &config.game, &config.name));
        let (game_name, config_name) = (config.game.clone(), config.name.clone());
        let game = GameLoop::new(
            config,
            games,
            limits.clone(),
            commands_rx,
            self.writers.outbox(),
            Arc::clone(&status),
            self.metrics.room(),
        )
        .map_err(|error| {
            // Every config was checked when the server started: not seen in practice.
            warn!(room = %request.room, %error, "the game did not start");
            RejectReason::UnknownGame
        })?;
        Ok(Started {
            game,
            commands,
            status,
            game_name,
            config_name,
            restored: false,
        })
    }

    /// The config a new room starts with: the one the join names (`?scenario=`), else the
    /// default config if it is for the game the join names (`?game=`, or none), else that
    /// game's own default config.
    fn config_for(&self, request: &RoomPath) -> Result<GameConfig, RejectReason> {
        let named = match &request.scenario {
            Some(name) => Some(
                self.config
                    .configs
                    .get(name)
                    .ok_or(RejectReason::UnknownScenario)?,
            ),
            None => None,
        };
        let default = &self.config.game;
        match (&request.game, named) {
            (Some(game), Some(named)) if named.game != *game => Err(RejectReason::GameMismatch),
            (_, Some(named)) => Ok(named.clone()),
            (None, None) => Ok(default.clone()),
            (Some(game), None) if *game == default.game => Ok(default.clone()),
            (Some(game), None) => self
                .config
                .games
                .default_config(game)
                .map_err(|_| RejectReason::UnknownGame),
        }
    }

    /// The `/metrics` series of every open room.
    pub(crate) fn series(&self) -> Vec<(String, RoomSeries)> {
        let mut series: Vec<_> = lock(&self.entries)
            .values()
            .map(|entry| entry.status.series())
            .collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        series
    }

    /// Every open room, by name.
    pub(crate) fn list(&self) -> Vec<RoomSummary> {
        let mut rooms: Vec<RoomSummary> = lock(&self.entries)
            .values()
            .map(|entry| entry.status.summary())
            .collect();
        rooms.sort_by(|a, b| a.room.cmp(&b.room));
        rooms
    }

    /// What the browser's lobby shows: the games served, and each open room's name, game and
    /// seats (no figures or addresses: it is public).
    pub(crate) fn lobby(&self) -> Lobby {
        Lobby {
            games: self.config.games.names().collect(),
            default_game: self.config.game.game.clone(),
            rooms: self
                .list()
                .into_iter()
                .map(|room| LobbyRoom {
                    room: room.room,
                    game: room.game,
                    scenario: room.scenario,
                    players: room.players,
                    spectators: room.spectators,
                })
                .collect(),
        }
    }

    /// Stops the room threads (after the sessions have ended).
    pub(crate) fn stop(&self) {
        self.threads.stop();
    }
}

/// `GET /lobby`.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Lobby {
    games: Vec<&'static str>,
    /// The game a room plays when its join names none.
    default_game: String,
    rooms: Vec<LobbyRoom>,
}

#[derive(Debug, serde::Serialize)]
struct LobbyRoom {
    room: String,
    game: String,
    scenario: String,
    players: usize,
    spectators: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
