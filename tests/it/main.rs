//! premix's integration tests: one binary, one module per area.

// Shared helpers: corpus location, the premix binary, the Python reference venv.
mod util;

// Track analysis: Python cross-checks, odd inputs, timeline rendering.
mod analysis;

// Stage 2: console DSP against Python references, the style fit (oracle, other material).
mod console;

// Stage 1 through `premix mix`: spread after balancing, exact stems, odd tracks.
mod balance;

// Grouping: name rules, folders, features, Lua hooks and sandbox, examples, `premix groups`.
mod groups;

// `premix mix` end to end: stage 2, the written project, re-runs, the corpus.
mod mix;

// RPP round trips, edits, bad files, python `rpp` cross-check.
mod rpp;

// The session model: folders, takes, gains, media resolution, inspect JSON.
mod session;

// Writing a mix into RPP: buses, moves, sends, plugins, re-runs.
mod writeback;

// The synthetic session generator: determinism, levels, RPP, signal sanity.
mod generate;

// Perceptual loudness: native ISO 532-1 against MoSQITo, the fast estimator, stage-1 spread.
mod perceptual;

// `premix batch`: a folder of sessions, the corpus, broken files and outputs.
mod batch;

// The REAPER action script, driven under plain Lua with a stub of the reaper.* API.
mod reaper_action;

// AAF sessions: inspect against LibAAF's dumps, mixes written back and read by pyaaf2.
mod aaf;

// Ableton Live sets: inspect against the corpus ground truth, mixes written back and validated.
mod als;

// ONNX Runtime: library discovery, model checks, neural F0 against the source package, fallbacks.
mod ml;

// The stage-2 predictor: the shipped model against torch, --init model/prior, fallbacks.
mod predictor;
