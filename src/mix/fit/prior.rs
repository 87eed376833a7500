//! Domain-knowledge priors, per instrument class (the one place that maps
//! classes to mixing conventions).
//!
//! Levels and pans come from Diff-MST's knowledge-engineering table
//! (ALGORITHMS.md §2.6); compressor limits from the same table; attack,
//! release and knee defaults are ours (typical engineering starting points,
//! not fitted: the AF features carry no information that pins them down).

use crate::mix::console::Class;
use serde::{Deserialize, Serialize};

/// What is typical for a class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassPrior {
    /// Fader range of the KE table, dB, for tracks normalised to equal
    /// loudness (−48 LUFS there): only the differences between classes
    /// matter here.
    pub level_db: (f64, f64),
    /// Whether the class belongs in the centre (lead vocal, bass, kick,
    /// snare).
    pub centred: bool,
    /// Starting |pan| for a class that is not centred.
    pub pan_default: f64,
    /// |pan| beyond which the prior penalises.
    pub pan_max: f64,
    /// Largest ratio the table uses for the class.
    pub ratio_max: f64,
    /// Default threshold relative to the stem's loud peaks (the 95th
    /// percentile of its block peak levels), dB.
    pub threshold_rel_db: f64,
    /// Attack, ms.
    pub attack_ms: f64,
    /// Release, ms.
    pub release_ms: f64,
    /// Knee width, dB.
    pub knee_db: f64,
}

/// The prior for `class`.
pub fn class_prior(class: Class) -> ClassPrior {
    // (level lo, hi, centred, pan default, pan max, ratio max, attack, release)
    let (lo, hi, centred, pd, pm, rmax, att, rel) = match class {
        Class::MainVocals => (-8.5, -6.5, true, 0.0, 0.15, 2.5, 5.0, 120.0),
        Class::SupportVocals => (-10.5, -8.5, false, 0.7, 0.9, 2.5, 10.0, 150.0),
        Class::Bass => (-11.5, -8.5, true, 0.0, 0.15, 3.0, 15.0, 200.0),
        Class::BassDrum => (-13.0, -11.0, true, 0.0, 0.15, 4.0, 10.0, 100.0),
        // Snare, toms, kits: the snare sits in the middle, toms spread up
        // to the table's ±0.4.
        Class::Percussion1 => (-12.0, -9.0, true, 0.0, 0.4, 4.0, 5.0, 100.0),
        Class::Percussion2 => (-13.0, -10.0, false, 0.7, 0.9, 2.0, 5.0, 80.0),
        Class::Percussion3 => (-15.0, -13.0, false, 0.8, 1.0, 2.0, 5.0, 80.0),
        Class::Guitar => (-11.0, -9.0, false, 0.4, 0.6, 3.0, 15.0, 150.0),
        Class::Keys => (-13.0, -10.0, false, 0.4, 0.6, 4.0, 20.0, 200.0),
        Class::Synth => (-13.0, -10.0, false, 0.4, 0.6, 4.0, 20.0, 200.0),
        Class::OrchestralStrings => (-13.0, -10.0, false, 0.7, 0.9, 3.0, 30.0, 300.0),
        Class::Woodwinds => (-13.0, -11.0, false, 0.5, 0.9, 3.0, 20.0, 200.0),
        Class::BassWoodwinds => (-11.0, -9.0, false, 0.3, 0.6, 3.0, 20.0, 200.0),
        Class::Brass => (-13.0, -11.0, false, 0.5, 0.9, 3.0, 10.0, 150.0),
        Class::LowBrass => (-12.0, -9.0, false, 0.3, 0.6, 3.0, 10.0, 150.0),
        Class::Misc => (-15.0, -13.0, false, 0.3, 0.6, 1.5, 20.0, 200.0),
    };
    ClassPrior {
        level_db: (lo, hi),
        centred,
        pan_default: pd,
        pan_max: pm,
        ratio_max: rmax,
        threshold_rel_db: -10.0,
        attack_ms: att,
        release_ms: rel,
        knee_db: 6.0,
    }
}

