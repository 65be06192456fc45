//! A room's save: what another node needs to go on with the room (docs/PROTOCOL.md, "Saved
//! rooms"). Two little-endian bytes of [`SAVED_ROOM_VERSION`], then a bincode [`SavedRoom`]:
//! the room's config as TOML, its game ([`SavedGame`]: tick, world and the game's own bytes)
//! and its seats. The world is packed as a full snapshot's, with the same encoder, decoder and
//! checks, against the game's layout.

use crate::config::GameConfig;
use crate::registry::HostedGame;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tickwire_shared::codec;
use tickwire_shared::layout::Layout;
use tickwire_shared::world_wire::{self, PackedDelta, WorldWireError};
use tickwire_shared::{Checksum, EntityId, ResumeToken, SchemaHash, Tick, World};

/// The version of the save's format. A node refuses a save of another version (the room then
/// starts afresh there).
pub const SAVED_ROOM_VERSION: u16 = 1;

/// A room as saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedRoom {
    /// The room's config, as a config file would hold it.
    pub config: String,
    /// Its game.
    pub game: SavedGame,
    /// Its seats, connected or kept for a resume.
    pub seats: Vec<SavedSeat>,
}

/// A room's game as saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedGame {
    /// The game's schema hash (rules included): a node whose build or config gives another
    /// one does not load the save.
    pub schema_hash: u64,
    /// The tick of the save.
    pub tick: u32,
    /// The world's checksum then: checked when it is loaded.
    pub checksum: u32,
    /// The world, packed as a full snapshot's.
    pub world: Vec<u8>,
    /// What [`crate::Game::save`] returned.
    pub game: Vec<u8>,
}

/// A seat as saved: enough to take it back with its resume token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSeat {
    /// The player's name.
    pub name: String,
    /// Its entity; `None` for a spectator.
    pub player: Option<u32>,
    /// The last input sequence applied.
    pub last_input: u32,
    /// The token of its latest Welcome.
    pub resume_token: u128,
}

/// Why a save does not load.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Shorter than its version.
    #[error("no version")]
    NoVersion,
    /// Written by another version of the format.
    #[error("version {0}, not {SAVED_ROOM_VERSION}")]
    Version(u16),
    /// Not a save, or over [`codec::MAX_SAVED_STATE_BYTES`].
    #[error(transparent)]
    Decode(#[from] codec::DecodeError),
    /// It did not encode.
    #[error(transparent)]
    Encode(#[from] codec::EncodeError),
    /// Its world does not pack or unpack under the game's layout.
    #[error("its world: {0}")]
    World(#[from] WorldWireError),
    /// Its world is not the one saved, or not valid for the game.
    #[error("its world: {0}")]
    Invalid(String),
    /// Saved by a build or config whose game has another schema.
    #[error("its game's schema differs from this node's")]
    OtherSchema,
}

impl SavedRoom {
    /// The save's bytes: the version, then the room.
    pub fn encode(&self) -> Result<Vec<u8>, SaveError> {
        let mut bytes = SAVED_ROOM_VERSION.to_le_bytes().to_vec();
        bytes.extend(codec::encode_state(self)?);
        Ok(bytes)
    }

    /// Reads a save, refusing another version.
    pub fn decode(bytes: &[u8]) -> Result<Self, SaveError> {
        let (version, room) = bytes.split_first_chunk::<2>().ok_or(SaveError::NoVersion)?;
        match u16::from_le_bytes(*version) {
            SAVED_ROOM_VERSION => Ok(codec::decode_state(room)?),
            other => Err(SaveError::Version(other)),
        }
    }
}

/// What a room's thread takes for a save: the world is shared, not copied, and the packing
/// and encoding are left to [`GameState::pack`], off the thread.
#[derive(Debug)]
pub struct GameState {
    layout: Arc<Layout>,
    schema_hash: SchemaHash,
    tick: Tick,
    world: World,
    game: Vec<u8>,
}

impl GameState {
    /// The game's state now.
    #[must_use]
    pub fn of(game: &dyn HostedGame) -> Self {
        Self {
            layout: Arc::clone(game.layout()),
            schema_hash: game.schema_hash(),
            tick: game.tick(),
            world: game.world().clone(),
            game: game.save(),
        }
    }

    /// The game as saved.
    pub fn pack(self) -> Result<SavedGame, SaveError> {
        let delta = World::new().diff(&self.world, &self.layout);
        Ok(SavedGame {
            schema_hash: self.schema_hash.0,
            tick: self.tick.0,
            checksum: self.world.checksum().0,
            world: PackedDelta::pack(&delta, &self.layout)?.0,
            game: self.game,
        })
    }
}

impl SavedGame {
    /// Its world under `layout`, checked against its checksum.
    pub(crate) fn world(&self, layout: &Layout) -> Result<World, SaveError> {
        let delta = world_wire::unpack(&self.world, layout)?;
        let mut world = World::new();
        world
            .apply(&delta, layout)
            .map_err(|e| SaveError::Invalid(e.to_string()))?;
        if world.checksum() != Checksum(self.checksum) {
            return Err(SaveError::Invalid("checksum mismatch".into()));
        }
        if let Some((id, _)) = world.iter().find(|(_, e)| !e.is_valid(layout)) {
            return Err(SaveError::Invalid(format!("entity {} is not valid", id.0)));
        }
        Ok(world)
    }
}

impl SavedSeat {
    /// The seat's entity.
    #[must_use]
    pub fn player(&self) -> Option<EntityId> {
        self.player.map(EntityId)
    }

    /// The seat's resume token.
    #[must_use]
    pub fn resume_token(&self) -> ResumeToken {
        ResumeToken(self.resume_token)
    }
}

impl GameConfig {
    /// The config as a config file would hold it (what [`GameConfig::parse`] reads back;
    /// fault injection is never written).
    #[must_use]
    pub fn to_toml(&self) -> String {
        let mut table = self.settings.clone();
        table.insert("game".into(), self.game.clone().into());
        table.insert("name".into(), self.name.clone().into());
        table.insert("tick_rate".into(), i64::from(self.tick_rate).into());
        if let Some(bytes) = self.budget_bytes_per_sec {
            table.insert("budget_bytes_per_sec".into(), i64::from(bytes).into());
        }
        table.to_string()
    }
}
