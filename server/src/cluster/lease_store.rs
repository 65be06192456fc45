//! Room leases in Redis: exactly one owner per room, fenced by an epoch.
//!
//! Each room has three keys under one hash tag (`tw:{ROOM}:…`, so a room stays on one cluster
//! slot):
//! - `owner`: a hash `node`, `url`, `token`, `epoch`, with a TTL (the lease);
//! - `epoch`: a counter with no TTL, the fencing token;
//! - `state`: the room's last save, kept for [`SAVE_KEPT_FOR`] after it is written.
//!
//! Every change is an atomic Lua script, and every write by an owner checks its token and epoch
//! in the same script. A stale owner (paused past its TTL, cut off, or simply late) therefore has
//! its renewals and saves refused, with no clock assumption. See docs/ARCHITECTURE.md, "Rooms
//! across processes", and the design in the handbook's SCALE_OUT.md.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use std::sync::LazyLock;
use std::time::Duration;

/// Takes the lease if no one holds it: the epoch goes up by one. Returns
/// `{acquired, node, url, epoch}`, the holder's whether it is new or not.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 1 then
          local o = redis.call('HMGET', KEYS[1], 'node', 'url', 'epoch')
          return {0, o[1], o[2], o[3]}
        end
        local epoch = redis.call('INCR', KEYS[2])
        redis.call('HSET', KEYS[1], 'node', ARGV[1], 'url', ARGV[2], 'token', ARGV[3], 'epoch', epoch)
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return {1, ARGV[1], ARGV[2], tostring(epoch)}
        ",
    )
});

/// The fence every owner's write passes first, in the same script as the write: only the holder
/// of `token` (ARGV[1]) at `epoch` (ARGV[2]) of the owner hash (KEYS[1]) goes on; anyone else
/// gets 0.
const FENCE: &str = r"
    local o = redis.call('HMGET', KEYS[1], 'token', 'epoch')
    if o[1] ~= ARGV[1] or o[2] ~= ARGV[2] then return 0 end
";

/// A script that runs `write` (then returns 1) only past [`FENCE`].
fn fenced(write: &str) -> Script {
    Script::new(&format!("{FENCE}{write}\nreturn 1"))
}

/// Extends the lease by ARGV[3] ms. Returns 1, or 0 when refused.
static RENEW: LazyLock<Script> =
    LazyLock::new(|| fenced("redis.call('PEXPIRE', KEYS[1], ARGV[3])"));

/// Writes the room's state (ARGV[3]) to KEYS[2], kept for ARGV[4] ms. Returns 1, or 0.
static SAVE: LazyLock<Script> =
    LazyLock::new(|| fenced("redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])"));

/// Writes the room's last state (as [`SAVE`]) and gives the lease up, in one step: the next owner
/// loads exactly this state. Returns 1, or 0.
static HAND_OFF: LazyLock<Script> = LazyLock::new(|| {
    fenced("redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])\nredis.call('DEL', KEYS[1])")
});

/// Gives the lease up and drops the room's state (KEYS[2]): the room is over. Returns 1, or 0.
static RELEASE: LazyLock<Script> =
    LazyLock::new(|| fenced("redis.call('DEL', KEYS[1])\nredis.call('DEL', KEYS[2])"));

/// Gives the lease up, keeping the room's state. Returns 1, or 0.
static RELEASE_KEEPING_SAVE: LazyLock<Script> =
    LazyLock::new(|| fenced("redis.call('DEL', KEYS[1])"));

/// How long a room's save is kept after its last write: a room whose owner died can be taken
/// over from it until then.
pub const SAVE_KEPT_FOR: Duration = Duration::from_secs(3600);

/// A node of the cluster, as leases name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its id (`--node-id`), unique in the cluster.
    pub id: String,
    /// Where clients reach it (`--public-url`), such as `ws://10.0.0.7:7777`.
    pub url: String,
}

