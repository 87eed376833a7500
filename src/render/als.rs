//! The device chains of an Ableton Live set (EQ Eight, Compressor) as
//! premix's console runs them (issue 8). Not implemented yet: a clear error.

use super::Chains;
use crate::session::Session;

/// The chains of every track and of the master.
pub fn chains(session: &Session) -> anyhow::Result<Chains> {
    anyhow::bail!(
        "{}: rendering Live sets is not implemented yet",
        session.path.display()
    )
}
