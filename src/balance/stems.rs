//! Group stems: each group's tracks, at their stage-1 faders and existing
//! pans, summed into a stereo stem in memory for stage 2 (and written as
//! WAV with `--stems`).
//!
//! Every stem starts at the session's time 0 and has the same length (the
//! end of the last clip of any stem), so stems sum sample for sample.
//! Memory is one stereo buffer per group, whatever the number of tracks;
//! tracks are rendered block by block and never held whole.
//!
//! Pan: REAPER's default "stereo balance / mono pan" with a 0 dB centre:
//! a stereo track's pan is a balance control (left gain `min(1, 1 − p)`,
//! right gain `min(1, 1 + p)`), and a mono track plays in both channels
//! through the same gains.

use crate::audio::cache::MediaCache;
use crate::audio::render_track;
use crate::group::{Class, Grouping};
use crate::session::Session;
use rayon::prelude::*;
use std::path::Path;

use super::Balance;

/// One group's stem.
#[derive(Clone, Debug)]
pub struct Stem {
    pub name: String,
    /// The class most of the stem's tracks have (ties: the first).
    pub class: Class,
    /// Classes of every member, in session order.
    pub member_classes: Vec<Class>,
    pub sample_rate: u32,
    pub left: Vec<f32>,
    pub right: Vec<f32>,
}

/// Balance-law gains `(left, right)` for pan `p` in −1 … +1.
pub fn pan_gains(p: f64) -> (f64, f64) {
    let p = p.clamp(-1.0, 1.0);
    ((1.0 - p).min(1.0), (1.0 + p).min(1.0))
}

/// Renders every group's stem at `rate`. Tracks that fail to render are
/// left out of their stem with a warning naming them.
pub fn render_stems(
    session: &Session,
    grouping: &Grouping,
    balance: &Balance,
    rate: u32,
    cache: &MediaCache,
) -> (Vec<Stem>, Vec<String>) {
    // Prepare every member's render once to know the common length.
    let mut warnings = Vec::new();
    let (mut start, mut end) = (i64::MAX, 0i64);
    let mut prepared: Vec<Vec<(usize, crate::audio::TrackRender)>> = Vec::new();
    let audible = audible(session);
    for g in &grouping.groups {
        let mut renders = Vec::new();
        for gt in &g.tracks {
            let track = &session.tracks[gt.index];
            // A muted track (or one in a muted folder) is silent in the DAW,
            // so it is silent in the stem too.
            if !audible[gt.index] {
                continue;
            }
            match render_track(track, rate, cache) {
                Ok((r, _)) if !r.clips.is_empty() => {
                    start = start.min(r.start);
                    end = end.max(r.end);
                    renders.push((gt.index, r));
                }
                Ok(_) => {}
                Err(e) => warnings.push(format!("stem '{}': {e}; left out", g.name)),
            }
        }
        prepared.push(renders);
    }
    let origin = stem_origin(start, rate);
    let len = (end - origin).max(0) as usize;
    let stems = grouping
        .groups
        .par_iter()
        .zip(prepared.into_par_iter())
        .map(|(g, renders)| {
            let mut left = vec![0f32; len];
            let mut right = vec![0f32; len];
            for (index, render) in renders {
                let track = &session.tracks[index];
                let gain = balance.new_gain(index).unwrap_or(track.volume);
                let (gl, gr) = pan_gains(track.pan);
                let (gl, gr) = ((gain * gl) as f32, (gain * gr) as f32);
                render.add_to(origin, (gl, gr), &mut left, &mut right);
            }
            let member_classes: Vec<Class> = g.tracks.iter().map(|t| t.class).collect();
            Stem {
                name: g.name.clone(),
                class: dominant(&member_classes),
                member_classes,
                sample_rate: rate,
                left,
                right,
            }
        })
        .collect();
    (stems, warnings)
}

/// Which tracks sound: not muted, with no muted folder above them.
pub fn audible(session: &Session) -> Vec<bool> {
    let mut audible = vec![true; session.tracks.len()];
    for (i, t) in session.tracks.iter().enumerate() {
        audible[i] = !t.mute && t.parent.is_none_or(|p| p < i && audible[p]);
    }
    audible
}

/// The timeline frame stems (and `premix render`) start at, given the
/// earliest clip start: the session's time 0, unless the music starts more
/// than a minute in (Pro Tools' one-hour lead-in, say), where holding the
/// silence in memory would be waste; then the first clip's start.
pub fn stem_origin(first_clip: i64, rate: u32) -> i64 {
    const LEAD_IN_KEPT_S: i64 = 60;
    if first_clip != i64::MAX && first_clip > LEAD_IN_KEPT_S * i64::from(rate) {
        first_clip
    } else {
        0
    }
}

fn dominant(classes: &[Class]) -> Class {
    let mut best = (Class::Misc, 0usize);
    for c in classes {
        let n = classes.iter().filter(|x| *x == c).count();
        if n > best.1 {
            best = (*c, n);
        }
    }
    best.0
}

/// Writes each stem as a 32-bit float stereo WAV named after the group in
/// `dir` (created if needed); returns the paths.
pub fn write_stems(stems: &[Stem], dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut paths = Vec::new();
    for (i, s) in stems.iter().enumerate() {
        let safe: String = s
            .name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == ' ' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{:02} {}.wav", i + 1, safe.trim()));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: s.sample_rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).map_err(std::io::Error::other)?;
        for (l, r) in s.left.iter().zip(&s.right) {
            w.write_sample(*l).map_err(std::io::Error::other)?;
            w.write_sample(*r).map_err(std::io::Error::other)?;
        }
        w.finalize().map_err(std::io::Error::other)?;
        paths.push(path);
    }
    Ok(paths)
}
