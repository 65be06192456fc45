//! What a generic client decodes from a Welcome that carries a game's schema: never panics,
//! accepts only schemas that pass every rule, and whatever decodes survives a re-encode
//! unchanged. (Bytes may differ: bincode also accepts non-minimal varints.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_shared::codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(schema) = codec::decode_schema(data) {
        assert_eq!(schema.validate(), Ok(()));
        let bytes = codec::encode_schema(&schema).expect("a decoded schema encodes");
        let again = codec::decode_schema(&bytes).expect("an encoded schema decodes");
        assert_eq!(again, schema);
        let _ = schema.hash();
    }
});
