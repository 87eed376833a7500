//! Stage 1: level balancing inside each group (ALGORITHMS.md §1.3), and the
//! group stems it produces for stage 2.
//!
//! The seed paper gains every track of a group to the same refined loudness
//! (the loudness after a band-pass around the 2nd–4th harmonics of F0), with
//! a cap so no boost pushes the peak over −1 dBFS. premix keeps that rule
//! and fixes or extends it:
//!
//! - the level that is balanced is what the track *plays*: its measured
//!   loudness (clips with their gains, pre-fader) plus its current fader;
//!   the result is a change relative to that, so a track already in place
//!   is not moved;
//! - the common target is the group's median played level (the paper's
//!   absolute −50 LUFS only matters for headroom, and stage 2 sets the level
//!   between groups anyway), offset by role ([`RoleOffsets`]) and, with
//!   `class_offsets`, by the knowledge-engineering table's per-class levels;
//! - the peak cap is on true peak (default −1 dBTP) and only limits boosts;
//! - gains are clamped to a documented range; silent tracks, tracks without
//!   a usable F0 (plain LUFS used), muted tracks and clamps are reported per
//!   track, with the reason.

pub mod stems;

use crate::analysis::iso532::Calibration;
use crate::analysis::perceptual;
use crate::analysis::session::TrackAnalysis;
use crate::group::{Class, Grouping, Role};
use crate::session::{gain_to_db, Session};
use serde::Serialize;

/// Which loudness measure stage 1 balances (`--loudness`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// BS.1770 integrated loudness (the paper's baseline).
    Lufs,
    /// LUFS after the F0 band-pass (the paper's proposed measure).
    F0band,
    /// LUFS after the spectral-centroid band-pass (the paper's variant).
    Centroid,
    /// ISO 532-1 (Zwicker, time-varying) N5 loudness level, as the LUFS of
    /// the equally loud dual-mono 1 kHz tone (`iso532_phon` − 99.99).
    Iso532,
    /// The fast perceptual estimator (`perceptual_lufs`).
    Perceptual,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Lufs => "lufs",
            Measure::F0band => "f0band",
            Measure::Centroid => "centroid",
            Measure::Iso532 => "iso532",
            Measure::Perceptual => "perceptual",
        }
    }
}

/// dB offsets from the group's target by role.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RoleOffsets {
    pub lead_db: f64,
    pub normal_db: f64,
    pub background_db: f64,
}

impl Default for RoleOffsets {
    /// Lead +3 dB, background −6 dB: a lead line sits just above its group
    /// (Pestana & Reiss's "lead vocal about as loud as the rest" at the mix
    /// level is stage 2's business), a background part clearly below.
    fn default() -> Self {
        RoleOffsets {
            lead_db: 3.0,
            normal_db: 0.0,
            background_db: -6.0,
        }
    }
}

impl RoleOffsets {
    fn of(&self, role: Role) -> f64 {
        match role {
            Role::Lead => self.lead_db,
            Role::Normal => self.normal_db,
            Role::Background => self.background_db,
        }
    }
}

/// Stage-1 settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BalanceConfig {
    pub measure: Measure,
    pub roles: RoleOffsets,
    /// Add the knowledge-engineering table's per-class offsets.
    pub class_offsets: bool,
    /// No boost may push a track's true peak above this, dBTP.
    pub max_true_peak_dbtp: f64,
    /// Changes are clamped to this range, dB.
    pub min_change_db: f64,
    pub max_change_db: f64,
}

impl Default for BalanceConfig {
    fn default() -> Self {
        BalanceConfig {
            // The fast perceptual estimator: on generated sessions it leaves
            // a mean within-group SD of 0.76 dB of gain that ISO 532-1 still
            // asks for, against 2.35–2.54 dB for lufs/f0band/centroid
            // (BENCHMARKS.md, issue 10).
            measure: Measure::Perceptual,
            roles: RoleOffsets::default(),
            class_offsets: false,
            max_true_peak_dbtp: -1.0,
            min_change_db: -24.0,
            max_change_db: 24.0,
        }
    }
}

/// The per-class level offsets of Diff-MST's knowledge-engineering table
/// (ALGORITHMS.md §2.6), as the midpoint of each class's fader range
/// relative to the lead vocal's midpoint (−7.5 dB). Only differences inside
/// a group matter.
pub fn class_offset_db(class: Class) -> f64 {
    // Midpoints of the table's ranges: lead vocal −8.5…−6.5 → −7.5 = 0 here.
    match class {
        Class::MainVocals => 0.0,           // −8.5 … −6.5
        Class::SupportVocals => -2.0,       // −10.5 … −8.5
        Class::Bass => -2.5,                // −11.5 … −8.5
        Class::BassDrum => -4.5,            // −13 … −11
        Class::Percussion1 => -3.0,         // −12 … −9
        Class::Percussion2 => -4.0,         // −13 … −10
        Class::Percussion3 => -6.5,         // −15 … −13
        Class::Guitar => -2.5,              // −11 … −9
        Class::Keys | Class::Synth => -4.0, // −13 … −10
        Class::OrchestralStrings => -4.0,   // −13 … −10
        Class::Woodwinds => -4.5,           // −13 … −11
        Class::BassWoodwinds => -2.5,       // −11 … −9
        Class::Brass => -4.5,               // −13 … −11
        Class::LowBrass => -3.0,            // −12 … −9
        Class::Misc => -6.5,                // −15 … −13
    }
}

