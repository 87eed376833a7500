//! Per-track measurements: loudness, peaks, spectrum, F0 and the refined
//! loudness of the seed paper.
//!
//! Everything here is a pure function of audio: [`analyze`] consumes any
//! [`Source`] (an in-memory [`Buffer`] or a track rendered from its clips)
//! and opens no file. Only [`session`] (the per-session driver) reaches
//! media, through [`crate::audio`]. Results are deterministic: same input,
//! same bits on the same target.
//!
//! # Two passes
//! 1. One streaming pass feeds every block to the meters: `ebur128`
//!    (integrated loudness, LRA), true and sample peak, RMS, stereo energies,
//!    100 ms activity blocks, and a bounded, evenly spread sample of active
//!    ¼ s slots of the mono mix (`capture.rs`).
//! 2. Spectral statistics and F0 are computed on the kept slots. The refined
//!    loudness then needs the F0 band, so the source is played a second time
//!    through the band filters and a gated BS.1770 meter.
//!
//! Memory per track is the meters' state plus the kept slots (≤ 32 s of
//! mono audio by default), whatever the track length.
//!
//! # Activity
//! A 100 ms block is active when its mean square (averaged over channels)
//! is above [`Config::activity_gate_dbfs`] and within
//! [`Config::relative_gate_db`] of the track's loud level (the 95th
//! percentile of the blocks above the absolute gate). `active_s` counts
//! active blocks; spectral and F0 frames pass the same two gates.

pub mod capture;
pub mod filters;
pub mod iso532;
pub mod loudness;
pub mod perceptual;
pub mod pitch;
pub mod refined;
pub mod session;
pub mod spectral;

use crate::audio::{Buffer, Source};
use serde::{Deserialize, Serialize};

/// What premix measures on one track (or any stereo signal). Loudness values
/// are `None` for silence (never −inf), so they serialise as JSON `null`.
///
/// This struct is the contract between analysis, grouping (feature fallback,
/// Lua `track.features`) and the mixing stages; field names match the JSON
/// schema of `premix analyze --json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// BS.1770-4 integrated loudness, LUFS.
    pub lufs: Option<f64>,
    /// The seed paper's refined loudness (LUFS after the F0 band-pass), or
    /// plain LUFS when no F0 was found (see `warnings`).
    pub refined_lufs: Option<f64>,
    /// Median F0 over voiced frames, Hz.
    pub f0_hz: Option<f64>,
    /// Fraction of active frames that were voiced, 0…1.
    pub voiced_ratio: f64,
    /// Mean spectral centroid over active frames, Hz.
    pub centroid_hz: Option<f64>,
    /// Mean spectral bandwidth (p = 2) over active frames, Hz.
    pub bandwidth_hz: Option<f64>,
    /// Sample peak, dBFS.
    pub peak_dbfs: Option<f64>,
    /// True peak (4× oversampled, BS.1770-4), dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Loudness range (EBU Tech 3342), LU.
    pub lra: Option<f64>,
    /// RMS level over the whole track, dBFS.
    pub rms_dbfs: Option<f64>,
    /// Peak-to-RMS ratio, dB.
    pub crest_db: Option<f64>,
    /// Stereo width: side energy / mid energy, 0 for mono.
    pub width: Option<f64>,
    /// Stereo balance: (E_R − E_L)/(E_R + E_L), −1…1.
    pub balance: Option<f64>,
    /// Seconds of audio above the activity gate.
    pub active_s: f64,
    /// How percussive the track is, 0 (sustained) … 1 (sparse transients).
    pub percussiveness: Option<f64>,
    /// ISO 532-1 (time-varying, free field) loudness level of N5, phon, at
    /// [`Config::calibration`], measured on the mono mix of the kept slots
    /// (at most [`Config::iso532_max_slots`] of them); `None` for silence
    /// or when [`Config::iso532`] is off.
    #[serde(default)]
    pub iso532_phon: Option<f64>,
    /// The fast perceptual estimator ([`perceptual`]): the LUFS of the
    /// equally loud dual-mono 1 kHz tone.
    #[serde(default)]
    pub perceptual_lufs: Option<f64>,
}

pub use pitch::PitchConfig;
pub use refined::{Band, RefinedConfig};

