//! A room's save as a node reads it from Redis when it takes the room over: any bytes, and a real
//! arena save with the input's bytes flipped into it, are refused cleanly or load into a room
//! that ticks, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tickwire_arena::Arena;
use tickwire_game::{GameConfig, GameState, Games, SavedRoom, SavedSeat};

fn games() -> Games {
    Games::new().with::<Arena>()
}

/// A real save: an arena room with two players, 40 ticks in.
fn real_save() -> &'static [u8] {
    static SAVE: OnceLock<Vec<u8>> = OnceLock::new();
    SAVE.get_or_init(|| {
        let config = games().default_config("arena").expect("the arena's config");
        let mut game = games().start(&config, 64).expect("starts");
        let players: Vec<_> = ["a", "b"].iter().filter_map(|name| game.join(name)).collect();
        for _ in 0..40 {
            game.step();
        }
        let seats = players
            .iter()
            .map(|p| SavedSeat { name: "a".into(), player: Some(p.0), last_input: 3, resume_token: 9 })
            .collect();
        let game = GameState::of(&*game).pack().expect("packs");
        SavedRoom { config: config.to_toml(), game, seats }.encode().expect("encodes")
    })
}

fn load(bytes: &[u8]) {
    let Ok(room) = SavedRoom::decode(bytes) else {
        return;
    };
    let Ok(config) = GameConfig::parse(&room.config) else {
        return;
    };
    if let Ok(Some(mut game)) = games().resume(&config, 64, &room.game) {
        for _ in 0..3 {
            game.step();
        }
        for seat in &room.seats {
            if let Some(player) = seat.player() {
                let _ = game.input(player, &[0, 0, 0, 1]);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    load(data);
    let mut save = real_save().to_vec();
    for (i, &byte) in data.iter().enumerate() {
        let at = (i * 7919) % save.len();
        save[at] ^= byte;
    }
    load(&save);
});
