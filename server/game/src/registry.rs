//! [`Games`]: the games a server binary is built with, by name, and how a room starts one from
//! its [`GameConfig`] as a [`HostedGame`] (the one interface the room drives, whatever the game).

use crate::config::{ConfigError, GameConfig};
use crate::game::{Game, Visibility};
use crate::game_world::GameWorld;
use crate::saved_room::{SaveError, SavedGame};
use std::collections::BTreeMap;
use std::sync::Arc;
use tickwire_shared::codec;
use tickwire_shared::component::Input;
use tickwire_shared::layout::Layout;
use tickwire_shared::{EntityId, SchemaHash, SharedStep, Tick, World};

/// A game as a room drives it: its hooks with the shared step run for it, its inputs still as
/// lanes. [`Games::start`] makes one for any [`Game`].
pub trait HostedGame: Send + Sync {
    /// The game's layout (its schema, rules included).
    fn layout(&self) -> &Arc<Layout>;
    /// The hash of its schema.
    fn schema_hash(&self) -> SchemaHash;
    /// The current tick.
    fn tick(&self) -> Tick;
    /// What clients hold.
    fn world(&self) -> &World;
    /// Advances to the next tick and runs the game's rules for it.
    fn step(&mut self) -> Tick;
    /// A player asks to play: its entity, or `None` to seat it as a spectator.
    fn join(&mut self, name: &str) -> Option<EntityId>;
    /// A player left for good.
    fn leave(&mut self, player: EntityId);
    /// One input of `player`: the shared step on its entity, then the game's input hook.
    /// `false` (and nothing changes) when `lanes` are not the game's input.
    fn input(&mut self, player: EntityId, lanes: &[i32]) -> bool;
    /// Whether each client sees the whole world or its own part of it.
    fn visibility(&self) -> Visibility;
    /// Whether the client whose player is `viewer` sees `entity` (see [`Game::visible`]).
    fn visible(&self, viewer: Option<EntityId>, entity: EntityId) -> bool;
    /// Where `entity` is (see [`Game::position`]).
    fn position(&self, entity: EntityId) -> Option<[i32; 2]>;
    /// The player whose client receives `entity`'s owner-only components (see [`Game::owner`]).
    fn owner(&self, entity: EntityId) -> Option<EntityId>;
    /// The game's own state beyond the world, for the room's save (see [`Game::save`]).
    fn save(&self) -> Vec<u8>;
}

impl std::fmt::Debug for dyn HostedGame + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedGame")
            .field("game", &self.layout().schema().game)
            .field("tick", &self.tick())
            .finish_non_exhaustive()
    }
}

type Rules<G> = <<G as Game>::Step as SharedStep>::Rules;
type State<G> = <<G as Game>::Step as SharedStep>::State;
type StepInput<G> = <<G as Game>::Step as SharedStep>::Input;

/// A [`Game`] in a room.
struct Hosted<G: Game> {
    game: G,
    world: GameWorld,
    rules: Rules<G>,
    schema_hash: SchemaHash,
}

impl<G: Game> HostedGame for Hosted<G> {
    fn layout(&self) -> &Arc<Layout> {
        self.world.layout()
    }

    fn schema_hash(&self) -> SchemaHash {
        self.schema_hash
    }

    fn tick(&self) -> Tick {
        self.world.tick()
    }

    fn world(&self) -> &World {
        self.world.replicated()
    }

    fn step(&mut self) -> Tick {
        let tick = self.world.advance_tick();
        self.game.tick(&mut self.world);
        tick
    }

    fn join(&mut self, name: &str) -> Option<EntityId> {
        self.game.join(&mut self.world, name)
    }

    fn leave(&mut self, player: EntityId) {
        self.game.leave(&mut self.world, player);
    }

    fn input(&mut self, player: EntityId, lanes: &[i32]) -> bool {
        let Some(input) = StepInput::<G>::read(lanes) else {
            return false;
        };
        let rules = &self.rules;
        self.world
            .update::<State<G>, _>(player, |state| G::Step::step(rules, state, &input));
        self.game.input(&mut self.world, player, &input);
        true
    }

    fn visibility(&self) -> Visibility {
        self.game.visibility()
    }

    fn visible(&self, viewer: Option<EntityId>, entity: EntityId) -> bool {
        self.game.visible(&self.world, viewer, entity)
    }

    fn position(&self, entity: EntityId) -> Option<[i32; 2]> {
        self.game.position(&self.world, entity)
    }

    fn owner(&self, entity: EntityId) -> Option<EntityId> {
        self.game.owner(&self.world, entity)
    }

    fn save(&self) -> Vec<u8> {
        self.game.save()
    }
}

/// Starts one game's room from a config, with the wire-id quarantine in ticks: a new one, or
/// one from a save.
type Start =
    fn(&GameConfig, u32, Option<&SavedGame>) -> Result<Option<Box<dyn HostedGame>>, ConfigError>;

/// How the registry checks and starts one game.
#[derive(Clone, Copy)]
struct Entry {
    default_config: &'static str,
    start: Start,
}