/// Analysis settings. `Config::default()` is what `premix analyze` uses.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Refined-loudness band and filter order.
    pub refined: RefinedConfig,
    /// pYIN settings.
    pub pitch: PitchConfig,
    /// FFT size of the spectral frames (librosa's default, 2048).
    pub n_fft: usize,
    /// Length of a sampled slot, seconds.
    pub slot_s: f64,
    /// At most this many slots are kept for spectral statistics and F0
    /// (128 × 0.25 s = 32 s of audio by default; short slots spread the
    /// sample over more of the track); `None` keeps every active slot (the
    /// full statistic, for tests).
    pub max_slots: Option<usize>,
    /// Absolute activity gate, dBFS (mean square of a 100 ms block).
    pub activity_gate_dbfs: f64,
    /// Relative activity gate, dB below the track's loud level.
    pub relative_gate_db: f64,
    /// Count a mono track twice in loudness (it plays in both channels of a
    /// stereo bus), as BS.1770 meters in a DAW do.
    pub mono_as_dual: bool,
    /// Frames per block when streaming.
    pub block_frames: usize,
    /// Measure ISO 532-1 loudness (`iso532_phon`).
    pub iso532: bool,
    /// At most this many kept slots (evenly spread among them) enter the
    /// ISO 532-1 measurement (32 × 0.25 s = 8 s by default, about 0.1 s of
    /// computing per track); `None` uses every kept slot.
    pub iso532_max_slots: Option<usize>,
    /// dBFS → dB SPL mapping for the perceptual measures.
    pub calibration: iso532::Calibration,
    /// The fast estimator's settings.
    pub estimator: perceptual::EstimatorConfig,
    /// Which F0 estimator the pitch statistics use (pYIN by default: the
    /// neural one needs ONNX Runtime and costs ~50× more; see BENCHMARKS.md).
    pub f0: crate::ml::f0::F0Estimator,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            refined: RefinedConfig::default(),
            pitch: PitchConfig::default(),
            n_fft: 2048,
            slot_s: 0.25,
            max_slots: Some(128),
            activity_gate_dbfs: -60.0,
            relative_gate_db: 40.0,
            mono_as_dual: true,
            block_frames: crate::audio::BLOCK_FRAMES,
            iso532: true,
            iso532_max_slots: Some(32),
            calibration: iso532::Calibration::default(),
            estimator: perceptual::EstimatorConfig::default(),
            f0: crate::ml::f0::F0Estimator::Pyin,
        }
    }
}

/// Lowest sample rate analysed, Hz.
pub const MIN_RATE: u32 = 8_000;
/// Highest sample rate analysed, Hz.
pub const MAX_RATE: u32 = 768_000;

/// The result of analysing one signal.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Analysis {
    #[serde(flatten)]
    pub features: Features,
    /// The band used for the refined loudness, `[high-pass, low-pass]` Hz;
    /// `None` when it fell back to plain LUFS.
    pub refined_band_hz: Option<[f64; 2]>,
    /// Length of the analysed signal, seconds.
    pub duration_s: f64,
    /// Things the numbers depend on that a user should know.
    pub warnings: Vec<String>,
}

/// Analyses an in-memory buffer (1 or 2 channels).
pub fn analyze_buffer(buf: &Buffer, cfg: &Config) -> Analysis {
    analyze(buf, cfg)
}

