//! `premix mix` end to end on REAPER projects: stage 2 against a reference,
//! what lands in the written project, re-runs, the corpus, and the input
//! left untouched.

use crate::util::{corpus, files_with_ext, premix, python_with, root, tempdir};
use premix::generate::{generate, GenerateConfig};
use serde_json::Value;
use std::path::Path;

fn hash(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn mix_with_reference_writes_buses_plugins_and_master_and_reruns_update() {
    let tmp = tempdir();
    let dir = tmp.path();
    let cfg = GenerateConfig {
        tracks: 10,
        seconds: 6.0,
        seed: 5,
        ..GenerateConfig::default()
    };
    let report = generate(&cfg, dir, &|_, _| {}).unwrap();
    let before = hash(&report.session);
    let out = dir.join("mixed.RPP");
    let html = dir.join("report.html");
    let run = premix()
        .arg("mix")
        .arg(&report.session)
        .arg("--reference")
        .arg(&report.reference)
        .arg("-o")
        .arg(&out)
        .arg("--report")
        .arg(&html)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        hash(&report.session),
        before,
        "the input session was modified"
    );
    let plan: Value = serde_json::from_slice(&run.stdout).unwrap();
    let s2 = &plan["stage2"];
    let (b, a) = (
        s2["loss_before"].as_f64().unwrap(),
        s2["loss_after"].as_f64().unwrap(),
    );
    eprintln!(
        "stage 2 style loss: {b:.4} -> {a:.4} ({:.0}%)",
        100.0 * a / b
    );
    assert!(a < b, "stage 2 did not improve on the equal-loudness sum");
    assert!(plan["master"].is_object());

    // The written project: every group has a bus with premix's plugins where
    // stage 2 asked for them, and it parses losslessly.
    let written = premix::session::read(&out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let doc = premix_rpp::Document::parse(text.as_bytes()).unwrap();
    assert_eq!(doc.to_bytes(), text.as_bytes());
    for g in plan["groups"].as_array().unwrap() {
        let name = g["name"].as_str().unwrap();
        let bus = written
            .tracks
            .iter()
            .find(|t| t.is_folder && t.name == name)
            .unwrap_or_else(|| panic!("no bus for group {name}"));
        let want_eq = !g["bus"]["eq"].as_array().unwrap().is_empty();
        assert_eq!(
            bus.fx.iter().any(|f| f == "VST: ReaEQ (Cockos)"),
            want_eq,
            "{name}"
        );
        let gain_db = g["bus"]["gain_db"].as_f64().unwrap().min(12.0);
        assert!((20.0 * bus.volume.log10() - gain_db).abs() < 1e-9, "{name}");
    }
    let html_text = std::fs::read_to_string(&html).unwrap();
    assert!(html_text.contains("<svg") && html_text.contains("Stage 2: style loss"));
    assert!(!html_text.contains("<script"), "the report is static");

    // Re-running on the output updates premix's buses instead of adding more.
    let out2 = dir.join("mixed2.RPP");
    let rerun = premix()
        .arg("mix")
        .arg(&out)
        .arg("--reference")
        .arg(&report.reference)
        .arg("-o")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let again = premix::session::read(&out2).unwrap();
    assert_eq!(
        again.tracks.len(),
        written.tracks.len(),
        "a re-run added tracks"
    );
    let count = |s: &str, what: &str| s.matches(what).count();
    let text2 = std::fs::read_to_string(&out2).unwrap();
    assert!(count(&text2, "premix EQ") <= count(&text, "premix EQ") + 1);
    assert_eq!(
        count(&text2, "<JS sstillwell/majortom"),
        count(&text2, "premix Comp")
    );
}

#[test]
fn written_project_reads_in_python_rpp_with_the_folder_structure() {
    let Some(py) = python_with(&["rpp"]) else {
        return;
    };
    let tmp = tempdir();
    let dir = tmp.path();
    let cfg = GenerateConfig {
        tracks: 12,
        seconds: 3.0,
        seed: 9,
        ..GenerateConfig::default()
    };
    let report = generate(&cfg, dir, &|_, _| {}).unwrap();
    let out = dir.join("mixed.RPP");
    let st = premix()
        .arg("mix")
        .arg(&report.session)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let j = std::process::Command::new(py)
        .arg(root().join("scripts/dev/rpp_plugins_reference.py"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(j.status.success(), "{}", String::from_utf8_lossy(&j.stderr));
    let j: Value = serde_json::from_slice(&j.stdout).unwrap();
    // Walk ISBUS as REAPER does: depth never negative, back to 0 at the end,
    // and every premix bus opens a folder.
    let mut depth = 0i64;
    for t in j["tracks"].as_array().unwrap() {
        depth += t["isbus"][1].as_i64().unwrap();
        assert!(depth >= 0, "{}", t["name"]);
    }
    assert_eq!(depth, 0);
    let session = premix::session::read(&out).unwrap();
    for t in &session.tracks {
        if t.has_audio() {
            assert!(t.parent.is_some(), "{} is not under a bus", t.name);
        }
    }
}

#[test]
fn every_corpus_project_mixes_or_fails_cleanly_and_is_never_modified() {
    let Some(dir) = corpus("rpp") else { return };
    let tmp = tempdir();
    for path in files_with_ext(&dir, &["rpp"]) {
        let before = hash(&path);
        let out = tmp.path().join(path.file_name().unwrap());
        let run = premix()
            .arg("mix")
            .arg(&path)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let code = run.status.code();
        assert!(
            code == Some(0) || code == Some(2),
            "{}: exit {code:?}",
            path.display()
        );
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(!err.contains("panicked"), "{}: {err}", path.display());
        if code == Some(0) {
            // Media are missing: the output says so, and still parses.
            let s = premix::session::read(&path).unwrap();
            let missing = s
                .tracks
                .iter()
                .flat_map(|t| &t.clips)
                .any(|c| c.kind == premix::session::ClipKind::Audio && !c.resolved());
            assert!(
                !missing || err.contains("warning"),
                "{}: {err}",
                path.display()
            );
            premix_rpp::Document::read(&out).unwrap();
        } else {
            assert!(!out.exists(), "{}: partial output", path.display());
        }
        assert_eq!(hash(&path), before, "{} was modified", path.display());
    }
}
