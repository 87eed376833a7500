//! `premix mix`: the whole pipeline on one session: read, analyse, group,
//! stage 1, stage 2 (with `--reference`), and write the mix into a new
//! session file beside the input.

use super::progress;
use super::stage2::Init;
use crate::analysis::session::{analyze_session, RunOptions, TrackAnalysis};
use crate::analysis::{Band, Config};
use crate::audio::cache::MediaCache;
use crate::balance::stems::{render_stems, write_stems, Stem};
use crate::balance::{balance, BalanceConfig, Measure};
use crate::group::{assign, GroupConfig, Grouping};
use crate::output::{write_atomic, write_wav};
use crate::plan::MixPlan;
use crate::session::{self, Session};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session to mix (.RPP, .als or .aaf).
    pub session: PathBuf,
    /// A reference mix (WAV, FLAC, MP3, ...) whose style stage 2 matches.
    /// Without it, stage 2 is skipped and stage 1 alone is written.
    #[arg(long, short)]
    pub reference: Option<PathBuf>,
    /// Output session (default: NAME.premix.RPP beside the input).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    /// A Lua file with grouping hooks (`group(track)`, `groups(session)`).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Ignore the session's folders when grouping.
    #[arg(long)]
    pub ignore_folders: bool,
    /// Loudness measure stage 1 balances. `perceptual` (the default) is a
    /// fast ISO 532-1 estimate: on generated sessions it leaves the least
    /// loudness difference inside groups by ISO 532-1 (BENCHMARKS.md).
    #[arg(long, value_enum, default_value_t = Measure::Perceptual)]
    pub loudness: Measure,
    /// F0 estimator for the refined loudness: pyin, neural (CREPE tiny
    /// through ONNX Runtime) or ensemble. Without ONNX Runtime, a notice and pYIN.
    #[arg(long, value_enum, default_value_t = crate::ml::f0::F0Estimator::Pyin)]
    pub f0: crate::ml::f0::F0Estimator,
    /// Add the per-class level offsets of the knowledge-engineering table.
    #[arg(long)]
    pub class_offsets: bool,
    /// Write each group's stage-1 stem as WAV into this folder.
    #[arg(long)]
    pub stems: Option<PathBuf>,
    /// Render the mix premix made to this WAV file.
    #[arg(long)]
    pub preview: Option<PathBuf>,
    /// Write a self-contained HTML report (plots of every decision).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the MixPlan as JSON on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Decide everything, write nothing (the plan goes to stdout).
    #[arg(long)]
    pub dry_run: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// AAF: write track gain into each clip's gain instead of a track-level
    /// (slot) gain, for applications that ignore track gain on import.
    #[arg(long)]
    pub aaf_clip_gain: bool,
    /// Where the stage-2 fit starts: the learned predictor's guess (model:
    /// on held-out songs it starts 2.3× closer to the reference and ends
    /// lower, BENCHMARKS.md; without ONNX Runtime, a notice and the priors)
    /// or the class priors.
    #[arg(long, value_enum, default_value_t = Init::Model)]
    pub init: Init,
    /// Keep the stage-1 stems in the outcome (for `premix predictor`).
    #[arg(skip)]
    pub keep_stems: bool,
}

impl Args {
    /// `premix mix SESSION` with every option at its default.
    pub fn new(session: PathBuf) -> Args {
        Args {
            session,
            reference: None,
            output: None,
            force: false,
            rules: None,
            ignore_folders: false,
            loudness: Measure::Perceptual,
            class_offsets: false,
            f0: crate::ml::f0::F0Estimator::Pyin,
            stems: None,
            preview: None,
            report: None,
            json: false,
            dry_run: false,
            jobs: None,
            aaf_clip_gain: false,
            init: Init::Model,
            keep_stems: false,
        }
    }
}

/// The output path: explicit, or `NAME.premix.<ext>` beside the input.
pub fn default_output(session: &Path) -> PathBuf {
    let stem = session
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session".into());
    let ext = session
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "RPP".into());
    session.with_file_name(format!("{stem}.premix.{ext}"))
}

