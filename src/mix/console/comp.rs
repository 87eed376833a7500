//! The feed-forward compressor: a soft-knee gain computer (Giannoulis,
//! Massberg & Reiss, JAES 2012) on an instantaneous peak detector, with
//! separate attack and release one-pole smoothing of the gain computer's
//! output in dB, then make-up gain. No look-ahead.
//!
//! - **Side-chain:** the *maximum* of the two channels' absolute values,
//!   sample by sample (a linked stereo peak detector). Both channels get
//!   the same gain, so the stereo image does not shift when one side is
//!   louder. (Diff-MST sums the channels; with the maximum a hard-panned
//!   source compresses the same as when centred.)
//! - **Gain computer**, level x in dB, threshold T, ratio R, knee W:
//!   `x < T − W/2`: 0; `|x − T| ≤ W/2`: `(1/R − 1)(x − T + W/2)² / (2W)`;
//!   `x > T + W/2`: `(1/R − 1)(x − T)`.
//! - **Ballistics:** `s[n] = α s[n−1] + (1 − α) g[n]`, with α the attack
//!   coefficient while the gain reduction grows (`g[n] < s[n−1]`) and the
//!   release coefficient while it recovers. `α = exp(−ln 9 / (fs·t))`, so a
//!   step of the gain computer output goes from 10 % to 90 % of its way in
//!   exactly `t` seconds (Diff-MST's convention, ALGORITHMS.md §2.2). Diff-MST
//!   ignores the release time; here it is honoured.
//! - **Output:** `y = x · 10^((s + make-up)/20)`.

use serde::{Deserialize, Serialize};

/// Threshold range, dBFS.
pub const THRESHOLD_RANGE_DB: (f64, f64) = (-60.0, 0.0);
/// Ratio range.
pub const RATIO_RANGE: (f64, f64) = (1.0, 10.0);
/// Knee width range, dB.
pub const KNEE_RANGE_DB: (f64, f64) = (0.0, 12.0);
/// Attack range, ms.
pub const ATTACK_RANGE_MS: (f64, f64) = (1.0, 250.0);
/// Release range, ms.
pub const RELEASE_RANGE_MS: (f64, f64) = (10.0, 1000.0);
/// Make-up gain range, dB.
pub const MAKEUP_RANGE_DB: (f64, f64) = (0.0, 12.0);

/// Compressor settings in real units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompParams {
    /// Threshold, dBFS (peak level of the side-chain).
    pub threshold_db: f64,
    /// Ratio (1 = no compression).
    pub ratio: f64,
    /// Soft-knee width, dB (0 = hard knee).
    pub knee_db: f64,
    /// Attack, ms (10–90 % time of the gain reduction's rise).
    pub attack_ms: f64,
    /// Release, ms (10–90 % time of its recovery).
    pub release_ms: f64,
    /// Make-up gain, dB.
    pub makeup_db: f64,
}

impl Default for CompParams {
    fn default() -> CompParams {
        CompParams::bypass()
    }
}

impl CompParams {
    /// Ratio 1 and no make-up: an exact identity.
    pub fn bypass() -> CompParams {
        CompParams {
            threshold_db: -20.0,
            ratio: 1.0,
            knee_db: 6.0,
            attack_ms: 10.0,
            release_ms: 100.0,
            makeup_db: 0.0,
        }
    }

    /// Whether the compressor changes nothing.
    pub fn is_bypass(&self) -> bool {
        self.ratio <= 1.0 && self.makeup_db == 0.0
    }

    /// Clamp every setting into the console's ranges.
    pub fn clamp(&mut self) {
        let c = |x: f64, r: (f64, f64)| x.clamp(r.0, r.1);
        self.threshold_db = c(self.threshold_db, THRESHOLD_RANGE_DB);
        self.ratio = c(self.ratio, RATIO_RANGE);
        self.knee_db = c(self.knee_db, KNEE_RANGE_DB);
        self.attack_ms = c(self.attack_ms, ATTACK_RANGE_MS);
        self.release_ms = c(self.release_ms, RELEASE_RANGE_MS);
        self.makeup_db = c(self.makeup_db, MAKEUP_RANGE_DB);
    }

    /// The static curve: output level for a steady input level `x_db`
    /// (make-up included).
    pub fn static_output_db(&self, x_db: f64) -> f64 {
        x_db + gain_computer_db(
            x_db - self.threshold_db,
            1.0 - 1.0 / self.ratio,
            self.knee_db,
        ) + self.makeup_db
    }
}