/// Analyses any source: see the module docs for what is measured and how.
pub fn analyze(src: &dyn Source, cfg: &Config) -> Analysis {
    let rate = src.sample_rate();
    let channels = src.channels().clamp(1, 2);
    let mut warnings = Vec::new();
    if !(MIN_RATE..=MAX_RATE).contains(&rate) {
        warnings.push(format!(
            "sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz: not measured"
        ));
        return Analysis {
            warnings,
            ..Analysis::default()
        };
    }
    let mut p1 = Pass1::new(channels, rate, cfg);
    src.play(cfg.block_frames, &mut |block| p1.add(&block[..channels]));
    p1.close_block();
    let frames = p1.frames;
    let duration_s = frames as f64 / f64::from(rate.max(1));
    if frames == 0 {
        warnings.push("no audio: the track is empty".to_string());
        return Analysis {
            duration_s,
            warnings,
            ..Analysis::default()
        };
    }

    let (lufs, short) = p1.ebu.integrated();
    if short {
        warnings.push(format!(
            "shorter than 400 ms ({:.0} ms): loudness is measured over the whole signal, not gated 400 ms blocks",
            duration_s * 1000.0
        ));
    }
    let lra = lufs.and(p1.ebu.range());
    let db = |x: f64| {
        let v = 20.0 * x.log10();
        v.is_finite().then_some(v)
    };
    let peak = p1.peak.iter().fold(0f32, |a, &b| a.max(b));
    let peak_dbfs = db(f64::from(peak));
    let true_peak = p1.tp.iter().map(|t| t.peak()).fold(peak, f32::max);
    let true_peak_dbtp = db(f64::from(true_peak));
    let total_sq: f64 = p1.sumsq.iter().sum();
    let mean_sq = total_sq / (frames as f64 * channels as f64);
    let rms_dbfs = db(mean_sq.sqrt());
    let crest_db = match (peak_dbfs, rms_dbfs) {
        (Some(p), Some(r)) => Some(p - r),
        _ => None,
    };
    let (width, balance) = if channels == 2 {
        let (el, er) = (p1.sumsq[0], p1.sumsq[1]);
        let em = (el + er + 2.0 * p1.sum_lr) / 4.0;
        let es = ((el + er - 2.0 * p1.sum_lr) / 4.0).max(0.0);
        let width = (em > 0.0).then(|| es / em);
        let balance = (el + er > 0.0).then(|| (er - el) / (er + el));
        (width, balance)
    } else if total_sq > 0.0 {
        (Some(0.0), Some(0.0))
    } else {
        (None, None)
    };

    // Activity gates from the 100 ms blocks.
    let abs_gate = 10f64.powf(cfg.activity_gate_dbfs / 10.0);
    let mut loud: Vec<f64> = p1
        .blocks
        .iter()
        .map(|b| b.0)
        .filter(|&m| m > abs_gate)
        .collect();
    let gate = if loud.is_empty() {
        abs_gate
    } else {
        loud.sort_by(f64::total_cmp);
        let p95 = loud[((loud.len() - 1) as f64 * 0.95).round() as usize];
        abs_gate.max(p95 * 10f64.powf(-cfg.relative_gate_db / 10.0))
    };
    let active_frames: usize = p1.blocks.iter().filter(|b| b.0 > gate).map(|b| b.1).sum();
    let active_s = active_frames as f64 / f64::from(rate);

    // Sampled statistics on the kept slots (mono mix).
    let slots = p1.capture.finish();
    let spec = spectral::analyze(&slots, rate, cfg.n_fft, cfg.n_fft / 2, gate);
    let pitch = crate::ml::f0::analyze(&slots, rate, &cfg.pitch, gate, cfg.f0).stats;
    let percussiveness = percussiveness(&slots, rate, gate);
    let perceptual_lufs = {
        let mut ecfg = cfg.estimator.clone();
        ecfg.calibration = cfg.calibration;
        perceptual::estimate(&slots, rate, gate, &ecfg).map(|e| e.perceptual_lufs)
    };
    let iso532_phon = if cfg.iso532 && lufs.is_some() {
        match iso532_on_slots(&slots, rate, cfg) {
            Ok(p) => p,
            Err(e) => {
                warnings.push(format!("ISO 532-1 not measured: {e}"));
                None
            }
        }
    } else {
        None
    };
    drop(slots);
    let centroid_hz = spec.map(|s| s.centroid_hz);
    let bandwidth_hz = spec.map(|s| s.bandwidth_hz);

    // Refined loudness: a second pass through the band filters.
    let mut refined_band_hz = None;
    let refined_lufs = match (
        lufs,
        cfg.refined.band_hz(pitch.f0_hz, centroid_hz, bandwidth_hz),
    ) {
        (None, _) => None,
        (Some(l), Err(why)) => {
            let detail = if matches!(cfg.refined.band, Band::F0 { .. }) {
                format!(
                    " ({} of {} active frames voiced; an F0 needs a voiced ratio of {:.2} and {} frames)",
                    pitch.voiced_frames,
                    pitch.active_frames,
                    cfg.pitch.min_voiced_ratio,
                    cfg.pitch.min_voiced_frames
                )
            } else {
                String::new()
            };
            warnings.push(format!(
                "{why}{detail}: refined loudness falls back to plain LUFS"
            ));
            Some(l)
        }
        (Some(_), Ok(band)) => {
            refined_band_hz = Some(band);
            let chain = cfg.refined.filters(band, rate);
            let mut meter = loudness::GatedMeter::new(channels, rate, &chain, cfg.mono_as_dual);
            src.play(cfg.block_frames, &mut |block| meter.add(&block[..channels]));
            meter.integrated().0
        }
    };

    Analysis {
        features: Features {
            lufs,
            refined_lufs,
            f0_hz: pitch.f0_hz,
            voiced_ratio: pitch.voiced_ratio,
            centroid_hz,
            bandwidth_hz,
            peak_dbfs,
            true_peak_dbtp,
            lra,
            rms_dbfs,
            crest_db,
            width,
            balance,
            active_s,
            percussiveness,
            iso532_phon,
            perceptual_lufs,
        },
        refined_band_hz,
        duration_s,
        warnings,
    }
}

