//! Stage 2: fit every console parameter so the mix matches a reference
//! mix's style (the AF features of [`crate::mix::style`]).
//!
//! # Method
//! 1. **Excerpt.** Long songs are measured on a deterministic excerpt
//!    ([`FitConfig::analysis_seconds`] in [`FitConfig::segments`] evenly
//!    spread segments, [`style::analysis_segments`]), the reference on an
//!    excerpt of the same length. Short material is used whole.
//! 2. **Summary.** Each stem is summarised once on a block grid (band powers
//!    of L, R and their cross-spectrum per Bark band, block peaks; see
//!    `fit/surrogate.rs`). On it, a differentiable surrogate of the whole
//!    console predicts the mix's AF features; its gradient is exact
//!    (reverse mode by hand, checked against finite differences).
//! 3. **Optimisation.** L-BFGS minimises surrogate AF loss + priors over
//!    all fitted parameters, each mapped through a sigmoid onto its range,
//!    so every iterate is inside the console's ranges.
//! 4. **Correction on real renders.** Before each round the excerpt is
//!    rendered through the real console with exactly the settings that
//!    would be written, and measured. From that render the surrogate's
//!    mixing exponents are calibrated (how stems' Bark magnitudes and peaks
//!    combine) and the remaining difference between real and surrogate
//!    features is added to the surrogate for the round (defect
//!    correction). The surrogate thus mostly has to get the *slopes*
//!    right; the fixed point matches the real features. The best rendered
//!    round by real loss is returned, so the reported loss is that of a
//!    real render of the returned settings.
//! 5. **Output.** Settings in real units; compressors whose ratio stays
//!    under 1.05 and EQ bands under 0.05 dB are switched off; the output
//!    gain brings the excerpt to the working loudness without exceeding
//!    the true-peak ceiling ([`set_output_level`] does it on the whole
//!    song at the cost of one full render).
//!
//! # What is fitted
//! Per stem: fader, pan, the six EQ band gains, the compressor's threshold
//! and ratio. Master: the six EQ gains, the compressor's threshold, ratio,
//! attack and release (fast master ballistics are how a mastered
//! reference's low crest factor can be approached without a limiter).
//! Fixed: EQ band frequencies and Qs (the console defaults), the stems'
//! compressor knee, attack and release (class defaults,
//! [`prior::class_prior`]), and the stem make-up gain, which is set
//! automatically to give the compressed stem back its energy, so that the
//! fader alone sets a stem's level. The AF features say nothing that would
//! pin down the fixed ones.
//!
//! # Cost
//! With the defaults (a 20 s excerpt in 5 segments, 3 rounds) the fit's
//! work does not grow with song length beyond reading the excerpt: 12 stems
//! of a 4-minute song take about 2.5 s of CPU time (BENCHMARKS.md).
//!
//! # Determinism
//! No randomness and no time seeds; parallel work is collected in a fixed
//! order, so the same inputs give the same plan bit for bit.

mod lbfgs;
pub mod prior;
mod surrogate;

use crate::mix::console::comp::{self, CompParams};
use crate::mix::console::console::{GAIN_RANGE_DB, OUTPUT_GAIN_RANGE_DB};
use crate::mix::console::eq::{EqParams, N_BANDS};
use crate::mix::console::{
    render_range, ConsoleParams, MasterParams, PanLaw, Stem, StereoBuffer, StripParams,
};
use crate::mix::style::{self, Features, LossBreakdown, StyleConfig};
pub use prior::{class_prior, ClassPrior, PriorWeights};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use surrogate::{
    CompFixed, Model, F_CREST, F_IMB, F_MID, F_RMS, F_SIDE, F_WIDTH, M_ATT, M_EQ, M_REL, M_THR,
    M_U, NF, NM, NS, S_EQ, S_GAIN, S_PAN, S_THR, S_U,
};

/// Settings of the fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Feature measurement and loss weights.
    pub style: StyleConfig,
    /// The mix's working loudness, LUFS integrated.
    pub working_lufs: f64,
    /// True-peak ceiling of the mix, dBTP.
    pub max_true_peak_dbtp: f64,
    /// The target DAW's pan law.
    pub pan_law: PanLaw,
    /// Length of the analysis excerpt, s (`None`: the whole song).
    pub analysis_seconds: Option<f64>,
    /// Number of excerpt segments.
    pub segments: usize,
    /// Block hop of the surrogate's summary, frames (the block STFT is
    /// twice as long).
    pub block_hop: usize,
    /// Rounds of optimisation followed by a real render.
    pub rounds: usize,
    /// L-BFGS iterations per round.
    pub iterations: usize,
    /// Whether stem and master compressors are fitted (otherwise bypassed).
    pub fit_compressors: bool,
    /// Prior strengths.
    pub priors: PriorWeights,
}

impl Default for FitConfig {
    fn default() -> FitConfig {
        FitConfig {
            style: StyleConfig::default(),
            working_lufs: -18.0,
            max_true_peak_dbtp: -1.0,
            pan_law: PanLaw::Balance,
            analysis_seconds: Some(20.0),
            segments: 5,
            block_hop: 2048,
            rounds: 3,
            iterations: 120,
            fit_compressors: true,
            priors: PriorWeights::default(),
        }
    }
}

/// Why a fit could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    /// No stems were given.
    #[error("no stems to mix")]
    NoStems,
    /// Stems at different sample rates.
    #[error("stem {name:?} is at {rate} Hz, the first stem at {first} Hz")]
    SampleRateMismatch {
        /// The stem.
        name: String,
        /// Its rate.
        rate: u32,
        /// The first stem's rate.
        first: u32,
    },
    /// The reference has no measurable loudness.
    #[error("the reference mix is silent")]
    SilentReference,
    /// No stem has any signal.
    #[error("every stem is silent")]
    SilentStems,
}

