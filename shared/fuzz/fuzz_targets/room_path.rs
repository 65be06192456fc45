//! What the server parses from every upgrade URL: never panics, and whatever parses is built
//! back into the same path by `url_path`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_shared::room_path::RoomPath;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, query) = match text.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (text, None),
    };
    if let Ok(room) = RoomPath::parse(path, query) {
        let url = room.url_path();
        let (path, query) = match url.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (url.as_str(), None),
        };
        assert_eq!(RoomPath::parse(path, query).as_ref(), Ok(&room));
    }
});
