//! The tokio shell around a room's core ([`RoomCore`]): it reads the room's command queue and
//! each client's event queue into the core, ticks it when due, and hands the messages it sends
//! to the snapshot writers. Sessions -> [`Command`]s and per-client bounded [`ClientEvent`]
//! queues -> core -> one batch per snapshot writer per tick -> sockets. It never waits on a
//! socket.

use crate::net::close_reason::CloseReason;
use crate::net::connection::Connection;
use crate::net::writers::Outbox;
use crate::ops::config::Limits;
use crate::ops::metrics::RoomMetrics;
use crate::ops::status::RoomStatus;
use crate::room::core::{ClientId, Join, Outlet, RoomCore, RoomEnd, RoomSave, Seated};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tickwire_game::{ConfigError, GameConfig, Games, SavedRoom};
use tickwire_shared::{InputMessage, RejectReason};
use tokio::sync::{mpsc, oneshot};

/// What sessions ask of the room.
#[derive(Debug)]
pub(crate) enum Command {
    /// A client sent an acceptable Hello.
    Join(JoinRequest),
    /// The session ended; see [`RoomCore::leave`].
    Leave { id: ClientId, resumable: bool },
}

/// A join and the session's ends of its channels. The room replies with the client's seat
/// and sends the Welcome itself, ahead of the first snapshot.
#[derive(Debug)]
pub(crate) struct JoinRequest {
    pub(crate) join: Join,
    pub(crate) link: ClientLink,
    pub(crate) reply: oneshot::Sender<Result<Seated, Refused>>,
}

/// The room's ends of one session's channels.
#[derive(Debug)]
pub(crate) struct ClientLink {
    /// Inputs and full-snapshot requests from the client (bounded: the session drops inputs
    /// that do not fit).
    pub(crate) events: mpsc::Receiver<ClientEvent>,
    /// The client's socket, written by the snapshot writers.
    pub(crate) connection: Arc<Connection>,
    /// Fired when the room disconnects the client.
    pub(crate) kick: oneshot::Sender<CloseReason>,
}

/// A decoded, validated message from a joined client.
#[derive(Debug)]
pub(crate) enum ClientEvent {
    /// Checked against the game's input schema by the session.
    Input(InputMessage),
    RequestFull,
}

/// What a join command gets back when the room does not take the client.
#[derive(Debug)]
pub(crate) enum Refused {
    Rejected(RejectReason),
    /// The room closed before it read the join: the link comes back for another room.
    RoomClosed(ClientLink),
}

/// What the core keeps of a client's session: where its messages go and how to close it.
#[derive(Debug)]
pub(crate) struct Peer {
    connection: Arc<Connection>,
    kick: oneshot::Sender<CloseReason>,
}

/// One room: its core, the queues that feed it, and its outbox. The room threads call
/// [`Self::run_due`].
#[derive(Debug)]
pub(crate) struct GameLoop {
    core: RoomCore<Peer>,
    commands: mpsc::Receiver<Command>,
    /// Each seated client's event queue.
    events: HashMap<ClientId, mpsc::Receiver<ClientEvent>>,
    /// This tick's messages, by snapshot writer.
    outbox: Outbox,
}

/// The core's outlet: the snapshot writers' outbox, and the clients' event queues (dropped
/// with the client).
struct Sockets<'a> {
    outbox: &'a mut Outbox,
    events: &'a mut HashMap<ClientId, mpsc::Receiver<ClientEvent>>,
}

impl Outlet<Peer> for Sockets<'_> {
    fn in_flight(&self, peer: &Peer) -> usize {
        peer.connection.messages_in_flight()
    }

    fn send(&mut self, client: ClientId, peer: &Peer, message: Bytes) {
        self.outbox.push(client, &peer.connection, message);
    }

    fn disconnect(&mut self, client: ClientId, peer: Peer, reason: Option<CloseReason>) {
        self.events.remove(&client);
        if let Some(reason) = reason {
            let _ = peer.kick.send(reason);
        }
    }
}

