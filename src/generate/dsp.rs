//! DSP building blocks for the synthesiser: filters, oscillators, envelopes,
//! a plucked string, formant resonators, a small reverb.
//!
//! Everything processes `f32` samples (what the WAV files hold) and computes
//! coefficients in `f64`. Nothing allocates after construction, so a voice
//! or effect can run for 300 s in constant memory.

use super::rng::Noise;
use std::f64::consts::{PI, TAU};

/// Keeps a filter frequency where the bilinear designs behave, whatever the
/// sample rate (the generator accepts 22.05–192 kHz).
fn clamp_hz(sr: f64, hz: f64) -> f64 {
    hz.clamp(5.0, 0.45 * sr)
}

/// Per-sample multiplier of an exponential decay with time constant `tau_s`
/// (the level falls by 60 dB in about 6.9 τ).
pub(crate) fn decay_coef(sr: f64, tau_s: f64) -> f32 {
    (-1.0 / (tau_s.max(1e-5) * sr)).exp() as f32
}

/// Smoothing factor of a one-pole follower updated every `every` samples.
pub(crate) fn smooth_coef(sr: f64, tau_s: f64, every: usize) -> f64 {
    1.0 - (-(every as f64) / (tau_s.max(1e-5) * sr)).exp()
}

/// MIDI note number to Hz (A4 = 69 = 440 Hz).
pub(crate) fn midi_hz(midi: f64) -> f64 {
    440.0 * ((midi - 69.0) / 12.0).exp2()
}

/// dB to linear amplitude.
pub(crate) fn db(gain_db: f64) -> f64 {
    10f64.powf(gain_db / 20.0)
}

/// Constant-power pan law: −1 (left) … +1 (right) to channel gains, with
/// 0 dB in both channels at the centre (so a centred mono voice in a stereo
/// track is as loud per channel as it is in a mono track).
pub(crate) fn pan_gains(pan: f64) -> [f32; 2] {
    let theta = (pan.clamp(-1.0, 1.0) + 1.0) * PI / 4.0;
    let k = std::f64::consts::SQRT_2;
    [(theta.cos() * k) as f32, (theta.sin() * k) as f32]
}

/// Soft clipper: a rational approximation of tanh, exact at ±3 where it
/// reaches ±1; cheap and smooth, like an overdriven amplifier stage.
#[inline(always)]
pub(crate) fn soft_clip(x: f32) -> f32 {
    let x = x.clamp(-3.0, 3.0);
    x * (27.0 + x * x) / (27.0 + 9.0 * x * x)
}

/// Flushes values too small to matter to zero, so recursive filters fed with
/// silence never spend time on denormal arithmetic.
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x > -1e-20 && x < 1e-20 {
        0.0
    } else {
        x
    }
}

/// A second-order IIR section (RBJ Audio EQ Cookbook designs), transposed
/// direct form II.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Biquad {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
    z1: f32,
    z2: f32,
}

impl Biquad {
    fn normalised(b: [f64; 3], a: [f64; 3]) -> Biquad {
        let inv = 1.0 / a[0];
        Biquad {
            b0: (b[0] * inv) as f32,
            b1: (b[1] * inv) as f32,
            b2: (b[2] * inv) as f32,
            a1: (a[1] * inv) as f32,
            a2: (a[2] * inv) as f32,
            z1: 0.0,
            z2: 0.0,
        }
    }

    fn w(sr: f64, hz: f64) -> (f64, f64) {
        let w = TAU * clamp_hz(sr, hz) / sr;
        w.sin_cos()
    }

    /// A filter that passes everything unchanged.
    pub(crate) fn identity() -> Biquad {
        Biquad::normalised([1.0, 0.0, 0.0], [1.0, 0.0, 0.0])
    }

    pub(crate) fn lowpass(sr: f64, hz: f64, q: f64) -> Biquad {
        let (s, c) = Biquad::w(sr, hz);
        let alpha = s / (2.0 * q);
        Biquad::normalised(
            [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0],
            [1.0 + alpha, -2.0 * c, 1.0 - alpha],
        )
    }