/// What one mix did, for the caller to print.
pub struct Outcome {
    /// The written session (none for `--dry-run`).
    pub output: Option<PathBuf>,
    pub plan: MixPlan,
    /// The human summary: groups, gains, buses, what was written.
    pub summary: String,
    /// Warnings from reading, analysis and writing.
    pub warnings: Vec<String>,
    /// Wall-clock seconds of each step, in order (for `premix bench`).
    pub timings: Vec<(&'static str, f64)>,
    /// The stage-1 stems, when `keep_stems` asked for them.
    pub stems: Vec<crate::mix::console::Stem>,
}

pub fn run(args: Args) -> Result<u8> {
    let o = execute(&args, false)?;
    let mut out = std::io::stdout().lock();
    if args.json || args.dry_run {
        serde_json::to_writer_pretty(&mut out, &o.plan)?;
        writeln!(out)?;
    } else {
        out.write_all(o.summary.as_bytes())?;
    }
    for w in &o.warnings {
        eprintln!("premix: warning: {w}");
    }
    Ok(0)
}

/// Runs the whole mix for `args`. With `quiet`, nothing goes to stderr
/// (batch mode collects the outcome instead).
pub fn execute(args: &Args, quiet: bool) -> Result<Outcome> {
    let say = |msg: String| {
        if !quiet {
            eprintln!("premix: {msg}");
        }
    };
    let out_path = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.session));
    // Refuse early, before minutes of analysis, if the write would fail.
    if !args.dry_run {
        if crate::output::same_file(&out_path, &args.session) {
            bail!(
                "{}: refusing to overwrite the input session",
                out_path.display()
            );
        }
        let is_aaf = args
            .session
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("aaf"));
        let sidecars: Vec<PathBuf> = if is_aaf {
            vec![
                out_path.with_extension("json"),
                out_path.with_extension("html"),
            ]
        } else {
            Vec::new()
        };
        for p in std::iter::once(&out_path)
            .chain(args.preview.iter().chain(&args.report))
            .chain(&sidecars)
        {
            if p.exists() && !args.force {
                bail!(
                    "{}: already exists (use --force to replace it)",
                    p.display()
                );
            }
        }
    }
    let mut clock = Clock::start();
    let session = session::read(&args.session)?;
    clock.lap("read");
    let rules = args
        .rules
        .as_deref()
        .map(super::groups::read_rules)
        .transpose()?;

    // Analysis.
    let rate = session
        .sample_rate
        .unwrap_or(crate::analysis::session::DEFAULT_RATE);
    let mut cfg = Config {
        f0: args.f0,
        ..Config::default()
    };
    if args.loudness == Measure::Centroid {
        cfg.refined.band = Band::Centroid;
    }
    let opts = RunOptions {
        threads: args.jobs,
        ..RunOptions::default()
    };
    say(format!("analysing {} tracks ...", session.tracks.len()));
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        progress::bar(session.tracks.len() as u64, "tracks")
    };
    let analysis = analyze_session(&session, &cfg, &opts, &|t: &TrackAnalysis| {
        bar.set_message(t.name.clone());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let mut warnings: Vec<String> = session.warnings.iter().map(|w| w.message.clone()).collect();
    warnings.extend(analysis.warnings.iter().cloned());
    for t in &analysis.tracks {
        if let Some(e) = &t.error {
            warnings.push(e.clone());
        }
    }

    clock.lap("analysis");

    // Grouping.
    let features: Vec<Option<crate::analysis::Features>> = analysis
        .tracks
        .iter()
        .map(|t| t.error.is_none().then(|| t.analysis.features.clone()))
        .collect();
    let gcfg = GroupConfig {
        ignore_folders: args.ignore_folders,
        script: rules,
        ..GroupConfig::default()
    };
    let grouping = assign(&session, &features, &gcfg).with_context(|| {
        format!(
            "{}: grouping failed",
            args.rules.as_deref().unwrap_or(&args.session).display()
        )
    })?;

    clock.lap("grouping");

    // Stage 1.
    let bcfg = BalanceConfig {
        measure: args.loudness,
        class_offsets: args.class_offsets,
        ..BalanceConfig::default()
    };
    let stage1 = balance(&session, &grouping, &analysis.tracks, &bcfg);
    let mut plan = MixPlan::from_stage1(args.session.display().to_string(), rate, &stage1);
    plan.warnings = warnings;

    clock.lap("stage 1");

    // Stems (stage 2, --stems and --preview need them).
    let need_stems = args.reference.is_some()
        || args.stems.is_some()
        || args.preview.is_some()
        || args.keep_stems;
    let mut stems = if need_stems {
        say(format!(
            "rendering {} group stems ...",
            grouping.groups.len()
        ));
        let (stems, w) = stems_for(&session, &grouping, &stage1, rate);
        plan.warnings.extend(w);
        for (g, s) in plan.groups.iter_mut().zip(&stems) {
            g.stem_lufs = stem_lufs(s);
        }
        stems
    } else {
        Vec::new()
    };
    if let Some(dir) = &args.stems {
        write_stems(&stems, dir)
            .with_context(|| format!("{}: cannot write stems", dir.display()))?;
    }

    clock.lap("stems");

    // Stage 2.
    let mut report_data = crate::report::ReportData::default();
    let mut mix_audio: Option<crate::mix::console::StereoBuffer> = None;
    let silent = stems
        .iter()
        .all(|s| s.left.iter().chain(&s.right).all(|x| *x == 0.0));
    if let (Some(ref_path), true) = (&args.reference, silent) {
        // Nothing to fit: say so and write stage 1 (the corpus's projects
        // without their media, say), rather than fail the whole run.
        plan.warnings.push(format!(
            "stage 2 skipped: the session plays no audio (missing media?), so there is nothing to match to {}",
            ref_path.display()
        ));
    } else if let Some(ref_path) = &args.reference {
        say(format!("fitting the console to {} ...", ref_path.display()));
        let reference = super::stage2::load_reference(ref_path, rate)?;
        // Stage 1's stems are not needed after this: move, do not copy.
        let cstems = super::stage2::console_stems(std::mem::take(&mut stems));
        match super::stage2::run(&mut plan, &cstems, ref_path, &reference, args.init) {
            Ok((params, data)) => {
                report_data = data;
                if args.preview.is_some() {
                    mix_audio = Some(super::stage2::render_mix(&cstems, &params));
                }
            }
            // Audio too short or too quiet for the style features (under a
            // 400 ms loudness block, say): stage 1 stands, with a warning.
            Err(e)
                if e.chain().any(|c| {
                    matches!(
                        c.downcast_ref::<crate::mix::fit::FitError>(),
                        Some(crate::mix::fit::FitError::SilentStems)
                    )
                }) =>
            {
                plan.warnings.push(format!(
                    "stage 2 skipped: the stems are too short or too quiet to measure against {}",
                    ref_path.display()
                ));
                if args.preview.is_some() {
                    let neutral = crate::mix::console::ConsoleParams::neutral(&cstems);
                    mix_audio = Some(super::stage2::render_mix(&cstems, &neutral));
                }
            }
            Err(e) => return Err(e),
        }
    }

    if args.reference.is_some() {
        clock.lap("stage 2");
    }

    let kept = if args.keep_stems && args.reference.is_none() {
        // The preview still needs them; otherwise move, do not copy.
        let taken = if args.preview.is_some() {
            stems.clone()
        } else {
            std::mem::take(&mut stems)
        };
        super::stage2::console_stems(taken)
    } else {
        Vec::new()
    };

    // Output.
    if args.dry_run {
        let mut summary = Vec::new();
        summary_text(&mut summary, &plan, &grouping, None)?;
        return Ok(Outcome {
            output: None,
            warnings: plan.warnings.clone(),
            summary: String::from_utf8_lossy(&summary).into_owned(),
            plan,
            timings: clock.laps,
            stems: kept,
        });
    }
    let (bytes, report) = crate::writeback::write_session(
        &session,
        &plan.edits(),
        seed_of(&args.session),
        &crate::writeback::WriteOptions {
            aaf_clip_gain: args.aaf_clip_gain,
        },
    )?;
    if let Some(p) = &args.preview {
        match &mix_audio {
            Some(m) => write_wav(
                p,
                &m.left,
                &m.right,
                m.sample_rate,
                Some(&args.session),
                args.force,
            )?,
            None => write_preview(&stems, p, &args.session, args.force)?,
        }
    }
    // AAF carries gains and pans only: the rest of the mix travels beside
    // it, as the plan (JSON) and the report, unless asked elsewhere.
    let sidecars = (session.format == session::Format::Aaf).then(|| {
        (
            out_path.with_extension("json"),
            args.report
                .clone()
                .unwrap_or_else(|| out_path.with_extension("html")),
        )
    });
    if let Some(p) = args.report.as_ref().or(sidecars.as_ref().map(|s| &s.1)) {
        let html = crate::report::render_html(&plan, &report_data);
        write_atomic(p, html.as_bytes(), Some(&args.session), args.force)?;
    }
    if let Some((json, _)) = &sidecars {
        let text = serde_json::to_string_pretty(&plan)?;
        write_atomic(json, text.as_bytes(), Some(&args.session), args.force)?;
    }
    write_atomic(&out_path, &bytes, Some(&args.session), args.force)?;
    clock.lap("write");
    let mut summary = Vec::new();
    summary_text(&mut summary, &plan, &grouping, Some(&out_path))?;
    if let Some((json, html)) = &sidecars {
        writeln!(
            summary,
            "AAF carries gain and pan only: groups, EQ and compression are in {} and {} (and as premix comments in the file)",
            json.display(),
            html.display()
        )?;
    }
    for n in &report.notes {
        writeln!(summary, "  {n}")?;
    }
    let mut warnings = plan.warnings.clone();
    warnings.extend(report.warnings);
    Ok(Outcome {
        output: Some(out_path),
        plan,
        summary: String::from_utf8_lossy(&summary).into_owned(),
        warnings,
        timings: clock.laps,
        stems: kept,
    })
}

/// Wall-clock laps of the pipeline's steps.
struct Clock {
    last: std::time::Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, what: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((what, (now - self.last).as_secs_f64()));
        self.last = now;
    }
}

