//! Open an AAF from bytes (cfb over a Cursor), walk every object, decode
//! every property and follow the navigation helpers: nothing panics and
//! nothing allocates without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use premix_aaf::{AafFile, Limits};

fuzz_target!(|data: &[u8]| {
    // Small limits so the fuzzer explores the limit paths too.
    let limits = Limits {
        max_file_bytes: 4 << 20,
        max_stream_bytes: 1 << 20,
        max_objects: 20_000,
        max_depth: 64,
        max_type_depth: 16,
        max_elements: 100_000,
    };
    let Ok(aaf) = AafFile::from_bytes(data.to_vec(), limits) else {
        return;
    };
    let _ = aaf.walk(|id, _| {
        for e in &aaf.properties(id)?.entries {
            let _ = aaf.value(id, e.pid);
            let _ = aaf.weak_ref(id, e.pid);
        }
        let _ = aaf.segment(id);
        let _ = aaf.parameter(id);
        Ok(())
    });
    if let Ok(Some(comp)) = aaf.top_level_composition() {
        for slot in aaf.slots(comp).unwrap_or_default() {
            let _ = aaf.slot_info(slot);
        }
    }
    // An unedited file gives back its bytes.
    let _ = aaf.into_bytes();
});
