//! AAF files: the object layer over MS-CFB (FORMATS.md §3), read lazily
//! and edited in place. Knows nothing of audio: it gives objects, their
//! properties and typed values, references and definitions; [`model`]
//! adds navigation helpers over the Edit Protocol object model.
//!
//! Saving writes only the streams edits touched (a changed object's
//! `properties`, a collection's `index`, new storages), so an unedited
//! file saved keeps every stream's bytes.

mod auid;
mod edit;
mod error;
mod file;
pub mod meta;
pub mod model;
pub mod store;
mod value;

pub use auid::{Auid, MobId};
pub use error::{Error, ErrorKind, Limits, Result};
pub use file::{AafFile, ObjectId};
pub use store::WeakRef;
pub use value::{Rational, TimeStamp, Value};
