//! `premix demo`: generates the demo session and its reference mix, mixes
//! the session with a report and a preview, and says what to open.

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
    let out = super::mix::default_output(&report.session);
    let html = args.out.join("premix-report.html");
    let preview = args.out.join("premix-preview.wav");
    super::mix::run(super::mix::Args {
        reference: Some(report.reference.clone()),
        output: Some(out.clone()),
        force: true,
        preview: Some(preview.clone()),
        report: Some(html.clone()),
        ..super::mix::Args::new(report.session.clone())
    })?;
    println!(
        "\nDone. Open these:\n  the mixed session (REAPER): {}\n  the report (a browser):     {}\n  the mix as audio:           {}\n  the reference it matched:   {}\nThe original session {} is untouched.",
        out.display(),
        html.display(),
        preview.display(),
        report.reference.display(),
        report.session.display()
    );
    Ok(0)
}