/// A node as it last announced itself (every third of the lease TTL, kept for one TTL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    /// The node.
    pub node: Node,
    /// Taking new rooms (not draining).
    pub ready: bool,
    /// Rooms it owns, and the most it may (`max_rooms`).
    pub rooms: u64,
    pub max_rooms: u64,
}

impl NodeRecord {
    /// Whether it takes a new room.
    #[must_use]
    pub fn has_room(&self) -> bool {
        self.ready && self.rooms < self.max_rooms
    }
}

/// The node that holds a room's lease, and its epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The node's id.
    pub node: String,
    /// Where clients reach it.
    pub url: String,
    /// The lease's epoch: it rises with every new owner.
    pub epoch: u64,
}

/// A lease this node holds: what its renewals, saves and release present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The room.
    pub room: String,
    /// Its epoch, the fencing token everything else sees.
    pub epoch: u64,
    /// A secret of this acquisition only.
    token: String,
}

/// What an acquire found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// This node now holds the room.
    Mine(Lease),
    /// Another node (or this one, under another lease) holds it.
    Held(Owner),
}

/// Why a lease store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis could not be reached, or answered with an error.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis answered something the scripts never return.
    #[error("unexpected answer from redis: {0}")]
    Unexpected(String),
}

/// Leases in one Redis, for this node.
#[derive(Clone)]
pub struct LeaseStore {
    redis: ConnectionManager,
    node: Node,
    ttl: Duration,
}

impl std::fmt::Debug for LeaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseStore")
            .field("node", &self.node)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The set of node ids that announced themselves.
const NODES_KEY: &str = "tw:nodes";

fn node_key(id: &str) -> String {
    format!("tw:node:{id}")
}

fn owner_key(room: &str) -> String {
    format!("tw:{{{room}}}:owner")
}

fn epoch_key(room: &str) -> String {
    format!("tw:{{{room}}}:epoch")
}

fn state_key(room: &str) -> String {
    format!("tw:{{{room}}}:state")
}

