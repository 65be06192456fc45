//! The rooms: the directory that finds or opens them, the threads that tick them, and inside
//! each, its fixed-tick loop, its world and the history its snapshots are made from.

pub(crate) mod arena;
pub(crate) mod directory;
pub(crate) mod game_loop;
pub(crate) mod replication;
pub mod scenario;
pub(crate) mod threads;
pub(crate) mod wire_ids;
pub(crate) mod world;
