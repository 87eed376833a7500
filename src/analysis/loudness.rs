//! Loudness and level meters, all incremental (fed block by block):
//!
//! * [`Ebu`]: BS.1770-4 integrated loudness and EBU Tech 3342 loudness range
//!   through the `ebur128` crate (the reference implementation, a port of
//!   libebur128), with the short-signal rule below;
//! * [`TruePeak`]: BS.1770-4 Annex 2 true peak (4× oversampling below
//!   96 kHz), the same interpolation filter as `ebur128`, but it skips blocks
//!   that provably cannot raise the peak, which makes it ~10× cheaper on
//!   real tracks than running the crate's true-peak mode on every sample;
//! * [`GatedMeter`]: BS.1770-4 gated loudness of a signal after an extra
//!   filter chain (the refined loudness). K-weighting and gating are our own,
//!   validated against `ebur128` in the tests, because the refined pass runs
//!   over every track a second time and `ebur128` costs ~10× more.
//!
//! # Signals shorter than one gating block (400 ms)
//! BS.1770 defines no loudness for them (pyloudnorm raises an error). We
//! measure the K-weighted mean square over the whole signal instead, as if
//! the one block were that long, apply the −70 LUFS absolute gate, and say so
//! in a warning.
//!
//! # Mono
//! A mono track plays in both channels of a stereo bus, so by default it is
//! measured as dual mono (+3.01 dB over a single channel), the way BS.1770
//! meters in a DAW read it. [`crate::analysis::Config::mono_as_dual`] turns
//! that off.

use super::filters::{k_weighting, merge_first_order, Biquad};
use ebur128::{Channel, EbuR128, Mode};

/// BS.1770-4 absolute gate, LUFS.
pub const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// BS.1770-4 relative gate, LU below the absolute-gated loudness.
pub const RELATIVE_GATE_LU: f64 = -10.0;
/// BS.1770-4 loudness offset: L = −0.691 + 10·log10(Σ G·z).
pub const LUFS_OFFSET: f64 = -0.691;

/// Loudness (LUFS) of a mean-square energy already summed over channels
/// with their BS.1770 weights; `None` for zero energy.
pub fn energy_to_lufs(e: f64) -> Option<f64> {
    let l = LUFS_OFFSET + 10.0 * e.log10();
    l.is_finite().then_some(l)
}

/// Integrated loudness and loudness range through `ebur128`.
pub struct Ebu {
    meter: EbuR128,
    channels: usize,
    rate: u32,
    frames: u64,
    /// The first 400 ms, kept in case the whole signal is shorter.
    head: Vec<Vec<f32>>,
}

impl Ebu {
    /// A meter for 1 or 2 channels; mono counts twice when `dual_mono`.
    pub fn new(channels: usize, rate: u32, dual_mono: bool) -> Ebu {
        let mut meter = EbuR128::new(channels as u32, rate, Mode::I | Mode::LRA)
            .expect("ebur128 accepts 1-2 channels at any positive rate");
        if channels == 1 && dual_mono {
            meter
                .set_channel(0, Channel::DualMono)
                .expect("channel 0 exists");
        }
        Ebu {
            meter,
            channels,
            rate,
            frames: 0,
            head: vec![Vec::new(); channels],
        }
    }

    /// Adds a planar block.
    pub fn add(&mut self, block: &[&[f32]]) {
        let need = block_len(self.rate).saturating_sub(self.frames as usize);
        if need > 0 {
            for (h, p) in self.head.iter_mut().zip(block) {
                h.extend_from_slice(&p[..need.min(p.len())]);
            }
        }
        self.frames += block[0].len() as u64;
        self.meter
            .add_frames_planar_f32(block)
            .expect("block has the meter's channel count");
    }

