//! The F0 the analysis uses: pYIN, the neural estimator (CREPE tiny), or
//! their ensemble, as the seed paper combines pYIN with a neural model
//! (ALGORITHMS.md §1.3; the paper takes `max` of the two track means, which
//! lets an unvoiced neural estimate through: here voicing is per frame).
//!
//! # The ensemble, per active frame
//! pYIN's voicing is its HMM decision (voiced or not); CREPE's confidence is
//! its periodicity (the activation of the chosen bin).
//! * both voiced and within [`AGREE_CENTS`]: pYIN's F0 (its refined YIN
//!   trough is more precise than CREPE tiny's 20-cent bins, whose weighted
//!   average is biased by torchcrepe's flat weights);
//! * both voiced but disagreeing (typically an octave): CREPE's F0 when its
//!   periodicity is at least [`STRONG`], else pYIN's;
//! * only pYIN voiced: pYIN's F0;
//! * only CREPE confident (periodicity ≥ [`VOICED`]): CREPE's F0;
//! * neither: unvoiced.
//!
//! CREPE's decoder differs per estimator (weighted argmax alone, Viterbi in
//! the ensemble), by measurement: [`crepe_config`].
//!
//! Without ONNX Runtime or the model, the neural and ensemble estimators fall
//! back to pYIN with one notice per process ([`runtime::notice_once`]).

use super::crepe::{Crepe, CrepeConfig, CrepeFrame, Decoder};
use super::runtime::{self, MlError};
use crate::analysis::pitch::{self, PitchConfig, PitchStats, Pyin};
use std::sync::Arc;

/// CREPE periodicity from which a frame counts as voiced (white noise stays
/// below 0.4 in the fixture, the test tones above 0.55 once settled).
pub const VOICED: f64 = 0.5;
/// CREPE periodicity that overrules a disagreeing pYIN.
pub const STRONG: f64 = 0.8;
/// Estimates this close (cents) agree.
pub const AGREE_CENTS: f64 = 50.0;

/// Which F0 estimator the analysis uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum F0Estimator {
    /// Probabilistic YIN only (no runtime needed).
    #[default]
    Pyin,
    /// CREPE tiny through ONNX Runtime.
    Neural,
    /// pYIN and CREPE per frame (module documentation).
    Ensemble,
}

impl F0Estimator {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            F0Estimator::Pyin => "pyin",
            F0Estimator::Neural => "neural",
            F0Estimator::Ensemble => "ensemble",
        }
    }
}

impl std::str::FromStr for F0Estimator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "pyin" => Ok(F0Estimator::Pyin),
            "neural" | "crepe" => Ok(F0Estimator::Neural),
            "ensemble" => Ok(F0Estimator::Ensemble),
            _ => Err(format!(
                "unknown F0 estimator `{s}` (pyin, neural or ensemble)"
            )),
        }
    }
}

/// The F0 statistics and how they were obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct F0Outcome {
    pub stats: PitchStats,
    /// The estimator actually used (pYIN after a fallback).
    pub used: F0Estimator,
    /// Why the neural model was not used, when it was asked for.
    pub fallback: Option<MlError>,
}

/// Combines one frame's estimates (module documentation).
pub fn combine(pyin_f0: Option<f64>, crepe: Option<CrepeFrame>) -> Option<f64> {
    let c = crepe.filter(|c| c.periodicity >= VOICED && c.f0_hz > 0.0);
    match (pyin_f0, c) {
        (Some(p), Some(c)) => {
            let cents = 1200.0 * (p / c.f0_hz).log2().abs();
            if cents <= AGREE_CENTS || c.periodicity < STRONG {
                Some(p)
            } else {
                Some(c.f0_hz)
            }
        }
        (Some(p), None) => Some(p),
        (None, Some(c)) => Some(c.f0_hz),
        (None, None) => None,
    }
}

/// The CREPE frame nearest to `t` seconds (frames every `hop_s`, frame 0 at 0).
fn nearest(frames: &[CrepeFrame], hop_s: f64, t: f64) -> Option<CrepeFrame> {
    if frames.is_empty() {
        return None;
    }
    let i = (t / hop_s).round().clamp(0.0, (frames.len() - 1) as f64) as usize;
    Some(frames[i])
}

