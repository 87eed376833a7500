//! Stems: the console's inputs (a stereo buffer, a name and an instrument
//! class).

/// Planar stereo audio: left and right planes of equal length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StereoBuffer {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Left channel.
    pub left: Vec<f32>,
    /// Right channel.
    pub right: Vec<f32>,
}

impl StereoBuffer {
    /// A stereo buffer; panics if the planes differ in length (a programming
    /// error).
    pub fn new(sample_rate: u32, left: Vec<f32>, right: Vec<f32>) -> StereoBuffer {
        assert_eq!(
            left.len(),
            right.len(),
            "stereo planes must have the same length"
        );
        StereoBuffer {
            sample_rate,
            left,
            right,
        }
    }

    /// A stereo buffer with the same samples in both channels.
    pub fn from_mono(sample_rate: u32, mono: Vec<f32>) -> StereoBuffer {
        StereoBuffer {
            sample_rate,
            right: mono.clone(),
            left: mono,
        }
    }

    /// `len` frames of silence.
    pub fn silence(sample_rate: u32, len: usize) -> StereoBuffer {
        StereoBuffer {
            sample_rate,
            left: vec![0.0; len],
            right: vec![0.0; len],
        }
    }

    /// Length in frames.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// Whether the buffer holds no frames.
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// The instrument class keying the fit's priors: the project-wide class of
/// [`crate::group`] (the classes of Diff-MST's knowledge-engineering table).
pub use crate::group::Class;

/// One input of the console: a stereo stem with its name and class.
#[derive(Clone, Debug, PartialEq)]
pub struct Stem {
    /// Display name (the group or track name).
    pub name: String,
    /// Instrument class; keys the priors.
    pub class: Class,
    /// The audio. All stems of one console share a sample rate.
    pub audio: StereoBuffer,
}
