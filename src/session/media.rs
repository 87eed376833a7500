//! Finding the media files a session refers to.
//!
//! Sessions store paths as their DAW wrote them: relative or absolute, with
//! backslashes from Windows, in folders that moved with the project or not.
//! [`Resolver`] tries, in order (FORMATS.md §1.3):
//! 1. the path relative to the session's folder (if it is relative);
//! 2. the path as given (if it is absolute on this OS);
//! 3. the file name in each extra search folder (RPP `RECORD_PATH`), relative
//!    to the session's folder unless absolute;
//! 4. the file name in the session's folder and its `Media`, `Audio` (any
//!    case) and `Samples` sub-folders.

use std::path::{Path, PathBuf};

/// Resolves media paths for one session.
#[derive(Clone, Debug)]
pub struct Resolver {
    base: PathBuf,
    search: Vec<PathBuf>,
}

impl Resolver {
    /// A resolver for a session stored in `session_dir`, with extra folders
    /// (relative to `session_dir` unless absolute) to search by file name.
    pub fn new(session_dir: &Path, extra_dirs: &[String]) -> Resolver {
        let mut search = Vec::new();
        for d in extra_dirs.iter().filter(|d| !d.is_empty()) {
            let p = normalise(d);
            search.push(if p.is_absolute() {
                p
            } else {
                session_dir.join(p)
            });
        }
        search.push(session_dir.to_owned());
        for sub in ["Media", "media", "Audio", "audio", "Samples", "samples"] {
            search.push(session_dir.join(sub));
        }
        Resolver {
            base: session_dir.to_owned(),
            search,
        }
    }

    /// Where `written` (a path as the session stores it) is on this machine.
    pub fn resolve(&self, written: &str) -> Option<PathBuf> {
        if written.is_empty() {
            return None;
        }
        let p = normalise(written);
        if p.is_absolute() {
            if p.is_file() {
                return Some(p);
            }
        } else if !looks_like_windows_absolute(written) {
            let rel = self.base.join(&p);
            if rel.is_file() {
                return Some(rel);
            }
        }
        let name = p.file_name()?;
        self.search
            .iter()
            .map(|dir| dir.join(name))
            .find(|cand| cand.is_file())
    }
}

/// Turns a session path into a path for this OS: backslashes become the
/// separator, so `audio\kick.wav` works on Unix.
pub fn normalise(written: &str) -> PathBuf {
    if cfg!(windows) {
        PathBuf::from(written)
    } else {
        PathBuf::from(written.replace('\\', "/"))
    }
}

/// `C:\…`, `D:/…` or `\\server\…`: absolute on Windows, meaningless
/// elsewhere, and never relative to the session folder.
fn looks_like_windows_absolute(written: &str) -> bool {
    let b = written.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        || written.starts_with("\\\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_in_documented_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("audio")).unwrap();
        std::fs::create_dir_all(d.join("rec")).unwrap();
        std::fs::create_dir_all(d.join("Media")).unwrap();
        std::fs::write(d.join("audio/kick.wav"), b"x").unwrap();
        std::fs::write(d.join("rec/snare.wav"), b"x").unwrap();
        std::fs::write(d.join("Media/hat.wav"), b"x").unwrap();
        let r = Resolver::new(d, &["rec".into(), String::new()]);
        assert_eq!(r.resolve("audio\\kick.wav"), Some(d.join("audio/kick.wav")));
        assert_eq!(r.resolve("audio/kick.wav"), Some(d.join("audio/kick.wav")));
        let abs = d.join("audio/kick.wav");
        assert_eq!(r.resolve(abs.to_str().unwrap()), Some(abs.clone()));
        assert_eq!(
            r.resolve("D:\\Projects\\song\\snare.wav"),
            Some(d.join("rec/snare.wav"))
        );
        assert_eq!(
            r.resolve("elsewhere/hat.wav"),
            Some(d.join("Media/hat.wav"))
        );
        assert_eq!(r.resolve("missing.wav"), None);
        assert_eq!(r.resolve(""), None);
    }
}
