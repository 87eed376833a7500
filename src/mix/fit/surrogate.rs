//! The fit's fast surrogate of "render the mix, then measure its AF
//! features", with an exact reverse-mode gradient.
//!
//! Each stem is summarised once ([`analyse`]) on a block grid (an STFT of
//! `2·hop` points, sine window, hop `hop`, so block energies add up to the
//! signal's energy): per block and Bark band the powers of L and R and the
//! real part of their cross-spectrum; per block the broadband energy, the
//! sample peak and how long the peak takes to build up. Console settings
//! then act analytically on that summary:
//!
//! - gain, pan and EQ scale a stem's band powers (EQ by its magnitude
//!   response averaged over each band);
//! - a compressor becomes a per-block gain. The gain computer runs on the
//!   block's peak level and on its body (RMS + 3 dB), both shifted by the
//!   EQ's broadband effect; the block's target is the body's reduction
//!   moved towards the peak's by the share of the block a peak's reduction
//!   lasts under the release time; attack and release smoothing run at
//!   block rate. The gain at the block's peak is the previous block's gain
//!   moved towards the peak's target for as many samples as the peak took
//!   to build up, so a fast transient passes a slow attack. The make-up
//!   gain is the automatic one that keeps the stem's energy (see
//!   [`auto_makeup_db`]);
//! - energies (RMS, width, imbalance, loudness) add over stems as for
//!   uncorrelated sources;
//! - the Bark feature is a time-averaged *magnitude*, which does not add
//!   like energy: a noisy band's magnitude sum grows with the number of
//!   bins, a tonal band's does not. Each stem's band magnitude is its band
//!   power's square root times a per-stem, per-band factor measured once on
//!   the stem itself (so a stem alone is exact), and stems combine per frame
//!   as a p-norm whose exponent per band the fit calibrates on real renders
//!   (1: stems in disjoint bins, 2: stems sharing bins);
//! - the master EQ and compressor act the same way on the sum;
//! - loudness is BS.1770 from K-weighted band powers on 400 ms windows
//!   with both gates (the gate decisions are held fixed for the gradient);
//! - the crest factor uses a soft maximum (1 dB temperature) of the block
//!   peaks of the sum, the stems' peak powers combined as a (p/2)-norm
//!   with p calibrated on real renders (1: peaks add in amplitude, 2: in
//!   power).
//!
//! The surrogate's features still differ from a real render's; the fit
//! measures the difference on real renders and adds it back (`delta`, see
//! `fit.rs`), so mostly the surrogate's *slopes* need to be right.

// The forward pass and its hand-written reverse pass index several parallel
// arrays (per band, per block) with the same loop variable; iterator chains
// would obscure the correspondence between the two passes.
#![allow(clippy::needless_range_loop)]

use super::super::console::eq::{
    cookbook, phi_of, response_sq_of, Dual, DEFAULT_FREQS_HZ, DEFAULT_Q, KINDS, N_BANDS,
};
use super::super::console::pan::PanLaw;
use super::super::console::stem::Stem;
use super::super::style::{
    bark_filterbank, bark_to_hz, hz_to_bark, AfWeights, StyleConfig, N_BARK,
};
use rayon::prelude::*;
use realfft::RealFftPlanner;

const B: usize = N_BARK;
const LN10_10: f64 = std::f64::consts::LN_10 / 10.0;
const TEN_LN10: f64 = 10.0 / std::f64::consts::LN_10;

/// Number of features: RMS ×2, crest ×2, width, imbalance, Bark mid ×24,
/// Bark side ×24.
pub(crate) const NF: usize = 6 + 2 * B;
pub(crate) const F_RMS: usize = 0;
pub(crate) const F_CREST: usize = 2;
pub(crate) const F_WIDTH: usize = 4;
pub(crate) const F_IMB: usize = 5;
pub(crate) const F_MID: usize = 6;
pub(crate) const F_SIDE: usize = 6 + B;

/// Parameters per stem: gain dB, pan, 6 EQ gains dB, threshold relative to
/// the stem's reference peak level dB, compressor slope u = 1 − 1/ratio.
pub(crate) const NS: usize = 10;
pub(crate) const S_GAIN: usize = 0;
pub(crate) const S_PAN: usize = 1;
pub(crate) const S_EQ: usize = 2;
pub(crate) const S_THR: usize = 8;
pub(crate) const S_U: usize = 9;
/// Master parameters: 6 EQ gains dB, threshold relative to the working
/// level dB, slope u, ln of the attack and release times in ms (fast
/// master ballistics are how a reference's low crest factor is reached
/// without a limiter).
pub(crate) const NM: usize = 10;
pub(crate) const M_EQ: usize = 0;
pub(crate) const M_THR: usize = 6;
pub(crate) const M_U: usize = 7;
pub(crate) const M_ATT: usize = 8;
pub(crate) const M_REL: usize = 9;

/// Frequency points per Bark band (offsets in band steps around the
/// centre, and triangular weights) at which EQ responses are averaged.
const SUB: [(f64, f64); 5] = [(-0.6, 0.4), (-0.3, 0.7), (0.0, 1.0), (0.3, 0.7), (0.6, 0.4)];

/// Temperature of the crest factor's soft maximum, dB.
const TAU_DB: f64 = 1.0;

/// The peak detector's reading of a block's body above its RMS level, dB
/// (a sine's peak is 3 dB over its RMS).
const BODY_CREST_DB: f64 = 3.0;

/// The block grid shared by every stem.
pub(crate) struct Grid {
    pub hop: usize,
    pub sample_rate: f64,
    pub n_blocks: usize,
    /// Block ranges of the analysis segments (smoothing restarts at each).
    pub segs: Vec<(usize, usize)>,
    /// Whether a block starts a segment.
    pub seg_start: Vec<bool>,
    /// Block ranges of the Bark feature's frames (disjoint).
    pub frames: Vec<(usize, usize)>,
    /// Frame of each block (`usize::MAX`: none).
    pub frame_of: Vec<usize>,
    /// Block ranges of the 400 ms loudness windows.
    pub lwins: Vec<(usize, usize)>,
    /// K-weighting power gain per band.
    pub kw: [f64; B],
    /// Per band: (sin²(ω/2), weight) of the EQ averaging points.
    pub sub: Vec<[(f64, f64); 5]>,
}

/// One stem's summary.
pub(crate) struct StemData {
    /// Band powers, `[block * B + band]`.
    pub ll: Vec<f64>,
    pub rr: Vec<f64>,
    pub lr: Vec<f64>,
    /// Per block: (ll + rr)/2 summed over bands.
    pub e0: Vec<f64>,
    /// Per block: sample peak power max(L², R²).
    pub peak: Vec<f64>,
    /// Per block: samples from the onset of the peak (the last sample under
    /// half its amplitude) to the peak.
    pub lag: Vec<u32>,
    /// Band magnitude ÷ √(band power) of the stem's own mid and side, at
    /// its neutral settings (see the module docs).
    pub tau_mid: [f64; B],
    pub tau_side: [f64; B],
    /// Reference level for relative thresholds: the 95th percentile of the
    /// block peak levels, dBFS (−100 when silent).
    pub lref_db: f64,
    /// Whether the stem has any signal.
    pub active: bool,
}

/// Everything the surrogate knows about the stems.
pub(crate) struct Analysis {
    pub grid: Grid,
    pub stems: Vec<StemData>,
    /// Peak build-up per block of the plain sum of the stems (for the
    /// master compressor).
    pub mix_lag: Vec<u32>,
}

/// K-weighting power response (BS.1770 pre-filter and RLB high-pass, the
/// libebur128 designs at any rate).
pub(crate) fn k_weight_sq(f: f64, sr: f64) -> f64 {
    let phi = phi_of(f, sr);
    let (f0, g, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let k = (std::f64::consts::PI * f0 / sr).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let sb = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ];
    let sa = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0];
    let (f1, q1) = (38.13547087602444, 0.5003270373238773);
    let k1 = (std::f64::consts::PI * f1 / sr).tan();
    let d = 1.0 + k1 / q1 + k1 * k1;
    let hb = [1.0, -2.0, 1.0];
    let ha = [
        1.0,
        2.0 * (k1 * k1 - 1.0) / d,
        (1.0 - k1 / q1 + k1 * k1) / d,
    ];
    response_sq_of(&sb, &sa, phi) * response_sq_of(&hb, &ha, phi)
}

