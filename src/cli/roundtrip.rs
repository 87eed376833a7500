//! `premix roundtrip`: parse a session and write it back with no edits.
//! The output must equal the input byte for byte; this command is how users
//! (and tests) check that premix will not disturb their session.

use crate::output::write_atomic;
use anyhow::{bail, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session file (.RPP, .RfxChain, .RTrackTemplate, .als).
    pub session: PathBuf,
    /// Where to write the copy (never the input itself).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let ext = args
        .session
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("rpp" | "rfxchain" | "rtracktemplate") => {
            premix_rpp::Document::read(&args.session)?.to_bytes()
        }
        // An Ableton Live set: the same gzip container (header fields kept)
        // around the same XML text.
        Some("als") => premix_als::Document::read(&args.session)?.to_bytes()?,
        _ => bail!(
            "{}: unsupported session format (expected .RPP, .RfxChain, .RTrackTemplate or .als)",
            args.session.display()
        ),
    };
    write_atomic(&args.output, &bytes, Some(&args.session), args.force)?;
    Ok(0)
}
