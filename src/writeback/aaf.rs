//! Writing a mix into an AAF file (issue 9). Not implemented yet: a clear error.

use super::{Edits, WriteReport};
use crate::session::Session;

/// The mixed file's bytes and what was done.
pub fn write(
    session: &Session,
    edits: &Edits,
    seed: u64,
) -> anyhow::Result<(Vec<u8>, WriteReport)> {
    let _ = (edits, seed);
    anyhow::bail!(
        "{}: writing AAF sessions is not implemented yet",
        session.path.display()
    )
}
