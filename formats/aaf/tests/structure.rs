//! Structural edits: wrapping an object in a new parent (moving its
//! subtree) and registering Dictionary definitions, checked by re-opening
//! with this crate (stream by stream) and with pyaaf2.

mod util;

use std::collections::BTreeMap;
use std::io::Cursor;

use premix_aaf::meta::ids;
use premix_aaf::model::{classes, defs, pids, Segment};
use premix_aaf::store::form;
use premix_aaf::{AafFile, ErrorKind, Limits, ObjectId};

type Mem = AafFile<Cursor<Vec<u8>>>;

/// An object's subtree as (depth, class, pid, form, data) rows, strong
/// references followed (their storage names left out: they may change).
fn subtree(aaf: &Mem, id: ObjectId, depth: usize, out: &mut Vec<String>) {
    out.push(format!("{depth} class {}", aaf.class_of(id)));
    for e in &aaf.properties(id).unwrap().entries {
        match e.form {
            form::STRONG_REF => {
                out.push(format!("{depth} 0x{:04x} ref", e.pid));
                let c = aaf.strong_ref(id, e.pid).unwrap().unwrap();
                subtree(aaf, c, depth + 1, out);
            }
            form::STRONG_REF_VECTOR | form::STRONG_REF_SET => {
                out.push(format!("{depth} 0x{:04x} refs", e.pid));
                for c in aaf.strong_refs(id, e.pid).unwrap() {
                    subtree(aaf, c, depth + 1, out);
                }
            }
            _ => out.push(format!(
                "{depth} 0x{:04x} {:x} {:02x?}",
                e.pid, e.form, e.data
            )),
        }
    }
}

fn streams(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let aaf = AafFile::from_bytes(data.to_vec(), Limits::default()).unwrap();
    aaf.stream_paths()
        .into_iter()
        .map(|p| {
            let b = aaf.read_stream_limited(&p, u64::MAX).unwrap();
            (p, b)
        })
        .collect()
}

/// Sound slots of the top-level composition.
fn sound_slots(aaf: &Mem) -> Vec<ObjectId> {
    let comp = aaf.top_level_composition().unwrap().unwrap();
    aaf.slots(comp)
        .unwrap()
        .into_iter()
        .filter(|s| {
            let Some(seg) = aaf.slot_info(*s).unwrap().segment else {
                return false;
            };
            aaf.data_definition(seg)
                .unwrap()
                .is_some_and(|d| Mem::is_sound(&d))
        })
        .collect()
}

#[test]
fn wrapping_every_sound_slot_segment_moves_its_subtree_and_changes_nothing_else() {
    let mut files = 0;
    for path in util::corpus_aafs() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let mut aaf = AafFile::from_bytes(data.clone(), Limits::default()).unwrap();
        let slots = sound_slots(&aaf);
        let mut before = Vec::new();
        let mut wrapped_paths = Vec::new();
        for s in &slots {
            let seg = aaf.strong_ref(*s, pids::SLOT_SEGMENT).unwrap().unwrap();
            let mut rows = Vec::new();
            subtree(&aaf, seg, 0, &mut rows);
            before.push(rows);
            let path_before = aaf.path_of(seg);
            let og = aaf
                .wrap_object(seg, classes::OPERATION_GROUP, pids::OPGROUP_INPUTS, true)
                .unwrap();
            // The new object took the old name; the moved one is below it,
            // and its id follows it.
            assert_eq!(aaf.path_of(og), path_before, "{name}");
            assert_eq!(
                aaf.path_of(seg),
                format!("{path_before}/InputSegments-b02{{0}}"),
                "{name}"
            );
            wrapped_paths.push(path_before);
        }
        let out = aaf.into_bytes().unwrap();
        let again = AafFile::from_bytes(out.clone(), Limits::default()).unwrap();
        for (i, s) in sound_slots(&again).iter().enumerate() {
            let seg = again.strong_ref(*s, pids::SLOT_SEGMENT).unwrap().unwrap();
            let Segment::OperationGroup { inputs, .. } = again.segment(seg).unwrap() else {
                panic!("{name}: slot {i} not wrapped");
            };
            assert_eq!(inputs.len(), 1, "{name}");
            let mut rows = Vec::new();
            subtree(&again, inputs[0], 0, &mut rows);
            assert_eq!(rows, before[i], "{name}: slot {i} subtree changed");
        }
        // Streams outside the wrapped storages keep their bytes; no stream
        // is lost.
        let (a, b) = (streams(&data), streams(&out));
        let inside = |p: &str| {
            wrapped_paths
                .iter()
                .any(|w| p.starts_with(&format!("{w}/")))
        };
        for (p, bytes) in &a {
            if inside(p) {
                continue;
            }
            assert_eq!(b.get(p), Some(bytes), "{name}: {p} changed");
        }
        for p in b.keys().filter(|p| !inside(p)) {
            assert!(
                a.contains_key(p),
                "{name}: {p} added outside the wrapped storages"
            );
        }
        files += 1;
    }
    assert!(files >= 14 || util::corpus().is_none(), "{files}");
}