/// The gain computer's output (≤ 0 dB) for a level `over_db` = x − T above
/// the threshold, with slope `u` = 1 − 1/R and knee width `knee_db`.
pub fn gain_computer_db(over_db: f64, u: f64, knee_db: f64) -> f64 {
    let half = 0.5 * knee_db;
    if over_db <= -half {
        0.0
    } else if over_db < half {
        let t = over_db + half;
        -u * t * t / (2.0 * knee_db)
    } else {
        -u * over_db
    }
}

/// The one-pole coefficient for a 10–90 % time of `time_ms` at
/// `sample_rate` (per step of `1/sample_rate` seconds).
pub fn smoothing_coeff(time_ms: f64, sample_rate: f64) -> f64 {
    (-(9f64.ln()) / (sample_rate * time_ms * 1e-3)).exp()
}

/// A running compressor on a stereo signal.
#[derive(Clone, Debug)]
pub struct Compressor {
    p: CompParams,
    u: f64,
    alpha_attack: f64,
    alpha_release: f64,
    /// Below this side-chain amplitude the gain computer outputs 0 dB.
    knee_floor: f32,
    /// Smoothed gain in dB (≤ 0).
    state_db: f64,
}

impl Compressor {
    /// A compressor with `params` at `sample_rate`, starting relaxed.
    pub fn new(params: &CompParams, sample_rate: f64) -> Compressor {
        let p = *params;
        Compressor {
            u: 1.0 - 1.0 / p.ratio.max(1.0),
            alpha_attack: smoothing_coeff(p.attack_ms, sample_rate),
            alpha_release: smoothing_coeff(p.release_ms, sample_rate),
            knee_floor: 10f64.powf((p.threshold_db - 0.5 * p.knee_db) / 20.0) as f32,
            state_db: 0.0,
            p,
        }
    }

    /// Whether the compressor changes nothing.
    pub fn is_identity(&self) -> bool {
        self.p.is_bypass()
    }

    /// Compress a block in place and write the applied gain (dB, make-up
    /// included) into `gain_db_out` when given (for tests and metering).
    pub fn process(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        gain_db_out: Option<&mut [f32]>,
    ) {
        debug_assert_eq!(left.len(), right.len());
        let makeup = self.p.makeup_db;
        let makeup_lin = 10f64.powf(makeup / 20.0) as f32;
        let (aa, ar, u, knee, thr) = (
            self.alpha_attack,
            self.alpha_release,
            self.u,
            self.p.knee_db,
            self.p.threshold_db,
        );
        let mut s = self.state_db;
        let mut out = gain_db_out;
        for i in 0..left.len() {
            let x = left[i].abs().max(right[i].abs());
            let g = if u > 0.0 && x > self.knee_floor {
                gain_computer_db(20.0 * f64::from(x).log10() - thr, u, knee)
            } else {
                0.0
            };
            s = if g < s {
                aa * s + (1.0 - aa) * g
            } else {
                ar * s + (1.0 - ar) * g
            };
            // A gain reduction below a micro-decibel is inaudible; flushing
            // it lets the common uncompressed case skip the exponential.
            if s > -1e-6 {
                s = 0.0;
            }
            let lin = if s == 0.0 {
                makeup_lin
            } else {
                ((s + makeup) * (std::f64::consts::LN_10 / 20.0)).exp() as f32
            };
            left[i] *= lin;
            right[i] *= lin;
            if let Some(o) = out.as_deref_mut() {
                o[i] = (s + makeup) as f32;
            }
        }
        self.state_db = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_curve_regions() {
        let p = CompParams {
            threshold_db: -20.0,
            ratio: 4.0,
            knee_db: 6.0,
            ..CompParams::bypass()
        };
        // Below the knee: unchanged.
        assert_eq!(p.static_output_db(-30.0), -30.0);
        // Above the knee: T + (x − T)/R.
        assert!((p.static_output_db(-8.0) - (-20.0 + 12.0 / 4.0)).abs() < 1e-12);
        // The knee is continuous at both ends.
        for edge in [-23.0, -17.0] {
            let (a, b) = (
                p.static_output_db(edge - 1e-9),
                p.static_output_db(edge + 1e-9),
            );
            assert!((a - b).abs() < 1e-7);
        }
    }

    #[test]
    fn ratio_one_is_identity() {
        let p = CompParams {
            threshold_db: -40.0,
            ..CompParams::bypass()
        };
        let mut c = Compressor::new(&p, 48000.0);
        let mut l: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).sin()).collect();
        let mut r = l.clone();
        let (l0, r0) = (l.clone(), r.clone());
        c.process(&mut l, &mut r, None);
        assert_eq!(l, l0);
        assert_eq!(r, r0);
    }
}
