//! Audio in: decoding media files (Symphonia), resampling (rubato), and
//! rendering a track's clips onto the session timeline as a stream of planar
//! `f32` blocks.
//!
//! This module owns every byte of audio IO. It knows nothing about what is
//! measured: [`crate::analysis`] consumes any [`Source`] and never opens a
//! file.
//!
//! Signals are at most stereo. Decoding folds files with more than two
//! channels to stereo (see [`decode`]), so everything downstream handles
//! exactly one (mono) or two (left, right) planes.

pub mod cache;
pub mod decode;
pub mod pool;
pub mod render;
pub mod resample;

pub use decode::{decode_file, DecodeError, Decoded};
pub use render::{render_track, TrackRender};

/// Default number of frames per block handed to a [`Source`] sink: 4096
/// frames (85 ms at 48 kHz) keeps the working set of a block in L1/L2 cache.
pub const BLOCK_FRAMES: usize = 4096;

/// Planar audio in memory: one `Vec` per channel, all the same length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Buffer {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// One plane per channel (1 = mono, 2 = left/right).
    pub planes: Vec<Vec<f32>>,
}

impl Buffer {
    /// A buffer from planes; panics if the planes differ in length or there
    /// are none, since that is a programming error.
    pub fn new(sample_rate: u32, planes: Vec<Vec<f32>>) -> Buffer {
        assert!(!planes.is_empty(), "a buffer needs at least one channel");
        assert!(
            planes.iter().all(|p| p.len() == planes[0].len()),
            "planes of one buffer must have the same length"
        );
        Buffer {
            sample_rate,
            planes,
        }
    }

    /// A mono buffer.
    pub fn mono(sample_rate: u32, samples: Vec<f32>) -> Buffer {
        Buffer::new(sample_rate, vec![samples])
    }

    /// A stereo buffer.
    pub fn stereo(sample_rate: u32, left: Vec<f32>, right: Vec<f32>) -> Buffer {
        Buffer::new(sample_rate, vec![left, right])
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.planes.len()
    }

    /// Length in frames (samples per channel).
    pub fn len_frames(&self) -> usize {
        self.planes.first().map_or(0, Vec::len)
    }

    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.len_frames() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Bytes held by the samples.
    pub fn bytes(&self) -> usize {
        self.planes.iter().map(|p| p.len() * 4).sum()
    }
}

/// A signal that can be played from the start any number of times, block by
/// block. Analysis makes two passes (the refined loudness needs the F0 found
/// by the first), so a source must replay identically.
pub trait Source: Sync {
    /// Sample rate, Hz.
    fn sample_rate(&self) -> u32;
    /// 1 (mono) or 2 (stereo).
    fn channels(&self) -> usize;
    /// Total length in frames.
    fn len_frames(&self) -> u64;
    /// Plays the whole signal from the start: calls `sink` with consecutive
    /// planar blocks (one slice per channel, all of equal length, at most
    /// `block_frames` long) until the end.
    fn play(&self, block_frames: usize, sink: &mut dyn FnMut(&[&[f32]]));
}

impl Source for Buffer {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn channels(&self) -> usize {
        self.planes.len()
    }

    fn len_frames(&self) -> u64 {
        self.len_frames() as u64
    }

    fn play(&self, block_frames: usize, sink: &mut dyn FnMut(&[&[f32]])) {
        let n = self.len_frames();
        let block_frames = block_frames.max(1);
        let mut start = 0;
        while start < n {
            let end = (start + block_frames).min(n);
            match self.planes.as_slice() {
                [m] => sink(&[&m[start..end]]),
                [l, r, ..] => sink(&[&l[start..end], &r[start..end]]),
                [] => return,
            }
            start = end;
        }
    }
}
