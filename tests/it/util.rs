//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether we run under CI (`CI=true`), where missing references fail.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `../shared/corpus/<sub>`. Under CI a missing corpus is a failure; locally
/// the caller skips (returns `None`) with a message on stderr.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let dir = root().join("../shared/corpus").join(sub);
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

/// Files below `dir` (recursively) whose extension matches one of `exts`
/// (case-insensitive), sorted.
pub fn files_with_ext(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
        })
        .collect();
    out.sort();
    out
}

/// A `Command` for the premix binary built for these tests.
pub fn premix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_premix"))
}

/// Runs premix with `args`, fails the test with premix's stderr unless it
/// succeeds, and returns its output.
pub fn premix_ok<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = premix().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "premix failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`premix_ok`], with stdout parsed as JSON.
pub fn premix_json<I, S>(args: I) -> serde_json::Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    serde_json::from_slice(&premix_ok(args).stdout).unwrap()
}

/// The Python interpreter with the reference packages (pyloudnorm, librosa,
/// rpp, ...): `$PREMIX_PYTHON`, else `.venv/bin/python` made by `.ci/run`.
/// Under CI a missing interpreter or package is a failure; locally the test
/// is skipped (`None`) with a message.
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
                "python reference {} with {modules:?} unavailable under CI: {why}",
                py.display()
            );
            eprintln!("skipping: python reference unavailable ({why}); run `bash .ci/run` to set up .venv");
            None
        }
    }
}

/// A fresh temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}
