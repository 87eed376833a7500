//! Errors and limits.

use std::fmt;
use std::path::{Path, PathBuf};

/// Bounds that keep hostile input from exhausting memory or the stack.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest file accepted, in bytes. Real projects with heavy MIDI reach
    /// tens of MiB; the default is 1 GiB.
    pub max_file_bytes: usize,
    /// Longest line accepted, in bytes (REAPER wraps base64 at 128 columns;
    /// notes and MIDI lines are short). Default 64 MiB.
    pub max_line_bytes: usize,
    /// Most lines accepted. Default 50 million.
    pub max_lines: usize,
    /// Deepest block nesting accepted. Real projects nest about 6 levels.
    /// Default 256.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 1 << 30,
            max_line_bytes: 64 << 20,
            max_lines: 50_000_000,
            max_depth: 256,
        }
    }
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes are not UTF-8 (REAPER writes UTF-8).
    NotUtf8,
    /// A NUL byte: a binary file, not an RPP.
    Binary,
    /// A `>` with no open block.
    UnexpectedClose,
    /// The file ended inside a block (a truncated file).
    Unclosed { name: String, opened_line: usize },
    /// A [`Limits`] bound was hit.
    Limit(String),
    /// Reading the file failed.
    Io(std::io::Error),
}

/// A parse or read error, with the file (when known), 1-based line and
/// column (0 when they do not apply).
#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub path: Option<PathBuf>,
    pub line: usize,
    pub column: usize,
}

impl Error {
    pub(crate) fn at(kind: ErrorKind, line: usize, column: usize) -> Error {
        Error {
            kind,
            path: None,
            line,
            column,
        }
    }

    pub(crate) fn io(e: std::io::Error) -> Error {
        Error::at(ErrorKind::Io(e), 0, 0)
    }

    /// Attaches the file name.
    pub fn with_path(mut self, path: &Path) -> Error {
        self.path = Some(path.to_owned());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}:", p.display())?;
        }
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.column)?;
        }
        if self.path.is_some() || self.line > 0 {
            f.write_str(" ")?;
        }
        match &self.kind {
            ErrorKind::NotUtf8 => f.write_str("not valid UTF-8 (is this an RPP file?)"),
            ErrorKind::Binary => f.write_str("binary data (NUL byte): not an RPP file"),
            ErrorKind::UnexpectedClose => f.write_str("'>' closes no open block"),
            ErrorKind::Unclosed { name, opened_line } => write!(
                f,
                "unexpected end of file: <{name} opened at line {opened_line} is not closed (truncated file?)"
            ),
            ErrorKind::Limit(what) => write!(f, "limit exceeded: {what}"),
            ErrorKind::Io(e) => write!(f, "{e}"),
        }
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
