//! The stage-2 predictor (issue 11, part 3): a small set encoder that maps
//! per-stem feature summaries and the reference's features to a starting
//! point of the stage-2 fit ([`StartPoint`]), for any number of stems.
//!
//! The model (`models/stage2-predictor/`, trained by
//! `scripts/dev/train_predictor.py` on `premix predictor data` output) sees
//! one token per signal: the reference first, then the stems. Each token is
//! [`TOKEN`] numbers laid out by [`tokens`]; the output has one row of
//! [`STEM_PARAMS`] numbers per token: the master's natural parameters on the
//! reference's row, each stem's on its own. This module owns that layout, and
//! the training data is written with the same function, so Python and Rust
//! cannot disagree on it.

use super::runtime::{load_found, MlError, Model, TensorSpec};
use crate::generate::rng::Rng;
use crate::group::Class;
use crate::mix::console::Stem;
use crate::mix::fit::prior::{balanced_levels, class_prior};
use crate::mix::fit::{start_bounds, FitConfig, Prepared, StartPoint, MASTER_PARAMS, STEM_PARAMS};
use crate::mix::style::{Features, N_BARK};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The model file, relative to the repository (or install) root.
pub const MODEL_REL: &str = "models/stage2-predictor/predictor.onnx";

/// The feature summary of one signal in a token: RMS dB ×2, crest dB ×2,
/// width, imbalance, Bark mid and side.
const SUMMARY: usize = 6 + 2 * N_BARK;

/// Numbers per token: kind, loudness, the signal's summary, class one-hot,
/// and the summary's difference from the start mix's.
pub const TOKEN: usize = 2 + SUMMARY + Class::ALL.len() + SUMMARY;

/// Numbers per output row (stem and master rows have the same width).
pub const OUT: usize = STEM_PARAMS;
const _: () = assert!(STEM_PARAMS == MASTER_PARAMS);

const INPUT: TensorSpec = TensorSpec {
    name: "tokens",
    shape: &[1, -1, TOKEN as i64],
};
const OUTPUT: TensorSpec = TensorSpec {
    name: "params",
    shape: &[1, -1, OUT as i64],
};

/// Floor of levels in dB (a silent signal's RMS), so tokens stay finite.
const FLOOR_DB: f64 = -120.0;

