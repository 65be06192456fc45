//! The arena's per-tick player input.

use serde::{Deserialize, Serialize};

/// Button bits of an [`InputFrame`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buttons(pub u8);

impl Buttons {
    /// Fire a projectile in the aim direction (subject to the server's cooldown).
    pub const FIRE: u8 = 1;
    /// Every bit that has a meaning; the server rejects frames with other bits set.
    pub const ALL: u8 = Self::FIRE;

    /// Whether the fire button is down.
    #[must_use]
    pub fn fire(self) -> bool {
        self.0 & Self::FIRE != 0
    }

    /// Whether only known bits are set.
    #[must_use]
    pub fn is_valid(self) -> bool {
        self.0 & !Self::ALL == 0
    }
}

/// One tick's worth of input from a player. The client sends one per simulation tick; the server
/// applies each frame as exactly one movement step, so prediction replays frames one for one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFrame {
    /// Increments by one per frame, starting at 1. Snapshots echo the last one applied.
    pub sequence: u32,
    /// Move direction and strength per axis, -127..=127 (-128 counts as -127). The vector's length
    /// is capped at 127, which is full speed, so diagonals are no faster.
    pub move_x: i8,
    /// See `move_x`.
    pub move_y: i8,
    /// Aim as a fraction of a full turn, like [`crate::entities::EntityState::aim`].
    pub aim: u16,
    /// Buttons held this frame.
    pub buttons: Buttons,
}

/// What the local player asks for this frame: an [`InputFrame`] without its sequence number,
/// which the client session assigns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Controls {
    /// Move vector, -127..=127 per axis (see [`InputFrame::move_x`]).
    pub move_x: i8,
    /// See `move_x`.
    pub move_y: i8,
    /// Aim as a fraction of a full turn.
    pub aim: u16,
    /// Buttons held.
    pub buttons: Buttons,
}

impl Controls {
    /// The input frame carrying these controls with `sequence`.
    #[must_use]
    pub fn frame(self, sequence: u32) -> InputFrame {
        InputFrame {
            sequence,
            move_x: self.move_x,
            move_y: self.move_y,
            aim: self.aim,
            buttons: self.buttons,
        }
    }
}

impl InputFrame {
    /// Its lanes in the arena's input schema ([`arena_input_fields`]).
    #[must_use]
    pub fn to_lanes(&self) -> Vec<i32> {
        vec![
            i32::from(self.move_x),
            i32::from(self.move_y),
            i32::from(self.aim),
            i32::from(self.buttons.0),
        ]
    }

    /// The frame of `sequence` with `lanes` (as [`InputFrame::to_lanes`] writes them), or `None`
    /// when they do not fit the arena's input.
    #[must_use]
    pub fn from_lanes(sequence: u32, lanes: &[i32]) -> Option<Self> {
        let [move_x, move_y, aim, buttons] = *lanes else {
            return None;
        };
        let buttons = Buttons(u8::try_from(buttons).ok()?);
        Some(Self {
            sequence,
            move_x: i8::try_from(move_x).ok()?,
            move_y: i8::try_from(move_y).ok()?,
            aim: u16::try_from(aim).ok()?,
            buttons: buttons.is_valid().then_some(buttons)?,
        })
    }

    /// Its message on the wire.
    #[must_use]
    pub fn message(&self) -> tickwire_shared::InputMessage {
        tickwire_shared::InputMessage {
            sequence: self.sequence,
            lanes: self.to_lanes(),
        }
    }
}

/// The arena's input fields as its schema declares them (the sequence number is the protocol's,
/// not the game's).
#[must_use]
pub fn arena_input_fields() -> Vec<tickwire_shared::schema::FieldDesc> {
    use tickwire_shared::schema::{Coding, Domain, FieldDesc, Interpolate};
    let field = |name: &str, domain: Domain| FieldDesc {
        name: name.into(),
        lanes: 1,
        domain,
        coding: Coding::Absolute,
        interpolate: Interpolate::None,
        tolerance: 0,
    };
    let axis = || Domain::Int {
        min: -128,
        max: 127,
    };
    vec![
        field("move_x", axis()),
        field("move_y", axis()),
        field("aim", Domain::Angle { bits: 16 }),
        field(
            "buttons",
            Domain::Int {
                min: 0,
                max: i32::from(Buttons::ALL),
            },
        ),
    ]
}

/// The arena's input as a game's [`tickwire_shared::component::Input`]: the sequence is the protocol's, so
/// a frame read back has sequence 0.
impl tickwire_shared::component::Input for InputFrame {
    fn fields() -> Vec<tickwire_shared::schema::FieldDesc> {
        arena_input_fields()
    }
    fn write(&self, lanes: &mut Vec<i32>) {
        lanes.extend(self.to_lanes());
    }
    fn read(lanes: &[i32]) -> Option<Self> {
        Self::from_lanes(0, lanes.get(..4)?)
    }
}
