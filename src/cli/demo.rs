//! `premix demo`: generates the demo session and reference, then shows what
//! premix makes of it.

use super::generate;
use anyhow::Result;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the demo session.
    #[arg(long, short, default_value = "premix-demo")]
    pub out: PathBuf,
    /// Audio tracks in the demo session.
    #[arg(long, default_value_t = 24)]
    pub tracks: usize,
    /// Length in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
}

pub fn run(args: Args) -> Result<u8> {
    let gen = generate::Args {
        out: args.out.clone(),
        tracks: args.tracks,
        seconds: args.seconds,
        sample_rate: 48_000,
        seed: 1,
        no_folders: false,
    };
    eprintln!(
        "premix: generating a {}-track demo session in {} ...",
        args.tracks,
        args.out.display()
    );
    let report = generate::run_generate(&gen)?;
    super::inspect::run(super::inspect::Args {
        session: report.session.clone(),
        json: false,
    })?;
    println!(
        "\nThe demo session is {}; its reference mix is {}.",
        report.session.display(),
        report.reference.display()
    );
    Ok(0)
}