/// What happened to one track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Gained to its target.
    Balanced,
    /// The boost was limited by the true-peak cap.
    PeakCapped,
    /// The change hit the clamp range.
    Clamped,
    /// Left as it is (silent, muted, failed, fader at −inf).
    Untouched,
}

/// Stage 1's decision for one track.
#[derive(Clone, Debug, Serialize)]
pub struct TrackBalance {
    pub index: usize,
    pub name: String,
    pub group: String,
    pub role: Role,
    pub class: Class,
    /// The measure actually used (plain LUFS when the refined one fell back).
    pub measure: Measure,
    /// The track's loudness in that measure as it plays now (fader
    /// included), LUFS; `None` for silence.
    pub played: Option<f64>,
    /// This track's target in the measure, LUFS.
    pub target: Option<f64>,
    /// Fader before, dB (`None` = −inf).
    pub old_gain_db: Option<f64>,
    /// The change stage 1 makes, dB.
    pub change_db: f64,
    /// Fader after, dB (`None` = −inf).
    pub new_gain_db: Option<f64>,
    pub outcome: Outcome,
    /// Why, in words, for the report.
    pub reasons: Vec<String>,
}

/// Stage 1's decision for one group.
#[derive(Clone, Debug, Serialize)]
pub struct GroupBalance {
    pub name: String,
    /// Member track indices, in session order.
    pub tracks: Vec<usize>,
    /// The group's common target before role/class offsets, LUFS.
    pub target: Option<f64>,
    /// Spread (max − min) of the members' balanced levels in the measure,
    /// excluding untouched tracks, LU.
    pub spread_lu: Option<f64>,
}

/// Stage 1's result.
#[derive(Clone, Debug, Serialize)]
pub struct Balance {
    pub config: BalanceConfig,
    pub tracks: Vec<TrackBalance>,
    pub groups: Vec<GroupBalance>,
}

impl Balance {
    /// The linear fader gain stage 1 gives track `index` (`None` if the track
    /// is not in any group).
    pub fn new_gain(&self, index: usize) -> Option<f64> {
        self.tracks
            .iter()
            .find(|t| t.index == index)
            .map(|t| t.new_gain_db.map_or(0.0, |db| 10f64.powf(db / 20.0)))
    }
}

/// The loudness of a track in `measure`, pre-fader, and whether it had to
/// fall back to plain LUFS. Analyses must have been made with the matching
/// refined band (F0 for `F0band`, centroid for `Centroid`).
fn measured(a: &TrackAnalysis, measure: Measure) -> (Option<f64>, Measure) {
    let f = &a.analysis.features;
    match measure {
        Measure::Lufs => (f.lufs, Measure::Lufs),
        Measure::F0band | Measure::Centroid => match a.analysis.refined_band_hz {
            Some(_) => (f.refined_lufs, measure),
            None => (f.lufs, Measure::Lufs),
        },
        Measure::Iso532 => match f.iso532_phon {
            Some(p) => (
                Some(p - perceptual::phon_to_lufs_offset(&Calibration::default())),
                measure,
            ),
            None => (f.lufs, Measure::Lufs),
        },
        Measure::Perceptual => match f.perceptual_lufs {
            Some(p) => (Some(p), measure),
            None => (f.lufs, Measure::Lufs),
        },
    }
}

