//! IIR filters used by the measurements: biquad sections in `f64`, the
//! BS.1770-4 K-weighting pair, and Butterworth high/low-pass designs of any
//! order (order 1 is the seed paper's 6 dB/octave filter).
//!
//! Designs use the bilinear transform with frequency pre-warping, as
//! `scipy.signal.butter(order, fc, btype, fs=fs, output="sos")` does, so the
//! Python reference and this code apply the same filter.

use std::f64::consts::PI;

/// One second-order section in transposed direct form II. A first-order
/// section has `b2 = a2 = 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Biquad {
    /// Feed-forward coefficient of x[n].
    pub b0: f64,
    /// Feed-forward coefficient of x[n−1].
    pub b1: f64,
    /// Feed-forward coefficient of x[n−2].
    pub b2: f64,
    /// Feedback coefficient of y[n−1].
    pub a1: f64,
    /// Feedback coefficient of y[n−2].
    pub a2: f64,
    s1: f64,
    s2: f64,
}

impl Biquad {
    /// A section from normalised coefficients (a0 = 1).
    pub fn new(b: [f64; 3], a: [f64; 3]) -> Biquad {
        let a0 = a[0];
        Biquad {
            b0: b[0] / a0,
            b1: b[1] / a0,
            b2: b[2] / a0,
            a1: a[1] / a0,
            a2: a[2] / a0,
            s1: 0.0,
            s2: 0.0,
        }
    }

    /// Filters one sample.
    #[inline(always)]
    pub fn tick(&mut self, x: f64) -> f64 {
        let y = self.b0 * x + self.s1;
        self.s1 = self.b1 * x - self.a1 * y + self.s2;
        self.s2 = self.b2 * x - self.a2 * y;
        y
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }

    /// Magnitude response at `f` Hz for sample rate `fs`.
    pub fn magnitude(&self, f: f64, fs: f64) -> f64 {
        let w = 2.0 * PI * f / fs;
        let (c1, s1) = (w.cos(), w.sin());
        let (c2, s2) = ((2.0 * w).cos(), (2.0 * w).sin());
        let num = (
            self.b0 + self.b1 * c1 + self.b2 * c2,
            -(self.b1 * s1 + self.b2 * s2),
        );
        let den = (
            1.0 + self.a1 * c1 + self.a2 * c2,
            -(self.a1 * s1 + self.a2 * s2),
        );
        ((num.0 * num.0 + num.1 * num.1) / (den.0 * den.0 + den.1 * den.1)).sqrt()
    }
}

/// The same cascade with consecutive first-order sections multiplied into
/// second-order ones (one recursion instead of two per pair: the refined
/// loudness's HP1 + LP1 become a single band-pass biquad).
pub fn merge_first_order(chain: &[Biquad]) -> Vec<Biquad> {
    let first = |b: &Biquad| b.b2 == 0.0 && b.a2 == 0.0;
    let mut out: Vec<Biquad> = Vec::with_capacity(chain.len());
    for q in chain {
        match out.last_mut() {
            Some(prev) if first(prev) && first(q) => {
                *prev = Biquad::new(
                    [
                        prev.b0 * q.b0,
                        prev.b0 * q.b1 + prev.b1 * q.b0,
                        prev.b1 * q.b1,
                    ],
                    [1.0, prev.a1 + q.a1, prev.a1 * q.a1],
                );
            }
            _ => out.push(*q),
        }
    }
    out
}

/// The two BS.1770-4 K-weighting stages (high shelf, then RLB high-pass) at
/// any sample rate, with the analogue-derived coefficients of libebur128
/// (also pyloudnorm's `filter_class="DeMan"`); at 48 kHz they equal the
/// table in BS.1770-4 Annex 1.
pub fn k_weighting(fs: f64) -> [Biquad; 2] {
    // Stage 1: high shelf, +4 dB above ~1.7 kHz (head acoustics).
    let f0 = 1_681.974_450_955_533;
    let g = 3.999_843_853_973_347;
    let q = 0.707_175_236_955_419_6;
    let k = (PI * f0 / fs).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.499_666_774_154_541_6);
    let a0 = 1.0 + k / q + k * k;
    let shelf = Biquad::new(
        [
            (vh + vb * k / q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / q + k * k) / a0,
        ],
        [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    );
    // Stage 2: the RLB high-pass at ~38 Hz.
    let f0 = 38.135_470_876_024_44;
    let q = 0.500_327_037_323_877_3;
    let k = (PI * f0 / fs).tan();
    let a0 = 1.0 + k / q + k * k;
    let rlb = Biquad::new(
        [1.0, -2.0, 1.0],
        [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    );
    [shelf, rlb]
}

/// Filter type for [`butterworth`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    Low,
    High,
}

