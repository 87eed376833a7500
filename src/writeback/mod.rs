//! Writing a mix back into the user's session, as edits of the original
//! document. The edits are described in DAW-neutral terms ([`Edits`]:
//! per-track gain changes, one bus per group with gain, pan, EQ and
//! compressor in real units, master-bus settings); each format's writer
//! maps them onto that DAW's own tracks and stock plugins.
//!
//! Invariant: writers only touch what an edit targets. Everything else in
//! the document is written back byte for byte.

pub mod aaf;
pub mod als;
pub mod rpp;
pub mod rpp_comp;

use crate::session::{Format, Session};
use anyhow::Context;

use serde::Serialize;

/// A parametric EQ band in real units.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EqBand {
    pub kind: EqKind,
    pub freq_hz: f64,
    pub gain_db: f64,
    /// Quality factor (RBJ cookbook Q; for shelves, the cookbook's Q form).
    pub q: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EqKind {
    LowShelf,
    Peak,
    HighShelf,
    HighPass,
    LowPass,
}

/// Compressor settings in real units.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompSettings {
    pub threshold_db: f64,
    pub ratio: f64,
    pub attack_ms: f64,
    pub release_ms: f64,
    pub knee_db: f64,
    pub makeup_db: f64,
}

/// What one bus (or the master) carries.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BusSettings {
    /// Fader gain, dB.
    pub gain_db: f64,
    /// Pan, −1 … +1.
    pub pan: f64,
    pub eq: Vec<EqBand>,
    pub comp: Option<CompSettings>,
}

/// One instrument group's bus.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupEdit {
    /// Shown as the bus track's name.
    pub name: String,
    /// Session track indices of the member tracks, in session order.
    pub members: Vec<usize>,
    pub bus: BusSettings,
}

/// Everything to write into a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Edits {
    /// (session track index, gain change in dB) for each track to change.
    pub track_gain_db: Vec<(usize, f64)>,
    pub groups: Vec<GroupEdit>,
    pub master: Option<BusSettings>,
}

/// What a writer did, for the user: one line per decision worth knowing.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WriteReport {
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// The name prefix of every plugin instance premix writes, so that users
/// can find them and a re-run updates them instead of adding more.
pub const FX_PREFIX: &str = "premix";

/// Choices a writer offers.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// AAF: put track gain into every clip's gain instead of a slot-level
    /// gain, for applications that ignore track gain on import.
    pub aaf_clip_gain: bool,
}

/// The mixed session's bytes: `edits` applied to the file `session` was
/// read from (re-read here, so the edit starts from the exact bytes), with
/// what the writer did. `seed` makes new identifiers deterministic.
pub fn write_session(
    session: &Session,
    edits: &Edits,
    seed: u64,
    options: &WriteOptions,
) -> anyhow::Result<(Vec<u8>, WriteReport)> {
    let cannot = || format!("{}: cannot apply the mix", session.path.display());
    match session.format {
        Format::Rpp => {
            let mut doc = premix_rpp::Document::read(&session.path)?;
            let report = rpp::apply(&mut doc, session, edits, seed).with_context(cannot)?;
            Ok((doc.to_bytes(), report))
        }
        Format::Als => als::write(session, edits, seed).with_context(cannot),
        Format::Aaf => {
            aaf::write_with(session, edits, seed, options.aaf_clip_gain).with_context(cannot)
        }
    }
}

/// An existing folder (REAPER folder track, Live GroupTrack) that can carry
/// a group's bus: the nearest folder holding every member, when every track
/// with audio below it is a member (so its processing reaches this group
/// alone), or one `carries_premix` says premix made.
pub(crate) fn reusable_folder(
    session: &Session,
    members: &[usize],
    carries_premix: impl Fn(usize) -> bool,
) -> Option<usize> {
    let mut cand = session.tracks.get(*members.first()?)?.parent;
    while let Some(f) = cand {
        if members.iter().all(|&m| is_descendant(session, m, f)) {
            let exclusive = session
                .tracks
                .iter()
                .filter(|t| t.has_audio() && is_descendant(session, t.index, f))
                .all(|t| members.contains(&t.index));
            return (exclusive || carries_premix(f)).then_some(f);
        }
        cand = session.tracks[f].parent;
    }
    None
}

/// Whether track `t` is below track `ancestor` in the folder tree.
fn is_descendant(session: &Session, t: usize, ancestor: usize) -> bool {
    let mut p = session.tracks.get(t).and_then(|t| t.parent);
    while let Some(i) = p {
        if i == ancestor {
            return true;
        }
        p = session.tracks[i].parent;
    }
    false
}
