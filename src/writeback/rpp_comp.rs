//! The compressor premix writes into REAPER projects: Stillwell's
//! "Major Tom Compressor", the JSFX `sstillwell/majortom` that ships with
//! REAPER.
//!
//! Why this one: a JSFX stores its sliders as plain text in the project, in
//! the slider's own units, so the settings arrive in REAPER exactly.
//! ReaComp's normalised parameter mapping is not established from any
//! REAPER-written evidence (FORMATS.md §1.5). Among the stock JSFX
//! compressors, Major Tom is the one whose threshold (dB), ratio, make-up
//! (dB) and knee sliders mean what they say; `loser/DVC2JS` has attack and
//! release sliders, but its detector reads half the true level, so its
//! values cannot be made to mean real units.
//!
//! Slider list (REAPER 6.47 and later; checked against the stock file):
//! 1 Threshold (dB, −60…0), 2 Ratio (1…20), 3 Gain (make-up, dB, −20…20),
//! 4 Knee {0,1: legacy "Blown Capacitor", 2 Hard, 3 Soft}, 5 Detector input
//! {Normal, Sidechain}, 6 Automatic make-up {No, Yes}, 7 Detection {Peak,
//! RMS}, 8 Detection source {Feedforward, Feedback}.
//!
//! What does not carry over: Major Tom has no attack or release controls
//! (its timing is program-dependent: faster attack the further over the
//! threshold, release at 125 dB/s), and its soft knee is a fixed ~6 dB. The
//! fitted attack and release are reported, not written.
//!
//! premix's own console stands in for Major Tom in `--preview` and
//! `premix render` with fixed times, [`MODEL_ATTACK_MS`] and
//! [`MODEL_RELEASE_MS`] (see there): an approximation of the plugin, the
//! same in both, so rendering a written session reproduces its preview.

use super::CompSettings;
use premix_rpp::{format_real, Block, Line, Node};

/// The JSFX path as written in `<JS path "name"`.
pub const PATH: &str = "sstillwell/majortom";

/// Knee widths at or above this many dB are written as Major Tom's soft
/// knee (about 6 dB wide), narrower ones as hard.
pub const SOFT_KNEE_FROM_DB: f64 = 3.0;

/// The attack time premix's console uses for Major Tom, ms. Major Tom's
/// attack depends on how far the signal is over the threshold (its table
/// gives roughly 0.09/d + 0.61/d² s for d dB over: 15 ms at 10 dB over,
/// 6 ms at 20 dB over); 15 ms stands for the typical 6–12 dB overshoot of
/// a bus compressor. [belief: from the plugin's published source; not
/// measured in REAPER.]
pub const MODEL_ATTACK_MS: f64 = 15.0;
/// The release time premix's console uses for Major Tom, ms: its release
/// runs at 125 dB/s, so recovering the middle 80 % of a 5 dB gain reduction
/// takes 4 dB / 125 dB/s = 32 ms.
pub const MODEL_RELEASE_MS: f64 = 32.0;

/// The `<JS` block for `c`.
pub fn block(c: &CompSettings, name: &str) -> Block {
    let mut b = Block::new("JS", [PATH.to_string(), name.to_string()]);
    b.children.push(Node::Line(Line::raw(slider_line(c))));
    b
}

/// The 64-token slider line: values in the sliders' own units, `-` for the
/// sliders the script does not define.
pub fn slider_line(c: &CompSettings) -> String {
    let knee = if c.knee_db >= SOFT_KNEE_FROM_DB {
        "3"
    } else {
        "2"
    };
    let mut tokens = vec![
        format_real(round1(c.threshold_db.clamp(-60.0, 0.0))),
        format_real(round1(c.ratio.clamp(1.0, 20.0))),
        format_real(round1(c.makeup_db.clamp(-20.0, 20.0))),
        knee.to_string(),
        "0".into(), // detector input: normal
        "0".into(), // automatic make-up: no
        "0".into(), // detection: peak, max(|L|, |R|)
        "0".into(), // feedforward
    ];
    tokens.resize(64, "-".into());
    tokens.join(" ")
}

/// The sliders step in 0.1: write what the slider can hold.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Reads settings back from a slider line (for re-runs and the report).
pub fn parse(line: &str) -> Option<CompSettings> {
    let t: Vec<f64> = line
        .split_whitespace()
        .take(4)
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    (t.len() == 4).then(|| CompSettings {
        threshold_db: t[0],
        ratio: t[1],
        makeup_db: t[2],
        knee_db: if t[3] == 3.0 { 6.0 } else { 0.0 },
        attack_ms: f64::NAN,
        release_ms: f64::NAN,
    })
}
