//! parity-320, the benchmark world of BENCHMARKS.md, on the public game API: props in a square
//! field, a rotating window of them jittering every tick. It has no players: every client
//! watches, so the stock bots and the benchmark seat as spectators.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use tickwire_game::{Game, GameWorld};
use tickwire_shared::component::Component;
use tickwire_shared::{EntityId, NoStep, Schema};

/// Sub-units per world unit: positions are fixed point with 6 fractional bits.
const STEPS_PER_UNIT: f32 = 64.0;

/// A prop's place, in 1/64 world units: the only replicated state.
#[derive(Clone, Debug, PartialEq, Component)]
pub struct Body {
    /// Position in 1/64 world units.
    #[net(
        fixed(frac_bits = 6, min = -16777216, max = 16777215),
        delta,
        interpolate = "linear"
    )]
    pub pos: [i32; 2],
}

/// Everything in a parity config besides `game`, `name` and `tick_rate`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParityConfig {
    /// Seed for the jitter; omit for a random seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The field, from (0, 0) to (width, height).
    pub world: FieldSettings,
    /// The props.
    pub props: PropSettings,
}

/// The field's size in units.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldSettings {
    /// Width in units.
    pub width: f32,
    /// Height in units.
    pub height: f32,
}

/// Every tick the next `moving_per_tick` props (a window rotating through all of them) each
/// move by a uniform random amount in [-jitter, jitter] on x and on y.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropSettings {
    /// How many props the world holds.
    pub count: u32,
    /// How many of them move each tick.
    pub moving_per_tick: u32,
    /// The largest move per axis per tick, in units.
    pub jitter: f32,
}

/// One room of the parity world.
#[derive(Debug)]
pub struct Parity {
    rng: StdRng,
    /// Props in spawn order, and where this tick's moving window starts.
    props: Vec<EntityId>,
    next: usize,
    moving_per_tick: usize,
    /// Largest move per axis per tick, in 1/64 units.
    jitter: i32,
    /// The field's far corner, in 1/64 units.
    size: [i32; 2],
}

impl Parity {
    /// The parity world of `config` with no props yet.
    fn new(config: &ParityConfig) -> Self {
        Self {
            rng: match config.seed {
                Some(seed) => StdRng::seed_from_u64(seed),
                None => StdRng::from_os_rng(),
            },
            props: Vec::new(),
            next: 0,
            moving_per_tick: config.props.moving_per_tick as usize,
            jitter: (config.props.jitter * STEPS_PER_UNIT).round() as i32,
            size: [config.world.width, config.world.height].map(|v| (v * STEPS_PER_UNIT) as i32),
        }
    }
}

impl Game for Parity {
    const NAME: &'static str = "parity";
    const DEFAULT_CONFIG: &'static str = include_str!("../configs/parity-320.toml");
    type Config = ParityConfig;
    type Step = NoStep;

    fn schema(tick_rate: u16) -> Schema {
        Schema::new("parity", 1, tick_rate)
            .component::<Body>()
            .kind("prop", &["Body"])
    }

    fn rules(config: &ParityConfig, _tick_rate: u16) -> Result<(), String> {
        let FieldSettings { width, height } = config.world;
        let side = |v: f32| v.is_finite() && v > 0.0 && v <= 100_000.0;
        if !side(width) || !side(height) {
            return Err("world width and height must be in (0, 100000]".into());
        }
        let props = &config.props;
        if props.count > 10_000 || props.moving_per_tick > props.count {
            return Err("props.count must be at most 10000, moving_per_tick at most count".into());
        }
        if !(props.jitter.is_finite() && props.jitter >= 0.0 && props.jitter <= width.min(height)) {
            return Err("props.jitter must be from 0 to the world's smaller side".into());
        }
        Ok(())
    }

    fn create(config: ParityConfig, _rules: &(), world: &mut GameWorld) -> Self {
        let mut parity = Self::new(&config);
        let prop = world.kind("prop").expect("the parity schema has props");
        for _ in 0..config.props.count {
            let pos = parity.size.map(|max| parity.rng.random_range(0..=max));
            if let Some(spawn) = world.spawn(prop) {
                parity.props.push(spawn.with(&Body { pos }).id());
            }
        }
        parity
    }

    /// The props are the world's; the moving window starts again from the first.
    fn resume(config: ParityConfig, _rules: &(), world: &GameWorld, _saved: &[u8]) -> Option<Self> {
        let mut parity = Self::new(&config);
        parity.props = world.ids_of(world.kind("prop")?);
        Some(parity)
    }

    /// Nobody plays: every client watches.
    fn join(&mut self, _world: &mut GameWorld, _name: &str) -> Option<EntityId> {
        None
    }

    /// Moves the next window of props by a random jitter each, staying inside the field.
    fn tick(&mut self, world: &mut GameWorld) {
        let jitter = self.jitter;
        for _ in 0..self.moving_per_tick.min(self.props.len()) {
            let id = self.props[self.next];
            self.next = (self.next + 1) % self.props.len();
            let step = [(); 2].map(|()| self.rng.random_range(-jitter..=jitter));
            let size = self.size;
            world.update::<Body, _>(id, |body| {
                for axis in 0..2 {
                    body.pos[axis] = body.pos[axis]
                        .saturating_add(step[axis])
                        .clamp(0, size[axis]);
                }
            });
        }
    }
}
