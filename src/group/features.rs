//! Feature fallback: a rough instrument guess from analysis results, for
//! tracks whose name and file names match no rule.
//!
//! The rules, in order (thresholds are deliberately coarse: they only have
//! to beat "Other", and a wrong guess is worse than none):
//!
//! 1. **Silent**: less than 0.5 s above the activity gate → `Other`, `misc`,
//!    background. Nothing to balance.
//! 2. **Drum-like**: percussiveness ≥ 0.6 and voiced ratio < 0.5 (sparse
//!    transients with no stable pitch) → `Drums`, the class by spectral
//!    centroid: below 500 Hz `bass_drum` (kick energy sits at 50–150 Hz with
//!    a click far weaker), above 5 kHz `percussion_2` (hats, cymbals), else
//!    `percussion_1` (snare, toms, hand drums).
//! 3. **Bass-like**: voiced ratio ≥ 0.5, median F0 below 100 Hz and
//!    centroid below 1 kHz → `Bass`, `bass`. Bass lines sit at 41–100 Hz;
//!    male voices and guitars have a median F0 above 100 Hz and a centroid
//!    well above 1 kHz.
//! 4. **Noise-like**: voiced ratio < 0.2, percussiveness < 0.3 and centroid
//!    above 2 kHz (sustained, unpitched, bright: ambience, noise, risers) →
//!    `FX`, `misc`, background.
//! 5. **Tonal, unknown**: voiced ratio ≥ 0.5 otherwise → `Other`, `misc`,
//!    normal; the reason says it is tonal, so a user rule can take it from
//!    there. Voices, guitars and keys are not told apart from these four
//!    numbers.
//!
//! Anything else gives no guess.

use super::{Class, Role};
use crate::analysis::Features;

/// A guess from features.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Guess {
    pub group: &'static str,
    pub class: Class,
    pub role: Role,
    pub reason: String,
}

/// Seconds of active audio below which a track counts as silent.
const MIN_ACTIVE_S: f64 = 0.5;

/// The fallback rules above.
pub(crate) fn classify(f: &Features) -> Option<Guess> {
    let guess = |group, class, role, what: &str| Guess {
        group,
        class,
        role,
        reason: format!("features: {} → {what}", describe(f)),
    };
    if f.active_s < MIN_ACTIVE_S {
        return Some(Guess {
            group: "Other",
            class: Class::Misc,
            role: Role::Background,
            reason: format!("features: silent ({:.1} s active)", f.active_s),
        });
    }
    let perc = f.percussiveness;
    let voiced = f.voiced_ratio;
    let centroid = f.centroid_hz;
    if let (Some(p), Some(c)) = (perc, centroid) {
        if p >= 0.6 && voiced < 0.5 {
            return Some(if c < 500.0 {
                guess("Drums", Class::BassDrum, Role::Normal, "kick-like")
            } else if c > 5000.0 {
                guess("Drums", Class::Percussion2, Role::Normal, "hat/cymbal-like")
            } else {
                guess("Drums", Class::Percussion1, Role::Normal, "drum-like")
            });
        }
    }
    if voiced >= 0.5 {
        if let (Some(f0), Some(c)) = (f.f0_hz, centroid) {
            if f0 < 100.0 && c < 1000.0 {
                return Some(guess("Bass", Class::Bass, Role::Normal, "bass-like"));
            }
        }
        if f.f0_hz.is_some() {
            return Some(guess(
                "Other",
                Class::Misc,
                Role::Normal,
                "tonal, instrument not recognised",
            ));
        }
    }
    if let (Some(p), Some(c)) = (perc, centroid) {
        if voiced < 0.2 && p < 0.3 && c > 2000.0 {
            return Some(guess("FX", Class::Misc, Role::Background, "noise-like"));
        }
    }
    None
}

/// The numbers the rules looked at, for the reason.
fn describe(f: &Features) -> String {
    let mut parts = Vec::new();
    if let Some(p) = f.percussiveness {
        parts.push(format!("percussive {p:.2}"));
    }
    parts.push(format!("voiced {:.2}", f.voiced_ratio));
    if let Some(f0) = f.f0_hz {
        parts.push(format!("F0 {f0:.0} Hz"));
    }
    if let Some(c) = f.centroid_hz {
        parts.push(format!("centroid {c:.0} Hz"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(perc: f64, voiced: f64, f0: Option<f64>, centroid: f64) -> Features {
        Features {
            percussiveness: Some(perc),
            voiced_ratio: voiced,
            f0_hz: f0,
            centroid_hz: Some(centroid),
            active_s: 30.0,
            ..Features::default()
        }
    }

    #[test]
    fn each_rule() {
        let c = |f: Features| classify(&f).map(|g| (g.group, g.class, g.role));
        assert_eq!(
            c(features(0.9, 0.05, None, 180.0)),
            Some(("Drums", Class::BassDrum, Role::Normal))
        );
        assert_eq!(
            c(features(0.8, 0.1, None, 2500.0)),
            Some(("Drums", Class::Percussion1, Role::Normal))
        );
        assert_eq!(
            c(features(0.7, 0.0, None, 9000.0)),
            Some(("Drums", Class::Percussion2, Role::Normal))
        );
        assert_eq!(
            c(features(0.2, 0.9, Some(55.0), 300.0)),
            Some(("Bass", Class::Bass, Role::Normal))
        );
        assert_eq!(
            c(features(0.2, 0.8, Some(220.0), 2500.0)),
            Some(("Other", Class::Misc, Role::Normal))
        );
        assert_eq!(
            c(features(0.1, 0.05, None, 6000.0)),
            Some(("FX", Class::Misc, Role::Background))
        );
        // Sustained, unpitched and dark: no rule applies.
        assert_eq!(c(features(0.1, 0.05, None, 800.0)), None);
        let silent = Features {
            active_s: 0.0,
            ..Features::default()
        };
        assert_eq!(c(silent), Some(("Other", Class::Misc, Role::Background)));
    }

    #[test]
    fn reason_names_the_numbers() {
        let g = classify(&features(0.9, 0.05, None, 180.0)).unwrap();
        assert_eq!(
            g.reason,
            "features: percussive 0.90, voiced 0.05, centroid 180 Hz → kick-like"
        );
    }
}
