//! Mix style: the AudioFeatureLoss (AF) features of Diff-MST (after De Man
//! et al. 2014; ALGORITHMS.md §2.3) and the loss between two feature sets.
//!
//! Features, measured on a stereo signal **after loudness normalisation**
//! to [`StyleConfig::norm_lufs`] (BS.1770 integrated loudness, gated), so a
//! mastered reference at −8 LUFS and a premix at −18 LUFS compare on style
//! rather than level:
//!
//! | feature | definition | default weight |
//! |---|---|---|
//! | RMS | per channel, √mean(x²) | 0.1 |
//! | crest factor | per channel, 20·log10(peak/RMS) | 0.001 |
//! | stereo width | E[(L−R)²] / E[(L+R)²] | 1.0 |
//! | stereo imbalance | (E_R − E_L)/(E_R + E_L) | 1.0 |
//! | Bark spectrum | 24 triangular Bark bands 20 Hz–20 kHz of the time-averaged STFT magnitude (32768 points, hop 8192), natural log, on mid (L+R) and side (L−R) | 0.1 |
//!
//! The loss is Σ_k w_k · mean over the feature's elements of the squared
//! difference, as Diff-MST's `AudioFeatureLoss` (MSE per feature).
//!
//! Two deliberate differences from Diff-MST's code: the STFT uses a Hann
//! window (Diff-MST's `torch.stft` call passes none, i.e. a rectangular
//! window, whose leakage lets a loud low note fill the neighbouring bands),
//! and the Bark band edges use the Traunmüller inverse with both of its
//! corrections (Diff-MST's `_bark_to_hz` applies only the low-frequency one,
//! which pushes its top bands past Nyquist). Frames lie entirely inside the
//! signal (no centre padding); a signal shorter than one frame is one
//! zero-padded frame.
//!
//! Long signals can be measured on an excerpt ([`analysis_segments`]): the
//! features are then those of the segments taken together (energies and
//! spectra averaged over all of them, the peak over all of them).

use super::console::StereoBuffer;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

/// Number of Bark bands.
pub const N_BARK: usize = 24;

/// The AF loss weights.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AfWeights {
    /// Per-channel RMS.
    pub rms: f64,
    /// Per-channel crest factor, dB.
    pub crest: f64,
    /// Stereo width.
    pub width: f64,
    /// Stereo imbalance.
    pub imbalance: f64,
    /// Bark spectra (mid and side).
    pub bark: f64,
}

impl Default for AfWeights {
    /// Diff-MST's weights: 0.1, 0.001, 1.0, 1.0, 0.1.
    fn default() -> AfWeights {
        AfWeights {
            rms: 0.1,
            crest: 0.001,
            width: 1.0,
            imbalance: 1.0,
            bark: 0.1,
        }
    }
}

/// How features are measured and weighted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StyleConfig {
    /// Loudness every signal is normalised to before measuring, LUFS.
    pub norm_lufs: f64,
    /// STFT size of the Bark spectra (hop is a quarter of it).
    pub fft_size: usize,
    /// Lowest Bark band edge, Hz.
    pub f_min: f64,
    /// Highest Bark band edge, Hz.
    pub f_max: f64,
    /// Loss weights.
    pub weights: AfWeights,
}

impl Default for StyleConfig {
    fn default() -> StyleConfig {
        StyleConfig {
            norm_lufs: -18.0,
            fft_size: 32768,
            f_min: 20.0,
            f_max: 20000.0,
            weights: AfWeights::default(),
        }
    }
}

/// The AF features of one signal (after loudness normalisation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Integrated loudness before normalisation, LUFS (`None`: silent).
    pub loudness_lufs: Option<f64>,
    /// RMS of left and right.
    pub rms: [f64; 2],
    /// Crest factor of left and right, dB.
    pub crest_db: [f64; 2],
    /// E[(L−R)²] / E[(L+R)²].
    pub width: f64,
    /// (E_R − E_L)/(E_R + E_L).
    pub imbalance: f64,
    /// ln Bark-band magnitude of the mid signal.
    pub bark_mid: [f64; N_BARK],
    /// ln Bark-band magnitude of the side signal.
    pub bark_side: [f64; N_BARK],
}

