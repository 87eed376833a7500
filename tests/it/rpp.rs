//! RPP: lossless round trips over the corpus and fixtures, targeted edits,
//! errors on bad files, and the cross-check against the Python `rpp` package.

use crate::util::{corpus, files_with_ext, premix, python_with, root, tempdir};
use premix_rpp::{Document, Node};
use std::path::{Path, PathBuf};

/// Every RPP-grammar file the tests walk: the corpus and our fixtures (the
/// `bad_` fixtures are checked separately). A new file adds a case.
fn rpp_files() -> Vec<PathBuf> {
    let exts = ["rpp", "rfxchain", "rtracktemplate"];
    let mut files = Vec::new();
    if let Some(dir) = corpus("rpp") {
        let found = files_with_ext(&dir, &exts);
        assert!(
            found.len() >= 6,
            "expected the corpus RPP files, found {found:?}"
        );
        files.extend(found);
    }
    files.extend(
        files_with_ext(&root().join("fixtures/rpp"), &exts)
            .into_iter()
            .filter(|p| !file_name(p).starts_with("bad_")),
    );
    files
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn tracks_mut(doc: &mut Document) -> Vec<&mut premix_rpp::Block> {
    doc.project_mut()
        .map(|p| p.blocks_mut("TRACK").collect())
        .unwrap_or_default()
}

#[test]
fn every_file_round_trips_byte_for_byte() {
    for path in rpp_files() {
        let bytes = std::fs::read(&path).unwrap();
        let doc = Document::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            doc.to_bytes() == bytes,
            "{} does not round-trip",
            path.display()
        );
    }
}

#[test]
fn no_op_edits_of_every_track_keep_the_bytes() {
    for path in rpp_files() {
        let bytes = std::fs::read(&path).unwrap();
        let mut doc = Document::parse(&bytes).unwrap();
        // Move every track out of the tree and back to the same place, and
        // re-set every key line of every track to its own tokens.
        if let Some(project) = doc.project_mut() {
            for i in project.block_indices("TRACK") {
                let node = project.children.remove(i);
                project.children.insert(i, node);
            }
        }
        for track in tracks_mut(&mut doc) {
            for node in &mut track.children {
                if let Node::Line(line) = node {
                    let values: Vec<String> =
                        line.tokens().iter().map(|t| t.value().to_owned()).collect();
                    line.set_tokens(values);
                }
            }
        }
        assert!(
            doc.to_bytes() == bytes,
            "{}: no-op edit changed bytes",
            path.display()
        );
    }
}

#[test]
fn re_rendered_volpan_lines_match_reaper_formatting() {
    // Forcing a VOLPAN line to be re-rendered (edit, then edit back) must give
    // REAPER's own text when the original used REAPER's spacing: this checks
    // indentation depth, spacing and number spelling on real files.
    let mut checked = 0;
    for path in rpp_files() {
        let bytes = std::fs::read(&path).unwrap();
        let mut doc = Document::parse(&bytes).unwrap();
        let eol_crlf = bytes.windows(2).any(|w| w == b"\r\n");
        for track in tracks_mut(&mut doc) {
            if let Some(line) = track.line_mut("VOLPAN") {
                let orig = line.get(1).unwrap().to_owned();
                line.set_token(1, "0.123");
                line.set_token(1, orig);
                assert!(!line.is_pristine());
                checked += 1;
            }
        }
        if path.to_string_lossy().contains("quotes_crlf") {
            continue; // deliberately odd spacing on some lines
        }
        let out = doc.to_bytes();
        assert!(
            out == bytes,
            "{}: re-rendered VOLPAN differs (crlf={eol_crlf})",
            path.display()
        );
    }
    assert!(checked > 20, "only {checked} VOLPAN lines checked");
}

#[test]
fn an_edit_changes_only_its_line() {
    for path in rpp_files() {
        let bytes = std::fs::read(&path).unwrap();
        let mut doc = Document::parse(&bytes).unwrap();
        let mut tracks = tracks_mut(&mut doc);
        let Some(track) = tracks.last_mut() else {
            continue;
        };
        let Some(line) = track.line_mut("VOLPAN") else {
            continue;
        };
        line.set_token(1, "0.25");
        let out = doc.to_bytes();
        let before: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        let after: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        assert_eq!(before.len(), after.len(), "{}", path.display());
        let diffs: Vec<usize> = (0..before.len())
            .filter(|&i| before[i] != after[i])
            .collect();
        assert_eq!(
            diffs.len(),
            1,
            "{}: lines {diffs:?} changed",
            path.display()
        );
        let changed = String::from_utf8_lossy(after[diffs[0]]);
        assert!(
            changed.trim_start().starts_with("VOLPAN 0.25 "),
            "{changed}"
        );
    }
}

