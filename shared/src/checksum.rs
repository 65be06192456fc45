//! An order-independent world checksum that updates in O(changes).
//!
//! The checksum of a world is the wrapping sum of one 32-bit hash per entity (its id, kind,
//! lanes and strings). Adding, removing or changing an entity adds or subtracts that entity's hash,
//! so the server and clients keep it current without rehashing the world.

use crate::EntityId;
use crate::world::EntityData;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The checksum of a whole replicated world. Travels as 4 little-endian bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Checksum(pub u32);

impl Checksum {
    /// Accounts for an entity that joined the world.
    pub fn add(&mut self, id: EntityId, data: &EntityData) {
        self.0 = self.0.wrapping_add(entity_hash(id, data));
    }

    /// Accounts for an entity that left the world.
    pub fn remove(&mut self, id: EntityId, data: &EntityData) {
        self.0 = self.0.wrapping_sub(entity_hash(id, data));
    }
}

/// The hash of one entity: splitmix64 steps over its id and kind, its lanes two to a word, then
/// each string's length and its bytes eight to a word, folded to 32 bits. Integer-only, so every
/// platform (native and wasm32) computes the same value.
#[must_use]
pub fn entity_hash(id: EntityId, data: &EntityData) -> u32 {
    let mut h =
        splitmix64(0x9E37_79B9_7F4A_7C15 ^ (u64::from(id.0) | (u64::from(data.kind) << 32)));
    for pair in data.lanes.chunks(2) {
        let low = u64::from(pair[0] as u32);
        let high = pair.get(1).map_or(0, |&v| u64::from(v as u32) << 32);
        h = splitmix64(h ^ low ^ high);
    }
    for string in &data.strings {
        h = splitmix64(h ^ string.len() as u64);
        for chunk in string.as_bytes().chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = splitmix64(h ^ u64::from_le_bytes(word));
        }
    }
    (h ^ (h >> 32)) as u32
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Serialize for Checksum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Fixed width: a hash is random, so a varint would take 5 bytes instead of 4.
        self.0.to_le_bytes().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Checksum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <[u8; 4]>::deserialize(deserializer).map(|b| Self(u32::from_le_bytes(b)))
    }
}