/// The master compressor's starting attack, ms (fitted). Fast, so that
/// compression the reference calls for can reach its peaks: with a slow
/// attack transients pass and compressing the body *raises* the crest
/// factor, a slope that would lead the fit away from any compression.
pub const MASTER_ATTACK_MS: f64 = 1.0;
/// The master compressor's starting release, ms (fitted).
pub const MASTER_RELEASE_MS: f64 = 50.0;
/// Master knee, dB.
pub const MASTER_KNEE_DB: f64 = 6.0;
/// Default master threshold above the working loudness, dB (peaks of a mix
/// at −18 LUFS sit around −8 dBFS).
pub const MASTER_THRESHOLD_REL_DB: f64 = 8.0;
/// Largest master ratio the KE table uses.
pub const MASTER_RATIO_MAX: f64 = 3.0;

/// Strength of each prior (penalties are added to the AF loss).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriorWeights {
    /// Class level ranges are widened by this much on each side, dB.
    pub level_margin_db: f64,
    /// Per dB² a stem's level (relative to the others) lies outside its
    /// widened class range.
    pub level: f64,
    /// Per dB² of common-mode drift of all stems from their class levels
    /// (fixes the overall level, which the loudness-normalised loss cannot
    /// see).
    pub level_common: f64,
    /// Per unit² of pan for centred classes.
    pub pan_centre: f64,
    /// Per unit² of |pan| beyond the class's maximum.
    pub pan_range: f64,
    /// Per dB² of EQ gain (small: it only picks the smallest EQ moves among
    /// equally good ones).
    pub eq: f64,
    /// EQ moves beyond this are penalised more, dB.
    pub eq_bound_db: f64,
    /// Per dB² of EQ gain beyond `eq_bound_db`.
    pub eq_outside: f64,
    /// Per unit² of compressor slope u = 1 − 1/ratio: "no compression the
    /// reference's dynamics do not call for".
    pub compression: f64,
    /// Per unit² of slope beyond the class's largest ratio.
    pub compression_outside: f64,
    /// Per dB² of threshold away from the class default.
    pub threshold: f64,
    /// Per unit² of ln(master attack or release time) away from its
    /// default.
    pub ballistics: f64,
}

impl Default for PriorWeights {
    fn default() -> PriorWeights {
        PriorWeights {
            level_margin_db: 4.0,
            level: 2e-3,
            level_common: 1e-3,
            pan_centre: 0.05,
            pan_range: 0.05,
            eq: 1e-5,
            eq_bound_db: 6.0,
            eq_outside: 1e-3,
            compression: 5e-3,
            compression_outside: 0.05,
            threshold: 1e-5,
            ballistics: 2e-5,
        }
    }
}

/// The class priors' balance: each stem's loudness relative to the whole
/// mix's (dB), at the middle of its class's level range, scaled so the
/// active stems (`active[s]`) sum to 0 dB in power.
pub fn balanced_levels(classes: &[ClassPrior], active: &[bool]) -> Vec<f64> {
    let mids: Vec<f64> = classes
        .iter()
        .map(|c| 0.5 * (c.level_db.0 + c.level_db.1))
        .collect();
    let power: f64 = mids
        .iter()
        .zip(active)
        .filter(|(_, &a)| a)
        .map(|(m, _)| 10f64.powf(m / 10.0))
        .sum();
    let offset = -10.0 * power.max(1e-30).log10();
    mids.iter().map(|m| offset + m).collect()
}

/// A hinge: how far `x` lies outside `[-h, h]`, signed.
pub(crate) fn hinge(x: f64, h: f64) -> f64 {
    if x > h {
        x - h
    } else if x < -h {
        x + h
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_sane_prior() {
        for c in Class::ALL {
            let p = class_prior(c);
            assert!(p.level_db.0 < p.level_db.1, "{c}");
            assert!(p.pan_max >= p.pan_default && p.pan_max <= 1.0, "{c}");
            assert!(p.ratio_max >= 1.0 && p.ratio_max <= 10.0, "{c}");
        }
        assert!(class_prior(Class::MainVocals).centred && class_prior(Class::Bass).centred);
        assert!(class_prior(Class::BassDrum).centred && class_prior(Class::Percussion1).centred);
    }
}
