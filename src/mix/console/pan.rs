//! Pan laws. Every stem is stereo, so pan is a pair of gains applied to the
//! stem's left and right channels; the law says which pair.
//!
//! - [`PanLaw::Balance`] (the default): a stereo balance control, 0 dB at the
//!   centre. Panning right by `p` leaves the right channel alone and scales
//!   the left by `1 − p` (and symmetrically to the left). This is what
//!   REAPER's default track pan mode, "stereo balance / mono pan", does to a
//!   stereo source with the 0 dB project pan law, and what Ableton Live's
//!   pan knob does on a stereo track; the linear taper is our reading of
//!   both [belief: the writers should confirm the taper against the DAW].
//! - [`PanLaw::SineTaper`]: both channels follow the sin/cos pan pot,
//!   `gL = cos(θ)^e`, `gR = sin(θ)^e` with θ = (p + 1)·π/4, and the exponent
//!   `e` chosen so the centre gain is `centre_db` (−3.01 dB: the
//!   constant-power law, e = 1; −6.02 dB: e = 2; −4.5 dB: Diff-MST's
//!   compromise centre). The hard-panned side is at 0 dB.
//!
//! The writers take the law from [`crate::mix::console::ConsoleParams`], so a
//! session gets the same gains the fit assumed.

use serde::{Deserialize, Serialize};

/// How a pan position becomes left and right gains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "law")]
pub enum PanLaw {
    /// Stereo balance, 0 dB at the centre, linear taper on the far side.
    #[default]
    Balance,
    /// Sin/cos pan pot on both channels with the given centre gain, dB
    /// (negative).
    SineTaper {
        /// Gain of each channel at the centre, dB.
        centre_db: f64,
    },
}

impl PanLaw {
    /// The constant-power (−3.01 dB centre) sin/cos law.
    pub const CONSTANT_POWER: PanLaw = PanLaw::SineTaper {
        centre_db: -3.010_299_956_639_812,
    };

    /// Left and right gains for pan `p` in −1 (left) … +1 (right); values
    /// outside are clamped.
    pub fn gains(&self, p: f64) -> (f64, f64) {
        self.gains_and_slopes(p).0
    }

    /// The gains and their derivatives with respect to `p` (one-sided at the
    /// balance law's kink at 0: the slope of the side `p` is on, zero at 0).
    pub(crate) fn gains_and_slopes(&self, p: f64) -> ((f64, f64), (f64, f64)) {
        let p = p.clamp(-1.0, 1.0);
        match *self {
            PanLaw::Balance => {
                if p > 0.0 {
                    ((1.0 - p, 1.0), (-1.0, 0.0))
                } else if p < 0.0 {
                    ((1.0, 1.0 + p), (0.0, 1.0))
                } else {
                    ((1.0, 1.0), (0.0, 0.0))
                }
            }
            PanLaw::SineTaper { centre_db } => {
                let e = centre_db / (20.0 * std::f64::consts::FRAC_1_SQRT_2.log10());
                let th = (p + 1.0) * std::f64::consts::FRAC_PI_4;
                let (s, c) = th.sin_cos();
                let gl = c.max(0.0).powf(e);
                let gr = s.max(0.0).powf(e);
                // d/dp cos^e θ = −e cos^(e−1) θ sin θ · π/4 (0 at the end
                // where the gain is 0 and e > 1).
                let k = std::f64::consts::FRAC_PI_4 * e;
                let dl = if c > 0.0 {
                    -k * c.powf(e - 1.0) * s
                } else {
                    0.0
                };
                let dr = if s > 0.0 {
                    k * s.powf(e - 1.0) * c
                } else {
                    0.0
                };
                ((gl, gr), (dl, dr))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_endpoints() {
        let b = PanLaw::Balance;
        assert_eq!(b.gains(0.0), (1.0, 1.0));
        assert_eq!(b.gains(1.0), (0.0, 1.0));
        assert_eq!(b.gains(-1.0), (1.0, 0.0));
        assert_eq!(b.gains(0.25), (0.75, 1.0));
    }

    #[test]
    fn constant_power_keeps_power() {
        for i in 0..=20 {
            let p = -1.0 + 0.1 * f64::from(i);
            let (l, r) = PanLaw::CONSTANT_POWER.gains(p);
            // sin² + cos² = 1 to rounding.
            assert!((l * l + r * r - 1.0).abs() < 1e-12, "{p}");
        }
    }

    #[test]
    fn slopes_match_finite_differences() {
        for law in [
            PanLaw::CONSTANT_POWER,
            PanLaw::SineTaper { centre_db: -4.5 },
            PanLaw::Balance,
        ] {
            for p in [-0.7, -0.2, 0.3, 0.8] {
                let h = 1e-6;
                let (a, b) = (law.gains(p + h), law.gains(p - h));
                let (_, (dl, dr)) = law.gains_and_slopes(p);
                // Central differences on smooth pieces: error ≈ h² ≈ 1e-12.
                assert!((dl - (a.0 - b.0) / (2.0 * h)).abs() < 1e-7, "{law:?} {p}");
                assert!((dr - (a.1 - b.1) / (2.0 * h)).abs() < 1e-7, "{law:?} {p}");
            }
        }
    }
}
