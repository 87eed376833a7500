//! AAF sessions: `premix inspect --json` against LibAAF's reference dumps
//! (`libaaf/expected/*.expected`, written by LibAAF's aaftool, not by us),
//! media resolution and embedded PCM, `premix mix` on the corpus, and
//! written files read back by pyaaf2 (`scripts/dev/aaf_reference.py`).

use crate::util::{corpus, files_with_ext, premix, python_with, root, tempdir};
use premix::session::{self, Session};
use premix::writeback::{BusSettings, CompSettings, Edits, EqBand, EqKind, GroupEdit};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus_aafs() -> Option<(PathBuf, Vec<PathBuf>)> {
    let dir = corpus("aaf")?;
    let files = files_with_ext(&dir, &["aaf"]);
    assert!(files.len() >= 14, "AAF corpus incomplete: {files:?}");
    Some((dir, files))
}

/// LibAAF dump facts.
#[derive(Debug, Default)]
struct Dump {
    sample_rate: f64,
    start: i64,
    tracks: Vec<DumpTrack>,
}

#[derive(Debug, Default)]
struct DumpTrack {
    edit_rate: f64,
    pan: Option<f64>,
    pan_automated: bool,
    mute: bool,
    solo: bool,
    clips: Vec<DumpClip>,
}

#[derive(Debug)]
struct DumpClip {
    start: i64,
    len: i64,
    gain_db: Option<f64>,
    automation: bool,
}

fn field(line: &str, key: &str) -> Option<String> {
    let i = line.find(key)? + key.len();
    Some(line[i..].split_whitespace().next()?.to_owned())
}

fn dump(path: &Path) -> Dump {
    let text = std::fs::read_to_string(path).unwrap();
    let mut d = Dump::default();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(v) = t.strip_prefix("Dominant Sample Rate") {
            d.sample_rate = v.trim_start_matches([' ', ':']).trim().parse().unwrap();
        } else if let Some(v) = t.strip_prefix("Composition Start (samples)") {
            d.start = v.trim_start_matches([' ', ':']).trim().parse().unwrap();
        } else if t.starts_with("AudioTrack[") {
            let pan = field(line, "Pan:");
            let rate = field(line, "EditRate:").unwrap();
            let (n, den) = rate.split_once('/').unwrap();
            d.tracks.push(DumpTrack {
                edit_rate: n.parse::<f64>().unwrap() / den.parse::<f64>().unwrap(),
                pan: pan.as_deref().and_then(|p| p.parse().ok()),
                pan_automated: pan.as_deref() == Some("(A)"),
                mute: line.contains("Mute: MUTE"),
                solo: line.contains("Solo: SOLO"),
                clips: Vec::new(),
            });
        } else if line.contains("Clip (") && line.contains("Start:") {
            d.tracks.last_mut().unwrap().clips.push(DumpClip {
                start: field(line, "Start:").unwrap().parse().unwrap(),
                len: field(line, "Len:").unwrap().parse().unwrap(),
                gain_db: field(line, "Gain:").map(|g| g.parse().unwrap()),
                automation: line.contains("VolumeAutomation: YES"),
            });
        }
    }
    d
}

