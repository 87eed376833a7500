//! The session model from an Ableton Live set (issue 8).
//! Not implemented yet: reading reports a clear error.

use super::{Error, Session};
use std::path::Path;

/// Reads a session from `path`.
pub fn read(path: &Path) -> Result<Session, Error> {
    Err(Error::Invalid {
        path: path.to_owned(),
        message: "reading ALS sessions is not implemented yet".into(),
    })
}
