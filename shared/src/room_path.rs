//! Which room a WebSocket upgrade URL asks for: `/ws` (the room `default`) or `/ws/ROOM`,
//! optionally `?game=NAME` (the game a new room plays) and `?scenario=NAME` (the config it
//! starts with). The server parses it;
//! clients build it with [`RoomPath::url_path`].

/// The WebSocket path; `/ws/ROOM` names a room.
pub const WS_PATH: &str = "/ws";

/// The room `/ws` joins.
pub const DEFAULT_ROOM: &str = "default";

/// A room (and the game and config to create it with), from an upgrade URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomPath {
    /// The room's name.
    pub room: String,
    /// The game a join asks a new room to play (with the game's default config, unless
    /// `scenario` names one).
    pub game: Option<String>,
    /// The config (a scenario file, which names its game) a join asks a new room to start
    /// with.
    pub scenario: Option<String>,
}

/// Why an upgrade URL names no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomPathError {
    /// Not `/ws` or `/ws/ROOM`.
    #[error("no such path; WebSocket clients use /ws or /ws/ROOM")]
    NotAWebSocketPath,
    /// The room name is empty, too long, or has other characters.
    #[error("a room name is 1 to 32 of A-Z a-z 0-9 - _")]
    BadRoomName,
    /// A query other than `game=NAME` and `scenario=NAME`, each at most once, with valid
    /// names.
    #[error("the query parameters are game=NAME and scenario=NAME, each at most once")]
    BadQuery,
}

impl RoomPath {
    /// Parses an upgrade request's path and query.
    pub fn parse(path: &str, query: Option<&str>) -> Result<Self, RoomPathError> {
        let room = match path.strip_prefix(WS_PATH) {
            Some("") => DEFAULT_ROOM,
            Some(rest) => rest
                .strip_prefix('/')
                .ok_or(RoomPathError::NotAWebSocketPath)?,
            None => return Err(RoomPathError::NotAWebSocketPath),
        };
        if !is_valid_name(room) {
            return Err(RoomPathError::BadRoomName);
        }
        let (mut game, mut scenario) = (None, None);
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let slot = match pair.split_once('=') {
                Some(("game", name)) if is_valid_name(name) => (&mut game, name),
                Some(("scenario", name)) if is_valid_name(name) => (&mut scenario, name),
                _ => return Err(RoomPathError::BadQuery),
            };
            if slot.0.replace(slot.1.to_owned()).is_some() {
                return Err(RoomPathError::BadQuery);
            }
        }
        Ok(Self {
            room: room.to_owned(),
            game,
            scenario,
        })
    }

    /// The path and query that [`RoomPath::parse`] reads back as this.
    pub fn url_path(&self) -> String {
        let query: Vec<String> = [("game", &self.game), ("scenario", &self.scenario)]
            .into_iter()
            .filter_map(|(key, value)| Some(format!("{key}={}", value.as_ref()?)))
            .collect();
        if query.is_empty() {
            format!("{WS_PATH}/{}", self.room)
        } else {
            format!("{WS_PATH}/{}?{}", self.room, query.join("&"))
        }
    }
}