/// ISO 532-1 time-varying N5 loudness level of the kept slots' mono mix,
/// played as one stream; `None` when nothing was kept or it is silent.
fn iso532_on_slots(slots: &[Vec<f32>], rate: u32, cfg: &Config) -> Result<Option<f64>, String> {
    let pick: Vec<&Vec<f32>> = match cfg.iso532_max_slots {
        Some(m) if slots.len() > m && m > 0 => {
            (0..m).map(|i| &slots[i * slots.len() / m]).collect()
        }
        _ => slots.iter().collect(),
    };
    let stream: Vec<f32> = pick.into_iter().flatten().copied().collect();
    if stream.is_empty() {
        return Ok(None);
    }
    let pa = iso532::prepare(&Buffer::mono(rate, stream), &cfg.calibration)?;
    let tv = iso532::time_varying(&pa, iso532::Field::Free);
    Ok((tv.n5 > 0.0).then(|| tv.n5_phon()))
}

/// State of the first pass.
struct Pass1 {
    ebu: loudness::Ebu,
    tp: Vec<loudness::TruePeak>,
    peak: Vec<f32>,
    sumsq: Vec<f64>,
    sum_lr: f64,
    /// 100 ms blocks: (mean square averaged over channels, frames).
    blocks: Vec<(f64, usize)>,
    block_len: usize,
    block_acc: f64,
    block_fill: usize,
    capture: capture::Capture,
    mono: Vec<f32>,
    frames: u64,
    channels: usize,
}

impl Pass1 {
    fn new(channels: usize, rate: u32, cfg: &Config) -> Pass1 {
        let slot_len = (cfg.slot_s * f64::from(rate)).round().max(1.0) as usize;
        Pass1 {
            ebu: loudness::Ebu::new(channels, rate, cfg.mono_as_dual),
            tp: (0..channels)
                .map(|_| loudness::TruePeak::new(rate))
                .collect(),
            peak: vec![0.0; channels],
            sumsq: vec![0.0; channels],
            sum_lr: 0.0,
            blocks: Vec::new(),
            block_len: (f64::from(rate) * 0.1).round().max(1.0) as usize,
            block_acc: 0.0,
            block_fill: 0,
            capture: capture::Capture::new(
                slot_len,
                cfg.max_slots,
                10f64.powf(cfg.activity_gate_dbfs / 10.0),
            ),
            mono: Vec::new(),
            frames: 0,
            channels,
        }
    }

    fn add(&mut self, block: &[&[f32]]) {
        let n = block[0].len();
        if n == 0 {
            return;
        }
        self.ebu.add(block);
        for (tp, plane) in self.tp.iter_mut().zip(block) {
            tp.add(plane);
        }
        // Levels, split at 100 ms block edges.
        let mut start = 0;
        while start < n {
            let take = (self.block_len - self.block_fill).min(n - start);
            let mut seg_sq = 0.0;
            for (c, plane) in block.iter().enumerate() {
                let (pk, ss) = peak_and_energy(&plane[start..start + take]);
                self.peak[c] = self.peak[c].max(pk);
                self.sumsq[c] += ss;
                seg_sq += ss;
            }
            if self.channels == 2 {
                self.sum_lr += dot(
                    &block[0][start..start + take],
                    &block[1][start..start + take],
                );
            }
            self.block_acc += seg_sq;
            self.block_fill += take;
            start += take;
            if self.block_fill == self.block_len {
                self.close_block();
            }
        }
        // Mono mix for the sampled statistics.
        match block {
            [m] => self.capture.add(m),
            [l, r, ..] => {
                self.mono.clear();
                self.mono
                    .extend(l.iter().zip(r.iter()).map(|(a, b)| 0.5 * (a + b)));
                self.capture.add(&self.mono);
            }
            [] => {}
        }
        self.frames += n as u64;
    }

    fn close_block(&mut self) {
        if self.block_fill > 0 {
            let ms = self.block_acc / (self.block_fill * self.channels) as f64;
            self.blocks.push((ms, self.block_fill));
        }
        self.block_acc = 0.0;
        self.block_fill = 0;
    }
}

