//! Command-line interface: one module per subcommand, each with its clap
//! `Args` and a `run` function. Errors are `anyhow` chains whose first
//! element names the file; `main.rs` prints them on one line and exits 2.

use clap::{Parser, Subcommand};

mod analyze;
mod batch;
mod bench;
mod demo;
mod generate;
mod groups;
mod inspect;
mod mix;
mod predictor;
mod progress;
mod render;
mod roundtrip;
mod stage2;

/// premix: a strong first mix of a large DAW session, written back into the
/// session as ordinary, editable settings.
#[derive(Debug, Parser)]
#[command(name = "premix", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the session model: tracks, folders, volumes, pans, clips and media.
    Inspect(inspect::Args),
    /// Measure every track (loudness, peaks, spectrum, F0, refined loudness).
    Analyze(analyze::Args),
    /// Group the tracks into stems: each group's tracks with role, class and why.
    Groups(groups::Args),
    /// Parse a session and write it back without edits (a losslessness check).
    Roundtrip(roundtrip::Args),
    /// Write a deterministic synthetic multitrack session and a reference mix.
    Generate(generate::Args),
    /// Generate the demo session and run premix on it.
    Demo(demo::Args),
    /// Mix a session: analyse, group, balance (stage 1), match a reference
    /// (stage 2), and write the mix into a new session file.
    Mix(mix::Args),
    /// Render a session the way premix understands it (faders, pans,
    /// folders, ReaEQ and premix's compressor) into a stereo WAV.
    Render(render::Args),
    /// Mix every session under a folder into its `.premix` sibling, past
    /// failures, with a summary (exit code 1 if any session failed).
    Batch(batch::Args),
    /// Time the whole job on a generated session (generate, mix step by
    /// step, render) and report wall time, CPU time and peak memory.
    Bench(bench::Args),
    /// The stage-2 predictor's training data (`data`) and its evaluation
    /// against prior-initialised fits on held-out songs (`eval`).
    Predictor(predictor::Args),
}

/// Parses `std::env::args`.
pub fn parse() -> Cli {
    Cli::parse()
}

/// Runs a parsed command; the `Ok` value is the process exit code
/// (0 = success, 1 = finished but something was skipped).
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Groups(a) => groups::run(a),
        Command::Analyze(a) => analyze::run(a),
        Command::Roundtrip(a) => roundtrip::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Mix(a) => mix::run(a),
        Command::Render(a) => render::run(a),
        Command::Batch(a) => batch::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Predictor(a) => predictor::run(a),
    }
}

/// `s` cut to at most `n` characters for a table column, with `…` marking
/// the cut.
fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// An error on one line: `<file>: <what>`, the chain joined with ": ",
/// leaving out a cause whose text the message already ends with (errors
/// that print their source inline, as `path: io error` does).
pub fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if msg.ends_with(&s) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s);
    }
    msg
}
