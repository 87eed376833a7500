//! Finding and loading ONNX Runtime, and loading checked models.
//!
//! premix never downloads ONNX Runtime: `ort` is built with `load-dynamic`
//! and the shared library is found at run time. The search order is
//!
//! 1. `$PREMIX_ORT_DYLIB`, else `$ORT_DYLIB_PATH`: when either is set it is
//!    the *only* candidate (a wrong path is reported, never silently
//!    replaced by another library);
//! 2. an `.ort/` folder beside the executable, then one in the current
//!    directory, holding `libonnxruntime.so*` (`libonnxruntime*.dylib`,
//!    `onnxruntime.dll`);
//! 3. the `onnxruntime` Python wheel's `onnxruntime/capi/` folder in the
//!    usual site-packages: a `.venv` in the current directory or beside an
//!    ancestor of the executable (the repository's own `.venv` when premix
//!    runs from `target/`), `$VIRTUAL_ENV`, `~/.local/lib/python3*`,
//!    `/usr/local/lib/python3*`, `/usr/lib/python3*` (`site-packages` and
//!    `dist-packages`).
//!
//! One step installs it: `pip install onnxruntime==1.32.0` (any wheel ≥ 1.24
//! works; `ort`'s `api-24` feature refuses older ones).
//!
//! When nothing is found or loading fails, callers get an [`MlError`] and
//! turn it into one notice ([`notice_once`]) and a fallback.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::{Tensor, ValueType};

/// Why a model cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MlError {
    /// No ONNX Runtime library was found; `searched` lists the places looked at.
    #[error("no ONNX Runtime library found (looked in: {}); install it with `pip install onnxruntime==1.32.0` or set PREMIX_ORT_DYLIB to libonnxruntime", list(.searched))]
    NoRuntime { searched: Vec<PathBuf> },
    /// The library exists but could not be loaded.
    #[error("cannot load ONNX Runtime from {}: {reason}", .path.display())]
    LoadFailed { path: PathBuf, reason: String },
    /// A model file is missing, altered or does not have the expected interface.
    #[error("model {}: {reason}", .path.display())]
    Model { path: PathBuf, reason: String },
    /// Running a model failed.
    #[error("inference with {}: {reason}", .path.display())]
    Inference { path: PathBuf, reason: String },
}

fn list(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "nowhere".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The environment variables naming the library, in order of precedence.
pub const ENV_VARS: [&str; 2] = ["PREMIX_ORT_DYLIB", "ORT_DYLIB_PATH"];

/// Whether `name` looks like an ONNX Runtime shared library (not one of its
/// provider plug-ins, e.g. `libonnxruntime_providers_shared.so`).
fn is_runtime_name(name: &str) -> bool {
    if name.eq_ignore_ascii_case("onnxruntime.dll") {
        return true;
    }
    let Some(rest) = name.strip_prefix("libonnxruntime") else {
        return false;
    };
    rest.starts_with(".so") || (rest.starts_with('.') && rest.ends_with(".dylib"))
}

/// The runtime library in `dir`, if any (the longest name first, so a
/// versioned `libonnxruntime.so.1.32.0` wins over a bare symlink).
fn runtime_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(is_runtime_name))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    found.into_iter().next()
}

/// Subfolders of `dir` whose names start with `prefix` (a stand-in for the
/// glob `dir/prefix*`; sorted, newest Python last).
fn children_with_prefix(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `onnxruntime/capi` folders under the Python library folder `lib`
/// (`lib/python3*/{site,dist}-packages/onnxruntime/capi`).
fn wheel_dirs_under(lib: &Path, out: &mut Vec<PathBuf>) {
    for py in children_with_prefix(lib, "python3") {
        for pk in ["site-packages", "dist-packages"] {
            out.push(py.join(pk).join("onnxruntime/capi"));
        }
    }
}

/// Folders searched after the environment variables, in order (see the
/// module documentation). Only folders that exist are returned.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    let cwd = std::env::current_dir().ok();
    if let Some(d) = &exe_dir {
        dirs.push(d.join(".ort"));
    }
    if let Some(d) = &cwd {
        dirs.push(d.join(".ort"));
    }
    // Virtual environments: the current directory's, then one beside an
    // ancestor of the executable (target/debug/premix → repo/.venv).
    let mut venvs = Vec::new();
    if let Some(d) = &cwd {
        venvs.push(d.join(".venv"));
    }
    if let Some(d) = &exe_dir {
        for a in d.ancestors().skip(1).take(4) {
            venvs.push(a.join(".venv"));
        }
    }
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(v));
    }
    for v in venvs {
        wheel_dirs_under(&v.join("lib"), &mut dirs);
    }
    if let Some(home) = std::env::var_os("HOME") {
        wheel_dirs_under(&PathBuf::from(home).join(".local/lib"), &mut dirs);
    }
    wheel_dirs_under(Path::new("/usr/local/lib"), &mut dirs);
    dirs.push(PathBuf::from(
        "/usr/lib/python3/dist-packages/onnxruntime/capi",
    ));
    wheel_dirs_under(Path::new("/usr/lib"), &mut dirs);
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| d.is_dir() && seen.insert(d.clone()));
    dirs
}