/// Room, scenario and player names: 1 to 32 of `A-Z a-z 0-9 - _`, safe in URLs, file names,
/// logs, metric labels and join tokens.
pub fn is_valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_name_rooms_and_scenarios() {
        let default = RoomPath::parse("/ws", None).expect("default");
        assert_eq!(default.room, DEFAULT_ROOM);
        let named = RoomPath::parse("/ws/duel-1", Some("scenario=parity-320")).expect("named");
        assert_eq!(
            (named.room.as_str(), named.scenario.as_deref()),
            ("duel-1", Some("parity-320"))
        );
        assert_eq!(named.url_path(), "/ws/duel-1?scenario=parity-320");
        let game = RoomPath::parse("/ws/r", Some("scenario=oval&game=race")).expect("both");
        assert_eq!(
            (game.game.as_deref(), game.scenario.as_deref()),
            (Some("race"), Some("oval"))
        );
        assert_eq!(game.url_path(), "/ws/r?game=race&scenario=oval");
        for (path, query, error) in [
            ("/wsx", None, RoomPathError::NotAWebSocketPath),
            ("/ws/a/b", None, RoomPathError::BadRoomName),
            ("/ws/", None, RoomPathError::BadRoomName),
            ("/ws/r", Some("other=1"), RoomPathError::BadQuery),
            ("/ws/r", Some("scenario=../x"), RoomPathError::BadQuery),
            ("/ws/r", Some("game=a&game=b"), RoomPathError::BadQuery),
        ] {
            assert_eq!(RoomPath::parse(path, query), Err(error), "{path} {query:?}");
        }
    }

    /// A valid name: 1 to 32 of `A-Z a-z 0-9 - _`.
    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,32}"
    }

    /// A valid upgrade path and query, and the room and scenario it names.
    #[derive(Clone, Debug)]
    struct Valid {
        path: String,
        query: Option<String>,
        expected: RoomPath,
    }

    /// `/ws` or `/ws/ROOM`, with no query, an empty one, or `game=NAME` and `scenario=NAME` in
    /// either order.
    fn valid() -> impl Strategy<Value = Valid> {
        (
            prop::option::weighted(0.8, name()),
            prop::option::of(name()),
            prop::option::of(name()),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(room, game, scenario, empty_query, game_last)| {
                let path = match &room {
                    Some(room) => format!("{WS_PATH}/{room}"),
                    None => WS_PATH.to_owned(),
                };
                let mut pairs: Vec<String> = [("game", &game), ("scenario", &scenario)]
                    .into_iter()
                    .filter_map(|(key, value)| Some(format!("{key}={}", value.as_ref()?)))
                    .collect();
                if game_last {
                    pairs.reverse();
                }
                let query = match pairs.is_empty() {
                    true => empty_query.then(String::new),
                    false => Some(pairs.join("&")),
                };
                Valid {
                    path,
                    query,
                    expected: RoomPath {
                        room: room.unwrap_or_else(|| DEFAULT_ROOM.to_owned()),
                        game,
                        scenario,
                    },
                }
            })
    }

    /// `url_path` split back into the path and query `parse` takes.
    fn split(url: &str) -> (&str, Option<&str>) {
        match url.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (url, None),
        }
    }

    /// Checks a valid path: it parses to exactly its room and scenario, and round-trips.
    fn check_valid(valid: &Valid) -> Result<(), TestCaseError> {
        let parsed = RoomPath::parse(&valid.path, valid.query.as_deref());
        prop_assert_eq!(parsed.as_ref(), Ok(&valid.expected), "{:?}", valid);
        let url = valid.expected.url_path();
        let expected = &valid.expected;
        let wanted = match (&expected.game, &expected.scenario) {
            (Some(game), Some(scenario)) => {
                format!("/ws/{}?game={game}&scenario={scenario}", expected.room)
            }
            (Some(game), None) => format!("/ws/{}?game={game}", expected.room),
            (None, Some(scenario)) => format!("/ws/{}?scenario={scenario}", expected.room),
            (None, None) => format!("/ws/{}", expected.room),
        };
        prop_assert_eq!(&url, &wanted);
        let (p, q) = split(&url);
        prop_assert_eq!(RoomPath::parse(p, q), Ok(valid.expected.clone()));
        Ok(())
    }

    #[derive(Clone, Debug)]
    enum Candidate {
        /// Any path and query: almost never valid.
        Random(String, Option<String>),
        Valid(Valid),
    }

    proptest! {
        /// Every case is a valid path.
        #[test]
        fn a_valid_path_parses_to_exactly_its_room_and_scenario_and_round_trips(valid in valid()) {
            check_valid(&valid)?;
        }

        #[test]
        fn parse_never_panics_and_url_path_round_trips(
            candidate in prop_oneof![
                (".{0,60}", prop::option::of(".{0,60}"))
                    .prop_map(|(path, query)| Candidate::Random(path, query)),
                valid().prop_map(Candidate::Valid),
            ]
        ) {
            match candidate {
                Candidate::Random(path, query) => {
                    if let Ok(room) = RoomPath::parse(&path, query.as_deref()) {
                        let url = room.url_path();
                        let (p, q) = split(&url);
                        prop_assert_eq!(RoomPath::parse(p, q), Ok(room));
                    }
                }
                Candidate::Valid(valid) => check_valid(&valid)?,
            }
        }
    }
}
