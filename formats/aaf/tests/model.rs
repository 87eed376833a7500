//! Navigation facts cross-checked against LibAAF's reference dumps
//! (`expected/*.aaf.expected`, written by LibAAF's aaftool, not by us) and
//! against pyaaf2.

mod util;

use std::path::Path;

use premix_aaf::model::{defs, Parameter, Segment};
use premix_aaf::{AafFile, ObjectId};

/// One clip on a slot as we read it: position and length in the slot's
/// edit units, the product of constant clip-gain Amplitudes (None when no
/// constant gain), and whether a varying gain is present.
#[derive(Debug)]
struct Clip {
    start: i64,
    length: i64,
    gain: Option<f64>,
    varying: bool,
}

fn gain_params(
    aaf: &AafFile<std::fs::File>,
    params: &[ObjectId],
    gain: &mut Option<f64>,
    varying: &mut bool,
) {
    for p in params {
        match aaf.parameter(*p).unwrap() {
            Parameter::Constant {
                definition: Some(d),
                value: Some(v),
            } if d == defs::PARAM_AMPLITUDE => {
                let a = v.as_f64().expect("numeric amplitude");
                *gain = Some(gain.unwrap_or(1.0) * a);
            }
            // LibAAF reports automation only when the points differ; a
            // flat VaryingValue (Resolve's per-clip track automation) is a
            // constant.
            Parameter::Varying {
                definition: Some(d),
                points,
                ..
            } if d == defs::PARAM_AMPLITUDE => {
                let vals: Vec<f64> = points
                    .iter()
                    .filter_map(|p| p.value.as_ref()?.as_f64())
                    .collect();
                if vals.windows(2).any(|w| w[0] != w[1]) {
                    *varying = true;
                } else if let Some(v) = vals.first() {
                    *gain = Some(gain.unwrap_or(1.0) * v);
                }
            }
            _ => {}
        }
    }
}

/// The clips of a sound slot's Sequence (Transitions overlap: they move
/// the position back by their length).
fn clips(aaf: &AafFile<std::fs::File>, seg: ObjectId) -> Vec<Clip> {
    let mut comps = vec![seg];
    // A slot-level OperationGroup (track gain/pan) wraps the Sequence.
    loop {
        match aaf.segment(*comps.last().unwrap()).unwrap() {
            Segment::OperationGroup { inputs, .. } if !inputs.is_empty() => comps = vec![inputs[0]],
            Segment::Sequence { components, .. } => {
                comps = components;
                break;
            }
            _ => break,
        }
    }
    let mut out = Vec::new();
    let mut pos = 0i64;
    for c in comps {
        let seg = aaf.segment(c).unwrap();
        match seg {
            Segment::Filler { length } => pos += length.unwrap_or(0),
            Segment::Transition { length, .. } => pos -= length.unwrap_or(0),
            Segment::SourceClip { length, .. } => {
                out.push(Clip {
                    start: pos,
                    length: length.unwrap(),
                    gain: None,
                    varying: false,
                });
                pos += length.unwrap();
            }
            Segment::OperationGroup { length, .. } => {
                let (mut gain, mut varying) = (None, false);
                let mut cur = c;
                // Nested groups (Resolve) and channel combiners: multiply the gains.
                while let Segment::OperationGroup {
                    operation,
                    inputs,
                    parameters,
                    ..
                } = aaf.segment(cur).unwrap()
                {
                    if operation == Some(defs::OP_MONO_AUDIO_GAIN) {
                        gain_params(aaf, &parameters, &mut gain, &mut varying);
                    }
                    match inputs.first() {
                        Some(i) => cur = *i,
                        None => break,
                    }
                }
                out.push(Clip {
                    start: pos,
                    length: length.unwrap(),
                    gain,
                    varying,
                });
                pos += length.unwrap();
            }
            other => {
                pos += match other {
                    Segment::Selector { length, .. } | Segment::Other { length, .. } => {
                        length.unwrap_or(0)
                    }
                    _ => 0,
                }
            }
        }
    }
    out
}