/// A Butterworth low- or high-pass of `order` (≥ 1) at `fc` Hz as cascaded
/// sections, designed like `scipy.signal.butter(order, fc, btype, fs=fs)`:
/// −3 dB at `fc`, 6·order dB/octave beyond it.
pub fn butterworth(pass: Pass, order: u32, fc: f64, fs: f64) -> Vec<Biquad> {
    let order = order.max(1);
    // Pre-warped analogue cut-off for the bilinear transform (with T = 2/fs
    // folded into k).
    let k = (PI * fc / fs).tan();
    let mut sections = Vec::new();
    // Analogue prototype poles on the unit circle: s_m = exp(iθ_m) with
    // θ_m = π/2 + π(2m+1)/(2n); pairs give 2nd-order sections with
    // denominator s² + 2·sin(φ)·s + 1, φ = π(2m+1)/(2n).
    let n = order as usize;
    for m in 0..n / 2 {
        let phi = PI * (2 * m + 1) as f64 / (2 * n) as f64;
        let zeta2 = 2.0 * phi.sin(); // 1/Q
        let a0 = k * k + zeta2 * k + 1.0;
        let a1 = 2.0 * (k * k - 1.0);
        let a2 = k * k - zeta2 * k + 1.0;
        let b = match pass {
            Pass::Low => [k * k, 2.0 * k * k, k * k],
            Pass::High => [1.0, -2.0, 1.0],
        };
        sections.push(Biquad::new(b, [a0, a1, a2]));
    }
    if n % 2 == 1 {
        let a0 = k + 1.0;
        let a1 = k - 1.0;
        let b = match pass {
            Pass::Low => [k, k, 0.0],
            Pass::High => [1.0, -1.0, 0.0],
        };
        sections.push(Biquad::new(b, [a0, a1, 0.0]));
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cascade_mag(s: &[Biquad], f: f64, fs: f64) -> f64 {
        s.iter().map(|b| b.magnitude(f, fs)).product()
    }

    #[test]
    fn butterworth_is_minus_3_db_at_cutoff_for_every_order() {
        for order in 1..=4 {
            for pass in [Pass::Low, Pass::High] {
                let s = butterworth(pass, order, 1000.0, 48_000.0);
                let db = 20.0 * cascade_mag(&s, 1000.0, 48_000.0).log10();
                // −3.0103 dB by definition of the Butterworth cut-off.
                assert!((db + 3.0103).abs() < 1e-6, "{pass:?} order {order}: {db}");
            }
        }
    }

    #[test]
    fn first_order_slope_is_6_db_per_octave_far_from_cutoff() {
        let s = butterworth(Pass::High, 1, 1000.0, 48_000.0);
        let a = cascade_mag(&s, 50.0, 48_000.0);
        let b = cascade_mag(&s, 100.0, 48_000.0);
        // Two octaves below the cut-off a first-order slope is 6.02 dB/oct
        // within 0.1 dB (the knee is still felt).
        assert!((20.0 * (b / a).log10() - 6.02).abs() < 0.1);
    }

    #[test]
    fn merged_first_order_sections_have_the_same_response() {
        let mut chain = butterworth(Pass::High, 1, 200.0, 48_000.0);
        chain.extend(butterworth(Pass::Low, 1, 400.0, 48_000.0));
        let merged = merge_first_order(&chain);
        assert_eq!(merged.len(), 1);
        for f in [20.0, 100.0, 283.0, 1000.0, 10_000.0] {
            let a = cascade_mag(&chain, f, 48_000.0);
            let b = cascade_mag(&merged, f, 48_000.0);
            assert!((a / b - 1.0).abs() < 1e-12, "{f}: {a} vs {b}");
        }
    }

    #[test]
    fn k_weighting_matches_bs1770_table_at_48k() {
        // BS.1770-4 Annex 1, Tables 1 and 2 (48 kHz coefficients).
        let [shelf, rlb] = k_weighting(48_000.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-8;
        assert!(close(shelf.b0, 1.535_124_859_586_97));
        assert!(close(shelf.b1, -2.691_696_189_406_38));
        assert!(close(shelf.b2, 1.198_392_810_852_85));
        assert!(close(shelf.a1, -1.690_659_293_182_41));
        assert!(close(shelf.a2, 0.732_480_774_215_85));
        assert!(close(rlb.a1, -1.990_047_454_833_98));
        assert!(close(rlb.a2, 0.990_072_250_366_21));
    }
}
