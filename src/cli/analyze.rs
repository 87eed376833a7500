//! `premix analyze`: measure every track of a session, or audio files, and
//! print the features as a table or JSON.
//!
//! What odd input gives (each track or file independently; the others are
//! analysed as usual, and the exit code is 1 when any failed):
//!
//! | input | result |
//! |---|---|
//! | truncated file (shorter than its header says) | `error`: "truncated: the header promises N frames, only M could be decoded", naming the file (and the track) |
//! | corrupt data, unknown format, zero-length file | `error` naming the file: "corrupt audio data", "not a supported audio file", "empty file (0 bytes)" |
//! | wrong extension (a WAV named `.mp3`) | decoded by content, with a warning |
//! | more than 2 channels | folded to stereo (front L/R at unity, centre and surrounds at −3 dB, LFE dropped; unpositioned channels alternate L/R), with a warning |
//! | shorter than 400 ms (down to 1 sample) | loudness over the whole signal instead of gated blocks, with a warning; no LRA |
//! | NaN or infinite samples | replaced by silence, counted in a warning |
//! | silence | `null` loudness, peaks and spectrum (never −inf) |
//! | no F0 (noise, drums, too little voiced) | `f0_hz` null, `refined_lufs` = `lufs`, with a warning |
//! | clip with play rate ≠ 1, pitch shift or reversed | measured at rate 1, unshifted, forwards, with a warning naming the clip |

use crate::analysis::session::{
    analyze_files, analyze_session, RunOptions, SessionAnalysis, TrackAnalysis,
};
use crate::analysis::{Band, Config, RefinedConfig};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Which band the refined loudness uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BandArg {
    /// High-pass at LOW×F0, low-pass at HIGH×F0 (the seed paper's measure).
    F0,
    /// Centroid ± bandwidth/2 (the paper's experimental variant).
    Centroid,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A session file (.RPP, .als, .aaf), or one or more audio files (WAV, AIFF, FLAC,
    /// MP3, OGG). Files are measured at their own rate, a mono file as dual
    /// mono (as it plays on a stereo bus).
    #[arg(required = true, value_name = "SESSION|AUDIO")]
    pub inputs: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Band of the refined loudness.
    #[arg(long, value_enum, default_value = "f0")]
    pub band: BandArg,
    /// High-pass cut-off of the F0 band, as a multiple of F0.
    #[arg(long, default_value_t = 2.0, value_name = "LOW")]
    pub band_low: f64,
    /// Low-pass cut-off of the F0 band, as a multiple of F0.
    #[arg(long, default_value_t = 4.0, value_name = "HIGH")]
    pub band_high: f64,
    /// Butterworth order of the refined-loudness filters (1 = 6 dB/octave,
    /// the paper's).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub order: u32,
    /// Worker threads (tracks analysed at once); default: one per core.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Use every active frame for the spectral and F0 statistics instead of a
    /// bounded sample (slower on long tracks, same numbers within 1 %).
    #[arg(long)]
    pub full_stats: bool,
    /// F0 estimator: pyin, neural (CREPE tiny through ONNX Runtime) or
    /// ensemble (both, frame by frame). Without ONNX Runtime, a notice and pYIN.
    #[arg(long, value_enum, default_value_t = crate::ml::f0::F0Estimator::Pyin)]
    pub f0: crate::ml::f0::F0Estimator,
    /// Print the wall time and throughput on stderr when done.
    #[arg(long)]
    pub timing: bool,
}

/// `premix analyze --json` (schema 1).
#[derive(Serialize)]
struct Report<'a> {
    schema: u32,
    /// The session file, when one was analysed.
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<String>,
    /// Rate tracks were rendered at; null when files were measured at their
    /// own rates.
    sample_rate: Option<u32>,
    /// Per track: `index`, `name`, the features (`lufs`, `refined_lufs`,
    /// `f0_hz`, ..., `iso532_phon` — ISO 532-1 N5 loudness level at
    /// −20 dBFS RMS = 83 dB SPL —, `perceptual_lufs` — the fast estimator,
    /// as the LUFS of the equally loud dual-mono 1 kHz tone),
    /// `refined_band_hz`, `duration_s`, `warnings`, `error`.
    tracks: &'a [TrackAnalysis],
    warnings: &'a [String],
}

