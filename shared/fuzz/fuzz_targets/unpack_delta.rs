//! The packed delta decoder on raw bits: never panics, and whatever unpacks packs back to a
//! delta that unpacks equal. (Bytes may differ: the encoder may choose another column packing.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_shared::delta_wire;

fuzz_target!(|data: &[u8]| {
    if let Ok(delta) = delta_wire::unpack(data) {
        let packed = delta_wire::pack(&delta).expect("an unpacked delta packs");
        assert_eq!(delta_wire::unpack(&packed), Ok(delta));
    }
});
