//! The session model from an AAF file (issue 9).
//! Not implemented yet: reading reports a clear error.

use super::{Error, Session};
use std::path::Path;

/// Reads a session from `path`.
pub fn read(path: &Path) -> Result<Session, Error> {
    Err(Error::Invalid {
        path: path.to_owned(),
        message: "reading AAF sessions is not implemented yet".into(),
    })
}