pub fn run(args: Args) -> Result<u8> {
    if !(args.band_low > 0.0 && args.band_high > args.band_low) {
        bail!(
            "--band-low ({}) must be positive and below --band-high ({})",
            args.band_low,
            args.band_high
        );
    }
    let cfg = Config {
        refined: RefinedConfig {
            band: match args.band {
                BandArg::F0 => Band::F0 {
                    low_mult: args.band_low,
                    high_mult: args.band_high,
                },
                BandArg::Centroid => Band::Centroid,
            },
            order: args.order,
        },
        f0: args.f0,
        max_slots: if args.full_stats {
            None
        } else {
            Config::default().max_slots
        },
        ..Config::default()
    };
    let opts = RunOptions {
        threads: args.threads,
        ..RunOptions::default()
    };
    let is_session = |p: &PathBuf| {
        p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["rpp", "als", "aaf"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        })
    };
    let session_path = match args.inputs.as_slice() {
        [one] if is_session(one) => Some(one.clone()),
        many => {
            if let Some(s) = many.iter().find(|p| is_session(p)) {
                bail!(
                    "{}: give one session, or audio files only, not both",
                    s.display()
                );
            }
            None
        }
    };
    let session = session_path
        .as_ref()
        .map(|p| {
            crate::session::read(p).with_context(|| format!("{}: cannot read session", p.display()))
        })
        .transpose()?;
    let n_tracks = session
        .as_ref()
        .map_or(args.inputs.len(), |s| s.tracks.len());
    let bar = if std::io::stderr().is_terminal() {
        let bar =
            ProgressBar::with_draw_target(Some(n_tracks as u64), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} tracks {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = |t: &TrackAnalysis| {
        bar.set_message(t.name.clone());
        bar.inc(1);
    };
    let started = Instant::now();
    let result: SessionAnalysis = match &session {
        Some(s) => analyze_session(s, &cfg, &opts, &progress),
        None => analyze_files(&args.inputs, &cfg, &opts, &progress),
    };
    let wall = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let mut out = std::io::stdout().lock();
    if args.json {
        let report = Report {
            schema: 1,
            session: session_path.map(|p| p.display().to_string()),
            sample_rate: result.sample_rate,
            tracks: &result.tracks,
            warnings: &result.warnings,
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &result)?;
    }
    out.flush()?;
    if args.timing {
        let audio_s: f64 = result.tracks.iter().map(|t| t.analysis.duration_s).sum();
        eprintln!(
            "premix analyze: {} tracks, {:.1} s of audio in {:.2} s wall ({:.0}x real time)",
            result.tracks.len(),
            audio_s,
            wall,
            audio_s / wall.max(1e-9)
        );
    }
    Ok(u8::from(result.has_errors()))
}

fn print_table(out: &mut impl Write, r: &SessionAnalysis) -> Result<()> {
    let f = |v: Option<f64>, prec: usize| v.map_or("-".to_string(), |x| format!("{x:.prec$}"));
    writeln!(
        out,
        "{:>3}  {:<24} {:>7} {:>7} {:>6} {:>7} {:>7} {:>5} {:>7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>6}",
        "#",
        "track",
        "LUFS",
        "refined",
        "phon",
        "percep",
        "F0 Hz",
        "voic",
        "cent Hz",
        "peak",
        "TP",
        "LRA",
        "crest",
        "width",
        "act s"
    )?;
    for t in &r.tracks {
        let a = &t.analysis.features;
        let name: String = t.name.chars().take(24).collect();
        writeln!(
            out,
            "{:>3}  {:<24} {:>7} {:>7} {:>6} {:>7} {:>7} {:>5.2} {:>7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>6.1}",
            t.index,
            name,
            f(a.lufs, 1),
            f(a.refined_lufs, 1),
            f(a.iso532_phon, 1),
            f(a.perceptual_lufs, 1),
            f(a.f0_hz, 1),
            a.voiced_ratio,
            f(a.centroid_hz, 0),
            f(a.peak_dbfs, 1),
            f(a.true_peak_dbtp, 1),
            f(a.lra, 1),
            f(a.crest_db, 1),
            f(a.width, 2),
            a.active_s
        )?;
        if let Some(e) = &t.error {
            writeln!(out, "     error: {e}")?;
        }
        for w in &t.analysis.warnings {
            writeln!(out, "     warning: {w}")?;
        }
    }
    for w in &r.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}