/// One feature's weighted loss before and after the fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureLoss {
    /// Feature name (`rms`, `crest_factor`, `stereo_width`,
    /// `stereo_imbalance`, `bark_spectrum`).
    pub feature: String,
    /// Weighted loss of the equal-loudness sum.
    pub before: f64,
    /// Weighted loss of the fitted mix.
    pub after: f64,
    /// Share of the total before, 0–1.
    pub share_before: f64,
    /// Share of the total after, 0–1.
    pub share_after: f64,
}

/// One optimisation round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    /// AF loss of a real render at the round's starting point.
    pub start_loss: f64,
    /// Surrogate AF loss (with its correction) at the round's end.
    pub surrogate_loss: f64,
    /// Loss and gradient evaluations.
    pub evaluations: usize,
}

/// How the fit went. Every loss is the AF loss of a real render against
/// the reference, measured on the analysis excerpt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Loss of the equal-loudness sum (every stem at the same integrated
    /// loudness, no processing): the baseline.
    pub loss_before: f64,
    /// Where the fit started: `prior` (class levels and pans) or `model`
    /// (a predictor's start point).
    pub init: String,
    /// Loss of the starting point.
    pub loss_initial: f64,
    /// Loss of the fitted mix.
    pub loss_after: f64,
    /// Each feature's share, before and after.
    pub per_feature: Vec<FeatureLoss>,
    /// Prior penalty at the fitted settings.
    pub prior_penalty: f64,
    /// The rounds.
    pub rounds: Vec<RoundReport>,
    /// Seconds of the song the fit analysed.
    pub analysed_seconds: f64,
    /// The reference's features.
    pub reference_features: Features,
    /// The fitted mix's features.
    pub mix_features: Features,
    /// Loudness of the excerpt after the output gain, LUFS.
    pub output_loudness_lufs: Option<f64>,
    /// True peak of the excerpt after the output gain, dBTP.
    pub output_true_peak_dbtp: Option<f64>,
}

/// The fitted console and its report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitResult {
    /// Settings in real units.
    pub params: ConsoleParams,
    /// The fitted settings as a start point (what a predictor learns to
    /// guess).
    pub start: StartPoint,
    /// Losses and diagnostics.
    pub report: FitReport,
}

fn check(stems: &[Stem]) -> Result<u32, FitError> {
    let first = stems.first().ok_or(FitError::NoStems)?.audio.sample_rate;
    for s in stems {
        if s.audio.sample_rate != first {
            return Err(FitError::SampleRateMismatch {
                name: s.name.clone(),
                rate: s.audio.sample_rate,
                first,
            });
        }
    }
    Ok(first)
}

/// The excerpt segments of the stems' timeline.
fn stem_segments(stems: &[Stem], cfg: &FitConfig) -> Vec<(usize, usize)> {
    let sr = stems.first().map_or(48000, |s| s.audio.sample_rate);
    let planes: Vec<&[f32]> = stems
        .iter()
        .flat_map(|s| [&s.audio.left[..], &s.audio.right[..]])
        .collect();
    segments_in_active_range(&planes, sr, cfg)
}

/// The excerpt's segments, spread over the part of the timeline where any
/// of `planes` is not silent: a session whose music starts after a long
/// silence (Pro Tools' one-hour lead-in, say) is measured on its music.
fn segments_in_active_range(planes: &[&[f32]], sr: u32, cfg: &FitConfig) -> Vec<(usize, usize)> {
    // −120 dBFS: below any recorded signal, above float noise.
    const SILENCE: f32 = 1e-6;
    let len = planes.iter().map(|p| p.len()).max().unwrap_or(0);
    let first = planes
        .iter()
        .filter_map(|p| p.iter().position(|x| x.abs() > SILENCE))
        .min();
    let last = planes
        .iter()
        .filter_map(|p| p.iter().rposition(|x| x.abs() > SILENCE))
        .max();
    let (a, b) = match (first, last) {
        (Some(a), Some(b)) if b >= a => (a, b + 1),
        _ => (0, len),
    };
    style::analysis_segments(b - a, sr, cfg.analysis_seconds, cfg.segments)
        .into_iter()
        .map(|(s, n)| (s + a, n))
        .collect()
}

/// Render the excerpt `segments` of the mix (each with up to 0.5 s of
/// pre-roll so filters and compressors have settled), concatenated; returns
/// the audio and the segments' positions in it.
pub fn render_excerpt(
    stems: &[Stem],
    params: &ConsoleParams,
    segments: &[(usize, usize)],
) -> (StereoBuffer, Vec<(usize, usize)>) {
    let sr = stems.first().map_or(48000, |s| s.audio.sample_rate);
    let preroll = sr as usize / 2;
    let mut out = StereoBuffer::new(sr, Vec::new(), Vec::new());
    let mut pos = Vec::with_capacity(segments.len());
    for &(s, n) in segments {
        let part = render_range(stems, params, s, n, preroll);
        pos.push((out.len(), n));
        out.left.extend_from_slice(&part.left);
        out.right.extend_from_slice(&part.right);
    }
    (out, pos)
}

/// The AF features of the mix `params` makes of `stems`, measured on the
/// fit's analysis excerpt.
pub fn measure(stems: &[Stem], params: &ConsoleParams, cfg: &FitConfig) -> Features {
    let segs = stem_segments(stems, cfg);
    let (audio, pos) = render_excerpt(stems, params, &segs);
    style::features_of_segments(
        &audio.left,
        &audio.right,
        audio.sample_rate,
        &pos,
        &cfg.style,
    )
}

