//! Which room a WebSocket upgrade URL asks for: `/ws` (the room `default`) or `/ws/ROOM`,
//! optionally `?scenario=NAME` for the scenario a new room starts with. The server parses it;
//! clients build it with [`RoomPath::url_path`].

/// The WebSocket path; `/ws/ROOM` names a room.
pub const WS_PATH: &str = "/ws";

/// The room `/ws` joins.
pub const DEFAULT_ROOM: &str = "default";

/// A room (and the scenario to create it with), from an upgrade URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomPath {
    /// The room's name.
    pub room: String,
    /// The scenario a join asks a new room to start with.
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
    /// A query other than `scenario=NAME` with a valid name.
    #[error("the only query parameter is scenario=NAME")]
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
        let mut scenario = None;
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            match pair.split_once('=') {
                Some(("scenario", name)) if is_valid_name(name) => {
                    scenario = Some(name.to_owned());
                }
                _ => return Err(RoomPathError::BadQuery),
            }
        }
        Ok(Self {
            room: room.to_owned(),
            scenario,
        })
    }

    /// The path and query that [`RoomPath::parse`] reads back as this.
    pub fn url_path(&self) -> String {
        match &self.scenario {
            Some(scenario) => format!("{WS_PATH}/{}?scenario={scenario}", self.room),
            None => format!("{WS_PATH}/{}", self.room),
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
        for (path, query, error) in [
            ("/wsx", None, RoomPathError::NotAWebSocketPath),
            ("/ws/a/b", None, RoomPathError::BadRoomName),
            ("/ws/", None, RoomPathError::BadRoomName),
            ("/ws/r", Some("other=1"), RoomPathError::BadQuery),
            ("/ws/r", Some("scenario=../x"), RoomPathError::BadQuery),
        ] {
            assert_eq!(RoomPath::parse(path, query), Err(error), "{path} {query:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_url_path_round_trips(path in ".{0,60}", query in proptest::option::of(".{0,60}")) {
            if let Ok(room) = RoomPath::parse(&path, query.as_deref()) {
                let url = room.url_path();
                let (p, q) = match url.split_once('?') {
                    Some((p, q)) => (p, Some(q)),
                    None => (url.as_str(), None),
                };
                prop_assert_eq!(RoomPath::parse(p, q), Ok(room));
            }
        }
    }
}
