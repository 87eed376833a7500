//! The reference mix: a finished-sounding stereo mix of *different* music
//! (another seed, tempo and key), used as the stage-2 target.
//!
//! Thirteen stems of a compact band are levelled to their nominal loudness
//! (no deliberate errors), panned wide, summed, and mastered: gentle EQ, a
//! glue compressor, and a look-ahead limiter driven until the mix reads
//! [`REFERENCE_LUFS`] with sample peaks at or below
//! −1 dBFS.
//!
//! Memory: stems are rendered block by block (each block in parallel across
//! stems, summed in a fixed order so the result does not depend on thread
//! scheduling); only the stereo sum is kept, and the reference is at most
//! [`REFERENCE_MAX_SECONDS`] long.

use super::dsp::{db, pan_gains, Biquad};
use super::instruments::{build, plan, Context, TrackPlan, REFERENCE_STEMS};
use super::rng::mix;
use super::song::{Song, BAR};
use super::voices::Renderer;
use super::{loudness_meter, GenerateError, REFERENCE_LUFS, REFERENCE_MAX_SECONDS};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::f32::consts::FRAC_1_SQRT_2;
use std::path::Path;

/// Sample-peak ceiling of the limiter.
const CEILING_DBFS: f64 = -1.0;

/// Renders the reference mix for a session whose song is `session` and
/// writes it to `path` as 32-bit float stereo. Returns the reference's
/// tempo.
pub(crate) fn render(
    seed: u64,
    session: &Song,
    seconds: f64,
    path: &Path,
) -> Result<f64, GenerateError> {
    let seconds = seconds.min(REFERENCE_MAX_SECONDS);
    let song = Song::contrasting(mix(seed, 0x5245_4646), session, seconds);
    let sr = song.sr;
    let len = song.len as usize;
    let bpm = song.bpm;
    let stems: Vec<TrackPlan> = plan(24, mix(seed, 0x5354_454D))
        .into_iter()
        .filter(|p| REFERENCE_STEMS.contains(&p.name.as_str()))
        .collect();
    let ctx = Context::new(song);

    // Pass 1: each stem's gain to its nominal loudness, measured over the
    // first two bars (every stem plays from the start and the parts repeat
    // every two or four bars, so two bars represent the whole well enough
    // for a reference, at a fraction of the cost of a full pass).
    let window = (ctx.song.dur((2 * BAR) as f64) as usize).min(len);
    let gains: Vec<f64> = stems
        .par_iter()
        .map(|p| {
            let mut r = build(p, &ctx);
            let lufs = measure(&mut r, usize::from(p.channels), sr, window, path)?;
            Ok(if lufs.is_finite() {
                db(p.instrument.nominal_lufs() - lufs)
            } else {
                0.0
            })
        })
        .collect::<Result<_, GenerateError>>()?;

    // Pass 2: the stereo sum.
    let mut renderers: Vec<(Renderer, Vec<Vec<f32>>)> = stems
        .iter()
        .map(|p| {
            (
                build(p, &ctx),
                vec![vec![0.0; BLOCK]; usize::from(p.channels)],
            )
        })
        .collect();
    let mut left = vec![0.0f32; len];
    let mut right = vec![0.0f32; len];
    let mut pos = 0;
    while pos < len {
        let n = BLOCK.min(len - pos);
        renderers
            .par_iter_mut()
            .for_each(|(r, bufs)| r.render(bufs, n));
        for ((p, (_, bufs)), &g) in stems.iter().zip(&renderers).zip(&gains) {
            let (gl, gr) = if bufs.len() == 1 {
                let pg = pan_gains(p.pan * 1.15);
                // The pan law's centre is 0 dB per side; −3 dB keeps a
                // centred mono stem's power equal to its mono level.
                (pg[0] * FRAC_1_SQRT_2, pg[1] * FRAC_1_SQRT_2)
            } else {
                (1.0, 1.0)
            };
            let (gl, gr) = (gl * g as f32, gr * g as f32);
            let l = &bufs[0][..n];
            let r = &bufs[bufs.len() - 1][..n];
            for i in 0..n {
                left[pos + i] += gl * l[i];
                right[pos + i] += gr * r[i];
            }
        }
        pos += n;
    }

    master(&mut left, &mut right, sr, path)?;
    write_stereo(path, &left, &right, sr as u32)?;
    Ok(bpm)
}

