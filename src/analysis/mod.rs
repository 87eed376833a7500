//! Per-track measurements: loudness, peaks, spectrum, F0 and the refined
//! loudness of the seed paper. Pure functions of audio buffers: no IO.

use serde::{Deserialize, Serialize};

/// What premix measures on one track (or any stereo signal). Loudness values
/// are `None` for silence (never −inf), so they serialise as JSON `null`.
///
/// This struct is the contract between analysis, grouping (feature fallback,
/// Lua `track.features`) and the mixing stages; field names match the JSON
/// schema of `premix analyze --json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// BS.1770-4 integrated loudness, LUFS.
    pub lufs: Option<f64>,
    /// The seed paper's refined loudness (LUFS after the F0 band-pass), or
    /// plain LUFS when no F0 was found (see `warnings`).
    pub refined_lufs: Option<f64>,
    /// Median F0 over voiced frames, Hz.
    pub f0_hz: Option<f64>,
    /// Fraction of active frames that were voiced, 0…1.
    pub voiced_ratio: f64,
    /// Mean spectral centroid over active frames, Hz.
    pub centroid_hz: Option<f64>,
    /// Mean spectral bandwidth (p = 2) over active frames, Hz.
    pub bandwidth_hz: Option<f64>,
    /// Sample peak, dBFS.
    pub peak_dbfs: Option<f64>,
    /// True peak (4× oversampled, BS.1770-4), dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Loudness range (EBU Tech 3342), LU.
    pub lra: Option<f64>,
    /// RMS level over the whole track, dBFS.
    pub rms_dbfs: Option<f64>,
    /// Peak-to-RMS ratio, dB.
    pub crest_db: Option<f64>,
    /// Stereo width: side energy / mid energy, 0 for mono.
    pub width: Option<f64>,
    /// Stereo balance: (E_R − E_L)/(E_R + E_L), −1…1.
    pub balance: Option<f64>,
    /// Seconds of audio above the activity gate.
    pub active_s: f64,
    /// How percussive the track is, 0 (sustained) … 1 (sparse transients).
    pub percussiveness: Option<f64>,
}