    /// Integrated loudness, LUFS, and whether the short-signal rule was used.
    pub fn integrated(&self) -> (Option<f64>, bool) {
        let n = self.frames as usize;
        let block = block_len(self.rate);
        if n >= block {
            let l = self.meter.loudness_global().ok().filter(|l| l.is_finite());
            return (l, false);
        }
        if n == 0 {
            return (None, true);
        }
        // Shorter than one block: measure the zero-padded 400 ms block, whose
        // mean square is the signal's times n/block, and undo that factor.
        let mut meter = EbuR128::new(self.channels as u32, self.rate, Mode::I)
            .expect("same parameters as the main meter");
        let map = self.meter.channel_map().to_vec();
        meter.set_channel_map(&map).expect("same channel count");
        let padded: Vec<Vec<f32>> = self
            .head
            .iter()
            .map(|h| {
                let mut v = h.clone();
                v.resize(block, 0.0);
                v
            })
            .collect();
        let refs: Vec<&[f32]> = padded.iter().map(Vec::as_slice).collect();
        meter.add_frames_planar_f32(&refs).expect("same shape");
        // ebur128 closes a block only once more than 400 ms have arrived;
        // a few more zeros do not change that block's energy.
        let tail: Vec<Vec<f32>> = vec![vec![0.0; 1]; self.channels];
        let tail_refs: Vec<&[f32]> = tail.iter().map(Vec::as_slice).collect();
        let _ = meter.add_frames_planar_f32(&tail_refs);
        let padded_l = meter.loudness_global().ok().filter(|l| l.is_finite());
        let l = padded_l
            .map(|l| l + 10.0 * (block as f64 / n as f64).log10())
            .filter(|&l| l > ABSOLUTE_GATE_LUFS);
        (l, true)
    }

    /// Loudness range, LU; `None` when shorter than one 3 s short-term block.
    pub fn range(&self) -> Option<f64> {
        if self.frames < 3 * u64::from(self.rate) {
            return None;
        }
        self.meter.loudness_range().ok().filter(|l| l.is_finite())
    }
}

/// Frames in one 400 ms gating block.
pub fn block_len(rate: u32) -> usize {
    (f64::from(rate) * 0.4).round() as usize
}

/// BS.1770-4 gated loudness of `x` after `pre` filters and K-weighting,
/// computed incrementally from 100 ms sub-block energies.
pub struct GatedMeter {
    chains: Vec<Vec<Biquad>>,
    /// Channel weights: 1 for left/right, 2 for dual mono.
    weight: f64,
    step: usize,
    pos_in_step: usize,
    acc: f64,
    /// Energy (sum of weighted squares) of each complete 100 ms sub-block.
    steps: Vec<f64>,
    frames: u64,
    rate: u32,
}

impl GatedMeter {
    /// A meter for `channels` (1 or 2) at `rate` with `pre` filters before
    /// K-weighting.
    pub fn new(channels: usize, rate: u32, pre: &[Biquad], dual_mono: bool) -> GatedMeter {
        let k = k_weighting(f64::from(rate));
        let mut chain: Vec<Biquad> = merge_first_order(pre);
        chain.extend_from_slice(&k);
        GatedMeter {
            chains: vec![chain; channels],
            weight: if channels == 1 && dual_mono { 2.0 } else { 1.0 },
            step: (f64::from(rate) * 0.1).round().max(1.0) as usize,
            pos_in_step: 0,
            acc: 0.0,
            steps: Vec::new(),
            frames: 0,
            rate,
        }
    }

    /// Adds a planar block.
    pub fn add(&mut self, block: &[&[f32]]) {
        let n = block[0].len();
        let mut start = 0;
        while start < n {
            let take = (self.step - self.pos_in_step).min(n - start);
            match (self.chains.as_mut_slice(), block) {
                ([cl, cr], [l, r, ..]) => {
                    let (l, r) = (&l[start..start + take], &r[start..start + take]);
                    self.acc += filter_energy2(cl, cr, l, r);
                }
                (chains, _) => {
                    for (chain, plane) in chains.iter_mut().zip(block) {
                        self.acc += filter_energy(chain, &plane[start..start + take]);
                    }
                }
            }
            self.pos_in_step += take;
            start += take;
            if self.pos_in_step == self.step {
                self.steps.push(self.acc * self.weight);
                self.acc = 0.0;
                self.pos_in_step = 0;
            }
        }
        self.frames += n as u64;
    }

