//! A track as the session plays it: its clips placed on the timeline at the
//! project rate, with source offset, length, clip gain and fades, summed.
//!
//! Rendering is lazy: [`TrackRender`] holds the decoded sources (shared
//! `Arc`s, one per file however many clips use it) and mixes a block on
//! demand, so a whole rendered track never exists in memory.
//!
//! What a track renders, and what it does not:
//! * pre-fader: clip gain and fades apply; track volume, pan, FX and
//!   automation do not (the mixing stages decide those);
//! * fades are linear in amplitude (the session model carries no shape);
//! * overlapping clips on one track are summed;
//! * muted clips and non-audio clips (MIDI, video, empty) are skipped;
//! * a source shorter than its clip is silent past its end (looped items are
//!   not repeated);
//! * play rate ≠ 1, pitch shift and reversed sources cannot be honoured: the
//!   clip is rendered at rate 1, unshifted, forwards, with a warning naming
//!   it;
//! * a mono clip on a track with a stereo clip plays in both channels; a
//!   track whose clips are all mono renders as mono (and loudness counts it
//!   as dual mono, see `analysis::loudness`).

use super::cache::MediaCache;
use super::{Buffer, Source};
use crate::session::{ClipKind, Track};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// One clip ready to mix.
#[derive(Clone, Debug)]
pub struct ClipRender {
    /// The decoded source at the project rate.
    pub source: Arc<Buffer>,
    /// First timeline frame.
    pub position: i64,
    /// Frame in the source that plays at `position` (may be negative: the
    /// clip starts before the source, which is silence).
    pub source_offset: i64,
    /// Frames on the timeline.
    pub length: u64,
    /// Linear gain.
    pub gain: f32,
    /// Fade-in length, frames (linear).
    pub fade_in: u64,
    /// Fade-out length, frames (linear).
    pub fade_out: u64,
}

/// A track's clips, ready to play as a [`Source`].
#[derive(Clone, Debug)]
pub struct TrackRender {
    /// The project rate, Hz.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: usize,
    /// Timeline extent rendered: from the first clip start to the last clip
    /// end (timeline frames, end exclusive).
    pub start: i64,
    /// End of the rendered extent (exclusive).
    pub end: i64,
    /// The clips to mix.
    pub clips: Vec<ClipRender>,
}

impl TrackRender {
    /// Renders the whole track into a buffer (tests and small tracks only:
    /// the analysis streams instead).
    pub fn to_buffer(&self) -> Buffer {
        let mut planes = vec![Vec::with_capacity(self.len_frames() as usize); self.channels];
        self.play(super::BLOCK_FRAMES, &mut |b| {
            for (p, s) in planes.iter_mut().zip(b) {
                p.extend_from_slice(s);
            }
        });
        Buffer::new(self.sample_rate, planes)
    }

    /// Adds the track into a stereo bus whose first frame is timeline frame
    /// `origin`, with gains `(left, right)`; a mono track feeds both sides.
    /// Frames outside the bus are dropped.
    pub fn add_to(&self, origin: i64, gains: (f32, f32), left: &mut [f32], right: &mut [f32]) {
        let (gl, gr) = gains;
        let len = left.len().min(right.len());
        let mut t = self.start - origin;
        self.play(super::BLOCK_FRAMES, &mut |block| {
            let n = block[0].len();
            let (l, r) = if block.len() > 1 {
                (block[0], block[1])
            } else {
                (block[0], block[0])
            };
            for i in 0..n {
                let at = t + i as i64;
                if at >= 0 && (at as usize) < len {
                    left[at as usize] += l[i] * gl;
                    right[at as usize] += r[i] * gr;
                }
            }
            t += n as i64;
        });
    }