    pub(crate) fn highpass(sr: f64, hz: f64, q: f64) -> Biquad {
        let (s, c) = Biquad::w(sr, hz);
        let alpha = s / (2.0 * q);
        Biquad::normalised(
            [(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0],
            [1.0 + alpha, -2.0 * c, 1.0 - alpha],
        )
    }

    /// Band-pass with 0 dB gain at the centre.
    pub(crate) fn bandpass(sr: f64, hz: f64, q: f64) -> Biquad {
        let (s, c) = Biquad::w(sr, hz);
        let alpha = s / (2.0 * q);
        Biquad::normalised([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    pub(crate) fn peaking(sr: f64, hz: f64, q: f64, gain_db: f64) -> Biquad {
        let (s, c) = Biquad::w(sr, hz);
        let a = 10f64.powf(gain_db / 40.0);
        let alpha = s / (2.0 * q);
        Biquad::normalised(
            [1.0 + alpha * a, -2.0 * c, 1.0 - alpha * a],
            [1.0 + alpha / a, -2.0 * c, 1.0 - alpha / a],
        )
    }

    /// Low shelf with slope S = 1.
    pub(crate) fn low_shelf(sr: f64, hz: f64, gain_db: f64) -> Biquad {
        let (s, c) = Biquad::w(sr, hz);
        let a = 10f64.powf(gain_db / 40.0);
        let k = 2.0 * a.sqrt() * s / std::f64::consts::SQRT_2;
        Biquad::normalised(
            [
                a * ((a + 1.0) - (a - 1.0) * c + k),
                2.0 * a * ((a - 1.0) - (a + 1.0) * c),
                a * ((a + 1.0) - (a - 1.0) * c - k),
            ],
            [
                (a + 1.0) + (a - 1.0) * c + k,
                -2.0 * ((a - 1.0) + (a + 1.0) * c),
                (a + 1.0) + (a - 1.0) * c - k,
            ],
        )
    }

    /// High shelf with slope S = 1.
    pub(crate) fn high_shelf(sr: f64, hz: f64, gain_db: f64) -> Biquad {
        let (s, c) = Biquad::w(sr, hz);
        let a = 10f64.powf(gain_db / 40.0);
        let k = 2.0 * a.sqrt() * s / std::f64::consts::SQRT_2;
        Biquad::normalised(
            [
                a * ((a + 1.0) + (a - 1.0) * c + k),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * c),
                a * ((a + 1.0) + (a - 1.0) * c - k),
            ],
            [
                (a + 1.0) - (a - 1.0) * c + k,
                2.0 * ((a - 1.0) - (a + 1.0) * c),
                (a + 1.0) - (a - 1.0) * c - k,
            ],
        )
    }

    /// Takes `other`'s coefficients and keeps this filter's state: how a
    /// swept filter changes frequency without clicks.
    pub(crate) fn retune(&mut self, other: Biquad) {
        self.b0 = other.b0;
        self.b1 = other.b1;
        self.b2 = other.b2;
        self.a1 = other.a1;
        self.a2 = other.a2;
    }

    #[inline(always)]
    pub(crate) fn process(&mut self, x: f32) -> f32 {
        let y = self.b0 * x + self.z1;
        self.z1 = self.b1 * x - self.a1 * y + self.z2;
        self.z2 = self.b2 * x - self.a2 * y;
        y
    }

    pub(crate) fn run(&mut self, buf: &mut [f32]) {
        for x in buf.iter_mut() {
            *x = self.process(*x);
        }
        self.z1 = flush(self.z1);
        self.z2 = flush(self.z2);
    }
}

/// A one-pole low-pass (6 dB/oct): tone controls, spectral tilt, smoothing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OnePole {
    a: f32,
    y: f32,
}

impl OnePole {
    pub(crate) fn lowpass(sr: f64, hz: f64) -> OnePole {
        OnePole {
            a: (1.0 - (-TAU * clamp_hz(sr, hz) / sr).exp()) as f32,
            y: 0.0,
        }
    }

    #[inline(always)]
    pub(crate) fn process(&mut self, x: f32) -> f32 {
        self.y += self.a * (x - self.y);
        self.y
    }
}

/// Removes DC (a one-zero, one-pole high-pass near 10 Hz). Plucked strings
/// and asymmetric distortion drift otherwise.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DcBlocker {
    r: f32,
    x1: f32,
    y1: f32,
}

impl DcBlocker {
    pub(crate) fn new(sr: f64) -> DcBlocker {
        DcBlocker {
            r: (1.0 - TAU * 10.0 / sr) as f32,
            x1: 0.0,
            y1: 0.0,
        }
    }