/// The AF features of the reference, measured on an excerpt as long as the
/// fit's.
pub fn reference_features(reference: &StereoBuffer, cfg: &FitConfig) -> Features {
    let segs = segments_in_active_range(
        &[&reference.left, &reference.right],
        reference.sample_rate,
        cfg,
    );
    style::features_of_segments(
        &reference.left,
        &reference.right,
        reference.sample_rate,
        &segs,
        &cfg.style,
    )
}

/// Integrated loudness of each stem on the analysis excerpt, LUFS (`None`:
/// silent).
fn stem_loudness(stems: &[Stem], segs: &[(usize, usize)]) -> Vec<Option<f64>> {
    stems
        .par_iter()
        .map(|s| {
            let len = s.audio.len();
            let own: Vec<(usize, usize)> = segs
                .iter()
                .filter(|&&(a, _)| a < len)
                .map(|&(a, n)| (a, n.min(len - a)))
                .collect();
            style::loudness_of_segments(&s.audio.left, &s.audio.right, s.audio.sample_rate, &own)
        })
        .collect()
}

/// The equal-loudness sum: every stem at the same integrated loudness
/// (together at about the working level), everything else neutral. Silent
/// stems stay at 0 dB.
pub fn equal_loudness_params(stems: &[Stem], cfg: &FitConfig) -> ConsoleParams {
    let segs = stem_segments(stems, cfg);
    equal_loudness_with(stems, &stem_loudness(stems, &segs), cfg)
}

fn equal_loudness_with(stems: &[Stem], lufs: &[Option<f64>], cfg: &FitConfig) -> ConsoleParams {
    let n_active = lufs.iter().filter(|l| l.is_some()).count().max(1);
    let each = cfg.working_lufs - 10.0 * (n_active as f64).log10();
    let mut p = ConsoleParams::neutral(stems);
    p.pan_law = PanLaw::Balance;
    for (strip, l) in p.stems.iter_mut().zip(lufs) {
        strip.gain_db = l.map_or(0.0, |l| each - l);
    }
    p
}

fn feature_vec(f: &Features) -> [f64; NF] {
    let mut v = [0.0; NF];
    v[F_RMS] = f.rms[0];
    v[F_RMS + 1] = f.rms[1];
    v[F_CREST] = f.crest_db[0];
    v[F_CREST + 1] = f.crest_db[1];
    v[F_WIDTH] = f.width;
    v[F_IMB] = f.imbalance;
    v[F_MID..F_MID + style::N_BARK].copy_from_slice(&f.bark_mid);
    v[F_SIDE..F_SIDE + style::N_BARK].copy_from_slice(&f.bark_side);
    v
}

/// The priors, in the fit's natural parameters.
struct Prior {
    w: PriorWeights,
    /// Per stem: input loudness (None: silent), target level, half width.
    lufs: Vec<Option<f64>>,
    target: Vec<f64>,
    half: Vec<f64>,
    classes: Vec<ClassPrior>,
}

impl Prior {
    fn new(stems: &[Stem], lufs: Vec<Option<f64>>, cfg: &FitConfig) -> Prior {
        let classes: Vec<ClassPrior> = stems.iter().map(|s| class_prior(s.class)).collect();
        let active: Vec<bool> = lufs.iter().map(Option::is_some).collect();
        let target = prior::balanced_levels(&classes, &active)
            .into_iter()
            .map(|l| cfg.working_lufs + l)
            .collect();
        let half = classes
            .iter()
            .map(|c| 0.5 * (c.level_db.1 - c.level_db.0) + cfg.priors.level_margin_db)
            .collect();
        Prior {
            w: cfg.priors,
            lufs,
            target,
            half,
            classes,
        }
    }

    /// Penalty at natural parameters `x`; adds its gradient into `grad`.
    fn value_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let w = &self.w;
        let ns = self.classes.len();
        let mut v = 0.0;
        // Levels: relative spread within widened class ranges, plus the
        // common mode.
        let active: Vec<usize> = (0..ns).filter(|&s| self.lufs[s].is_some()).collect();
        if !active.is_empty() {
            let na = active.len() as f64;
            let d: Vec<f64> = active
                .iter()
                .map(|&s| self.lufs[s].unwrap_or(0.0) + x[s * NS + S_GAIN] - self.target[s])
                .collect();
            let mu = d.iter().sum::<f64>() / na;
            v += w.level_common * mu * mu;
            let h: Vec<f64> = active
                .iter()
                .zip(&d)
                .map(|(&s, &di)| prior::hinge(di - mu, self.half[s]))
                .collect();
            let hsum: f64 = h.iter().sum();
            for (k, &s) in active.iter().enumerate() {
                v += w.level * h[k] * h[k];
                grad[s * NS + S_GAIN] +=
                    w.level_common * 2.0 * mu / na + w.level * 2.0 * (h[k] - hsum / na);
            }
        }
        for (s, c) in self.classes.iter().enumerate() {
            let o = s * NS;
            let p = x[o + S_PAN];
            if c.centred {
                let k = w.pan_centre / (c.pan_max * c.pan_max).max(1e-6) * 0.01;
                // Scaled so a centred class at its pan_max costs as much as
                // 0.1 of pan would at pan_max = 0.1.
                v += k * p * p;
                grad[o + S_PAN] += 2.0 * k * p;
            }
            let hp = prior::hinge(p, c.pan_max);
            v += w.pan_range * hp * hp;
            grad[o + S_PAN] += 2.0 * w.pan_range * hp;
            v += eq_prior(
                &x[o + S_EQ..o + S_EQ + N_BANDS],
                &mut grad[o + S_EQ..o + S_EQ + N_BANDS],
                w,
            );
            let u_max = 1.0 - 1.0 / c.ratio_max;
            v += comp_prior(x[o + S_U], u_max, &mut grad[o + S_U], w);
            let dt = x[o + S_THR] - c.threshold_rel_db;
            v += w.threshold * dt * dt;
            grad[o + S_THR] += 2.0 * w.threshold * dt;
        }
        let m = ns * NS;
        v += eq_prior(
            &x[m + M_EQ..m + M_EQ + N_BANDS],
            &mut grad[m + M_EQ..m + M_EQ + N_BANDS],
            w,
        );
        v += comp_prior(
            x[m + M_U],
            1.0 - 1.0 / prior::MASTER_RATIO_MAX,
            &mut grad[m + M_U],
            w,
        );
        let dt = x[m + M_THR] - prior::MASTER_THRESHOLD_REL_DB;
        v += w.threshold * dt * dt;
        grad[m + M_THR] += 2.0 * w.threshold * dt;
        for (i, t) in [
            (M_ATT, prior::MASTER_ATTACK_MS),
            (M_REL, prior::MASTER_RELEASE_MS),
        ] {
            let d = x[m + i] - t.ln();
            v += w.ballistics * d * d;
            grad[m + i] += 2.0 * w.ballistics * d;
        }
        v
    }
}

