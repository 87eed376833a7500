//! `premix predictor`: the stage-2 predictor's training data and its
//! evaluation (issue 11, part 3).
//!
//! - `data` generates songs (`premix generate`), runs stage 1 on each to get
//!   its stems exactly as `premix mix` does, and mixes each song's stems with
//!   random console settings (Diff-MST's self-supervision): one JSON line per
//!   mix with the model's input tokens and the settings as the target.
//!   `scripts/dev/train_predictor.py` trains on that file.
//! - `eval` does the same on songs of other seeds (held out), then fits the
//!   console to each mix from the priors and from the model's prediction
//!   with a range of iteration budgets, and reports the losses: whether the
//!   predictor-initialised fit reaches the prior-initialised fit's final
//!   loss with a third of the iterations, and what the prediction alone
//!   (no fit) scores against the equal-loudness baseline.

use super::mix;
use crate::generate::rng::Rng;
use crate::generate::{generate, GenerateConfig};
use crate::mix::console::{render, Stem, StereoBuffer};
use crate::mix::fit::{fit_from, FitConfig, Prepared, StartPoint};
use crate::mix::style::Features;
use crate::ml::predictor::{random_start, rows_from_start, Inputs, Predictor};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write training data: songs × random console settings, as JSON lines.
    Data(DataArgs),
    /// Compare prior- and predictor-initialised fits on held-out songs.
    Eval(EvalArgs),
}

#[derive(Debug, clap::Args)]
struct Songs {
    /// Number of generated songs.
    #[arg(long, default_value_t = 100)]
    songs: usize,
    /// First seed (song i uses seed + i).
    #[arg(long, default_value_t = 1_000)]
    seed: u64,
    /// Fewest tracks in a song.
    #[arg(long, default_value_t = 8)]
    min_tracks: usize,
    /// Most tracks in a song.
    #[arg(long, default_value_t = 32)]
    max_tracks: usize,
    /// Length of each song, seconds.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
}

#[derive(Debug, clap::Args)]
struct DataArgs {
    #[command(flatten)]
    songs: Songs,
    /// Random console settings per song.
    #[arg(long, default_value_t = 16)]
    settings: usize,
    /// Also, per song, fit the console to other mixes (the song's own
    /// generator reference and this many earlier songs' references) and
    /// record the fitted settings as the target: what the fit finds for
    /// references that no setting of these stems reproduces.
    #[arg(long, default_value_t = 0)]
    fitted: usize,
    /// Output file (JSON lines).
    #[arg(long, short)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    #[command(flatten)]
    songs: Songs,
    /// The model (default: the shipped one, found as `premix mix` finds it).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Also write one JSON line per song and budget here.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<u8> {
    match args.command {
        Command::Data(a) => data(&a),
        Command::Eval(a) => eval(&a),
    }
}

/// One generated song's stage-1 stems, as `premix mix` makes them, and the
/// generator's reference mix (another arrangement at another tempo).
fn song_stems(songs: &Songs, i: usize) -> Result<(Vec<Stem>, StereoBuffer)> {
    let seed = songs.seed + i as u64;
    let mut rng = Rng::stream(seed, 0x5eed);
    let tracks = songs.min_tracks + rng.below(songs.max_tracks - songs.min_tracks + 1);
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let cfg = GenerateConfig {
        tracks,
        seconds: songs.seconds,
        seed,
        ..GenerateConfig::default()
    };
    let report = generate(&cfg, dir.path(), &|_, _| {})
        .with_context(|| format!("song {i}: cannot generate"))?;
    let margs = mix::Args {
        dry_run: true,
        keep_stems: true,
        ..mix::Args::new(report.session.clone())
    };
    let stems = mix::execute(&margs, true)?.stems;
    let rate = stems.first().map_or(48_000, |s| s.audio.sample_rate);
    let reference = super::stage2::load_reference(&report.reference, rate)?;
    Ok((stems, reference))
}

fn check_songs(s: &Songs) -> Result<()> {
    if s.min_tracks == 0 || s.max_tracks < s.min_tracks {
        bail!("--min-tracks must be at least 1 and at most --max-tracks");
    }
    Ok(())
}

