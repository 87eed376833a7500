//! Open an AAF from bytes (cfb over a Cursor), walk every object, decode
//! every property and follow the navigation helpers: nothing panics and
//! nothing allocates without bound. Then the structural edits premix's
//! writer makes (a slot's segment wrapped in a new OperationGroup, gain
//! definitions registered) are applied, saved and re-opened.
#![no_main]

use libfuzzer_sys::fuzz_target;
use premix_aaf::meta::ids;
use premix_aaf::model::{classes, defs, pids};
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
    let Ok(mut aaf) = AafFile::from_bytes(data.to_vec(), limits.clone()) else {
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
    let mut target = None;
    if let Ok(Some(comp)) = aaf.top_level_composition() {
        for slot in aaf.slots(comp).unwrap_or_default() {
            if let Ok(info) = aaf.slot_info(slot) {
                target = target.or(info.segment);
            }
        }
    }
    let Some(seg) = target else {
        // An unedited file gives back its bytes.
        let _ = aaf.into_bytes();
        return;
    };
    let dd = aaf
        .data_definition(seg)
        .ok()
        .flatten()
        .unwrap_or(defs::DATA_SOUND);
    let _ = aaf.ensure_operation_def(defs::OP_MONO_AUDIO_GAIN, "Mono Audio Gain", dd, 1);
    let _ = aaf.ensure_parameter_def(defs::PARAM_AMPLITUDE, "Amplitude", ids::RATIONAL);
    let _ = aaf.wrap_object(seg, classes::OPERATION_GROUP, pids::OPGROUP_INPUTS, true);
    if let Ok(bytes) = aaf.into_bytes() {
        if let Ok(again) = AafFile::from_bytes(bytes, limits) {
            let _ = again.walk(|_, _| Ok(()));
        }
    }
});
