//! Tickwire's browser client: [`ClientSession`] exported to JavaScript with wasm-bindgen.
//!
//! The module is sans-I/O like the session it wraps: the page (assets/web/main.js) owns the
//! WebSocket, the clock (`performance.now()`), the input devices and the canvas. It hands every
//! received binary frame to [`WebClient::receive`], calls [`WebClient::update`] once per animation
//! frame with the controls, sends whatever [`WebClient::poll_outgoing`] yields, and draws
//! [`WebClient::render`]. Build it with `bash assets/web/build.sh`.

use std::time::Duration;
use tickwire_arena::entities::STEPS_PER_UNIT;
use tickwire_arena::{ArenaStep, Buttons, Controls, RenderedEntity};
use tickwire_shared::codec::EncodeError;
use tickwire_shared::{
    ClientConfig, ClientError, ClientEvent, ClientSession, Hello, PROTOCOL_VERSION, RejectReason,
};
use wasm_bindgen::prelude::*;

/// Floats per entity in [`WebClient::render`]: id, kind, x, y, aim, hp, score, is_me.
pub const RENDER_STRIDE: usize = 8;

/// World units per 1/64-unit movement step.
const UNITS_PER_STEP: f32 = 1.0 / STEPS_PER_UNIT;

/// A `performance.now()` time in milliseconds as the session's clock; negative, NaN and
/// out-of-range times count as 0.
#[must_use]
pub fn time_from_ms(now_ms: f64) -> Duration {
    Duration::try_from_secs_f64(now_ms / 1000.0).unwrap_or(Duration::ZERO)
}

/// One browser player's session with a Tickwire server.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WebClient {
    session: ClientSession,
    /// Whether the latest connection was welcomed (reset by [`WebClient::reconnect`]).
    welcomed: bool,
    rejected: Option<RejectReason>,
    /// The local aim of the latest update: the own player is drawn aiming there.
    aim: u16,
}

impl WebClient {
    /// [`WebClient::new`] without the JavaScript error type (usable natively).
    pub fn try_new(name: &str) -> Result<Self, EncodeError> {
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            name: name.to_owned(),
            spectator: false,
            resume: None,
            token: None,
            schema_hash: None,
        };
        Ok(Self {
            session: ClientSession::new(hello, ClientConfig::default())?.predicting::<ArenaStep>(),
            welcomed: false,
            rejected: None,
            aim: 0,
        })
    }

    /// [`WebClient::receive`] without the JavaScript error type (usable natively).
    pub fn try_receive(&mut self, frame: &[u8], now_ms: f64) -> Result<(), ClientError> {
        match self.session.receive(frame, time_from_ms(now_ms))? {
            ClientEvent::Welcomed => {
                self.welcomed = true;
                self.rejected = None;
            }
            ClientEvent::Rejected(reason) => self.rejected = Some(reason),
            // Snapshots, desyncs and heartbeats show in the stats.
            _ => {}
        }
        Ok(())
    }

    /// The session inside.
    #[must_use]
    pub fn session(&self) -> &ClientSession {
        &self.session
    }
}

