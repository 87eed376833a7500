//! `premix bench`: times the whole job on generated material — generate a
//! session and a reference, mix it (every step timed), render the written
//! project — and reports wall time, CPU time and peak memory. The figures in
//! BENCHMARKS.md come from this command (a release build on a quiet
//! machine), never from timed tests.

use super::mix;
use crate::generate::{generate, GenerateConfig};
use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Audio tracks in the generated session.
    #[arg(long, default_value_t = 64)]
    pub tracks: usize,
    /// Length of the session, seconds.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads for the analysis (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Keep the generated files here instead of a temporary folder.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Step {
    step: &'static str,
    wall_s: f64,
}

#[derive(Debug, Serialize)]
struct Figures {
    tracks: usize,
    seconds: f64,
    threads: usize,
    build: &'static str,
    steps: Vec<Step>,
    total_wall_s: f64,
    cpu_s: Option<f64>,
    peak_rss_mb: Option<f64>,
    realtime_factor: f64,
}

pub fn run(args: Args) -> Result<u8> {
    let tmp;
    let dir = match &args.keep {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary folder")?;
            tmp.path().to_owned()
        }
    };
    let cfg = GenerateConfig {
        tracks: args.tracks,
        seconds: args.seconds,
        seed: args.seed,
        ..GenerateConfig::default()
    };
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    eprintln!(
        "premix bench: {} tracks × {} s in {}",
        args.tracks,
        args.seconds,
        dir.display()
    );
    let t = Instant::now();
    let report = generate(&cfg, &dir, &|_, _| {})
        .with_context(|| format!("{}: cannot generate the session", dir.display()))?;
    let mut steps = vec![Step {
        step: "generate",
        wall_s: t.elapsed().as_secs_f64(),
    }];
    let out = dir.join("bench.premix.RPP");
    let preview = dir.join("bench-preview.wav");
    let margs = mix::Args {
        reference: Some(report.reference.clone()),
        output: Some(out.clone()),
        force: true,
        preview: Some(preview),
        jobs: args.jobs,
        ..mix::Args::new(report.session.clone())
    };
    let outcome = mix::execute(&margs, true)?;
    steps.extend(
        outcome
            .timings
            .iter()
            .map(|&(step, wall_s)| Step { step, wall_s }),
    );
    let t = Instant::now();
    let rendered = crate::render::render_file(&out, None)?;
    steps.push(Step {
        step: "render",
        wall_s: t.elapsed().as_secs_f64(),
    });
    let total = start.elapsed().as_secs_f64();
    let mixed: f64 = steps
        .iter()
        .filter(|s| s.step != "generate" && s.step != "render")
        .map(|s| s.wall_s)
        .sum();
    let figures = Figures {
        tracks: args.tracks,
        seconds: rendered.audio.duration_s(),
        threads: args.jobs.unwrap_or_else(rayon::current_num_threads),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        total_wall_s: total,
        cpu_s: cpu0.and_then(|c0| cpu_seconds().map(|c| c - c0)),
        peak_rss_mb: peak_rss_mb(),
        realtime_factor: args.tracks as f64 * args.seconds / mixed.max(1e-9),
        steps,
    };
    let mut o = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut o, &figures)?;
        writeln!(o)?;
        return Ok(0);
    }
    writeln!(
        o,
        "premix bench ({} build, {} threads): {} tracks × {:.0} s",
        figures.build, figures.threads, figures.tracks, figures.seconds
    )?;
    for s in &figures.steps {
        writeln!(o, "  {:<10} {:>8.2} s", s.step, s.wall_s)?;
    }
    writeln!(
        o,
        "  mix total  {mixed:>8.2} s  ({:.0}× real time, track-seconds per second)",
        figures.realtime_factor
    )?;
    if let Some(c) = figures.cpu_s {
        writeln!(o, "  CPU time   {c:>8.2} s (all threads, whole run)")?;
    }
    if let Some(m) = figures.peak_rss_mb {
        writeln!(o, "  peak RSS   {m:>8.0} MB")?;
    }
    Ok(0)
}

/// Process CPU time, user + system, from `/proc/self/stat` (Linux; fields
/// 14 and 15, in clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let f: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    Some((tick(11)? + tick(12)?) / 100.0)
}

/// Peak resident memory, MB, from `/proc/self/status` (`VmHWM`; Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
