//! The rooms: the directory that finds or opens them (and where each runs: `placement`), the threads that tick them, and inside
//! each, its fixed-tick loop driving its game and the history its snapshots are made from.

pub(crate) mod audience;
pub(crate) mod budget;
pub(crate) mod core;
pub(crate) mod directory;
pub(crate) mod game_loop;
pub(crate) mod interest;
pub(crate) mod placement;
pub(crate) mod replication;
pub(crate) mod threads;