/// The ONNX Runtime library by the documented search order.
pub fn find_library() -> Result<PathBuf, MlError> {
    for var in ENV_VARS {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let p = PathBuf::from(v);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(MlError::NoRuntime { searched: vec![p] })
            };
        }
    }
    let dirs = search_dirs();
    for d in &dirs {
        if let Some(p) = runtime_in(d) {
            return Ok(p);
        }
    }
    Err(MlError::NoRuntime { searched: dirs })
}

/// The one ONNX Runtime environment of the process (`ort` allows only one).
static ENV: Mutex<Option<Environment>> = Mutex::new(None);

/// Loads ONNX Runtime from `path` (once per process: a second call returns
/// the environment already made, whatever its path) and creates the
/// environment. The file is checked first, so a missing library is an error,
/// never `ort`'s panic.
pub fn runtime_from(path: &Path) -> Result<Environment, MlError> {
    if !path.is_file() {
        return Err(MlError::NoRuntime {
            searched: vec![path.to_path_buf()],
        });
    }
    let mut guard = ENV
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(env) = guard.as_ref() {
        return Ok(env.clone());
    }
    let fail = |reason: String| MlError::LoadFailed {
        path: path.to_path_buf(),
        reason,
    };
    // `ort` panics in some failure paths (e.g. a library that is not ONNX
    // Runtime at all); a panic here must become an error and a fallback.
    let built = catch_unwind(AssertUnwindSafe(|| {
        ort::init_from(path)
            .map_err(|e| e.to_string())?
            .with_name("premix")
            .build()
            .map_err(|e| e.to_string())
    }))
    .map_err(|p| {
        fail(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "ONNX Runtime panicked while loading".into()),
        )
    })?
    .map_err(fail)?;
    *guard = Some(built.clone());
    Ok(built)
}

/// The environment from the library found by [`find_library`]; the search
/// and the load happen once per process and their outcome is kept.
pub fn runtime() -> Result<Environment, MlError> {
    static FOUND: OnceLock<Result<Environment, MlError>> = OnceLock::new();
    FOUND
        .get_or_init(|| find_library().and_then(|p| runtime_from(&p)))
        .clone()
}

/// Where a model file `rel` (`models/NAME/FILE`) is looked for, in order:
/// `$PREMIX_MODELS/NAME/FILE`, then `rel` in the current directory, beside
/// the executable or an ancestor of it (a build under `target/`), then the
/// source tree premix was built from.
pub fn model_candidates(rel: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(d) = std::env::var_os("PREMIX_MODELS") {
        v.push(PathBuf::from(d).join(rel.strip_prefix("models/").unwrap_or(rel)));
    }
    if let Ok(d) = std::env::current_dir() {
        v.push(d.join(rel));
    }
    if let Some(d) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        for a in d.ancestors().take(4) {
            v.push(a.join(rel));
        }
    }
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel));
    v
}

/// The first of [`model_candidates`] that exists.
pub fn find_model(rel: &str) -> Result<PathBuf, MlError> {
    let cands = model_candidates(rel);
    cands
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| MlError::Model {
            path: PathBuf::from(rel),
            reason: format!("not found (looked at {})", list(&cands)),
        })
}

/// Loads the model `rel` with `load`, after finding the runtime and the
/// file by their search orders (what each model's `shared()` keeps once).
pub fn load_found<T>(
    rel: &str,
    load: impl FnOnce(&Environment, &Path) -> Result<T, MlError>,
) -> Result<T, MlError> {
    let env = runtime()?;
    load(&env, &find_model(rel)?)
}

static NOTICED: AtomicBool = AtomicBool::new(false);

/// Prints `what: <err>; <fallback>` to stderr the first time it is called in
/// the process, and nothing afterwards (one notice per run, however many
/// tracks fall back). Returns whether it printed.
pub fn notice_once(err: &MlError, fallback: &str) -> bool {
    if NOTICED.swap(true, Ordering::Relaxed) {
        return false;
    }
    eprintln!("premix: note: {err}; {fallback}");
    true
}

/// The sha256 recorded in a MODEL.md: the first 64-digit hex word on a line
/// that mentions `sha256`.
pub fn recorded_sha256(model_md: &str) -> Option<String> {
    model_md
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("sha256"))
        .flat_map(|l| l.split(|c: char| !c.is_ascii_hexdigit()))
        .find(|w| w.len() == 64)
        .map(str::to_ascii_lowercase)
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One input or output a model must have: its name and shape (`-1` for a
/// dynamic dimension), all `f32`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: &'static str,
    pub shape: &'static [i64],
}

/// A loaded, checked model with one `f32` input and one `f32` output.
///
/// `ort`'s `Session::run` needs `&mut`, so concurrent callers (the analysis
/// runs tracks in parallel) each take a session from a pool, made on demand
/// from the checked bytes and returned after the run: as many sessions as
/// simultaneous callers, never a lock held during inference.
pub struct Model {
    path: PathBuf,
    input: TensorSpec,
    output: TensorSpec,
    env: Environment,
    bytes: Vec<u8>,
    pool: Mutex<Vec<Session>>,
}

