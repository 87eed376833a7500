//! Learned components run through ONNX Runtime (issue 11).
//!
//! * [`runtime`]: finding and loading the ONNX Runtime library (never
//!   downloaded), checked model loading (sha256 from `MODEL.md`, interface).
//! * [`crepe`]: CREPE "tiny" neural F0 (pre-processing, inference, decoding).
//! * [`f0`]: the F0 estimator the analysis uses: pYIN, neural, or the
//!   ensemble of both, with a one-notice fallback to pYIN.
//! * [`predictor`]: the stage-2 predictor, a set encoder whose output is the
//!   fit's starting point (`--init model`), with a fallback to the priors.

pub mod crepe;
pub mod f0;
pub mod predictor;
pub mod runtime;