/// Balances every group of `grouping`. `analyses[i]` is track `i`'s analysis.
pub fn balance(
    session: &Session,
    grouping: &Grouping,
    analyses: &[TrackAnalysis],
    cfg: &BalanceConfig,
) -> Balance {
    let mut tracks = Vec::new();
    let mut groups = Vec::new();
    for g in &grouping.groups {
        // Played level of each member in the measure.
        let mut rows: Vec<TrackBalance> = Vec::new();
        for gt in &g.tracks {
            let track = &session.tracks[gt.index];
            let a = analyses.iter().find(|a| a.index == gt.index);
            let mut reasons = Vec::new();
            let old_gain_db = gain_to_db(track.volume);
            let (level, used) = match a {
                Some(a) if a.error.is_none() => {
                    let (l, used) = measured(a, cfg.measure);
                    if used != cfg.measure && l.is_some() {
                        reasons.push(match cfg.measure {
                            Measure::F0band | Measure::Centroid => format!(
                                "no usable {} band (no F0 found): plain LUFS used",
                                cfg.measure.as_str()
                            ),
                            _ => format!(
                                "no {} loudness measured: plain LUFS used",
                                cfg.measure.as_str()
                            ),
                        });
                    }
                    (l, used)
                }
                Some(a) => {
                    reasons.push(format!(
                        "not analysed: {}",
                        a.error.as_deref().unwrap_or("")
                    ));
                    (None, cfg.measure)
                }
                None => {
                    reasons.push("not analysed".into());
                    (None, cfg.measure)
                }
            };
            let played = match (level, old_gain_db) {
                (Some(l), Some(g)) => Some(l + g),
                _ => None,
            };
            let mut outcome = Outcome::Balanced;
            if track.mute {
                reasons.push("muted: left as it is".into());
                outcome = Outcome::Untouched;
            } else if old_gain_db.is_none() {
                reasons.push("fader at -inf: left as it is".into());
                outcome = Outcome::Untouched;
            } else if level.is_none() && a.is_some_and(|a| a.error.is_none()) {
                reasons.push("silent: left as it is".into());
                outcome = Outcome::Untouched;
            } else if played.is_none() {
                outcome = Outcome::Untouched;
            }
            rows.push(TrackBalance {
                index: gt.index,
                name: gt.name.clone(),
                group: g.name.clone(),
                role: gt.role,
                class: gt.class,
                measure: used,
                played,
                target: None,
                old_gain_db,
                change_db: 0.0,
                new_gain_db: old_gain_db,
                outcome,
                reasons,
            });
        }

        // The group's common target: the median played level of the tracks
        // that take part (after removing each one's own offset, so that the
        // lead's offset does not drag the target).
        let offset = |r: &TrackBalance| {
            cfg.roles.of(r.role)
                + if cfg.class_offsets {
                    class_offset_db(r.class)
                } else {
                    0.0
                }
        };
        let mut levels: Vec<f64> = rows
            .iter()
            .filter(|r| r.outcome == Outcome::Balanced)
            .filter_map(|r| r.played.map(|p| p - offset(r)))
            .collect();
        levels.sort_by(f64::total_cmp);
        let target = (!levels.is_empty()).then(|| {
            let n = levels.len();
            if n % 2 == 1 {
                levels[n / 2]
            } else {
                (levels[n / 2 - 1] + levels[n / 2]) / 2.0
            }
        });

        for r in &mut rows {
            if r.outcome != Outcome::Balanced {
                continue;
            }
            let (Some(t), Some(played), Some(old)) = (target, r.played, r.old_gain_db) else {
                continue;
            };
            let my_target = t + offset(r);
            r.target = Some(my_target);
            let mut change = my_target - played;
            // True-peak cap on boosts: the peak as played is the measured
            // (pre-fader) true peak plus the fader.
            let tp = analyses
                .iter()
                .find(|a| a.index == r.index)
                .and_then(|a| a.analysis.features.true_peak_dbtp);
            if let Some(tp) = tp {
                let headroom = cfg.max_true_peak_dbtp - (tp + old);
                if change > 0.0 && change > headroom {
                    let capped = headroom.max(0.0);
                    r.reasons.push(format!(
                        "boost limited from {change:+.1} dB to {capped:+.1} dB by the {} dBTP true-peak cap",
                        cfg.max_true_peak_dbtp
                    ));
                    change = capped;
                    r.outcome = Outcome::PeakCapped;
                }
            }
            if change < cfg.min_change_db || change > cfg.max_change_db {
                let clamped = change.clamp(cfg.min_change_db, cfg.max_change_db);
                r.reasons.push(format!(
                    "change of {change:+.1} dB clamped to {clamped:+.1} dB (range {} … {} dB)",
                    cfg.min_change_db, cfg.max_change_db
                ));
                change = clamped;
                r.outcome = Outcome::Clamped;
            }
            r.change_db = change;
            r.new_gain_db = Some(old + change);
        }

        let balanced: Vec<f64> = rows
            .iter()
            .filter(|r| r.outcome != Outcome::Untouched)
            .filter_map(|r| r.played.map(|p| p + r.change_db - offset(r)))
            .collect();
        let spread_lu = (!balanced.is_empty()).then(|| {
            let max = balanced.iter().copied().fold(f64::MIN, f64::max);
            let min = balanced.iter().copied().fold(f64::MAX, f64::min);
            max - min
        });
        groups.push(GroupBalance {
            name: g.name.clone(),
            tracks: g.tracks.iter().map(|t| t.index).collect(),
            target,
            spread_lu,
        });
        tracks.extend(rows);
    }
    tracks.sort_by_key(|t| t.index);
    Balance {
        config: cfg.clone(),
        tracks,
        groups,
    }
}