fn stems_for(
    session: &Session,
    grouping: &Grouping,
    stage1: &crate::balance::Balance,
    rate: u32,
) -> (Vec<Stem>, Vec<String>) {
    let cache = MediaCache::new(rate, std::iter::empty::<std::iter::Empty<&Path>>(), 0);
    render_stems(session, grouping, stage1, rate, &cache)
}

fn stem_lufs(s: &Stem) -> Option<f64> {
    let mut m = ebur128::EbuR128::new(2, s.sample_rate, ebur128::Mode::I).ok()?;
    m.add_frames_planar_f32(&[&s.left, &s.right]).ok()?;
    let l = m.loudness_global().ok()?;
    l.is_finite().then_some(l)
}

/// Sums the stems into a stereo WAV (stage 1 only).
fn write_preview(stems: &[Stem], path: &Path, input: &Path, force: bool) -> Result<()> {
    let Some(first) = stems.first() else {
        bail!("{}: nothing to preview (no stems)", path.display());
    };
    let n = first.left.len();
    let mut left = vec![0f32; n];
    let mut right = vec![0f32; n];
    for s in stems {
        for i in 0..n {
            left[i] += s.left[i];
            right[i] += s.right[i];
        }
    }
    write_wav(path, &left, &right, first.sample_rate, Some(input), force)
}