/// Random console `k` for the song of seed `seed`, held inside the fit's
/// bounds.
fn random_mix(prep: &Prepared, stems: &[Stem], seed: u64, k: usize) -> StartPoint {
    let classes: Vec<_> = stems.iter().map(|s| s.class).collect();
    let active: Vec<bool> = prep.stem_lufs().iter().map(Option::is_some).collect();
    let mut rng = Rng::stream(seed, 1 + k as u64);
    prep.clamped(&random_start(&classes, &active, &mut rng))
}

/// Song ids of fitted examples start here.
const FITTED_SONGS: usize = 1_000_000;

#[derive(Serialize)]
struct Example<'a> {
    song: usize,
    stems: usize,
    tokens: &'a [f32],
    target: &'a [f32],
}

fn data(a: &DataArgs) -> Result<u8> {
    check_songs(&a.songs)?;
    let cfg = FitConfig::default();
    // Written at the end in one go (a failure leaves no partial file).
    let mut out: Vec<u8> = Vec::new();
    let bar = super::progress::bar(a.songs.songs as u64, "songs");
    let mut examples = 0usize;
    let mut others: Vec<StereoBuffer> = Vec::new();
    for i in 0..a.songs.songs {
        let (stems, generated) = song_stems(&a.songs, i)?;
        let Ok(prep) = Prepared::new(&stems, &cfg) else {
            bar.println(format!("song {i}: silent stems, skipped"));
            continue;
        };
        let context = Inputs::new(&stems, &prep);
        let seed = a.songs.seed + i as u64;
        // One JSON line: the model's input for the mix with features `rf`,
        // and the settings `start` as the target.
        let line = |song: usize, rf: &Features, start: &StartPoint| {
            serde_json::to_string(&Example {
                song,
                stems: stems.len(),
                tokens: &context.tokens(rf, &cfg),
                target: &rows_from_start(start, &context.prior),
            })
        };
        let mut lines: Vec<String> = (0..a.settings)
            .into_par_iter()
            .map(|k| {
                let start = random_mix(&prep, &stems, seed, k);
                line(i, &prep.measure(&prep.params_at(&start)), &start)
            })
            .collect::<Result<_, _>>()?;
        if a.fitted > 0 {
            // Fitted examples: song ids from FITTED_SONGS, so a batch holds
            // one kind; `id % FITTED_SONGS` is the song.
            let refs: Vec<&StereoBuffer> = std::iter::once(&generated)
                .chain(others.iter().rev().take(a.fitted))
                .collect();
            let fitted: Vec<String> = refs
                .par_iter()
                .filter_map(|r| fit_from(&stems, r, &cfg, None).ok())
                // The fit measured the reference already.
                .map(|f| line(FITTED_SONGS + i, &f.report.reference_features, &f.start))
                .collect::<Result<_, _>>()?;
            lines.extend(fitted);
            others.push(generated);
            if others.len() > a.fitted {
                others.remove(0);
            }
        }
        for l in lines {
            writeln!(out, "{l}")?;
            examples += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    crate::output::write_atomic(&a.output, &out, None, true)?;
    eprintln!(
        "premix predictor: {examples} examples from {} songs in {}",
        a.songs.songs,
        a.output.display()
    );
    Ok(0)
}

/// L-BFGS iterations of the first round the evaluation tries (later rounds
/// get fewer, as `fit` spends them; 120 is the default).
const BUDGETS: [usize; 5] = [1, 4, 13, 40, 120];

/// The two kinds of held-out case.
const CASES: [&str; 2] = ["self", "generator"];

#[derive(Serialize)]
struct EvalRow {
    song: usize,
    stems: usize,
    /// `self`: the reference is a random mix of the song's own stems (the
    /// training task); `generator`: the generator's reference mix of the
    /// song (another arrangement, tempo and balance).
    case: &'static str,
    init: &'static str,
    /// Total L-BFGS iterations allowed over all rounds.
    iterations: usize,
    evaluations: usize,
    loss_equal_loudness: f64,
    loss_start: f64,
    loss_final: f64,
}

/// L-BFGS iterations a fit with `cfg` is allowed (as `fit` spends them).
fn iterations_of(cfg: &FitConfig) -> usize {
    (0..cfg.rounds)
        .map(|r| (2 * cfg.iterations / (r + 2)).max(1))
        .sum()
}

fn eval(a: &EvalArgs) -> Result<u8> {
    check_songs(&a.songs)?;
    let predictor = match &a.model {
        Some(p) => {
            let env = crate::ml::runtime::runtime()?;
            std::sync::Arc::new(Predictor::load(&env, p)?)
        }
        None => Predictor::shared()?,
    };
    eprintln!("premix predictor: model {}", predictor.path().display());
    let base = FitConfig::default();
    let mut rows = Vec::new();
    let bar = super::progress::bar(a.songs.songs as u64, "songs");
    for i in 0..a.songs.songs {
        let (stems, generated) = song_stems(&a.songs, i)?;
        let Ok(prep) = Prepared::new(&stems, &base) else {
            continue;
        };
        let truth = random_mix(&prep, &stems, a.songs.seed + i as u64, 0);
        let own = render(&stems, &prep.params_at(&truth));
        for (case, reference) in CASES.into_iter().zip([&own, &generated]) {
            let rf = crate::mix::fit::reference_features(reference, &base);
            let start = predictor.start_for(&stems, &prep, &rf, &base)?;
            for &b in &BUDGETS {
                let cfg = FitConfig {
                    iterations: b,
                    ..base.clone()
                };
                for (init, st) in [("prior", None), ("model", Some(&start))] {
                    let r = fit_from(&stems, reference, &cfg, st)?;
                    rows.push(EvalRow {
                        song: i,
                        stems: stems.len(),
                        case,
                        init,
                        iterations: iterations_of(&cfg),
                        evaluations: r.report.rounds.iter().map(|x| x.evaluations).sum(),
                        loss_equal_loudness: r.report.loss_before,
                        loss_start: r.report.loss_initial,
                        loss_final: r.report.loss_after,
                    });
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(p) = &a.json {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        );
        for r in &rows {
            writeln!(f, "{}", serde_json::to_string(r)?)?;
        }
    }
    let mut out = std::io::stdout().lock();
    for case in CASES {
        print_summary(&rows, case, &mut out)?;
    }
    Ok(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    crate::analysis::pitch::median(&mut v).unwrap_or(f64::NAN)
}

fn print_summary(rows: &[EvalRow], case: &str, out: &mut dyn Write) -> Result<()> {
    let rows: Vec<&EvalRow> = rows.iter().filter(|r| r.case == case).collect();
    let mut songs: Vec<usize> = rows.iter().map(|r| r.song).collect();
    songs.dedup();
    let full = *BUDGETS.last().expect("budgets");
    let find = |song: usize, init: &str, b: usize| {
        let its = iterations_of(&FitConfig {
            iterations: b,
            ..FitConfig::default()
        });
        rows.iter()
            .find(|r| r.song == song && r.init == init && r.iterations == its)
    };
    let med = |init: &str, b: usize, f: &dyn Fn(&EvalRow) -> f64| {
        median(
            songs
                .iter()
                .filter_map(|&s| find(s, init, b))
                .map(|r| f(r))
                .collect(),
        )
    };
    writeln!(out, "\ncase `{case}`: {} held-out songs", songs.len())?;
    writeln!(
        out,
        "median AF loss: equal loudness {:.5}, prior start {:.5}, model start (prediction alone) {:.5}",
        med("prior", full, &|r| r.loss_equal_loudness),
        med("prior", full, &|r| r.loss_start),
        med("model", full, &|r| r.loss_start),
    )?;
    writeln!(
        out,
        "| iterations | median loss, prior init | median loss, model init | songs where model init ≤ prior init's loss at {} iterations |",
        iterations_of(&FitConfig::default())
    )?;
    writeln!(out, "|---|---|---|---|")?;
    for &b in &BUDGETS {
        let reached = songs
            .iter()
            .filter(|&&s| match (find(s, "model", b), find(s, "prior", full)) {
                (Some(m), Some(p)) => m.loss_final <= p.loss_final,
                _ => false,
            })
            .count();
        let its = iterations_of(&FitConfig {
            iterations: b,
            ..FitConfig::default()
        });
        writeln!(
            out,
            "| {its} | {:.5} | {:.5} | {reached}/{} |",
            med("prior", b, &|r| r.loss_final),
            med("model", b, &|r| r.loss_final),
            songs.len()
        )?;
    }
    Ok(())
}