impl Grid {
    pub(crate) fn new(
        segments: &[(usize, usize)],
        hop: usize,
        sample_rate: f64,
        style: &StyleConfig,
    ) -> Grid {
        let mut segs = Vec::new();
        let mut n_blocks = 0;
        for &(_, n) in segments {
            let nb = n / hop;
            segs.push((n_blocks, nb));
            n_blocks += nb;
        }
        let mut seg_start = vec![false; n_blocks];
        for &(s, nb) in &segs {
            if nb > 0 {
                seg_start[s] = true;
            }
        }
        let per_frame = ((style.fft_size as f64 / hop as f64).round() as usize).max(1);
        let lw = ((0.4 * sample_rate / hop as f64).round() as usize).max(1);
        let lstep = ((0.1 * sample_rate / hop as f64).round() as usize).max(1);
        let mut frames = Vec::new();
        let mut lwins = Vec::new();
        for &(s, nb) in &segs {
            windows(s, nb, per_frame, per_frame, &mut frames);
            windows(s, nb, lw, lstep, &mut lwins);
        }
        let mut frame_of = vec![usize::MAX; n_blocks];
        for (fi, &(a, n)) in frames.iter().enumerate() {
            for f in &mut frame_of[a..a + n] {
                *f = fi;
            }
        }
        // Band centres and EQ averaging points on the Bark scale.
        let (m_min, m_max) = (hz_to_bark(style.f_min), hz_to_bark(style.f_max));
        let step = (m_max - m_min) / (B + 1) as f64;
        let fb = bark_filterbank(2 * hop, sample_rate, style.f_min, style.f_max);
        let df = sample_rate / (2 * hop) as f64;
        let mut kw = [0.0; B];
        let mut sub = Vec::with_capacity(B);
        let wsum: f64 = SUB.iter().map(|s| s.1).sum();
        for b in 0..B {
            let (first, w) = &fb[b];
            let (mut num, mut den) = (0.0, 0.0);
            for (i, wi) in w.iter().enumerate() {
                num += wi * k_weight_sq((first + i) as f64 * df, sample_rate);
                den += wi;
            }
            kw[b] = if den > 0.0 { num / den } else { 1.0 };
            let centre = m_min + step * (b + 1) as f64;
            sub.push(SUB.map(|(off, wt)| {
                let f = bark_to_hz(centre + off * step).min(0.49 * sample_rate);
                (phi_of(f, sample_rate), wt / wsum)
            }));
        }
        Grid {
            hop,
            sample_rate,
            n_blocks,
            segs,
            seg_start,
            frames,
            frame_of,
            lwins,
            kw,
            sub,
        }
    }
}

/// Windows of `len` blocks every `step` blocks inside a segment of `nb`
/// blocks starting at block `s`; one window of the whole segment when it is
/// shorter than `len`.
fn windows(s: usize, nb: usize, len: usize, step: usize, out: &mut Vec<(usize, usize)>) {
    if nb == 0 {
        return;
    }
    if nb < len {
        out.push((s, nb));
        return;
    }
    let mut a = 0;
    while a + len <= nb {
        out.push((s + a, len));
        a += step;
    }
}

/// Samples from the onset of the largest sample of `x[from..to]` (the last
/// earlier sample under half its value, within the block) to it, and the
/// peak value.
fn peak_and_lag(l: &[f32], r: &[f32], from: usize, to: usize) -> (f32, u32) {
    let mut ip = from;
    let mut pk = 0.0f32;
    for i in from..to {
        let v = l[i].abs().max(r[i].abs());
        if v > pk {
            pk = v;
            ip = i;
        }
    }
    let half = 0.5 * pk;
    let mut i = ip;
    while i > from && l[i - 1].abs().max(r[i - 1].abs()) >= half {
        i -= 1;
    }
    (pk, (ip - i) as u32)
}

/// Summarise every stem on the block grid of `segments` (frame ranges of
/// the stems' timeline).
pub(crate) fn analyse(
    stems: &[Stem],
    segments: &[(usize, usize)],
    hop: usize,
    style: &StyleConfig,
) -> Analysis {
    let sr = f64::from(stems.first().map_or(48000, |s| s.audio.sample_rate));
    let grid = Grid::new(segments, hop, sr, style);
    let n = 2 * hop;
    let fb = bark_filterbank(n, sr, style.f_min, style.f_max);
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
    let window: Vec<f32> = (0..n)
        .map(|i| (std::f64::consts::PI * (i as f64 + 0.5) / n as f64).sin() as f32)
        .collect();
    // One-sided Parseval with the sine window (Σw² = hop): a block's band
    // powers add up to its mean square.
    let norm = 1.0 / (n as f64 * hop as f64);
    let long = Long::new(style, sr);
    let stems_data = stems
        .par_iter()
        .map(|stem| {
            let a = &stem.audio;
            let nbk = grid.n_blocks;
            let mut d = StemData {
                ll: vec![0.0; nbk * B],
                rr: vec![0.0; nbk * B],
                lr: vec![0.0; nbk * B],
                e0: vec![0.0; nbk],
                peak: vec![0.0; nbk],
                lag: vec![0; nbk],
                tau_mid: [1.0; B],
                tau_side: [1.0; B],
                lref_db: -100.0,
                active: false,
            };
            let mut bl = fft.make_input_vec();
            let mut br = fft.make_input_vec();
            let mut sl = fft.make_output_vec();
            let mut sr_ = fft.make_output_vec();
            let mut scratch = fft.make_scratch_vec();
            let mut pl = vec![0.0f64; n / 2 + 1];
            let mut pr = vec![0.0f64; n / 2 + 1];
            let mut px = vec![0.0f64; n / 2 + 1];
            for (&(s, len), &(b0, nb)) in segments.iter().zip(&grid.segs) {
                for j in 0..nb {
                    let start = (s + j * hop) as isize - (hop / 2) as isize;
                    for i in 0..n {
                        let t = start + i as isize;
                        let inside =
                            t >= s as isize && (t as usize) < s + len && (t as usize) < a.len();
                        let (l, r) = if inside {
                            (a.left[t as usize], a.right[t as usize])
                        } else {
                            (0.0, 0.0)
                        };
                        bl[i] = l * window[i];
                        br[i] = r * window[i];
                    }
                    fft.process_with_scratch(&mut bl, &mut sl, &mut scratch)
                        .expect("fft sizes");
                    fft.process_with_scratch(&mut br, &mut sr_, &mut scratch)
                        .expect("fft sizes");
                    for k in 0..=n / 2 {
                        let c = if k == 0 || k == n / 2 {
                            norm
                        } else {
                            2.0 * norm
                        };
                        let (x, y) = (sl[k], sr_[k]);
                        pl[k] = c * f64::from(x.norm_sqr());
                        pr[k] = c * f64::from(y.norm_sqr());
                        px[k] = c * f64::from(x.re * y.re + x.im * y.im);
                    }
                    let blk = b0 + j;
                    let mut e0 = 0.0;
                    for (b, (first, w)) in fb.iter().enumerate() {
                        let (mut a1, mut a2, mut a3) = (0.0, 0.0, 0.0);
                        for (i, wi) in w.iter().enumerate() {
                            a1 += wi * pl[first + i];
                            a2 += wi * pr[first + i];
                            a3 += wi * px[first + i];
                        }
                        d.ll[blk * B + b] = a1;
                        d.rr[blk * B + b] = a2;
                        d.lr[blk * B + b] = a3;
                        e0 += 0.5 * (a1 + a2);
                    }
                    d.e0[blk] = e0;
                    let from = (s + j * hop).min(a.len());
                    let to = (s + (j + 1) * hop).min(a.len());
                    let (pk, lag) = peak_and_lag(&a.left, &a.right, from, to);
                    d.peak[blk] = f64::from(pk) * f64::from(pk);
                    d.lag[blk] = lag;
                }
            }
            let mut levels: Vec<f64> = d
                .peak
                .iter()
                .zip(&d.e0)
                .filter(|(p, e)| **p > 1e-12 && **e > 1e-14)
                .map(|(p, _)| 10.0 * p.log10())
                .collect();
            if !levels.is_empty() {
                levels.sort_by(f64::total_cmp);
                d.lref_db = levels[((levels.len() - 1) as f64 * 0.95).round() as usize];
                d.active = true;
                let (am, as_) = long.magnitudes(&a.left, &a.right, segments);
                calibrate_tau(&mut d, &grid, &am, &as_);
            }
            d
        })
        .collect();
    // The plain sum's peak build-up, for the master compressor.
    let mut mix_lag = vec![0; grid.n_blocks];
    let len = stems.iter().map(|s| s.audio.len()).max().unwrap_or(0);
    let (mut l, mut r) = (vec![0.0f32; hop], vec![0.0f32; hop]);
    for (&(s, _), &(b0, nb)) in segments.iter().zip(&grid.segs) {
        for j in 0..nb {
            let from = (s + j * hop).min(len);
            let to = (s + (j + 1) * hop).min(len);
            let n = to - from;
            l[..n].fill(0.0);
            r[..n].fill(0.0);
            for st in stems {
                let end = to.min(st.audio.len());
                if from < end {
                    let m = end - from;
                    l[..m]
                        .iter_mut()
                        .zip(&st.audio.left[from..end])
                        .for_each(|(a, x)| *a += x);
                    r[..m]
                        .iter_mut()
                        .zip(&st.audio.right[from..end])
                        .for_each(|(a, x)| *a += x);
                }
            }
            mix_lag[b0 + j] = peak_and_lag(&l[..n], &r[..n], 0, n).1;
        }
    }
    Analysis {
        grid,
        stems: stems_data,
        mix_lag,
    }
}

/// The true Bark magnitudes of a stem's mid and side (the feature's STFT
/// length, non-overlapping Hann frames, the feature's filterbank).
struct Long {
    n: usize,
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    window: Vec<f32>,
    fb: Vec<(usize, Vec<f64>)>,
}