fn inspect(path: &Path) -> Value {
    let out = premix()
        .arg("inspect")
        .arg("--json")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn inspect_json_agrees_with_libaaf_dumps() {
    let Some((dir, files)) = corpus_aafs() else {
        return;
    };
    let mut checked = (0, 0, 0, 0);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let exp = dir.join("libaaf/expected").join(format!("{name}.expected"));
        if !exp.is_file() {
            continue;
        }
        let d = dump(&exp);
        let j = inspect(&path);
        assert_eq!(j["format"], "aaf");
        let tracks = j["tracks"].as_array().unwrap();
        assert_eq!(tracks.len(), d.tracks.len(), "{name}: audio track count");
        checked.0 += 1;
        for (ti, (t, e)) in tracks.iter().zip(&d.tracks).enumerate() {
            let clips = t["clips"].as_array().unwrap();
            assert_eq!(clips.len(), e.clips.len(), "{name}: track {ti} clips");
            // LibAAF counts samples at the dominant rate from the
            // composition start; we count seconds from the slot origin.
            // ±1.5 samples: LibAAF rounds each value to a whole sample.
            // LibAAF's samples are at the dominant sample rate for video
            // edit rates, at the edit rate for Pro Tools' audio ones, and
            // at 44.1 kHz for the 16/32 kHz Pro Tools files: the first
            // clip's length picks the rate, which must be one of these
            // and must then fit every start and length.
            let first_len = clips
                .first()
                .map_or(0.0, |c| c["length_s"].as_f64().unwrap());
            let sr = [e.edit_rate, d.sample_rate, 44100.0, 48000.0]
                .into_iter()
                .filter(|r| *r >= 8000.0)
                .find(|r| {
                    e.clips
                        .first()
                        .is_none_or(|ec| (first_len * r - ec.len as f64).abs() <= 1.5)
                })
                .unwrap_or_else(|| panic!("{name}: track {ti}: no sample rate fits {first_len} s"));
            for (c, ec) in clips.iter().zip(&e.clips) {
                let pos = c["position_s"].as_f64().unwrap() * sr;
                let len = c["length_s"].as_f64().unwrap() * sr;
                assert!(
                    (pos - (ec.start - d.start) as f64).abs() <= 1.5,
                    "{name}: track {ti} start {pos} vs {ec:?}"
                );
                assert!(
                    (len - ec.len as f64).abs() <= 1.5,
                    "{name}: track {ti} length {len} vs {ec:?}"
                );
                checked.1 += 1;
                // LibAAF prints gains with one decimal (±0.05 dB); with
                // automation it prints the clip's constant part, and we
                // report the value at the clip start, so only constant
                // gains are compared.
                if let (Some(db), false) = (ec.gain_db, ec.automation) {
                    let ours = c["gain_db"].as_f64().unwrap_or(-200.0).max(-99.0);
                    assert!(
                        (ours - db).abs() <= 0.051,
                        "{name}: track {ti} gain {ours} dB vs {db} dB"
                    );
                    checked.2 += 1;
                }
            }
            if let Some(p) = e.pan {
                // LibAAF prints 0…1; the model holds −1…+1.
                let ours = t["pan"].as_f64().unwrap();
                assert!(
                    (ours - (2.0 * p - 1.0)).abs() < 1e-6,
                    "{name}: pan {ours} vs {p}"
                );
                checked.3 += 1;
            }
            assert_eq!(
                t["pan_automated"].as_bool().unwrap(),
                e.pan_automated,
                "{name}: track {ti}"
            );
            assert_eq!(
                t["mute"].as_bool().unwrap(),
                e.mute,
                "{name}: track {ti} mute"
            );
            assert_eq!(
                t["solo"].as_bool().unwrap(),
                e.solo,
                "{name}: track {ti} solo"
            );
        }
    }
    eprintln!(
        "checked {} files, {} clip positions/lengths, {} clip gains, {} pans",
        checked.0, checked.1, checked.2, checked.3
    );
    assert_eq!(checked.0, 11, "every LibAAF dump compared");
}

#[test]
fn external_wavs_in_the_corpus_are_resolved() {
    let Some((dir, _)) = corpus_aafs() else {
        return;
    };
    let lib = dir.join("libaaf");
    for (aaf, wav) in [
        (
            "PT_WAV_External_same_directory.aaf",
            "PT_WAV_ExtehcrfPFTBxvdzJCBB.wav",
        ),
        (
            "PT_WAV_External_sub_directory.aaf",
            "PT_WAV_External_sub_directory/PT_WAV_ExterqqqHXSBxbzcJCBB.wav",
        ),
        (
            "PR_WAV_External_sub_sub_directory_UTF8.aaf",
            "Média AAF/花/bb6deb92-04b8-4b2a-9d6f-cd840000007c.wav",
        ),
    ] {
        let s = session::read(&lib.join(aaf)).unwrap();
        let clips: Vec<_> = s.tracks.iter().flat_map(|t| &t.clips).collect();
        assert!(!clips.is_empty(), "{aaf}");
        for c in clips {
            let found = c
                .resolved_path
                .as_ref()
                .unwrap_or_else(|| panic!("{aaf}: {c:?}"));
            assert_eq!(
                found.canonicalize().unwrap(),
                lib.join(wav).canonicalize().unwrap(),
                "{aaf}"
            );
            // The locator is the author's Windows path, percent-decoded.
            assert!(
                !c.path.as_deref().unwrap().contains('%'),
                "{aaf}: {:?}",
                c.path
            );
        }
    }
}

