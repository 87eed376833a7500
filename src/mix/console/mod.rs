//! The stage-2 mixing console: what a mix engineer's channel strips and
//! master bus do, in real units, rendered sample-accurately.
//!
//! Signal flow per stem: gain → 6-band EQ ([`eq`]) → compressor ([`comp`])
//! → pan ([`pan`]); the stems sum on a stereo bus, then the master EQ,
//! master compressor and output gain ([`console`]). The forms follow
//! Diff-MST's console (ALGORITHMS.md §2.2) with the release time honoured
//! and the pan law a parameter.
//!
//! Invariant: neutral settings are an exact identity (0 dB gain, flat EQ,
//! ratio 1 and 0 dB make-up, centre pan under the balance law), so a
//! rendered neutral console is the plain sum of the stems.

pub mod comp;
#[allow(clippy::module_inception)]
pub mod console;
pub mod eq;
pub mod pan;
pub mod stem;

pub use comp::CompParams;
pub use console::{render, render_range, render_strip, ConsoleParams, MasterParams, StripParams};
pub use eq::{BandKind, EqBand, EqParams};
pub use pan::PanLaw;
pub use stem::{Class, Stem, StereoBuffer};