    /// Gated loudness, LUFS; `None` for silence. The flag is true when the
    /// signal was shorter than one block (see the module docs).
    pub fn integrated(&self) -> (Option<f64>, bool) {
        let per_block = 4 * self.step;
        if self.steps.len() < 4 {
            let total: f64 = self.steps.iter().sum::<f64>() + self.acc * self.weight;
            if self.frames == 0 {
                return (None, true);
            }
            let l = energy_to_lufs(total / self.frames as f64).filter(|&l| l > ABSOLUTE_GATE_LUFS);
            return (l, true);
        }
        let blocks: Vec<f64> = self
            .steps
            .windows(4)
            .map(|w| w.iter().sum::<f64>() / per_block as f64)
            .collect();
        (gate(&blocks), false)
    }

    /// Sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }
}

/// Runs `x` through `chain` and returns the sum of squares of the output.
#[inline]
fn filter_energy(chain: &mut [Biquad], x: &[f32]) -> f64 {
    let mut acc = 0.0;
    match chain {
        // The common refined chain (merged band-pass, shelf, RLB) and plain
        // K-weighting get unrolled loops: the sections of consecutive samples
        // then overlap in the pipeline.
        [a, b, c] => {
            for &s in x {
                let y = c.tick(b.tick(a.tick(f64::from(s))));
                acc += y * y;
            }
        }
        [a, b] => {
            for &s in x {
                let y = b.tick(a.tick(f64::from(s)));
                acc += y * y;
            }
        }
        _ => {
            for &s in x {
                let mut y = f64::from(s);
                for q in chain.iter_mut() {
                    y = q.tick(y);
                }
                acc += y * y;
            }
        }
    }
    acc
}

/// [`filter_energy`] for two channels at once: the two channels' recursions
/// are independent, so interleaving them doubles the work per cycle of an
/// IIR loop that is otherwise latency-bound.
#[inline]
fn filter_energy2(cl: &mut [Biquad], cr: &mut [Biquad], l: &[f32], r: &[f32]) -> f64 {
    let (mut al, mut ar) = (0.0, 0.0);
    match (cl, cr) {
        // Refined chain with merged band-pass: band, shelf, RLB.
        ([a, b, c], [d, e, f]) => {
            for (&x, &y) in l.iter().zip(r) {
                let u = c.tick(b.tick(a.tick(f64::from(x))));
                let v = f.tick(e.tick(d.tick(f64::from(y))));
                al += u * u;
                ar += v * v;
            }
        }
        ([a, b], [d, e]) => {
            for (&x, &y) in l.iter().zip(r) {
                let u = b.tick(a.tick(f64::from(x)));
                let v = e.tick(d.tick(f64::from(y)));
                al += u * u;
                ar += v * v;
            }
        }
        (cl, cr) => {
            al = filter_energy(cl, l);
            ar = filter_energy(cr, r);
        }
    }
    al + ar
}

/// BS.1770-4 two-stage gating over 400 ms block energies.
pub fn gate(blocks: &[f64]) -> Option<f64> {
    let abs_gate = 10f64.powf((ABSOLUTE_GATE_LUFS - LUFS_OFFSET) / 10.0);
    let above: Vec<f64> = blocks.iter().copied().filter(|&z| z > abs_gate).collect();
    if above.is_empty() {
        return None;
    }
    let mean = above.iter().sum::<f64>() / above.len() as f64;
    let rel_gate = mean * 10f64.powf(RELATIVE_GATE_LU / 10.0);
    let (sum, count) = above
        .iter()
        .filter(|&&z| z > rel_gate)
        .fold((0.0, 0usize), |(s, c), &z| (s + z, c + 1));
    if count == 0 {
        return None;
    }
    energy_to_lufs(sum / count as f64)
}

/// Taps of the true-peak interpolation filter (as `ebur128`/libebur128).
const TP_TAPS: usize = 48;

/// BS.1770-4 true-peak meter for one channel.
pub struct TruePeak {
    factor: usize,
    /// `coefs[t·factor + p]`: coefficient of input `x[n − t]` for output
    /// phase `p`.
    coefs: Vec<f32>,
    /// Upper bound of |output| / max|input| over any phase (the L1 norm).
    gain_bound: f32,
    /// The last `taps − 1` input samples.
    history: Vec<f32>,
    ext: Vec<f32>,
    peak: f32,
}

