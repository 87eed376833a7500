//! The six-band parametric EQ: RBJ Audio-EQ-Cookbook biquads in the order
//! low shelf, four peaking bands, high shelf (ALGORITHMS.md §2.2).
//!
//! The coefficient formulas are the cookbook's, with the shelves' slope set
//! by Q (the `2·√A·α` form, α = sin ω0 / (2Q)), exactly as Diff-MST's
//! dasp-pytorch console. Unlike dasp (frequency sampling, a truncated
//! impulse response), sections run as ordinary IIR filters in transposed
//! direct form II with `f64` state, so the response is the exact biquad
//! response. A band at 0 dB is an exact identity and is skipped.
//!
//! Band frequency ranges are chosen inside what both REAPER's ReaEQ (any
//! frequency) and Ableton's EQ Eight (10 Hz–22 kHz, Q 0.1–18, ±15 dB) accept,
//! so a fitted setting can be written to either without clamping.

use serde::{Deserialize, Serialize};
use std::ops::{Add, Div, Mul, Neg, Sub};

/// Number of EQ bands.
pub const N_BANDS: usize = 6;
/// Band gain range, dB.
pub const GAIN_RANGE_DB: (f64, f64) = (-12.0, 12.0);
/// Q range (all bands).
pub const Q_RANGE: (f64, f64) = (0.1, 5.0);
/// Frequency range of each band, Hz: low shelf, peaks 1–4, high shelf.
pub const FREQ_RANGES_HZ: [(f64, f64); N_BANDS] = [
    (20.0, 500.0),
    (40.0, 1000.0),
    (100.0, 3000.0),
    (400.0, 8000.0),
    (1000.0, 16000.0),
    (1500.0, 18000.0),
];
/// Default band frequencies, Hz: spread over the spectrum (about 1.3–1.5
/// octaves apart) so the bands together can tilt any region.
pub const DEFAULT_FREQS_HZ: [f64; N_BANDS] = [120.0, 300.0, 800.0, 2000.0, 5000.0, 10000.0];
/// Default Q: 0.707 for the shelves (no overshoot), 0.8 for the peaks
/// (about 1.7 octaves wide, so neighbouring default bands overlap smoothly).
pub const DEFAULT_Q: [f64; N_BANDS] = [0.707, 0.8, 0.8, 0.8, 0.8, 0.707];
/// Band kinds in console order.
pub const KINDS: [BandKind; N_BANDS] = [
    BandKind::LowShelf,
    BandKind::Peak,
    BandKind::Peak,
    BandKind::Peak,
    BandKind::Peak,
    BandKind::HighShelf,
];

/// The shape of one EQ band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BandKind {
    /// RBJ low shelf.
    LowShelf,
    /// RBJ peaking EQ (bell).
    Peak,
    /// RBJ high shelf.
    HighShelf,
}

/// One EQ band in real units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EqBand {
    /// Shape.
    pub kind: BandKind,
    /// Centre (peak) or corner (shelf, the cookbook's f0) frequency, Hz.
    pub freq_hz: f64,
    /// Gain, dB.
    pub gain_db: f64,
    /// Cookbook Q (bandwidth for peaks, slope for shelves).
    pub q: f64,
}

/// A six-band EQ: low shelf, four peaks, high shelf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EqParams {
    /// The bands in console order.
    pub bands: [EqBand; N_BANDS],
}

impl Default for EqParams {
    fn default() -> EqParams {
        EqParams::flat()
    }
}

impl EqParams {
    /// All bands at 0 dB on the default frequencies and Qs.
    pub fn flat() -> EqParams {
        EqParams::with_gains([0.0; N_BANDS])
    }

    /// Default frequencies and Qs with the given gains, dB.
    pub fn with_gains(gains_db: [f64; N_BANDS]) -> EqParams {
        let bands = std::array::from_fn(|i| EqBand {
            kind: KINDS[i],
            freq_hz: DEFAULT_FREQS_HZ[i],
            gain_db: gains_db[i],
            q: DEFAULT_Q[i],
        });
        EqParams { bands }
    }

    /// Whether every band is at 0 dB (the EQ is an identity).
    pub fn is_flat(&self) -> bool {
        self.bands.iter().all(|b| b.gain_db == 0.0)
    }

