//! `ClientSession` driven like a frontend against a small in-process server that runs the same
//! movement rules, over a lagging, jittering link, in simulated milliseconds. Everything crosses
//! as encoded bytes, as on a socket.

use glam::IVec2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::time::Duration;
use tickwire_arena::entities::arena_schema;
use tickwire_arena::{
    ArenaStep, Controls, EntityKind, EntityState, InputFrame, MovementRules, WorldState, render,
};
use tickwire_shared::layout::Layout;
use tickwire_shared::world_wire::PackedDelta;
use tickwire_shared::{
    ClientConfig, ClientMessage, ClientSession, EntityId, Hello, PROTOCOL_VERSION, ResumeToken,
    SentAt, ServerMessage, Snapshot, Tick, Welcome, codec,
};

/// The arena's layout with [`RULES`].
fn layout() -> Layout {
    Layout::new(arena_schema(30, &RULES).expect("encodes")).expect("valid")
}

const TICK_MS: u64 = 33;
const TICK: Duration = Duration::from_millis(TICK_MS);
const RULES: MovementRules = MovementRules {
    step_per_tick: 427,
    min: IVec2::new(768, 768),
    max: IVec2::new(63_232, 63_232),
};
const ME: EntityId = EntityId(0);
const DRONE: EntityId = EntityId(1);

/// One direction of a link: `latency ± jitter` ms per message, order kept (as TCP keeps it).
struct Line {
    latency: u64,
    jitter: u64,
    in_flight: VecDeque<(u64, Vec<u8>)>,
}

impl Line {
    fn new(latency: u64, jitter: u64) -> Self {
        Self {
            latency,
            jitter,
            in_flight: VecDeque::new(),
        }
    }

    fn send(&mut self, now: u64, bytes: Vec<u8>, rng: &mut StdRng) {
        let delay = self.latency - self.jitter + rng.random_range(0..=2 * self.jitter);
        let after_ahead = self.in_flight.back().map_or(0, |&(due, _)| due);
        self.in_flight
            .push_back(((now + delay).max(after_ahead), bytes));
    }

    fn receive(&mut self, now: u64) -> Option<Vec<u8>> {
        if self.in_flight.front()?.0 <= now {
            self.in_flight.pop_front().map(|(_, bytes)| bytes)
        } else {
            None
        }
    }
}

/// The server's side: one player moved only by its inputs (at most 2 per tick, like the real
/// server), one drone walking back and forth, a snapshot every tick as a delta from the last.
struct Server {
    world: WorldState,
    sent: WorldState,
    tick: Tick,
    inputs: VecDeque<InputFrame>,
    last_input: u32,
    /// A one-off push of the player at this tick (an outside influence).
    shove_at: Option<(Tick, IVec2)>,
    /// The next snapshot is full (a resumed client's first).
    full_next: bool,
}

impl Server {
    fn new() -> Self {
        let mut world = WorldState::new();
        world.insert(
            ME,
            EntityState::new(EntityKind::Player, IVec2::new(32_000, 32_000)),
        );
        world.insert(
            DRONE,
            EntityState::new(EntityKind::Drone, IVec2::new(1_000, 1_000)),
        );
        Self {
            world,
            sent: WorldState::new(),
            tick: Tick(0),
            inputs: VecDeque::new(),
            last_input: 0,
            shove_at: None,
            full_next: false,
        }
    }

    fn welcome() -> Vec<u8> {
        codec::encode_server(&ServerMessage::Welcome(Welcome {
            client_id: 1,
            player: Some(ME),
            tick_rate: 30,
            schema: Some(layout().schema().clone()),
            resume_token: ResumeToken(7),
        }))
        .expect("encodes")
    }

    /// Takes one client frame; returns the reply to a ping.
    fn receive(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        match codec::decode_client(bytes).expect("valid") {
            ClientMessage::Input(input) => self.inputs.push_back(
                InputFrame::from_lanes(input.sequence, &input.lanes).expect("an arena input"),
            ),
            ClientMessage::Ping { client_time_us } => {
                let pong = ServerMessage::Pong { client_time_us };
                return Some(codec::encode_server(&pong).expect("encodes"));
            }
            _ => {}
        }
        None
    }

