//! Errors and limits.

use std::fmt;
use std::path::{Path, PathBuf};

/// Bounds that keep hostile input from exhausting memory or the stack.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest file accepted as read from disk (compressed), in bytes.
    /// Default 1 GiB.
    pub max_file_bytes: usize,
    /// Largest decompressed XML accepted, in bytes. Real sets are a few MiB
    /// to a few hundred MiB (the largest corpus set inflates to 4.5 MiB); a
    /// gzip bomb stops here. Default 1 GiB.
    pub max_xml_bytes: usize,
    /// Deepest element nesting accepted. Live sets nest about 30 levels
    /// (device racks inside racks add some). Default 256.
    pub max_depth: usize,
    /// Most elements accepted. The largest corpus set has about 140 000.
    /// Default 20 million.
    pub max_elements: usize,
    /// Longest attribute value accepted, in bytes. Live writes short values
    /// (names, paths, numbers); binary blobs go in element text. Default 1 MiB.
    pub max_attr_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 1 << 30,
            max_xml_bytes: 1 << 30,
            max_depth: 256,
            max_elements: 20_000_000,
            max_attr_bytes: 1 << 20,
        }
    }
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The gzip stream is damaged or truncated.
    Gzip(String),
    /// A [`Limits`] bound was hit.
    Limit(String),
    /// The XML is not UTF-8 (Live writes UTF-8).
    NotUtf8,
    /// The XML is not well-formed (quick-xml's message, or ours).
    Xml(String),
    /// The document is well-formed but not shaped like a Live set where the
    /// operation needs it to be (no `LiveSet`, no `Manual` value, ...).
    Schema(String),
    /// An edit was asked of a set this crate only reads (Live 8).
    ReadOnly(String),
    /// Reading or writing the file failed.
    Io(std::io::Error),
}

/// An error, with the file (when known) and the byte offset (into the
/// decompressed XML) and 1-based line where it applies.
#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub path: Option<PathBuf>,
    /// Byte offset into the decompressed XML, when the error has a position.
    pub offset: Option<usize>,
    /// 1-based line of `offset`; 0 when unknown.
    pub line: usize,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            kind,
            path: None,
            offset: None,
            line: 0,
        }
    }

    /// An error at byte `offset` of `text`; the line is counted here (errors
    /// are rare, so the scan costs nothing in the normal path).
    pub(crate) fn at(kind: ErrorKind, text: &[u8], offset: usize) -> Error {
        let offset = offset.min(text.len());
        let line = 1 + text[..offset].iter().filter(|&&b| b == b'\n').count();
        Error {
            kind,
            path: None,
            offset: Some(offset),
            line,
        }
    }

    pub(crate) fn schema(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Schema(msg.into()))
    }

    /// Attaches the file name.
    pub fn with_path(mut self, path: &Path) -> Error {
        self.path = Some(path.to_owned());
        self
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Gzip(m) => write!(f, "damaged gzip stream: {m}"),
            ErrorKind::Limit(m) => write!(f, "limit exceeded: {m}"),
            ErrorKind::NotUtf8 => write!(f, "the XML is not UTF-8"),
            ErrorKind::Xml(m) => write!(f, "malformed XML: {m}"),
            ErrorKind::Schema(m) => write!(f, "not a usable Live set: {m}"),
            ErrorKind::ReadOnly(m) => write!(f, "read-only set: {m}"),
            ErrorKind::Io(e) => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", p.display())?;
        }
        if let Some(o) = self.offset {
            write!(f, "byte {o} (line {}) of the XML: ", self.line)?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, Error>;
