//! Edits: a changed property rewrites only its object's `properties`
//! stream and re-opens in pyaaf2 with the new value; a new object gets its
//! own storage and the parent's index; hostile inputs give errors.

mod util;

use std::path::{Path, PathBuf};

use premix_aaf::model::{classes, defs, Parameter, Segment};
use premix_aaf::{AafFile, Auid, ErrorKind, Limits, ObjectId, Rational, Value};

fn corpus_file(name: &str) -> Option<PathBuf> {
    let p = util::corpus()?.join("libaaf").join(name);
    assert!(p.is_file(), "{} missing", p.display());
    Some(p)
}

/// The ConstantValue Amplitude parameters of every clip-gain group in the
/// top-level composition, in slot and sequence order.
fn clip_amplitudes(aaf: &AafFile<std::fs::File>) -> Vec<ObjectId> {
    let comp = aaf.top_level_composition().unwrap().unwrap();
    let mut out = Vec::new();
    for slot in aaf.slots(comp).unwrap() {
        let Some(seg) = aaf.slot_info(slot).unwrap().segment else {
            continue;
        };
        let Segment::Sequence { components, .. } = aaf.segment(seg).unwrap() else {
            continue;
        };
        let mut stack: Vec<ObjectId> = components.into_iter().rev().collect();
        while let Some(c) = stack.pop() {
            if let Segment::OperationGroup {
                operation: Some(op),
                parameters,
                inputs,
                ..
            } = aaf.segment(c).unwrap()
            {
                // Gain groups may wrap channel combiners and vice versa.
                stack.extend(inputs.into_iter().rev());
                if op != defs::OP_MONO_AUDIO_GAIN {
                    continue;
                }
                for p in parameters {
                    if let Parameter::Constant {
                        definition: Some(d),
                        ..
                    } = aaf.parameter(p).unwrap()
                    {
                        if d == defs::PARAM_AMPLITUDE {
                            out.push(p);
                        }
                    }
                }
            }
        }
    }
    out
}

/// pyaaf2: find the object stored at `storage` and print property `prop`.
const PY_VALUE_AT: &str = r#"
import sys, aaf2
path, storage, prop = sys.argv[1], sys.argv[2], sys.argv[3]
f = aaf2.open(path, 'r')
def walk(o):
    if o.dir.path() == storage:
        return o
    for p in o.property_entries.values():
        if p.format in (0x22,):
            r = walk(p.value)
            if r is not None: return r
        elif p.format in (0x32, 0x3a):
            for v in p.value:
                r = walk(v)
                if r is not None: return r
    return None
o = walk(f.header)
v = o[prop].value
if isinstance(v, list):
    print(repr([(c.name, c.value) for c in v]))
else:
    print(repr(float(v)) if not isinstance(v, str) else v)
"#;