fn eq_prior(g: &[f64], grad: &mut [f64], w: &PriorWeights) -> f64 {
    let mut v = 0.0;
    for (gi, di) in g.iter().zip(grad.iter_mut()) {
        let h = prior::hinge(*gi, w.eq_bound_db);
        v += w.eq * gi * gi + w.eq_outside * h * h;
        *di += 2.0 * w.eq * gi + 2.0 * w.eq_outside * h;
    }
    v
}

fn comp_prior(u: f64, u_max: f64, grad: &mut f64, w: &PriorWeights) -> f64 {
    let over = (u - u_max).max(0.0);
    *grad += 2.0 * w.compression * u + 2.0 * w.compression_outside * over;
    w.compression * u * u + w.compression_outside * over * over
}

/// Ranges of the natural parameters.
fn bounds(ns: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = Vec::with_capacity(ns * NS + NM);
    let mut hi = Vec::with_capacity(ns * NS + NM);
    for _ in 0..ns {
        let mut l = [0.0; NS];
        let mut h = [0.0; NS];
        (l[S_GAIN], h[S_GAIN]) = GAIN_RANGE_DB;
        (l[S_PAN], h[S_PAN]) = (-1.0, 1.0);
        for k in 0..N_BANDS {
            (l[S_EQ + k], h[S_EQ + k]) = crate::mix::console::eq::GAIN_RANGE_DB;
        }
        (l[S_THR], h[S_THR]) = (-30.0, 6.0);
        (l[S_U], h[S_U]) = (0.0, 0.9);
        lo.extend_from_slice(&l);
        hi.extend_from_slice(&h);
    }
    let mut l = [0.0; NM];
    let mut h = [0.0; NM];
    for k in 0..N_BANDS {
        (l[M_EQ + k], h[M_EQ + k]) = crate::mix::console::eq::GAIN_RANGE_DB;
    }
    (l[M_THR], h[M_THR]) = (-20.0, 18.0);
    (l[M_U], h[M_U]) = (0.0, 0.9);
    (l[M_ATT], h[M_ATT]) = (comp::ATTACK_RANGE_MS.0.ln(), comp::ATTACK_RANGE_MS.1.ln());
    (l[M_REL], h[M_REL]) = (comp::RELEASE_RANGE_MS.0.ln(), comp::RELEASE_RANGE_MS.1.ln());
    lo.extend_from_slice(&l);
    hi.extend_from_slice(&h);
    (lo, hi)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn to_z(x: &[f64], lo: &[f64], hi: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(lo.iter().zip(hi))
        .map(|(&v, (&l, &h))| {
            let t = ((v - l) / (h - l)).clamp(1e-4, 1.0 - 1e-4);
            (t / (1.0 - t)).ln()
        })
        .collect()
}

fn to_x(z: &[f64], lo: &[f64], hi: &[f64]) -> Vec<f64> {
    z.iter()
        .zip(lo.iter().zip(hi))
        .map(|(&z, (&l, &h))| l + (h - l) * sigmoid(z))
        .collect()
}

/// Exponents of the stems' magnitude combination per Bark band.
#[derive(Clone, Copy)]
struct Exponents {
    mid: [f64; style::N_BARK],
    side: [f64; style::N_BARK],
    peak: f64,
}

/// Candidate exponents of the stems' peak combination.
const P_PEAK_GRID: [f64; 6] = [1.0, 1.2, 1.4, 1.6, 1.8, 2.0];

/// Candidate exponents for the calibration.
const P_GRID: [f64; 11] = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0, 2.4, 3.0];