    #[inline(always)]
    pub(crate) fn process(&mut self, x: f32) -> f32 {
        let y = x - self.x1 + self.r * self.y1;
        self.x1 = x;
        self.y1 = flush(y);
        y
    }
}

/// PolyBLEP correction for a unit step at phase 0 (Välimäki & Huovilainen):
/// removes most of the aliasing of naive saw and square waves for the cost
/// of two comparisons per sample.
#[inline(always)]
fn poly_blep(t: f64, dt: f64) -> f64 {
    if t < dt {
        let t = t / dt;
        2.0 * t - t * t - 1.0
    } else if t > 1.0 - dt {
        let t = (t - 1.0) / dt;
        t * t + 2.0 * t + 1.0
    } else {
        0.0
    }
}

/// A phase-accumulator oscillator with band-limited saw and square outputs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Osc {
    phase: f64,
    inc: f64,
}

impl Osc {
    pub(crate) fn new(sr: f64, hz: f64, phase: f64) -> Osc {
        let mut o = Osc {
            phase: phase.rem_euclid(1.0),
            inc: 0.0,
        };
        o.set_freq(sr, hz);
        o
    }

    pub(crate) fn set_freq(&mut self, sr: f64, hz: f64) {
        self.inc = (hz / sr).clamp(0.0, 0.45);
    }

    #[inline(always)]
    fn advance(&mut self) {
        self.phase += self.inc;
        if self.phase >= 1.0 {
            self.phase -= 1.0;
        }
    }

    #[inline(always)]
    pub(crate) fn saw(&mut self) -> f32 {
        let v = 2.0 * self.phase - 1.0 - poly_blep(self.phase, self.inc);
        self.advance();
        v as f32
    }

    #[inline(always)]
    pub(crate) fn square(&mut self) -> f32 {
        let t = self.phase;
        let mut v = if t < 0.5 { 1.0 } else { -1.0 };
        v += poly_blep(t, self.inc);
        // The falling edge, half a period later (cheaper than rem_euclid).
        let t2 = if t < 0.5 { t + 0.5 } else { t - 0.5 };
        v -= poly_blep(t2, self.inc);
        self.advance();
        v as f32
    }

    #[inline(always)]
    pub(crate) fn sine(&mut self) -> f32 {
        let v = (self.phase * TAU).sin();
        self.advance();
        v as f32
    }
}

/// A fixed-frequency sine made by rotating a complex phasor: four
/// multiplications per sample instead of a `sin` call, which matters for
/// additive instruments with dozens of partials. Each partial decays
/// exponentially on its own (piano strings lose high partials first).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Partial {
    re: f32,
    im: f32,
    c: f32,
    s: f32,
    pub(crate) amp: f32,
    decay: f32,
}

impl Partial {
    pub(crate) fn new(sr: f64, hz: f64, amp: f32, tau_s: f64, phase: f64) -> Partial {
        let (s, c) = (TAU * hz / sr).sin_cos();
        let (im, re) = (TAU * phase).sin_cos();
        Partial {
            re: re as f32,
            im: im as f32,
            c: c as f32,
            s: s as f32,
            amp,
            decay: if tau_s.is_finite() {
                decay_coef(sr, tau_s)
            } else {
                1.0
            },
        }
    }

    #[inline(always)]
    pub(crate) fn next(&mut self) -> f32 {
        let re = self.re * self.c - self.im * self.s;
        self.im = self.re * self.s + self.im * self.c;
        self.re = re;
        self.amp *= self.decay;
        self.amp * self.im
    }

    /// Rounding makes the phasor's magnitude drift by about 1e-7 per sample;
    /// renormalising once per block keeps it at 1 indefinitely.
    pub(crate) fn renormalise(&mut self) {
        let m = (self.re * self.re + self.im * self.im).sqrt();
        if m > 0.0 {
            self.re /= m;
            self.im /= m;
        }
    }

    pub(crate) fn set_decay(&mut self, sr: f64, tau_s: f64) {
        self.decay = decay_coef(sr, tau_s);
    }
}

/// Envelope stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Attack,
    Decay,
    Release,
}

/// Attack (linear) – decay (exponential to the sustain level) – release
/// (exponential), with the gate length known up front, as for a note whose
/// duration is written in the part.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Adsr {
    stage: Stage,
    level: f32,
    attack_step: f32,
    decay: f32,
    sustain: f32,
    release: f32,
    gate: u64,
}