    fn mix_into(&self, t0: i64, out: &mut [Vec<f32>]) {
        let n = out[0].len() as i64;
        for c in &self.clips {
            let c_end = c.position + c.length as i64;
            let lo = t0.max(c.position);
            let hi = (t0 + n).min(c_end);
            if lo >= hi {
                continue;
            }
            let src_len = c.source.len_frames() as i64;
            // Source frames are at source_offset + (t − position); keep the
            // part inside the source.
            let lo = lo.max(c.position - c.source_offset);
            let hi = hi.min(c.position - c.source_offset + src_len);
            if lo >= hi {
                continue;
            }
            let fade_in = c.fade_in as f32;
            let fade_out = c.fade_out as f32;
            let needs_fade =
                |t: i64| (t - c.position) < c.fade_in as i64 || (c_end - t) <= c.fade_out as i64;
            let gain_at = |t: i64| {
                let mut g = c.gain;
                let from_start = (t - c.position) as f32;
                let to_end = (c_end - t) as f32;
                if fade_in > 0.0 && from_start < fade_in {
                    g *= from_start / fade_in;
                }
                if fade_out > 0.0 && to_end <= fade_out {
                    g *= ((to_end - 1.0).max(0.0) / fade_out).min(1.0);
                }
                g
            };
            let fades = needs_fade(lo) || needs_fade(hi - 1);
            for (ch, dst) in out.iter_mut().enumerate() {
                let plane = &c.source.planes[ch.min(c.source.planes.len() - 1)];
                let s0 = (c.source_offset + lo - c.position) as usize;
                let d0 = (lo - t0) as usize;
                let len = (hi - lo) as usize;
                let src = &plane[s0..s0 + len];
                let dst = &mut dst[d0..d0 + len];
                if fades {
                    for (i, (d, &s)) in dst.iter_mut().zip(src).enumerate() {
                        *d += s * gain_at(lo + i as i64);
                    }
                } else {
                    let g = c.gain;
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += s * g;
                    }
                }
            }
        }
    }
}

impl Source for TrackRender {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn channels(&self) -> usize {
        self.channels
    }

    fn len_frames(&self) -> u64 {
        (self.end - self.start).max(0) as u64
    }

    fn play(&self, block_frames: usize, sink: &mut dyn FnMut(&[&[f32]])) {
        let block_frames = block_frames.max(1) as i64;
        let mut buf = vec![vec![0f32; block_frames as usize]; self.channels];
        let mut t = self.start;
        while t < self.end {
            let n = (self.end - t).min(block_frames) as usize;
            for p in &mut buf {
                p.truncate(n);
                p.iter_mut().for_each(|v| *v = 0.0);
            }
            self.mix_into(t, &mut buf);
            let refs: Vec<&[f32]> = buf.iter().map(Vec::as_slice).collect();
            sink(&refs);
            t += n as i64;
        }
    }
}

/// Why a track could not be rendered: a media file failed to decode. Names
/// the track and the file.
#[derive(Debug, thiserror::Error)]
#[error("track {index} \"{name}\": {message}")]
pub struct RenderError {
    /// The track's index.
    pub index: usize,
    /// The track's name.
    pub name: String,
    /// What went wrong, naming the file.
    pub message: String,
}