impl TruePeak {
    /// A meter at `rate`: 4× oversampling below 96 kHz, 2× below 192 kHz,
    /// none above (the sample peak is then the true peak).
    pub fn new(rate: u32) -> TruePeak {
        let factor = if rate < 96_000 {
            4
        } else if rate < 192_000 {
            2
        } else {
            1
        };
        let taps = TP_TAPS / factor;
        let mut phases = vec![vec![0f32; taps]; factor];
        if factor > 1 {
            // Hann-windowed sinc with the cut-off at the original Nyquist,
            // coefficient j = tap·factor + phase, exactly as ebur128 builds it.
            let window = TP_TAPS as f64;
            for tap in 0..taps {
                for (p, phase) in phases.iter_mut().enumerate() {
                    let j = (tap * factor + p) as f64;
                    let w = 0.5 * (1.0 - (2.0 * std::f64::consts::PI * j / window).cos());
                    let m = j - window / 2.0;
                    let x = m * std::f64::consts::PI / factor as f64;
                    phase[tap] = if m.abs() > 1e-6 { w * x.sin() / x } else { w } as f32;
                }
            }
        } else {
            phases[0] = vec![1.0];
        }
        let gain_bound = phases
            .iter()
            .map(|p| p.iter().map(|c| c.abs()).sum::<f32>())
            .fold(0.0, f32::max);
        let hist = phases[0].len() - 1;
        let coefs = (0..taps)
            .flat_map(|t| phases.iter().map(move |p| p[t]))
            .collect();
        TruePeak {
            factor,
            coefs,
            gain_bound: gain_bound * 1.000_01,
            history: vec![0.0; hist],
            ext: Vec::new(),
            peak: 0.0,
        }
    }

    /// Adds samples of this channel.
    pub fn add(&mut self, x: &[f32]) {
        // Small chunks let the bound below skip the quiet stretches between
        // the loud moments of a track.
        for chunk in x.chunks(256) {
            self.add_chunk(chunk);
        }
    }

    fn add_chunk(&mut self, x: &[f32]) {
        let h = self.history.len();
        // Cheap bound first: the interpolated signal over this chunk depends
        // only on these samples and the history, and cannot exceed their
        // peak times the filter's L1 norm.
        let local = x
            .iter()
            .chain(&self.history)
            .fold(0f32, |m, &s| m.max(s.abs()));
        if self.factor == 1 {
            self.peak = self.peak.max(local);
        } else if local * self.gain_bound > self.peak {
            self.ext.clear();
            self.ext.extend_from_slice(&self.history);
            self.ext.extend_from_slice(x);
            let m = match self.factor {
                4 => peak_kernel::<4>(&self.coefs, &self.ext, h, x.len()),
                _ => peak_kernel::<2>(&self.coefs, &self.ext, h, x.len()),
            };
            self.peak = self.peak.max(m);
        }
        if h > 0 {
            if x.len() >= h {
                self.history.copy_from_slice(&x[x.len() - h..]);
            } else {
                self.history.rotate_left(x.len());
                let start = h - x.len();
                self.history[start..].copy_from_slice(x);
            }
        }
    }

    /// The true peak so far, linear.
    pub fn peak(&self) -> f32 {
        self.peak
    }
}