impl LeaseStore {
    /// Connects to the Redis at `url` (`redis://HOST:PORT`) for `node`, with leases of `ttl`.
    pub async fn connect(url: &str, node: Node, ttl: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)?;
        // A call that takes longer than a lease is as good as a failed one.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(ttl))
            .set_response_timeout(Some(ttl));
        let redis = client.get_connection_manager_with_config(config).await?;
        Ok(Self { redis, node, ttl })
    }

    /// This node.
    #[must_use]
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// How long a lease lasts without renewal.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes `room`'s lease if no node holds it (the epoch rises), or names its holder.
    pub async fn acquire(&self, room: &str) -> Result<Acquired, StoreError> {
        let token = format!("{:032x}", rand::random::<u128>());
        let (acquired, node, url, epoch): (u8, String, String, String) = ACQUIRE
            .key(owner_key(room))
            .key(epoch_key(room))
            .arg(&self.node.id)
            .arg(&self.node.url)
            .arg(&token)
            .arg(self.ttl_ms())
            .invoke_async(&mut self.redis.clone())
            .await?;
        let epoch = epoch
            .parse()
            .map_err(|_| StoreError::Unexpected(format!("epoch {epoch:?}")))?;
        Ok(if acquired == 1 {
            Acquired::Mine(Lease {
                room: room.to_owned(),
                epoch,
                token,
            })
        } else {
            Acquired::Held(Owner { node, url, epoch })
        })
    }

    /// Extends `lease` by the TTL; `false` when it is no longer this node's (fenced).
    pub async fn renew(&self, lease: &Lease) -> Result<bool, StoreError> {
        let renewed: u8 = RENEW
            .key(owner_key(&lease.room))
            .arg(&lease.token)
            .arg(lease.epoch)
            .arg(self.ttl_ms())
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(renewed == 1)
    }

    /// Writes the room's saved `state`; `false` when the lease is no longer this node's.
    pub async fn save(&self, lease: &Lease, state: &[u8]) -> Result<bool, StoreError> {
        self.write_state(&SAVE, lease, state).await
    }

    /// Writes the room's last `state` and gives `lease` up, in one step; `false` when the lease
    /// was no longer this node's (nothing is written then).
    pub async fn hand_off(&self, lease: &Lease, state: &[u8]) -> Result<bool, StoreError> {
        self.write_state(&HAND_OFF, lease, state).await
    }

    async fn write_state(
        &self,
        script: &Script,
        lease: &Lease,
        state: &[u8],
    ) -> Result<bool, StoreError> {
        let written: u8 = script
            .key(owner_key(&lease.room))
            .key(state_key(&lease.room))
            .arg(&lease.token)
            .arg(lease.epoch)
            .arg(state)
            .arg(SAVE_KEPT_FOR.as_millis() as u64)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(written == 1)
    }

    /// The room's last save, if any.
    pub async fn saved(&self, room: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.redis.clone().get(state_key(room)).await?)
    }

    /// Gives `lease` up and drops the room's save (the room is over); `false` when the lease
    /// was no longer this node's (nothing changes then).
    pub async fn release(&self, lease: &Lease) -> Result<bool, StoreError> {
        let released: u8 = RELEASE
            .key(owner_key(&lease.room))
            .key(state_key(&lease.room))
            .arg(&lease.token)
            .arg(lease.epoch)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(released == 1)
    }

    /// Gives `lease` up and keeps the room's save for the next owner; `false` when the lease
    /// was no longer this node's.
    pub async fn release_keeping_save(&self, lease: &Lease) -> Result<bool, StoreError> {
        let released: u8 = RELEASE_KEEPING_SAVE
            .key(owner_key(&lease.room))
            .arg(&lease.token)
            .arg(lease.epoch)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(released == 1)
    }

    /// Announces this node: ready or draining, and its rooms; the record lasts one TTL.
    pub async fn announce(
        &self,
        ready: bool,
        rooms: u64,
        max_rooms: u64,
    ) -> Result<(), StoreError> {
        let key = node_key(&self.node.id);
        let () = redis::pipe()
            .atomic()
            .hset_multiple(
                &key,
                &[
                    ("url", self.node.url.clone()),
                    (
                        "status",
                        if ready { "ready" } else { "draining" }.to_owned(),
                    ),
                    ("rooms", rooms.to_string()),
                    ("max_rooms", max_rooms.to_string()),
                ],
            )
            .ignore()
            .pexpire(&key, self.ttl_ms() as i64)
            .ignore()
            .sadd(NODES_KEY, &self.node.id)
            .ignore()
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// Every node whose record has not expired. Ids whose record has are dropped from the set.
    pub async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let mut redis = self.redis.clone();
        let ids: Vec<String> = redis.smembers(NODES_KEY).await?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(node_key(id));
        }
        let fields: Vec<std::collections::HashMap<String, String>> =
            pipe.query_async(&mut redis).await?;
        let mut nodes = Vec::new();
        for (id, fields) in ids.into_iter().zip(fields) {
            let number = |name: &str| fields.get(name).and_then(|v| v.parse().ok());
            match (fields.get("url"), number("rooms"), number("max_rooms")) {
                (Some(url), Some(rooms), Some(max_rooms)) => nodes.push(NodeRecord {
                    node: Node {
                        id,
                        url: url.clone(),
                    },
                    ready: fields.get("status").is_some_and(|s| s == "ready"),
                    rooms,
                    max_rooms,
                }),
                _ => {
                    let () = redis.srem(NODES_KEY, &id).await?;
                }
            }
        }
        Ok(nodes)
    }

    /// The room's owner, if a node holds its lease.
    pub async fn locate(&self, room: &str) -> Result<Option<Owner>, StoreError> {
        let (node, url, epoch): (Option<String>, Option<String>, Option<u64>) = redis::cmd("HMGET")
            .arg(owner_key(room))
            .arg("node")
            .arg("url")
            .arg("epoch")
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(match (node, url, epoch) {
            (Some(node), Some(url), Some(epoch)) => Some(Owner { node, url, epoch }),
            _ => None,
        })
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}
