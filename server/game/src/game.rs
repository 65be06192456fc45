//! The [`Game`] trait: the server side of a game, driven by a Tickwire room.

use crate::game_world::GameWorld;
use serde::de::DeserializeOwned;
use tickwire_shared::{EntityId, Schema, SharedStep};

/// A game Tickwire serves. One value of it owns the rules of one room; the room owns the
/// [`GameWorld`] (what clients see) and calls these hooks from its own thread, in this order
/// each tick:
///
/// 1. [`Game::tick`]: the rules beyond the shared step (spawns, hits, removals, scores);
/// 2. [`Game::join`] for each new player, [`Game::leave`] for each player gone;
/// 3. for each input a player sent, in order: the shared step ([`Game::Step`]) on the player's
///    entity, then [`Game::input`];
/// 4. the world is replicated to every client: all of it, or with [`Visibility::PerClient`]
///    what [`Game::visible`] lets each one see; owner-only components only to the owner
///    ([`Game::owner`]); within the config's `budget_bytes_per_sec`, if it sets one.
///
/// A game is `Sync`: while the room makes clients' own snapshots it asks [`Game::visible`],
/// [`Game::position`] and [`Game::owner`] from several threads at once.
///
/// No hook is given a clock or a socket: a game is deterministic given its inputs (and its own
/// seeded randomness), and every hook is unit-testable with a bare [`GameWorld`].
pub trait Game: Sized + Send + Sync + 'static {
    /// The name clients and configs know it by (`--game NAME`, `/ws/ROOM?game=NAME`, a config
    /// file's `game = "NAME"`). Equal to its schema's game name.
    const NAME: &'static str;
    /// Its config file, as TOML (see [`crate::GameConfig`]): the config rooms of this game start
    /// with unless a join names another.
    const DEFAULT_CONFIG: &'static str;
    /// Its settings: everything in a config file besides `game`, `name` and `tick_rate`.
    /// `#[serde(deny_unknown_fields)]` is advised, so a typo is an error at start.
    type Config: DeserializeOwned + Send;
    /// The step that moves a player by one input, shared with client prediction.
    /// [`tickwire_shared::NoStep`] for a game whose clients only watch.
    type Step: SharedStep;

    /// Its schema without rules (the room adds the encoded [`Game::rules`]). The tick rate is
    /// the config's.
    fn schema(tick_rate: u16) -> Schema;

    /// The rules the shared step needs under `config`, or why the config is invalid: called
    /// for every config when the server starts, so a bad one stops it there.
    fn rules(
        config: &Self::Config,
        tick_rate: u16,
    ) -> Result<<Self::Step as SharedStep>::Rules, String>;

    /// A new room's game, with its initial entities spawned into `world`.
    fn create(
        config: Self::Config,
        rules: &<Self::Step as SharedStep>::Rules,
        world: &mut GameWorld,
    ) -> Self;

    /// What a room's save keeps of this game beyond its world: the state the world does not
    /// show (cooldowns, AI, who fired what). In a cluster the room is saved about once a second
    /// (called on the room's thread, so keep it quick); nothing by default. Encode it as you
    /// like, e.g. with [`tickwire_shared::codec::encode_state`] (bincode with serde).
    fn save(&self) -> Vec<u8> {
        Vec::new()
    }

    /// The game of a room that moves to this node (its owner stopped or drained), rebuilt from
    /// its world as last saved (entities, wire ids and tick) and the bytes [`Game::save`]
    /// returned then. Its players are seated again as they were, for their resumes.
    ///
    /// `None` (the default) says this game's rooms cannot move: the room starts afresh on the
    /// new node with [`Game::create`], and its players' resumes are refused.
    fn resume(
        config: Self::Config,
        rules: &<Self::Step as SharedStep>::Rules,
        world: &GameWorld,
        saved: &[u8],
    ) -> Option<Self> {
        let _ = (config, rules, world, saved);
        None
    }

    /// A player asks to play: spawn its entity and return it, or `None` to seat it as a
    /// spectator (a game without players always does; the Welcome then names no player).
    fn join(&mut self, world: &mut GameWorld, name: &str) -> Option<EntityId>;

    /// A player left for good (its resume window is over): by default its entity is despawned.
    fn leave(&mut self, world: &mut GameWorld, player: EntityId) {
        world.despawn(player);
    }

    /// One input of `player`, after the shared step moved its entity: what else the input
    /// does (fire, use). Nothing by default.
    fn input(
        &mut self,
        world: &mut GameWorld,
        player: EntityId,
        input: &<Self::Step as SharedStep>::Input,
    ) {
        let _ = (world, player, input);
    }

    /// The rules of one tick beyond the shared step. The world's tick has already advanced.
    fn tick(&mut self, world: &mut GameWorld);

    /// Whether every client sees the whole world (the default: one encoding of each tick's
    /// snapshot per baseline serves every client), or [`Game::visible`] decides for each.
    /// Asked once, when the room starts, so it may depend on the config.
    fn visibility(&self) -> Visibility {
        Visibility::Everything
    }

    /// With [`Visibility::PerClient`] or [`Visibility::Near`]: whether the client whose player
    /// is `viewer` (`None`: a spectator) sees `entity` this tick. Asked each tick after the
    /// inputs: for every client and entity with `PerClient`, and for the entities near each
    /// player with `Near`. A client always sees its own player. An entity a client stops seeing
    /// is removed on that client, and one it sees again is sent in full; each client's checksum
    /// covers exactly what it holds. Everything by default.
    fn visible(&self, world: &GameWorld, viewer: Option<EntityId>, entity: EntityId) -> bool {
        let _ = (world, viewer, entity);
        true
    }

    /// The player whose client receives `entity`'s owner-only components (those its schema
    /// adds with [`Schema::owner_only`]); every other client holds them at their hidden values.
    /// Asked each tick for the entities that have such components. By default an entity owns
    /// itself: a player's own entity reaches its own client in full.
    fn owner(&self, world: &GameWorld, entity: EntityId) -> Option<EntityId> {
        let _ = world;
        Some(entity)
    }

    /// With [`Visibility::Near`]: where `entity` is, in the game's own integer units (those
    /// of `radius` and `margin`). `None` (the default): it has no place, and every player sees
    /// it (a scoreboard, the match clock).
    fn position(&self, world: &GameWorld, entity: EntityId) -> Option<[i32; 2]> {
        let _ = (world, entity);
        None
    }
}

/// Who sees what in a game's rooms (see [`Game::visibility`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Every client sees every entity.
    #[default]
    Everything,
    /// [`Game::visible`] decides, per client and entity. Each client's snapshot is then
    /// encoded for it alone.
    PerClient,
    /// Interest management: a player sees the entities within `radius` of its own player's
    /// [`Game::position`], and keeps seeing one until it is past `radius + margin` (so an
    /// entity at the edge does not flicker in and out), refined by [`Game::visible`]. The room
    /// finds them in a grid of positions rebuilt each tick, so a player's cost grows with what
    /// is near it, not with the world. Spectators see everything.
    Near {
        /// How far a player sees, in the units of [`Game::position`].
        radius: u32,
        /// How much farther an entity a player sees may go before it leaves its view.
        margin: u32,
    },
}