const PY_DEFS: &str = r#"
import sys, aaf2
with aaf2.open(sys.argv[1]) as f:
    d = f.dictionary
    for o in d['OperationDefinitions'].values():
        print('op', o.auid, o.name, o['NumberInputs'].value, o['DataDefinition'].value.auid)
    for p in d['ParameterDefinitions'].values():
        print('param', p.auid, p.name, p.typedef.type_name)
"#;

#[test]
fn definitions_are_registered_once_and_pyaaf2_reads_them() {
    let Some(dir) = util::corpus() else { return };
    // Pro Tools wrote no Operation- or ParameterDefinitions in this file.
    let path = dir.join("libaaf/PT_WAV_External_same_directory.aaf");
    let data = std::fs::read(&path).unwrap();
    let mut aaf = AafFile::from_bytes(data, Limits::default()).unwrap();
    assert!(aaf
        .dictionary_definition(pids::DICTIONARY_OPERATION_DEFS, &defs::OP_MONO_AUDIO_GAIN)
        .unwrap()
        .is_none());
    let slot = sound_slots(&aaf)[0];
    let seg = aaf.strong_ref(slot, pids::SLOT_SEGMENT).unwrap().unwrap();
    let sound = aaf.data_definition(seg).unwrap().unwrap();
    let op = aaf
        .ensure_operation_def(defs::OP_MONO_AUDIO_GAIN, "Mono Audio Gain", sound, 1)
        .unwrap();
    let par = aaf
        .ensure_parameter_def(defs::PARAM_AMPLITUDE, "Amplitude", ids::RATIONAL)
        .unwrap();
    let changed = aaf.changed_streams();
    // A second call finds them and changes nothing.
    assert_eq!(
        aaf.ensure_operation_def(defs::OP_MONO_AUDIO_GAIN, "x", sound, 1)
            .unwrap(),
        op
    );
    assert_eq!(
        aaf.ensure_parameter_def(defs::PARAM_AMPLITUDE, "x", ids::RATIONAL)
            .unwrap(),
        par
    );
    assert_eq!(aaf.changed_streams(), changed);
    // A DataDefinition the file lacks is an error, not a dangling reference.
    let missing = premix_aaf::Auid::from_fields(1, 2, 3, [4; 8]);
    let e = aaf
        .ensure_operation_def(defs::OP_MONO_AUDIO_PAN, "Pan", missing, 1)
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Undefined(_)), "{e}");
    // The root cannot be wrapped.
    let root = aaf.root();
    assert!(aaf
        .wrap_object(root, classes::OPERATION_GROUP, pids::OPGROUP_INPUTS, true)
        .is_err());

    let out = aaf.into_bytes().unwrap();
    let again = AafFile::from_bytes(out.clone(), Limits::default()).unwrap();
    assert_eq!(
        again
            .definition_name(&defs::OP_MONO_AUDIO_GAIN)
            .unwrap()
            .as_deref(),
        Some("Mono Audio Gain")
    );
    assert_eq!(
        again
            .definition_name(&defs::PARAM_AMPLITUDE)
            .unwrap()
            .as_deref(),
        Some("Amplitude")
    );
    let Some(py) = util::python_with(&["aaf2"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("defs.aaf");
    std::fs::write(&p, out).unwrap();
    let text = util::run_python(&py, PY_DEFS, &[p.to_str().unwrap()]);
    assert!(
        text.contains(&format!(
            "op 9d2ea894-0968-11d3-8a38-0050040ef7d2 Mono Audio Gain 1 {}",
            sound.to_uuid()
        )),
        "{text}"
    );
    assert!(
        text.contains("param e4962321-2267-11d3-8a4c-0050040ef7d2 Amplitude Rational"),
        "{text}"
    );
}
