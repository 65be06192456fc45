//! `tickwire-server`: the stock server, serving the example games (examples/): the arena (the
//! default), the parity-320 benchmark world and the race. `tickwire-server --help` lists the
//! command line; `tickwire-server list-games` the games.

fn main() -> anyhow::Result<()> {
    tickwire_server::cli::main(tickwire_server::example_games())
}
