//! Perceptual loudness (issue 10): ISO 532-1 against MoSQITo, the fast estimator.
