//! Sample-rate conversion of whole decoded files (rubato's synchronous FFT
//! resampler), so every clip of a track plays at the project rate.
//!
//! A file is resampled once, when it is decoded, not per clip or per pass.
//! The resampler's delay is removed, so sample `n` of the output lies at the
//! time of sample `n·from/to` of the input, and the output is exactly
//! `round(len·to/from)` frames long.

use super::Buffer;
use rubato::{FftFixedIn, Resampler};

/// Input chunk size: large chunks amortise the FFT set-up; 4096 frames is
/// small enough not to matter for memory.
const CHUNK: usize = 4096;

/// Resamples `buf` to `to_rate`. Returns `buf` unchanged when the rates are
/// equal.
pub fn resample(buf: Buffer, to_rate: u32) -> Result<Buffer, String> {
    if buf.sample_rate == to_rate || buf.len_frames() == 0 {
        return Ok(Buffer {
            sample_rate: to_rate,
            planes: buf.planes,
        });
    }
    let from = buf.sample_rate as usize;
    let to = to_rate as usize;
    let channels = buf.channels();
    let mut rs = FftFixedIn::<f32>::new(from, to, CHUNK, 2, channels)
        .map_err(|e| format!("cannot resample {from} Hz to {to} Hz: {e}"))?;
    let delay = rs.output_delay();
    let n_in = buf.len_frames();
    let n_out = ((n_in as f64) * (to as f64) / (from as f64)).round() as usize;
    let mut out: Vec<Vec<f32>> = (0..channels)
        .map(|_| Vec::with_capacity(n_out + delay + 2 * CHUNK))
        .collect();
    let mut pos = 0;
    let mut tmp = rs.output_buffer_allocate(true);
    while out[0].len() < n_out + delay {
        let need = rs.input_frames_next();
        let (_, written) = if pos + need <= n_in {
            let chunk: Vec<&[f32]> = buf.planes.iter().map(|p| &p[pos..pos + need]).collect();
            pos += need;
            rs.process_into_buffer(&chunk, &mut tmp, None)
        } else if pos < n_in {
            let chunk: Vec<&[f32]> = buf.planes.iter().map(|p| &p[pos..]).collect();
            pos = n_in;
            rs.process_partial_into_buffer(Some(&chunk), &mut tmp, None)
        } else {
            rs.process_partial_into_buffer(None::<&[&[f32]]>, &mut tmp, None)
        }
        .map_err(|e| format!("resampling failed: {e}"))?;
        for (o, t) in out.iter_mut().zip(&tmp) {
            o.extend_from_slice(&t[..written]);
        }
    }
    drop(buf);
    for o in &mut out {
        o.drain(..delay.min(o.len()));
        o.truncate(n_out);
        o.shrink_to_fit();
    }
    Ok(Buffer::new(to_rate, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampled_sine_keeps_frequency_amplitude_and_timing() {
        // A 1 kHz sine at 44.1 kHz resampled to 48 kHz must be the same sine
        // sampled at 48 kHz: same phase (delay removed), same amplitude.
        let from = 44_100;
        let to = 48_000;
        let f = 1000.0;
        let n = from as usize; // 1 s
        let src: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / from as f64).sin() as f32 * 0.5)
            .collect();
        let out = resample(Buffer::mono(from, src), to).unwrap();
        assert_eq!(out.len_frames(), to as usize);
        // Compare away from the edges, where the FFT resampler has no
        // neighbours to interpolate from; −60 dB error is far below anything
        // a loudness or pitch measurement can see.
        let mut err = 0f64;
        for i in 2000..(to as usize - 2000) {
            let want = (2.0 * std::f64::consts::PI * f * i as f64 / to as f64).sin() * 0.5;
            err = err.max((out.planes[0][i] as f64 - want).abs());
        }
        assert!(err < 5e-4, "max error {err}");
    }

    #[test]
    fn same_rate_is_untouched() {
        let b = Buffer::stereo(48_000, vec![0.1, 0.2], vec![0.3, 0.4]);
        assert_eq!(resample(b.clone(), 48_000).unwrap(), b);
    }
}
