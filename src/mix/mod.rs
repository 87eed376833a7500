//! Mixing: the stage-2 console and its fit to a reference mix.
//!
//! - [`console`]: the mixing console (per-stem gain, 6-band EQ, compressor,
//!   pan; a master bus with EQ, compressor and output gain), its parameters
//!   in real units and a sample-accurate renderer.
//! - [`style`]: the AudioFeatureLoss features of Diff-MST (RMS, crest
//!   factor, stereo width and imbalance, Bark spectra on mid and side),
//!   measured on loudness-normalised signals, and the loss between two
//!   feature sets.
//! - [`fit`]: the optimiser that sets every console parameter so the mix
//!   matches a reference's style, with domain-knowledge priors.
//!
//! This module knows nothing about session files: it takes stems as audio
//! plus a class and returns plain data.

pub mod console;
pub mod fit;
pub mod style;
