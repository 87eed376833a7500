//! `premix generate`: a deterministic synthetic multitrack session.

use super::progress;
use crate::generate::{generate, GenerateConfig, GenerateReport};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write into (created if missing).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Audio tracks (1–256).
    #[arg(long, default_value_t = 24)]
    pub tracks: usize,
    /// Length in seconds (1–300).
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Sample rate, Hz.
    #[arg(long, default_value_t = 48_000)]
    pub sample_rate: u32,
    /// Seed of every random choice: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Put no tracks in folders (by default drums and vocals are).
    #[arg(long)]
    pub no_folders: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let report = run_generate(&args)?;
    println!(
        "wrote {} tracks to {}\n  session:   {}\n  reference: {}",
        report.tracks.len(),
        args.out.display(),
        report.session.display(),
        report.reference.display()
    );
    Ok(0)
}

/// Generates with a progress bar; shared with `premix demo`.
pub fn run_generate(args: &Args) -> Result<GenerateReport> {
    let cfg = GenerateConfig {
        tracks: args.tracks,
        seconds: args.seconds,
        sample_rate: args.sample_rate,
        seed: args.seed,
        folders: !args.no_folders,
    };
    let bar = progress::bar(args.tracks as u64 + 1, "files");
    let report = generate(&cfg, &args.out, &|done, _total| {
        bar.set_position(done as u64)
    })
    .with_context(|| format!("{}: cannot generate the session", display(&args.out)))?;
    bar.finish_and_clear();
    Ok(report)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
