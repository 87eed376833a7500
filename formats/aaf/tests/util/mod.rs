//! Test helpers: the corpus and the reference Python, found the way the
//! root crate's tests/it/util.rs finds them (copied, small).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (two levels above this crate).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether we run under CI (`CI=true`), where missing references fail.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `../shared/corpus/aaf`: under CI a missing corpus fails; locally the
/// caller skips with a note.
pub fn corpus() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus/aaf");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        !under_ci(),
        "corpus folder {} is missing under CI",
        dir.display()
    );
    eprintln!("skipping: corpus folder {} not found", dir.display());
    None
}

/// Every `.aaf` below the corpus folder, sorted.
pub fn corpus_aafs() -> Vec<PathBuf> {
    let Some(dir) = corpus() else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("aaf")))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no .aaf files in {}", dir.display());
    out
}

/// The venv Python with `modules`: `$PREMIX_PYTHON`, else `.venv/bin/python`.
/// Under CI a missing interpreter or package fails; locally `None`.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let py = std::env::var_os("PREMIX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    let probe = Command::new(&py)
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .output();
    match probe {
        Ok(o) if o.status.success() => Some(py),
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                !under_ci(),
                "python reference {} unavailable under CI: {why}",
                py.display()
            );
            eprintln!("skipping: python reference unavailable ({why})");
            None
        }
    }
}

/// Runs a Python script with arguments; panics with its stderr on failure.
pub fn run_python(py: &Path, script: &str, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Every stream of a compound file: path → bytes.
pub fn streams(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut cf = cfb::open(path).expect("open cfb");
    let paths: Vec<PathBuf> = cf
        .walk()
        .filter(|e| e.is_stream())
        .map(|e| e.path().to_owned())
        .collect();
    let mut out = std::collections::BTreeMap::new();
    for p in paths {
        let mut data = Vec::new();
        cf.open_stream(&p).unwrap().read_to_end(&mut data).unwrap();
        out.insert(p.to_string_lossy().into_owned(), data);
    }
    out
}