/// Choose, per band, the exponent with which the surrogate's un-normalised
/// Bark magnitude at `x` equals the real render's (`real`, with its own
/// loudness normalisation taken out).
fn calibrate_exponents(model: &Model, x: &[f64], real: &Features, norm_lufs: f64) -> Exponents {
    let (vals, _) = model.bark_for_exponents(x, &P_GRID);
    let half_ln_gn = real.loudness_lufs.map_or(0.0, |l| {
        0.5 * ((norm_lufs - l) / 10.0 * std::f64::consts::LN_10)
    });
    let pick = |side: usize, b: usize, want: f64| -> f64 {
        // Values fall as p grows (a p-norm decreases with p).
        let v = |i: usize| vals[i][side][b];
        if want >= v(0) {
            return P_GRID[0];
        }
        for i in 1..P_GRID.len() {
            if want >= v(i) {
                let t = (v(i - 1) - want) / (v(i - 1) - v(i)).max(1e-12);
                return P_GRID[i - 1] + t * (P_GRID[i] - P_GRID[i - 1]);
            }
        }
        P_GRID[P_GRID.len() - 1]
    };
    // The peaks' exponent: the grid point whose crest factors are closest
    // to the real ones.
    let peak = P_PEAK_GRID
        .iter()
        .map(|&p| {
            let c = model.crest_at(x, p);
            (
                p,
                (c[0] - real.crest_db[0]).powi(2) + (c[1] - real.crest_db[1]).powi(2),
            )
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(1.5, |b| b.0);
    Exponents {
        mid: std::array::from_fn(|b| pick(0, b, real.bark_mid[b] - half_ln_gn)),
        side: std::array::from_fn(|b| pick(1, b, real.bark_side[b] - half_ln_gn)),
        peak,
    }
}

/// Natural parameters per stem in a [`StartPoint`]: level (LUFS re the
/// working level), pan, the six EQ band gains (dB), compressor threshold
/// (dB re the stem's loud peaks) and slope u = 1 − 1/ratio.
pub const STEM_PARAMS: usize = NS;
/// Natural parameters of the master in a [`StartPoint`]: the six EQ band
/// gains (dB), compressor threshold (dB re the working level), slope u,
/// ln attack (ms) and ln release (ms).
pub const MASTER_PARAMS: usize = NM;

/// A point of the fit's parameter space that does not depend on the stems'
/// input levels (stem levels are loudness, not gains): what a predictor
/// outputs and the fit can start from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartPoint {
    /// Per stem, [`STEM_PARAMS`] values.
    pub stems: Vec<[f64; NS]>,
    /// The master's [`MASTER_PARAMS`] values.
    pub master: [f64; NM],
}

/// The bounds of the natural parameters of one stem and of the master:
/// `(stem_lo, stem_hi, master_lo, master_hi)`; a stem's level has the
/// console's gain range.
pub fn start_bounds() -> ([f64; NS], [f64; NS], [f64; NM], [f64; NM]) {
    let (lo, hi) = bounds(1);
    let c = |v: &[f64]| -> [f64; NS] { std::array::from_fn(|i| v[i]) };
    let m = |v: &[f64]| -> [f64; NM] { std::array::from_fn(|i| v[NS + i]) };
    (c(&lo), c(&hi), m(&lo), m(&hi))
}

/// Stems analysed once for stage 2, without a reference: what a predictor
/// and the training-data generator need (the fit builds the same itself).
pub struct Prepared<'a> {
    pb: Problem<'a>,
}

impl<'a> Prepared<'a> {
    /// Analyses `stems` (their excerpt, loudness and the surrogate's
    /// summary).
    pub fn new(stems: &'a [Stem], cfg: &'a FitConfig) -> Result<Prepared<'a>, FitError> {
        Ok(Prepared {
            pb: Problem::new(stems, cfg)?,
        })
    }

    /// Each stem's integrated loudness on the excerpt, LUFS (`None`: silent).
    pub fn stem_lufs(&self) -> &[Option<f64>] {
        &self.pb.prior.lufs
    }

    /// Each stem's AF features, alone and unprocessed, on the excerpt.
    pub fn stem_features(&self) -> Vec<Features> {
        let cfg = self.pb.cfg;
        self.pb
            .stems
            .par_iter()
            .map(|s| {
                let len = s.audio.len();
                let own: Vec<(usize, usize)> = self
                    .pb
                    .segs
                    .iter()
                    .filter(|&&(a, _)| a < len)
                    .map(|&(a, n)| (a, n.min(len - a)))
                    .collect();
                style::features_of_segments(
                    &s.audio.left,
                    &s.audio.right,
                    s.audio.sample_rate,
                    &own,
                    &cfg.style,
                )
            })
            .collect()
    }

    /// The priors' starting point (what `fit` starts from).
    pub fn prior_start(&self) -> StartPoint {
        self.pb.start_from_x(&self.pb.initial())
    }

    /// `start` held inside the fit's bounds.
    pub fn clamped(&self, start: &StartPoint) -> StartPoint {
        self.pb.start_from_x(&self.pb.x_from_start(start))
    }

    /// The console settings of `start`, as the fit would render them.
    pub fn params_at(&self, start: &StartPoint) -> ConsoleParams {
        let expo = Exponents {
            mid: [1.5; style::N_BARK],
            side: [1.5; style::N_BARK],
            peak: 1.5,
        };
        let model = self.pb.model([0.0; NF], &expo);
        self.pb.params(&self.pb.x_from_start(start), &model, true)
    }

    /// The AF features of the mix `params` makes, on the excerpt.
    pub fn measure(&self, params: &ConsoleParams) -> Features {
        self.pb.measure(params)
    }
}

/// The best rendered round so far.
struct Best {
    loss: f64,
    x: Vec<f64>,
    params: ConsoleParams,
    audio: StereoBuffer,
    pos: Vec<(usize, usize)>,
    feats: Features,
}

/// The compressors' starting slope u = 1 − 1/ratio (ratio 1.11): far
/// enough from 0 that the sigmoid mapping has a usable slope, small enough
/// to be switched off at the end (ratio < 1.05) unless the loss asks for
/// more.
const INITIAL_U: f64 = 0.1;

