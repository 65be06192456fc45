//! A room's save: a game goes on from it on another node exactly where it was saved, and a
//! save that is not exactly right (another version, another schema, a changed byte) does not
//! load.

use proptest::prelude::*;
use tickwire_game::{
    ConfigError, Game, GameConfig, GameState, GameWorld, Games, SaveError, SavedRoom, SavedSeat,
};
use tickwire_shared::component::Component;
use tickwire_shared::{EntityId, NoStep, Schema, SharedStep};

#[derive(Clone, Debug, PartialEq, Component)]
struct Pos {
    #[net(int(min = -1000, max = 1000))]
    x: i32,
    #[net(string(max_len = 8))]
    name: String,
}

/// Dots that walk right; the game counts its ticks itself, outside the world.
#[derive(Debug)]
struct Walk {
    ticks: u64,
}

#[derive(Debug, serde::Deserialize)]
struct WalkConfig {
    dots: u32,
}

impl Game for Walk {
    const NAME: &'static str = "walk";
    const DEFAULT_CONFIG: &'static str =
        "game = \"walk\"\nname = \"walk\"\ntick_rate = 30\ndots = 3\n";
    type Config = WalkConfig;
    type Step = NoStep;

    fn schema(tick_rate: u16) -> Schema {
        Schema::new("walk", 1, tick_rate)
            .component::<Pos>()
            .kind("dot", &["Pos"])
    }

    fn rules(_: &WalkConfig, _: u16) -> Result<<NoStep as SharedStep>::Rules, String> {
        Ok(())
    }

    fn create(config: WalkConfig, _: &(), world: &mut GameWorld) -> Self {
        for i in 0..config.dots {
            let name = format!("d{i}");
            let _ = world.spawn(0).map(|s| s.with(&Pos { x: i as i32, name }));
        }
        Self { ticks: 0 }
    }

    fn save(&self) -> Vec<u8> {
        self.ticks.to_le_bytes().to_vec()
    }

    fn resume(_: WalkConfig, _: &(), _: &GameWorld, saved: &[u8]) -> Option<Self> {
        Some(Self {
            ticks: u64::from_le_bytes(saved.try_into().ok()?),
        })
    }

    fn join(&mut self, world: &mut GameWorld, name: &str) -> Option<EntityId> {
        Some(
            world
                .spawn(0)?
                .with(&Pos {
                    x: 0,
                    name: name.chars().take(8).collect(),
                })
                .id(),
        )
    }

    fn tick(&mut self, world: &mut GameWorld) {
        self.ticks += 1;
        for id in world.ids_of(0) {
            world.update::<Pos, _>(id, |p| p.x = (p.x + 1).min(1000));
        }
    }
}

fn games() -> Games {
    Games::new().with::<Walk>()
}

fn config() -> GameConfig {
    games().default_config("walk").expect("walk's config")
}

/// A room of `dots` dots, one player, `ticks` ticks in, saved.
fn saved_room(dots: u32, ticks: u32) -> (SavedRoom, Box<dyn tickwire_game::HostedGame>) {
    let mut config = config();
    config
        .settings
        .insert("dots".into(), i64::from(dots).into());
    let mut game = games().start(&config, 64).expect("starts");
    let player = game.join("ann");
    for _ in 0..ticks {
        game.step();
    }
    let saved = SavedRoom {
        config: config.to_toml(),
        game: GameState::of(&*game).pack().expect("packs"),
        seats: vec![SavedSeat {
            name: "ann".into(),
            player: player.map(|p| p.0),
            last_input: 7,
            resume_token: 42,
        }],
    };
    (saved, game)
}

#[test]
fn a_saved_room_goes_on_where_it_was_on_another_node() {
    let (saved, mut original) = saved_room(3, 10);
    let bytes = saved.encode().expect("encodes");
    let loaded = SavedRoom::decode(&bytes).expect("decodes");
    assert_eq!(loaded, saved);
    let config = GameConfig::parse(&loaded.config).expect("the config reads back");
    assert_eq!(config.to_toml(), saved.config);
    let mut moved = games()
        .resume(&config, 64, &loaded.game)
        .expect("loads")
        .expect("walk resumes");
    assert_eq!(moved.tick(), original.tick());
    assert_eq!(moved.world(), original.world());
    for _ in 0..5 {
        original.step();
        moved.step();
        assert_eq!(moved.world().checksum(), original.world().checksum());
    }
    // Ids in use stay taken: a new player gets a fresh one on both.
    assert_eq!(moved.join("bo"), original.join("bo"));
    assert_eq!(
        GameState::of(&*moved).pack().expect("packs").game,
        15u64.to_le_bytes()
    );
}

#[test]
fn a_save_that_is_not_exactly_right_does_not_load() {
    let (saved, _) = saved_room(3, 10);
    let mut bytes = saved.encode().expect("encodes");
    assert!(matches!(
        SavedRoom::decode(&bytes[..1]),
        Err(SaveError::NoVersion)
    ));
    bytes[0] ^= 0xff;
    assert!(matches!(
        SavedRoom::decode(&bytes),
        Err(SaveError::Version(_))
    ));

    let mut other = saved.game.clone();
    other.schema_hash ^= 1;
    let refused = games().resume(&config(), 64, &other).map(drop);
    assert!(
        matches!(refused, Err(ConfigError::Save(SaveError::OtherSchema))),
        "{refused:?}"
    );

    let mut other = saved.game.clone();
    other.checksum ^= 1;
    let refused = games().resume(&config(), 64, &other).map(drop);
    assert!(
        matches!(refused, Err(ConfigError::Save(SaveError::Invalid(_)))),
        "{refused:?}"
    );
}

proptest! {
    #[test]
    fn any_room_round_trips(dots in 0u32..40, ticks in 0u32..50) {
        let (saved, original) = saved_room(dots, ticks);
        let loaded = SavedRoom::decode(&saved.encode().expect("encodes")).expect("decodes");
        let moved = games().resume(&config(), 64, &loaded.game).expect("loads").expect("resumes");
        prop_assert_eq!(moved.world(), original.world());
    }

    /// Any bytes: a clean refusal or a room, never a panic.
    #[test]
    fn any_bytes_are_refused_or_loaded_without_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        flip in any::<prop::sample::Index>(),
    ) {
        let _ = SavedRoom::decode(&bytes);
        let (saved, _) = saved_room(2, 3);
        let mut good = saved.encode().expect("encodes");
        let at = flip.index(good.len());
        good[at] ^= 0x5a;
        if let Ok(room) = SavedRoom::decode(&good) {
            if let Ok(config) = GameConfig::parse(&room.config) {
                let _ = games().resume(&config, 64, &room.game);
            }
        }
    }
}