    /// Clamp every band into the console's ranges.
    pub fn clamp(&mut self) {
        for (i, b) in self.bands.iter_mut().enumerate() {
            b.kind = KINDS[i];
            b.freq_hz = b.freq_hz.clamp(FREQ_RANGES_HZ[i].0, FREQ_RANGES_HZ[i].1);
            b.gain_db = b.gain_db.clamp(GAIN_RANGE_DB.0, GAIN_RANGE_DB.1);
            b.q = b.q.clamp(Q_RANGE.0, Q_RANGE.1);
        }
    }

    /// The cascade's magnitude response at `freq_hz`, dB.
    pub fn response_db(&self, freq_hz: f64, sample_rate: f64) -> f64 {
        self.bands
            .iter()
            .map(|b| {
                10.0 * Biquad::design(b, sample_rate)
                    .response_sq(freq_hz, sample_rate)
                    .log10()
            })
            .sum()
    }
}

/// Arithmetic the coefficient formulas need, so they can run on `f64` and
/// on [`Dual`] numbers (for exact gain derivatives in the fit).
pub(crate) trait Scalar:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    fn cst(x: f64) -> Self;
    fn sqrt(self) -> Self;
    fn exp(self) -> Self;
}

impl Scalar for f64 {
    fn cst(x: f64) -> f64 {
        x
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn exp(self) -> f64 {
        f64::exp(self)
    }
}

/// A forward-mode dual number: a value and its derivative with respect to
/// one input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Dual {
    pub v: f64,
    pub d: f64,
}

impl Dual {
    pub fn var(v: f64) -> Dual {
        Dual { v, d: 1.0 }
    }
}

impl Add for Dual {
    type Output = Dual;
    fn add(self, o: Dual) -> Dual {
        Dual {
            v: self.v + o.v,
            d: self.d + o.d,
        }
    }
}
impl Sub for Dual {
    type Output = Dual;
    fn sub(self, o: Dual) -> Dual {
        Dual {
            v: self.v - o.v,
            d: self.d - o.d,
        }
    }
}
impl Mul for Dual {
    type Output = Dual;
    fn mul(self, o: Dual) -> Dual {
        Dual {
            v: self.v * o.v,
            d: self.d * o.v + self.v * o.d,
        }
    }
}
impl Div for Dual {
    type Output = Dual;
    fn div(self, o: Dual) -> Dual {
        Dual {
            v: self.v / o.v,
            d: (self.d * o.v - self.v * o.d) / (o.v * o.v),
        }
    }
}
impl Neg for Dual {
    type Output = Dual;
    fn neg(self) -> Dual {
        Dual {
            v: -self.v,
            d: -self.d,
        }
    }
}
impl Scalar for Dual {
    fn cst(x: f64) -> Dual {
        Dual { v: x, d: 0.0 }
    }
    fn sqrt(self) -> Dual {
        let s = self.v.sqrt();
        Dual {
            v: s,
            d: self.d / (2.0 * s),
        }
    }
    fn exp(self) -> Dual {
        let e = self.v.exp();
        Dual {
            v: e,
            d: self.d * e,
        }
    }
}

/// Unnormalised cookbook coefficients `([b0, b1, b2], [a0, a1, a2])`.
pub(crate) fn cookbook<T: Scalar>(
    kind: BandKind,
    freq_hz: f64,
    gain_db: T,
    q: f64,
    sample_rate: f64,
) -> ([T; 3], [T; 3]) {
    // Keep the corner below Nyquist so the design stays stable whatever the
    // sample rate.
    let f = freq_hz.clamp(1.0, 0.49 * sample_rate);
    let w0 = std::f64::consts::TAU * f / sample_rate;
    let (sn, cs) = w0.sin_cos();
    let alpha = T::cst(sn / (2.0 * q));
    let c = T::cst(cs);
    let one = T::cst(1.0);
    let two = T::cst(2.0);
    // A = 10^(G/40).
    let a = (gain_db * T::cst(std::f64::consts::LN_10 / 40.0)).exp();
    match kind {
        BandKind::Peak => (
            [one + alpha * a, -two * c, one - alpha * a],
            [one + alpha / a, -two * c, one - alpha / a],
        ),
        BandKind::LowShelf => {
            let k = two * a.sqrt() * alpha;
            let (ap, am) = (a + one, a - one);
            (
                [
                    a * (ap - am * c + k),
                    two * a * (am - ap * c),
                    a * (ap - am * c - k),
                ],
                [ap + am * c + k, -two * (am + ap * c), ap + am * c - k],
            )
        }
        BandKind::HighShelf => {
            let k = two * a.sqrt() * alpha;
            let (ap, am) = (a + one, a - one);
            (
                [
                    a * (ap + am * c + k),
                    -two * a * (am + ap * c),
                    a * (ap + am * c - k),
                ],
                [ap - am * c + k, two * (am - ap * c), ap - am * c - k],
            )
        }
    }
}