/// The largest |output| of the `P`-phase interpolator over `n` inputs;
/// `ext` holds the `h` previous inputs, then the new ones. Eight outputs
/// per phase are accumulated in registers and each input is loaded once
/// per tap for all phases, which the compiler turns into packed FMAs.
fn peak_kernel<const P: usize>(coefs: &[f32], ext: &[f32], h: usize, n: usize) -> f32 {
    let taps = coefs.len() / P;
    let mut m = 0f32;
    let mut i = 0;
    while i + 8 <= n {
        let mut acc = [[0f32; 8]; P];
        for t in 0..taps {
            let s: &[f32; 8] = ext[i + h - t..i + h - t + 8]
                .try_into()
                .expect("eight samples");
            let c: &[f32; P] = coefs[t * P..t * P + P].try_into().expect("P coefficients");
            for p in 0..P {
                for k in 0..8 {
                    acc[p][k] += c[p] * s[k];
                }
            }
        }
        for row in &acc {
            for v in row {
                m = m.max(v.abs());
            }
        }
        i += 8;
    }
    for i in i..n {
        for p in 0..P {
            let mut y = 0f32;
            for t in 0..taps {
                y += coefs[t * P + p] * ext[i + h - t];
            }
            m = m.max(y.abs());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / 16_777_216.0 - 0.5
            })
            .collect()
    }

    fn sine(f: f64, amp: f64, rate: u32, secs: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * f * i as f64 / f64::from(rate)).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn gated_meter_agrees_with_ebur128() {
        // Our gating and K-weighting must reproduce the reference within
        // 0.01 LU (block alignment at the end differs by < 100 ms of audio).
        let rate = 48_000;
        let mut l = noise(rate as usize * 7, 1);
        let r = sine(440.0, 0.3, rate, 7.0);
        // A quiet second half exercises the relative gate.
        for v in &mut l[rate as usize * 4..] {
            *v *= 0.05;
        }
        let mut ours = GatedMeter::new(2, rate, &[], true);
        let mut theirs = EbuR128::new(2, rate, Mode::I).unwrap();
        for (a, b) in l.chunks(3000).zip(r.chunks(3000)) {
            ours.add(&[a, b]);
            theirs.add_frames_planar_f32(&[a, b]).unwrap();
        }
        let want = theirs.loudness_global().unwrap();
        let got = ours.integrated().0.unwrap();
        assert!((got - want).abs() < 0.01, "ours {got} vs ebur128 {want}");
    }

    #[test]
    fn true_peak_agrees_with_ebur128_and_skipping_changes_nothing() {
        for rate in [44_100u32, 48_000, 96_000] {
            let mut x = noise(rate as usize * 2, 7);
            // An inter-sample over: a sine at fs/4 with a 45° phase peaks
            // between samples.
            for (i, v) in x.iter_mut().enumerate().skip(rate as usize) {
                let ph = std::f64::consts::PI / 2.0 * i as f64 + std::f64::consts::PI / 4.0;
                *v = 0.1 * *v + 0.8 * ph.sin() as f32;
            }
            let mut ours = TruePeak::new(rate);
            for c in x.chunks(1000) {
                ours.add(c);
            }
            let mut theirs = EbuR128::new(1, rate, Mode::TRUE_PEAK).unwrap();
            theirs.add_frames_f32(&x).unwrap();
            let want = theirs.true_peak(0).unwrap();
            // Both are f32 filters with the same taps; summation order
            // differs, so allow a few ulps relative.
            assert!(
                (f64::from(ours.peak()) - want).abs() < 1e-5,
                "{rate}: ours {} vs ebur128 {want}",
                ours.peak()
            );
        }
    }

    #[test]
    fn short_signal_uses_whole_signal_energy() {
        // 200 ms of a 1 kHz sine at −20 dBFS peak, stereo: the steady-state
        // loudness of that sine is −19.99 LUFS (ebur128 on a long signal);
        // the short rule must give the same value within 0.1 LU (the
        // K-filter start-up transient is part of the 200 ms).
        let rate = 48_000;
        let s = sine(1000.0, 0.1, rate, 0.2);
        let mut m = Ebu::new(2, rate, true);
        m.add(&[&s, &s]);
        let (l, short) = m.integrated();
        assert!(short);
        let l = l.unwrap();
        assert!((l + 19.99).abs() < 0.1, "{l}");
        let mut g = GatedMeter::new(2, rate, &[], true);
        g.add(&[&s, &s]);
        let (gl, gshort) = g.integrated();
        assert!(gshort);
        assert!((gl.unwrap() - l).abs() < 0.05);
    }

    #[test]
    fn silence_has_no_loudness() {
        let z = vec![0f32; 48_000];
        let mut m = Ebu::new(1, 48_000, true);
        m.add(&[&z]);
        assert_eq!(m.integrated().0, None);
        let mut g = GatedMeter::new(1, 48_000, &[], true);
        g.add(&[&z]);
        assert_eq!(g.integrated().0, None);
    }
}
