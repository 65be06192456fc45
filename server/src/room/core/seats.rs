//! Seats: joins (new or resumed), the Welcome, seats kept for a resume, and leaving.

use super::*;

impl<P> RoomCore<P> {
    /// Seats a client (a new seat, or with `resume` one whose connection was lost) and sends
    /// its Welcome, ahead of its first snapshot. `Err(None)`: the Welcome did not encode
    /// (never seen; the schema encoded when the room started), so the client has no room.
    pub(crate) fn join(
        &mut self,
        join: Join,
        peer: P,
        out: &mut impl Outlet<P>,
    ) -> Result<Seated, Option<RejectReason>> {
        let Join {
            name,
            spectator,
            resume,
            schema_hash: request_schema,
            address,
        } = join;
        let (seat, baseline, resumed) = match resume {
            Some(resume) => match self.take_seat(resume.token, out) {
                // Deltas resume from the client's last tick while the history still has it
                // (and it is this room's tick, not the one of the node it moved from).
                Some(seat) => {
                    let baseline = resume
                        .last_applied
                        .filter(|&t| !seat.from_save && self.replication.has(t));
                    (seat, baseline, true)
                }
                None => return Err(Some(RejectReason::ResumeExpired)),
            },
            // Seats kept for a resume count too: a client that joins and drops its connection
            // over and over must not grow the world past the cap.
            None if self.clients.len() + self.detached.len() >= self.limits.max_clients => {
                return Err(Some(RejectReason::RoomFull));
            }
            None => {
                // A game may seat a player as a spectator (one without players always does).
                let player = if spectator {
                    None
                } else {
                    self.game.join(&name)
                };
                let seat = Seat {
                    name,
                    player,
                    last_input: 0,
                    resume_token: ResumeToken(0),
                    address,
                    view: None,
                    allowance: None,
                    from_save: false,
                };
                (seat, None, false)
            }
        };
        let client_id = self.allocate_client_id();
        // A fresh single-use token with every Welcome, from a cryptographic generator.
        let seat = Seat {
            resume_token: ResumeToken(rand::random()),
            address,
            from_save: false,
            ..seat
        };
        let seated = Seated {
            client_id,
            spectator: seat.player.is_none(),
            layout: Arc::clone(self.game.layout()),
        };
        let welcome = Welcome {
            client_id,
            player: seat.player,
            tick_rate: self.config.tick_rate,
            schema: (request_schema != Some(self.game.schema_hash()))
                .then(|| self.game.layout().schema().clone()),
            resume_token: seat.resume_token,
        };
        let welcome = match codec::encode_server(&ServerMessage::Welcome(welcome)) {
            Ok(welcome) => Bytes::from(welcome),
            Err(e) => {
                warn!(error = %e, "the Welcome does not encode");
                self.despawn(seat);
                return Err(None);
            }
        };
        info!(client = client_id, name = %seat.name, spectator = seat.player.is_none(), resumed, ?baseline, "joined");
        if resumed {
            self.metrics.resumes.increment(1);
        }
        self.metrics.messages_out.increment(1);
        self.metrics.bytes_out.increment(welcome.len() as u64);
        out.send(client_id, &peer, welcome);
        self.seats_changed = true;
        self.clients.insert(
            client_id,
            Client {
                seat,
                peer,
                inputs: VecDeque::new(),
                last_sent: baseline,
                behind_since: None,
                wants_full: false,
                last_full: None,
            },
        );
        Ok(seated)
    }

    /// A client's session ended. `resumable`: its connection was lost (not closed, not
    /// kicked), so the seat is kept for `resume_grace_ms`; otherwise the player is despawned.
    pub(crate) fn leave(
        &mut self,
        id: ClientId,
        resumable: bool,
        now: Instant,
        out: &mut impl Outlet<P>,
    ) {
        if resumable {
            self.detach(id, now, out);
        } else {
            self.remove(id, None, out);
        }
    }

    /// The next client id not in use (ids wrap after 2^32 - 1 joins; 0 is never used).
    fn allocate_client_id(&mut self) -> ClientId {
        loop {
            let id = self.next_client_id;
            self.next_client_id = self.next_client_id.wrapping_add(1).max(1);
            if !self.clients.contains_key(&id) {
                return id;
            }
        }
    }

    /// The seat with this resume token: a lost one, or one still connected (a client that
    /// reconnected before the server noticed the old connection die), whose session is then
    /// closed with 4005.
    fn take_seat(&mut self, token: ResumeToken, out: &mut impl Outlet<P>) -> Option<Seat> {
        if let Some((seat, _)) = self.detached.remove(&token) {
            return Some(seat);
        }
        let id = self
            .clients
            .iter()
            .find(|(_, c)| c.seat.resume_token == token)
            .map(|(&id, _)| id)?;
        let client = self.clients.remove(&id)?;
        info!(client = id, name = %client.seat.name, "session resumed on another connection");
        out.disconnect(id, client.peer, Some(CloseReason::RESUMED_ELSEWHERE));
        Some(client.seat)
    }

    /// Keeps a client's seat for `resume_grace_ms` after its connection was lost. An address
    /// keeps at most `max_detached_seats_per_ip` such seats in the room: past it, its oldest
    /// one is given up.
    fn detach(&mut self, id: ClientId, now: Instant, out: &mut impl Outlet<P>) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        if let Some(address) = client.seat.address {
            let mut kept: Vec<(Instant, ResumeToken)> = self
                .detached
                .iter()
                .filter(|(_, (seat, _))| seat.address == Some(address))
                .map(|(&token, (_, until))| (*until, token))
                .collect();
            let allowed = self.limits.max_detached_seats_per_ip.saturating_sub(1);
            if kept.len() > allowed {
                kept.sort_unstable_by_key(|(until, _)| *until);
                for (_, token) in &kept[..kept.len() - allowed] {
                    if let Some((seat, _)) = self.detached.remove(token) {
                        debug!(name = %seat.name, %address, "too many seats kept for this address; oldest given up");
                        self.despawn(seat);
                    }
                }
            }
        }
        info!(client = id, name = %client.seat.name, "connection lost; seat kept for a resume");
        out.disconnect(id, client.peer, None);
        let until = now + Duration::from_millis(self.limits.resume_grace_ms);
        self.detached
            .insert(client.seat.resume_token, (client.seat, until));
    }

    /// Despawns the seats whose grace window is over.
    pub(super) fn expire_detached(&mut self, now: Instant) {
        let expired: Vec<ResumeToken> = self
            .detached
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(&token, _)| token)
            .collect();
        for token in expired {
            if let Some((seat, _)) = self.detached.remove(&token) {
                info!(name = %seat.name, "resume window over; left");
                self.despawn(seat);
            }
        }
    }

    fn despawn(&mut self, seat: Seat) {
        if let Some(player) = seat.player {
            self.game.leave(player);
        }
    }

    /// Removes a client and despawns its player; `kick` also tells its session why.
    pub(super) fn remove(
        &mut self,
        id: ClientId,
        kick: Option<CloseReason>,
        out: &mut impl Outlet<P>,
    ) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        let name = client.seat.name.clone();
        self.despawn(client.seat);
        match &kick {
            Some(reason) => {
                warn!(client = id, %name, code = reason.code, reason = %reason.reason, "kicked")
            }
            None => info!(client = id, %name, "left"),
        }
        out.disconnect(id, client.peer, kick);
    }
}
