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

/// A stereo WAV (float or integer samples) as two planes.
pub fn read_stereo(p: &Path) -> (Vec<f32>, Vec<f32>) {
    let mut r = hound::WavReader::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let spec = r.spec();
    assert_eq!(spec.channels, 2, "{}", p.display());
    let s: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|x| x.unwrap() as f32 / scale)
                .collect()
        }
    };
    (
        s.iter().step_by(2).copied().collect(),
        s.iter().skip(1).step_by(2).copied().collect(),
    )
}

/// Energy of a signal's two channels together.
pub fn energy(l: &[f32], r: &[f32]) -> f64 {
    l.iter()
        .chain(r)
        .map(|&x| f64::from(x) * f64::from(x))
        .sum()
}

/// `premix render PROJECT` against the `--preview` the mix wrote.
pub struct RenderCheck {
    pub preview_len: usize,
    pub render_len: usize,
    /// Level of the render relative to the preview, dB.
    pub level_db: f64,
    /// Level of render − preview (over their common length) relative to
    /// the preview, dB.
    pub diff_db: f64,
}

/// Renders `project` with `premix render` (beside `preview`) and compares
/// it with `preview`.
pub fn render_vs_preview(project: &Path, preview: &Path) -> RenderCheck {
    let rendered = preview.with_extension("render.wav");
    premix_ok([
        std::ffi::OsStr::new("render"),
        project.as_os_str(),
        std::ffi::OsStr::new("-o"),
        rendered.as_os_str(),
    ]);
    let (pl, pr) = read_stereo(preview);
    let (rl, rr) = read_stereo(&rendered);
    let len = pl.len().min(rl.len());
    let sub =
        |x: &[f32], y: &[f32]| -> Vec<f32> { x[..len].iter().zip(y).map(|(a, b)| a - b).collect() };
    let (dl, dr) = (sub(&rl, &pl), sub(&rr, &pr));
    let reference = energy(&pl, &pr);
    RenderCheck {
        preview_len: pl.len(),
        render_len: rl.len(),
        level_db: 10.0 * (energy(&rl, &rr) / reference).log10(),
        diff_db: 10.0 * (energy(&dl, &dr) / reference).log10(),
    }
}

/// A model loaded through the documented search orders, or `None` (the test
/// is skipped with a message) when ONNX Runtime is missing outside CI. Under
/// CI `.ci/run` installs the runtime, so a missing one fails, as does any
/// other error (a model that fails its checks); `what` names the model.
pub fn model_or_skip<T>(loaded: Result<T, premix::ml::runtime::MlError>, what: &str) -> Option<T> {
    use premix::ml::runtime::MlError;
    match loaded {
        Ok(m) => Some(m),
        Err(e @ (MlError::NoRuntime { .. } | MlError::LoadFailed { .. })) if !under_ci() => {
            eprintln!("skipping: {e}");
            None
        }
        Err(e) => panic!("{what} unavailable: {e}"),
    }
}
