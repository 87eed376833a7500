//! Writing a mix into RPP: buses, moves, sends, gains, plugins, re-runs, and
//! the result read back by the independent Python decoder.

use crate::util::{python_with, root, tempdir};
use premix::session;
use premix::writeback::{rpp::apply, BusSettings, CompSettings, Edits, EqBand, EqKind, GroupEdit};
use premix_rpp::Document;
use std::path::Path;

fn track(name: &str, guid: &str, isbus: &str, extra: &str) -> String {
    format!(
        "  <TRACK {{{guid}}}\n    NAME {}\n    VOLPAN 0.5 0 -1 -1 1\n    MUTESOLO 0 0 0\n    ISBUS {isbus}\n    TRACKID {{{guid}}}\n    MAINSEND 1 0\n{extra}  >\n",
        premix_rpp::quote(name)
    )
}

const ITEM: &str = "    <ITEM\n      POSITION 0\n      LENGTH 1\n      VOLPAN 0.8 0 1 -1\n      <SOURCE WAVE\n        FILE x.wav\n      >\n    >\n";

fn project() -> String {
    let env = "    <VOLENV2\n      ACT 1 -1\n      PT 0 1 0\n    >\n";
    let mut s = String::from("<REAPER_PROJECT 0.1 \"7.0/x64\" 0\r\n  SAMPLERATE 48000 0 0\n  MASTER_VOLUME 1 0 -1 -1 1\n  MASTER_FX 1\n  MASTER_SEL 0\n");
    s += &track("Kick", "00000000-0000-0000-0000-000000000000", "0 0", ITEM);
    s += &track("Snare", "00000000-0000-0000-0000-000000000001", "0 0", ITEM);
    s += &track("Gtr", "00000000-0000-0000-0000-000000000002", "0 0", ITEM);
    s += &track("Vocals", "00000000-0000-0000-0000-000000000003", "1 1", "");
    s += &track("Lead", "00000000-0000-0000-0000-000000000004", "0 0", ITEM);
    s += &track("BV", "00000000-0000-0000-0000-000000000005", "2 -1", ITEM);
    s += &track(
        "Bass",
        "00000000-0000-0000-0000-000000000006",
        "0 0",
        &format!("    AUXRECV 0 0 1 0 0 0 0 0 0 -1:U 0 -1 ''\n{ITEM}"),
    );
    s += &track(
        "Keys",
        "00000000-0000-0000-0000-000000000007",
        "0 0",
        &format!("{env}{ITEM}"),
    );
    s += &track("Tom", "00000000-0000-0000-0000-000000000008", "0 0", ITEM);
    s += ">\n";
    s
}

fn bus(gain_db: f64, pan: f64) -> BusSettings {
    BusSettings {
        gain_db,
        pan,
        eq: vec![
            EqBand {
                kind: EqKind::LowShelf,
                freq_hz: 100.0,
                gain_db: -3.0,
                q: 0.707,
            },
            EqBand {
                kind: EqKind::Peak,
                freq_hz: 2500.0,
                gain_db: 2.0,
                q: 1.5,
            },
            EqBand {
                kind: EqKind::HighShelf,
                freq_hz: 8000.0,
                gain_db: 1.5,
                q: 0.707,
            },
        ],
        comp: Some(CompSettings {
            threshold_db: -18.04,
            ratio: 3.0,
            attack_ms: 10.0,
            release_ms: 120.0,
            knee_db: 6.0,
            makeup_db: 2.0,
        }),
    }
}

fn edits() -> Edits {
    Edits {
        track_gain_db: vec![(0, 6.0), (7, -6.0), (4, 0.0)],
        groups: vec![
            GroupEdit {
                name: "Drums".into(),
                members: vec![0, 1, 8],
                bus: bus(-2.0, 0.0),
            },
            GroupEdit {
                name: "Vocals".into(),
                members: vec![4, 5],
                bus: bus(1.0, 0.0),
            },
            GroupEdit {
                name: "Guitars".into(),
                members: vec![2],
                bus: bus(-4.0, -0.3),
            },
        ],
        master: Some(BusSettings {
            gain_db: -1.0,
            pan: 0.0,
            eq: bus(0.0, 0.0).eq,
            comp: None,
        }),
    }
}

fn write_and_read(dir: &Path, text: &str, edits: &Edits) -> (String, session::Session) {
    let input = dir.join("song.RPP");
    std::fs::write(&input, text).unwrap();
    let s = session::read(&input).unwrap();
    let mut doc = Document::parse(text.as_bytes()).unwrap();
    apply(&mut doc, &s, edits, 7).unwrap();
    let out_text = String::from_utf8(doc.to_bytes()).unwrap();
    let out = dir.join("song.premix.RPP");
    std::fs::write(&out, &out_text).unwrap();
    (out_text, session::read(&out).unwrap())
}