/// `|B(e^{jω})|² / |A(e^{jω})|²` for unnormalised coefficients, in the
/// cookbook's `φ = sin²(ω/2)` form, which stays accurate at low frequencies
/// where the plain expansion in cos ω cancels catastrophically. `phi` is
/// sin²(ω/2).
pub(crate) fn response_sq_of<T: Scalar>(b: &[T; 3], a: &[T; 3], phi: f64) -> T {
    let (four, sixteen) = (T::cst(4.0), T::cst(16.0));
    let p = T::cst(phi);
    let quad = |c: &[T; 3]| {
        let s = c[0] + c[1] + c[2];
        s * s - four * (c[0] * c[1] + four * c[0] * c[2] + c[1] * c[2]) * p
            + sixteen * c[0] * c[2] * p * p
    };
    quad(b) / quad(a)
}

/// sin²(ω/2) for `freq_hz` at `sample_rate`.
pub(crate) fn phi_of(freq_hz: f64, sample_rate: f64) -> f64 {
    let s = (std::f64::consts::PI * freq_hz / sample_rate).sin();
    s * s
}

/// One biquad section with `a0` normalised to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Biquad {
    /// Feed-forward coefficients b0, b1, b2.
    pub b: [f64; 3],
    /// Feedback coefficients a1, a2 (a0 = 1).
    pub a: [f64; 2],
}

impl Biquad {
    /// The cookbook design of `band` at `sample_rate`.
    pub fn design(band: &EqBand, sample_rate: f64) -> Biquad {
        let (b, a) = cookbook(band.kind, band.freq_hz, band.gain_db, band.q, sample_rate);
        Biquad {
            b: [b[0] / a[0], b[1] / a[0], b[2] / a[0]],
            a: [a[1] / a[0], a[2] / a[0]],
        }
    }

    /// `|H(f)|²`.
    pub fn response_sq(&self, freq_hz: f64, sample_rate: f64) -> f64 {
        response_sq_of(
            &self.b,
            &[1.0, self.a[0], self.a[1]],
            phi_of(freq_hz, sample_rate),
        )
    }
}

/// A running six-band EQ on a stereo signal.
#[derive(Clone, Debug)]
pub struct Eq {
    sections: Vec<Biquad>,
    // [s1, s2] per section and channel.
    state: Vec<[[f64; 2]; 2]>,
}

impl Eq {
    /// An EQ with `params` at `sample_rate`; 0 dB bands are left out (they
    /// are exact identities).
    pub fn new(params: &EqParams, sample_rate: f64) -> Eq {
        Eq::from_bands(&params.bands, sample_rate)
    }

    /// An EQ of any number of bands in the given order (a DAW's EQ read
    /// from a session, say); 0 dB bands are left out.
    pub fn from_bands(bands: &[EqBand], sample_rate: f64) -> Eq {
        let sections: Vec<Biquad> = bands
            .iter()
            .filter(|b| b.gain_db != 0.0)
            .map(|b| Biquad::design(b, sample_rate))
            .collect();
        let state = vec![[[0.0; 2]; 2]; sections.len()];
        Eq { sections, state }
    }

    /// Whether the EQ does nothing.
    pub fn is_identity(&self) -> bool {
        self.sections.is_empty()
    }

    /// Filter a block in place (left and right planes of equal length).
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        debug_assert_eq!(left.len(), right.len());
        // Cascades of up to six sections run in one loop; longer EQs (only
        // ever read from sessions) run six at a time.
        for (sections, state) in self.sections.chunks(6).zip(self.state.chunks_mut(6)) {
            match sections.len() {
                1 => cascade::<1>(sections, state, left, right),
                2 => cascade::<2>(sections, state, left, right),
                3 => cascade::<3>(sections, state, left, right),
                4 => cascade::<4>(sections, state, left, right),
                5 => cascade::<5>(sections, state, left, right),
                _ => cascade::<6>(sections, state, left, right),
            }
        }
    }
}

