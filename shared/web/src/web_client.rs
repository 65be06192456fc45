//! [`WebClient`]: one browser player's (or spectator's) session with a room of any game, exported
//! to JavaScript. The SDK's `index.js` owns the WebSocket and the clock and calls it; it hands
//! back entities and takes inputs in the game's own names and units ([`crate::values`]).

use crate::game_step::GameStep;
use crate::values::Fields;
use std::sync::Arc;
use std::time::Duration;
use tickwire_shared::codec::EncodeError;
use tickwire_shared::layout::Layout;
use tickwire_shared::{
    ClientConfig, ClientError, ClientEvent, ClientSession, DrawnEntity, Hello, PROTOCOL_VERSION,
    RejectReason,
};
use wasm_bindgen::prelude::*;

/// A `performance.now()` time in milliseconds as the session's clock; negative, NaN and
/// out-of-range times count as 0.
#[must_use]
pub fn time_from_ms(now_ms: f64) -> Duration {
    Duration::try_from_secs_f64(now_ms / 1000.0).unwrap_or(Duration::ZERO)
}

/// How a page joins: see [`WebClient::new`].
#[derive(Clone, Debug, Default)]
pub struct JoinOptions {
    /// The player's display name.
    pub name: String,
    /// A signed join token, for servers that require one.
    pub token: Option<String>,
    /// Watch without a player.
    pub spectator: bool,
}

/// One session with a room of any game.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WebClient {
    session: ClientSession,
    /// The room's fields by name, from the latest Welcome's schema.
    fields: Option<(Arc<Layout>, Fields)>,
    /// The input sent each tick: the latest `send`, lane by lane.
    input: Vec<i32>,
    /// Whether the latest connection was welcomed (reset by [`WebClient::reconnect`]).
    welcomed: bool,
    rejected: Option<RejectReason>,
    /// Where the latest Redirect sends this session, until taken.
    redirect: Option<String>,
    /// Reused by every frame's draw.
    drawn: Vec<DrawnEntity>,
}

impl WebClient {
    /// A session that joins as `options` say, predicting the own player with `step` when given.
    pub fn open(options: JoinOptions, step: Option<&GameStep>) -> Result<Self, EncodeError> {
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            name: options.name,
            spectator: options.spectator,
            resume: None,
            token: options.token.filter(|t| !t.is_empty()),
            schema_hash: None,
        };
        let mut session = ClientSession::new(hello, ClientConfig::default())?;
        if let Some(step) = step {
            session = step.predict(session);
        }
        Ok(Self {
            session,
            fields: None,
            input: Vec::new(),
            welcomed: false,
            rejected: None,
            redirect: None,
            drawn: Vec::new(),
        })
    }

    /// [`WebClient::receive`] without the JavaScript error type (usable natively).
    pub fn try_receive(&mut self, frame: &[u8], now_ms: f64) -> Result<(), ClientError> {
        match self.session.receive(frame, time_from_ms(now_ms))? {
            ClientEvent::Welcomed => {
                self.welcomed = true;
                self.rejected = None;
                self.learn_fields();
            }
            ClientEvent::Rejected(reason) => self.rejected = Some(reason),
            ClientEvent::Redirected(redirect) => self.redirect = Some(redirect.url),
            // Snapshots, desyncs and heartbeats show in the stats.
            _ => {}
        }
        Ok(())
    }

    /// [`WebClient::send`] with the input as a JSON value (usable natively).
    pub fn try_send(&mut self, input: &serde_json::Value) -> Result<(), String> {
        let (_, fields) = self
            .fields
            .as_ref()
            .ok_or("no input before the server's Welcome")?;
        if self.session.player().is_none() {
            return Err("a spectator sends no input".to_owned());
        }
        fields
            .write_input(input, &mut self.input)
            .map_err(|e| e.to_string())
    }

    /// Every entity to draw at `now_ms`, as JSON values: see [`crate::values`].
    pub fn entity_values(&mut self, now_ms: f64) -> Vec<serde_json::Value> {
        self.session.draw(time_from_ms(now_ms), &mut self.drawn);
        let Some((layout, fields)) = &self.fields else {
            return Vec::new();
        };
        let me = self.session.player();
        let state = self.session.world().state();
        self.drawn
            .iter()
            .filter_map(|drawn| {
                let data = state.get(drawn.id)?;
                let own = Some(drawn.id) == me;
                Some(fields.entity(layout, drawn.id.0, data, &drawn.lanes, own))
            })
            .collect()
    }

    /// The world as last replicated (no interpolation or prediction), entities in id order.
    pub fn world_values(&self) -> Vec<serde_json::Value> {
        let Some((layout, fields)) = &self.fields else {
            return Vec::new();
        };
        let me = self.session.player();
        self.session
            .world()
            .state()
            .iter()
            .map(|(id, data)| {
                let lanes: Vec<f64> = data.lanes.iter().map(|&l| f64::from(l)).collect();
                fields.entity(layout, id.0, data, &lanes, Some(id) == me)
            })
            .collect()
    }

    /// The session inside.
    #[must_use]
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// After a Welcome: the room's fields (a resume keeps them when the schema is the same).
    fn learn_fields(&mut self) {
        let Some(layout) = self.session.world().layout() else {
            return;
        };
        if self
            .fields
            .as_ref()
            .is_some_and(|(known, _)| known.schema() == layout.schema())
        {
            return;
        }
        let fields = Fields::new(layout.schema());
        self.input = fields.neutral_input();
        self.fields = Some((Arc::clone(layout), fields));
    }
}