#[test]
fn embedded_pcm_decodes_to_the_length_libaaf_reports() {
    let Some((dir, _)) = corpus_aafs() else {
        return;
    };
    let s = session::read(&dir.join("libaaf/PT_PCM_Internal.aaf")).unwrap();
    let clip = &s.tracks[0].clips[0];
    let wav = clip
        .resolved_path
        .as_ref()
        .expect("embedded essence extracted");
    let d = premix::audio::decode::decode_file(wav).unwrap();
    // LibAAF: "Format: PCM - 01 ch - 16000 Hz - 16 bits Length: 32000".
    assert_eq!(d.buffer.sample_rate, 16000);
    assert_eq!(d.buffer.len_frames(), 32000);
    assert_eq!(d.source_channels, 1);
    assert!(clip.path.as_deref().unwrap().starts_with("embedded:"));
    // The clip plays all of it: 2 s on the timeline.
    assert!((clip.length_s - 2.0).abs() < 1e-9, "{}", clip.length_s);
}

#[test]
fn hostile_aaf_input_is_an_error_naming_the_file() {
    let tmp = tempdir();
    let p = tmp.path().join("bad.aaf");
    std::fs::write(&p, b"not a compound file at all").unwrap();
    let e = session::read(&p).unwrap_err().to_string();
    assert!(e.contains("bad.aaf"), "{e}");
    let Some((_, files)) = corpus_aafs() else {
        return;
    };
    // Truncations of a real file: errors, never panics.
    let data = std::fs::read(&files[0]).unwrap();
    for cut in [512, 4096, data.len() / 3, data.len() / 2, data.len() - 1] {
        let q = tmp.path().join(format!("cut{cut}.aaf"));
        std::fs::write(&q, &data[..cut]).unwrap();
        let _ = session::read(&q);
    }
}

#[test]
fn mix_on_corpus_aafs_writes_or_fails_cleanly_and_never_modifies_the_input() {
    let Some((_, files)) = corpus_aafs() else {
        return;
    };
    let tmp = tempdir();
    for path in files {
        let before = std::fs::read(&path).unwrap();
        let out = tmp.path().join(path.file_name().unwrap());
        let run = premix()
            .arg("mix")
            .arg(&path)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let code = run.status.code();
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(!err.contains("panicked"), "{}: {err}", path.display());
        assert!(
            code == Some(0) || code == Some(2),
            "{}: exit {code:?} {err}",
            path.display()
        );
        if code == Some(0) {
            let s = session::read(&out).unwrap();
            assert_eq!(s.format, session::Format::Aaf);
        } else {
            assert!(err.starts_with("premix:"), "{}: {err}", path.display());
            assert!(!out.exists(), "{}: partial output", path.display());
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{} modified",
            path.display()
        );
    }
}