impl Long {
    fn new(style: &StyleConfig, sr: f64) -> Long {
        let n = style.fft_size;
        Long {
            n,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(n),
            window: (0..n)
                .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()) as f32)
                .collect(),
            fb: bark_filterbank(n, sr, style.f_min, style.f_max),
        }
    }

    /// Time-averaged band magnitudes of mid and side.
    fn magnitudes(
        &self,
        l: &[f32],
        r: &[f32],
        segments: &[(usize, usize)],
    ) -> ([f64; B], [f64; B]) {
        let n = self.n;
        let mut frames = Vec::new();
        for &(s, len) in segments {
            if len >= n {
                let mut f = s;
                while f + n <= s + len {
                    frames.push((f, n));
                    f += n;
                }
            } else if len > 0 {
                frames.push((s, len));
            }
        }
        let mut bl = self.fft.make_input_vec();
        let mut br = self.fft.make_input_vec();
        let mut sl = self.fft.make_output_vec();
        let mut sr = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut mid = vec![0.0f64; n / 2 + 1];
        let mut side = vec![0.0f64; n / 2 + 1];
        for &(f, len) in &frames {
            bl.fill(0.0);
            br.fill(0.0);
            for i in 0..len.min(l.len().saturating_sub(f)) {
                bl[i] = l[f + i] * self.window[i];
                br[i] = r[f + i] * self.window[i];
            }
            self.fft
                .process_with_scratch(&mut bl, &mut sl, &mut scratch)
                .expect("fft sizes");
            self.fft
                .process_with_scratch(&mut br, &mut sr, &mut scratch)
                .expect("fft sizes");
            for k in 0..=n / 2 {
                mid[k] += f64::from((sl[k] + sr[k]).norm());
                side[k] += f64::from((sl[k] - sr[k]).norm());
            }
        }
        let band = |spec: &[f64]| -> [f64; B] {
            std::array::from_fn(|b| {
                let (first, w) = &self.fb[b];
                w.iter()
                    .zip(&spec[*first..])
                    .map(|(w, x)| w * x)
                    .sum::<f64>()
                    / frames.len().max(1) as f64
            })
        };
        (band(&mid), band(&side))
    }
}

/// Set a stem's magnitude factors so that, at neutral settings, its
/// surrogate Bark magnitudes equal its true ones. A side with (almost) no
/// energy of its own takes the mid's factor: panning makes its side a copy
/// of its mid.
fn calibrate_tau(d: &mut StemData, grid: &Grid, true_mid: &[f64; B], true_side: &[f64; B]) {
    let nfr = grid.frames.len().max(1) as f64;
    for b in 0..B {
        let (mut am, mut as_, mut pm, mut ps) = (0.0, 0.0, 0.0, 0.0);
        for &(a, n) in &grid.frames {
            let (mut m, mut s) = (0.0, 0.0);
            for j in a..a + n {
                let k = j * B + b;
                m += d.ll[k] + d.rr[k] + 2.0 * d.lr[k];
                s += d.ll[k] + d.rr[k] - 2.0 * d.lr[k];
            }
            am += m.max(0.0).sqrt() / nfr;
            as_ += s.max(0.0).sqrt() / nfr;
            pm += m;
            ps += s;
        }
        let tm = if am > 0.0 && true_mid[b] > 0.0 {
            true_mid[b] / am
        } else {
            1.0
        };
        d.tau_mid[b] = tm;
        d.tau_side[b] = if as_ > 0.0 && true_side[b] > 0.0 && ps > 1e-3 * pm {
            true_side[b] / as_
        } else {
            tm
        };
    }
}

/// A compressor's block-rate constants.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompFixed {
    pub knee_db: f64,
    /// Block-rate attack and release coefficients.
    pub alpha_attack: f64,
    pub alpha_release: f64,
    /// Per-sample ones (for the gain at a block's peak).
    pub sample_attack: f64,
    pub sample_release: f64,
    /// Share of a block that a peak's gain reduction still covers as it
    /// releases: (1 − e^(−y))/y with y = hop / (2τ), τ the release's time
    /// constant in samples. Slow release: ≈ 1, the body is compressed as
    /// much as the peak; fast release: the peak alone.
    pub hold: f64,
    /// d hold / d ln(release time).
    pub dhold: f64,
}

impl CompFixed {
    pub(crate) fn new(knee_db: f64, attack_ms: f64, release_ms: f64, grid: &Grid) -> CompFixed {
        let per =
            |steps: f64, t_ms: f64| (-(9f64.ln()) * steps / (grid.sample_rate * t_ms * 1e-3)).exp();
        let tau = grid.sample_rate * release_ms * 1e-3 / 9f64.ln();
        let y = grid.hop as f64 / (2.0 * tau);
        let ey = (-y).exp();
        CompFixed {
            knee_db,
            alpha_attack: per(grid.hop as f64, attack_ms),
            alpha_release: per(grid.hop as f64, release_ms),
            sample_attack: per(1.0, attack_ms),
            sample_release: per(1.0, release_ms),
            hold: (1.0 - ey) / y,
            // dhold/dy = (y·e^−y − (1 − e^−y))/y², dy/d ln τ = −y.
            dhold: ((1.0 - ey) - y * ey) / y,
        }
    }
}

/// Everything fixed during one optimisation run.
pub(crate) struct Model<'a> {
    pub an: &'a Analysis,
    pub law: PanLaw,
    pub comps: Vec<CompFixed>,
    /// The master compressor's knee (its attack and release are fitted).
    pub master_knee_db: f64,
    /// The level the master threshold is relative to, dBFS.
    pub working_db: f64,
    pub norm_lufs: f64,
    pub weights: AfWeights,
    /// Reference features.
    pub target: [f64; NF],
    /// Real-render minus surrogate features at the last rendered point.
    pub delta: [f64; NF],
    /// Exponents of the stems' magnitude combination per band (mid, side).
    pub p_mid: [f64; B],
    pub p_side: [f64; B],
    /// Exponent of the stems' peak combination.
    pub p_peak: f64,
    /// Whether compressors are modelled (otherwise they are bypassed).
    pub compress: bool,
}

/// The EQ's band power responses and their derivatives w.r.t. each band
/// gain: `(h[b], dh[k][b])`.
pub(crate) fn eq_bands(gains: &[f64], grid: &Grid) -> ([f64; B], [[f64; B]; N_BANDS]) {
    let mut hb = [[1.0f64; 5]; B];
    let mut dl = [[[0.0f64; 5]; B]; N_BANDS];
    for k in 0..N_BANDS {
        let (bc, ac) = cookbook(
            KINDS[k],
            DEFAULT_FREQS_HZ[k],
            Dual::var(gains[k]),
            DEFAULT_Q[k],
            grid.sample_rate,
        );
        for b in 0..B {
            for (i, &(phi, _)) in grid.sub[b].iter().enumerate() {
                let r = response_sq_of(&bc, &ac, phi);
                hb[b][i] *= r.v;
                dl[k][b][i] = r.d / r.v;
            }
        }
    }
    let mut h = [1.0; B];
    let mut dh = [[0.0; B]; N_BANDS];
    for b in 0..B {
        let mut s = 0.0;
        for (i, &(_, w)) in grid.sub[b].iter().enumerate() {
            s += w * hb[b][i];
            for k in 0..N_BANDS {
                dh[k][b] += w * hb[b][i] * dl[k][b][i];
            }
        }
        h[b] = s;
    }
    (h, dh)
}

/// The gain computer (dB ≤ 0) and its partial derivatives w.r.t. the level
/// over threshold and the slope u.
fn gain_computer(over: f64, u: f64, knee: f64) -> (f64, f64, f64) {
    let half = 0.5 * knee;
    if over <= -half {
        (0.0, 0.0, 0.0)
    } else if over < half {
        let t = over + half;
        (
            -u * t * t / (2.0 * knee),
            -u * t / knee,
            -t * t / (2.0 * knee),
        )
    } else {
        (-u * over, -u, -over)
    }
}

/// The automatic make-up gain: the one that gives the compressed stem the
/// energy it had uncompressed, clamped to the console's 0–12 dB.
pub(crate) fn auto_makeup_db(s_db: &[f64], energy: &[f64]) -> f64 {
    let (num, den) = makeup_sums(s_db, energy);
    if num > 0.0 && den > 0.0 {
        (-10.0 * (num / den).log10()).clamp(0.0, 12.0)
    } else {
        0.0
    }
}

fn makeup_sums(s_db: &[f64], energy: &[f64]) -> (f64, f64) {
    let mut num = 0.0;
    let mut den = 0.0;
    for (s, e) in s_db.iter().zip(energy) {
        num += 10f64.powf(s / 10.0) * e;
        den += e;
    }
    (num, den)
}

/// A compressor run on a block sequence, with what its reverse pass needs.
struct CompFwd {
    /// Gain computer outputs and slopes at the block's peak and body.
    gp: Vec<f64>,
    gb: Vec<f64>,
    dgp: Vec<(f64, f64)>,
    dgb: Vec<(f64, f64)>,
    /// Block-rate coefficient used at each block, and whether it was the
    /// attack's.
    alpha: Vec<f64>,
    attack: Vec<bool>,
    /// Fraction of the way to the peak's target reached at the peak, and
    /// whether the attack coefficient got it there.
    phi: Vec<f64>,
    attack_pk: Vec<bool>,
    /// The state before each block, and the smoothed gain (dB) after it.
    prev: Vec<f64>,
    s: Vec<f64>,
    /// Power gains over the block and at its peak, make-up included.
    g_lin: Vec<f64>,
    g_peak: Vec<f64>,
    makeup_free: bool,
    num: f64,
    den: f64,
}