/// The CREPE decoding each estimator uses, chosen by measurement on 114
/// sampled-instrument notes (FluidR3_GM; `ml::sampled_report`) and 16
/// synthetic ones (`ml::ensemble_report`):
/// * neural alone: the weighted argmax. torchcrepe's Viterbi has fewer gross
///   (> 50 cent) frames (1.8 % against 7.8 %) but its periodicity, the
///   activation at the smoothed path's bin, is often below [`VOICED`]: 65 %
///   of active frames voiced against 94 %, and 38 of 114 notes without a
///   usable F0 against 10 (bass notes mostly); it also quantises to bin
///   centres (every equal-tempered note lies 6.1 cents from one). The low
///   periodicity is torchcrepe's own behaviour (checked with torchcrepe on
///   a rendered bass note: 2005.5 Hz, periodicity ~0, on every frame): the
///   edge rows of its normalised transition reward staying at the top bin
///   by ~0.6 nats a frame, about what the near-flat softmax emissions
///   reward a real peak, so a path that starts in silence can stay there.
/// * ensemble: Viterbi. pYIN gives the voicing and the fine pitch, CREPE
///   arbitrates disagreements, where the smoothed path errs less: 1.4 %
///   gross frames against 1.8 %, the same note-level figures.
pub fn crepe_config(ensemble: bool) -> CrepeConfig {
    CrepeConfig {
        decoder: if ensemble {
            Decoder::Viterbi
        } else {
            Decoder::WeightedArgmax
        },
        ..CrepeConfig::default()
    }
}

/// Neural or ensemble statistics with a loaded model (no fallback), with
/// the estimator's decoding ([`crepe_config`]).
pub fn analyze_neural(
    slots: &[Vec<f32>],
    input_rate: u32,
    cfg: &PitchConfig,
    gate_ms: f64,
    crepe: &Crepe,
    ensemble: bool,
) -> Result<PitchStats, MlError> {
    analyze_neural_with(
        slots,
        input_rate,
        cfg,
        gate_ms,
        crepe,
        &crepe_config(ensemble),
        ensemble,
    )
}

/// [`analyze_neural`] with explicit CREPE decoding settings.
pub fn analyze_neural_with(
    slots: &[Vec<f32>],
    input_rate: u32,
    cfg: &PitchConfig,
    gate_ms: f64,
    crepe: &Crepe,
    ccfg: &CrepeConfig,
    ensemble: bool,
) -> Result<PitchStats, MlError> {
    let mut f0s = Vec::new();
    let mut active = 0usize;
    for slot in slots {
        let frames = active_frames(slot, input_rate, cfg, gate_ms, crepe, ccfg, ensemble)?;
        active += frames.len();
        f0s.extend(frames.into_iter().flatten());
    }
    Ok(pitch::stats_from(f0s, active, cfg))
}

/// The active frames of one slot and their F0 (`None`: unvoiced), by the
/// neural estimator (`ensemble` false: CREPE frames every 10 ms, active when
/// the model's 64 ms window around them is) or the ensemble (pYIN's frames
/// and activity, each combined with the nearest CREPE frame).
pub fn active_frames(
    slot: &[f32],
    input_rate: u32,
    cfg: &PitchConfig,
    gate_ms: f64,
    crepe: &Crepe,
    ccfg: &CrepeConfig,
    ensemble: bool,
) -> Result<Vec<Option<f64>>, MlError> {
    let rate = f64::from(input_rate);
    let hop_in = (input_rate / 100).max(1) as usize;
    let hop_s = hop_in as f64 / rate;
    let cr = crepe.track(slot, input_rate, ccfg)?;
    let mut out = Vec::new();
    if ensemble {
        let pyin = Pyin::new(cfg, input_rate);
        let (frame_len, hop) = pyin.framing();
        let x = pyin.decimate(slot);
        for (i, fr) in pyin.track(&x).into_iter().enumerate() {
            if fr.mean_square < gate_ms || fr.mean_square == 0.0 {
                continue;
            }
            let t = (i * hop) as f64 / pyin.rate() + frame_len as f64 / (2.0 * pyin.rate());
            out.push(combine(fr.f0_hz, nearest(&cr, hop_s, t)));
        }
    } else {
        // The activity gate over the model's 64 ms window around each frame.
        let half = (0.032 * rate).round() as usize;
        for (j, c) in cr.iter().enumerate() {
            let centre = j * hop_in;
            let lo = centre.saturating_sub(half).min(slot.len());
            let hi = (centre + half).min(slot.len());
            if hi <= lo {
                continue;
            }
            let ms = slot[lo..hi]
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                / (hi - lo) as f64;
            if ms < gate_ms || ms == 0.0 {
                continue;
            }
            out.push((c.periodicity >= VOICED).then_some(c.f0_hz));
        }
    }
    Ok(out)
}

