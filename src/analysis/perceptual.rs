//! The fast perceptual estimator: ISO 532-1's stationary model (core
//! loudness, slopes) applied frame by frame to third-octave band powers
//! taken from an FFT instead of the standard's 48 kHz IIR filter bank and
//! its smoothing. The track's value is the 95th percentile of the frame
//! loudness (an N5 over frames), converted to a level.
//!
//! Why this and not a correction of LUFS: on narrowband signals the
//! stationary Zwicker model from band powers reproduces ISO 532-1's
//! equal-loudness offsets almost exactly by construction, whereas a
//! regression from centroid/F0/flatness has to learn the level-dependent
//! low-frequency contours; the measured comparison is in
//! `models/perceptual/README.md` and BENCHMARKS.md.
//!
//! # Cost
//! One real FFT of `n_fft` (≈ 170 ms: 8192 at 48 kHz) per `hop` (half a
//! frame) of the mono mix, a band sum over the bins, and per frame the
//! 28-band core loudness and slopes. In `premix analyze` it runs on the
//! kept slots only (≤ 32 s per track), so its cost does not grow with the
//! track length.
//!
//! # Level
//! [`Estimate::perceptual_lufs`] is the loudness level minus
//! `db_spl_at_unit_rms − 3.0103`: the LUFS that a 1 kHz tone of the same
//! loudness reads when played dual mono (a 1 kHz tone of per-channel RMS r
//! reads 20·log10 r + 3.0103 LUFS and plays at 20·log10 r + D dB SPL, which
//! is its loudness level in phon). It moves with gain at the rate loudness
//! level does: 1 phon per dB for a 1 kHz tone above 40 phon, more near
//! threshold and at low frequencies.

use super::iso532::{self, Calibration, Field, BANDS};
use realfft::RealFftPlanner;

/// Estimator settings.
#[derive(Clone, Debug, PartialEq)]
pub struct EstimatorConfig {
    /// Frame length, seconds (rounded to a power of two of samples).
    pub frame_s: f64,
    /// Frames per frame length (hop = frame / overlap).
    pub overlap: usize,
    /// Percentile of the frame loudness taken as the track's loudness.
    pub percentile: f64,
    /// Calibration and sound field, as for ISO 532-1.
    pub calibration: Calibration,
    pub field: Field,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        EstimatorConfig {
            frame_s: 0.17,
            overlap: 2,
            percentile: 95.0,
            calibration: Calibration::default(),
            field: Field::Free,
        }
    }
}

/// The estimator's result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Percentile of the frame loudness, sone.
    pub sone: f64,
    /// Its loudness level, phon.
    pub phon: f64,
    /// The level of the equally loud dual-mono 1 kHz tone, LUFS.
    pub perceptual_lufs: f64,
    /// Frames measured.
    pub frames: usize,
}

/// dB between loudness level (phon) and the LUFS of the equally loud
/// dual-mono 1 kHz tone, under `cal` (see the module docs).
pub fn phon_to_lufs_offset(cal: &Calibration) -> f64 {
    cal.db_spl_at_unit_rms - 10.0 * 2f64.log10()
}

/// Per-frame third-octave band powers of a mono signal, in squared sample
/// units: Hann-windowed frames, one-sided power spectrum normalised so a
/// stationary signal's band powers sum to its mean square. Bands above
/// Nyquist stay 0.
pub struct BandFrames {
    n_fft: usize,
    hop: usize,
    /// Per bin, the bands it feeds and the power weight |H_b(f)|² of the
    /// standard's band filter at the bin's frequency (weights below −60 dB
    /// of the band's peak left out).
    weights: Vec<Vec<(usize, f64)>>,
    window: Vec<f32>,
    norm: f64,
}

impl BandFrames {
    pub fn new(rate: u32, cfg: &EstimatorConfig) -> BandFrames {
        let n_fft = 1usize
            << ((cfg.frame_s * f64::from(rate)).max(64.0).log2().round() as u32).clamp(6, 18);
        let hop = (n_fft / cfg.overlap.max(1)).max(1);
        // The standard's filters skirts matter: a 1 kHz tone at 80 dB
        // leaks enough into the 800 Hz and 1.25 kHz bands to add ~20 % of
        // loudness, so each bin is weighted by every band's power response
        // instead of being assigned to one band.
        let weights = (0..=n_fft / 2)
            .map(|k| {
                let f = k as f64 * f64::from(rate) / n_fft as f64;
                if k == 0 || k == n_fft / 2 {
                    return Vec::new();
                }
                (0..BANDS)
                    .map(|b| (b, iso532::band_power_response(b, f)))
                    .filter(|&(_, w)| w > 1e-6)
                    .collect()
            })
            .collect();
        let window: Vec<f32> = (0..n_fft)
            .map(|i| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n_fft as f64).cos()) as f32
            })
            .collect();
        let sum_w2: f64 = window.iter().map(|&w| f64::from(w) * f64::from(w)).sum();
        BandFrames {
            n_fft,
            hop,
            weights,
            window,
            norm: 2.0 / (n_fft as f64 * sum_w2),
        }
    }

    /// Calls `f` with each frame's band powers and mean square, frames of
    /// `n_fft` every `hop` samples over `x` (a trailing part shorter than a
    /// frame is left out; a signal shorter than one frame is one
    /// zero-padded frame).
    pub fn for_each(&self, x: &[f32], mut f: impl FnMut(&[f64; BANDS], f64)) {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(self.n_fft);
        let mut input = fft.make_input_vec();
        let mut spectrum = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        let mut start = 0;
        loop {
            let end = (start + self.n_fft).min(x.len());
            if end - start < self.n_fft && start > 0 {
                break;
            }
            let frame = &x[start..end];
            let len = frame.len().max(1);
            let ms = frame
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                / len as f64;
            input.fill(0.0);
            for ((i, &v), w) in input.iter_mut().zip(frame).zip(&self.window) {
                *i = v * w;
            }
            if fft
                .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .is_err()
            {
                break;
            }
            let mut bands = [0f64; BANDS];
            for (c, ws) in spectrum.iter().zip(&self.weights) {
                let p = f64::from(c.norm_sqr());
                for &(b, w) in ws {
                    bands[b] += w * p;
                }
            }
            // A zero-padded short frame holds less energy than a full one.
            let pad = self.n_fft as f64 / len as f64;
            for v in &mut bands {
                *v *= self.norm * pad;
            }
            f(&bands, ms);
            if end == x.len() {
                break;
            }
            start += self.hop;
        }
    }
}

