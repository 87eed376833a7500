//! Media path resolution.