/// Sample peak and sum of squares of `x`. Eight independent lanes let the
/// compiler vectorise (a single running f32 sum is a serial dependency).
pub(crate) fn peak_and_energy(x: &[f32]) -> (f32, f64) {
    let mut pk = [0f32; 8];
    let mut ss = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            pk[k] = pk[k].max(c[k].abs());
            ss[k] += c[k] * c[k];
        }
    }
    let mut peak = pk.iter().fold(0f32, |a, &b| a.max(b));
    let mut sum: f64 = ss.iter().map(|&v| f64::from(v)).sum();
    for &v in rest {
        peak = peak.max(v.abs());
        sum += f64::from(v * v);
    }
    (peak, sum)
}

/// Σ a·b, vectorised like [`peak_and_energy`].
fn dot(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().map(|&v| f64::from(v)).sum::<f64>()
        + ra.iter()
            .zip(rb)
            .map(|(x, y)| f64::from(x * y))
            .sum::<f64>()
}

/// How percussive the sampled audio is, 0…1: the spread between the loud
/// (95th percentile) and typical (median) 10 ms envelope level of active
/// frames, 0 dB → 0 and 30 dB or more → 1. Sustained sounds sit near their
/// median; sparse transients rise far above their decay and gaps.
fn percussiveness(slots: &[Vec<f32>], rate: u32, gate_ms: f64) -> Option<f64> {
    let hop = (f64::from(rate) * 0.01).round().max(1.0) as usize;
    let mut env: Vec<f64> = slots
        .iter()
        .flat_map(|s| s.chunks_exact(hop))
        .map(|c| c.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / c.len() as f64)
        .filter(|&m| m > gate_ms * 1e-3)
        .map(|m| 10.0 * m.log10())
        .collect();
    if env.len() < 10 {
        return None;
    }
    env.sort_by(f64::total_cmp);
    let med = env[env.len() / 2];
    let p95 = env[((env.len() - 1) as f64 * 0.95).round() as usize];
    Some(((p95 - med) / 30.0).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_rates_and_empty_input_are_reported_not_measured() {
        let cfg = Config::default();
        let a = analyze_buffer(&Buffer::mono(1, vec![0.5; 100]), &cfg);
        assert_eq!(a.features.lufs, None);
        assert!(
            a.warnings[0].contains("sample rate 1 Hz"),
            "{:?}",
            a.warnings
        );
        let e = analyze_buffer(&Buffer::stereo(48_000, vec![], vec![]), &cfg);
        assert_eq!(e.features, Features::default());
        assert!(e.warnings[0].contains("empty"));
    }

    #[test]
    fn scaling_shifts_loudness_by_the_gain_and_keeps_f0() {
        // Property: a gain of k shifts every level by 20·log10(k) dB and
        // leaves F0 and centroid alone (within float rounding).
        let rate = 48_000;
        let x: Vec<f32> = (0..rate * 2)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                ((2.0 * std::f64::consts::PI * 196.0 * t).sin() * 0.3
                    + (2.0 * std::f64::consts::PI * 392.0 * t).sin() * 0.1) as f32
            })
            .collect();
        let cfg = Config::default();
        let a = analyze_buffer(&Buffer::mono(rate, x.clone()), &cfg).features;
        let quiet: Vec<f32> = x.iter().map(|v| v * 0.1).collect();
        let b = analyze_buffer(&Buffer::mono(rate, quiet), &cfg).features;
        let d = |p: Option<f64>, q: Option<f64>| p.unwrap() - q.unwrap();
        for (name, diff) in [
            ("lufs", d(a.lufs, b.lufs)),
            ("refined", d(a.refined_lufs, b.refined_lufs)),
            ("peak", d(a.peak_dbfs, b.peak_dbfs)),
            ("true peak", d(a.true_peak_dbtp, b.true_peak_dbtp)),
            ("rms", d(a.rms_dbfs, b.rms_dbfs)),
        ] {
            assert!((diff - 20.0).abs() < 1e-3, "{name}: {diff}");
        }
        // ×0.1 is not exact in f32, and the f32 FFT's rounding noise is
        // weighted by up to 24 kHz of distance in the centroid: 1e-4.
        let rel = |p: Option<f64>, q: Option<f64>| (p.unwrap() / q.unwrap() - 1.0).abs();
        assert!(rel(a.f0_hz, b.f0_hz) < 1e-4, "{:?} {:?}", a.f0_hz, b.f0_hz);
        assert!(
            rel(a.centroid_hz, b.centroid_hz) < 1e-4,
            "{:?} {:?}",
            a.centroid_hz,
            b.centroid_hz
        );
    }
}