/// Runs the estimator over `slots` of mono audio at `rate` (treated as one
/// stream, as the analysis keeps them); frames whose mean square is below
/// `gate_ms` are left out. `None` when no frame is left.
pub fn estimate(
    slots: &[Vec<f32>],
    rate: u32,
    gate_ms: f64,
    cfg: &EstimatorConfig,
) -> Option<Estimate> {
    let stream: Vec<f32> = slots.iter().flatten().copied().collect();
    estimate_signal(&stream, rate, gate_ms, cfg)
}

/// [`estimate`] on one contiguous mono signal.
pub fn estimate_signal(
    x: &[f32],
    rate: u32,
    gate_ms: f64,
    cfg: &EstimatorConfig,
) -> Option<Estimate> {
    if x.is_empty() || rate == 0 {
        return None;
    }
    let frames = BandFrames::new(rate, cfg);
    let k = cfg.calibration.pascal_per_unit().powi(2) / 4e-10;
    let mut sones = Vec::new();
    frames.for_each(x, |bands, ms| {
        // NaN audio fails the gate too.
        if ms.partial_cmp(&gate_ms) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        let rel = bands.map(|p| p * k);
        let core = iso532::core_loudness_from_intensities(&rel, cfg.field);
        sones.push(iso532::slopes(&core, None));
    });
    if sones.is_empty() {
        return None;
    }
    let sone = iso532::percentile(&sones, cfg.percentile);
    let phon = iso532::sone_to_phon(sone);
    Some(Estimate {
        sone,
        phon,
        perceptual_lufs: phon - phon_to_lufs_offset(&cfg.calibration),
        frames: sones.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(f: f64, rms: f64, rate: u32, seconds: f64) -> Vec<f32> {
        (0..(seconds * f64::from(rate)) as usize)
            .map(|i| {
                (rms * std::f64::consts::SQRT_2
                    * (2.0 * std::f64::consts::PI * f * i as f64 / f64::from(rate)).sin())
                    as f32
            })
            .collect()
    }

    #[test]
    fn one_khz_tone_reads_its_own_lufs() {
        // −20 dBFS RMS 1 kHz: 83 dB SPL; Zwicker's model gives it 83.8
        // phon (MoSQITo: 20.8 sone), so perceptual_lufs ≈ −16.99 + 0.8,
        // near the tone's dual-mono LUFS (−16.99); 1 dB allows for that.
        let x = sine(1000.0, 0.1, 48_000, 2.0);
        let e = estimate_signal(&x, 48_000, 0.0, &EstimatorConfig::default()).unwrap();
        assert!((e.perceptual_lufs + 16.99).abs() < 1.0, "{e:?}");
        // And it agrees with the native stationary method on the same tone:
        // 3.1 % seen (the Hann window's spread weighted by the filters'
        // steep skirts is not quite the filters' own response), so 5 %.
        let pa: Vec<f32> = x
            .iter()
            .map(|&v| v * Calibration::default().pascal_per_unit() as f32)
            .collect();
        let st = iso532::stationary(&pa, Field::Free);
        assert!(
            (e.sone / st.sone - 1.0).abs() < 0.05,
            "{} {}",
            e.sone,
            st.sone
        );
    }

    #[test]
    fn gain_moves_the_level_and_silence_is_none() {
        let cfg = EstimatorConfig::default();
        let a = estimate_signal(&sine(440.0, 0.05, 44_100, 1.0), 44_100, 0.0, &cfg).unwrap();
        let b = estimate_signal(&sine(440.0, 0.1, 44_100, 1.0), 44_100, 0.0, &cfg).unwrap();
        let d = b.perceptual_lufs - a.perceptual_lufs;
        // 6 dB of gain: between 4 and 8 phon for a mid-frequency tone.
        assert!((4.0..8.0).contains(&d), "{d}");
        assert!(estimate_signal(&[0.0; 1000], 48_000, 1e-9, &cfg).is_none());
        assert!(estimate_signal(&[], 48_000, 0.0, &cfg).is_none());
    }
}
