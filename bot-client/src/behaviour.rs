//! What a bot does each tick: the room's game's own behaviour when the bots know the game
//! (`crate::games`), otherwise a random walk through the input its schema declares.

use rand::Rng;
use tickwire_shared::bot_behaviour::BotBehaviour;
use tickwire_shared::{ClientSession, EntityId};

/// How a bot plays. In a game whose behaviours the bots do not know, every behaviour but `idle`
/// sends inputs drawn from the game's input schema (a random walk inside each field's range).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    /// Sends no input: a spectator that only receives and verifies snapshots.
    Idle,
    /// The arena: walks in a random direction, turning now and then.
    Wander,
    /// The arena: walks toward the nearest other player (or drone) and aims at it.
    Chase,
    /// The arena: chases and fires at its target.
    #[default]
    Fire,
    /// A random walk through the game's input schema, in any game (the arena too): what every
    /// behaviour but `idle` does in a game the bots have no behaviours for.
    Walk,
}

impl Behaviour {
    /// Its name on the command line, which is also the name a game's behaviour goes by.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Wander => "wander",
            Self::Chase => "chase",
            Self::Fire => "fire",
            Self::Walk => "walk",
        }
    }
}

/// A bot's way of playing, picked once the Welcome has named the game.
pub(crate) struct Brain {
    behaviour: Behaviour,
    playing: Option<Playing>,
}

enum Playing {
    /// The game's own behaviour.
    Game(Box<dyn BotBehaviour>),
    Walk(InputWalk),
}

impl std::fmt::Debug for Brain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Brain")
            .field("behaviour", &self.behaviour)
            .finish_non_exhaustive()
    }
}

impl Brain {
    pub(crate) fn new(behaviour: Behaviour) -> Self {
        Self {
            behaviour,
            playing: None,
        }
    }

    /// The input lanes for this tick, or `None` for a bot that sends none.
    pub(crate) fn decide(
        &mut self,
        session: &ClientSession,
        me: EntityId,
        rng: &mut impl Rng,
    ) -> Option<Vec<i32>> {
        if self.behaviour == Behaviour::Idle {
            return None;
        }
        let playing = match &mut self.playing {
            Some(playing) => playing,
            None => {
                let layout = session.world().layout()?;
                let game = &layout.schema().game;
                let own = crate::games::behaviour(game, self.behaviour.name(), rng.random());
                self.playing.insert(match own {
                    Some(behaviour) => Playing::Game(behaviour),
                    None => Playing::Walk(InputWalk::new(layout.input_ranges(), rng)),
                })
            }
        };
        match playing {
            Playing::Game(behaviour) => behaviour.input(session, me),
            Playing::Walk(walk) => Some(walk.step(rng).to_vec()),
        }
    }
}

/// A random walk through a game's input: each tick every lane moves by up to a sixteenth of its
/// range (at least 1), staying inside it, so every input is valid and inputs change smoothly.
#[derive(Debug)]
pub(crate) struct InputWalk {
    ranges: Vec<(i32, i32)>,
    lanes: Vec<i32>,
}

impl InputWalk {
    pub(crate) fn new(ranges: Vec<(i32, i32)>, rng: &mut impl Rng) -> Self {
        let lanes = ranges
            .iter()
            .map(|&(min, max)| rng.random_range(min..=max))
            .collect();
        Self { ranges, lanes }
    }

    pub(crate) fn step(&mut self, rng: &mut impl Rng) -> &[i32] {
        for (lane, &(min, max)) in self.lanes.iter_mut().zip(&self.ranges) {
            let span = i64::from(max) - i64::from(min);
            let reach = (span / 16).max(1);
            let next = i64::from(*lane) + rng.random_range(-reach..=reach);
            // Inside [min, max], so it fits an i32.
            *lane = next.clamp(i64::from(min), i64::from(max)) as i32;
        }
        &self.lanes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use tickwire_shared::layout::Layout;
    use tickwire_shared::schema::{
        Coding, ComponentDesc, Domain, FieldDesc, Interpolate, KindDesc, Schema,
    };

    #[test]
    fn the_input_walk_only_sends_inputs_the_schema_accepts_and_moves() {
        let field = |name: &str, lanes, domain| FieldDesc {
            name: name.into(),
            lanes,
            domain,
            coding: Coding::Absolute,
            interpolate: Interpolate::None,
            tolerance: 0,
        };
        let input = vec![
            field(
                "throttle",
                1,
                Domain::Int {
                    min: -127,
                    max: 127,
                },
            ),
            field(
                "steer",
                2,
                Domain::Fixed {
                    frac_bits: 4,
                    min: -16,
                    max: 16,
                },
            ),
            field("heading", 1, Domain::Angle { bits: 12 }),
            field(
                "gear",
                1,
                Domain::Enum {
                    variants: vec!["r".into(), "d".into()],
                },
            ),
            field("brake", 1, Domain::Bool),
        ];
        let layout = Layout::new(Schema {
            game: "walk".into(),
            version: 1,
            tick_rate: 30,
            components: vec![ComponentDesc {
                name: "c".into(),
                fields: vec![field("v", 1, Domain::Bool)],
            }],
            kinds: vec![KindDesc {
                name: "k".into(),
                components: vec![0],
            }],
            input,
            owner_only: vec![],
            rules: vec![],
        })
        .expect("valid");
        let mut rng = StdRng::seed_from_u64(7);
        let mut walk = InputWalk::new(layout.input_ranges(), &mut rng);
        let first = walk.lanes.clone();
        let mut changed = vec![false; first.len()];
        for _ in 0..2_000 {
            let lanes = walk.step(&mut rng).to_vec();
            assert!(layout.accepts_input(&lanes), "{lanes:?}");
            for (c, (a, b)) in changed.iter_mut().zip(first.iter().zip(&lanes)) {
                *c |= a != b;
            }
        }
        assert!(changed.iter().all(|&c| c), "every lane moves: {changed:?}");
        assert!(!layout.accepts_input(&[0; 5]), "a lane short");
        assert!(
            !layout.accepts_input(&[200, 0, 0, 0, 0, 0]),
            "throttle past its range"
        );
    }
}