/// pyaaf2's view of a file (see `scripts/dev/aaf_reference.py`).
fn reference(py: &Path, file: &Path) -> Value {
    let out = std::process::Command::new(py)
        .arg(root().join("scripts/dev/aaf_reference.py"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyaaf2 on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const GAIN: &str = "9d2ea894-0968-11d3-8a38-0050040ef7d2";
const PAN: &str = "9d2ea893-0968-11d3-8a38-0050040ef7d2";
const AMPLITUDE: &str = "e4962321-2267-11d3-8a4c-0050040ef7d2";
const PAN_PARAM: &str = "e4962322-2267-11d3-8a4c-0050040ef7d2";

/// The values (constant, or every control point) of a slot's `param` in
/// its group `op`; `None` without one.
fn slot_values(slot: &Value, op: &str, param: &str) -> Option<Vec<f64>> {
    for g in slot["groups"].as_array()? {
        if g["operation"] == op {
            let p = &g["parameters"][param];
            if let Some(v) = p["value"].as_f64() {
                return Some(vec![v]);
            }
            if let Some(pts) = p["points"].as_array() {
                return Some(pts.iter().map(|x| x[1].as_f64().unwrap()).collect());
            }
        }
    }
    None
}

fn edits_for(s: &Session) -> Edits {
    let n = s.tracks.len();
    Edits {
        // −6, +4, −6, +4, … dB per track (never 0 dB after bus and master).
        track_gain_db: (0..n)
            .map(|i| (i, if i % 2 == 0 { -6.0 } else { 4.0 }))
            .collect(),
        groups: vec![GroupEdit {
            name: "Everything".into(),
            members: (0..n).collect(),
            bus: BusSettings {
                gain_db: -2.0,
                pan: 0.4,
                eq: vec![EqBand {
                    kind: EqKind::Peak,
                    freq_hz: 250.0,
                    gain_db: -3.0,
                    q: 1.0,
                }],
                comp: Some(CompSettings {
                    threshold_db: -18.0,
                    ratio: 3.0,
                    attack_ms: 10.0,
                    release_ms: 120.0,
                    knee_db: 6.0,
                    makeup_db: 0.0,
                }),
            },
        }],
        master: Some(BusSettings {
            gain_db: -1.0,
            ..BusSettings::default()
        }),
    }
}

/// The dB each track's slot should gain: track + bus + master, the two
/// slots of a stereo pair sharing their mean.
fn intended_db(s: &Session, e: &Edits) -> Vec<f64> {
    let mut db: Vec<f64> = e.track_gain_db.iter().map(|(_, d)| d - 2.0 - 1.0).collect();
    for i in 0..s.tracks.len() {
        let g = s.tracks[i].guid.as_deref().unwrap_or("");
        if g.ends_with(":L") {
            let m = (db[i] + db[i + 1]) / 2.0;
            db[i] = m;
            db[i + 1] = m;
        }
    }
    db
}

#[test]
fn written_aafs_open_in_pyaaf2_with_the_intended_slot_gain_and_pan_and_nothing_else_changed() {
    let Some((_, files)) = corpus_aafs() else {
        return;
    };
    let Some(py) = python_with(&["aaf2"]) else {
        return;
    };
    let tmp = tempdir();
    let mut slots_checked = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let s = session::read(&path).unwrap();
        if s.tracks.is_empty() {
            continue;
        }
        let e = edits_for(&s);
        let (bytes, report) = premix::writeback::aaf::write(&s, &e, 1).unwrap();
        let out = tmp.path().join(&name);
        std::fs::write(&out, bytes).unwrap();
        let before = reference(&py, &path);
        let after = reference(&py, &out);
        // Everything but slot-level gain/pan, the new definitions and the
        // premix comments is unchanged, property by property.
        if before["digest"] != after["digest"] {
            let a: Vec<&str> = before["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            let b: Vec<&str> = after["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            let gone: Vec<_> = a.iter().filter(|l| !b.contains(l)).take(5).collect();
            let new: Vec<_> = b.iter().filter(|l| !a.contains(l)).take(5).collect();
            panic!("{name}: objects changed: before {gone:#?} after {new:#?}");
        }
        let db = intended_db(&s, &e);
        let (bs, as_) = (
            before["slots"].as_array().unwrap(),
            after["slots"].as_array().unwrap(),
        );
        assert_eq!(bs.len(), s.tracks.len(), "{name}");
        for (i, (b, a)) in bs.iter().zip(as_).enumerate() {
            // Gain: the old amplitude (1 without a group) times the change.
            let factor = 10f64.powf(db[i] / 20.0);
            let old = slot_values(b, GAIN, AMPLITUDE).unwrap_or(vec![1.0]);
            let new = slot_values(a, GAIN, AMPLITUDE).expect("a slot gain");
            assert_eq!(old.len(), new.len(), "{name}: slot {i}");
            for (o, n) in old.iter().zip(&new) {
                // 1e-6: the Rational's denominator (10^6 for new values).
                assert!(
                    (o * factor - n).abs() < 1e-6 * n.abs().max(1.0),
                    "{name}: slot {i} gain {n} vs {o}×{factor}"
                );
            }
            // Pan: every old value (or the implicit one) + bus/2, clamped.
            let implicit = (s.tracks[i].pan + 1.0) / 2.0;
            let old = slot_values(b, PAN, PAN_PARAM).unwrap_or(vec![implicit]);
            let new = slot_values(a, PAN, PAN_PARAM).expect("a slot pan");
            assert_eq!(old.len(), new.len(), "{name}: slot {i}");
            for (o, n) in old.iter().zip(&new) {
                let want = (o + 0.2).clamp(0.0, 1.0);
                // 2e-5: the writer keeps the file's denominator, and Avid
                // stores pan points over 2^15 (half a step is 1.5e-5).
                assert!(
                    (want - n).abs() < 2e-5,
                    "{name}: slot {i} pan {n} vs {want}"
                );
            }
            slots_checked += 1;
        }
        let c = &after["comments"]["premix.group.Everything"];
        let text = c
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {}", after["comments"]));
        assert!(
            text.contains("eq1 Peak 250.0 Hz -3.00 dB") && text.contains("ratio 3.00:1"),
            "{text}"
        );
        assert!(
            text.contains(&format!("0 \"{}\"", s.tracks[0].name)),
            "{text}"
        );
        assert!(
            report.warnings.iter().any(|w| w.contains("Everything")),
            "{report:?}"
        );
        // premix reads its own output back with the new gains.
        let again = session::read(&out).unwrap();
        for (i, (t0, t1)) in s.tracks.iter().zip(&again.tracks).enumerate() {
            let want = t0.volume * 10f64.powf(db[i] / 20.0);
            assert!(
                (t1.volume - want).abs() < 1e-5 * want,
                "{name}: track {i} {} vs {want}",
                t1.volume
            );
        }
    }
    eprintln!("{slots_checked} slots checked through pyaaf2");
    assert!(slots_checked >= 30, "{slots_checked}");
}

#[test]
fn fold_into_clips_multiplies_every_clip_gain_and_leaves_slots_alone() {
    let Some((dir, _)) = corpus_aafs() else {
        return;
    };
    let tmp = tempdir();
    for name in [
        "PR_Audio_Levels-noBTM.aaf",
        "PT_WAV_External_same_directory.aaf",
    ] {
        let path = dir.join("libaaf").join(name);
        let s = session::read(&path).unwrap();
        let e = Edits {
            track_gain_db: vec![(0, -6.0)],
            ..Edits::default()
        };
        let (bytes, _) = premix::writeback::aaf::write_with(&s, &e, 1, true).unwrap();
        let out = tmp.path().join(name);
        std::fs::write(&out, bytes).unwrap();
        let again = session::read(&out).unwrap();
        let f = 10f64.powf(-6.0 / 20.0);
        assert_eq!(again.tracks.len(), s.tracks.len());
        for (c0, c1) in s.tracks[0].clips.iter().zip(&again.tracks[0].clips) {
            // 1e-6: the Rational's precision.
            assert!(
                (c1.gain - c0.gain * f).abs() < 1e-6,
                "{name}: {} vs {}",
                c1.gain,
                c0.gain * f
            );
            assert_eq!(c1.position_s, c0.position_s);
            assert_eq!(c1.length_s, c0.length_s);
        }
        assert_eq!(
            again.tracks[0].volume, s.tracks[0].volume,
            "{name}: slot untouched"
        );
        if let Some(py) = python_with(&["aaf2"]) {
            let b = reference(&py, &path);
            let a = reference(&py, &out);
            assert_eq!(
                a["slots"], b["slots"],
                "{name}: slot-level groups unchanged"
            );
        }
    }
}

#[test]
fn a_second_mix_updates_the_premix_comments_instead_of_adding_more() {
    let Some((dir, _)) = corpus_aafs() else {
        return;
    };
    let tmp = tempdir();
    let path = dir.join("libaaf/PR_Audio_Pan-noBTM.aaf");
    let s = session::read(&path).unwrap();
    let e = edits_for(&s);
    let (bytes, _) = premix::writeback::aaf::write(&s, &e, 1).unwrap();
    let once = tmp.path().join("once.aaf");
    std::fs::write(&once, bytes).unwrap();
    let s1 = session::read(&once).unwrap();
    let (bytes, _) = premix::writeback::aaf::write(&s1, &e, 1).unwrap();
    let twice = tmp.path().join("twice.aaf");
    std::fs::write(&twice, bytes).unwrap();
    let count = |p: &Path| {
        let f = premix_aaf::AafFile::open(p).unwrap();
        let comp = f.top_level_composition().unwrap().unwrap();
        f.strong_refs(comp, premix_aaf::model::pids::MOB_USER_COMMENTS)
            .unwrap()
            .len()
    };
    assert_eq!(count(&once), count(&twice));
    // The gains compound: a second mix is a second change.
    let s2 = session::read(&twice).unwrap();
    let want = s.tracks[0].volume * 10f64.powf(2.0 * (-6.0 - 3.0) / 20.0);
    assert!(
        (s2.tracks[0].volume - want).abs() < 1e-5,
        "{} vs {want}",
        s2.tracks[0].volume
    );
}

#[test]
fn mix_on_a_corpus_aaf_with_real_audio_with_and_without_a_reference() {
    let Some((dir, _)) = corpus_aafs() else {
        return;
    };
    let tmp = tempdir();
    let lib = dir.join("libaaf");
    let wav = "PT_WAV_ExtehcrfPFTBxvdzJCBB.wav";
    let aaf = tmp.path().join("session.aaf");
    std::fs::copy(lib.join("PT_WAV_External_same_directory.aaf"), &aaf).unwrap();
    std::fs::copy(lib.join(wav), tmp.path().join(wav)).unwrap();
    // The reference: the session's own tone, stereo, 6 dB down.
    let mut r = hound::WavReader::open(lib.join(wav)).unwrap();
    let spec = r.spec();
    let samples: Vec<i32> = r.samples::<i32>().map(Result::unwrap).collect();
    let ref_wav = tmp.path().join("reference.wav");
    let mut w = hound::WavWriter::create(
        &ref_wav,
        hound::WavSpec {
            channels: 2,
            ..spec
        },
    )
    .unwrap();
    for s in samples.iter().step_by(usize::from(spec.channels)) {
        w.write_sample(s / 2).unwrap();
        w.write_sample(s / 2).unwrap();
    }
    w.finalize().unwrap();
    let before = std::fs::read(&aaf).unwrap();
    // With the reference: Pro Tools put the clip after a one-hour Filler;
    // the stems start at the first clip and stage 2 measures where the
    // music is, so the fit runs.
    let with_ref = tmp.path().join("with-reference.aaf");
    let run = premix()
        .args(["mix", aaf.to_str().unwrap(), "--reference"])
        .arg(&ref_wav)
        .arg("-o")
        .arg(&with_ref)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{err}");
    assert!(with_ref.exists());
    // Stage 1 on the real audio.
    let out = tmp.path().join("mixed.aaf");
    let run = premix()
        .args(["mix", aaf.to_str().unwrap()])
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.status.code(), Some(0), "{text}");
    assert!(text.contains("gain and pan only"), "{text}");
    assert!(!text.contains("not found"), "{text}");
    assert_eq!(std::fs::read(&aaf).unwrap(), before, "input modified");
    let s = session::read(&out).unwrap();
    assert!(
        s.tracks[0].clips[0].resolved(),
        "{:?}",
        s.tracks[0].clips[0]
    );
    let Some(py) = python_with(&["aaf2"]) else {
        return;
    };
    let b = reference(&py, &aaf);
    let a = reference(&py, &out);
    assert_eq!(
        a["digest"], b["digest"],
        "only slot gain/pan and comments change"
    );
    if let Some(g) = slot_values(&a["slots"][0], GAIN, AMPLITUDE) {
        // The slot gain pyaaf2 reads is the track volume premix reads.
        assert!(
            (g[0] - s.tracks[0].volume).abs() < 1e-6,
            "{g:?} vs {}",
            s.tracks[0].volume
        );
    }
    assert!(
        a["comments"].as_object().is_some_and(|c| !c.is_empty()),
        "{}",
        a["comments"]
    );
}
