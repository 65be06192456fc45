//! What the server decodes from every client frame: never panics, and whatever decodes survives
//! a re-encode unchanged. (Bytes may differ: bincode also accepts non-minimal varints.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_shared::codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = codec::decode_client(data) {
        let bytes = codec::encode_client(&message).expect("a decoded message encodes");
        let again = codec::decode_client(&bytes).expect("an encoded message decodes");
        assert_eq!(again, message);
    }
});