/// Run a compressor on per-block detector levels over the threshold, dB,
/// at the block's peak (`over_pk`) and of its body (`over_body`); with
/// `energy` the automatic make-up is applied.
///
/// The block's gain target is the body's gain computer output moved
/// `hold` of the way to the peak's (the reduction a peak causes lasts as
/// long as the release lets it); it is smoothed at block rate. The gain at
/// the peak is the previous state moved towards the peak's target for as
/// many samples as the peak took to build up.
fn compress(
    over_pk: &[f64],
    over_body: &[f64],
    lag: &[u32],
    u: f64,
    c: &CompFixed,
    seg_start: &[bool],
    energy: Option<&[f64]>,
) -> CompFwd {
    let n = over_pk.len();
    let mut f = CompFwd {
        gp: vec![0.0; n],
        gb: vec![0.0; n],
        dgp: vec![(0.0, 0.0); n],
        dgb: vec![(0.0, 0.0); n],
        alpha: vec![0.0; n],
        attack: vec![false; n],
        phi: vec![0.0; n],
        attack_pk: vec![false; n],
        prev: vec![0.0; n],
        s: vec![0.0; n],
        g_lin: Vec::new(),
        g_peak: Vec::new(),
        makeup_free: false,
        num: 0.0,
        den: 0.0,
    };
    let mut s_pk = vec![0.0; n];
    let mut prev = 0.0;
    for j in 0..n {
        if seg_start[j] {
            prev = 0.0;
        }
        let (gp, dp1, dp2) = gain_computer(over_pk[j], u, c.knee_db);
        let (gb, db1, db2) = gain_computer(over_body[j], u, c.knee_db);
        let g = gb + c.hold * (gp - gb);
        let attack = g < prev;
        let al = if attack {
            c.alpha_attack
        } else {
            c.alpha_release
        };
        let attack_pk = gp < prev;
        let sa = if attack_pk {
            c.sample_attack
        } else {
            c.sample_release
        };
        let phi = 1.0 - sa.powi(lag[j] as i32 + 1);
        s_pk[j] = prev + (gp - prev) * phi;
        f.prev[j] = prev;
        prev = al * prev + (1.0 - al) * g;
        f.s[j] = prev;
        (f.gp[j], f.gb[j], f.dgp[j], f.dgb[j]) = (gp, gb, (dp1, dp2), (db1, db2));
        (f.alpha[j], f.attack[j], f.phi[j], f.attack_pk[j]) = (al, attack, phi, attack_pk);
    }
    let mut makeup = 0.0;
    if let Some(e) = energy {
        (f.num, f.den) = makeup_sums(&f.s, e);
        if f.num > 0.0 && f.den > 0.0 {
            let m = -10.0 * (f.num / f.den).log10();
            f.makeup_free = m > 0.0 && m < 12.0;
            makeup = m.clamp(0.0, 12.0);
        }
    }
    f.g_lin =
        f.s.iter()
            .map(|s| 10f64.powf((s + makeup) / 10.0))
            .collect();
    f.g_peak = s_pk
        .iter()
        .map(|s| 10f64.powf((s + makeup) / 10.0))
        .collect();
    f
}

/// Adjoints out of a compressor's reverse pass.
struct CompBack {
    /// w.r.t. the peak and body levels over the threshold, per block.
    over_pk: Vec<f64>,
    over_body: Vec<f64>,
    u: f64,
    ln_attack: f64,
    ln_release: f64,
}

/// Reverse pass of [`compress`] (without the make-up, handled by the
/// caller): from the adjoints of the smoothed gains `a_s` and of the peak
/// gains `a_spk` (both dB).
fn compress_back(
    a_s: &[f64],
    a_spk: &[f64],
    cf: &CompFwd,
    c: &CompFixed,
    lag: &[u32],
    seg_start: &[bool],
) -> CompBack {
    let n = a_s.len();
    let mut out = CompBack {
        over_pk: vec![0.0; n],
        over_body: vec![0.0; n],
        u: 0.0,
        ln_attack: 0.0,
        ln_release: 0.0,
    };
    // α = exp(−k/t): dα/d ln t = α·k/t = −α ln α.
    let kb = |a: f64| -a.ln();
    let (kba, kbr, ksa, ksr) = (
        kb(c.alpha_attack),
        kb(c.alpha_release),
        kb(c.sample_attack),
        kb(c.sample_release),
    );
    // prev = s[j−1] (0 at a segment start); g = gb + hold·(gp − gb);
    // s[j] = α·prev + (1 − α)·g; s_pk[j] = prev + (gp − prev)·φ,
    // φ = 1 − α_s^(lag+1).
    let mut carry = 0.0; // adjoint of s[j], from block j + 1
    for j in (0..n).rev() {
        let tot = a_s[j] + carry;
        let g = cf.gb[j] + c.hold * (cf.gp[j] - cf.gb[j]);
        let a_g = (1.0 - cf.alpha[j]) * tot;
        let a_gp = c.hold * a_g + cf.phi[j] * a_spk[j];
        let a_gb = (1.0 - c.hold) * a_g;
        out.over_pk[j] = a_gp * cf.dgp[j].0;
        out.over_body[j] = a_gb * cf.dgb[j].0;
        out.u += a_gp * cf.dgp[j].1 + a_gb * cf.dgb[j].1;
        out.ln_release += a_g * (cf.gp[j] - cf.gb[j]) * c.dhold;
        // ∂s/∂α = prev − g.
        let d_alpha = tot * (cf.prev[j] - g) * cf.alpha[j];
        if cf.attack[j] {
            out.ln_attack += d_alpha * kba;
        } else {
            out.ln_release += d_alpha * kbr;
        }
        // ∂s_pk/∂φ = gp − prev; ∂φ/∂ ln t = −(lag+1)(1 − φ)·k_s.
        let d_phi =
            a_spk[j] * (cf.gp[j] - cf.prev[j]) * (-(f64::from(lag[j]) + 1.0) * (1.0 - cf.phi[j]));
        if cf.attack_pk[j] {
            out.ln_attack += d_phi * ksa;
        } else {
            out.ln_release += d_phi * ksr;
        }
        let a_prev = cf.alpha[j] * tot + (1.0 - cf.phi[j]) * a_spk[j];
        carry = if seg_start[j] { 0.0 } else { a_prev };
    }
    out
}

/// Per-stem forward state kept for the reverse pass.
struct StemFwd {
    heq: [f64; B],
    dheq: [[f64; B]; N_BANDS],
    gains: (f64, f64),
    slopes: (f64, f64),
    gamma: f64,
    /// Per block: the stem's power gain over the block and at its peak, and
    /// its EQ'd energy.
    q: Vec<f64>,
    qp: Vec<f64>,
    e: Vec<f64>,
    comp: Option<CompFwd>,
    /// Frame band powers of the stem's mid and side, `[frame * B + band]`.
    pm: Vec<f64>,
    ps: Vec<f64>,
    /// ln of the stem's Bark magnitudes τ·√P (−∞ where P = 0).
    lam: Vec<f64>,
    las: Vec<f64>,
    /// Per block: the stem's peak power in the left and right channel.
    wl: Vec<f64>,
    wr: Vec<f64>,
}

/// All intermediate values of one forward pass.
struct Fwd {
    stems: Vec<StemFwd>,
    ml: Vec<f64>,
    mr: Vec<f64>,
    mx: Vec<f64>,
    pkl: Vec<f64>,
    pkr: Vec<f64>,
    hm: [f64; B],
    dhm: [[f64; B]; N_BANDS],
    ratio: Vec<f64>,
    qsum: Vec<f64>,
    pk_sum: Vec<f64>,
    mcomp: Option<CompFwd>,
    /// The master compressor's coefficients at these settings.
    mc: CompFixed,
    gm: Vec<f64>,
    gmp: Vec<f64>,
    feats: [f64; NF],
    gated: Vec<bool>,
    zbar: f64,
    gn: f64,
    s_l: f64,
    s_r: f64,
    s_m: f64,
    s_s: f64,
    soft_w: [Vec<f64>; 2],
    /// Per frame: the master compressor's power gain.
    gmf: Vec<f64>,
    /// Per frame and band: ln of the stems' combined magnitude (before the
    /// master), mid and side.
    amix_m: Vec<f64>,
    amix_s: Vec<f64>,
    amid: [f64; B],
    aside: [f64; B],
}