/// A seed for the GUIDs of new tracks and plugins: the session's file name,
/// so re-runs on the same file mint the same GUIDs.
fn seed_of(path: &Path) -> u64 {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // FNV-1a.
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn summary_text(
    out: &mut impl Write,
    plan: &MixPlan,
    grouping: &Grouping,
    path: Option<&Path>,
) -> Result<()> {
    writeln!(
        out,
        "premix: {} groups, {} tracks balanced by {}",
        plan.groups.len(),
        plan.tracks.len(),
        plan.measure.as_str()
    )?;
    for g in &plan.groups {
        writeln!(
            out,
            "  {:<16} {:>2} tracks  spread {:>5}  stem {}",
            g.stage1.name,
            g.stage1.tracks.len(),
            g.stage1
                .spread_lu
                .map_or("-".into(), |s| format!("{s:.1} LU")),
            g.stem_lufs.map_or("-".into(), |l| format!("{l:.1} LUFS")),
        )?;
        for t in plan.tracks.iter().filter(|t| t.group == g.stage1.name) {
            writeln!(
                out,
                "    {:<24} {:>+6.1} dB  {}",
                t.name,
                t.change_db,
                t.reasons.join("; ")
            )?;
        }
    }
    if let Some(s2) = &plan.stage2 {
        writeln!(
            out,
            "stage 2: style loss {:.4} -> {:.4} ({:.0}% of the equal-loudness sum's) against {}",
            s2.loss_before,
            s2.loss_after,
            100.0 * s2.loss_after / s2.loss_before.max(1e-12),
            s2.reference
        )?;
        for g in &plan.groups {
            let b = &g.bus;
            writeln!(
                out,
                "  bus {:<14} {:+6.1} dB  pan {:+.2}  {} EQ band(s){}",
                g.stage1.name,
                b.gain_db,
                b.pan,
                b.eq.len(),
                b.comp.as_ref().map_or(String::new(), |c| format!(
                    ", comp {:.1} dB {:.1}:1",
                    c.threshold_db, c.ratio
                ))
            )?;
        }
    }
    for s in &grouping.skipped {
        writeln!(out, "  skipped: {} ({})", s.name, s.reason)?;
    }
    if let Some(path) = path {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}
