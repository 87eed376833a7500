//! The session model from RPP files: folders, takes, gains, media resolution,
//! and the `premix inspect --json` schema.

use crate::util::{premix, root, tempdir};
use premix::session::{self, ClipKind};
use serde_json::Value;
use std::path::Path;

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("fixtures/rpp").join(name)
}

fn inspect_json(path: &Path) -> Value {
    let out = premix()
        .arg("inspect")
        .arg("--json")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn folders_nest_by_isbus_depth_changes() {
    let s = session::read(&fixture("nested_folders.rpp")).unwrap();
    let got: Vec<(&str, Option<usize>, usize, bool)> = s
        .tracks
        .iter()
        .map(|t| (t.name.as_str(), t.parent, t.folder_depth, t.is_folder))
        .collect();
    assert_eq!(
        got,
        [
            ("Band", None, 0, true),
            ("Drums", Some(0), 1, true),
            ("Kick", Some(1), 2, false),
            ("Toms", Some(1), 2, true),
            ("Tom 1", Some(3), 3, false),
            ("Tom 2", Some(3), 3, false), // ISBUS 2 -2 closes Toms and Drums
            ("Bass", Some(0), 1, false),  // ISBUS 2 -1 closes Band
            ("Lead Vocal", None, 0, false),
        ]
    );
    assert_eq!(s.sample_rate, Some(44100));
}

#[test]
fn selected_take_section_source_and_clip_gain() {
    let s = session::read(&fixture("unknown_chunks.rpp")).unwrap();
    let t = &s.tracks[0];
    assert_eq!(t.name, "Synth");
    assert!(t.volume_automated, "active VOLENV2 with points");
    assert!(!t.pan_automated);
    assert_eq!(t.fx, ["loser/3BandEQ"]);
    let c = &t.clips[0];
    assert_eq!(c.name, "take two", "TAKE SEL selects the second take");
    assert_eq!(c.kind, ClipKind::Audio);
    assert_eq!(c.source_type, "FLAC");
    assert_eq!(c.path.as_deref(), Some("C:\\Users\\someone\\take two.flac"));
    assert!(!c.resolved());
    // item volume 0.5 × TAKEVOLPAN volume 0.25
    assert_eq!(c.gain, 0.125);
    assert_eq!(c.source_offset_s, 0.5 + 1.0, "SOFFS + section STARTPOS");
    assert!(c.reversed, "SECTION MODE 2");
    assert_eq!((c.playrate, c.pitch_semitones), (1.5, 2.0));
    assert_eq!((c.position_s, c.length_s), (1.5, 2.0));
    assert_eq!((c.fade_in_s, c.fade_out_s), (0.01, 0.25));
    assert_eq!(s.warnings.len(), 1);
    assert!(
        s.warnings[0].message.contains("'Synth'")
            && s.warnings[0].message.contains("take two.flac")
    );
}

#[test]
fn inspect_json_schema_on_quoted_names_and_extreme_volumes() {
    let j = inspect_json(&fixture("quotes_crlf.rpp"));
    assert_eq!(j["schema"], 1);
    assert_eq!(j["sample_rate"], 48000);
    assert_eq!(j["tempo_bpm"], 98.5);
    let t = j["tracks"].as_array().unwrap();
    let names: Vec<&str> = t.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["Lead Vox", "say \"hi\"", "it's \"quoted\"", "", "tabbed"]
    );
    let db = |i: usize| t[i]["volume_db"].as_f64();
    // 20·log10(0.5) and 20·log10(2), to the f64 rounding of log10.
    assert!((db(0).unwrap() + 6.020599913279624).abs() < 1e-12);
    assert!((db(1).unwrap() - 6.020599913279624).abs() < 1e-12);
    assert_eq!(db(2), None, "VOLPAN 0 is -inf, reported as null");
    assert_eq!(t[0]["pan"], -0.25);
    assert_eq!(
        (t[2]["mute"].as_bool(), t[2]["solo"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(t[4]["pan"], 1.0);
    for tr in t {
        assert_eq!(tr["folder_depth"], 0);
        assert!(tr["clips"].as_array().unwrap().is_empty());
    }
    assert!((j["master_volume_db"].as_f64().unwrap() + 6.020599913279624).abs() < 1e-12);
}

fn write_wav(path: &Path, seconds: f64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(seconds * 48000.0) as usize {
        w.write_sample(((i as f64 * 0.05).sin() * 8000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn media_resolves_relative_backslash_record_path_and_by_name() {
    let tmp = tempdir();
    let d = tmp.path();
    write_wav(&d.join("audio/kick in.wav"), 0.1);
    write_wav(&d.join("takes/snare.wav"), 0.1);
    write_wav(&d.join("Media/hat.wav"), 0.1);
    let abs = d.join("abs dir/bass.wav");
    write_wav(&abs, 0.1);
    let rpp = format!(
        "<REAPER_PROJECT 0.1 \"7.0\" 0\n  RECORD_PATH takes \"\"\n{}{}{}{}{}>\n",
        track("Kick", "audio\\kick in.wav"),
        track("Snare", "D:\\old machine\\snare.wav"),
        track("Hat", "gone/hat.wav"),
        track("Bass", abs.to_str().unwrap()),
        track("Missing", "audio\\nope.wav"),
    );
    let session_path = d.join("song.RPP");
    std::fs::write(&session_path, rpp).unwrap();
    let j = inspect_json(&session_path);
    let resolved: Vec<(bool, String)> = j["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let c = &t["clips"][0];
            (
                c["resolved"].as_bool().unwrap(),
                c["resolved_path"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let p = |rel: &str| d.join(rel).display().to_string();
    assert_eq!(
        resolved,
        [
            (true, p("audio/kick in.wav")),
            (true, p("takes/snare.wav")),
            (true, p("Media/hat.wav")),
            (true, abs.display().to_string()),
            (false, String::new()),
        ]
    );
    let w = j["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].as_str().unwrap().contains("track 5 'Missing'"),
        "{w:?}"
    );
}

fn track(name: &str, file: &str) -> String {
    format!(
        "  <TRACK\n    NAME {}\n    <ITEM\n      POSITION 0\n      LENGTH 0.1\n      <SOURCE WAVE\n        FILE {}\n      >\n    >\n  >\n",
        premix_rpp::quote(name),
        premix_rpp::quote(file)
    )
}

#[test]
fn non_project_files_are_clear_errors() {
    let tmp = tempdir();
    let chain = tmp.path().join("chain.RPP");
    std::fs::write(&chain, "<JS loser/3BandEQ \"\"\n  0 200 0\n>\n").unwrap();
    let out = premix().arg("inspect").arg(&chain).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("chain.RPP") && err.contains("not a REAPER project"),
        "{err}"
    );
    let txt = tmp.path().join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    let out = premix().arg("inspect").arg(&txt).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = premix()
        .arg("inspect")
        .arg(tmp.path().join("absent.rpp"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("premix: ") && err.contains("absent.rpp"),
        "{err}"
    );
}

#[test]
fn generated_session_inspects_with_every_clip_resolved() {
    let tmp = tempdir();
    let out = premix()
        .args(["generate", "--tracks", "24", "--seconds", "2", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = inspect_json(&tmp.path().join("premix-demo.RPP"));
    let tracks = j["tracks"].as_array().unwrap();
    let audio: Vec<&Value> = tracks
        .iter()
        .filter(|t| !t["clips"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(audio.len(), 24, "24 audio tracks (folders come on top)");
    for t in audio {
        for c in t["clips"].as_array().unwrap() {
            assert_eq!(c["resolved"], true, "{}: {}", t["name"], c["path"]);
        }
    }
    assert!(j["warnings"].as_array().unwrap().is_empty());
    // Folders hold the drums and the vocals.
    assert!(tracks
        .iter()
        .any(|t| t["name"] == "Drums" && t["is_folder"] == true));
    assert!(tracks
        .iter()
        .any(|t| t["name"] == "Lead Vox" && t["folder_depth"] == 1));
}