#[test]
fn buses_moves_sends_gains_and_master() {
    let tmp = tempdir();
    let (text, s) = write_and_read(tmp.path(), &project(), &edits());
    let names: Vec<(&str, Option<&str>)> = s
        .tracks
        .iter()
        .map(|t| (t.name.as_str(), t.parent.map(|p| s.tracks[p].name.as_str())))
        .collect();
    assert_eq!(
        names,
        [
            ("Drums", None),
            ("Kick", Some("Drums")),
            ("Snare", Some("Drums")),
            ("Tom", Some("Drums")),
            ("Guitars", None),
            ("Gtr", Some("Guitars")),
            ("Vocals", None),
            ("Lead", Some("Vocals")),
            ("BV", Some("Vocals")),
            ("Bass", None),
            ("Keys", None),
        ]
    );
    let by = |n: &str| s.tracks.iter().find(|t| t.name == n).unwrap();
    // Gains: +6 dB on Kick's fader (0.5 → 0.5·10^(6/20)); Keys is automated,
    // so its items carry −6 dB and its fader stays.
    assert!((by("Kick").volume - 0.5 * 10f64.powf(0.3)).abs() < 1e-12);
    assert_eq!(by("Keys").volume, 0.5);
    assert!((by("Keys").clips[0].gain - 0.8 * 10f64.powf(-0.3)).abs() < 1e-12);
    assert_eq!(by("Lead").volume, 0.5, "a 0 dB change leaves the fader");
    // Buses carry their fader and pan.
    assert!((by("Drums").volume - 10f64.powf(-0.1)).abs() < 1e-12);
    assert!((by("Guitars").pan + 0.3).abs() < 1e-12);
    assert_eq!(
        by("Vocals").fx,
        ["VST: ReaEQ (Cockos)", "sstillwell/majortom"]
    );
    // The sidechain send from Kick follows Kick to its new index.
    assert!(
        text.contains("    AUXRECV 1 0 1 0 0 0 0 0 0 -1:U 0 -1 ''\n"),
        "{text}"
    );
    // Untouched parts keep their bytes: the CRLF first line, the project
    // lines, and every line of Bass except the renumbered send.
    assert!(text.starts_with("<REAPER_PROJECT 0.1 \"7.0/x64\" 0\r\n  SAMPLERATE 48000 0 0\n"));
    assert!((s.master_volume - 10f64.powf(-0.05)).abs() < 1e-12);
    let doc = Document::parse(text.as_bytes()).unwrap();
    let master_fx = doc.project().unwrap().block("MASTERFXLIST").unwrap();
    assert_eq!(master_fx.blocks("VST").count(), 1);
    assert_eq!(
        master_fx.blocks("JS").count(),
        0,
        "no compressor asked for the master"
    );
}

#[test]
fn rerun_updates_premix_buses_instead_of_stacking() {
    let tmp = tempdir();
    let (first, s1) = write_and_read(tmp.path(), &project(), &edits());
    // Second run on the output: same groups, new settings, members by the
    // new indices.
    let idx = |n: &str| s1.tracks.iter().position(|t| t.name == n).unwrap();
    let mut e = edits();
    e.track_gain_db.clear();
    e.groups[0].members = vec![idx("Kick"), idx("Snare"), idx("Tom")];
    e.groups[0].bus.gain_db = -5.0;
    e.groups[1].members = vec![idx("Lead"), idx("BV")];
    e.groups[2].members = vec![idx("Gtr")];
    let (second, s2) = write_and_read(&tmp.path().join(""), &first, &e);
    assert_eq!(s2.tracks.len(), s1.tracks.len(), "no new bus tracks");
    for t in &s2.tracks {
        let premix_fx = t.fx.len();
        assert!(premix_fx <= 2, "{}: {:?}", t.name, t.fx);
    }
    let drums = s2.tracks.iter().find(|t| t.name == "Drums").unwrap();
    assert!((drums.volume - 10f64.powf(-0.25)).abs() < 1e-12);
    assert_eq!(
        second.matches("premix EQ").count(),
        first.matches("premix EQ").count()
    );
    assert_eq!(
        second.matches("FXID").count(),
        first.matches("FXID").count(),
        "FXIDs kept"
    );
}

