//! `premix batch` over a folder of generated sessions, every corpus file, a
//! broken file, a premix output and a backup folder.

use crate::util::{corpus, premix, tempdir};
use premix::generate::{generate, GenerateConfig};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

#[test]
fn batch_mixes_the_good_reports_the_broken_skips_outputs_and_keeps_inputs() {
    let tmp = tempdir();
    let dir = tmp.path().join("sessions");
    let mut generated = Vec::new();
    for (i, tracks) in [6usize, 5].into_iter().enumerate() {
        let cfg = GenerateConfig {
            tracks,
            seconds: 2.0,
            seed: 20 + i as u64,
            ..GenerateConfig::default()
        };
        let r = generate(&cfg, &dir.join(format!("song {i}")), &|_, _| {}).unwrap();
        generated.push(r);
    }
    let reference = generated[0].reference.clone();
    let mut corpus_files = 0;
    for sub in ["rpp", "als", "aaf"] {
        if let Some(c) = corpus(sub) {
            copy_tree(&c, &dir.join(format!("corpus {sub}")));
            corpus_files += 1;
        }
    }
    std::fs::write(dir.join("broken.RPP"), "<REAPER_PROJECT 0.1\n  <TRACK\n").unwrap();
    // A premix output and a REAPER backup: neither is a session to mix.
    let session0 = &generated[0].session;
    let own = session0.with_file_name("earlier.premix.RPP");
    std::fs::copy(session0, &own).unwrap();
    std::fs::create_dir_all(dir.join("Backups")).unwrap();
    std::fs::copy(session0, dir.join("Backups/old.RPP")).unwrap();
    std::fs::copy(session0, dir.join("song-bak.rpp")).unwrap();
    let before = snapshot(&dir);
    let reports = tmp.path().join("reports");

    let run = premix()
        .arg("batch")
        .arg(&dir)
        .arg("--reference")
        .arg(&reference)
        .arg("--jobs")
        .arg("2")
        .arg("--report-dir")
        .arg(&reports)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "a failed session makes exit code 1: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(reports.join("premix-batch.json")).unwrap()).unwrap();
    assert_eq!(summary, on_disk);
    let entries = summary["sessions"].as_array().unwrap();
    let status = |p: &Path| -> &Value {
        entries
            .iter()
            .find(|e| Path::new(e["session"].as_str().unwrap()) == p)
            .unwrap_or_else(|| panic!("{} not in the summary", p.display()))
    };
    for g in &generated {
        let e = status(&g.session);
        assert_eq!(e["status"], "mixed", "{e}");
        let out = PathBuf::from(e["output"].as_str().unwrap());
        assert_eq!(out, g.session.with_file_name("premix-demo.premix.RPP"));
        premix::session::read(&out).unwrap();
    }
    let broken = status(&dir.join("broken.RPP"));
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["error"].as_str().unwrap().contains("broken.RPP:3"),
        "{broken}"
    );
    for e in entries {
        let s = e["session"].as_str().unwrap();
        assert!(!s.contains(".premix."), "a premix output was mixed: {s}");
        assert!(
            !s.contains("Backups") && !s.ends_with("-bak.rpp"),
            "a backup was mixed: {s}"
        );
        // Failures are one line naming the file.
        if e["status"] == "failed" {
            let err = e["error"].as_str().unwrap();
            let name = Path::new(s).file_name().unwrap().to_str().unwrap();
            assert!(err.contains(name) && !err.contains('\n'), "{err}");
        }
    }
    // Every corpus file was tried (mixed or failed with a reason).
    if corpus_files == 3 {
        let n_corpus = entries
            .iter()
            .filter(|e| e["session"].as_str().unwrap().contains("corpus "))
            .count();
        assert!(n_corpus >= 20, "only {n_corpus} corpus sessions tried");
    }
    assert_eq!(
        summary["mixed"].as_u64().unwrap()
            + summary["skipped"].as_u64().unwrap()
            + summary["failed"].as_u64().unwrap(),
        entries.len() as u64
    );
    // One report per mixed session.
    let mixed = entries.iter().filter(|e| e["status"] == "mixed").count();
    let html = std::fs::read_dir(&reports)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "html")
        })
        .count();
    assert_eq!(html, mixed);

    // Every input is byte-identical (outputs are new files beside them).
    let after = snapshot(&dir);
    for (p, bytes) in &before {
        assert!(after.get(p) == Some(bytes), "{} changed", p.display());
    }

    // A second run without --force skips what already has an output.
    let again = premix()
        .arg("batch")
        .arg(&dir)
        .arg("--json")
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["mixed"], 0, "{summary}");
    let e = summary["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| Path::new(e["session"].as_str().unwrap()) == generated[0].session)
        .unwrap();
    assert_eq!(e["status"], "skipped");
}