/// Prepares `track` for playback at `rate`, decoding its media through
/// `cache`. Returns the render (possibly with no clips) and warnings naming
/// the clips they concern.
pub fn render_track(
    track: &Track,
    rate: u32,
    cache: &MediaCache,
) -> Result<(TrackRender, Vec<String>), RenderError> {
    let mut warnings = Vec::new();
    let mut sources: HashMap<PathBuf, Arc<Buffer>> = HashMap::new();
    let mut clips = Vec::new();
    let frames = |s: f64| (s * f64::from(rate)).round() as i64;
    let mut non_audio = 0usize;
    for clip in &track.clips {
        if clip.kind != ClipKind::Audio {
            non_audio += 1;
            continue;
        }
        if clip.muted {
            continue;
        }
        let Some(path) = &clip.resolved_path else {
            warnings.push(format!(
                "clip \"{}\": media file {} not found; the clip is silent",
                clip.name,
                clip.path.as_deref().unwrap_or("(none)")
            ));
            continue;
        };
        if (clip.playrate - 1.0).abs() > 1e-9 {
            warnings.push(format!(
                "clip \"{}\": play rate {} is not honoured; measured at rate 1",
                clip.name, clip.playrate
            ));
        }
        if clip.pitch_semitones.abs() > 1e-9 {
            warnings.push(format!(
                "clip \"{}\": pitch shift of {} semitones is not honoured",
                clip.name, clip.pitch_semitones
            ));
        }
        if clip.reversed {
            warnings.push(format!(
                "clip \"{}\": reversed source is measured forwards",
                clip.name
            ));
        }
        let source = match sources.get(path) {
            Some(s) => s.clone(),
            None => {
                let prepared = cache.get(path).map_err(|message| RenderError {
                    index: track.index,
                    name: track.name.clone(),
                    message,
                })?;
                for w in &prepared.warnings {
                    warnings.push(format!("clip \"{}\": {w}", clip.name));
                }
                sources.insert(path.clone(), prepared.buffer.clone());
                prepared.buffer.clone()
            }
        };
        let length = frames(clip.length_s).max(0) as u64;
        if length == 0 {
            continue;
        }
        clips.push(ClipRender {
            source,
            position: frames(clip.position_s),
            source_offset: frames(clip.source_offset_s),
            length,
            gain: clip.gain as f32,
            fade_in: frames(clip.fade_in_s).max(0) as u64,
            fade_out: frames(clip.fade_out_s).max(0) as u64,
        });
    }
    if clips.is_empty() && non_audio > 0 {
        warnings.push(format!(
            "{non_audio} non-audio clip(s) (MIDI, video, ...) are not rendered; the track is silent"
        ));
    }
    let channels = if clips.iter().any(|c| c.source.channels() > 1) {
        2
    } else {
        1
    };
    let start = clips.iter().map(|c| c.position).min().unwrap_or(0);
    let end = clips
        .iter()
        .map(|c| c.position + c.length as i64)
        .max()
        .unwrap_or(0);
    Ok((
        TrackRender {
            sample_rate: rate,
            channels,
            start,
            end,
            clips,
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(src: &Arc<Buffer>, position: i64, offset: i64, length: u64, gain: f32) -> ClipRender {
        ClipRender {
            source: src.clone(),
            position,
            source_offset: offset,
            length,
            gain,
            fade_in: 0,
            fade_out: 0,
        }
    }

    #[test]
    fn clips_land_at_position_with_offset_gain_and_silence_between() {
        let src = Arc::new(Buffer::mono(10, (0..10).map(|i| i as f32).collect()));
        let r = TrackRender {
            sample_rate: 10,
            channels: 1,
            start: 0,
            end: 12,
            clips: vec![clip(&src, 0, 2, 3, 1.0), clip(&src, 5, 8, 4, 2.0)],
        };
        // Block size 4 forces clips to straddle block edges.
        let mut out = Vec::new();
        r.play(4, &mut |b| out.extend_from_slice(b[0]));
        // Second clip: offset 8 plays source 8, 9 then runs past the source end.
        assert_eq!(out, vec![2., 3., 4., 0., 0., 16., 18., 0., 0., 0., 0., 0.]);
    }

    #[test]
    fn linear_fades_and_mono_on_stereo_track() {
        let mono = Arc::new(Buffer::mono(10, vec![1.0; 10]));
        let stereo = Arc::new(Buffer::stereo(10, vec![0.0; 10], vec![0.5; 10]));
        let mut c = clip(&mono, 0, 0, 8, 1.0);
        c.fade_in = 4;
        c.fade_out = 2;
        let r = TrackRender {
            sample_rate: 10,
            channels: 2,
            start: 0,
            end: 10,
            clips: vec![c, clip(&stereo, 8, 0, 2, 1.0)],
        };
        let b = r.to_buffer();
        assert_eq!(
            b.planes[0],
            vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            b.planes[1],
            vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.0, 0.5, 0.5]
        );
    }
}