impl Adsr {
    pub(crate) fn new(
        sr: f64,
        attack_s: f64,
        decay_tau_s: f64,
        sustain: f32,
        release_tau_s: f64,
        gate: u64,
    ) -> Adsr {
        Adsr {
            stage: Stage::Attack,
            level: 0.0,
            attack_step: (1.0 / (attack_s.max(1e-4) * sr)) as f32,
            decay: decay_coef(sr, decay_tau_s),
            sustain,
            release: decay_coef(sr, release_tau_s),
            gate,
        }
    }

    #[inline(always)]
    pub(crate) fn next(&mut self) -> f32 {
        match self.stage {
            Stage::Attack => {
                self.level += self.attack_step;
                if self.level >= 1.0 {
                    self.level = 1.0;
                    self.stage = Stage::Decay;
                }
            }
            Stage::Decay => self.level = self.sustain + (self.level - self.sustain) * self.decay,
            Stage::Release => self.level *= self.release,
        }
        if self.stage != Stage::Release {
            if self.gate == 0 {
                self.stage = Stage::Release;
            } else {
                self.gate -= 1;
            }
        }
        self.level
    }

    /// Ends the note now, releasing with time constant `tau_s`.
    pub(crate) fn release_now(&mut self, sr: f64, tau_s: f64) {
        self.stage = Stage::Release;
        self.release = decay_coef(sr, tau_s);
    }

    /// Released and below −60 dB: inaudible under the next notes, and
    /// ending tails there keeps long releases from piling up voices.
    pub(crate) fn finished(&self) -> bool {
        self.stage == Stage::Release && self.level < 1e-3
    }
}

/// A plucked string by the Karplus–Strong algorithm with Jaffe–Smith
/// extensions: a delay line of one period, a two-point average in the loop
/// (strings lose highs faster than lows), a first-order all-pass for the
/// fractional part of the period (so chords are in tune), and a loop gain
/// set from the wanted T60.
#[derive(Clone, Debug)]
pub(crate) struct KsString {
    buf: Vec<f32>,
    pos: usize,
    prev: f32,
    ap_c: f32,
    ap_x1: f32,
    ap_y1: f32,
    gain: f32,
    period_s: f64,
}

impl KsString {
    /// `brightness` 0…1 shapes the pluck (a soft finger to a hard pick);
    /// `pick` 0…0.5 is the plucking position as a fraction of the string,
    /// which notches the harmonics that have a node there.
    pub(crate) fn new(
        sr: f64,
        hz: f64,
        t60_s: f64,
        brightness: f32,
        pick: f32,
        amp: f32,
        noise: &mut Noise,
    ) -> KsString {
        let period = sr / hz.clamp(20.0, sr / 8.0);
        // The two-point average delays by half a sample; the all-pass takes
        // the fraction, kept in [0.1, 1.1) where its phase delay is flat.
        let d = period - 0.5;
        let n = ((d - 0.1).floor() as usize).max(2);
        let frac = d - n as f64;
        let ap_c = ((1.0 - frac) / (1.0 + frac)) as f32;
        let mut lp = OnePole::lowpass(sr, 800.0 + 9000.0 * f64::from(brightness));
        let mut buf: Vec<f32> = (0..n).map(|_| lp.process(noise.next())).collect();
        let m = ((f64::from(pick) * n as f64).round() as usize).clamp(1, n - 1);
        let orig = buf.clone();
        for (i, x) in buf.iter_mut().enumerate() {
            *x -= orig[(i + m) % n];
        }
        let mean = buf.iter().sum::<f32>() / n as f32;
        let peak = buf.iter().fold(0.0f32, |p, x| p.max((x - mean).abs()));
        let scale = if peak > 0.0 { amp / peak } else { 0.0 };
        for x in &mut buf {
            *x = (*x - mean) * scale;
        }
        let period_s = period / sr;
        KsString {
            buf,
            pos: 0,
            prev: 0.0,
            ap_c,
            ap_x1: 0.0,
            ap_y1: 0.0,
            gain: KsString::loop_gain(period_s, t60_s),
            period_s,
        }
    }

    fn loop_gain(period_s: f64, t60_s: f64) -> f32 {
        10f64.powf(-3.0 * period_s / t60_s.max(1e-3)) as f32
    }

    /// Changes the decay time (a palm mute or a chord change choking the
    /// string).
    pub(crate) fn set_t60(&mut self, t60_s: f64) {
        self.gain = KsString::loop_gain(self.period_s, t60_s);
    }