/// Sound slots of the top-level composition, with their clips.
fn sound_tracks(aaf: &AafFile<std::fs::File>) -> Vec<(Option<String>, Vec<Clip>)> {
    let comp = aaf
        .top_level_composition()
        .unwrap()
        .expect("a top-level composition");
    let mut out = Vec::new();
    for slot in aaf.slots(comp).unwrap() {
        let info = aaf.slot_info(slot).unwrap();
        let Some(seg) = info.segment else { continue };
        let Some(dd) = aaf.data_definition(seg).unwrap() else {
            continue;
        };
        if !AafFile::<std::fs::File>::is_sound(&dd) || info.edit_rate.is_none() {
            continue;
        }
        out.push((info.name, clips(aaf, seg)));
    }
    out
}

/// LibAAF dump facts: per AudioTrack, per clip (start, len, gain dB, automation).
#[derive(Debug)]
struct ExpClip {
    start: i64,
    len: i64,
    gain_db: Option<f64>,
    automation: bool,
}

fn expected(path: &Path) -> Vec<Vec<ExpClip>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut tracks: Vec<Vec<ExpClip>> = Vec::new();
    let field = |line: &str, key: &str| -> Option<String> {
        let i = line.find(key)? + key.len();
        Some(line[i..].split_whitespace().next()?.to_owned())
    };
    for line in text.lines() {
        if line.trim_start().starts_with("AudioTrack[") {
            tracks.push(Vec::new());
        } else if line.contains("Clip (") && line.contains("Start:") {
            let Some(t) = tracks.last_mut() else { continue };
            t.push(ExpClip {
                start: field(line, "Start:").unwrap().parse().unwrap(),
                len: field(line, "Len:").unwrap().parse().unwrap(),
                gain_db: field(line, "Gain:").map(|g| g.parse().unwrap()),
                automation: line.contains("VolumeAutomation: YES"),
            });
        }
    }
    tracks
}

#[test]
fn tracks_clips_and_gains_agree_with_libaaf_dumps() {
    let Some(dir) = util::corpus() else { return };
    let mut checked = 0;
    for path in util::corpus_aafs() {
        let exp_path = dir.join("libaaf/expected").join(format!(
            "{}.expected",
            path.file_name().unwrap().to_string_lossy()
        ));
        if !exp_path.is_file() {
            continue;
        }
        let aaf = AafFile::open(&path).unwrap();
        let ours = sound_tracks(&aaf);
        let exp = expected(&exp_path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        eprintln!(
            "{name}: ours {} tracks {:?}",
            ours.len(),
            ours.iter().map(|t| t.1.len()).collect::<Vec<_>>()
        );
        eprintln!(
            "{name}: libaaf {} tracks {:?}",
            exp.len(),
            exp.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert_eq!(ours.len(), exp.len(), "{name}: audio track count");
        for (ti, ((_, oc), ec)) in ours.iter().zip(&exp).enumerate() {
            assert_eq!(oc.len(), ec.len(), "{name}: track {ti} clip count");
            let Some(first) = oc.first() else { continue };
            // LibAAF gives samples; we give edit units. One scale per track
            // (samples per edit unit) must map every length and every start
            // difference; ±1 sample for LibAAF's integer rounding. The scale
            // comes from the widest start difference (exact multiples),
            // else from the first length.
            let last = oc.len() - 1;
            let scale = if last > 0 && oc[last].start != first.start {
                (ec[last].start - ec[0].start) as f64 / (oc[last].start - first.start) as f64
            } else {
                ec[0].len as f64 / first.length as f64
            };
            for (o, e) in oc.iter().zip(ec) {
                assert!(
                    (o.length as f64 * scale - e.len as f64).abs() <= 1.0,
                    "{name}: track {ti} len {o:?} vs {e:?}"
                );
                let ds = (o.start - first.start) as f64 * scale;
                assert!(
                    (ds - (e.start - ec[0].start) as f64).abs() <= 1.0,
                    "{name}: track {ti} start {o:?} vs {e:?}"
                );
                // One direction only: Media Composer's clip keyframes are a
                // vendor parameter (AvidControlClipRatio) that the session
                // model, not this crate, interprets.
                if o.varying {
                    assert!(e.automation, "{name}: track {ti} automation {o:?} vs {e:?}");
                }
                if let Some(db) = e.gain_db {
                    let ours_db = 20.0 * o.gain.unwrap_or(1.0).log10();
                    // LibAAF prints one decimal.
                    assert!(
                        (ours_db - db).abs() <= 0.051,
                        "{name}: track {ti} gain {ours_db} dB vs {db} dB"
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} files had dumps");
}