fn new_session(env: &Environment, bytes: &[u8]) -> Result<Session, String> {
    // One intra-op thread: premix analyses tracks in parallel already.
    Session::builder(env)
        .and_then(|b| b.with_intra_threads(1).map_err(Into::into))
        .and_then(|mut b| b.commit_from_memory(bytes))
        .map_err(|e| format!("ONNX Runtime refused it: {e}"))
}

fn check_io(
    path: &Path,
    kind: &str,
    have: &[ort::value::Outlet],
    want: &TensorSpec,
) -> Result<(), MlError> {
    let err = |reason: String| MlError::Model {
        path: path.to_path_buf(),
        reason,
    };
    let names: Vec<&str> = have.iter().map(|o| o.name()).collect();
    if have.len() != 1 {
        return Err(err(format!(
            "expected one {kind} `{}`, the model has {names:?}",
            want.name
        )));
    }
    let o = &have[0];
    if o.name() != want.name {
        return Err(err(format!(
            "expected {kind} `{}`, the model has `{}`",
            want.name,
            o.name()
        )));
    }
    match o.dtype() {
        ValueType::Tensor { ty, shape, .. }
            if *ty == ort::value::TensorElementType::Float32 && **shape == *want.shape =>
        {
            Ok(())
        }
        other => Err(err(format!(
            "{kind} `{}` is {other:?}, expected a float32 tensor of shape {:?}",
            want.name, want.shape
        ))),
    }
}

impl Model {
    /// Loads `path` with the environment `env`, checking its sha256 against
    /// the `MODEL.md` beside it and its interface against `input`/`output`.
    pub fn load(
        env: &Environment,
        path: &Path,
        input: TensorSpec,
        output: TensorSpec,
    ) -> Result<Model, MlError> {
        let err = |reason: String| MlError::Model {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let md_path = path.with_file_name("MODEL.md");
        let md = std::fs::read_to_string(&md_path)
            .map_err(|e| err(format!("cannot read {}: {e}", md_path.display())))?;
        let want = recorded_sha256(&md)
            .ok_or_else(|| err(format!("{} records no sha256", md_path.display())))?;
        let have = sha256_hex(&bytes);
        if have != want {
            return Err(err(format!(
                "sha256 is {have}, {} records {want}: the file is altered or stale",
                md_path.display()
            )));
        }
        let session = new_session(env, &bytes).map_err(err)?;
        check_io(path, "input", session.inputs(), &input)?;
        check_io(path, "output", session.outputs(), &output)?;
        Ok(Model {
            path: path.to_path_buf(),
            input,
            output,
            env: env.clone(),
            bytes,
            pool: Mutex::new(vec![session]),
        })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the model on `data` of shape `shape`; returns the output's shape
    /// and values.
    pub fn run(&self, shape: &[usize], data: Vec<f32>) -> Result<(Vec<usize>, Vec<f32>), MlError> {
        let err = |reason: String| MlError::Inference {
            path: self.path.clone(),
            reason,
        };
        let tensor = Tensor::from_array((shape.to_vec(), data.into_boxed_slice()))
            .map_err(|e| err(e.to_string()))?;
        let taken = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut session = match taken {
            Some(s) => s,
            None => new_session(&self.env, &self.bytes).map_err(err)?,
        };
        let result = Self::run_on(&mut session, &self.input, &self.output, tensor).map_err(err);
        self.pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(session);
        let (oshape, values) = result?;
        let oshape = oshape
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| err(format!("negative output dimension {d}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((oshape, values))
    }

    fn run_on(
        session: &mut Session,
        input: &TensorSpec,
        output: &TensorSpec,
        tensor: Tensor<f32>,
    ) -> Result<(Vec<i64>, Vec<f32>), String> {
        let outputs = session
            .run(ort::inputs![input.name => tensor])
            .map_err(|e| e.to_string())?;
        let (shape, values) = outputs[output.name]
            .try_extract_tensor::<f32>()
            .map_err(|e| e.to_string())?;
        Ok((shape.to_vec(), values.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_names() {
        assert!(is_runtime_name("libonnxruntime.so.1.32.0"));
        assert!(is_runtime_name("libonnxruntime.so"));
        assert!(is_runtime_name("libonnxruntime.1.32.0.dylib"));
        assert!(is_runtime_name("onnxruntime.dll"));
        assert!(!is_runtime_name("libonnxruntime_providers_shared.so"));
        assert!(!is_runtime_name("onnxruntime_pybind11_state.so"));
    }

    #[test]
    fn sha_is_read_from_model_md() {
        let md =
            "# m\n\n- sha256: `ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789`\n";
        assert_eq!(
            recorded_sha256(md).as_deref(),
            Some("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
        );
        assert_eq!(recorded_sha256("no hash here"), None);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn missing_library_is_an_error_not_a_panic() {
        let e = runtime_from(Path::new("/nonexistent/libonnxruntime.so")).unwrap_err();
        assert!(matches!(e, MlError::NoRuntime { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/libonnxruntime.so"));
    }
}
