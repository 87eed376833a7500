//! `premix render`: plays a session through premix's console into a WAV.

use crate::output::write_wav;
use anyhow::Result;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session to render (.RPP, .als or .aaf).
    pub session: PathBuf,
    /// The WAV file to write (stereo, 32-bit float).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Sample rate (default: the session's, else 48000).
    #[arg(long)]
    pub rate: Option<u32>,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args) -> Result<u8> {
    if args.output.exists() && !args.force {
        anyhow::bail!(
            "{}: already exists (use --force to replace it)",
            args.output.display()
        );
    }
    eprintln!("premix: rendering {} ...", args.session.display());
    let r = crate::render::render_file(&args.session, args.rate)?;
    write_wav(
        &args.output,
        &r.audio.left,
        &r.audio.right,
        r.audio.sample_rate,
        Some(&args.session),
        args.force,
    )?;
    for w in &r.warnings {
        eprintln!("premix: warning: {w}");
    }
    println!(
        "wrote {} ({:.1} s at {} Hz)",
        args.output.display(),
        r.audio.duration_s(),
        r.audio.sample_rate
    );
    Ok(0)
}