/// Expected failures of the `bad_` fixtures: (file, line, message fragment).
const BAD: &[(&str, usize, &str)] = &[
    (
        "bad_truncated.rpp",
        7,
        "unexpected end of file: <TRACK opened at line 6",
    ),
    ("bad_binary.rpp", 1, "binary data"),
    ("bad_not_utf8.rpp", 2, "not valid UTF-8"),
    ("bad_extra_close.rpp", 5, "closes no open block"),
];

#[test]
fn bad_files_fail_with_one_line_naming_file_and_line_exit_2_and_no_output() {
    let bad: Vec<PathBuf> = files_with_ext(&root().join("fixtures/rpp"), &["rpp"])
        .into_iter()
        .filter(|p| file_name(p).starts_with("bad_"))
        .collect();
    assert_eq!(
        bad.len(),
        BAD.len(),
        "every bad_ fixture needs an expectation"
    );
    let tmp = tempdir();
    for (name, line, what) in BAD {
        let path = root().join("fixtures/rpp").join(name);
        for cmd in ["inspect", "roundtrip"] {
            let out_file = tmp.path().join(format!("{name}.out"));
            let mut c = premix();
            c.arg(cmd).arg(&path);
            if cmd == "roundtrip" {
                c.arg("-o").arg(&out_file);
            }
            let out = c.output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err.lines().count(), 1, "{err}");
            let expect_prefix = format!("premix: {}:{line}:", path.display());
            assert!(
                err.starts_with(&expect_prefix),
                "{err} (wanted {expect_prefix})"
            );
            assert_eq!(err.matches(what).count(), 1, "said once: {err}");
            assert!(out.stdout.is_empty());
            assert!(!out_file.exists(), "partial output written for {name}");
        }
    }
}

#[test]
fn roundtrip_cli_copies_exactly_and_never_touches_the_input() {
    let tmp = tempdir();
    for path in rpp_files() {
        let before = std::fs::read(&path).unwrap();
        let out_path = tmp.path().join(file_name(&path));
        let st = premix()
            .arg("roundtrip")
            .arg(&path)
            .arg("-o")
            .arg(&out_path)
            .status()
            .unwrap();
        assert!(st.success());
        assert!(std::fs::read(&out_path).unwrap() == before);
        // A second run refuses to overwrite without --force, and the input
        // can never be the output.
        let again = premix()
            .arg("roundtrip")
            .arg(&path)
            .arg("-o")
            .arg(&out_path)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(2));
        let onto_input = premix()
            .arg("roundtrip")
            .arg(&out_path)
            .arg("-o")
            .arg(&out_path)
            .arg("--force")
            .output()
            .unwrap();
        assert_eq!(onto_input.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&onto_input.stderr).contains("refusing to overwrite the input")
        );
        assert!(std::fs::read(&path).unwrap() == before);
    }
}

#[test]
fn inspect_agrees_with_python_rpp_package() {
    let Some(py) = python_with(&["rpp"]) else {
        return;
    };
    let files: Vec<PathBuf> = rpp_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("rpp")))
        .collect();
    let out = std::process::Command::new(py)
        .arg(root().join("scripts/dev/rpp_reference.py"))
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut compared = 0;
    for path in &files {
        let entry = &reference[path.to_str().unwrap()];
        if let Some(err) = entry["error"].as_str() {
            // The reference parser is stricter than REAPER (it rejects blank
            // lines, for one); it must read every REAPER-written corpus file.
            assert!(
                path.starts_with(root().join("fixtures")),
                "python rpp failed on {}: {err}",
                path.display()
            );
            eprintln!("python rpp cannot read fixture {}: {err}", path.display());
            continue;
        }
        let r = &entry["tracks"];
        let ours = premix()
            .arg("inspect")
            .arg("--json")
            .arg(path)
            .output()
            .unwrap();
        assert!(ours.status.success(), "{}", path.display());
        let ours: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
        let ours = ours["tracks"].as_array().unwrap();
        let theirs = r.as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{}: track count", path.display());
        for (o, t) in ours.iter().zip(theirs) {
            assert_eq!(o["name"], t["name"], "{}", path.display());
            if let Some(vp) = t["volpan"].as_array() {
                let vol = vp[0].as_f64().unwrap();
                let pan = vp[1].as_f64().unwrap();
                // Exact: both sides parse the same decimal text to f64.
                assert_eq!(
                    o["volume"].as_f64().unwrap(),
                    vol,
                    "{}: {}",
                    path.display(),
                    o["name"]
                );
                assert_eq!(o["pan"].as_f64().unwrap(), pan.clamp(-1.0, 1.0));
                match o["volume_db"].as_f64() {
                    Some(db) => assert!((db - 20.0 * vol.log10()).abs() < 1e-9),
                    None => assert_eq!(vol, 0.0),
                }
            }
            compared += 1;
        }
    }
    assert!(compared >= 30, "only {compared} tracks compared");
}
