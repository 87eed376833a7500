//! The MixPlan: everything premix decided, as plain data, before anything is
//! written. `premix mix --dry-run --json` prints it; the writers turn it into
//! [`Edits`] of the session.

use crate::balance::{Balance, GroupBalance, Measure, TrackBalance};
use crate::writeback::{BusSettings, Edits, GroupEdit};
use serde::Serialize;

/// Version of the JSON schema below.
pub const SCHEMA: u32 = 1;

/// Stage 2's part of the plan.
#[derive(Clone, Debug, Serialize)]
pub struct Stage2 {
    /// The reference mix the console was fitted to.
    pub reference: String,
    /// Where the fit started: `model` (the stage-2 predictor) or `prior`.
    pub init: String,
    /// Style loss of the stage-1 stems summed at equal loudness.
    pub loss_before: f64,
    /// Style loss of the fitted mix (measured on a real render).
    pub loss_after: f64,
    /// Each feature's share of the loss after the fit.
    pub per_feature: Vec<(String, f64)>,
    /// Fitted compressor timing that the session's own compressor cannot
    /// carry (REAPER: Major Tom has program-dependent timing), per bus.
    pub notes: Vec<String>,
}

/// One group in the plan.
#[derive(Clone, Debug, Serialize)]
pub struct GroupPlan {
    #[serde(flatten)]
    pub stage1: GroupBalance,
    /// Integrated loudness of the group's stem after stage 1, LUFS.
    pub stem_lufs: Option<f64>,
    /// The bus settings to write (stage 2), in real units.
    pub bus: BusSettings,
}

/// The whole plan.
#[derive(Clone, Debug, Serialize)]
pub struct MixPlan {
    pub schema: u32,
    pub session: String,
    pub sample_rate: u32,
    pub measure: Measure,
    pub tracks: Vec<TrackBalance>,
    pub groups: Vec<GroupPlan>,
    pub master: Option<BusSettings>,
    pub stage2: Option<Stage2>,
    pub warnings: Vec<String>,
}

impl MixPlan {
    /// A plan from stage 1 alone: buses at unity with no plugins.
    pub fn from_stage1(session: String, sample_rate: u32, balance: &Balance) -> MixPlan {
        MixPlan {
            schema: SCHEMA,
            session,
            sample_rate,
            measure: balance.config.measure,
            tracks: balance.tracks.clone(),
            groups: balance
                .groups
                .iter()
                .map(|g| GroupPlan {
                    stage1: g.clone(),
                    stem_lufs: None,
                    bus: BusSettings::default(),
                })
                .collect(),
            master: None,
            stage2: None,
            warnings: Vec::new(),
        }
    }

    /// The session edits this plan asks for: every non-zero stage-1 change
    /// and one bus per group.
    pub fn edits(&self) -> Edits {
        Edits {
            track_gain_db: self
                .tracks
                .iter()
                .filter(|t| t.change_db != 0.0)
                .map(|t| (t.index, t.change_db))
                .collect(),
            groups: self
                .groups
                .iter()
                .map(|g| GroupEdit {
                    name: g.stage1.name.clone(),
                    members: g.stage1.tracks.clone(),
                    bus: g.bus.clone(),
                })
                .collect(),
            master: self.master.clone(),
        }
    }
}