/// Everything a fit run needs, built once.
struct Problem<'a> {
    stems: &'a [Stem],
    cfg: &'a FitConfig,
    segs: Vec<(usize, usize)>,
    an: surrogate::Analysis,
    prior: Prior,
    target: [f64; NF],
    lo: Vec<f64>,
    hi: Vec<f64>,
}

impl<'a> Problem<'a> {
    /// The stems analysed once (no reference yet: `target` is zero).
    fn new(stems: &'a [Stem], cfg: &'a FitConfig) -> Result<Problem<'a>, FitError> {
        check(stems)?;
        let segs = stem_segments(stems, cfg);
        let (an, lufs) = rayon::join(
            || surrogate::analyse(stems, &segs, cfg.block_hop, &cfg.style),
            || stem_loudness(stems, &segs),
        );
        if lufs.iter().all(Option::is_none) {
            return Err(FitError::SilentStems);
        }
        let (lo, hi) = bounds(stems.len());
        Ok(Problem {
            stems,
            cfg,
            segs,
            an,
            prior: Prior::new(stems, lufs, cfg),
            target: [0.0; NF],
            lo,
            hi,
        })
    }

    /// Natural parameters for `start`, inside the bounds (a little inside,
    /// so the sigmoid mapping keeps a usable slope).
    fn x_from_start(&self, start: &StartPoint) -> Vec<f64> {
        let ns = self.stems.len();
        let mut x = vec![0.0; ns * NS + NM];
        for s in 0..ns {
            let o = s * NS;
            let v = start.stems.get(s).copied().unwrap_or([0.0; NS]);
            x[o..o + NS].copy_from_slice(&v);
            // Levels are loudness re the working level; the fit's are gains.
            x[o + S_GAIN] =
                self.prior.lufs[s].map_or(0.0, |l| v[S_GAIN] + self.cfg.working_lufs - l);
        }
        let m = ns * NS;
        x[m..].copy_from_slice(&start.master);
        for (i, v) in x.iter_mut().enumerate() {
            let margin = 1e-3 * (self.hi[i] - self.lo[i]);
            *v = if v.is_finite() {
                v.clamp(self.lo[i] + margin, self.hi[i] - margin)
            } else {
                0.5 * (self.lo[i] + self.hi[i])
            };
        }
        x
    }

    /// The inverse of [`Problem::x_from_start`].
    fn start_from_x(&self, x: &[f64]) -> StartPoint {
        let ns = self.stems.len();
        let stems = (0..ns)
            .map(|s| {
                let o = s * NS;
                let mut v = [0.0; NS];
                v.copy_from_slice(&x[o..o + NS]);
                v[S_GAIN] =
                    self.prior.lufs[s].map_or(0.0, |l| l + x[o + S_GAIN] - self.cfg.working_lufs);
                v
            })
            .collect();
        let mut master = [0.0; NM];
        master.copy_from_slice(&x[ns * NS..]);
        StartPoint { stems, master }
    }

    fn model(&self, delta: [f64; NF], p: &Exponents) -> Model<'_> {
        let grid = &self.an.grid;
        let comps = self
            .prior
            .classes
            .iter()
            .map(|c| CompFixed::new(c.knee_db, c.attack_ms, c.release_ms, grid))
            .collect();
        Model {
            an: &self.an,
            law: self.cfg.pan_law,
            comps,
            master_knee_db: prior::MASTER_KNEE_DB,
            working_db: self.cfg.working_lufs,
            norm_lufs: self.cfg.style.norm_lufs,
            weights: self.cfg.style.weights,
            target: self.target,
            delta,
            p_mid: p.mid,
            p_side: p.side,
            p_peak: p.peak,
            compress: self.cfg.fit_compressors,
        }
    }

    /// The starting point: class levels and pans, flat EQ, (almost) no
    /// compression.
    fn initial(&self) -> Vec<f64> {
        let ns = self.stems.len();
        let mut x = vec![0.0; ns * NS + NM];
        let mut side = -1.0;
        for s in 0..ns {
            let o = s * NS;
            let c = &self.prior.classes[s];
            x[o + S_GAIN] = self.prior.lufs[s].map_or(0.0, |l| {
                (self.prior.target[s] - l).clamp(GAIN_RANGE_DB.0 + 1.0, GAIN_RANGE_DB.1 - 1.0)
            });
            // Alternate sides over the stems that are not centred, so the
            // start is balanced and the pan gradient is not zero by symmetry.
            // Centred classes start just off the centre: at exactly 0 the
            // side signal's gradient is zero by symmetry and the fit could
            // never give them the little width a reference may ask for.
            side = -side;
            x[o + S_PAN] = -side * if c.centred { 0.02 } else { c.pan_default };
            x[o + S_THR] = c.threshold_rel_db;
            x[o + S_U] = INITIAL_U;
        }
        let m = ns * NS;
        x[m + M_THR] = prior::MASTER_THRESHOLD_REL_DB;
        x[m + M_U] = INITIAL_U;
        x[m + M_ATT] = prior::MASTER_ATTACK_MS.ln();
        x[m + M_REL] = prior::MASTER_RELEASE_MS.ln();
        x
    }

    /// Real-unit settings for natural parameters `x`. With `clean`, nearly
    /// neutral compressors and EQ bands are switched off.
    fn params(&self, x: &[f64], model: &Model, clean: bool) -> ConsoleParams {
        let ns = self.stems.len();
        let makeups = if self.cfg.fit_compressors {
            model.makeups(x)
        } else {
            vec![0.0; ns]
        };
        let eq = |g: &[f64]| {
            let mut gains = [0.0; N_BANDS];
            for (k, v) in gains.iter_mut().enumerate() {
                *v = if clean && g[k].abs() < 0.05 {
                    0.0
                } else {
                    g[k]
                };
            }
            EqParams::with_gains(gains)
        };
        let comp = |u: f64, thr: f64, makeup: f64, knee: f64, att: f64, rel: f64| {
            let ratio = 1.0 / (1.0 - u);
            if !self.cfg.fit_compressors || (clean && ratio < 1.05) {
                return CompParams {
                    knee_db: knee,
                    attack_ms: att,
                    release_ms: rel,
                    ..CompParams::bypass()
                };
            }
            let mut c = CompParams {
                threshold_db: thr,
                ratio,
                knee_db: knee,
                attack_ms: att,
                release_ms: rel,
                makeup_db: makeup,
            };
            c.clamp();
            c
        };
        let stems = (0..ns)
            .map(|s| {
                let o = s * NS;
                let c = &self.prior.classes[s];
                let gain = x[o + S_GAIN];
                StripParams {
                    name: self.stems[s].name.clone(),
                    class: self.stems[s].class,
                    gain_db: gain,
                    eq: eq(&x[o + S_EQ..o + S_EQ + N_BANDS]),
                    comp: comp(
                        x[o + S_U],
                        x[o + S_THR] + gain + self.an.stems[s].lref_db,
                        makeups[s],
                        c.knee_db,
                        c.attack_ms,
                        c.release_ms,
                    ),
                    pan: x[o + S_PAN],
                }
            })
            .collect();
        let m = ns * NS;
        let master = MasterParams {
            eq: eq(&x[m + M_EQ..m + M_EQ + N_BANDS]),
            comp: comp(
                x[m + M_U],
                self.cfg.working_lufs + x[m + M_THR],
                0.0,
                prior::MASTER_KNEE_DB,
                prior::MASTER_ATTACK_MS,
                prior::MASTER_RELEASE_MS,
            ),
            output_gain_db: 0.0,
        };
        let mut p = ConsoleParams {
            pan_law: self.cfg.pan_law,
            stems,
            master,
        };
        p.clamp();
        p
    }

    fn measure(&self, params: &ConsoleParams) -> Features {
        let (audio, pos) = render_excerpt(self.stems, params, &self.segs);
        style::features_of_segments(
            &audio.left,
            &audio.right,
            audio.sample_rate,
            &pos,
            &self.cfg.style,
        )
    }
}