impl GameLoop {
    /// A room playing `config`'s game from `games`; fails only if the game refuses the config
    /// (servers check every config when they start).
    pub(crate) fn new(
        config: GameConfig,
        games: &Games,
        limits: Limits,
        commands: mpsc::Receiver<Command>,
        outbox: Outbox,
        status: Arc<RoomStatus>,
        metrics: RoomMetrics,
    ) -> Result<Self, ConfigError> {
        let core = RoomCore::new(config, games, limits, status, metrics, Instant::now())?;
        Ok(Self::around(core, commands, outbox))
    }

    /// A room that moved here, from its save (see [`RoomCore::restore`]); `Ok(None)` when
    /// its game's rooms cannot move.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restore(
        saved: &SavedRoom,
        config: GameConfig,
        games: &Games,
        limits: Limits,
        commands: mpsc::Receiver<Command>,
        outbox: Outbox,
        status: Arc<RoomStatus>,
        metrics: RoomMetrics,
    ) -> Result<Option<Self>, ConfigError> {
        let core = RoomCore::restore(
            saved,
            config,
            games,
            limits,
            status,
            metrics,
            Instant::now(),
        )?;
        Ok(core.map(|core| Self::around(core, commands, outbox)))
    }

    fn around(core: RoomCore<Peer>, commands: mpsc::Receiver<Command>, outbox: Outbox) -> Self {
        Self {
            core,
            commands,
            events: HashMap::new(),
            outbox,
        }
    }

    /// The room now, for its save.
    pub(crate) fn save_state(&mut self) -> RoomSave {
        self.core.save_state()
    }

    /// Whether a client's resume token is not saved yet.
    pub(crate) fn seats_changed(&self) -> bool {
        self.core.seats_changed()
    }

    /// Runs the room's tick if it is due at `now`: this tick's joins, leaves and client
    /// events into the core, the tick, and its messages to the writers. Returns when the next
    /// tick is due, or why the room ends.
    pub(crate) fn run_due(&mut self, now: Instant) -> Result<Instant, RoomEnd> {
        if now < self.core.next_tick() {
            return Ok(self.core.next_tick());
        }
        self.take_commands(now);
        self.take_client_events();
        let mut sockets = Sockets {
            outbox: &mut self.outbox,
            events: &mut self.events,
        };
        let due = self.core.run_due(now, &mut sockets);
        self.outbox.flush();
        due
    }

    /// Ends the room: joins still queued get their link back (to try another room), and every
    /// client is kicked with `reason`.
    pub(crate) fn close(&mut self, reason: Option<CloseReason>) {
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Join(JoinRequest { link, reply, .. }) = command {
                let _ = reply.send(Err(Refused::RoomClosed(link)));
            }
        }
        let mut sockets = Sockets {
            outbox: &mut self.outbox,
            events: &mut self.events,
        };
        self.core.close(reason, &mut sockets);
        self.outbox.flush();
    }

    fn take_commands(&mut self, now: Instant) {
        while let Ok(command) = self.commands.try_recv() {
            let mut sockets = Sockets {
                outbox: &mut self.outbox,
                events: &mut self.events,
            };
            match command {
                Command::Join(JoinRequest { join, link, reply }) => {
                    let peer = Peer {
                        connection: link.connection,
                        kick: link.kick,
                    };
                    match self.core.join(join, peer, &mut sockets) {
                        Ok(seated) => {
                            let id = seated.client_id;
                            if reply.send(Ok(seated)).is_ok() {
                                sockets.events.insert(id, link.events);
                            } else {
                                // The session gave up while waiting: nobody plays this seat.
                                self.core.leave(id, false, now, &mut sockets);
                            }
                        }
                        Err(Some(reason)) => {
                            let _ = reply.send(Err(Refused::Rejected(reason)));
                        }
                        // The session finds the room gone.
                        Err(None) => {}
                    }
                }
                Command::Leave { id, resumable } => {
                    self.core.leave(id, resumable, now, &mut sockets)
                }
            }
        }
    }

    /// Everything each client sent since the last tick.
    fn take_client_events(&mut self) {
        for (&id, events) in &mut self.events {
            while let Ok(event) = events.try_recv() {
                match event {
                    ClientEvent::Input(input) => self.core.input(id, input),
                    ClientEvent::RequestFull => self.core.request_full(id),
                }
            }
        }
    }
}
