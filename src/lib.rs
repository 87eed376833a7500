//! premix: a strong first mix of a large DAW session, written back into the
//! session as ordinary, editable settings.
//!
//! The library is organised as a pipeline: [`session`] reads a session into a
//! format-neutral model, [`analysis`] measures each track, grouping and the
//! two mixing stages decide a plan, and the writers edit the original
//! session document. The `premix` binary is a thin CLI over this library.

pub mod analysis;
pub mod audio;
pub mod balance;
pub mod cli;
pub mod generate;
pub mod group;
pub mod mix;
pub mod ml;
pub mod output;
pub mod plan;
pub mod render;
pub mod report;
pub mod script;
pub mod session;
pub mod writeback;