    /// One tick; returns its snapshot's bytes.
    fn tick(&mut self) -> Vec<u8> {
        self.tick = self.tick.next();
        let mut player = *self.world.get(ME).expect("player");
        for input in self.inputs.drain(..self.inputs.len().min(2)) {
            if input.sequence > self.last_input {
                player.pos = RULES.step(player.pos, &input);
                self.last_input = input.sequence;
            }
        }
        if let Some((at, shove)) = self.shove_at
            && at == self.tick
        {
            player.pos += shove;
        }
        self.world.insert(ME, player);
        let mut drone = *self.world.get(DRONE).expect("drone");
        let phase = i32::try_from(self.tick.0 % 200).expect("small");
        drone.pos.x = 1_000 + 64 * (phase - 100).abs();
        self.world.insert(DRONE, drone);
        let full = std::mem::take(&mut self.full_next);
        let baseline = (self.tick.0 > 1 && !full).then(|| Tick(self.tick.0 - 1));
        let layout = layout();
        let world = self.world.to_world(&layout);
        let sent = if full {
            WorldState::new()
        } else {
            self.sent.clone()
        };
        let delta = sent.to_world(&layout).diff(&world, &layout);
        let snapshot = Snapshot {
            last_input: self.last_input,
            sent_at: SentAt(0),
            tick: self.tick,
            baseline,
            checksum: world.checksum(),
            delta: PackedDelta::pack(&delta, &layout).expect("packs"),
        };
        self.sent = self.world.clone();
        codec::encode_server(&ServerMessage::Snapshot(snapshot)).expect("encodes")
    }
}

/// A player's session that predicts with the arena's step.
fn predicting_session(name: &str) -> ClientSession {
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: name.into(),
        spectator: false,
        resume: None,
        token: None,
        schema_hash: None,
    };
    ClientSession::new(hello, ClientConfig::default())
        .expect("hello encodes")
        .predicting::<ArenaStep>()
}

/// What a run saw.
struct Run {
    session: ClientSession,
    server: Server,
    /// The own player's drawn position each frame, in world units.
    drawn: Vec<glam::Vec2>,
}

/// Runs a client at 60 frames per second against the server for `seconds`, over a link of
/// `latency ± jitter` ms each way. The player walks a pattern that reaches the wall, then
/// stands still for the last second so every input is confirmed.
fn run(seconds: u64, latency: u64, jitter: u64, shove_at: Option<(Tick, IVec2)>) -> Run {
    let mut rng = StdRng::seed_from_u64(7);
    let mut session = predicting_session("sim");
    let mut server = Server {
        shove_at,
        ..Server::new()
    };
    let (mut up, mut down) = (Line::new(latency, jitter), Line::new(latency, jitter));
    down.send(0, Server::welcome(), &mut rng);
    let mut drawn = Vec::new();
    let end = seconds * 1000;
    for now in 0..end {
        let at = Duration::from_millis(now);
        while let Some(bytes) = up.receive(now) {
            if let Some(pong) = server.receive(&bytes) {
                down.send(now, pong, &mut rng);
            }
        }
        if now % TICK_MS == 0 && now > 0 {
            down.send(now, server.tick(), &mut rng);
        }
        while let Some(bytes) = down.receive(now) {
            session.receive(&bytes, at).expect("valid server frames");
        }
        if now % 16 == 0 {
            let frame = now / 16;
            let (move_x, move_y) = match frame {
                _ if now + 1000 >= end => (0, 0),
                0..400 => (127, 40),
                _ => [(-127, 0), (0, 127), (90, -90)][(frame / 50 % 3) as usize],
            };
            let controls = Controls {
                move_x,
                move_y,
                ..Controls::default()
            };
            session.update(at, &controls.frame(0));
            if let Some(me) = render(&session, at, Some(controls.aim)).me {
                drawn.push(me.pos);
            }
        }
        while let Some(bytes) = session.poll_outgoing() {
            up.send(now, bytes, &mut rng);
        }
    }
    Run {
        session,
        server,
        drawn,
    }
}

