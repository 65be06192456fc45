//! `tickwire-server`: the stock server, serving the example games (examples/): the arena (the
//! default), the parity-320 benchmark world and the race. `tickwire-server --help` lists the
//! command line; `tickwire-server list-games` the games. (The generic server in `src/` names
//! no game: this binary is built like any game's own, behind the default `example-games`
//! feature.)

use tickwire_server::Games;

/// A room makes thousands of small buffers a tick, on every core at once: mimalloc's
/// per-thread heaps take them without contention (v2: v3 commits whole arenas up front, which
/// doubled the resident memory per client). A game's own binary may do the same.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let games = Games::new()
        .with::<tickwire_arena::Arena>()
        .with::<tickwire_parity::Parity>()
        .with::<tickwire_race::Race>();
    tickwire_server::cli::main(games)
}
