//! What the race replicates and what a driver sends.

use tickwire_shared::component::{Component, Input};

/// A car's motion: the state the shared step moves (and a client predicts).
#[derive(Clone, Debug, PartialEq, Component)]
pub struct Car {
    /// Position in 1/64 world units.
    #[net(
        fixed(frac_bits = 6, min = -8388608, max = 8388607),
        delta,
        interpolate = "linear"
    )]
    pub pos: [i32; 2],
    /// Heading in 1/4096 turns: 0 is +x, 1024 is +y.
    #[net(angle(bits = 12), interpolate = "angle")]
    pub heading: u16,
    /// Speed along the heading in 1/1024 world units per tick (negative: reversing).
    #[net(fixed(frac_bits = 10, min = -262144, max = 262143), interpolate = "linear")]
    pub speed: i32,
}

/// How far a car is round the track, counted by the server.
#[derive(Clone, Debug, PartialEq, Component)]
pub struct Progress {
    /// Laps completed.
    #[net(int(min = 0, max = 9999))]
    pub laps: u16,
    /// The checkpoint to pass next (0 is the finish line).
    #[net(int(min = 0, max = 255))]
    pub next_checkpoint: u8,
}

/// Who drives a car: sent once, when the car appears.
#[derive(Clone, Debug, PartialEq, Component)]
pub struct Driver {
    /// The player's name.
    #[net(string(max_len = 32), spawn_only)]
    pub name: String,
}

/// A checkpoint of the track, so any client can draw it.
#[derive(Clone, Debug, PartialEq, Component)]
pub struct Checkpoint {
    /// Its centre in 1/64 world units.
    #[net(fixed(frac_bits = 6, min = -8388608, max = 8388607), spawn_only)]
    pub pos: [i32; 2],
    /// Its place in the lap (0 is the finish line).
    #[net(int(min = 0, max = 255), spawn_only)]
    pub order: u8,
}

/// A driver's input each tick.
#[derive(Clone, Debug, Default, PartialEq, Input)]
pub struct Drive {
    /// Forward (positive) or brake and reverse (negative); 127 is full.
    #[net(int(min = -127, max = 127))]
    pub throttle: i8,
    /// Left (negative) or right (positive); 127 is full lock.
    #[net(int(min = -127, max = 127))]
    pub steer: i8,
}