/// Block length of the block-parallel render, in frames.
const BLOCK: usize = 16_384;

/// Integrated loudness of the first `len` frames of a renderer's output.
fn measure(
    r: &mut Renderer,
    channels: usize,
    sr: f64,
    len: usize,
    path: &Path,
) -> Result<f64, GenerateError> {
    let mut meter = loudness_meter(channels, sr as u32, path)?;
    let mut bufs = vec![vec![0.0f32; BLOCK]; channels];
    let mut inter = Vec::with_capacity(BLOCK * channels);
    let mut done = 0;
    while done < len {
        let n = BLOCK.min(len - done);
        r.render(&mut bufs, n);
        inter.clear();
        for i in 0..n {
            for b in &bufs {
                inter.push(b[i]);
            }
        }
        meter
            .add_frames_f32(&inter)
            .map_err(|e| GenerateError::loudness(path, e))?;
        done += n;
    }
    meter
        .loudness_global()
        .map_err(|e| GenerateError::loudness(path, e))
}

/// Loudness of the stereo signal `gain·curve·(l, r)`.
fn loudness_of(
    l: &[f32],
    r: &[f32],
    curve: Option<&[f32]>,
    gain: f32,
    sr: f64,
    path: &Path,
) -> Result<f64, GenerateError> {
    let mut meter = loudness_meter(2, sr as u32, path)?;
    let mut inter = Vec::with_capacity(2 * BLOCK);
    for start in (0..l.len()).step_by(BLOCK) {
        let end = (start + BLOCK).min(l.len());
        inter.clear();
        for i in start..end {
            let g = gain * curve.map_or(1.0, |c| c[i]);
            inter.push(l[i] * g);
            inter.push(r[i] * g);
        }
        meter
            .add_frames_f32(&inter)
            .map_err(|e| GenerateError::loudness(path, e))?;
    }
    meter
        .loudness_global()
        .map_err(|e| GenerateError::loudness(path, e))
}

/// Mastering: tilt EQ, glue compression, then limiter gain found by
/// iteration so the result reads `REFERENCE_LUFS`. Processes in place.
fn master(l: &mut [f32], r: &mut [f32], sr: f64, path: &Path) -> Result<(), GenerateError> {
    // Bring the sum to a known level so the compressor threshold means
    // the same thing for any stem balance.
    let lufs = loudness_of(l, r, None, 1.0, sr, path)?;
    if !lufs.is_finite() {
        return Ok(());
    }
    let pre = db(-18.0 - lufs) as f32;
    let mut eq = [
        [
            Biquad::low_shelf(sr, 90.0, 1.5),
            Biquad::high_shelf(sr, 10_000.0, 2.0),
        ],
        [
            Biquad::low_shelf(sr, 90.0, 1.5),
            Biquad::high_shelf(sr, 10_000.0, 2.0),
        ],
    ];
    for (ch, buf) in [&mut *l, &mut *r].into_iter().enumerate() {
        for x in buf.iter_mut() {
            *x *= pre;
        }
        for f in &mut eq[ch] {
            f.run(buf);
        }
    }
    compress(l, r, sr);

    // The limiter's gain curve does not depend on the drive's effect on
    // loudness, but the loudness does on the curve: iterate (a few steps of
    // a fixed-point update converge to within 0.05 LU).
    let ceiling = db(CEILING_DBFS) as f32;
    let mut drive = db(REFERENCE_LUFS - loudness_of(l, r, None, 1.0, sr, path)?) as f32;
    let mut curve = vec![1.0f32; l.len()];
    for _ in 0..8 {
        limiter_curve(l, r, drive, ceiling, sr, &mut curve);
        let got = loudness_of(l, r, Some(&curve), drive, sr, path)?;
        let err = REFERENCE_LUFS - got;
        if !err.is_finite() || err.abs() < 0.05 {
            break;
        }
        drive *= db(err) as f32;
    }
    for i in 0..l.len() {
        let g = drive * curve[i];
        l[i] = (l[i] * g).clamp(-ceiling, ceiling);
        r[i] = (r[i] * g).clamp(-ceiling, ceiling);
    }
    Ok(())
}