fn changed_streams(a: &Path, b: &Path) -> (Vec<String>, Vec<String>) {
    let sa = util::streams(a);
    let sb = util::streams(b);
    let changed = sa
        .iter()
        .filter(|(k, v)| sb.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    let added = sb
        .keys()
        .filter(|k| !sa.contains_key(*k))
        .cloned()
        .collect();
    (changed, added)
}

#[test]
fn a_gain_edit_rewrites_only_that_objects_stream_and_pyaaf2_reads_it() {
    let Some(src) = corpus_file("PR_Audio_Levels-noBTM.aaf") else {
        return;
    };
    let mut aaf = AafFile::open(&src).unwrap();
    let amps = clip_amplitudes(&aaf);
    // Premiere writes a constant (0 dB) on each track's first clip; its
    // +6 dB clips are flat VaryingValues.
    assert_eq!(amps.len(), 2, "one constant clip gain per track");
    let target = amps[1];
    let pid = premix_aaf::model::pids::CONSTANT_VALUE;
    let Some(Value::Indirect { type_id, value }) = aaf.value(target, pid).unwrap() else {
        panic!("Amplitude is an Indirect value");
    };
    // Premiere stores Rational/1e8 (FORMATS.md §0); 0 dB here.
    assert_eq!(
        value.as_rational(),
        Some(Rational::new(100_000_000, 100_000_000))
    );
    let new = Value::Indirect {
        type_id,
        value: Box::new(Value::Rational(Rational::new(1, 2))),
    };
    aaf.set_value(target, pid, &new).unwrap();
    assert_eq!(aaf.value(target, pid).unwrap().unwrap().as_f64(), Some(0.5));
    let storage = aaf.path_of(target);
    assert_eq!(aaf.changed_streams(), vec![format!("{storage}/properties")]);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("edited.aaf");
    let before = std::fs::read(&src).unwrap();
    aaf.save_as(&out).unwrap();
    assert_eq!(std::fs::read(&src).unwrap(), before, "input untouched");
    let (changed, added) = changed_streams(&src, &out);
    assert_eq!(changed, vec![format!("{storage}/properties")]);
    assert!(added.is_empty(), "{added:?}");

    let again = AafFile::open(&out).unwrap();
    let id = clip_amplitudes(&again)[1];
    assert_eq!(
        again.value(id, pid).unwrap().unwrap().as_rational(),
        Some(Rational::new(1, 2))
    );

    let Some(py) = util::python_with(&["aaf2"]) else {
        return;
    };
    let v = util::run_python(
        &py,
        PY_VALUE_AT,
        &[out.to_str().unwrap(), &storage, "Value"],
    );
    assert_eq!(v.trim(), "0.5", "pyaaf2 reads the edited amplitude");
}

#[test]
fn a_new_tagged_value_gets_its_own_storage_and_pyaaf2_reads_it() {
    let Some(src) = corpus_file("PR_Audio_Pan-noBTM.aaf") else {
        return;
    };
    let mut aaf = AafFile::open(&src).unwrap();
    let comp = aaf.top_level_composition().unwrap().unwrap();
    let user_comments = aaf
        .pid_by_name(comp, "UserComments")
        .expect("Mob.UserComments defined");
    let tagged = aaf
        .meta()
        .class_by_name("TaggedValue")
        .expect("TaggedValue class")
        .auid;
    let had = aaf.strong_refs(comp, user_comments).unwrap().len();
    let tv = aaf
        .push_vector_element(comp, user_comments, tagged)
        .unwrap();
    let name_pid = aaf.pid_by_name(tv, "Name").unwrap();
    let value_pid = aaf.pid_by_name(tv, "Value").unwrap();
    aaf.set_value(tv, name_pid, &Value::String("premix.eq".into()))
        .unwrap();
    let string_type = premix_aaf::meta::ids::STRING;
    aaf.set_value(
        tv,
        value_pid,
        &Value::Indirect {
            type_id: string_type,
            value: Box::new(Value::String("bell 250Hz -3dB".into())),
        },
    )
    .unwrap();
    assert_eq!(aaf.strong_refs(comp, user_comments).unwrap().len(), had + 1);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tagged.aaf");
    aaf.save_as(&out).unwrap();
    let (changed, added) = changed_streams(&src, &out);
    let mob = aaf.path_of(comp);
    // Only the mob's own streams change: its properties (when the vector
    // is new) and the vector's index; the new object's stream is added.
    for c in &changed {
        assert!(
            c.starts_with(&format!("{mob}/")) && !c[mob.len() + 1..].contains('/'),
            "{c}"
        );
    }
    // Added: the new object's properties and, for a vector the mob did not
    // have yet, its index stream.
    let new_props = format!("{}/properties", aaf.path_of(tv));
    assert!(added.contains(&new_props), "{added:?}");
    for a in &added {
        assert!(
            *a == new_props || *a == format!("{mob}/UserComments-4406 index"),
            "{a}"
        );
    }
    let again = AafFile::open(&out).unwrap();
    let comp2 = again.top_level_composition().unwrap().unwrap();
    assert_eq!(
        again.class_of(again.strong_refs(comp2, user_comments).unwrap()[had]),
        tagged
    );

    let Some(py) = util::python_with(&["aaf2"]) else {
        return;
    };
    let v = util::run_python(
        &py,
        PY_VALUE_AT,
        &[out.to_str().unwrap(), &mob, "UserComments"],
    );
    assert!(v.contains("('premix.eq', 'bell 250Hz -3dB')"), "{v}");
}

#[test]
fn embedded_and_external_essence_are_found() {
    let Some(pcm) = corpus_file("PT_PCM_Internal.aaf") else {
        return;
    };
    let aaf = AafFile::open(&pcm).unwrap();
    let mut embedded = 0;
    for m in aaf.mobs().unwrap() {
        if !aaf.is_a(m, &classes::SOURCE_MOB) {
            continue;
        }
        if let Some(ed) = aaf.essence_data(&aaf.mob_id(m).unwrap().unwrap()).unwrap() {
            let bytes = aaf.essence_bytes(ed, 1 << 30).unwrap().unwrap();
            // LibAAF: PCM, 1 ch, 16 bits, Length 32000 samples.
            assert_eq!(bytes.len(), 32000 * 2);
            embedded += 1;
        }
    }
    assert_eq!(embedded, 1);

    let Some(ext) = corpus_file("PT_WAV_External_same_directory.aaf") else {
        return;
    };
    let aaf = AafFile::open(&ext).unwrap();
    let mut urls = Vec::new();
    for m in aaf.mobs().unwrap() {
        if let Some(d) = aaf.essence_descriptor(m).unwrap() {
            urls.extend(aaf.locator_urls(d).unwrap());
        }
    }
    assert!(
        urls.iter()
            .any(|u| u.ends_with("PT_WAV_ExtehcrfPFTBxvdzJCBB.wav")),
        "{urls:?}"
    );
}

#[test]
fn hostile_inputs_are_errors_not_panics() {
    // Not a compound file.
    let e = AafFile::from_bytes(b"RIFF not an aaf at all".to_vec(), Limits::default())
        .err()
        .unwrap();
    assert!(matches!(e.kind, ErrorKind::NotCfb(_)), "{e}");
    let Some(src) = corpus_file("PT_PCM_Internal.aaf") else {
        return;
    };
    let data = std::fs::read(&src).unwrap();
    // Truncated at several points: open or walk fails, nothing panics.
    for cut in [512, 4096, data.len() / 3, data.len() / 2, data.len() - 4096] {
        if let Ok(aaf) = AafFile::from_bytes(data[..cut].to_vec(), Limits::default()) {
            let _ = aaf.walk(|id, _| {
                for e in &aaf.properties(id)?.entries {
                    aaf.value(id, e.pid)?;
                }
                Ok(())
            });
        }
    }
    // A properties stream claiming 65535 entries: an error naming the stream.
    let mut aaf = AafFile::from_bytes(data.clone(), Limits::default()).unwrap();
    let header = aaf.header().unwrap();
    let hp = format!("{}/properties", aaf.path_of(header));
    let mut cf = cfb::CompoundFile::open(std::io::Cursor::new(data.clone())).unwrap();
    {
        use std::io::Write;
        let mut s = cf.create_stream(&hp).unwrap();
        s.write_all(&[0x4C, 0x20, 0xFF, 0xFF, 1, 0, 0x82, 0])
            .unwrap();
    }
    cf.flush().unwrap();
    let bad = cf.into_inner().into_inner();
    let e = AafFile::from_bytes(bad, Limits::default())
        .unwrap()
        .walk(|_, _| Ok(()))
        .unwrap_err();
    assert!(
        e.to_string().contains(&hp) && e.to_string().contains("65535"),
        "{e}"
    );
    // Depth and object limits.
    let small = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let e = AafFile::from_bytes(data.clone(), small)
        .unwrap()
        .walk(|_, _| Ok(()))
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)), "{e}");
    let few = Limits {
        max_objects: 40,
        ..Limits::default()
    };
    assert!(AafFile::from_bytes(data.clone(), few)
        .and_then(|a| a.walk(|_, _| Ok(())))
        .is_err());
    // A cyclic type: aafPositionType renamed to itself. Decoding a
    // Position (SourceClip StartTime) must stop at the type-depth limit.
    let position = Auid::parse("01012001-0000-0000-060e-2b3401040101").unwrap();
    let md = aaf.strong_ref(aaf.root(), 0x0001).unwrap().unwrap();
    let t = aaf
        .strong_refs(md, 0x0004)
        .unwrap()
        .into_iter()
        .find(|t| aaf.value(*t, 0x0005).unwrap().and_then(|v| v.as_auid()) == Some(position))
        .expect("aafPositionType defined");
    let mut r = aaf.weak_ref(t, 0x1E).unwrap().unwrap();
    r.key = position.0.to_vec();
    aaf.set_weak_ref(t, 0x1E, &r).unwrap();
    let cyclic = aaf.into_bytes().unwrap();
    let aaf = AafFile::from_bytes(cyclic, Limits::default()).unwrap();
    let e = aaf
        .walk(|id, _| {
            for e in &aaf.properties(id)?.entries {
                aaf.value(id, e.pid)?;
            }
            Ok(())
        })
        .unwrap_err();
    assert!(e.to_string().contains("type nesting"), "{e}");
    // Oversized file limit.
    let tiny = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    assert!(AafFile::from_bytes(data, tiny).is_err());
}
