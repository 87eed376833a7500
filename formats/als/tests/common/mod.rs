//! Shared test helpers: the corpus folder and its `.als` files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/corpus/als` next to the repository. Under `CI` a missing
/// corpus is a failure; locally the caller skips with a note on stderr.
pub fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/als");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v.is_empty() || v == "false"),
        "corpus folder {} is missing under CI",
        dir.display()
    );
    eprintln!("skipping: corpus folder {} not found", dir.display());
    None
}

/// The corpus's `.als` files, sorted; at least one (an empty corpus folder
/// is a broken checkout, not a pass).
pub fn als_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("als")))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no .als files in {}", dir.display());
    out
}

/// The decompressed XML of a file, inflated independently of the crate.
pub fn inflate(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}
