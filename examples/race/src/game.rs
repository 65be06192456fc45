//! The race on the server: cars start at the finish line; the server counts checkpoints and laps.

use crate::components::{Car, Checkpoint, Driver, Progress};
use crate::config::{POS_PER_UNIT, RaceConfig};
use crate::step::{RaceRules, RaceStep};
use tickwire_game::{Game, GameWorld};
use tickwire_shared::{EntityId, Schema};

/// One room's race.
#[derive(Debug)]
pub struct Race {
    car: u16,
    /// Checkpoint centres in 1/64 units, in lap order.
    checkpoints: Vec<[i32; 2]>,
    /// The squared reach of a checkpoint, in (1/64 units)^2.
    reach_sq: i64,
    /// Cars that joined, for spreading them on the start line.
    joined: u32,
    /// Where a car may be: the shared step's bounds.
    min: [i32; 2],
    max: [i32; 2],
}

impl Race {
    /// The race of `config` with no cars yet.
    fn new(config: &RaceConfig, rules: &RaceRules, world: &GameWorld) -> Self {
        let to_pos = |p: [f32; 2]| p.map(|v| (v * POS_PER_UNIT).round() as i32);
        let reach = f64::from(config.track.checkpoint_radius * POS_PER_UNIT);
        Self {
            car: world.kind("car").expect("the race's schema has cars"),
            checkpoints: config
                .track
                .checkpoints
                .iter()
                .copied()
                .map(to_pos)
                .collect(),
            reach_sq: (reach * reach) as i64,
            joined: 0,
            min: rules.min,
            max: rules.max,
        }
    }
}

impl Game for Race {
    const NAME: &'static str = "race";
    const DEFAULT_CONFIG: &'static str = include_str!("../configs/race.toml");
    type Config = RaceConfig;
    type Step = RaceStep;

    fn schema(tick_rate: u16) -> Schema {
        Schema::new("race", 1, tick_rate)
            .component::<Car>()
            .component::<Progress>()
            .component::<Driver>()
            .component::<Checkpoint>()
            .kind("car", &["Car", "Progress", "Driver"])
            .kind("checkpoint", &["Checkpoint"])
            .input::<crate::Drive>()
    }

    fn rules(config: &RaceConfig, tick_rate: u16) -> Result<RaceRules, String> {
        config.rules(tick_rate)
    }

    fn create(config: RaceConfig, rules: &RaceRules, world: &mut GameWorld) -> Self {
        let race = Self::new(&config, rules, world);
        let marker = world
            .kind("checkpoint")
            .expect("the race's schema has checkpoints");
        for (order, &pos) in race.checkpoints.iter().enumerate() {
            if let Some(spawn) = world.spawn(marker) {
                let _ = spawn.with(&Checkpoint {
                    pos,
                    order: order as u8,
                });
            }
        }
        race
    }

    /// Everything the race knows is in its config and its world: the cars keep their laps.
    fn resume(
        config: RaceConfig,
        rules: &RaceRules,
        world: &GameWorld,
        _saved: &[u8],
    ) -> Option<Self> {
        let mut race = Self::new(&config, rules, world);
        race.joined = world.ids_of(race.car).len() as u32;
        Some(race)
    }

    /// A car on the start line, facing the first checkpoint after it.
    fn join(&mut self, world: &mut GameWorld, name: &str) -> Option<EntityId> {
        // `Game::rules` refuses a track of fewer than two checkpoints.
        let (&start, &next) = (self.checkpoints.first()?, self.checkpoints.get(1)?);
        let heading = ((f64::from(next[1] - start[1])).atan2(f64::from(next[0] - start[0]))
            / std::f64::consts::TAU
            * 4096.0)
            .round()
            .rem_euclid(4096.0) as u16;
        // Side by side across the line, 24 units apart: the middle first, then either side.
        let k = (self.joined % 9) as i32;
        let slot = if k % 2 == 1 { (k + 1) / 2 } else { -k / 2 };
        self.joined = self.joined.wrapping_add(1);
        let across = (f64::from(heading) / 4096.0 * std::f64::consts::TAU
            + std::f64::consts::FRAC_PI_2)
            .sin_cos();
        let offset = f64::from(slot * 24) * f64::from(POS_PER_UNIT);
        let pos = [
            (start[0] + (across.1 * offset) as i32).clamp(self.min[0], self.max[0]),
            (start[1] + (across.0 * offset) as i32).clamp(self.min[1], self.max[1]),
        ];
        let id = world
            .spawn(self.car)?
            .with(&Car {
                pos,
                heading,
                speed: 0,
            })
            .with(&Progress {
                laps: 0,
                next_checkpoint: 1,
            })
            .with(&Driver {
                name: truncated(name, 32).to_owned(),
            })
            .id();
        Some(id)
    }

    /// Counts checkpoints passed in order, and a lap each time a car that passed them all
    /// crosses the finish line.
    fn tick(&mut self, world: &mut GameWorld) {
        for id in world.ids_of(self.car) {
            let (Some(car), Some(progress)) = (world.get::<Car>(id), world.get::<Progress>(id))
            else {
                continue;
            };
            let Some(&target) = self.checkpoints.get(usize::from(progress.next_checkpoint)) else {
                continue;
            };
            let d = [0, 1].map(|axis| i64::from(car.pos[axis]) - i64::from(target[axis]));
            if d[0] * d[0] + d[1] * d[1] > self.reach_sq {
                continue;
            }
            let count = self.checkpoints.len();
            world.set(
                id,
                &Progress {
                    laps: progress
                        .laps
                        .saturating_add(u16::from(progress.next_checkpoint == 0))
                        .min(9999),
                    next_checkpoint: ((usize::from(progress.next_checkpoint) + 1) % count) as u8,
                },
            );
        }
    }
}

/// The longest prefix of `name` of at most `max` bytes that ends on a character boundary.
fn truncated(name: &str, max: usize) -> &str {
    let mut end = name.len().min(max);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}
