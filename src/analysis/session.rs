//! The per-session driver: renders and analyses every track, tracks in
//! parallel on a rayon pool. This is the one place in `analysis` that
//! reaches media files, and it does so only through [`crate::audio`].
//!
//! Bounded memory: each worker holds one track at a time (its decoded media
//! and the meters' state), so at most `threads` tracks are in flight; media
//! shared between tracks are kept within a byte budget (see
//! [`crate::audio::cache`]). A track whose media fail to decode gets an
//! `error` naming the track and the file; the other tracks are analysed as
//! usual.

use super::{analyze, Analysis, Config};
use crate::audio::cache::MediaCache;
use crate::audio::{decode_file, render_track};
use crate::session::Session;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Project rate used when a session does not state one.
pub const DEFAULT_RATE: u32 = 48_000;

/// Run options that do not change the numbers.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Worker threads (tracks in flight); `None` = one per core.
    pub threads: Option<usize>,
    /// Bytes of decoded media kept for files shared between tracks.
    pub shared_cache_bytes: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: None,
            shared_cache_bytes: 256 << 20,
        }
    }
}

/// One track's result.
#[derive(Clone, Debug, Serialize)]
pub struct TrackAnalysis {
    /// Position in the session's track list (or the file list), from 0.
    pub index: usize,
    /// The track name (the file name for audio files).
    pub name: String,
    #[serde(flatten)]
    pub analysis: Analysis,
    /// Why the track could not be analysed (its numbers are then all null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A whole run's result.
#[derive(Clone, Debug, Serialize)]
pub struct SessionAnalysis {
    /// The rate tracks were rendered at; `None` for a list of files, each
    /// analysed at its own rate.
    pub sample_rate: Option<u32>,
    /// Per track, in session order.
    pub tracks: Vec<TrackAnalysis>,
    /// Run-level warnings.
    pub warnings: Vec<String>,
}

impl SessionAnalysis {
    /// Whether any track failed.
    pub fn has_errors(&self) -> bool {
        self.tracks.iter().any(|t| t.error.is_some())
    }
}

fn in_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> T {
    match threads {
        Some(n) => match rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
        {
            Ok(pool) => pool.install(f),
            Err(_) => f(),
        },
        None => f(),
    }
}

/// Analyses every track of `session` as the session plays it (clips on the
/// timeline at the project rate). `progress` is called once per finished
/// track, from worker threads.
pub fn analyze_session(
    session: &Session,
    cfg: &Config,
    opts: &RunOptions,
    progress: &(dyn Fn(&TrackAnalysis) + Sync),
) -> SessionAnalysis {
    let mut warnings = Vec::new();
    let rate = session
        .sample_rate
        .filter(|r| (super::MIN_RATE..=super::MAX_RATE).contains(r))
        .unwrap_or_else(|| {
            warnings.push(match session.sample_rate {
                Some(r) => format!(
                    "the session's sample rate ({r} Hz) is out of range; tracks are rendered at {DEFAULT_RATE} Hz"
                ),
                None => format!(
                    "the session states no sample rate; tracks are rendered at {DEFAULT_RATE} Hz"
                ),
            });
            DEFAULT_RATE
        });
    let paths_of = |t: &crate::session::Track| -> Vec<PathBuf> {
        t.clips
            .iter()
            .filter(|c| !c.muted)
            .filter_map(|c| c.resolved_path.clone())
            .collect()
    };
    let track_paths: Vec<Vec<PathBuf>> = session.tracks.iter().map(paths_of).collect();
    let cache = MediaCache::new(
        rate,
        track_paths.iter().map(|p| p.iter().map(PathBuf::as_path)),
        opts.shared_cache_bytes,
    );
    let tracks = in_pool(opts.threads, || {
        session
            .tracks
            .par_iter()
            .with_max_len(1)
            .zip(track_paths.par_iter())
            .map(|(track, paths)| {
                let result = match render_track(track, rate, &cache) {
                    Err(e) => TrackAnalysis {
                        index: track.index,
                        name: track.name.clone(),
                        analysis: Analysis::default(),
                        error: Some(e.to_string()),
                    },
                    Ok((render, render_warnings)) => {
                        let mut analysis = if render.clips.is_empty() {
                            Analysis::default()
                        } else {
                            analyze(&render, cfg)
                        };
                        let empty = render.clips.is_empty();
                        crate::audio::pool::give_render(render);
                        let mut w = render_warnings;
                        if empty && w.is_empty() {
                            w.push("no audio clips: not measured".to_string());
                        }
                        w.append(&mut analysis.warnings);
                        analysis.warnings = w;
                        TrackAnalysis {
                            index: track.index,
                            name: track.name.clone(),
                            analysis,
                            error: None,
                        }
                    }
                };
                cache.release(paths.iter().map(PathBuf::as_path));
                progress(&result);
                result
            })
            .collect()
    });
    SessionAnalysis {
        sample_rate: Some(rate),
        tracks,
        warnings,
    }
}

/// Analyses audio files, each as a one-clip track at its own rate. A file
/// that fails to decode gets an `error`; the others are analysed.
pub fn analyze_files(
    paths: &[PathBuf],
    cfg: &Config,
    opts: &RunOptions,
    progress: &(dyn Fn(&TrackAnalysis) + Sync),
) -> SessionAnalysis {
    let tracks: Vec<TrackAnalysis> = in_pool(opts.threads, || {
        paths
            .par_iter()
            .with_max_len(1)
            .enumerate()
            .map(|(index, path)| {
                let result = analyze_file(index, path, cfg);
                progress(&result);
                result
            })
            .collect()
    });
    SessionAnalysis {
        sample_rate: None,
        tracks,
        warnings: Vec::new(),
    }
}

fn analyze_file(index: usize, path: &Path, cfg: &Config) -> TrackAnalysis {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    match decode_file(path) {
        Err(e) => TrackAnalysis {
            index,
            name,
            analysis: Analysis::default(),
            error: Some(e.to_string()),
        },
        Ok(d) => {
            let mut analysis = analyze(&d.buffer, cfg);
            crate::audio::pool::give(d.buffer);
            let mut w = d.warnings;
            w.append(&mut analysis.warnings);
            analysis.warnings = w;
            TrackAnalysis {
                index,
                name,
                analysis,
                error: None,
            }
        }
    }
}