/// Fit the console to `reference`: every stem's fader, pan, EQ and
/// compressor, and the master EQ and compressor, so the mix's AF features
/// match the reference's; then set the output gain for the working level.
pub fn fit(
    stems: &[Stem],
    reference: &StereoBuffer,
    cfg: &FitConfig,
) -> Result<FitResult, FitError> {
    fit_from(stems, reference, cfg, None)
}

/// [`fit`] from `start` instead of the priors' starting point (a learned
/// predictor's guess, say; see `ml::predictor`). `start` must have one
/// entry per stem.
pub fn fit_from(
    stems: &[Stem],
    reference: &StereoBuffer,
    cfg: &FitConfig,
    start: Option<&StartPoint>,
) -> Result<FitResult, FitError> {
    fit_with(stems, reference, cfg, |_, _| start.cloned())
}

/// [`fit`] from the start point `start` gives once the stems are analysed
/// and the reference measured (`None`: the priors' starting point), so a
/// predictor can use the fit's own measurements.
pub fn fit_with(
    stems: &[Stem],
    reference: &StereoBuffer,
    cfg: &FitConfig,
    start: impl FnOnce(&Prepared, &Features) -> Option<StartPoint>,
) -> Result<FitResult, FitError> {
    check(stems)?;
    let (ref_feats, prep) = rayon::join(
        || reference_features(reference, cfg),
        || Prepared::new(stems, cfg),
    );
    let prep = prep?;
    if ref_feats.loudness_lufs.is_none() {
        return Err(FitError::SilentReference);
    }
    let chosen = start(&prep, &ref_feats);
    let mut pb = prep.pb;
    pb.target = feature_vec(&ref_feats);
    let w = cfg.style.weights;

    let baseline = pb.measure(&equal_loudness_with(stems, &pb.prior.lufs, cfg));
    let before = style::loss(&baseline, &ref_feats, &w);

    let init = if chosen.is_some() { "model" } else { "prior" };
    let mut x = match &chosen {
        Some(s) => pb.x_from_start(s),
        None => pb.initial(),
    };
    let mut rounds = Vec::new();
    let mut best: Option<Best> = None;
    let mut loss_initial = f64::NAN;
    let mut expo = Exponents {
        mid: [1.5; style::N_BARK],
        side: [1.5; style::N_BARK],
        peak: 1.5,
    };
    for round in 0..=cfg.rounds {
        // Render exactly what would be written (nearly neutral processors
        // switched off), so the best round's render is the final one.
        let model0 = pb.model([0.0; NF], &expo);
        let params = pb.params(&x, &model0, true);
        let (audio, pos) = render_excerpt(stems, &params, &pb.segs);
        let real = style::features_of_segments(
            &audio.left,
            &audio.right,
            audio.sample_rate,
            &pos,
            &cfg.style,
        );
        let real_loss = style::loss(&real, &ref_feats, &w).total;
        if round == 0 {
            loss_initial = real_loss;
        }
        if best.as_ref().is_none_or(|b| real_loss < b.loss) {
            best = Some(Best {
                loss: real_loss,
                x: x.clone(),
                params,
                audio,
                pos,
                feats: real.clone(),
            });
        }
        if round == cfg.rounds {
            break;
        }
        expo = calibrate_exponents(&model0, &x, &real, cfg.style.norm_lufs);
        let model0 = pb.model([0.0; NF], &expo);
        let sur = model0.features(&x);
        let rv = feature_vec(&real);
        let delta: [f64; NF] = std::array::from_fn(|i| rv[i] - sur[i]);
        let model = pb.model(delta, &expo);
        let (lo, hi) = (&pb.lo, &pb.hi);
        let objective = |z: &[f64], gz: &mut [f64]| {
            let xs = to_x(z, lo, hi);
            let mut gx = vec![0.0; xs.len()];
            let mut v = model.loss_grad(&xs, &mut gx);
            v += pb.prior.value_grad(&xs, &mut gx);
            for i in 0..z.len() {
                let s = sigmoid(z[i]);
                gz[i] = gx[i] * (hi[i] - lo[i]) * s * (1.0 - s);
            }
            v
        };
        // Later rounds start close to their optimum: fewer iterations.
        let iterations = (2 * cfg.iterations / (round + 2)).max(1);
        let m = lbfgs::minimize(objective, &to_z(&x, lo, hi), iterations, 8);
        x = to_x(&m.x, lo, hi);
        rounds.push(RoundReport {
            start_loss: real_loss,
            surrogate_loss: m.f,
            evaluations: m.evaluations,
        });
    }
    let Best {
        x,
        mut params,
        audio,
        pos,
        feats: mix_feats,
        ..
    } = best.expect("at least one round is rendered");
    let after = style::loss(&mix_feats, &ref_feats, &w);
    let (lufs_out, tp_out) = level_to_target(&audio, &pos, &mut params, cfg);
    let mut dummy = vec![0.0; x.len()];
    let prior_penalty = pb.prior.value_grad(&x, &mut dummy);
    let per_feature = before
        .terms()
        .iter()
        .zip(after.terms())
        .map(|(&(name, b), (_, a))| FeatureLoss {
            feature: name.to_string(),
            before: b,
            after: a,
            share_before: if before.total > 0.0 {
                b / before.total
            } else {
                0.0
            },
            share_after: if after.total > 0.0 {
                a / after.total
            } else {
                0.0
            },
        })
        .collect();
    let analysed_seconds =
        pb.segs.iter().map(|s| s.1).sum::<usize>() as f64 / f64::from(audio.sample_rate.max(1));
    Ok(FitResult {
        params,
        start: pb.start_from_x(&x),
        report: FitReport {
            loss_before: before.total,
            init: init.to_string(),
            loss_initial,
            loss_after: after.total,
            per_feature,
            prior_penalty,
            rounds,
            analysed_seconds,
            reference_features: ref_feats,
            mix_features: mix_feats,
            output_loudness_lufs: lufs_out,
            output_true_peak_dbtp: tp_out,
        },
    })
}

