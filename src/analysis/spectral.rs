//! Spectral centroid and bandwidth, as `librosa.feature.spectral_centroid`
//! and `spectral_bandwidth(p=2)` define them: magnitude spectrum of
//! periodic-Hann-windowed frames, centroid = Σ f·|X| / Σ |X|, bandwidth =
//! √(Σ |X|·(f − centroid)² / Σ |X|); each averaged over active frames.

use realfft::RealFftPlanner;

/// Per-track spectral statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spectral {
    /// Mean centroid, Hz.
    pub centroid_hz: f64,
    /// Mean bandwidth (p = 2), Hz.
    pub bandwidth_hz: f64,
    /// Active frames averaged.
    pub frames: usize,
}

/// Frame statistics over `slots` of mono audio at `rate`: frames of `n_fft`
/// with hop `hop` inside each slot; a frame is used when its mean square is
/// at least `gate_ms`. `None` when no frame qualifies.
pub fn analyze(
    slots: &[Vec<f32>],
    rate: u32,
    n_fft: usize,
    hop: usize,
    gate_ms: f64,
) -> Option<Spectral> {
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let window: Vec<f32> = (0..n_fft)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n_fft as f64).cos()) as f32)
        .collect();
    let freqs: Vec<f64> = (0..=n_fft / 2)
        .map(|k| k as f64 * f64::from(rate) / n_fft as f64)
        .collect();
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut mags = vec![0f64; n_fft / 2 + 1];
    let (mut sum_c, mut sum_b, mut frames) = (0.0, 0.0, 0usize);
    for slot in slots {
        let mut start = 0;
        // Slots shorter than one frame (a short final slot) contribute one
        // zero-padded frame, as librosa pads short signals.
        while start < slot.len() && (start + n_fft <= slot.len() || start == 0) {
            let end = (start + n_fft).min(slot.len());
            let frame = &slot[start..end];
            start += hop.max(1);
            let ms = frame
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                / frame.len() as f64;
            if ms < gate_ms || ms == 0.0 {
                continue;
            }
            for (i, v) in input.iter_mut().enumerate() {
                *v = frame.get(i).map_or(0.0, |&s| s * window[i]);
            }
            if fft
                .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .is_err()
            {
                continue;
            }
            let mut total = 0.0;
            let mut weighted = 0.0;
            for ((m, c), f) in mags.iter_mut().zip(&spectrum).zip(&freqs) {
                // |X| without hypot (slow, and overflow cannot happen here).
                *m = f64::from((c.re * c.re + c.im * c.im).sqrt());
                total += *m;
                weighted += *m * f;
            }
            if total <= 0.0 {
                continue;
            }
            let centroid = weighted / total;
            let spread: f64 = mags
                .iter()
                .zip(&freqs)
                .map(|(m, f)| m * (f - centroid) * (f - centroid))
                .sum::<f64>()
                / total;
            sum_c += centroid;
            sum_b += spread.sqrt();
            frames += 1;
        }
    }
    (frames > 0).then(|| Spectral {
        centroid_hz: sum_c / frames as f64,
        bandwidth_hz: sum_b / frames as f64,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centroid_of_a_bin_centred_sine_is_its_frequency() {
        let rate = 48_000;
        let n_fft = 2048;
        // Bin 64 exactly: 1500 Hz. A periodic Hann window spreads it over
        // bins 63-65 symmetrically, so the centroid is exact.
        let f = 64.0 * rate as f64 / n_fft as f64;
        let x: Vec<f32> = (0..rate as usize)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / rate as f64).sin() as f32)
            .collect();
        let s = analyze(&[x], rate, n_fft, 512, 1e-10).unwrap();
        // f32 FFT rounding leaves a noise floor ~140 dB down in every bin;
        // weighted by distances of up to 22 kHz it moves the centroid by
        // ~0.01 Hz.
        assert!((s.centroid_hz - f).abs() < 0.05, "{}", s.centroid_hz);
        // With two equal bin-centred sines 128 bins apart the spread is
        // dominated by their distance: variance = (64·Δf)² + Δf²/2 (each
        // sine's Hann spread). 0.1 % covers the f32 noise floor.
        let df = rate as f64 / n_fft as f64;
        let two: Vec<f32> = (0..rate as usize)
            .map(|i| {
                let t = i as f64 / rate as f64;
                let w = 2.0 * std::f64::consts::PI * df * t;
                ((64.0 * w).sin() + (192.0 * w).sin()) as f32
            })
            .collect();
        let s2 = analyze(&[two], rate, n_fft, 512, 1e-10).unwrap();
        assert!(
            (s2.centroid_hz - 128.0 * df).abs() < 0.05,
            "{}",
            s2.centroid_hz
        );
        let want = ((64.0 * df).powi(2) + df * df / 2.0).sqrt();
        assert!(
            (s2.bandwidth_hz / want - 1.0).abs() < 1e-3,
            "{} vs {want}",
            s2.bandwidth_hz
        );
    }

    #[test]
    fn silent_frames_are_not_averaged() {
        assert_eq!(analyze(&[vec![0.0; 8192]], 48_000, 2048, 512, 1e-10), None);
    }
}