impl Model<'_> {
    fn master_comp(&self, xm: &[f64]) -> CompFixed {
        CompFixed::new(
            self.master_knee_db,
            xm[M_ATT].exp(),
            xm[M_REL].exp(),
            &self.an.grid,
        )
    }

    fn stem_fwd(&self, s: usize, x: &[f64]) -> StemFwd {
        let d = &self.an.stems[s];
        let g = &self.an.grid;
        let nb = g.n_blocks;
        let (heq, dheq) = eq_bands(&x[S_EQ..S_EQ + N_BANDS], g);
        let (gains, slopes) = self.law.gains_and_slopes(x[S_PAN]);
        let gamma = 10f64.powf(x[S_GAIN] / 10.0);
        let mut e = vec![0.0; nb];
        for j in 0..nb {
            let mut acc = 0.0;
            for b in 0..B {
                acc += heq[b] * 0.5 * (d.ll[j * B + b] + d.rr[j * B + b]);
            }
            e[j] = acc;
        }
        let (q, qp, comp) = if self.compress && d.active {
            let mut over_pk = vec![-1e9; nb];
            let mut over_body = vec![-1e9; nb];
            for j in 0..nb {
                if d.peak[j] > 0.0 && d.e0[j] > 0.0 && e[j] > 0.0 {
                    let base = -d.lref_db - x[S_THR];
                    over_pk[j] = 10.0 * (d.peak[j] * e[j] / d.e0[j]).log10() + base;
                    over_body[j] = 10.0 * e[j].log10() + BODY_CREST_DB + base;
                }
            }
            let cf = compress(
                &over_pk,
                &over_body,
                &d.lag,
                x[S_U],
                &self.comps[s],
                &g.seg_start,
                Some(&e),
            );
            let q = cf.g_lin.iter().map(|v| v * gamma).collect();
            let qp = cf.g_peak.iter().map(|v| v * gamma).collect();
            (q, qp, Some(cf))
        } else {
            (vec![gamma; nb], vec![gamma; nb], None)
        };
        let nfr = g.frames.len();
        let mut pm = vec![0.0; nfr * B];
        let mut ps = vec![0.0; nfr * B];
        let (gl, gr) = gains;
        let (cl, cr, cx) = (gl * gl, gr * gr, gl * gr);
        for (fi, &(a, n)) in g.frames.iter().enumerate() {
            for j in a..a + n {
                for b in 0..B {
                    let k = j * B + b;
                    let w = q[j] * heq[b];
                    let base = cl * d.ll[k] + cr * d.rr[k];
                    pm[fi * B + b] += w * (base + 2.0 * cx * d.lr[k]);
                    ps[fi * B + b] += w * (base - 2.0 * cx * d.lr[k]);
                }
            }
        }
        let ln_mag = |pw: &[f64], tau: &[f64; B]| -> Vec<f64> {
            pw.iter()
                .enumerate()
                .map(|(k, &v)| {
                    if v > 0.0 {
                        tau[k % B].ln() + 0.5 * v.ln()
                    } else {
                        f64::NEG_INFINITY
                    }
                })
                .collect()
        };
        let lam = ln_mag(&pm, &d.tau_mid);
        let las = ln_mag(&ps, &d.tau_side);
        let mut wl = vec![0.0; nb];
        let mut wr = vec![0.0; nb];
        for j in 0..nb {
            if d.e0[j] > 0.0 {
                let p = qp[j] * d.peak[j] * e[j] / d.e0[j];
                wl[j] = cl * p;
                wr[j] = cr * p;
            }
        }
        StemFwd {
            heq,
            dheq,
            gains,
            slopes,
            gamma,
            q,
            qp,
            e,
            comp,
            pm,
            ps,
            lam,
            las,
            wl,
            wr,
        }
    }

    fn forward(&self, x: &[f64]) -> Fwd {
        let an = self.an;
        let g = &an.grid;
        let nb = g.n_blocks;
        let ns = an.stems.len();
        let stems: Vec<StemFwd> = (0..ns)
            .into_par_iter()
            .map(|s| self.stem_fwd(s, &x[s * NS..(s + 1) * NS]))
            .collect();
        let mut ml = vec![0.0; nb * B];
        let mut mr = vec![0.0; nb * B];
        let mut mx = vec![0.0; nb * B];
        // Sum over stems in stem order within each block range: the ranges
        // run in parallel, every element's sum is the same whatever the
        // threads do.
        const CH: usize = 32;
        ml.par_chunks_mut(CH * B)
            .zip(mr.par_chunks_mut(CH * B))
            .zip(mx.par_chunks_mut(CH * B))
            .enumerate()
            .for_each(|(c, ((ml, mr), mx))| {
                for (d, f) in an.stems.iter().zip(&stems) {
                    let (gl, gr) = f.gains;
                    let (cl, cr, cx) = (gl * gl, gr * gr, gl * gr);
                    for jj in 0..ml.len() / B {
                        let j = c * CH + jj;
                        let qj = f.q[j];
                        for b in 0..B {
                            let k = j * B + b;
                            let w = qj * f.heq[b];
                            ml[jj * B + b] += w * cl * d.ll[k];
                            mr[jj * B + b] += w * cr * d.rr[k];
                            mx[jj * B + b] += w * cx * d.lr[k];
                        }
                    }
                }
            });
        // Master.
        let xm = &x[ns * NS..ns * NS + NM];
        let (hm, dhm) = eq_bands(&xm[M_EQ..M_EQ + N_BANDS], g);
        let mut ratio = vec![1.0; nb];
        let mut qsum = vec![0.0; nb];
        for j in 0..nb {
            let (mut num, mut den) = (0.0, 0.0);
            for b in 0..B {
                let qv = ml[j * B + b] + mr[j * B + b];
                num += hm[b] * qv;
                den += qv;
            }
            qsum[j] = den;
            if den > 0.0 {
                ratio[j] = num / den;
            }
        }
        // Block peaks of the sum: the stems' peak powers combined as a
        // (p/2)-norm, p calibrated on real renders (1: peaks add in
        // amplitude, 2: in power).
        let r = 0.5 * self.p_peak;
        let combine = |j: usize, left: bool| -> f64 {
            let w = |f: &StemFwd| if left { f.wl[j] } else { f.wr[j] };
            let m = stems.iter().map(w).fold(0.0, f64::max);
            if m <= 0.0 {
                return 0.0;
            }
            let sum: f64 = stems.iter().map(|f| (w(f) / m).powf(r)).sum();
            m * sum.powf(1.0 / r)
        };
        let pkl: Vec<f64> = (0..nb).map(|j| combine(j, true)).collect();
        let pkr: Vec<f64> = (0..nb).map(|j| combine(j, false)).collect();
        let pk_sum: Vec<f64> = (0..nb).map(|j| pkl[j] + pkr[j]).collect();
        let mc = self.master_comp(xm);
        let (gm, gmp, mcomp) = if self.compress {
            let mut over_pk = vec![-1e9; nb];
            let mut over_body = vec![-1e9; nb];
            let base = -self.working_db - xm[M_THR];
            for j in 0..nb {
                if pk_sum[j] > 0.0 {
                    over_pk[j] = 10.0 * (0.5 * pk_sum[j] * ratio[j]).log10() + base;
                }
                if qsum[j] > 0.0 {
                    over_body[j] = 10.0 * (0.5 * qsum[j] * ratio[j]).log10() + BODY_CREST_DB + base;
                }
            }
            let cf = compress(
                &over_pk,
                &over_body,
                &an.mix_lag,
                xm[M_U],
                &mc,
                &g.seg_start,
                None,
            );
            (cf.g_lin.clone(), cf.g_peak.clone(), Some(cf))
        } else {
            (vec![1.0; nb], vec![1.0; nb], None)
        };

        // Energy features.
        let mut zk = vec![0.0; nb];
        let (mut s_l, mut s_r, mut s_m, mut s_s) = (0.0, 0.0, 0.0, 0.0);
        for j in 0..nb {
            let mut z = 0.0;
            for b in 0..B {
                let k = j * B + b;
                let w = gm[j] * hm[b];
                let (yl, yr, yx) = (w * ml[k], w * mr[k], w * mx[k]);
                z += g.kw[b] * (yl + yr);
                s_l += yl;
                s_r += yr;
                s_m += yl + yr + 2.0 * yx;
                s_s += yl + yr - 2.0 * yx;
            }
            zk[j] = z;
        }
        // Loudness with both gates (BS.1770-4).
        let zw: Vec<f64> = g
            .lwins
            .iter()
            .map(|&(a, n)| zk[a..a + n].iter().sum::<f64>() / n as f64)
            .collect();
        let lk = |z: f64| -0.691 + 10.0 * z.max(1e-30).log10();
        let abs_ok: Vec<bool> = zw.iter().map(|&z| lk(z) > -70.0).collect();
        let n_abs = abs_ok.iter().filter(|&&o| o).count();
        let gated: Vec<bool> = if n_abs > 0 {
            let m = zw
                .iter()
                .zip(&abs_ok)
                .filter(|(_, o)| **o)
                .map(|(z, _)| z)
                .sum::<f64>()
                / n_abs as f64;
            let rel = lk(m) - 10.0;
            zw.iter()
                .zip(&abs_ok)
                .map(|(&z, &o)| o && lk(z) > rel)
                .collect()
        } else {
            vec![true; zw.len()]
        };
        let n_g = gated.iter().filter(|&&o| o).count().max(1);
        let zbar = zw
            .iter()
            .zip(&gated)
            .filter(|(_, o)| **o)
            .map(|(z, _)| z)
            .sum::<f64>()
            / n_g as f64;
        let gn = 10f64.powf((self.norm_lufs - lk(zbar)) / 10.0);
        let nbf = nb.max(1) as f64;
        let mut feats = [0.0; NF];
        feats[F_RMS] = (gn * s_l / nbf).max(0.0).sqrt();
        feats[F_RMS + 1] = (gn * s_r / nbf).max(0.0).sqrt();
        let mut soft_w = [vec![0.0; nb], vec![0.0; nb]];
        for c in 0..2 {
            let pk = if c == 0 { &pkl } else { &pkr };
            let v: Vec<f64> = (0..nb)
                .map(|j| 10.0 * (gmp[j] * ratio[j] * pk[j]).max(1e-30).log10())
                .collect();
            let vmax = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut z = 0.0;
            for j in 0..nb {
                soft_w[c][j] = ((v[j] - vmax) / TAU_DB).exp();
                z += soft_w[c][j];
            }
            soft_w[c].iter_mut().for_each(|w| *w /= z);
            let sc = if c == 0 { s_l } else { s_r };
            feats[F_CREST + c] = vmax + TAU_DB * z.ln() - 10.0 * (sc / nbf).max(1e-30).log10();
        }
        feats[F_WIDTH] = s_s / s_m.max(1e-30);
        feats[F_IMB] = (s_r - s_l) / (s_r + s_l).max(1e-30);

        // Bark magnitudes.
        let nfr = g.frames.len();
        let mut gmf = vec![1.0; nfr];
        for (fi, &(a, n)) in g.frames.iter().enumerate() {
            let (mut num, mut den) = (0.0, 0.0);
            for j in a..a + n {
                num += gm[j] * qsum[j];
                den += qsum[j];
            }
            if den > 0.0 {
                gmf[fi] = num / den;
            }
        }
        // ln of the combined magnitude: ln A = m + ln(Σ e^(p(la − m)))/p with
        // m the largest stem term (no overflow, one exp per stem).
        let combine = |la: &dyn Fn(&StemFwd) -> f64, p: f64| -> f64 {
            let m = stems.iter().map(la).fold(f64::NEG_INFINITY, f64::max);
            if m == f64::NEG_INFINITY {
                return m;
            }
            let sum: f64 = stems.iter().map(|f| (p * (la(f) - m)).exp()).sum();
            m + sum.ln() / p
        };
        let mut amix_m = vec![0.0; nfr * B];
        let mut amix_s = vec![0.0; nfr * B];
        amix_m
            .par_chunks_mut(B)
            .zip(amix_s.par_chunks_mut(B))
            .enumerate()
            .for_each(|(fi, (am, as_))| {
                for b in 0..B {
                    let k = fi * B + b;
                    am[b] = combine(&|f: &StemFwd| f.lam[k], self.p_mid[b]);
                    as_[b] = combine(&|f: &StemFwd| f.las[k], self.p_side[b]);
                }
            });
        let mut amid = [0.0; B];
        let mut aside = [0.0; B];
        for fi in 0..nfr {
            for b in 0..B {
                let k = fi * B + b;
                let master = (hm[b] * gmf[fi]).sqrt();
                amid[b] += master * amix_m[k].exp() / nfr as f64;
                aside[b] += master * amix_s[k].exp() / nfr as f64;
            }
        }
        for b in 0..B {
            feats[F_MID + b] = amid[b].max(1e-30).ln() + 0.5 * gn.ln();
            feats[F_SIDE + b] = aside[b].max(1e-30).ln() + 0.5 * gn.ln();
        }
        Fwd {
            stems,
            ml,
            mr,
            mx,
            pkl,
            pkr,
            hm,
            dhm,
            ratio,
            qsum,
            pk_sum,
            mcomp,
            mc,
            gm,
            gmp,
            feats,
            gated,
            zbar,
            gn,
            s_l,
            s_r,
            s_m,
            s_s,
            soft_w,
            gmf,
            amix_m,
            amix_s,
            amid,
            aside,
        }
    }

    /// The surrogate's features at natural parameters `x`.
    pub(crate) fn features(&self, x: &[f64]) -> [f64; NF] {
        self.forward(x).feats
    }

    /// The automatic make-up gain of each stem's compressor at natural
    /// parameters `x`, dB (0 for stems without one).
    pub(crate) fn makeups(&self, x: &[f64]) -> Vec<f64> {
        (0..self.an.stems.len())
            .map(|s| {
                let f = self.stem_fwd(s, &x[s * NS..(s + 1) * NS]);
                f.comp.map_or(0.0, |c| auto_makeup_db(&c.s, &f.e))
            })
            .collect()
    }

    /// The un-normalised log Bark magnitudes (mid, side) at `x` for each
    /// candidate exponent in `ps` (the same exponent for every band), and
    /// the surrogate's loudness-normalisation term. The fit uses them to
    /// calibrate `p_mid`/`p_side` on a real render.
    pub(crate) fn bark_for_exponents(&self, x: &[f64], ps: &[f64]) -> (Vec<[[f64; B]; 2]>, f64) {
        let f = self.forward(x);
        let an = self.an;
        let nfr = an.grid.frames.len();
        let out = ps
            .iter()
            .map(|&p| {
                let mut r = [[0.0; B]; 2];
                for b in 0..B {
                    let (mut am, mut as_) = (0.0, 0.0);
                    for fi in 0..nfr {
                        let k = fi * B + b;
                        let (mut um, mut us) = (0.0, 0.0);
                        for (d, sf) in an.stems.iter().zip(&f.stems) {
                            if sf.pm[k] > 0.0 {
                                um += (d.tau_mid[b] * sf.pm[k].sqrt()).powf(p);
                            }
                            if sf.ps[k] > 0.0 {
                                us += (d.tau_side[b] * sf.ps[k].sqrt()).powf(p);
                            }
                        }
                        let master = (f.hm[b] * f.gmf[fi]).sqrt();
                        am += master * um.powf(1.0 / p) / nfr.max(1) as f64;
                        as_ += master * us.powf(1.0 / p) / nfr.max(1) as f64;
                    }
                    r[0][b] = am.max(1e-30).ln();
                    r[1][b] = as_.max(1e-30).ln();
                }
                r
            })
            .collect();
        (out, 0.5 * f.gn.ln())
    }

    /// The crest factors at `x` with peak-combination exponent `p`.
    pub(crate) fn crest_at(&self, x: &[f64], p: f64) -> [f64; 2] {
        let m = Model {
            p_peak: p,
            ..self.clone_shallow()
        };
        let f = m.forward(x).feats;
        [f[F_CREST], f[F_CREST + 1]]
    }

    fn clone_shallow(&self) -> Model<'_> {
        Model {
            an: self.an,
            law: self.law,
            comps: self.comps.clone(),
            master_knee_db: self.master_knee_db,
            working_db: self.working_db,
            norm_lufs: self.norm_lufs,
            weights: self.weights,
            target: self.target,
            delta: self.delta,
            p_mid: self.p_mid,
            p_side: self.p_side,
            p_peak: self.p_peak,
            compress: self.compress,
        }
    }

    /// The loss's gradient w.r.t. each feature, and the loss (features
    /// shifted by `delta`, against `target`).
    pub(crate) fn feature_loss(&self, feats: &[f64; NF]) -> (f64, [f64; NF]) {
        let w = &self.weights;
        let mut grad = [0.0; NF];
        let mut loss = 0.0;
        let mut term = |idx: std::ops::Range<usize>, weight: f64| {
            let n = idx.len() as f64;
            for i in idx {
                let r = feats[i] + self.delta[i] - self.target[i];
                loss += weight * r * r / n;
                grad[i] = 2.0 * weight * r / n;
            }
        };
        term(F_RMS..F_RMS + 2, w.rms);
        term(F_CREST..F_CREST + 2, w.crest);
        term(F_WIDTH..F_WIDTH + 1, w.width);
        term(F_IMB..F_IMB + 1, w.imbalance);
        term(F_MID..F_SIDE + B, w.bark);
        (loss, grad)
    }

    /// The surrogate AF loss at natural parameters `x` and its gradient
    /// (written into `grad`, same layout as `x`).
    pub(crate) fn loss_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let f = self.forward(x);
        let (loss, gf) = self.feature_loss(&f.feats);
        self.backward(&f, &gf, grad);
        loss
    }

    /// Reverse pass: `gf` is ∂loss/∂feature; writes ∂loss/∂x.
    fn backward(&self, f: &Fwd, gf: &[f64; NF], grad: &mut [f64]) {
        let an = self.an;
        let g = &an.grid;
        let nb = g.n_blocks;
        let ns = an.stems.len();
        let nfr = g.frames.len();
        grad.iter_mut().for_each(|v| *v = 0.0);
        // Scalars of the energy features.
        let mut a_gn = 0.0;
        let (mut a_sl, mut a_sr, mut a_sm, mut a_ss) = (0.0, 0.0, 0.0, 0.0);
        for (c, s_c) in [(0, f.s_l), (1, f.s_r)] {
            let rms = f.feats[F_RMS + c];
            let mut a = 0.0;
            if rms > 0.0 {
                a_gn += gf[F_RMS + c] * rms / (2.0 * f.gn);
                a += gf[F_RMS + c] * rms / (2.0 * s_c);
            }
            // Crest: −10 log10(S_c / n).
            if s_c > 1e-30 {
                a -= gf[F_CREST + c] * TEN_LN10 / s_c;
            }
            if c == 0 {
                a_sl += a;
            } else {
                a_sr += a;
            }
        }
        if f.s_m > 1e-30 {
            a_ss += gf[F_WIDTH] / f.s_m;
            a_sm -= gf[F_WIDTH] * f.s_s / (f.s_m * f.s_m);
        }
        let tot = f.s_r + f.s_l;
        if tot > 1e-30 {
            a_sr += gf[F_IMB] * 2.0 * f.s_l / (tot * tot);
            a_sl -= gf[F_IMB] * 2.0 * f.s_r / (tot * tot);
        }
        // Bark: feature = ln(mean_F √(hm·gmf)·A) + ½ ln gn.
        let mut a_hm = [0.0; B];
        let mut a_gmf = vec![0.0; nfr];
        // Adjoints of each stem's frame powers, [(frame * ns + stem) * B + band].
        let mut a_pm = vec![0.0; nfr * ns * B];
        let mut a_ps = vec![0.0; nfr * ns * B];
        for b in 0..B {
            a_gn += (gf[F_MID + b] + gf[F_SIDE + b]) * 0.5 / f.gn;
            for fi in 0..nfr {
                let k = fi * B + b;
                let master = (f.hm[b] * f.gmf[fi]).sqrt();
                for (feat, amean, la) in [
                    (gf[F_MID + b], f.amid[b], f.amix_m[k]),
                    (gf[F_SIDE + b], f.aside[b], f.amix_s[k]),
                ] {
                    if amean <= 1e-30 || feat == 0.0 || la == f64::NEG_INFINITY {
                        continue;
                    }
                    let a = la.exp();
                    let a_fin = feat / amean / nfr as f64;
                    // √(hm·gmf): d/dhm = ½√(gmf/hm), d/dgmf = ½√(hm/gmf).
                    a_hm[b] += a_fin * a * 0.5 * master / f.hm[b];
                    a_gmf[fi] += a_fin * a * 0.5 * master / f.gmf[fi];
                }
            }
        }
        a_pm.par_chunks_mut(ns * B)
            .zip(a_ps.par_chunks_mut(ns * B))
            .enumerate()
            .for_each(|(fi, (apm, aps))| {
                for b in 0..B {
                    let k = fi * B + b;
                    let master = (f.hm[b] * f.gmf[fi]).sqrt();
                    for (feat, amean, la, pexp, is_mid) in [
                        (gf[F_MID + b], f.amid[b], f.amix_m[k], self.p_mid[b], true),
                        (
                            gf[F_SIDE + b],
                            f.aside[b],
                            f.amix_s[k],
                            self.p_side[b],
                            false,
                        ),
                    ] {
                        if amean <= 1e-30 || feat == 0.0 || la == f64::NEG_INFINITY {
                            continue;
                        }
                        let a_a = feat / amean / nfr as f64 * master * la.exp();
                        for (s, sf) in f.stems.iter().enumerate() {
                            let (pw, las) = if is_mid {
                                (sf.pm[k], sf.lam[k])
                            } else {
                                (sf.ps[k], sf.las[k])
                            };
                            if pw <= 0.0 {
                                continue;
                            }
                            // ∂A/∂A_s = (A_s/A)^(p−1); ∂A_s/∂P_s = A_s/(2P_s); with
                            // a_a = ∂/∂A · A: v = a_a·(A_s/A)^p / (2P_s).
                            let v = a_a * (pexp * (las - la)).exp() / (2.0 * pw);
                            if is_mid {
                                apm[s * B + b] = v;
                            } else {
                                aps[s * B + b] = v;
                            }
                        }
                    }
                }
            });
        // Loudness: gn = 10^((norm − L)/10), L = −0.691 + 10 log10(zbar),
        // so ∂gn/∂zbar = −gn / zbar.
        let a_zbar = -a_gn * f.gn / f.zbar.max(1e-30);
        let n_g = f.gated.iter().filter(|&&o| o).count().max(1) as f64;
        let mut a_zk = vec![0.0; nb];
        for (i, &(a, n)) in g.lwins.iter().enumerate() {
            if f.gated[i] {
                let v = a_zbar / n_g / n as f64;
                for z in &mut a_zk[a..a + n] {
                    *z += v;
                }
            }
        }
        // Crest soft max: v_j = 10 log10(gmp·ratio·pk_c).
        let mut a_pkl = vec![0.0; nb];
        let mut a_pkr = vec![0.0; nb];
        let mut a_gm = vec![0.0; nb];
        let mut a_gmp = vec![0.0; nb];
        let mut a_ratio = vec![0.0; nb];
        for c in 0..2 {
            let a = gf[F_CREST + c];
            let pk = if c == 0 { &f.pkl } else { &f.pkr };
            for j in 0..nb {
                if f.gmp[j] * f.ratio[j] * pk[j] <= 1e-30 {
                    continue;
                }
                let av = a * f.soft_w[c][j] * TEN_LN10;
                a_gmp[j] += av / f.gmp[j];
                a_ratio[j] += av / f.ratio[j];
                if c == 0 {
                    a_pkl[j] += av / pk[j];
                } else {
                    a_pkr[j] += av / pk[j];
                }
            }
        }
        // The master's frame gains: gmf = Σ gm·qsum / Σ qsum over the frame.
        let mut a_qsum = vec![0.0; nb];
        for (fi, &(a, n)) in g.frames.iter().enumerate() {
            let den: f64 = f.qsum[a..a + n].iter().sum();
            if den > 0.0 {
                for j in a..a + n {
                    a_gm[j] += a_gmf[fi] * f.qsum[j] / den;
                    a_qsum[j] += a_gmf[fi] * (f.gm[j] - f.gmf[fi]) / den;
                }
            }
        }
        // Master stage of the energy features: Y = gm·hm·M.
        let xm_off = ns * NS;
        let mut a_ml = vec![0.0; nb * B];
        let mut a_mr = vec![0.0; nb * B];
        let mut a_mx = vec![0.0; nb * B];
        for j in 0..nb {
            let mut agm = 0.0;
            for b in 0..B {
                let k = j * B + b;
                let kz = g.kw[b] * a_zk[j];
                let a_yl = a_sl + a_sm + a_ss + kz;
                let a_yr = a_sr + a_sm + a_ss + kz;
                let a_yx = 2.0 * (a_sm - a_ss);
                let inner = a_yl * f.ml[k] + a_yr * f.mr[k] + a_yx * f.mx[k];
                agm += f.hm[b] * inner;
                a_hm[b] += f.gm[j] * inner;
                let w = f.gm[j] * f.hm[b];
                a_ml[k] = a_yl * w + a_qsum[j];
                a_mr[k] = a_yr * w + a_qsum[j];
                a_mx[k] = a_yx * w;
            }
            a_gm[j] += agm;
        }
        if let Some(cf) = &f.mcomp {
            // gm = 10^(s/10), gmp = 10^(s_pk/10) (no make-up on the master).
            let a_s: Vec<f64> = (0..nb).map(|j| a_gm[j] * cf.g_lin[j] * LN10_10).collect();
            let a_spk: Vec<f64> = (0..nb).map(|j| a_gmp[j] * cf.g_peak[j] * LN10_10).collect();
            let cb = compress_back(&a_s, &a_spk, cf, &f.mc, &an.mix_lag, &g.seg_start);
            grad[xm_off + M_U] += cb.u;
            grad[xm_off + M_ATT] += cb.ln_attack;
            grad[xm_off + M_REL] += cb.ln_release;
            for j in 0..nb {
                // over_pk = 10 log10(½·pk_sum·ratio) + base,
                // over_body = 10 log10(½·qsum·ratio) + 3 + base.
                let (ap, ab) = (cb.over_pk[j], cb.over_body[j]);
                grad[xm_off + M_THR] -= ap + ab;
                if f.pk_sum[j] > 0.0 {
                    a_pkl[j] += ap * TEN_LN10 / f.pk_sum[j];
                    a_pkr[j] += ap * TEN_LN10 / f.pk_sum[j];
                    a_ratio[j] += ap * TEN_LN10 / f.ratio[j];
                }
                if f.qsum[j] > 0.0 {
                    a_ratio[j] += ab * TEN_LN10 / f.ratio[j];
                    let v = ab * TEN_LN10 / f.qsum[j];
                    for b in 0..B {
                        a_ml[j * B + b] += v;
                        a_mr[j * B + b] += v;
                    }
                }
            }
        }
        // ratio_j = Σ hm·Q / Σ Q, Q = ML + MR.
        for j in 0..nb {
            if f.qsum[j] > 0.0 && a_ratio[j] != 0.0 {
                let inv = a_ratio[j] / f.qsum[j];
                for b in 0..B {
                    let k = j * B + b;
                    a_hm[b] += inv * (f.ml[k] + f.mr[k]);
                    let d = inv * (f.hm[b] - f.ratio[j]);
                    a_ml[k] += d;
                    a_mr[k] += d;
                }
            }
        }
        for k in 0..N_BANDS {
            grad[xm_off + M_EQ + k] = (0..B).map(|b| a_hm[b] * f.dhm[k][b]).sum::<f64>();
        }
        let r = 0.5 * self.p_peak;
        // Stems, in parallel; each writes only its own parameters.
        let per_stem: Vec<[f64; NS]> = (0..ns)
            .into_par_iter()
            .map(|s| {
                let (d, sf) = (&an.stems[s], &f.stems[s]);
                let mut gs = [0.0; NS];
                let (gl, gr) = sf.gains;
                let (cl, cr, cx) = (gl * gl, gr * gr, gl * gr);
                let mut a_q = vec![0.0; nb];
                let mut a_qp = vec![0.0; nb];
                let mut a_heq = [0.0; B];
                let mut a_e = vec![0.0; nb];
                let (mut a_cl, mut a_cr, mut a_cx) = (0.0, 0.0, 0.0);
                for j in 0..nb {
                    let qj = sf.q[j];
                    let fi = g.frame_of[j];
                    let mut aq = 0.0;
                    let (mut tl, mut tr, mut tx) = (0.0, 0.0, 0.0);
                    for b in 0..B {
                        let k = j * B + b;
                        // This stem's share of the mix arrays, plus its own
                        // frame powers of the Bark magnitudes.
                        let (bm, bs) = if fi == usize::MAX {
                            (0.0, 0.0)
                        } else {
                            let i = (fi * ns + s) * B + b;
                            (a_pm[i], a_ps[i])
                        };
                        let pl = (a_ml[k] + bm + bs) * d.ll[k];
                        let pr = (a_mr[k] + bm + bs) * d.rr[k];
                        let px = (a_mx[k] + 2.0 * (bm - bs)) * d.lr[k];
                        let inner = cl * pl + cr * pr + cx * px;
                        aq += sf.heq[b] * inner;
                        a_heq[b] += qj * inner;
                        tl += sf.heq[b] * pl;
                        tr += sf.heq[b] * pr;
                        tx += sf.heq[b] * px;
                    }
                    a_cl += qj * tl;
                    a_cr += qj * tr;
                    a_cx += qj * tx;
                    if d.e0[j] > 0.0 {
                        let base = d.peak[j] / d.e0[j];
                        let p = base * sf.e[j];
                        let qp = sf.qp[j];
                        // ∂PK/∂w_s = (w_s/PK)^(r−1) for PK = (Σ w^r)^(1/r).
                        let share =
                            |w: f64, pk: f64| if w > 0.0 { (w / pk).powf(r - 1.0) } else { 0.0 };
                        let al = a_pkl[j] * share(sf.wl[j], f.pkl[j]);
                        let ar = a_pkr[j] * share(sf.wr[j], f.pkr[j]);
                        a_qp[j] += (al * cl + ar * cr) * p;
                        a_cl += al * qp * p;
                        a_cr += ar * qp * p;
                        a_e[j] += (al * cl + ar * cr) * qp * base;
                    }
                    a_q[j] = aq;
                }
                // q = γ·G, qp = γ·G_peak.
                let mut a_gamma = 0.0;
                match &sf.comp {
                    None => {
                        a_gamma = a_q.iter().sum::<f64>() + a_qp.iter().sum::<f64>();
                    }
                    Some(cf) => {
                        let mut a_s = vec![0.0; nb];
                        let mut a_spk = vec![0.0; nb];
                        let mut a_m = 0.0;
                        for j in 0..nb {
                            a_gamma += a_q[j] * cf.g_lin[j] + a_qp[j] * cf.g_peak[j];
                            let v = a_q[j] * sf.gamma * cf.g_lin[j] * LN10_10;
                            let vp = a_qp[j] * sf.gamma * cf.g_peak[j] * LN10_10;
                            a_s[j] += v;
                            a_spk[j] += vp;
                            a_m += v + vp;
                        }
                        if cf.makeup_free {
                            // m = −10 log10(N/D), N = Σ 10^(s/10)·E, D = Σ E.
                            for j in 0..nb {
                                let p = 10f64.powf(cf.s[j] / 10.0);
                                a_s[j] -= a_m * p * sf.e[j] / cf.num;
                                a_e[j] -= a_m * TEN_LN10 * (p / cf.num - 1.0 / cf.den);
                            }
                        }
                        let cb =
                            compress_back(&a_s, &a_spk, cf, &self.comps[s], &d.lag, &g.seg_start);
                        gs[S_U] += cb.u;
                        for j in 0..nb {
                            let (ap, ab) = (cb.over_pk[j], cb.over_body[j]);
                            gs[S_THR] -= ap + ab;
                            if d.peak[j] > 0.0 && d.e0[j] > 0.0 && sf.e[j] > 0.0 {
                                // Both levels move with 10 log10(E).
                                a_e[j] += (ap + ab) * TEN_LN10 / sf.e[j];
                            }
                        }
                    }
                }
                gs[S_GAIN] = a_gamma * sf.gamma * LN10_10;
                // E = Σ heq·(ll + rr)/2.
                for j in 0..nb {
                    if a_e[j] != 0.0 {
                        for b in 0..B {
                            a_heq[b] += a_e[j] * 0.5 * (d.ll[j * B + b] + d.rr[j * B + b]);
                        }
                    }
                }
                for k in 0..N_BANDS {
                    gs[S_EQ + k] = (0..B).map(|b| a_heq[b] * sf.dheq[k][b]).sum::<f64>();
                }
                let (dl, dr) = sf.slopes;
                gs[S_PAN] =
                    a_cl * 2.0 * gl * dl + a_cr * 2.0 * gr * dr + a_cx * (dl * gr + gl * dr);
                gs
            })
            .collect();
        for (s, gs) in per_stem.iter().enumerate() {
            grad[s * NS..(s + 1) * NS].copy_from_slice(gs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mix::console::stem::{Class, StereoBuffer};

    fn noise_stem(seed: u64, len: usize, tone_hz: f64, burst: bool) -> Stem {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let sr = 44100.0;
        let mut l = Vec::with_capacity(len);
        let mut r = Vec::with_capacity(len);
        for i in 0..len {
            let t = i as f64 / sr;
            let env = if burst {
                (-(t % 0.25) * 20.0).exp()
            } else {
                1.0
            };
            let tone = (std::f64::consts::TAU * tone_hz * t).sin();
            let n1 = rnd();
            let n2 = rnd();
            l.push((env * (0.3 * tone + 0.2 * n1)) as f32);
            r.push((env * (0.3 * tone + 0.1 * n1 + 0.15 * n2)) as f32);
        }
        Stem {
            name: format!("n{seed}"),
            class: Class::Keys,
            audio: StereoBuffer::new(44100, l, r),
        }
    }

    /// The reverse-mode gradient agrees with central differences for every
    /// parameter, compressors and master included.
    #[test]
    fn gradient_matches_finite_differences() {
        let stems = vec![
            noise_stem(1, 70000, 110.0, true),
            noise_stem(2, 70000, 880.0, false),
            noise_stem(3, 70000, 3000.0, true),
        ];
        let style = StyleConfig {
            fft_size: 8192,
            ..StyleConfig::default()
        };
        let segments = [(0, 35000), (40000, 30000)];
        let an = analyse(&stems, &segments, 1024, &style);
        let grid = &an.grid;
        let comps: Vec<CompFixed> = (0..3)
            .map(|i| CompFixed::new(6.0, 5.0 + 10.0 * i as f64, 80.0, grid))
            .collect();
        let mut target = [0.0; NF];
        for (i, t) in target.iter_mut().enumerate() {
            *t = 0.3 * (i as f64 * 0.7).sin();
        }
        target[F_MID..F_SIDE + B].iter_mut().for_each(|t| *t += 2.0);
        let mut p_mid = [1.5; B];
        let mut p_side = [1.5; B];
        for b in 0..B {
            p_mid[b] = 1.0 + 0.04 * b as f64;
            p_side[b] = 2.0 - 0.03 * b as f64;
        }
        for law in [PanLaw::CONSTANT_POWER, PanLaw::Balance] {
            let model = Model {
                an: &an,
                law,
                comps: comps.clone(),
                master_knee_db: 4.0,
                working_db: -18.0,
                norm_lufs: -18.0,
                weights: AfWeights {
                    rms: 0.1,
                    crest: 0.01,
                    width: 1.0,
                    imbalance: 1.0,
                    bark: 0.1,
                },
                target,
                delta: [0.01; NF],
                p_mid,
                p_side,
                p_peak: if law == PanLaw::Balance { 1.3 } else { 1.8 },
                compress: true,
            };
            let mut x = vec![0.0; 3 * NS + NM];
            for s in 0..3 {
                let o = s * NS;
                x[o + S_GAIN] = -3.0 + 2.0 * s as f64;
                x[o + S_PAN] = [-0.4, 0.3, 0.7][s];
                for k in 0..N_BANDS {
                    x[o + S_EQ + k] = ((s * 7 + k) as f64 * 1.3).sin() * 4.0;
                }
                // Thresholds 8–14 dB under the loud peaks: well inside the
                // compressors' working range.
                x[o + S_THR] = -8.0 - 3.0 * s as f64;
                x[o + S_U] = 0.5;
            }
            let m = 3 * NS;
            for k in 0..N_BANDS {
                x[m + M_EQ + k] = (k as f64 * 0.9).cos() * 3.0;
            }
            x[m + M_THR] = 2.0;
            x[m + M_U] = 0.4;
            x[m + M_ATT] = 3f64.ln();
            x[m + M_REL] = 60f64.ln();
            let mut grad = vec![0.0; x.len()];
            let l0 = model.loss_grad(&x, &mut grad);
            assert!(l0 > 0.0);
            let mut checked_nonzero = 0;
            for i in 0..x.len() {
                let h = if (i < m && i % NS == S_U) || i == m + M_U {
                    1e-5
                } else {
                    1e-4
                };
                let mut xp = x.clone();
                let mut xn = x.clone();
                xp[i] += h;
                xn[i] -= h;
                let mut dummy = vec![0.0; x.len()];
                let fd = (model.loss_grad(&xp, &mut dummy) - model.loss_grad(&xn, &mut dummy))
                    / (2.0 * h);
                // Central differences: O(h²) truncation plus rounding of a
                // loss of order 1, so agreement to 1e-5 relative (1e-8
                // absolute) means the analytic gradient is exact. The gate
                // and compressor-branch decisions are piecewise constant; at
                // these settings no block sits on a branch boundary within h.
                let tol = 1e-5 * fd.abs().max(grad[i].abs()) + 1e-8;
                assert!(
                    (grad[i] - fd).abs() < tol,
                    "{law:?} param {i}: analytic {} vs fd {fd}",
                    grad[i]
                );
                if fd.abs() > 1e-6 {
                    checked_nonzero += 1;
                }
            }
            // Every parameter matters at these settings (no vacuous check).
            assert_eq!(checked_nonzero, x.len(), "{law:?}");
        }
    }

    /// With neutral settings the block band powers add up to the stems'
    /// time-domain energy.
    #[test]
    fn block_powers_track_energies() {
        let stems = vec![
            noise_stem(4, 60000, 200.0, false),
            noise_stem(5, 60000, 2000.0, false),
        ];
        let style = StyleConfig::default();
        let an = analyse(&stems, &[(0, 60000)], 2048, &style);
        let total: f64 =
            an.stems.iter().flat_map(|s| s.e0.iter()).sum::<f64>() / an.grid.n_blocks as f64;
        let direct: f64 = stems
            .iter()
            .map(|s| {
                let n = 60000 / 2048 * 2048;
                s.audio.left[..n]
                    .iter()
                    .chain(&s.audio.right[..n])
                    .map(|x| f64::from(*x).powi(2))
                    .sum::<f64>()
                    / (2.0 * n as f64)
            })
            .sum();
        // Band powers cover 20 Hz–20 kHz with triangular bands whose outer
        // halves taper, and the first and last blocks see half a window:
        // within 10 % of the time-domain mean square.
        assert!((total / direct - 1.0).abs() < 0.1, "{total} vs {direct}");
    }
}