#[test]
fn a_long_laggy_run_predicts_the_server_exactly() {
    // 60 s at 80 ms ± 20 ms each way.
    let Run {
        session, server, ..
    } = run(60, 80, 20, None);
    let stats = session.stats();
    assert!(
        stats.inputs_sent > 1_700,
        "inputs sent: {}",
        stats.inputs_sent
    );
    // The last few (standing still) are still on their way.
    assert!(
        u64::from(server.last_input) + 10 >= stats.inputs_sent,
        "applied {} of {}",
        server.last_input,
        stats.inputs_sent
    );
    let server_pos = server.world.get(ME).expect("player").pos;
    assert!(
        server_pos.x == RULES.max.x || server_pos.y == RULES.max.y || server_pos.x == RULES.min.x,
        "the walk reached a wall: {server_pos}"
    );
    assert_eq!(stats.desyncs, 0);
    assert_eq!(stats.corrections, 0, "prediction never differed");
    assert_eq!(
        session.prediction().state(),
        Some(&server_pos.to_array()[..])
    );
    assert_eq!(
        stats.interpolation_stalls, 0,
        "40 ms of jitter fits in a 100 ms delay"
    );
    assert!(
        stats
            .rtt
            .is_some_and(|rtt| rtt >= Duration::from_millis(120))
    );
}

#[test]
fn a_shove_by_the_server_is_one_correction_faded_in_without_a_jump() {
    let shove = IVec2::new(0, 2 * 64); // 2 world units sideways, under the snap distance
    let shoved = run(10, 80, 20, Some((Tick(100), shove)));
    let stats = shoved.session.stats();
    assert_eq!((stats.corrections, stats.correction_snaps), (1, 0));
    assert_eq!(stats.prediction_error_max, 2.0);
    let server_pos = shoved.server.world.get(ME).expect("player").pos;
    assert_eq!(
        shoved.session.prediction().state(),
        Some(&server_pos.to_array()[..])
    );
    assert!(
        shoved
            .session
            .prediction()
            .offset()
            .iter()
            .all(|&o| o == 0.0)
    );
    // The same run without the shove draws the same path until the shove: how far apart the
    // two drawn players are must grow by a sixth of the shove per input frame (the default
    // smoothing), never all at once. Compared while the walk keeps clear of the y walls.
    let plain = run(10, 80, 20, None);
    let apart: Vec<f32> = shoved.drawn[..400]
        .iter()
        .zip(&plain.drawn[..400])
        .map(|(a, b)| a.distance(*b))
        .collect();
    let growth = apart.windows(2).map(|w| w[1] - w[0]).fold(0.0, f32::max);
    assert!(growth <= 2.0 / 6.0 + 1e-3, "grew {growth} units in a frame");
    assert!(
        (apart[399] - 2.0).abs() < 1e-3,
        "fully shown: {}",
        apart[399]
    );
    let frames_to_show = apart.iter().filter(|&&d| d > 0.0 && d < 1.999).count();
    assert!(
        (6..=14).contains(&frames_to_show),
        "faded in over {frames_to_show} rendered frames (6 input frames at 30 Hz, drawn at 60)"
    );
}

#[test]
fn after_a_resume_unconfirmed_inputs_go_out_again_in_order_two_per_frame() {
    let mut session = predicting_session("resumer");
    let mut server = Server::new();
    session
        .receive(&Server::welcome(), Duration::ZERO)
        .expect("welcome");
    session.receive(&server.tick(), TICK).expect("snapshot");
    let sent_inputs = |session: &mut ClientSession| {
        let mut sequences = Vec::new();
        while let Some(bytes) = session.poll_outgoing() {
            if let ClientMessage::Input(input) = codec::decode_client(&bytes).expect("valid") {
                sequences.push(input.sequence);
            }
        }
        sequences
    };
    for _ in 0..5 {
        session.send_lanes(Controls::default().frame(0).to_lanes(), TICK);
    }
    assert_eq!(sent_inputs(&mut session), [1, 2, 3, 4, 5]);
    // The connection is lost before any of them is confirmed.
    assert!(session.reconnect());
    let hello = session.poll_outgoing().expect("a resume Hello");
    assert!(matches!(
        codec::decode_client(&hello),
        Ok(ClientMessage::Hello(Hello {
            resume: Some(_),
            ..
        }))
    ));
    session
        .receive(&Server::welcome(), TICK * 2)
        .expect("welcome back");
    let mut replayed = Vec::new();
    for _ in 0..5 {
        session.send_lanes(Controls::default().frame(0).to_lanes(), TICK * 3);
        let frame = sent_inputs(&mut session);
        assert!(frame.len() <= 2, "at most two per frame: {frame:?}");
        replayed.extend(frame);
    }
    assert_eq!(
        replayed,
        (1..=10).collect::<Vec<_>>(),
        "all of them, in order"
    );
}