/// Breakdown of the AF loss between two feature sets (re-exported for
/// callers that measure mixes themselves).
pub fn af_loss(mix: &Features, reference: &Features, cfg: &FitConfig) -> LossBreakdown {
    style::loss(mix, reference, &cfg.style.weights)
}

/// Set `params.master.output_gain_db` so `audio` (rendered with output gain
/// 0) reaches the working loudness without passing the true-peak ceiling;
/// returns the resulting loudness and true peak.
fn level_to_target(
    audio: &StereoBuffer,
    segs: &[(usize, usize)],
    params: &mut ConsoleParams,
    cfg: &FitConfig,
) -> (Option<f64>, Option<f64>) {
    let Some((lufs, tp)) = loudness_and_true_peak(audio, segs) else {
        params.master.output_gain_db = 0.0;
        return (None, None);
    };
    let gain = (cfg.working_lufs - lufs)
        .min(cfg.max_true_peak_dbtp - tp)
        .clamp(OUTPUT_GAIN_RANGE_DB.0, OUTPUT_GAIN_RANGE_DB.1);
    params.master.output_gain_db = gain;
    (Some(lufs + gain), Some(tp + gain))
}

fn loudness_and_true_peak(audio: &StereoBuffer, segs: &[(usize, usize)]) -> Option<(f64, f64)> {
    let mode = ebur128::Mode::I | ebur128::Mode::TRUE_PEAK;
    let mut m = ebur128::EbuR128::new(2, audio.sample_rate, mode).ok()?;
    for &(s, n) in segs {
        m.add_frames_planar_f32(&[&audio.left[s..s + n], &audio.right[s..s + n]])
            .ok()?;
    }
    let l = m.loudness_global().ok().filter(|l| l.is_finite())?;
    let tp = m.true_peak(0).ok()?.max(m.true_peak(1).ok()?);
    Some((l, 20.0 * tp.max(1e-10).log10()))
}

/// Render the whole mix with output gain 0 and set the master output gain
/// so the *whole song* reaches the working loudness without passing the
/// true-peak ceiling (the fit sets it from its excerpt only). Returns the
/// resulting loudness (LUFS) and true peak (dBTP). Costs one full render.
pub fn set_output_level(
    stems: &[Stem],
    params: &mut ConsoleParams,
    cfg: &FitConfig,
) -> (Option<f64>, Option<f64>) {
    params.master.output_gain_db = 0.0;
    let audio = crate::mix::console::render(stems, params);
    let n = audio.len();
    level_to_target(&audio, &[(0, n)], params, cfg)
}