fn db(x: f64) -> f64 {
    if x > 0.0 {
        (20.0 * x.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

fn summary(f: &Features) -> [f32; SUMMARY] {
    let finite = |v: f64| if v.is_finite() { v as f32 } else { 0.0 };
    let mut v = [0.0; SUMMARY];
    v[0] = db(f.rms[0]) as f32;
    v[1] = db(f.rms[1]) as f32;
    v[2] = finite(f.crest_db[0]);
    v[3] = finite(f.crest_db[1]);
    v[4] = finite(f.width);
    v[5] = finite(f.imbalance);
    for b in 0..N_BARK {
        v[6 + b] = finite(f.bark_mid[b]);
        v[6 + N_BARK + b] = finite(f.bark_side[b]);
    }
    v
}

fn push_token(
    t: &mut Vec<f32>,
    kind: f32,
    loudness_rel: Option<f64>,
    f: &Features,
    class: Option<Class>,
    start_mix: &[f32; SUMMARY],
) {
    t.push(kind);
    // A silent signal reads 60 dB below the working level.
    t.push(loudness_rel.map_or(-60.0, |l| if l.is_finite() { l as f32 } else { -60.0 }));
    let own = summary(f);
    t.extend_from_slice(&own);
    t.extend(
        Class::ALL
            .iter()
            .map(|&c| f32::from(u8::from(Some(c) == class))),
    );
    t.extend(own.iter().zip(start_mix).map(|(a, b)| a - b));
}

/// The model's input: `(1 + stems) × TOKEN` numbers, row-major. Row 0 is
/// the reference, then one row per stem (with its class and loudness);
/// every row also carries its summary's difference from `start_mix`, the
/// features of the mix at the priors' starting point, which is what the
/// prediction corrects. Loudness is relative to `cfg.working_lufs`.
pub fn tokens(
    reference: &Features,
    start_mix: &Features,
    stems: &[(Class, Option<f64>, &Features)],
    cfg: &FitConfig,
) -> Vec<f32> {
    let rel = |l: Option<f64>| l.map(|l| l - cfg.working_lufs);
    let base = summary(start_mix);
    let mut t = Vec::with_capacity((1 + stems.len()) * TOKEN);
    push_token(
        &mut t,
        1.0,
        rel(reference.loudness_lufs),
        reference,
        None,
        &base,
    );
    for &(class, lufs, f) in stems {
        push_token(&mut t, 0.0, rel(lufs), f, Some(class), &base);
    }
    debug_assert_eq!(t.len(), (1 + stems.len()) * TOKEN);
    t
}

/// The start point the model's output rows give: the rows are corrections
/// to `prior` (row 0 the master's, then one per stem).
pub fn start_from_rows(rows: &[f32], prior: &StartPoint) -> Option<StartPoint> {
    let stems = prior.stems.len();
    if rows.len() != (1 + stems) * OUT {
        return None;
    }
    let row = |i: usize, base: &[f64; OUT]| -> [f64; OUT] {
        std::array::from_fn(|k| base[k] + f64::from(rows[i * OUT + k]))
    };
    Some(StartPoint {
        master: row(0, &prior.master),
        stems: prior
            .stems
            .iter()
            .enumerate()
            .map(|(s, b)| row(1 + s, b))
            .collect(),
    })
}

/// The training target: the rows that take `prior` to `start`.
pub fn rows_from_start(start: &StartPoint, prior: &StartPoint) -> Vec<f32> {
    std::iter::once((&start.master, &prior.master))
        .chain(start.stems.iter().zip(&prior.stems))
        .flat_map(|(r, p)| r.iter().zip(p).map(|(&v, &b)| (v - b) as f32))
        .collect()
}

/// A random console for the training data (Diff-MST's self-supervision,
/// ALGORITHMS.md §2.4: mix the stems with random settings, and the mix is
/// the reference the predictor must explain). Levels scatter ±6 dB around
/// the class priors' balance; pans stay near the centre for centred classes
/// and go to a random side otherwise; EQ gains ±6 dB; compression from none
/// to 4:1 around the class threshold; master EQ ±3 dB and compression up to
/// 2:1. `active[s]` is whether stem `s` has signal.
pub(crate) fn random_start(classes: &[Class], active: &[bool], rng: &mut Rng) -> StartPoint {
    let (_, _, mlo, mhi) = start_bounds();
    let priors: Vec<_> = classes.iter().map(|&c| class_prior(c)).collect();
    let levels = balanced_levels(&priors, active);
    let stems = priors
        .iter()
        .zip(&levels)
        .map(|(p, l)| {
            let mut v = [0.0; STEM_PARAMS];
            v[0] = l + rng.range(-6.0, 6.0);
            v[1] = if p.centred {
                rng.range(-0.1, 0.1)
            } else {
                let side = if rng.chance(0.5) { -1.0 } else { 1.0 };
                side * rng.range(0.2, p.pan_max.max(0.3))
            };
            for g in &mut v[2..8] {
                *g = if rng.chance(0.5) {
                    rng.range(-6.0, 6.0)
                } else {
                    0.0
                };
            }
            v[8] = p.threshold_rel_db + rng.range(-12.0, 3.0);
            // u = 1 − 1/ratio: ratio 1 … 4.
            v[9] = if rng.chance(0.3) {
                0.0
            } else {
                rng.range(0.0, 0.75)
            };
            v
        })
        .collect();
    let mut master = [0.0; MASTER_PARAMS];
    for g in &mut master[0..6] {
        *g = if rng.chance(0.5) {
            rng.range(-3.0, 3.0)
        } else {
            0.0
        };
    }
    master[6] = rng.range(-8.0, 4.0);
    master[7] = if rng.chance(0.4) {
        0.0
    } else {
        rng.range(0.0, 0.5)
    };
    master[8] = rng.range(mlo[8], mhi[8]);
    master[9] = rng.range(mlo[9], mhi[9]);
    StartPoint { stems, master }
}

/// What the model's input needs besides the reference, measured once per
/// set of stems: each stem's class, loudness and features alone, the priors'
/// start point and the features of its mix.
pub struct Inputs {
    stems: Vec<(Class, Option<f64>, Features)>,
    /// The priors' start point (the model's output corrects it).
    pub prior: StartPoint,
    start_mix: Features,
}

impl Inputs {
    /// Measures `stems` on the excerpt `prep` analysed.
    pub fn new(stems: &[Stem], prep: &Prepared) -> Inputs {
        let prior = prep.prior_start();
        Inputs {
            stems: stems
                .iter()
                .zip(prep.stem_lufs())
                .zip(prep.stem_features())
                .map(|((s, &l), f)| (s.class, l, f))
                .collect(),
            start_mix: prep.measure(&prep.params_at(&prior)),
            prior,
        }
    }

    /// The model's input for a reference with features `rf`.
    pub fn tokens(&self, rf: &Features, cfg: &FitConfig) -> Vec<f32> {
        let stems: Vec<_> = self.stems.iter().map(|(c, l, f)| (*c, *l, f)).collect();
        tokens(rf, &self.start_mix, &stems, cfg)
    }
}

/// A loaded, checked predictor.
pub struct Predictor {
    model: Model,
}

impl Predictor {
    /// Loads and checks the model at `path`.
    pub fn load(env: &ort::environment::Environment, path: &Path) -> Result<Predictor, MlError> {
        Ok(Predictor {
            model: Model::load(env, path, INPUT, OUTPUT)?,
        })
    }

    /// The process-wide predictor from the runtime and model search orders,
    /// loaded once (the outcome, error included, is kept).
    pub fn shared() -> Result<Arc<Predictor>, MlError> {
        static SHARED: OnceLock<Result<Arc<Predictor>, MlError>> = OnceLock::new();
        SHARED
            .get_or_init(|| load_found(MODEL_REL, Predictor::load).map(Arc::new))
            .clone()
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        self.model.path()
    }

    /// The predicted start point of the fit prepared in `prep` for `stems`
    /// against a reference with features `rf`.
    pub fn start_for(
        &self,
        stems: &[Stem],
        prep: &Prepared,
        rf: &Features,
        cfg: &FitConfig,
    ) -> Result<StartPoint, MlError> {
        let c = Inputs::new(stems, prep);
        let rows = self.run_tokens(1 + stems.len(), c.tokens(rf, cfg))?;
        start_from_rows(&rows, &c.prior).ok_or_else(|| MlError::Inference {
            path: PathBuf::from(self.path()),
            reason: "wrong output length".into(),
        })
    }

    /// The model's raw output (`rows × OUT`) for `rows` tokens.
    pub fn run_tokens(&self, rows: usize, tokens: Vec<f32>) -> Result<Vec<f32>, MlError> {
        let (shape, out) = self.model.run(&[1, rows, TOKEN], tokens)?;
        let bad = |reason: String| MlError::Inference {
            path: PathBuf::from(self.path()),
            reason,
        };
        if shape != [1, rows, OUT] {
            return Err(bad(format!(
                "output shape {shape:?}, expected [1, {rows}, {OUT}]"
            )));
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(bad("the prediction is not finite".into()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(l: f64) -> Features {
        Features {
            loudness_lufs: Some(l),
            rms: [0.1, 0.0],
            crest_db: [12.0, f64::NAN],
            width: 0.2,
            imbalance: 0.0,
            bark_mid: [1.0; N_BARK],
            bark_side: [-1.0; N_BARK],
        }
    }

    #[test]
    fn token_layout() {
        let cfg = FitConfig::default();
        let r = feats(-14.0);
        let mut start = feats(-18.0);
        start.bark_mid = [0.5; N_BARK];
        let s = feats(-30.0);
        let t = tokens(
            &r,
            &start,
            &[(Class::Bass, Some(-30.0), &s), (Class::Keys, None, &s)],
            &cfg,
        );
        assert_eq!(t.len(), 3 * TOKEN);
        // Reference: kind 1, loudness re −18 LUFS, no class.
        assert_eq!(t[0], 1.0);
        assert_eq!(t[1], 4.0);
        assert!((t[2] - (-20.0)).abs() < 1e-5, "{}", t[2]);
        assert_eq!(t[3], FLOOR_DB as f32);
        assert_eq!(t[5], 0.0, "a NaN crest becomes 0");
        let onehot = 2 + SUMMARY;
        assert!(t[onehot..onehot + 16].iter().all(|&v| v == 0.0));
        // Differences from the start mix: 1.0 − 0.5 on the mid Bark bands.
        let diff = onehot + Class::ALL.len();
        assert_eq!(t[diff + 6], 0.5);
        assert_eq!(t[diff + 6 + N_BARK], 0.0);
        // Stems: kind 0, their class one-hot, silence at −60.
        let bass = &t[TOKEN..2 * TOKEN];
        assert_eq!(bass[0], 0.0);
        assert_eq!(bass[1], -12.0);
        let oh = &bass[onehot..onehot + Class::ALL.len()];
        assert_eq!(oh.iter().sum::<f32>(), 1.0);
        let i = Class::ALL.iter().position(|&c| c == Class::Bass).unwrap();
        assert_eq!(oh[i], 1.0);
        assert_eq!(t[2 * TOKEN + 1], -60.0);
    }

    #[test]
    fn rows_are_corrections_to_the_prior() {
        let mut rng = Rng::new(7);
        let classes = [Class::Bass, Class::MainVocals];
        let start = random_start(&classes, &[true, true], &mut rng);
        let prior = random_start(&classes, &[true, true], &mut rng);
        let rows = rows_from_start(&start, &prior);
        let back = start_from_rows(&rows, &prior).unwrap();
        for (a, b) in back
            .stems
            .iter()
            .flatten()
            .zip(start.stems.iter().flatten())
        {
            assert!((a - b).abs() < 1e-4, "{a} {b}");
        }
        for (a, b) in back.master.iter().zip(&start.master) {
            assert!((a - b).abs() < 1e-4, "{a} {b}");
        }
        // Zero rows give the prior back.
        let zero = start_from_rows(&vec![0.0; rows.len()], &prior).unwrap();
        assert_eq!(zero, prior);
        assert!(start_from_rows(&rows[OUT..], &prior).is_none());
    }

    #[test]
    fn random_starts_are_inside_the_bounds() {
        let (lo, hi, mlo, mhi) = start_bounds();
        let mut rng = Rng::new(1);
        for _ in 0..200 {
            let s = random_start(&Class::ALL, &[true; 16], &mut rng);
            for v in &s.stems {
                for k in 1..STEM_PARAMS {
                    assert!(v[k] >= lo[k] && v[k] <= hi[k], "stem param {k} = {}", v[k]);
                }
            }
            for k in 0..MASTER_PARAMS {
                assert!(s.master[k] >= mlo[k] && s.master[k] <= mhi[k], "master {k}");
            }
        }
    }
}
