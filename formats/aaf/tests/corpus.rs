//! Every corpus AAF: opens, walks, decodes every property, saves unedited
//! with every stream's bytes kept.

mod util;

use premix_aaf::{AafFile, Value};

#[test]
fn every_corpus_aaf_opens_and_walks_with_every_property_decoded() {
    let files = util::corpus_aafs();
    for path in &files {
        let aaf = AafFile::open(path).unwrap_or_else(|e| panic!("{e}"));
        let mut props = 0usize;
        let mut unknown = 0usize;
        let n = aaf
            .walk(|id, _| {
                for e in &aaf.properties(id)?.entries {
                    let v = aaf.value(id, e.pid)?;
                    props += 1;
                    if matches!(v, Some(Value::Unknown(_))) {
                        unknown += 1;
                    }
                    assert!(
                        aaf.property_def(e.pid).is_some(),
                        "{}: pid 0x{:04x} of {} not in the MetaDictionary",
                        path.display(),
                        e.pid,
                        aaf.path_of(id)
                    );
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "{}: {n} objects, {props} properties, {unknown} undecoded, {} classes, {} types",
            path.file_name().unwrap().to_string_lossy(),
            aaf.meta().classes.len(),
            aaf.meta().types.len()
        );
        assert!(n > 50, "{}: only {n} objects", path.display());
        assert_eq!(unknown, 0, "{}: undecoded values", path.display());
    }
}

#[test]
fn unedited_save_keeps_every_stream_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    for path in util::corpus_aafs() {
        let aaf = AafFile::open(&path).unwrap();
        // Read everything first, so lazily loaded state cannot leak into the save.
        aaf.walk(|_, _| Ok(())).unwrap();
        assert!(!aaf.is_modified());
        let out = dir.path().join("out.aaf");
        aaf.save_as(&out).unwrap();
        let a = util::streams(&path);
        let b = util::streams(&out);
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{}: stream lists differ",
            path.display()
        );
        for (k, v) in &a {
            assert!(b[k] == *v, "{}: stream {k} changed", path.display());
        }
        eprintln!("{}: {} streams kept", path.display(), a.len());
    }
}

#[test]
fn save_as_refuses_to_overwrite_its_input() {
    let Some(path) = util::corpus_aafs().into_iter().next() else {
        return;
    };
    let aaf = AafFile::open(&path).unwrap();
    let e = aaf.save_as(&path).unwrap_err();
    assert!(e.to_string().contains("overwrite"), "{e}");
}

#[test]
fn baseline_pids_match_every_files_metadictionary() {
    use premix_aaf::model::pids::*;
    let want = [
        (HEADER_CONTENT, "Content"),
        (HEADER_DICTIONARY, "Dictionary"),
        (CONTENT_MOBS, "Mobs"),
        (CONTENT_ESSENCE_DATA, "EssenceData"),
        (DICTIONARY_OPERATION_DEFS, "OperationDefinitions"),
        (DICTIONARY_PARAMETER_DEFS, "ParameterDefinitions"),
        (DICTIONARY_DATA_DEFS, "DataDefinitions"),
        (DEFINITION_ID, "Identification"),
        (DEFINITION_NAME, "Name"),
        (MOB_ID, "MobID"),
        (MOB_NAME, "Name"),
        (MOB_SLOTS, "Slots"),
        (MOB_USAGE_CODE, "UsageCode"),
        (SLOT_ID, "SlotID"),
        (SLOT_NAME, "SlotName"),
        (SLOT_SEGMENT, "Segment"),
        (SLOT_PHYSICAL_TRACK, "PhysicalTrackNumber"),
        (TIMELINE_EDIT_RATE, "EditRate"),
        (TIMELINE_ORIGIN, "Origin"),
        (COMPONENT_DATA_DEF, "DataDefinition"),
        (COMPONENT_LENGTH, "Length"),
        (SEQUENCE_COMPONENTS, "Components"),
        (SOURCE_ID, "SourceID"),
        (SOURCE_SLOT_ID, "SourceMobSlotID"),
        (CLIP_START_TIME, "StartTime"),
        (OPGROUP_OPERATION, "Operation"),
        (OPGROUP_INPUTS, "InputSegments"),
        (OPGROUP_PARAMETERS, "Parameters"),
        (PARAMETER_DEFINITION, "Definition"),
        (CONSTANT_VALUE, "Value"),
        (VARYING_INTERPOLATION, "Interpolation"),
        (VARYING_POINTS, "PointList"),
        (POINT_VALUE, "Value"),
        (POINT_TIME, "Time"),
        (SOURCE_MOB_DESCRIPTOR, "EssenceDescription"),
        (DESCRIPTOR_LOCATORS, "Locator"),
        (NETWORK_LOCATOR_URL, "URLString"),
        (ESSENCE_DATA_MOB_ID, "MobID"),
        (ESSENCE_DATA_DATA, "Data"),
    ];
    for path in util::corpus_aafs() {
        let aaf = AafFile::open(&path).unwrap();
        for (pid, name) in want {
            if let Some(def) = aaf.property_def(pid) {
                assert_eq!(def.name, name, "{}: pid 0x{pid:04x}", path.display());
            }
        }
        // The core ones must be defined in every file.
        for pid in [CONTENT_MOBS, MOB_SLOTS, SLOT_SEGMENT, COMPONENT_LENGTH] {
            assert!(
                aaf.property_def(pid).is_some(),
                "{}: 0x{pid:04x}",
                path.display()
            );
        }
    }
}
