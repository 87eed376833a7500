//! Stems: the console's inputs (a stereo buffer, a name and an instrument
//! class).

use serde::{Deserialize, Serialize};

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

/// The instrument classes of Diff-MST's knowledge-engineering table
/// (ALGORITHMS.md §2.6), which key the fit's priors. Serialised with the
/// table's own names (`main_vocals`, `bass_drum`, `percussion_1`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Lead vocals, rap.
    MainVocals,
    /// Backing vocals, choir.
    SupportVocals,
    /// Electric or double bass (bass-register instruments).
    Bass,
    /// Kick drum.
    BassDrum,
    /// Snare, toms, full drum kits, congas.
    #[serde(rename = "percussion_1")]
    Percussion1,
    /// Hi-hat, cymbals, overheads, claps.
    #[serde(rename = "percussion_2")]
    Percussion2,
    /// Shaker, tambourine, cowbell and other auxiliary percussion.
    #[serde(rename = "percussion_3")]
    Percussion3,
    /// Electric and acoustic guitars.
    Guitar,
    /// Piano, organ, electric pianos.
    Keys,
    /// Synthesisers, samplers, effects.
    Synth,
    /// Orchestral strings.
    OrchestralStrings,
    /// Woodwinds.
    Woodwinds,
    /// Brass.
    Brass,
    /// Anything else (room mics, ...).
    Misc,
}

impl Class {
    /// Every class, in table order.
    pub const ALL: [Class; 14] = [
        Class::MainVocals,
        Class::SupportVocals,
        Class::Bass,
        Class::BassDrum,
        Class::Percussion1,
        Class::Percussion2,
        Class::Percussion3,
        Class::Guitar,
        Class::Keys,
        Class::Synth,
        Class::OrchestralStrings,
        Class::Woodwinds,
        Class::Brass,
        Class::Misc,
    ];

    /// The knowledge-engineering table's name for the class.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::MainVocals => "main_vocals",
            Class::SupportVocals => "support_vocals",
            Class::Bass => "bass",
            Class::BassDrum => "bass_drum",
            Class::Percussion1 => "percussion_1",
            Class::Percussion2 => "percussion_2",
            Class::Percussion3 => "percussion_3",
            Class::Guitar => "guitar",
            Class::Keys => "keys",
            Class::Synth => "synth",
            Class::OrchestralStrings => "orchestral_strings",
            Class::Woodwinds => "woodwinds",
            Class::Brass => "brass",
            Class::Misc => "misc",
        }
    }

    /// The class for a table name (case-insensitive; `-` and spaces read as
    /// `_`, so `percussion-1` and `Main Vocals` work). This is the one place
    /// that maps names to classes.
    pub fn from_label(label: &str) -> Option<Class> {
        let norm: String = label
            .trim()
            .chars()
            .map(|c| {
                if c == '-' || c == ' ' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        Class::ALL.into_iter().find(|c| c.as_str() == norm)
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_labels_round_trip() {
        for c in Class::ALL {
            assert_eq!(Class::from_label(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(Class::from_label("Percussion-1"), Some(Class::Percussion1));
        assert_eq!(Class::from_label("Main Vocals"), Some(Class::MainVocals));
        assert_eq!(Class::from_label("kazoo"), None);
    }
}
