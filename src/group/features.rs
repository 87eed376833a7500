//! Feature fallback: a rough instrument guess from analysis results, for
//! tracks whose name and file names match no rule.
//!
//! The rules, in order. Thresholds are coarse on purpose: they only have to
//! beat "Other", and a wrong guess is worse than none. They were checked on
//! the analysis of `premix generate`'s instruments (tests/it/groups.rs),
//! where, for example, a kick is voiced (its pitch sweep) and guitars are
//! as percussive as some drums; real recordings will vary.
//!
//! 1. **Silent**: less than 0.5 s above the activity gate → `Other`, `misc`,
//!    background. Nothing to balance.
//! 2. **Drum-like**: percussiveness ≥ 0.9, or ≥ 0.6 with a voiced ratio
//!    below 0.6 or a centroid below 2 kHz (plucked and struck tonal
//!    instruments reach 0.6 too, but are voiced and brighter; tuned toms are
//!    voiced but more percussive still) → `Drums`, the class by centroid:
//!    below 2.5 kHz `bass_drum`, above 10 kHz `percussion_2` (hats), else
//!    `percussion_1` (snare, toms).
//! 3. **Bright transients**: percussiveness ≥ 0.35, voiced ratio < 0.35 and
//!    centroid above 5 kHz (overheads, shakers) → `Drums`, `percussion_2`.
//! 4. **Bass-like**: voiced ratio ≥ 0.5, median F0 below 100 Hz and
//!    centroid below 400 Hz → `Bass`, `bass`. A low F0 alone is not enough:
//!    pitch trackers often lock onto the bass notes of chords, so keys, pads
//!    and organs report low F0s too, with more energy above.
//! 5. **Noise-like**: voiced ratio < 0.2, percussiveness < 0.3 and centroid
//!    above 2 kHz (sustained, unpitched, bright: ambience, noise, risers) →
//!    `FX`, `misc`, background.
//! 6. **Tonal, unknown**: voiced ratio ≥ 0.5 otherwise → `Other`, `misc`,
//!    normal; the reason says it is tonal, so a user rule can take it from
//!    there. Voices, guitars and keys are not told apart from these numbers.
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
        if p >= 0.9 || (p >= 0.6 && (voiced < 0.6 || c < 2000.0)) {
            return Some(if c < 2500.0 {
                guess("Drums", Class::BassDrum, Role::Normal, "kick-like")
            } else if c > 10_000.0 {
                guess("Drums", Class::Percussion2, Role::Normal, "hat-like")
            } else {
                guess("Drums", Class::Percussion1, Role::Normal, "drum-like")
            });
        }
        if p >= 0.35 && voiced < 0.35 && c > 5000.0 {
            return Some(guess(
                "Drums",
                Class::Percussion2,
                Role::Normal,
                "cymbal/shaker-like",
            ));
        }
    }
    if voiced >= 0.5 {
        if let (Some(f0), Some(c)) = (f.f0_hz, centroid) {
            if f0 < 100.0 && c < 400.0 {
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
        let drums = |class| Some(("Drums", class, Role::Normal));
        // A kick with a pitch sweep: voiced, but dark.
        assert_eq!(
            c(features(0.7, 0.78, Some(57.0), 1700.0)),
            drums(Class::BassDrum)
        );
        assert_eq!(
            c(features(0.8, 0.4, Some(96.0), 7100.0)),
            drums(Class::Percussion1)
        );
        assert_eq!(
            c(features(1.0, 0.0, None, 12900.0)),
            drums(Class::Percussion2)
        );
        assert_eq!(
            c(features(0.5, 0.3, None, 9800.0)),
            drums(Class::Percussion2)
        );
        // A tuned tom: voiced, but very percussive.
        assert_eq!(
            c(features(0.95, 0.65, Some(113.0), 4600.0)),
            drums(Class::Percussion1)
        );
        // A strummed guitar: as percussive, but voiced and bright.
        assert_eq!(
            c(features(0.6, 0.8, Some(55.0), 2400.0)),
            Some(("Other", Class::Misc, Role::Normal))
        );
        assert_eq!(
            c(features(0.2, 0.9, Some(55.0), 200.0)),
            Some(("Bass", Class::Bass, Role::Normal))
        );
        // Low F0 from a chord's root, but energy above: not a bass.
        assert_eq!(
            c(features(0.1, 0.95, Some(49.0), 490.0)),
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
        // (kick-like: percussive and dark)
        assert_eq!(
            g.reason,
            "features: percussive 0.90, voiced 0.05, centroid 180 Hz → kick-like"
        );
    }
}