fn js_error(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

#[wasm_bindgen]
impl WebClient {
    /// A session for `name` (`token`: a signed join token, or empty; `spectator`: watch
    /// without a player). With `step` (a game module's `sharedStep()`), the own player is
    /// predicted. The Hello is the first outgoing frame.
    #[wasm_bindgen(constructor)]
    pub fn new(
        name: &str,
        token: Option<String>,
        spectator: bool,
        step: Option<GameStep>,
    ) -> Result<WebClient, JsError> {
        let options = JoinOptions {
            name: name.to_owned(),
            token,
            spectator,
        };
        Self::open(options, step.as_ref()).map_err(js_error)
    }

    /// Handles one binary frame from the server, received at `now_ms`. An error means the
    /// server broke the protocol: close the socket with code 4000 and show the message.
    pub fn receive(&mut self, frame: &[u8], now_ms: f64) -> Result<(), JsError> {
        self.try_receive(frame, now_ms).map_err(js_error)
    }

    /// Sets the input sent every tick from now on: a JSON object of the input's fields by
    /// name, in user units. Fields it leaves out keep their value. A name the input does not
    /// have, or a value its field does not take, is an error and changes nothing.
    pub fn send(&mut self, input_json: &str) -> Result<(), JsError> {
        let input: serde_json::Value = serde_json::from_str(input_json).map_err(js_error)?;
        self.try_send(&input).map_err(|e| JsError::new(&e))
    }

    /// Often (every animation frame, and on a timer): queues the input frames and pings due by
    /// `now_ms`, and moves the render clock.
    pub fn update(&mut self, now_ms: f64) {
        let now = time_from_ms(now_ms);
        if self.session.player().is_some() && !self.input.is_empty() {
            self.session.update_lanes(now, &self.input);
        } else {
            self.session.advance(now);
        }
    }

    /// The next frame to send as one binary WebSocket message, oldest first; `undefined` when
    /// there is none.
    pub fn poll_outgoing(&mut self) -> Option<Vec<u8>> {
        self.session.poll_outgoing()
    }

    /// The URL a Redirect just sent this session to (once; `undefined` otherwise): close this
    /// socket, open one to it and send what `poll_outgoing` yields (the Hello, queued again).
    pub fn take_redirect(&mut self) -> Option<String> {
        self.redirect.take()
    }

    /// Redirects followed so far.
    #[wasm_bindgen(getter)]
    pub fn redirects(&self) -> f64 {
        self.session.stats().redirects as f64
    }

    /// After an abnormal close: queues the Hello that resumes this session on a new socket.
    /// `false` if there is nothing to resume (never welcomed): start a new `WebClient`.
    pub fn reconnect(&mut self) -> bool {
        self.welcomed = false;
        self.rejected = None;
        self.session.reconnect()
    }

    /// The entities to draw at `now_ms` as a JSON array: remote ones interpolated, the own
    /// player predicted (with a game step).
    pub fn entities_json(&mut self, now_ms: f64) -> String {
        serde_json::Value::Array(self.entity_values(now_ms)).to_string()
    }

    /// The world as last replicated, as a JSON array (entities in id order).
    pub fn world_json(&self) -> String {
        serde_json::Value::Array(self.world_values()).to_string()
    }

    /// The room's game schema as JSON (`game`, `tick_rate`, `components`, `kinds`, `input`,
    /// `rules` and so on, as docs/PROTOCOL.md describes them); `undefined` before the Welcome.
    pub fn schema_json(&self) -> Option<String> {
        let (layout, _) = self.fields.as_ref()?;
        serde_json::to_string(layout.schema()).ok()
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

    /// Times the server's state of the own player differed from the prediction.
    #[wasm_bindgen(getter)]
    pub fn corrections(&self) -> f64 {
        self.session.stats().corrections as f64
    }

    /// Snapshots whose checksum did not match (each asked for a full snapshot).
    #[wasm_bindgen(getter)]
    pub fn desyncs(&self) -> f64 {
        self.session.stats().desyncs as f64
    }

    /// Snapshots received.
    #[wasm_bindgen(getter)]
    pub fn snapshots(&self) -> f64 {
        self.session.stats().snapshots as f64
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

    /// The own player's entity id (`undefined` before the Welcome and for spectators).
    #[wasm_bindgen(getter)]
    pub fn player_id(&self) -> Option<u32> {
        self.session.player().map(|id| id.0)
    }

    /// Whether the own player is predicted: there is one, and a game step was given that fits
    /// the room's game.
    #[wasm_bindgen(getter)]
    pub fn predicted(&self) -> bool {
        self.session.player().is_some() && self.session.prediction().predictor().is_some()
    }

    /// Server ticks per second (0 before the Welcome).
    #[wasm_bindgen(getter)]
    pub fn tick_rate(&self) -> u16 {
        self.session.welcome().map_or(0, |w| w.tick_rate)
    }
}
