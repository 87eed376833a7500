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
    /// Smoothed gain in dB (≤ 0).
    state_db: f64,
    /// Per-sample gain computer outputs, then smoothed gains, dB.
    scratch: Vec<f32>,
}

impl Compressor {
    /// A compressor with `params` at `sample_rate`, starting relaxed.
    pub fn new(params: &CompParams, sample_rate: f64) -> Compressor {
        let p = *params;
        Compressor {
            u: 1.0 - 1.0 / p.ratio.max(1.0),
            alpha_attack: smoothing_coeff(p.attack_ms, sample_rate),
            alpha_release: smoothing_coeff(p.release_ms, sample_rate),
            state_db: 0.0,
            scratch: Vec::new(),
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
        let (aa, ar, u, knee, thr) = (
            self.alpha_attack,
            self.alpha_release,
            self.u,
            self.p.knee_db,
            self.p.threshold_db,
        );
        // 20·log10(x) = DB_PER_LOG2 · log2(x); 10^(g/20) = 2^(g·LOG2_PER_DB).
        const DB_PER_LOG2: f32 = 20.0 * std::f32::consts::LOG10_2;
        const LOG2_PER_DB: f32 = std::f32::consts::LOG2_10 / 20.0;
        let n = left.len();
        self.scratch.resize(n, 0.0);
        let buf = &mut self.scratch[..n];
        // Three passes over the block: the level detector and gain computer
        // (no dependency between samples, so the compiler vectorises it),
        // the attack/release recursion (inherently sequential, kept tiny),
        // then the gains (vectorised again).
        let (uf, thrf, half) = (u as f32, thr as f32, (0.5 * knee) as f32);
        let knee_inv = if knee > 0.0 {
            (1.0 / (2.0 * knee)) as f32
        } else {
            0.0
        };
        for ((g, &l), &r) in buf.iter_mut().zip(left.iter()).zip(right.iter()) {
            let x = l.abs().max(r.abs()).max(1e-30);
            let over = DB_PER_LOG2 * log2_f32(x) - thrf;
            let t = (over + half).max(0.0);
            let soft = -uf * t * t * knee_inv;
            *g = if over >= half { -uf * over } else { soft };
        }
        let mut s = self.state_db;
        for g in buf.iter_mut() {
            let gd = f64::from(*g);
            let a = if gd < s { aa } else { ar };
            s = a * s + (1.0 - a) * gd;
            // A gain reduction below a micro-decibel is inaudible; flushing
            // it keeps the state from creeping towards subnormals.
            if s > -1e-6 {
                s = 0.0;
            }
            *g = (s + makeup) as f32;
        }
        for ((l, r), &g) in left.iter_mut().zip(right.iter_mut()).zip(buf.iter()) {
            let lin = exp2_f32(g * LOG2_PER_DB);
            *l *= lin;
            *r *= lin;
        }
        if let Some(o) = gain_db_out {
            o.copy_from_slice(buf);
        }
        self.state_db = s;
    }
}

/// log2 of a positive number (normal or not tiny), to within 1e-7 (the
/// series of ln m = 2·atanh((m − 1)/(m + 1)) on the mantissa m ∈ [√½, √2),
/// truncated after t⁹ with |t| < 0.172). Branch-free, so a loop over a
/// block vectorises, unlike calls into libm.
#[inline]
fn log2_f32(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = if big { e + 1 } else { e };
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = 1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 / 9.0)));
    e as f32 + 2.0 * std::f32::consts::LOG2_E * t * series
}

/// 2^y for y in −126…126 (clamped), to within 2e-7 relative (Taylor series
/// of e^(f·ln 2) on the fractional part f ∈ [0, 1) to the 8th power).
#[inline]
fn exp2_f32(y: f32) -> f32 {
    let y = y.clamp(-126.0, 126.0);
    let n = y.floor();
    let z = (y - n) * std::f32::consts::LN_2;
    let p = 1.0
        + z * (1.0
            + z * (1.0 / 2.0
                + z * (1.0 / 6.0
                    + z * (1.0 / 24.0
                        + z * (1.0 / 120.0
                            + z * (1.0 / 720.0 + z * (1.0 / 5040.0 + z / 40320.0)))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_log2_and_exp2_are_accurate() {
        let mut x = 1e-6f64;
        while x < 1e3 {
            // 2e-7 in log2 is 1.2e-6 dB (f32 rounding of the result itself
            // is ~1e-7 relative); 3e-7 relative in a gain is 2.6e-6 dB.
            let l = f64::from(super::log2_f32(x as f32));
            assert!(
                (l - (x as f32 as f64).log2()).abs() < 2e-7 * (1.0 + l.abs()),
                "{x}"
            );
            let y = (x.ln() * 3.0).sin() * 40.0;
            let e = f64::from(super::exp2_f32(y as f32));
            assert!((e / (y as f32 as f64).exp2() - 1.0).abs() < 3e-7, "{y}");
            x *= 1.37;
        }
    }

    /// The gain applied to the signal is the gain reported, to f32
    /// precision, in and out of compression.
    #[test]
    fn applied_gain_matches_reported_gain() {
        let p = CompParams {
            threshold_db: -20.0,
            ratio: 4.0,
            knee_db: 6.0,
            attack_ms: 5.0,
            release_ms: 50.0,
            makeup_db: 3.0,
        };
        let mut c = Compressor::new(&p, 48000.0);
        let mut l: Vec<f32> = (0..20000)
            .map(|i| ((i as f32) * 0.05).sin() * if i < 10000 { 0.9 } else { 0.01 })
            .collect();
        let mut r: Vec<f32> = l.iter().map(|x| -0.5 * x).collect();
        let l0 = l.clone();
        let mut g = vec![0.0f32; l.len()];
        c.process(&mut l, &mut r, Some(&mut g));
        let mut compressed = 0;
        for i in 0..l.len() {
            if l0[i].abs() > 1e-3 {
                let applied = 20.0 * (f64::from(l[i]) / f64::from(l0[i])).log10();
                // f32 samples and a 2e-7 relative gain error: 1e-5 dB.
                assert!(
                    (applied - f64::from(g[i])).abs() < 1e-5,
                    "sample {i}: {applied} vs {}",
                    g[i]
                );
            }
            if g[i] < 0.0 {
                compressed += 1;
            }
        }
        assert!(compressed > 1000, "the loud half must be compressed");
    }

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