#[test]
fn a_room_that_went_back_to_its_save_on_another_node_restarts_the_render_clock() {
    let mut session = predicting_session("mover");
    let mut server = Server::new();
    let mut saved = Server::new();
    session
        .receive(&Server::welcome(), Duration::ZERO)
        .expect("welcome");
    let mut now = Duration::ZERO;
    for tick in 1..=40 {
        now += TICK;
        session.receive(&server.tick(), now).expect("snapshot");
        if tick <= 10 {
            saved.tick();
        }
    }
    // The drone's drawn x, in 1/64 units: it walks back and forth with the tick.
    let drone_x = |session: &ClientSession, now| {
        let mut out = Vec::new();
        session.draw(now, &mut out);
        let drone = out
            .iter()
            .find(|e| e.id == DRONE)
            .expect("the drone is drawn");
        drone.lanes[0]
    };
    let at_tick = |tick: f64| 1_000.0 + 64.0 * (tick - 100.0).abs();
    assert!((drone_x(&session, now) - at_tick(37.0)).abs() <= 64.0 * 2.0);
    // The node dies; another goes on from its save at tick 10, 30 ticks behind.
    assert!(session.reconnect());
    now += TICK * 30;
    session
        .receive(&Server::welcome(), now)
        .expect("welcome back");
    saved.full_next = true;
    for _ in 0..5 {
        now += TICK;
        session.receive(&saved.tick(), now).expect("snapshot");
    }
    assert_eq!(session.stats().rewinds, 1, "once, on the first snapshot");
    assert_eq!(session.stats().desyncs, 0);
    let x = drone_x(&session, now);
    assert!(
        (x - at_tick(12.0)).abs() <= 64.0 * 3.0,
        "drawn from the moved room's ticks at once: {x}"
    );
    assert_eq!(session.world().tick(), Some(Tick(15)));
}

#[test]
fn a_redirect_sends_the_same_hello_or_resume_again_and_a_bad_one_is_refused() {
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "traveller".into(),
        spectator: false,
        resume: None,
        token: Some("a.token".into()),
        schema_hash: None,
    };
    let redirect = |url: &str, epoch| {
        codec::encode_server(&ServerMessage::Redirect(tickwire_shared::Redirect {
            url: url.into(),
            epoch,
        }))
        .expect("encodes")
    };
    let hello_sent = |session: &mut ClientSession| match session
        .poll_outgoing()
        .map(|b| codec::decode_client(&b))
    {
        Some(Ok(ClientMessage::Hello(hello))) => hello,
        other => panic!("a Hello, not {other:?}"),
    };
    let mut session = ClientSession::new(hello.clone(), ClientConfig::default()).expect("encodes");
    assert_eq!(hello_sent(&mut session), hello);
    let event = session
        .receive(&redirect("ws://node-b:7777/ws/r1", 4), Duration::ZERO)
        .expect("a valid Redirect");
    assert_eq!(
        event,
        tickwire_shared::ClientEvent::Redirected(tickwire_shared::Redirect {
            url: "ws://node-b:7777/ws/r1".into(),
            epoch: 4
        })
    );
    assert_eq!(
        hello_sent(&mut session),
        hello,
        "the same Hello, for the owner"
    );
    assert_eq!(session.poll_outgoing(), None);
    assert_eq!(session.stats().redirects, 1);

    // Welcomed at the owner, then lost: the resume Hello is what a redirect sends again.
    session.receive(&Server::welcome(), TICK).expect("welcome");
    assert!(
        session
            .receive(&redirect("ws://node-c:7777/ws/r1", 5), TICK)
            .is_err(),
        "a Redirect after the Welcome breaks the protocol"
    );
    assert!(session.reconnect());
    let resume = hello_sent(&mut session);
    assert!(resume.resume.is_some());
    session
        .receive(&redirect("wss://node-c.example/ws/r1", 5), TICK * 2)
        .expect("a valid Redirect");
    assert_eq!(
        hello_sent(&mut session),
        resume,
        "the resume goes to the new owner"
    );

    for bad in [
        "http://node-b/ws",
        "ws://node b/ws",
        &format!("ws://{}", "x".repeat(600)),
    ] {
        let mut session =
            ClientSession::new(hello.clone(), ClientConfig::default()).expect("encodes");
        assert!(
            session.receive(&redirect(bad, 1), Duration::ZERO).is_err(),
            "a Redirect to {bad:?} is refused"
        );
    }
}