    #[inline(always)]
    pub(crate) fn next(&mut self) -> f32 {
        let y = self.buf[self.pos];
        let avg = 0.5 * (y + self.prev);
        self.prev = y;
        let ap = self.ap_c * avg + self.ap_x1 - self.ap_c * self.ap_y1;
        self.ap_x1 = avg;
        self.ap_y1 = ap;
        self.buf[self.pos] = flush(ap * self.gain);
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        y
    }
}

/// A two-pole resonator with unity gain at DC (Klatt 1980): the formant
/// filter of the voice synthesiser. Cascading them gives the vowel's
/// spectral envelope with correct relative formant levels.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Resonator {
    a: f32,
    b: f32,
    c: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    pub(crate) fn set(&mut self, sr: f64, hz: f64, bw: f64) {
        let hz = clamp_hz(sr, hz);
        let c = -(-TAU * bw / sr).exp();
        let b = 2.0 * (-PI * bw / sr).exp() * (TAU * hz / sr).cos();
        self.a = (1.0 - b - c) as f32;
        self.b = b as f32;
        self.c = c as f32;
    }

    #[inline(always)]
    pub(crate) fn process(&mut self, x: f32) -> f32 {
        let y = self.a * x + self.b * self.y1 + self.c * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }

    pub(crate) fn settle(&mut self) {
        self.y1 = flush(self.y1);
        self.y2 = flush(self.y2);
    }
}

/// An integer delay line.
#[derive(Clone, Debug)]
pub(crate) struct Delay {
    buf: Vec<f32>,
    pos: usize,
}