/// Run `N` sections in cascade, sample by sample, both channels in one
/// loop. Keeping the whole cascade in the loop body lets the CPU overlap
/// section k of one sample with section k+1 of the previous one, instead
/// of waiting on one section's recurrence at a time.
fn cascade<const N: usize>(
    sections: &[Biquad],
    state: &mut [[[f64; 2]; 2]],
    left: &mut [f32],
    right: &mut [f32],
) {
    let c: [[f64; 5]; N] = std::array::from_fn(|k| {
        let s = &sections[k];
        [s.b[0], s.b[1], s.b[2], s.a[0], s.a[1]]
    });
    let mut st: [[f64; 4]; N] = std::array::from_fn(|k| {
        [
            state[k][0][0],
            state[k][0][1],
            state[k][1][0],
            state[k][1][1],
        ]
    });
    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
        let mut xl = f64::from(*l);
        let mut xr = f64::from(*r);
        for k in 0..N {
            let [b0, b1, b2, a1, a2] = c[k];
            let s = &mut st[k];
            let yl = b0 * xl + s[0];
            let yr = b0 * xr + s[2];
            s[0] = b1 * xl - a1 * yl + s[1];
            s[2] = b1 * xr - a1 * yr + s[3];
            s[1] = b2 * xl - a2 * yl;
            s[3] = b2 * xr - a2 * yr;
            xl = yl;
            xr = yr;
        }
        *l = xl as f32;
        *r = xr as f32;
    }
    // Flush a decayed state to zero so long silences never reach subnormal
    // numbers (which are very slow on x86).
    let tiny = |x: f64| if x.abs() < 1e-30 { 0.0 } else { x };
    for k in 0..N {
        state[k] = [
            [tiny(st[k][0]), tiny(st[k][1])],
            [tiny(st[k][2]), tiny(st[k][3])],
        ];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_gain_bands_are_identities() {
        for kind in KINDS {
            let band = EqBand {
                kind,
                freq_hz: 1000.0,
                gain_db: 0.0,
                q: 0.7,
            };
            let bq = Biquad::design(&band, 48000.0);
            assert!((bq.b[0] - 1.0).abs() < 1e-15 && (bq.b[1] - bq.a[0]).abs() < 1e-15);
            assert!((bq.b[2] - bq.a[1]).abs() < 1e-15);
        }
    }

    #[test]
    fn dual_gain_derivative_matches_finite_difference() {
        for kind in KINDS {
            let (f, q, sr, g) = (700.0, 1.3, 44100.0, 4.5);
            let phi = phi_of(900.0, sr);
            let resp = |g: f64| {
                let (b, a) = cookbook(kind, f, g, q, sr);
                response_sq_of(&b, &a, phi)
            };
            let (b, a) = cookbook(kind, f, Dual::var(g), q, sr);
            let d = response_sq_of(&b, &a, phi);
            let h = 1e-3;
            let fd = (resp(g + h) - resp(g - h)) / (2.0 * h);
            // Central differences with h = 1e-3 dB: truncation O(h²·|f'''|)
            // ≈ 1e-9 here, rounding ≈ 1e-16/h ≈ 1e-13.
            assert!(
                (d.d - fd).abs() < 1e-8 * (1.0 + fd.abs()),
                "{kind:?}: {} vs {fd}",
                d.d
            );
            assert!((d.v - resp(g)).abs() < 1e-14);
        }
    }

    #[test]
    fn peak_gain_at_centre_is_the_band_gain() {
        let band = EqBand {
            kind: BandKind::Peak,
            freq_hz: 1000.0,
            gain_db: 6.0,
            q: 2.0,
        };
        let db = 10.0
            * Biquad::design(&band, 48000.0)
                .response_sq(1000.0, 48000.0)
                .log10();
        // The cookbook peak reaches exactly G at f0 (up to rounding).
        assert!((db - 6.0).abs() < 1e-9, "{db}");
    }
}