#[test]
fn independent_decoder_reads_intended_settings() {
    let Some(py) = python_with(&["rpp"]) else {
        return;
    };
    let tmp = tempdir();
    let (_, _) = write_and_read(tmp.path(), &project(), &edits());
    let out = std::process::Command::new(py)
        .arg(root().join("scripts/dev/rpp_plugins_reference.py"))
        .arg(tmp.path().join("song.premix.RPP"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tracks = j["tracks"].as_array().unwrap();
    let t = |n: &str| tracks.iter().find(|t| t["name"] == n).unwrap();
    assert_eq!(t("Drums")["isbus"], serde_json::json!([1, 1]));
    assert_eq!(t("Tom")["isbus"], serde_json::json!([2, -1]));
    assert_eq!(t("Kick")["isbus"], serde_json::json!([0, 0]));
    assert_eq!(
        t("Bass")["auxrecv"],
        serde_json::json!([1]),
        "send follows Kick"
    );
    let plugins = t("Vocals")["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 2);
    assert_eq!(plugins[0]["custom"], "premix EQ");
    let bands = plugins[0]["reaeq"]["bands"].as_array().unwrap();
    let want = [
        (0, 100.0, -3.0, 0.707),
        (8, 2500.0, 2.0, 1.5),
        (1, 8000.0, 1.5, 0.707),
    ];
    for (b, (ty, f, g, q)) in bands.iter().zip(want) {
        assert_eq!(b[0], ty);
        assert_eq!(b[1], 1, "enabled");
        assert_eq!(b[2].as_f64().unwrap(), f);
        // dB → linear → dB: f64 rounding only.
        assert!((b[3].as_f64().unwrap() - g).abs() < 1e-9);
        // Bandwidth in octaves for Q, by 1/Q = 2 sinh(ln2/2 · BW).
        let bw = b[4].as_f64().unwrap();
        let q_back = 1.0 / (2.0 * (std::f64::consts::LN_2 / 2.0 * bw).sinh());
        assert!((q_back - q).abs() < 1e-9, "{q_back} vs {q}");
    }
    assert_eq!(plugins[1]["path"], "sstillwell/majortom");
    assert_eq!(plugins[1]["custom"], "premix Comp");
    let sl = plugins[1]["sliders"].as_array().unwrap();
    assert_eq!(sl.len(), 64);
    // Threshold rounded to the slider's 0.1 dB step; ratio; make-up; soft knee
    // (3); normal input; no auto make-up; peak detection; feedforward.
    let v: Vec<f64> = sl[..8].iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(v, [-18.0, 3.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0]);
    assert!(sl[8..].iter().all(|x| x.is_null()));
    assert!((j["master"]["volume"].as_f64().unwrap() - 10f64.powf(-0.05)).abs() < 1e-12);
    assert_eq!(j["master"]["plugins"][0]["custom"], "premix EQ");
}

#[test]
fn corpus_projects_take_edits_and_keep_every_other_line() {
    let Some(dir) = crate::util::corpus("rpp") else {
        return;
    };
    for path in crate::util::files_with_ext(&dir, &["rpp"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let s = session::read(&path).unwrap();
        // Every top-level non-folder track into one of two groups; every
        // track −1 dB; a master setting.
        let top: Vec<usize> = s
            .tracks
            .iter()
            .filter(|t| t.parent.is_none() && !t.is_folder)
            .map(|t| t.index)
            .collect();
        let (a, b): (Vec<usize>, Vec<usize>) = top.iter().partition(|&&i| i % 2 == 0);
        let mut e = Edits {
            master: Some(bus(0.0, 0.0)),
            ..Edits::default()
        };
        e.track_gain_db = s.tracks.iter().map(|t| (t.index, -1.0)).collect();
        for (name, members) in [("Even", a), ("Odd", b)] {
            if !members.is_empty() {
                e.groups.push(GroupEdit {
                    name: name.into(),
                    members,
                    bus: bus(0.0, 0.0),
                });
            }
        }
        let mut doc = Document::parse(text.as_bytes()).unwrap();
        apply(&mut doc, &s, &e, 1).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let out = doc.to_bytes();
        let again = Document::parse(&out).unwrap();
        assert_eq!(again.to_bytes(), out);
        let tmp = tempdir();
        let out_path = tmp.path().join("out.rpp");
        std::fs::write(&out_path, &out).unwrap();
        let s2 = session::read(&out_path).unwrap();
        assert_eq!(
            s2.tracks.len(),
            s.tracks.len() + e.groups.len(),
            "{}",
            path.display()
        );
        // Every original line survives unless it is one premix edits.
        let out_text = String::from_utf8(out).unwrap();
        let mut have: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for l in out_text.split('\n') {
            *have.entry(l).or_default() += 1;
        }
        for l in text.split('\n') {
            match have.get_mut(l) {
                Some(n) if *n > 0 => *n -= 1,
                _ => {
                    let key = l.split_whitespace().next().unwrap_or("");
                    assert!(
                        ["VOLPAN", "ISBUS", "AUXRECV", "MASTER_VOLUME"].contains(&key),
                        "{}: line lost: {l}",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn gain_beyond_the_fader_range_goes_on_the_items() {
    let tmp = tempdir();
    let e = Edits {
        track_gain_db: vec![(1, 20.0)],
        ..Edits::default()
    };
    let (_, s) = write_and_read(tmp.path(), &project(), &e);
    let snare = s.tracks.iter().find(|t| t.name == "Snare").unwrap();
    // Fader 0.5 · 10 = 5 exceeds +12 dB (3.98): fader at +12 dB, items take
    // the rest, so fader × item gain = 0.5 · 10 · 0.8.
    assert!((snare.volume - 3.981_071_705_534_972).abs() < 1e-12);
    assert!((snare.volume * snare.clips[0].gain - 0.5 * 10.0 * 0.8).abs() < 1e-9);
}