#[wasm_bindgen]
impl WebClient {
    /// A session for a player called `name`; its Hello is the first outgoing frame.
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str) -> Result<WebClient, JsError> {
        Self::try_new(name).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Handles one binary frame from the server, received at `now_ms`. An error means the
    /// server broke the protocol: close the socket with code 4000 and show the message.
    pub fn receive(&mut self, frame: &[u8], now_ms: f64) -> Result<(), JsError> {
        self.try_receive(frame, now_ms)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Once per animation frame: the local player's controls (move -127..=127 per axis, aim as
    /// a fraction of a turn in 1/65536, fire held). Queues the input frames and pings now due.
    pub fn update(&mut self, now_ms: f64, move_x: i8, move_y: i8, aim: u16, fire: bool) {
        let controls = Controls {
            move_x,
            move_y,
            aim,
            buttons: Buttons(if fire { Buttons::FIRE } else { 0 }),
        };
        self.aim = aim;
        self.session
            .update(time_from_ms(now_ms), &controls.frame(0));
    }

    /// The next frame to send as one binary WebSocket message, oldest first; `undefined` when
    /// there is none.
    pub fn poll_outgoing(&mut self) -> Option<Vec<u8>> {
        self.session.poll_outgoing()
    }

    /// After an abnormal close: queues the Hello that resumes this session on a new socket.
    /// `false` if there is nothing to resume (never welcomed): start a new `WebClient`.
    pub fn reconnect(&mut self) -> bool {
        self.welcomed = false;
        self.session.reconnect()
    }

    /// What to draw at `now_ms`: [`RENDER_STRIDE`] floats per entity (id, kind as in
    /// `EntityKind::as_u8`, x, y in world units, aim in turns, hp, score, is_me 1 or 0), the
    /// local player first when it exists.
    pub fn render(&self, now_ms: f64) -> Vec<f32> {
        let state = tickwire_arena::render(&self.session, time_from_ms(now_ms), Some(self.aim));
        let mut out = Vec::with_capacity((state.others.len() + 1) * RENDER_STRIDE);
        let mut push = |e: &RenderedEntity, is_me: bool| {
            out.extend_from_slice(&[
                e.id.0 as f32,
                f32::from(e.kind.as_u8()),
                e.pos.x,
                e.pos.y,
                e.aim,
                f32::from(e.hp),
                f32::from(e.score),
                if is_me { 1.0 } else { 0.0 },
            ]);
        };
        if let Some(me) = &state.me {
            push(me, true);
        }
        for other in &state.others {
            push(other, false);
        }
        out
    }

    /// `connecting` until the server's Welcome (again after `reconnect`), then `playing`;
    /// `rejected: <reason>` if the server refused the Hello.
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> String {
        match (&self.rejected, self.welcomed) {
            (Some(reason), _) => format!("rejected: {reason}"),
            (None, true) => "playing".to_owned(),
            (None, false) => "connecting".to_owned(),
        }
    }

    /// The newest snapshot's tick applied (`undefined` before the first and after a desync).
    #[wasm_bindgen(getter)]
    pub fn tick(&self) -> Option<u32> {
        self.session.world().tick().map(|t| t.0)
    }

    /// The latest ping round trip in milliseconds.
    #[wasm_bindgen(getter)]
    pub fn ping_ms(&self) -> Option<f64> {
        self.session
            .stats()
            .rtt
            .map(|rtt| rtt.as_secs_f64() * 1000.0)
    }

    /// Times the server's position of the local player differed from the prediction.
    #[wasm_bindgen(getter)]
    pub fn corrections(&self) -> f64 {
        self.session.stats().corrections as f64
    }

    /// Snapshots whose checksum did not match (each asked for a full snapshot).
    #[wasm_bindgen(getter)]
    pub fn desyncs(&self) -> f64 {
        self.session.stats().desyncs as f64
    }

    /// Times remote entities ran past the newest snapshot.
    #[wasm_bindgen(getter)]
    pub fn stalls(&self) -> f64 {
        self.session.stats().interpolation_stalls as f64
    }

    /// Bytes received so far (message payloads).
    #[wasm_bindgen(getter)]
    pub fn bytes_in(&self) -> f64 {
        self.session.stats().bytes_in as f64
    }

    /// The local player's entity id (`undefined` before the Welcome).
    #[wasm_bindgen(getter)]
    pub fn player_id(&self) -> Option<u32> {
        self.session.player().map(|id| id.0)
    }

    /// Where players may move, in world units: `[min_x, min_y, max_x, max_y]` from the
    /// Welcome's movement rules; empty before the Welcome.
    #[wasm_bindgen(getter)]
    pub fn arena(&self) -> Vec<f32> {
        tickwire_arena::client::movement(&self.session).map_or_else(Vec::new, |rules| {
            [rules.min.x, rules.min.y, rules.max.x, rules.max.y]
                .iter()
                .map(|&v| v as f32 * UNITS_PER_STEP)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::IVec2;
    use tickwire_arena::{EntityKind, EntityState, MovementRules, WorldState};
    use tickwire_shared::codec::{decode_client, encode_server};
    use tickwire_shared::{
        ClientMessage, EntityId, ResumeToken, SentAt, ServerMessage, Snapshot, Tick, Welcome,
    };

    const ME: EntityId = EntityId(3);

    /// The arena's layout, with the rules the Welcome sends.
    fn layout() -> tickwire_shared::layout::Layout {
        let rules = MovementRules {
            step_per_tick: 427,
            min: IVec2::new(768, 768),
            max: IVec2::new(63_232, 63_232),
        };
        let schema = tickwire_arena::entities::arena_schema(30, &rules).expect("encodes");
        tickwire_shared::layout::Layout::new(schema).expect("valid")
    }

    fn welcome() -> Vec<u8> {
        encode_server(&ServerMessage::Welcome(Welcome {
            client_id: 1,
            player: Some(ME),
            tick_rate: 30,
            schema: Some(layout().schema().clone()),
            resume_token: ResumeToken(7),
        }))
        .expect("encodes")
    }

    fn full_snapshot(tick: u32) -> Vec<u8> {
        let mut world = WorldState::new();
        let entity = |kind, x, y| EntityState {
            kind,
            pos: IVec2::new(x, y),
            aim: 16_384,
            hp: 60,
            score: 2,
        };
        world.insert(EntityId(1), entity(EntityKind::Drone, 64 * 10, 64 * 20));
        world.insert(ME, entity(EntityKind::Player, 64 * 100, 64 * 200));
        world.insert(EntityId(5), entity(EntityKind::Projectile, 32, 96));
        encode_server(&ServerMessage::Snapshot(Snapshot {
            last_input: 0,
            sent_at: SentAt(0),
            tick: Tick(tick),
            baseline: None,
            checksum: world.to_world(&layout()).checksum(),
            delta: tickwire_shared::world_wire::PackedDelta::pack(
                &tickwire_shared::World::new().diff(&world.to_world(&layout()), &layout()),
                &layout(),
            )
            .expect("packs"),
        }))
        .expect("encodes")
    }

    #[test]
    fn times_are_milliseconds_and_never_negative() {
        assert_eq!(time_from_ms(1500.0), Duration::from_millis(1500));
        assert_eq!(time_from_ms(0.25), Duration::from_micros(250));
        for bad in [-5.0, f64::NAN, f64::NEG_INFINITY, f64::INFINITY, 1e300] {
            assert_eq!(time_from_ms(bad), Duration::ZERO, "{bad}");
        }
    }

    #[test]
    fn hello_first_then_playing_with_a_flat_render_own_player_first() {
        let mut client = WebClient::try_new("web-1").expect("client");
        assert_eq!(client.status(), "connecting");
        assert!(client.arena().is_empty());
        let hello = client.poll_outgoing().expect("hello queued");
        assert!(matches!(
            decode_client(&hello).expect("decodes"),
            ClientMessage::Hello(Hello { name, spectator: false, .. }) if name == "web-1"
        ));
        assert_eq!(client.poll_outgoing(), None);

        client.try_receive(&welcome(), 10.0).expect("welcome");
        assert_eq!(client.status(), "playing");
        assert_eq!(client.player_id(), Some(3));
        assert_eq!(client.arena(), vec![12.0, 12.0, 988.0, 988.0]);
        assert_eq!(client.tick(), None);

        client
            .try_receive(&full_snapshot(40), 20.0)
            .expect("snapshot");
        assert_eq!(client.tick(), Some(40));
        assert_eq!(client.desyncs(), 0.0);
        assert!(client.bytes_in() > 0.0);
        let acked = client.poll_outgoing().expect("ack queued");
        assert_eq!(
            decode_client(&acked).expect("decodes"),
            ClientMessage::Ack(Tick(40))
        );

        let flat = client.render(20.0);
        assert_eq!(flat.len() % RENDER_STRIDE, 0);
        let me = &flat[..RENDER_STRIDE];
        assert_eq!(me, &[3.0, 0.0, 100.0, 200.0, 0.0, 60.0, 2.0, 1.0]);
        // Remote entities appear once the render clock reaches their snapshot (it runs
        // `interpolation_delay` snapshot intervals behind), so render a little later.
        let later = client.render(20.0 + 200.0);
        let others: Vec<_> = later[RENDER_STRIDE..].chunks(RENDER_STRIDE).collect();
        assert_eq!(later[..RENDER_STRIDE], *me);
        // A drone replicates no score, a projectile neither hp nor score: they draw as 0.
        assert_eq!(
            others,
            vec![
                &[1.0, 1.0, 10.0, 20.0, 0.25, 60.0, 0.0, 0.0][..],
                &[5.0, 2.0, 0.5, 1.5, 0.25, 0.0, 0.0, 0.0][..],
            ]
        );
    }

    #[test]
    fn update_sends_inputs_with_the_controls() {
        let mut client = WebClient::try_new("web-2").expect("client");
        client.try_receive(&welcome(), 0.0).expect("welcome");
        client
            .try_receive(&full_snapshot(1), 0.0)
            .expect("snapshot");
        while client.poll_outgoing().is_some() {}
        client.update(40.0, 127, -127, 8192, true);
        let sent: Vec<_> = std::iter::from_fn(|| client.poll_outgoing())
            .map(|bytes| decode_client(&bytes).expect("decodes"))
            .collect();
        let input = sent
            .iter()
            .find_map(|m| match m {
                ClientMessage::Input(message) => Some(message.clone()),
                _ => None,
            })
            .expect("an input frame");
        // The arena's input lanes: move_x, move_y, aim, buttons (fire).
        assert_eq!(
            (input.sequence, &input.lanes[..]),
            (1, &[127, -127, 8192, 1][..])
        );
        // Predicted at once, drawn moving over the tick: toward +x and -y.
        let me = &client.render(40.0 + 1000.0 / 30.0)[..RENDER_STRIDE];
        assert!(me[2] > 100.0 && me[3] < 200.0, "{me:?}");
        assert_eq!(me[4], 0.125);
    }

    #[test]
    fn rejections_and_protocol_errors_are_reported() {
        let mut client = WebClient::try_new("web-3").expect("client");
        let full = encode_server(&ServerMessage::Rejected(RejectReason::RoomFull)).expect("enc");
        client
            .try_receive(&full, 0.0)
            .expect("rejected is a valid message");
        assert_eq!(client.status(), "rejected: room is full");
        assert!(!client.reconnect(), "never welcomed: nothing to resume");

        let mut client = WebClient::try_new("web-4").expect("client");
        assert!(client.try_receive(&full_snapshot(1), 0.0).is_err());
        assert!(client.try_receive(&[0xff, 0xff, 0xff], 0.0).is_err());
    }

    #[test]
    fn reconnect_resumes_and_waits_for_a_new_welcome() {
        let mut client = WebClient::try_new("web-5").expect("client");
        client.try_receive(&welcome(), 0.0).expect("welcome");
        assert!(client.reconnect());
        assert_eq!(client.status(), "connecting");
        let hello = client.poll_outgoing().expect("resume hello");
        assert!(matches!(
            decode_client(&hello).expect("decodes"),
            ClientMessage::Hello(Hello {
                resume: Some(_),
                ..
            })
        ));
        client.try_receive(&welcome(), 1.0).expect("welcome again");
        assert_eq!(client.status(), "playing");
    }
}
