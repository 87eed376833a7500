//! Errors and limits.

use std::fmt;
use std::path::{Path, PathBuf};

/// Bounds that keep a broken or hostile file from exhausting memory, time or
/// the stack. Every count read from the file is also checked against the
/// length of the stream it came from before anything is allocated.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest file accepted, in bytes. Default 4 GiB (AAFs with embedded
    /// media reach gigabytes; the object streams themselves are small).
    pub max_file_bytes: u64,
    /// Largest `properties`, index or `referenced properties` stream read
    /// into memory. Default 16 MiB (the largest in the corpus is a few KiB).
    pub max_stream_bytes: u64,
    /// Most objects (storages) visited by one walk. Default 2 million.
    pub max_objects: usize,
    /// Deepest strong-reference nesting followed by a walk. Real files nest
    /// about 15 levels (Header/Content/Mobs/Slots/Segment/Components/...).
    /// Default 128.
    pub max_depth: usize,
    /// Deepest type-definition nesting (records of arrays of renames ...),
    /// which also stops cyclic type definitions. Default 32.
    pub max_type_depth: usize,
    /// Most elements decoded from one array or set value. Default 16 million.
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 4 << 30,
            max_stream_bytes: 16 << 20,
            max_objects: 2_000_000,
            max_depth: 128,
            max_type_depth: 32,
            max_elements: 16 << 20,
        }
    }
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not a compound file, or a compound file the `cfb` crate rejects.
    NotCfb(std::io::Error),
    /// A stream or storage the object layer needs is missing.
    Missing(String),
    /// Bytes that do not decode as what they must be.
    Malformed(String),
    /// A [`Limits`] bound was hit.
    Limit(String),
    /// A property, type or class the operation needs is not defined.
    Undefined(String),
    /// An edit that cannot be applied (wrong type, wrong stored form, ...).
    Edit(String),
    /// Reading or writing failed.
    Io(std::io::Error),
}

/// An error, with the file (when known), the compound-file stream or storage
/// it concerns (when it applies) and the byte offset inside that stream.
#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub path: Option<PathBuf>,
    pub stream: Option<String>,
    pub offset: Option<u64>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            kind,
            path: None,
            stream: None,
            offset: None,
        }
    }

    pub(crate) fn malformed(stream: &str, offset: u64, what: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Malformed(what.into()),
            path: None,
            stream: Some(stream.to_owned()),
            offset: Some(offset),
        }
    }

    pub(crate) fn limit(stream: &str, what: impl Into<String>) -> Error {
        Error::new(ErrorKind::Limit(what.into())).in_stream(stream)
    }

    pub(crate) fn missing(stream: &str) -> Error {
        Error::new(ErrorKind::Missing(stream.to_owned())).in_stream(stream)
    }

    pub(crate) fn undefined(what: impl Into<String>) -> Error {
        Error::new(ErrorKind::Undefined(what.into()))
    }

    pub(crate) fn edit(what: impl Into<String>) -> Error {
        Error::new(ErrorKind::Edit(what.into()))
    }

    pub(crate) fn in_stream(mut self, stream: &str) -> Error {
        if self.stream.is_none() {
            self.stream = Some(stream.to_owned());
        }
        self
    }

    /// Attaches the file name (kept if one is already there).
    pub fn with_path(mut self, path: &Path) -> Error {
        if self.path.is_none() {
            self.path = Some(path.to_owned());
        }
        self
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", p.display())?;
        }
        if let Some(s) = &self.stream {
            write!(f, "stream {s:?}")?;
            if let Some(o) = self.offset {
                write!(f, " at byte {o}")?;
            }
            f.write_str(": ")?;
        }
        match &self.kind {
            ErrorKind::NotCfb(e) => {
                write!(f, "not a readable compound file (is this an AAF?): {e}")
            }
            ErrorKind::Missing(what) => write!(f, "missing {what}"),
            ErrorKind::Malformed(what) => write!(f, "malformed: {what}"),
            ErrorKind::Limit(what) => write!(f, "limit exceeded: {what}"),
            ErrorKind::Undefined(what) => write!(f, "not defined: {what}"),
            ErrorKind::Edit(what) => write!(f, "cannot edit: {what}"),
            ErrorKind::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) | ErrorKind::NotCfb(e) => Some(e),
            _ => None,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