/// Each feature's weighted share of the AF loss, and the total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossBreakdown {
    /// Weighted RMS term.
    pub rms: f64,
    /// Weighted crest-factor term.
    pub crest: f64,
    /// Weighted width term.
    pub width: f64,
    /// Weighted imbalance term.
    pub imbalance: f64,
    /// Weighted Bark-spectrum term.
    pub bark: f64,
    /// The sum.
    pub total: f64,
}

impl LossBreakdown {
    /// `(name, value)` pairs, in table order.
    pub fn terms(&self) -> [(&'static str, f64); 5] {
        [
            ("rms", self.rms),
            ("crest_factor", self.crest),
            ("stereo_width", self.width),
            ("stereo_imbalance", self.imbalance),
            ("bark_spectrum", self.bark),
        ]
    }
}

fn mse(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len() as f64
}

/// The AF loss of `mix` against `reference`.
pub fn loss(mix: &Features, reference: &Features, w: &AfWeights) -> LossBreakdown {
    let rms = w.rms * mse(&mix.rms, &reference.rms);
    let crest = w.crest * mse(&mix.crest_db, &reference.crest_db);
    let width = w.width * (mix.width - reference.width).powi(2);
    let imbalance = w.imbalance * (mix.imbalance - reference.imbalance).powi(2);
    let bark_a: Vec<f64> = mix.bark_mid.iter().chain(&mix.bark_side).copied().collect();
    let bark_b: Vec<f64> = reference
        .bark_mid
        .iter()
        .chain(&reference.bark_side)
        .copied()
        .collect();
    let bark = w.bark * mse(&bark_a, &bark_b);
    LossBreakdown {
        rms,
        crest,
        width,
        imbalance,
        bark,
        total: rms + crest + width + imbalance + bark,
    }
}

/// Deterministic analysis segments `(start, len)` in frames for a signal of
/// `len` frames: the whole signal when it is at most `total_s` seconds long
/// (or `total_s` is `None`), else `n` equal segments totalling `total_s`
/// seconds with their centres evenly spread over the signal.
pub fn analysis_segments(
    len: usize,
    sample_rate: u32,
    total_s: Option<f64>,
    n: usize,
) -> Vec<(usize, usize)> {
    let total = total_s.map(|t| (t * f64::from(sample_rate)).round() as usize);
    match total {
        Some(t) if t < len && n > 0 => {
            let seg = (t / n).max(1);
            (0..n)
                .map(|i| {
                    let start = ((len - seg) as f64 * (i as f64 + 0.5) / n as f64).round() as usize;
                    (start.min(len - seg), seg)
                })
                .collect()
        }
        _ => vec![(0, len)],
    }
}

/// Traunmüller's Hz → Bark with its low and high corrections.
pub fn hz_to_bark(f: f64) -> f64 {
    let b = 26.81 * f / (1960.0 + f) - 0.53;
    if b < 2.0 {
        b + 0.15 * (2.0 - b)
    } else if b > 20.1 {
        b + 0.22 * (b - 20.1)
    } else {
        b
    }
}

/// The exact inverse of [`hz_to_bark`].
pub fn bark_to_hz(b: f64) -> f64 {
    let b = if b < 2.0 {
        (b - 0.3) / 0.85
    } else if b > 20.1 {
        (b + 4.422) / 1.22
    } else {
        b
    };
    1960.0 * (b + 0.53) / (26.28 - b)
}

/// Triangular Bark filterbank on the bins of an `n_fft`-point real FFT:
/// per band, `(first_bin, weights)`.
pub(crate) fn bark_filterbank(
    n_fft: usize,
    sample_rate: f64,
    f_min: f64,
    f_max: f64,
) -> Vec<(usize, Vec<f64>)> {
    let (m_min, m_max) = (hz_to_bark(f_min), hz_to_bark(f_max));
    let pts: Vec<f64> = (0..N_BARK + 2)
        .map(|i| bark_to_hz(m_min + (m_max - m_min) * i as f64 / (N_BARK + 1) as f64))
        .collect();
    let n_bins = n_fft / 2 + 1;
    let df = sample_rate / n_fft as f64;
    (0..N_BARK)
        .map(|b| {
            let (lo, mid, hi) = (pts[b], pts[b + 1], pts[b + 2]);
            let first = ((lo / df).floor() as usize + 1).min(n_bins);
            let last = ((hi / df).ceil() as usize).min(n_bins);
            let w: Vec<f64> = (first..last)
                .map(|k| {
                    let f = k as f64 * df;
                    let up = (f - lo) / (mid - lo);
                    let down = (hi - f) / (hi - mid);
                    up.min(down).max(0.0)
                })
                .collect();
            (first, w)
        })
        .collect()
}

/// Integrated loudness (BS.1770, gated) of the segments of a stereo signal
/// taken together; `None` when silent.
pub fn loudness_of_segments(
    left: &[f32],
    right: &[f32],
    sample_rate: u32,
    segments: &[(usize, usize)],
) -> Option<f64> {
    let mut meter = ebur128::EbuR128::new(2, sample_rate, ebur128::Mode::I).ok()?;
    for &(s, n) in segments {
        meter
            .add_frames_planar_f32(&[&left[s..s + n], &right[s..s + n]])
            .ok()?;
    }
    meter.loudness_global().ok().filter(|l| l.is_finite())
}

/// The features of a whole stereo buffer.
pub fn features(audio: &StereoBuffer, cfg: &StyleConfig) -> Features {
    features_of_segments(
        &audio.left,
        &audio.right,
        audio.sample_rate,
        &[(0, audio.len())],
        cfg,
    )
}

/// The features of the given segments of a stereo signal, taken together.
pub fn features_of_segments(
    left: &[f32],
    right: &[f32],
    sample_rate: u32,
    segments: &[(usize, usize)],
    cfg: &StyleConfig,
) -> Features {
    let loudness = loudness_of_segments(left, right, sample_rate, segments);
    let (spectra, energies) = rayon::join(
        || mean_spectra(left, right, sample_rate, segments, cfg),
        || energies(left, right, segments),
    );
    let e = energies;
    let n = e.n.max(1) as f64;
    // Loudness normalisation as a gain on the measured values: exact, and
    // it spares a scaled copy of the signal.
    let gain = loudness.map_or(1.0, |l| 10f64.powf((cfg.norm_lufs - l) / 20.0));
    let rms_raw = [(e.ll / n).sqrt(), (e.rr / n).sqrt()];
    let crest = |peak: f64, rms: f64| {
        if rms > 0.0 && peak > 0.0 {
            20.0 * (peak / rms).log10()
        } else {
            0.0
        }
    };
    let fb = bark_filterbank(cfg.fft_size, f64::from(sample_rate), cfg.f_min, cfg.f_max);
    let band = |spec: &[f64]| -> [f64; N_BARK] {
        std::array::from_fn(|b| {
            let (first, w) = &fb[b];
            let v: f64 = w.iter().zip(&spec[*first..]).map(|(w, x)| w * x).sum();
            (v * gain + 1e-8).ln()
        })
    };
    Features {
        loudness_lufs: loudness,
        rms: [rms_raw[0] * gain, rms_raw[1] * gain],
        crest_db: [crest(e.peak_l, rms_raw[0]), crest(e.peak_r, rms_raw[1])],
        width: e.side / e.mid.max(1e-8 * n),
        imbalance: (e.rr - e.ll) / (e.rr + e.ll).max(1e-8 * n),
        bark_mid: band(&spectra.0),
        bark_side: band(&spectra.1),
    }
}

#[derive(Default)]
struct Energies {
    n: usize,
    ll: f64,
    rr: f64,
    mid: f64,
    side: f64,
    peak_l: f64,
    peak_r: f64,
}

fn energies(left: &[f32], right: &[f32], segments: &[(usize, usize)]) -> Energies {
    let mut e = Energies::default();
    for &(s, n) in segments {
        e.n += n;
        for (&l, &r) in left[s..s + n].iter().zip(&right[s..s + n]) {
            let (l, r) = (f64::from(l), f64::from(r));
            e.ll += l * l;
            e.rr += r * r;
            e.mid += (l + r) * (l + r);
            e.side += (l - r) * (l - r);
            e.peak_l = e.peak_l.max(l.abs());
            e.peak_r = e.peak_r.max(r.abs());
        }
    }
    e
}

/// Time-averaged STFT magnitudes of mid and side over all frames of all
/// segments.
fn mean_spectra(
    left: &[f32],
    right: &[f32],
    _sample_rate: u32,
    segments: &[(usize, usize)],
    cfg: &StyleConfig,
) -> (Vec<f64>, Vec<f64>) {
    let n_fft = cfg.fft_size;
    let hop = n_fft / 4;
    // Single precision: the transform's rounding (~1e-7 of the frame's
    // largest bin) is far below anything the log Bark bands resolve, and it
    // halves the cost of the fit's repeated measurements.
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
    let window: Vec<f32> = (0..n_fft)
        .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n_fft as f64).cos()) as f32)
        .collect();
    let mut frames = Vec::new();
    for &(s, n) in segments {
        if n >= n_fft {
            let mut f = s;
            while f + n_fft <= s + n {
                frames.push((f, n_fft));
                f += hop;
            }
        } else if n > 0 {
            frames.push((s, n));
        }
    }
    let run = |sign: f32| -> Vec<f64> {
        let mut acc = vec![0.0; n_fft / 2 + 1];
        let mut buf = fft.make_input_vec();
        let mut spec = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        for &(f, n) in &frames {
            buf.fill(0.0);
            for i in 0..n {
                buf[i] = (left[f + i] + sign * right[f + i]) * window[i];
            }
            fft.process_with_scratch(&mut buf, &mut spec, &mut scratch)
                .expect("fft sizes");
            for (a, c) in acc.iter_mut().zip(&spec) {
                *a += f64::from(c.norm());
            }
        }
        let k = 1.0 / frames.len().max(1) as f64;
        acc.iter_mut().for_each(|a| *a *= k);
        acc
    };
    rayon::join(|| run(1.0), || run(-1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bark_scale_round_trips() {
        for f in [20.0, 100.0, 500.0, 1000.0, 5000.0, 15000.0, 20000.0] {
            let back = bark_to_hz(hz_to_bark(f));
            assert!((back - f).abs() < 1e-9 * f, "{f} → {back}");
        }
    }

    #[test]
    fn filterbank_bands_are_nonempty_and_ordered() {
        let fb = bark_filterbank(32768, 44100.0, 20.0, 20000.0);
        assert_eq!(fb.len(), N_BARK);
        for (b, (first, w)) in fb.iter().enumerate() {
            assert!(
                w.iter().any(|&x| x > 0.5),
                "band {b} has no bin near its centre"
            );
            assert!(*first > 0);
        }
    }

    #[test]
    fn segments_cover_short_signals_whole_and_spread_long_ones() {
        assert_eq!(analysis_segments(1000, 100, Some(20.0), 4), vec![(0, 1000)]);
        let s = analysis_segments(10000, 100, Some(20.0), 4);
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|&(a, n)| n == 500 && a + n <= 10000));
        assert!(s.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0));
    }
}
