//! `premix render`: a session played the way premix understands it, through
//! premix's own console.
//!
//! Signal flow, as a DAW runs it: each track's clips (with their offsets,
//! gains and fades) → the track's plugins that premix can model → the track
//! fader → the track pan (REAPER's stereo balance with a 0 dB centre, the
//! law the stems and the console use) → the enclosing folder, which sums its
//! children and its own clips and runs the same chain → … → the master,
//! whose plugins and volume come last.
//!
//! Plugins premix models are format-specific (for REAPER: ReaEQ and the
//! Major Tom compressor premix writes; see [`rpp`]); any other plugin is
//! left out with a warning naming it, as are envelopes, sends and solo.
//! What premix writes it can model, so rendering a project premix wrote
//! reproduces the `--preview` of that run (a test holds it to 0.1 dB).
//!
//! Memory: one stereo buffer per folder level being summed plus one per
//! worker thread; tracks stream block by block from the media cache.

pub mod als;
pub mod rpp;

use crate::audio::cache::MediaCache;
use crate::audio::{render_track, TrackRender};
use crate::balance::stems::pan_gains;
use crate::mix::console::comp::{CompParams, Compressor};
use crate::mix::console::eq::{Eq, EqBand};
use crate::mix::console::StereoBuffer;
use crate::session::{Format, Session};
use rayon::prelude::*;
use std::path::Path;

/// One plugin premix can run.
#[derive(Clone, Debug, PartialEq)]
pub enum Processor {
    /// A parametric EQ: bands in order.
    Eq(Vec<EqBand>),
    /// A compressor in the console's terms.
    Comp(CompParams),
}

/// The plugin chains of a session, as premix models them.
#[derive(Clone, Debug, Default)]
pub struct Chains {
    /// One chain per session track, in session order.
    pub tracks: Vec<Vec<Processor>>,
    /// The master's chain.
    pub master: Vec<Processor>,
    /// What could not be modelled (plugins premix does not know, say).
    pub warnings: Vec<String>,
}

/// The rendered mix and what it left out.
#[derive(Debug)]
pub struct Rendered {
    pub audio: StereoBuffer,
    pub warnings: Vec<String>,
}

/// Renders `session` at `rate` with the plugin `chains`. The mix starts at
/// the session's time 0 (or at the first clip after a lead-in of over a
/// minute, as the stems do) and ends with the last clip (no tail).
pub fn render_session(session: &Session, chains: &Chains, rate: u32) -> Rendered {
    let mut warnings = chains.warnings.clone();
    let cache = MediaCache::new(
        rate,
        session
            .tracks
            .iter()
            .map(|t| t.clips.iter().filter_map(|c| c.resolved_path.as_deref())),
        crate::analysis::session::RunOptions::default().shared_cache_bytes,
    );
    let n = session.tracks.len();

    // Which tracks sound: not muted, no muted folder above them.
    let audible = crate::balance::stems::audible(session);
    if session.tracks.iter().any(|t| t.solo) {
        warnings.push("solo is not rendered: every unmuted track plays".into());
    }
    for t in &session.tracks {
        if audible[t.index] && (t.volume_automated || t.pan_automated) {
            warnings.push(format!(
                "track {} '{}': its volume/pan envelope is not rendered (the fader and pan are)",
                t.index + 1,
                t.name
            ));
        }
    }

    // Decode every audible track's clips once, in parallel.
    let renders: Vec<Option<TrackRender>> = session
        .tracks
        .par_iter()
        .map(|t| {
            if !audible[t.index] || t.clips.is_empty() {
                return Ok(None);
            }
            render_track(t, rate, &cache).map(|(r, _)| (!r.clips.is_empty()).then_some(r))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|e| {
                warnings.push(format!("{e}; left out"));
                None
            })
        })
        .collect();
    let end = renders.iter().flatten().map(|r| r.end).max().unwrap_or(0);
    let first = renders
        .iter()
        .flatten()
        .map(|r| r.start)
        .min()
        .unwrap_or(i64::MAX);
    // The same origin as the stems, so a render lines up with the preview.
    let origin = crate::balance::stems::stem_origin(first, rate);
    let len = (end - origin).max(0) as usize;

    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut top = Vec::new();
    for t in &session.tracks {
        if !audible[t.index] {
            continue;
        }
        match t.parent {
            Some(p) if p < n => children[p].push(t.index),
            _ => top.push(t.index),
        }
    }
    let ctx = Ctx {
        session,
        chains,
        renders: &renders,
        children: &children,
        origin,
        len,
        rate,
    };
    let (mut left, mut right) = ctx.sum(&top);
    run_chain(&chains.master, rate, &mut left, &mut right);
    let g = session.master_volume as f32;
    if g != 1.0 {
        left.iter_mut().for_each(|x| *x *= g);
        right.iter_mut().for_each(|x| *x *= g);
    }
    Rendered {
        audio: StereoBuffer::new(rate, left, right),
        warnings,
    }
}