/// The games a server serves, by name. The first one added is the default game.
#[derive(Clone, Default)]
pub struct Games {
    entries: BTreeMap<&'static str, Entry>,
    first: Option<&'static str>,
}

impl std::fmt::Debug for Games {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.entries.keys()).finish()
    }
}

impl Games {
    /// No games yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `G`.
    ///
    /// # Panics
    /// If a game of the same name is already registered: two games cannot share a name.
    #[must_use]
    pub fn with<G: Game>(mut self) -> Self {
        let entry = Entry {
            default_config: G::DEFAULT_CONFIG,
            start: start::<G>,
        };
        assert!(
            self.entries.insert(G::NAME, entry).is_none(),
            "two games are named {:?}",
            G::NAME
        );
        self.first.get_or_insert(G::NAME);
        self
    }

    /// The game rooms play unless told otherwise: the first one added.
    #[must_use]
    pub fn default_game(&self) -> Option<&'static str> {
        self.first
    }

    /// Every game's name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.keys().copied()
    }

    /// Whether a game of this name is registered.
    #[must_use]
    pub fn contains(&self, game: &str) -> bool {
        self.entries.contains_key(game)
    }

    /// The game's own default config.
    pub fn default_config(&self, game: &str) -> Result<GameConfig, ConfigError> {
        let entry = self
            .entries
            .get(game)
            .ok_or_else(|| ConfigError::UnknownGame(game.to_owned()))?;
        let config = GameConfig::parse(entry.default_config)?;
        if config.game != game {
            return Err(ConfigError::Invalid {
                game: game.to_owned(),
                reason: format!("its default config names the game {:?}", config.game),
            });
        }
        Ok(config)
    }

    /// Checks a config the way a room would start it: the game exists and accepts the
    /// settings. Servers check every config they load before taking connections.
    pub fn check(&self, config: &GameConfig) -> Result<(), ConfigError> {
        self.start(config, 1).map(drop)
    }

    /// The game of a room that moved here, rebuilt from its save with [`Game::resume`];
    /// `Ok(None)` when the game's rooms cannot move.
    pub fn resume(
        &self,
        config: &GameConfig,
        id_quarantine_ticks: u32,
        saved: &SavedGame,
    ) -> Result<Option<Box<dyn HostedGame>>, ConfigError> {
        (self.entry(&config.game)?.start)(config, id_quarantine_ticks, Some(saved))
    }

    fn entry(&self, game: &str) -> Result<&Entry, ConfigError> {
        self.entries
            .get(game)
            .ok_or_else(|| ConfigError::UnknownGame(game.to_owned()))
    }

    /// The game a new room plays under `config`, its initial entities spawned; wire ids are
    /// quarantined for `id_quarantine_ticks` (see [`GameWorld::new`]).
    pub fn start(
        &self,
        config: &GameConfig,
        id_quarantine_ticks: u32,
    ) -> Result<Box<dyn HostedGame>, ConfigError> {
        let started = (self.entry(&config.game)?.start)(config, id_quarantine_ticks, None)?;
        started.ok_or_else(|| ConfigError::Invalid {
            game: config.game.clone(),
            reason: "it did not start".into(),
        })
    }
}

fn start<G: Game>(
    config: &GameConfig,
    id_quarantine_ticks: u32,
    saved: Option<&SavedGame>,
) -> Result<Option<Box<dyn HostedGame>>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        game: G::NAME.to_owned(),
        reason,
    };
    let settings: G::Config = toml::Value::Table(config.settings.clone()).try_into()?;
    let rules = G::rules(&settings, config.tick_rate).map_err(invalid)?;
    let rule_bytes = codec::encode_rules(&rules).map_err(|e| invalid(e.to_string()))?;
    let schema = G::schema(config.tick_rate).rules(rule_bytes);
    if schema.game != G::NAME {
        return Err(invalid(format!(
            "its schema names the game {:?}",
            schema.game
        )));
    }
    let schema_hash = schema.hash().map_err(|e| invalid(e.to_string()))?;
    let layout = Layout::new(schema).map_err(|e| invalid(format!("its schema: {e}")))?;
    let layout = Arc::new(layout);
    let (game, world) = match saved {
        None => {
            let mut world = GameWorld::new(layout, config.tick_rate, id_quarantine_ticks);
            (G::create(settings, &rules, &mut world), world)
        }
        Some(saved) => {
            if saved.schema_hash != schema_hash.0 {
                return Err(SaveError::OtherSchema.into());
            }
            let world = GameWorld::restored(
                Arc::clone(&layout),
                config.tick_rate,
                id_quarantine_ticks,
                Tick(saved.tick),
                saved.world(&layout)?,
            );
            match G::resume(settings, &rules, &world, &saved.game) {
                Some(game) => (game, world),
                None => return Ok(None),
            }
        }
    };
    Ok(Some(Box::new(Hosted {
        game,
        world,
        rules,
        schema_hash,
    })))
}