/// F0 statistics of `slots` (mono, `input_rate` Hz) by `estimator`, with the
/// model `crepe` (or why there is none). A drop-in for
/// [`pitch::analyze`]: frames count as active when their mean square is at
/// least `gate_ms`. The neural estimators fall back to pYIN (one notice per
/// process) when the model is unavailable or fails.
pub fn analyze_with(
    slots: &[Vec<f32>],
    input_rate: u32,
    cfg: &PitchConfig,
    gate_ms: f64,
    estimator: F0Estimator,
    crepe: Result<Arc<Crepe>, MlError>,
) -> F0Outcome {
    let fallback = |err: MlError| {
        runtime::notice_once(&err, "using pYIN for F0");
        F0Outcome {
            stats: pitch::analyze(slots, input_rate, cfg, gate_ms),
            used: F0Estimator::Pyin,
            fallback: Some(err),
        }
    };
    match estimator {
        F0Estimator::Pyin => F0Outcome {
            stats: pitch::analyze(slots, input_rate, cfg, gate_ms),
            used: F0Estimator::Pyin,
            fallback: None,
        },
        F0Estimator::Neural | F0Estimator::Ensemble => match crepe {
            Err(e) => fallback(e),
            Ok(m) => match analyze_neural(
                slots,
                input_rate,
                cfg,
                gate_ms,
                &m,
                estimator == F0Estimator::Ensemble,
            ) {
                Ok(stats) => F0Outcome {
                    stats,
                    used: estimator,
                    fallback: None,
                },
                Err(e) => fallback(e),
            },
        },
    }
}

/// [`analyze_with`] with the process-wide model ([`Crepe::shared`]), loaded
/// only when a neural estimator is asked for.
pub fn analyze(
    slots: &[Vec<f32>],
    input_rate: u32,
    cfg: &PitchConfig,
    gate_ms: f64,
    estimator: F0Estimator,
) -> F0Outcome {
    let crepe = match estimator {
        F0Estimator::Pyin => Err(MlError::Model {
            path: super::crepe::MODEL_REL.into(),
            reason: "not needed".into(),
        }),
        _ => Crepe::shared(),
    };
    analyze_with(slots, input_rate, cfg, gate_ms, estimator, crepe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf(f0_hz: f64, periodicity: f64) -> Option<CrepeFrame> {
        Some(CrepeFrame { f0_hz, periodicity })
    }

    #[test]
    fn voicing_and_disagreement() {
        // Agreement: pYIN's value.
        assert_eq!(combine(Some(220.0), cf(221.0, 0.9)), Some(220.0));
        // Octave disagreement: a confident CREPE wins, a hesitant one not.
        assert_eq!(combine(Some(440.0), cf(220.0, 0.9)), Some(220.0));
        assert_eq!(combine(Some(440.0), cf(220.0, 0.6)), Some(440.0));
        // Only one voiced.
        assert_eq!(combine(Some(100.0), cf(300.0, 0.2)), Some(100.0));
        assert_eq!(combine(None, cf(300.0, 0.7)), Some(300.0));
        // Neither confident: unvoiced.
        assert_eq!(combine(None, cf(300.0, 0.3)), None);
        assert_eq!(combine(None, None), None);
    }

    #[test]
    fn decoders_as_measured() {
        // crepe_config's documentation gives the measurements.
        assert_eq!(crepe_config(false).decoder, Decoder::WeightedArgmax);
        assert_eq!(crepe_config(true).decoder, Decoder::Viterbi);
        assert_eq!(crepe_config(true).fmin_hz, CrepeConfig::default().fmin_hz);
    }

    #[test]
    fn names_round_trip() {
        for e in [
            F0Estimator::Pyin,
            F0Estimator::Neural,
            F0Estimator::Ensemble,
        ] {
            assert_eq!(e.as_str().parse::<F0Estimator>(), Ok(e));
        }
        assert!("yin".parse::<F0Estimator>().is_err());
    }
}