struct Ctx<'a> {
    session: &'a Session,
    chains: &'a Chains,
    renders: &'a [Option<TrackRender>],
    children: &'a [Vec<usize>],
    origin: i64,
    len: usize,
    rate: u32,
}

impl Ctx<'_> {
    /// Sums the outputs of `tracks` (each through its own chain, fader and
    /// pan) into a new stereo bus. Tracks without plugins or children add
    /// straight into a per-thread bus; the others get a buffer of their own.
    fn sum(&self, tracks: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let zero = || (vec![0f32; self.len], vec![0f32; self.len]);
        tracks
            .par_iter()
            .fold(zero, |(mut l, mut r), &t| {
                self.add_track(t, &mut l, &mut r);
                (l, r)
            })
            .reduce(zero, |(mut l, mut r), (l2, r2)| {
                l.iter_mut().zip(&l2).for_each(|(a, b)| *a += b);
                r.iter_mut().zip(&r2).for_each(|(a, b)| *a += b);
                (l, r)
            })
    }

    fn add_track(&self, t: usize, left: &mut [f32], right: &mut [f32]) {
        let track = &self.session.tracks[t];
        let (pl, pr) = pan_gains(track.pan);
        let gains = ((track.volume * pl) as f32, (track.volume * pr) as f32);
        let chain = self.chains.tracks.get(t).map_or(&[][..], Vec::as_slice);
        if chain.is_empty() && self.children[t].is_empty() {
            if let Some(r) = &self.renders[t] {
                r.add_to(self.origin, gains, left, right);
            }
            return;
        }
        let (mut l, mut r) = if self.children[t].is_empty() {
            (vec![0f32; self.len], vec![0f32; self.len])
        } else {
            self.sum(&self.children[t])
        };
        if let Some(own) = &self.renders[t] {
            own.add_to(self.origin, (1.0, 1.0), &mut l, &mut r);
        }
        run_chain(chain, self.rate, &mut l, &mut r);
        let (gl, gr) = gains;
        for (d, s) in left.iter_mut().zip(&l) {
            *d += s * gl;
        }
        for (d, s) in right.iter_mut().zip(&r) {
            *d += s * gr;
        }
    }
}

/// Runs a plugin chain over a whole stereo signal in place.
pub fn run_chain(chain: &[Processor], rate: u32, left: &mut [f32], right: &mut [f32]) {
    let sr = f64::from(rate);
    for p in chain {
        match p {
            Processor::Eq(bands) => Eq::from_bands(bands, sr).process(left, right),
            Processor::Comp(c) => {
                let mut comp = Compressor::new(c, sr);
                if !comp.is_identity() {
                    comp.process(left, right, None);
                }
            }
        }
    }
}

/// Reads a session and its plugin chains from `path` and renders it.
pub fn render_file(path: &Path, rate: Option<u32>) -> anyhow::Result<Rendered> {
    let session = crate::session::read(path)?;
    let chains = match session.format {
        Format::Rpp => rpp::chains(&premix_rpp::Document::read(path)?, &session),
        Format::Als => als::chains(&session)?,
        // AAF carries no plugins premix could run (FORMATS.md §3.5).
        Format::Aaf => Chains {
            tracks: vec![Vec::new(); session.tracks.len()],
            ..Chains::default()
        },
    };
    let rate = rate
        .or(session.sample_rate)
        .unwrap_or(crate::analysis::session::DEFAULT_RATE);
    Ok(render_session(&session, &chains, rate))
}
