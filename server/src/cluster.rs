//! Rooms across server processes: a directory in Redis where each room has exactly one owner
//! (`lease_store`), fenced by an epoch. Without `--directory` the server keeps its in-process
//! directory (`room::directory`).

pub mod lease_store;
