//! The neutral session model: what the mixing stages need to know about a
//! DAW session, independent of the file format it came from.
//!
//! Readers (`session::rpp`, later ALS and AAF) build a [`Session`] from a
//! parsed document; the mixing stages read it; writers edit the original
//! document, never a regenerated one. Gains are stored as linear amplitude
//! (1.0 = 0 dB), as every supported format does; `*_db` accessors convert.

pub mod aaf;
pub mod als;
pub mod media;
pub mod rpp;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// Session file formats premix reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Rpp,
    Als,
    Aaf,
}

/// A warning about the session that does not stop the work (a missing media
/// file, an unsupported clip setting). It names what it is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warning {
    /// The track it concerns, by index, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<usize>,
    pub message: String,
}

/// A whole session.
#[derive(Clone, Debug, Serialize)]
pub struct Session {
    /// The session file.
    pub path: PathBuf,
    pub format: Format,
    /// The project sample rate, if the session states one.
    pub sample_rate: Option<u32>,
    /// Tempo in BPM, if stated.
    pub tempo_bpm: Option<f64>,
    /// Master bus volume, linear.
    pub master_volume: f64,
    /// Tracks in session order.
    pub tracks: Vec<Track>,
    pub warnings: Vec<Warning>,
}

/// One track (or folder/bus track).
#[derive(Clone, Debug, Serialize)]
pub struct Track {
    /// Position in the session's track list, from 0.
    pub index: usize,
    pub name: String,
    /// The format's stable identifier (RPP track GUID), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// Index of the enclosing folder/group track, if any.
    pub parent: Option<usize>,
    /// Nesting depth: 0 for top-level tracks.
    pub folder_depth: usize,
    /// Whether this track is a folder (bus) that other tracks feed.
    pub is_folder: bool,
    /// Fader volume, linear (1.0 = 0 dB).
    pub volume: f64,
    /// Pan, −1 (left) … +1 (right).
    pub pan: f64,
    pub mute: bool,
    pub solo: bool,
    /// Display names of the plugins on the track, in chain order.
    pub fx: Vec<String>,
    /// A volume envelope is active, so the static volume is overridden.
    pub volume_automated: bool,
    pub pan_automated: bool,
    /// Track colour as 0xRRGGBB, if the session sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour: Option<u32>,
    pub clips: Vec<Clip>,
}

impl Track {
    /// A top-level audio track at unity gain, centred, with no plugins,
    /// automation or clips: the starting point readers fill in.
    pub fn new(index: usize, name: impl Into<String>) -> Track {
        Track {
            index,
            name: name.into(),
            guid: None,
            parent: None,
            folder_depth: 0,
            is_folder: false,
            volume: 1.0,
            pan: 0.0,
            mute: false,
            solo: false,
            fx: Vec::new(),
            volume_automated: false,
            pan_automated: false,
            colour: None,
            clips: Vec::new(),
        }
    }

    /// Fader volume in dB; `None` for a fader at −inf.
    pub fn volume_db(&self) -> Option<f64> {
        gain_to_db(self.volume)
    }

    /// Whether any clip plays audio from a file.
    pub fn has_audio(&self) -> bool {
        self.clips.iter().any(|c| c.kind == ClipKind::Audio)
    }
}

/// What a clip plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClipKind {
    /// Audio from a media file.
    Audio,
    /// MIDI, video, empty or another source premix does not render.
    Other,
}

/// One clip (an RPP item's active take).
#[derive(Clone, Debug, Serialize)]
pub struct Clip {
    pub name: String,
    pub kind: ClipKind,
    /// The source type as the session names it (`WAVE`, `FLAC`, `MIDI`, ...).
    pub source_type: String,
    /// The media path as written in the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Where the media file was found, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_path: Option<PathBuf>,
    /// Start on the session timeline, seconds.
    pub position_s: f64,
    /// Length on the timeline, seconds.
    pub length_s: f64,
    /// Offset into the source, seconds.
    pub source_offset_s: f64,
    /// Clip gain, linear: item volume × take volume.
    pub gain: f64,
    /// Playback rate (1 = normal).
    pub playrate: f64,
    /// Whether the pitch is preserved when the rate changes.
    pub preserve_pitch: bool,
    /// Pitch shift in semitones.
    pub pitch_semitones: f64,
    /// Whether the source plays reversed.
    pub reversed: bool,
    pub fade_in_s: f64,
    pub fade_out_s: f64,
    pub muted: bool,
}

impl Clip {
    /// Whether the media file was found.
    pub fn resolved(&self) -> bool {
        self.resolved_path.is_some()
    }
}

/// Converts linear gain to dB; `None` for zero (−inf) or non-finite input.
pub fn gain_to_db(gain: f64) -> Option<f64> {
    let db = 20.0 * gain.abs().log10();
    db.is_finite().then_some(db)
}

/// Converts dB to linear gain.
pub fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Errors reading a session: always name the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rpp(#[from] premix_rpp::Error),
    #[error(transparent)]
    Als(#[from] premix_als::Error),
    #[error(transparent)]
    Aaf(#[from] premix_aaf::Error),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: unsupported session format (expected .RPP, .als or .aaf)")]
    UnsupportedFormat { path: PathBuf },
}

/// Reads any supported session file, choosing the reader by extension.
pub fn read(path: &Path) -> Result<Session, Error> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("rpp") => rpp::read(path),
        Some("als") => als::read(path),
        Some("aaf") => aaf::read(path),
        _ => Err(Error::UnsupportedFormat {
            path: path.to_owned(),
        }),
    }
}