/// A stereo-linked feed-forward compressor: threshold −24 dBFS, ratio 2:1,
/// 10 ms attack, 150 ms release; glue, not squash.
fn compress(l: &mut [f32], r: &mut [f32], sr: f64) {
    let threshold = -24.0f32;
    let slope = 1.0 - 1.0 / 2.0;
    let att = super::dsp::decay_coef(sr, 0.010);
    let rel = super::dsp::decay_coef(sr, 0.150);
    let mut env_db = -120.0f32;
    for i in 0..l.len() {
        let level = l[i].abs().max(r[i].abs()).max(1e-6);
        let x_db = 20.0 * level.log10();
        let c = if x_db > env_db { att } else { rel };
        env_db = x_db + (env_db - x_db) * c;
        let over = (env_db - threshold).max(0.0);
        let g = 10f32.powf(-over * slope / 20.0);
        l[i] *= g;
        r[i] *= g;
    }
}

/// The gain curve of a look-ahead brickwall limiter: for each sample the
/// gain that keeps `drive·x` under `ceiling`, spread backwards over the
/// look-ahead by a sliding minimum and smoothed by a moving average of the
/// same length (which can only lower it below the required gain at every
/// sample), then released slowly.
fn limiter_curve(l: &[f32], r: &[f32], drive: f32, ceiling: f32, sr: f64, curve: &mut [f32]) {
    let n = l.len();
    if n == 0 {
        return;
    }
    let la = ((0.0015 * sr) as usize).max(1);
    let required = |i: usize| {
        let p = l[i].abs().max(r[i].abs()) * drive;
        if p > ceiling {
            ceiling / p
        } else {
            1.0
        }
    };
    // Sliding minimum over [j − la, j], written at j − la: the minimum over
    // the next `la` samples.
    let mut dq: VecDeque<(usize, f32)> = VecDeque::new();
    let mut last = 1.0;
    for j in 0..n {
        let v = required(j);
        while dq.back().is_some_and(|&(_, b)| b >= v) {
            dq.pop_back();
        }
        dq.push_back((j, v));
        while dq.front().is_some_and(|&(k, _)| k + la < j) {
            dq.pop_front();
        }
        last = dq.front().map_or(1.0, |&(_, m)| m);
        if j >= la {
            curve[j - la] = last;
        }
    }
    // The tail's window runs past the end: the last full minimum covers it.
    for c in curve.iter_mut().skip(n.saturating_sub(la)).take(la) {
        *c = last;
    }
    // Moving average over [i − la + 1, i] (values before 0 are curve[0]),
    // then a release that only slows increases.
    let mut ring = vec![curve[0]; la];
    let mut sum: f64 = f64::from(curve[0]) * la as f64;
    let release = 1.0 - super::dsp::decay_coef(sr, 0.08);
    let mut g = 1.0f32;
    for i in 0..n {
        let v = curve[i];
        sum += f64::from(v) - f64::from(ring[i % la]);
        ring[i % la] = v;
        let avg = (sum / la as f64) as f32;
        g = if avg < g {
            avg
        } else {
            g + (avg - g) * release
        };
        curve[i] = g;
    }
}

fn write_stereo(path: &Path, l: &[f32], r: &[f32], sr: u32) -> Result<(), GenerateError> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: sr,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let err = |e| GenerateError::wav(path, e);
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for (a, b) in l.iter().zip(r) {
        w.write_sample(*a).map_err(err)?;
        w.write_sample(*b).map_err(err)?;
    }
    w.finalize().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_curve_holds_the_ceiling() {
        let sr = 48_000.0;
        let n = 48_000;
        let l: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f32 / 48_000.0;
                (t * 440.0 * std::f32::consts::TAU).sin() * if i % 24_000 < 50 { 4.0 } else { 0.5 }
            })
            .collect();
        let r = l.clone();
        let mut curve = vec![1.0; n];
        limiter_curve(&l, &r, 1.5, 0.89, sr, &mut curve);
        for i in 0..n {
            assert!(l[i].abs() * 1.5 * curve[i] <= 0.89 * 1.0001, "sample {i}");
            assert!(curve[i] > 0.0 && curve[i] <= 1.0);
        }
        // Quiet stretches get the full drive back.
        assert!(curve[23_000] > 0.99, "{}", curve[23_000]);
        assert!(curve[10] < 0.2, "{}", curve[10]);
    }
}