impl Delay {
    pub(crate) fn new(samples: usize) -> Delay {
        Delay {
            buf: vec![0.0; samples.max(1)],
            pos: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn process(&mut self, x: f32) -> f32 {
        let y = self.buf[self.pos];
        self.buf[self.pos] = x;
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        y
    }
}

/// Freeverb's damped comb filter.
#[derive(Clone, Debug)]
struct Comb {
    buf: Vec<f32>,
    pos: usize,
    feedback: f32,
    damp: f32,
    store: f32,
}

impl Comb {
    #[inline(always)]
    fn process(&mut self, x: f32) -> f32 {
        let y = self.buf[self.pos];
        self.store = flush(y * (1.0 - self.damp) + self.store * self.damp);
        self.buf[self.pos] = x + self.store * self.feedback;
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        y
    }
}

/// Freeverb's Schroeder all-pass.
#[derive(Clone, Debug)]
struct Allpass {
    buf: Vec<f32>,
    pos: usize,
}

impl Allpass {
    #[inline(always)]
    fn process(&mut self, x: f32) -> f32 {
        let b = self.buf[self.pos];
        let y = b - x;
        self.buf[self.pos] = flush(x + b * 0.5);
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        y
    }
}

/// A small stereo reverb after Jezar's Freeverb (public domain): four
/// damped combs and two all-passes per channel, with the right channel's
/// delays offset so the two outputs are decorrelated. Enough for a drum room
/// or a vocal plate; the reference mix uses it for depth.
#[derive(Clone, Debug)]
pub(crate) struct Reverb {
    combs: [Vec<Comb>; 2],
    allpasses: [Vec<Allpass>; 2],
}

impl Reverb {
    /// `size` scales the delay lengths (1 = Freeverb's hall-ish room);
    /// `feedback` sets the decay, `damp` 0…1 how quickly highs die.
    pub(crate) fn new(sr: f64, size: f64, feedback: f32, damp: f32) -> Reverb {
        const COMBS: [usize; 4] = [1116, 1188, 1277, 1356];
        const ALLPASSES: [usize; 2] = [556, 441];
        const SPREAD: usize = 23;
        let scale = sr / 44_100.0 * size;
        let len = |n: usize| ((n as f64 * scale).round() as usize).max(8);
        let mk = |offset: usize| {
            let combs = COMBS
                .iter()
                .map(|&n| Comb {
                    buf: vec![0.0; len(n + offset)],
                    pos: 0,
                    feedback,
                    damp,
                    store: 0.0,
                })
                .collect();
            let aps = ALLPASSES
                .iter()
                .map(|&n| Allpass {
                    buf: vec![0.0; len(n + offset)],
                    pos: 0,
                })
                .collect();
            (combs, aps)
        };
        let (cl, al) = mk(0);
        let (cr, ar) = mk(SPREAD);
        Reverb {
            combs: [cl, cr],
            allpasses: [al, ar],
        }
    }

    /// The wet signal of channel `ch` (0 or 1) for input sample `x`.
    #[inline(always)]
    pub(crate) fn process(&mut self, ch: usize, x: f32) -> f32 {
        let input = x * 0.015;
        let mut y = 0.0;
        for c in &mut self.combs[ch] {
            y += c.process(input);
        }
        for a in &mut self.allpasses[ch] {
            y = a.process(y);
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_gain(mut f: Biquad, sr: f64, hz: f64) -> f64 {
        let n = (sr * 0.5) as usize;
        let mut peak = 0.0f64;
        for i in 0..n {
            let x = (TAU * hz * i as f64 / sr).sin() as f32;
            let y = f.process(x);
            if i > n / 2 {
                peak = peak.max(f64::from(y.abs()));
            }
        }
        peak
    }

    #[test]
    fn filters_pass_and_stop_where_designed() {
        let sr = 48_000.0;
        assert!(tone_gain(Biquad::lowpass(sr, 500.0, 0.707), sr, 100.0) > 0.95);
        assert!(tone_gain(Biquad::lowpass(sr, 500.0, 0.707), sr, 5000.0) < 0.02);
        assert!(tone_gain(Biquad::highpass(sr, 5000.0, 0.707), sr, 500.0) < 0.02);
        let bp = tone_gain(Biquad::bandpass(sr, 1000.0, 2.0), sr, 1000.0);
        assert!((bp - 1.0).abs() < 0.02, "{bp}");
        let pk = tone_gain(Biquad::peaking(sr, 1000.0, 1.0, 6.0), sr, 1000.0);
        assert!((pk - db(6.0)).abs() < 0.03, "{pk}");
        let ls = tone_gain(Biquad::low_shelf(sr, 200.0, 6.0), sr, 30.0);
        assert!((ls - db(6.0)).abs() < 0.1, "{ls}");
        let hs = tone_gain(Biquad::high_shelf(sr, 2000.0, -6.0), sr, 12_000.0);
        assert!((hs - db(-6.0)).abs() < 0.05, "{hs}");
    }

    #[test]
    fn karplus_strong_is_in_tune() {
        let sr = 48_000.0;
        let hz = 196.0;
        let mut s = KsString::new(sr, hz, 2.0, 0.7, 0.2, 1.0, &mut Noise::new(1));
        let x: Vec<f32> = (0..8192).map(|_| s.next()).collect();
        // Period by autocorrelation over lags around the expected one.
        let expected = sr / hz;
        let lo = (expected * 0.8) as usize;
        let hi = (expected * 1.25) as usize;
        let ac = |lag: usize| (0..4096).map(|i| x[i] * x[i + lag]).sum::<f32>();
        let best = (lo..hi).max_by(|&a, &b| ac(a).total_cmp(&ac(b))).unwrap();
        assert!(
            (best as f64 - expected).abs() <= 1.0,
            "lag {best} vs {expected}"
        );
    }

    #[test]
    fn partial_and_osc_produce_the_frequency() {
        let sr = 48_000.0;
        let mut p = Partial::new(sr, 1000.0, 1.0, f64::INFINITY, 0.0);
        let mut o = Osc::new(sr, 1000.0, 0.0);
        let mut crossings = [0usize; 2];
        let mut prev = [0.0f32; 2];
        for _ in 0..48_000 {
            let v = [p.next(), o.saw()];
            for k in 0..2 {
                if prev[k] <= 0.0 && v[k] > 0.0 {
                    crossings[k] += 1;
                }
                prev[k] = v[k];
            }
        }
        assert!((crossings[0] as i64 - 1000).abs() <= 1, "{crossings:?}");
        assert!((crossings[1] as i64 - 1000).abs() <= 1, "{crossings:?}");
    }

    #[test]
    fn adsr_releases_and_finishes() {
        let mut e = Adsr::new(48_000.0, 0.01, 0.1, 0.5, 0.05, 4800);
        let mut max = 0.0f32;
        for _ in 0..4800 {
            max = max.max(e.next());
        }
        assert!((max - 1.0).abs() < 1e-3);
        for _ in 0..48_000 {
            e.next();
        }
        assert!(e.finished());
    }
}
