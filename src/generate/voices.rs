//! Sound sources and the block renderer that plays them.
//!
//! A track is a list of timed [`Event`]s, each of which creates a [`Voice`]
//! when its time comes, plus a chain of [`Effect`]s over the summed voices.
//! Voices are created lazily because some own buffers (a plucked string's
//! delay line): building all of a 300 s part up front would make memory grow
//! with the song length.

use super::dsp::{
    decay_coef, soft_clip, Adsr, Biquad, DcBlocker, Delay, KsString, OnePole, Osc, Partial, Reverb,
};
use super::rng::{Noise, Rng};
use std::f64::consts::TAU;

/// A sounding note or hit.
pub(crate) trait Voice: Send {
    /// Adds the voice's next `out.len()` samples to `out`. Returns `false`
    /// once the voice has finished for good; it is then dropped.
    fn render(&mut self, out: &mut [f32]) -> bool;

    /// Stops the voice quickly: a closed hi-hat choking an open one, a new
    /// strum damping the previous one, a monophonic line moving on.
    fn choke(&mut self) {}
}

/// Creates a voice when its event starts.
pub(crate) type VoiceFactory = Box<dyn FnOnce() -> Box<dyn Voice> + Send>;

/// A voice to start at sample `start`, mixed into the track's channels with
/// `gains`. Starting an event chokes the sounding voices of the same
/// non-zero `choke` group.
pub(crate) struct Event {
    pub start: u64,
    pub gains: [f32; 2],
    pub choke: u8,
    pub make: VoiceFactory,
}

impl Event {
    pub(crate) fn new(start: u64, gains: [f32; 2], choke: u8, make: VoiceFactory) -> Event {
        Event {
            start,
            gains,
            choke,
            make,
        }
    }
}

/// Processing over a whole track, block by block.
pub(crate) trait Effect: Send {
    /// Processes the first `n` samples of every channel in place.
    fn process(&mut self, chans: &mut [Vec<f32>], n: usize);
}

struct Active {
    voice: Box<dyn Voice>,
    gains: [f32; 2],
    choke: u8,
}

/// Plays a track's events into blocks of samples.
pub(crate) struct Renderer {
    channels: usize,
    /// Events not yet started, latest first (so the next is at the end).
    pending: Vec<Event>,
    active: Vec<Active>,
    scratch: Vec<f32>,
    effects: Vec<Box<dyn Effect>>,
    pos: u64,
}

impl Renderer {
    pub(crate) fn new(
        channels: usize,
        mut events: Vec<Event>,
        effects: Vec<Box<dyn Effect>>,
    ) -> Self {
        // A stable sort keeps same-time events in part order, so the result
        // does not depend on anything but the part.
        events.sort_by_key(|e| e.start);
        events.reverse();
        Renderer {
            channels,
            pending: events,
            active: Vec::new(),
            scratch: Vec::new(),
            effects,
            pos: 0,
        }
    }

    /// Renders the next `n` frames into `out[ch][..n]`, overwriting them.
    pub(crate) fn render(&mut self, out: &mut [Vec<f32>], n: usize) {
        for ch in out.iter_mut().take(self.channels) {
            ch[..n].fill(0.0);
        }
        if self.scratch.len() < n {
            self.scratch.resize(n, 0.0);
        }
        let end = self.pos + n as u64;
        let mut cursor = self.pos;
        loop {
            while self.pending.last().is_some_and(|e| e.start <= cursor) {
                if let Some(ev) = self.pending.pop() {
                    self.start(ev);
                }
            }
            let next = self.pending.last().map_or(end, |e| e.start.min(end));
            let a = (cursor - self.pos) as usize;
            let b = (next - self.pos) as usize;
            if b > a {
                self.render_segment(out, a, b);
            }
            cursor = next;
            if cursor >= end {
                break;
            }
        }
        self.pos = end;
        for fx in &mut self.effects {
            fx.process(out, n);
        }
    }

    fn start(&mut self, ev: Event) {
        if ev.choke != 0 {
            for a in self.active.iter_mut().filter(|a| a.choke == ev.choke) {
                a.voice.choke();
            }
        }
        self.active.push(Active {
            voice: (ev.make)(),
            gains: ev.gains,
            choke: ev.choke,
        });
    }

    fn render_segment(&mut self, out: &mut [Vec<f32>], a: usize, b: usize) {
        let channels = self.channels;
        let scratch = &mut self.scratch[..b - a];
        self.active.retain_mut(|act| {
            // A voice at unity in one channel only renders straight into it:
            // the common case, and the cheapest.
            let g = act.gains;
            if g[0] == 1.0 && (channels == 1 || g[1] == 0.0) {
                return act.voice.render(&mut out[0][a..b]);
            }
            if channels > 1 && g[0] == 0.0 && g[1] == 1.0 {
                return act.voice.render(&mut out[1][a..b]);
            }
            scratch.fill(0.0);
            let alive = act.voice.render(scratch);
            for (ch, buf) in out.iter_mut().enumerate().take(channels) {
                let g = g[ch];
                if g != 0.0 {
                    let buf = &mut buf[a..b];
                    for i in 0..scratch.len() {
                        buf[i] += g * scratch[i];
                    }
                }
            }
            alive
        });
    }
}

/// Renders `out.len()` samples of `f` while `alive`, counting down `left`.
/// The common shape of every one-shot voice: a fixed maximum length.
#[inline(always)]
fn countdown(left: &mut u64, n: usize) -> bool {
    *left = left.saturating_sub(n as u64);
    *left > 0
}

// ---------------------------------------------------------------- drums ---

/// Drum sound parameters shared by every microphone of the kit.
#[derive(Clone, Debug)]
pub(crate) struct Kit {
    pub kick_hz: f64,
    pub kick_sweep: f64,
    pub kick_tau: f64,
    pub snare_hz: f64,
    pub snare_tau: f64,
    pub tom_hz: Vec<f64>,
    pub hat_hz: f64,
}

impl Kit {
    pub(crate) fn new(rng: &mut Rng, n_toms: usize) -> Kit {
        let top = rng.range(180.0, 230.0);
        let bottom = rng.range(75.0, 95.0);
        let tom_hz = (0..n_toms)
            .map(|i| {
                let x = if n_toms > 1 {
                    i as f64 / (n_toms - 1) as f64
                } else {
                    0.0
                };
                top * (bottom / top).powf(x)
            })
            .collect();
        Kit {
            kick_hz: rng.range(46.0, 58.0),
            kick_sweep: rng.range(2.6, 3.6),
            kick_tau: rng.range(0.07, 0.11),
            snare_hz: rng.range(175.0, 215.0),
            snare_tau: rng.range(0.07, 0.1),
            tom_hz,
            hat_hz: rng.range(380.0, 440.0),
        }
    }
}

/// A sine whose frequency glides exponentially from `hz * (1 + sweep)` to
/// `hz`: the pitch drop of a struck membrane.
struct Glide {
    phase: f64,
    hz: f64,
    extra: f64,
    extra_decay: f64,
    inv_sr: f64,
}

impl Glide {
    fn new(sr: f64, hz: f64, sweep: f64, tau_s: f64) -> Glide {
        Glide {
            phase: 0.0,
            hz,
            extra: hz * sweep,
            extra_decay: f64::from(decay_coef(sr, tau_s)),
            inv_sr: 1.0 / sr,
        }
    }

    #[inline(always)]
    fn next(&mut self) -> f32 {
        self.phase += (self.hz + self.extra) * self.inv_sr;
        if self.phase >= 1.0 {
            self.phase -= 1.0;
        }
        self.extra *= self.extra_decay;
        (self.phase * TAU).sin() as f32
    }
}

/// Kick drum: a sine swept down from about 150 Hz to its 45–60 Hz
/// fundamental, a beater click of high-passed noise, and a little
/// saturation for punch.
pub(crate) struct Kick {
    body: Glide,
    env: f32,
    decay: f32,
    click: f32,
    click_decay: f32,
    click_hp: Biquad,
    noise: Noise,
    gain: f32,
    left: u64,
}

impl Kick {
    pub(crate) fn new(sr: f64, kit: &Kit, vel: f32, seed: u64, click: f32) -> Kick {
        let mut r = Rng::new(seed);
        let hz = kit.kick_hz * (1.0 + r.jitter(0.01));
        Kick {
            body: Glide::new(sr, hz, kit.kick_sweep - 1.0, 0.03),
            env: 1.0,
            decay: decay_coef(sr, kit.kick_tau),
            click: click * (0.5 + 0.5 * vel),
            click_decay: decay_coef(sr, 0.0025),
            click_hp: Biquad::highpass(sr, 2500.0, 0.7),
            noise: Noise::new(seed),
            gain: vel,
            left: (kit.kick_tau * 9.0 * sr) as u64,
        }
    }
}

impl Voice for Kick {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            let body = self.body.next() * self.env;
            self.env *= self.decay;
            let c = self.click_hp.process(self.noise.next()) * self.click;
            self.click *= self.click_decay;
            *o += soft_clip(1.5 * (body + c)) * 0.8 * self.gain;
        }
        countdown(&mut self.left, out.len())
    }
}

/// Snare drum: two damped sine modes of the batter head plus band-limited
/// noise from the snare wires, which rings longer than the tone.
pub(crate) struct Snare {
    modes: [Partial; 2],
    noise: Noise,
    wires: f32,
    wires_decay: f32,
    hp: Biquad,
    lp: Biquad,
    gain: f32,
    left: u64,
}

impl Snare {
    pub(crate) fn new(sr: f64, kit: &Kit, vel: f32, seed: u64) -> Snare {
        let mut r = Rng::new(seed);
        let hz = kit.snare_hz * (1.0 + r.jitter(0.01));
        Snare {
            modes: [
                Partial::new(sr, hz, 0.7, 0.05, 0.25),
                Partial::new(sr, hz * 1.78, 0.4, 0.035, 0.25),
            ],
            noise: Noise::new(seed),
            // Soft hits are darker and have relatively less wire sound.
            wires: 0.5 + 0.5 * vel,
            wires_decay: decay_coef(sr, kit.snare_tau * (0.7 + 0.3 * f64::from(vel))),
            hp: Biquad::highpass(sr, 1200.0, 0.7),
            lp: Biquad::lowpass(sr, 4000.0 + 4000.0 * f64::from(vel), 0.7),
            gain: vel,
            left: (kit.snare_tau * 8.0 * sr) as u64,
        }
    }
}

impl Voice for Snare {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            let tone = self.modes[0].next() + self.modes[1].next();
            let n = self.lp.process(self.hp.process(self.noise.next())) * self.wires;
            self.wires *= self.wires_decay;
            *o += (tone + 1.3 * n) * self.gain;
        }
        countdown(&mut self.left, out.len())
    }
}

/// The six detuned square waves of the TR-808 cymbal circuit, as ratios of
/// its lowest (205.3 Hz at the original tuning); high-passed, their upper
/// harmonics give the metallic colour that noise alone lacks.
const METAL: [f64; 6] = [1.0, 1.4827, 1.8003, 2.5460, 2.6303, 3.8967];

/// Hi-hat or cymbal: noise plus the 808 metal, high-passed twice, with a
/// short (closed) or long (open, crash) exponential decay.
pub(crate) struct Metal {
    oscs: [Osc; 6],
    noise: Noise,
    hp: [Biquad; 2],
    tone: Biquad,
    env: f32,
    attack: f32,
    attack_step: f32,
    decay: f32,
    choke_decay: f32,
    metal: f32,
    gain: f32,
    left: u64,
}

impl Metal {
    /// `tau_s` sets the decay; `hp_hz` the brightness; `metal` the share of
    /// the square-wave cluster against noise.
    pub(crate) fn new(
        sr: f64,
        base_hz: f64,
        tau_s: f64,
        hp_hz: f64,
        metal: f32,
        vel: f32,
        seed: u64,
    ) -> Metal {
        let mut r = Rng::new(seed);
        let oscs = METAL.map(|k| Osc::new(sr, base_hz * k, r.unit()));
        Metal {
            oscs,
            noise: Noise::new(seed),
            hp: [
                Biquad::highpass(sr, hp_hz, 0.7),
                Biquad::highpass(sr, hp_hz * 1.2, 0.7),
            ],
            tone: Biquad::peaking(sr, (hp_hz * 1.5).min(0.4 * sr), 1.0, 4.0),
            env: 0.0,
            attack: 1.0,
            attack_step: (1.0 / (0.0008 * sr)) as f32,
            decay: decay_coef(sr, tau_s),
            choke_decay: decay_coef(sr, 0.006),
            metal,
            gain: vel,
            left: (tau_s * 8.0 * sr) as u64,
        }
    }
}

impl Voice for Metal {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            if self.attack > 0.0 {
                self.env += self.attack_step;
                if self.env >= 1.0 {
                    self.env = 1.0;
                    self.attack = 0.0;
                }
            } else {
                self.env *= self.decay;
            }
            let mut m = 0.0;
            for osc in &mut self.oscs {
                m += osc.square();
            }
            let x = self.noise.next() * (1.0 - self.metal) + m * (self.metal / 6.0);
            let h = self.hp[0].process(x);
            let y = self.tone.process(self.hp[1].process(h));
            *o += y * self.env * self.gain;
        }
        countdown(&mut self.left, out.len())
    }

    fn choke(&mut self) {
        self.decay = self.choke_decay;
        self.left = self.left.min(4800);
    }
}

/// Tom: a swept sine fundamental, the membrane's inharmonic (1.5×) mode,
/// and a stick attack of low-passed noise.
pub(crate) struct Tom {
    body: Glide,
    mode: Partial,
    env: f32,
    decay: f32,
    noise: Noise,
    stick: f32,
    stick_decay: f32,
    stick_lp: OnePole,
    gain: f32,
    left: u64,
}

impl Tom {
    pub(crate) fn new(sr: f64, hz: f64, vel: f32, seed: u64) -> Tom {
        // Larger (lower) toms ring longer.
        let tau = (0.25 * (100.0 / hz).sqrt()).clamp(0.12, 0.4);
        Tom {
            body: Glide::new(sr, hz, 0.35, 0.04),
            mode: Partial::new(sr, hz * 1.5, 0.3, tau * 0.4, 0.0),
            env: 1.0,
            decay: decay_coef(sr, tau),
            noise: Noise::new(seed),
            stick: 0.5,
            stick_decay: decay_coef(sr, 0.004),
            stick_lp: OnePole::lowpass(sr, 4000.0),
            gain: vel,
            left: (tau * 8.0 * sr) as u64,
        }
    }
}

impl Voice for Tom {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            let b = self.body.next() * self.env;
            self.env *= self.decay;
            let s = self.stick_lp.process(self.noise.next()) * self.stick;
            self.stick *= self.stick_decay;
            *o += (b + self.mode.next() + s) * self.gain;
        }
        countdown(&mut self.left, out.len())
    }
}

// ------------------------------------------------------------ percussion ---

/// Hand percussion kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PercKind {
    Shaker,
    Tambourine,
    Conga,
    Cowbell,
}

/// Shaker (band-passed noise with a soft attack), tambourine (noise
/// through narrow jingle resonances), conga (a swept sine and a slap),
/// cowbell (two square waves through a band-pass).
pub(crate) struct Perc {
    kind: PercKind,
    noise: Noise,
    filters: [Biquad; 3],
    oscs: [Osc; 2],
    body: Glide,
    env: f32,
    attack_step: f32,
    rising: bool,
    decay: f32,
    slap: f32,
    slap_decay: f32,
    gain: f32,
    left: u64,
}

impl Perc {
    pub(crate) fn new(sr: f64, kind: PercKind, hz: f64, vel: f32, seed: u64) -> Perc {
        let (attack, tau, filters) = match kind {
            PercKind::Shaker => (
                0.008,
                0.035,
                [
                    Biquad::bandpass(sr, 6500.0, 1.2),
                    Biquad::highpass(sr, 3000.0, 0.7),
                    Biquad::identity(),
                ],
            ),
            PercKind::Tambourine => (
                0.001,
                0.07,
                [
                    Biquad::bandpass(sr, 7200.0, 6.0),
                    Biquad::bandpass(sr, 9100.0, 6.0),
                    Biquad::bandpass(sr, 11_300.0, 6.0),
                ],
            ),
            PercKind::Conga => (
                0.0005,
                0.11,
                [
                    Biquad::bandpass(sr, 1500.0, 1.0),
                    Biquad::identity(),
                    Biquad::identity(),
                ],
            ),
            PercKind::Cowbell => (
                0.0005,
                0.09,
                [
                    Biquad::bandpass(sr, 700.0, 1.5),
                    Biquad::identity(),
                    Biquad::identity(),
                ],
            ),
        };
        Perc {
            kind,
            noise: Noise::new(seed),
            filters,
            oscs: [Osc::new(sr, 562.0, 0.0), Osc::new(sr, 845.0, 0.3)],
            body: Glide::new(sr, hz, 0.15, 0.02),
            env: 0.0,
            attack_step: (1.0 / (attack * sr)) as f32,
            rising: true,
            decay: decay_coef(sr, tau),
            slap: 1.0,
            slap_decay: decay_coef(sr, 0.008),
            gain: vel,
            left: ((attack + tau * 8.0) * sr) as u64,
        }
    }
}

impl Voice for Perc {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            if self.rising {
                self.env += self.attack_step;
                if self.env >= 1.0 {
                    self.env = 1.0;
                    self.rising = false;
                }
            } else {
                self.env *= self.decay;
            }
            let y = match self.kind {
                PercKind::Shaker => {
                    let x = self.noise.next();
                    let h = self.filters[0].process(x);
                    self.filters[1].process(h)
                }
                PercKind::Tambourine => {
                    let x = self.noise.next();
                    self.filters[0].process(x)
                        + self.filters[1].process(x)
                        + self.filters[2].process(x)
                }
                PercKind::Conga => {
                    let s = self.filters[0].process(self.noise.next()) * self.slap;
                    self.slap *= self.slap_decay;
                    self.body.next() + s
                }
                PercKind::Cowbell => {
                    let x = self.oscs[0].square() + self.oscs[1].square();
                    self.filters[0].process(x)
                }
            };
            *o += y * self.env * self.gain;
        }
        countdown(&mut self.left, out.len())
    }
}

// ---------------------------------------------------------------- tonal ---

/// Oscillator waveforms of the subtractive voice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wave {
    Saw,
    Square,
    /// Saw and square mixed: a fatter lead.
    SawSquare,
}

/// Parameters of the subtractive (oscillators → low-pass → amplifier)
/// voice used for bass, synths, pads, strings and brass.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SubParams {
    pub wave: Wave,
    /// Number of detuned oscillators (1–4).
    pub unison: usize,
    pub detune_cents: f64,
    /// Level of a sine at the fundamental, for weight (bass).
    pub sub: f32,
    pub cutoff_hz: f64,
    /// Extra cutoff at the start of the note, as a multiple of the cutoff,
    /// decaying with `cutoff_tau`: the "pluck" or brass "blat".
    pub cutoff_env: f64,
    pub cutoff_tau: f64,
    /// Cutoff follows pitch by this fraction (1 = fully).
    pub key_track: f64,
    pub q: f64,
    pub attack: f64,
    pub decay_tau: f64,
    pub sustain: f32,
    pub release_tau: f64,
    pub vibrato_hz: f64,
    pub vibrato_cents: f64,
    pub vibrato_delay: f64,
}

/// Control-rate period for filter and pitch modulation, in samples.
const CONTROL: usize = 32;

/// Oscillators → resonant low-pass with an envelope → ADSR amplifier.
pub(crate) struct Subtractive {
    p: SubParams,
    sr: f64,
    hz: f64,
    oscs: [Osc; 4],
    detune: [f64; 4],
    sub: Osc,
    filter: Biquad,
    env: Adsr,
    fenv: f64,
    fenv_decay: f64,
    vib_phase: f64,
    age: usize,
    ctrl: usize,
    gain: f32,
}

impl Subtractive {
    pub(crate) fn new(sr: f64, p: SubParams, hz: f64, gate: u64, vel: f32, seed: u64) -> Self {
        let mut r = Rng::new(seed);
        let unison = p.unison.clamp(1, 4);
        let mut detune = [0.0; 4];
        for (i, d) in detune.iter_mut().enumerate().take(unison) {
            let spread = if unison > 1 {
                i as f64 / (unison - 1) as f64 * 2.0 - 1.0
            } else {
                0.0
            };
            *d = ((spread * p.detune_cents + r.jitter(2.0)) / 1200.0).exp2();
        }
        let oscs = [0, 1, 2, 3].map(|i| Osc::new(sr, hz * detune[i], r.unit()));
        let mut v = Subtractive {
            p,
            sr,
            hz,
            oscs,
            detune,
            sub: Osc::new(sr, hz, 0.0),
            filter: Biquad::identity(),
            env: Adsr::new(sr, p.attack, p.decay_tau, p.sustain, p.release_tau, gate),
            fenv: 1.0,
            fenv_decay: (-(CONTROL as f64) / (p.cutoff_tau.max(1e-3) * sr)).exp(),
            vib_phase: r.unit(),
            age: 0,
            ctrl: 0,
            gain: vel / (unison as f32).sqrt(),
        };
        v.update_filter();
        v
    }

    fn update_filter(&mut self) {
        let track = (self.hz / 220.0).powf(self.p.key_track);
        let fc = self.p.cutoff_hz * track * (1.0 + self.p.cutoff_env * self.fenv);
        self.filter.retune(Biquad::lowpass(self.sr, fc, self.p.q));
        self.fenv *= self.fenv_decay;
    }

    fn control(&mut self) {
        self.update_filter();
        if self.p.vibrato_cents > 0.0 {
            let t = self.age as f64 / self.sr;
            let depth = ((t - self.p.vibrato_delay) / 0.3).clamp(0.0, 1.0) * self.p.vibrato_cents;
            self.vib_phase =
                (self.vib_phase + self.p.vibrato_hz * CONTROL as f64 / self.sr).fract();
            let ratio = ((self.vib_phase * TAU).sin() * depth / 1200.0).exp2();
            for i in 0..self.p.unison.clamp(1, 4) {
                self.oscs[i].set_freq(self.sr, self.hz * self.detune[i] * ratio);
            }
        }
    }
}

impl Voice for Subtractive {
    fn render(&mut self, out: &mut [f32]) -> bool {
        let unison = self.p.unison.clamp(1, 4);
        for o in out.iter_mut() {
            if self.ctrl == 0 {
                self.control();
                self.ctrl = CONTROL;
            }
            self.ctrl -= 1;
            self.age += 1;
            let mut x = 0.0;
            for osc in &mut self.oscs[..unison] {
                x += match self.p.wave {
                    Wave::Saw => osc.saw(),
                    Wave::Square => osc.square(),
                    Wave::SawSquare => 0.6 * osc.saw() + 0.4 * osc.square(),
                };
            }
            let mut y = self.filter.process(x * 0.5);
            if self.p.sub > 0.0 {
                y += self.sub.sine() * self.p.sub;
            }
            *o += y * self.env.next() * self.gain;
        }
        !self.env.finished()
    }

    fn choke(&mut self) {
        self.env.release_now(self.sr, 0.02);
    }
}

/// Piano: up to ten partials with string inharmonicity (partial k at
/// k·f0·√(1 + B·k²)), the higher ones quieter and shorter-lived, plus a
/// hammer thump; the damper ends the note when the key is released.
pub(crate) struct Piano {
    partials: Vec<Partial>,
    sr: f64,
    gate: u64,
    damped: bool,
    hammer: f32,
    hammer_decay: f32,
    hammer_lp: OnePole,
    noise: Noise,
    left: u64,
}

impl Piano {
    pub(crate) fn new(sr: f64, midi: f64, gate: u64, vel: f32, seed: u64) -> Piano {
        let hz = super::dsp::midi_hz(midi);
        let b = 0.0001 * (1.0 + (midi - 60.0).max(0.0) / 24.0);
        // Low notes ring for seconds, high ones briefly.
        let tau = (3.0 * (110.0 / hz).powf(0.6)).clamp(0.3, 4.0);
        let mut r = Rng::new(seed);
        let mut partials = Vec::new();
        for k in 1..=10u32 {
            let kf = f64::from(k);
            let f = kf * hz * (1.0 + b * kf * kf).sqrt();
            if f > 0.42 * sr {
                break;
            }
            // Harder hits excite more high partials.
            let amp = 0.2 * vel * (1.0 / kf.powf(1.6 - 0.6 * f64::from(vel))) as f32;
            partials.push(Partial::new(
                sr,
                f,
                amp,
                tau / (1.0 + 0.4 * (kf - 1.0)),
                r.unit(),
            ));
        }
        Piano {
            partials,
            sr,
            gate,
            damped: false,
            hammer: 0.03 * vel,
            hammer_decay: decay_coef(sr, 0.006),
            hammer_lp: OnePole::lowpass(sr, 1500.0),
            noise: Noise::new(seed),
            left: (tau * 7.0 * sr) as u64,
        }
    }

    fn damp(&mut self) {
        if !self.damped {
            self.damped = true;
            for p in &mut self.partials {
                p.set_decay(self.sr, 0.08);
            }
            self.left = self.left.min((0.6 * self.sr) as u64);
        }
    }
}

impl Voice for Piano {
    fn render(&mut self, out: &mut [f32]) -> bool {
        if self.gate < out.len() as u64 {
            // Close enough: damp at the start of the block holding note-off.
            self.damp();
        }
        self.gate = self.gate.saturating_sub(out.len() as u64);
        for o in out.iter_mut() {
            let mut y = 0.0;
            for p in &mut self.partials {
                y += p.next();
            }
            y += self.hammer_lp.process(self.noise.next()) * self.hammer;
            self.hammer *= self.hammer_decay;
            *o += y;
        }
        for p in &mut self.partials {
            p.renormalise();
        }
        countdown(&mut self.left, out.len())
    }

    fn choke(&mut self) {
        self.damp();
    }
}

/// Tonewheel organ: sine drawbars at the classic footages (16′, 8′, 5⅓′,
/// 4′, 2⅔′, 2′, 1⅗′, 1⅓′, 1′) with a key click and no decay while held.
pub(crate) struct Organ {
    partials: Vec<Partial>,
    env: Adsr,
    click: f32,
    click_decay: f32,
    noise: Noise,
    click_hp: Biquad,
}

/// Drawbar footage ratios to the 8′ fundamental.
const DRAWBARS: [f64; 9] = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0];

impl Organ {
    /// `registration`: the nine drawbar settings, 0–8 each.
    pub(crate) fn new(sr: f64, midi: f64, gate: u64, registration: [u8; 9], seed: u64) -> Organ {
        let hz = super::dsp::midi_hz(midi);
        let mut r = Rng::new(seed);
        let partials = DRAWBARS
            .iter()
            .zip(registration)
            .filter(|(&k, d)| *d > 0 && k * hz < 0.42 * sr)
            .map(|(&k, d)| {
                // Each drawbar step is 3 dB.
                let amp = 10f64.powf(-3.0 * f64::from(8 - d) / 20.0) as f32 * 0.09;
                Partial::new(sr, k * hz, amp, f64::INFINITY, r.unit())
            })
            .collect();
        Organ {
            partials,
            env: Adsr::new(sr, 0.004, 1.0, 1.0, 0.02, gate),
            click: 0.06,
            click_decay: decay_coef(sr, 0.003),
            noise: Noise::new(seed),
            click_hp: Biquad::highpass(sr, 2000.0, 0.7),
        }
    }
}

impl Voice for Organ {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            let mut y = 0.0;
            for p in &mut self.partials {
                y += p.next();
            }
            y += self.click_hp.process(self.noise.next()) * self.click;
            self.click *= self.click_decay;
            *o += y * self.env.next();
        }
        for p in &mut self.partials {
            p.renormalise();
        }
        !self.env.finished()
    }
}

/// Strings of a strum: each a Karplus–Strong string starting a few
/// milliseconds after the previous (the pick crossing the strings).
pub(crate) struct Strum {
    strings: Vec<(u64, KsString)>,
    sr: f64,
    left: u64,
    choke_t60: f64,
    t: u64,
}

impl Strum {
    /// `notes` low to high; `down` strums low to high, else high to low.
    /// `spread_s` is the time between strings; `t60_s` the ring time.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        sr: f64,
        notes: &[f64],
        down: bool,
        spread_s: f64,
        t60_s: f64,
        brightness: f32,
        vel: f32,
        seed: u64,
    ) -> Strum {
        let mut noise = Noise::new(seed);
        let mut r = Rng::new(seed);
        let n = notes.len();
        let strings = notes
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let order = if down { i } else { n - 1 - i };
                let delay = (order as f64 * spread_s * (1.0 + r.jitter(0.3)) * sr) as u64;
                let amp = vel * (1.0 + r.jitter(0.15) as f32) * 0.5;
                let s = KsString::new(
                    sr,
                    super::dsp::midi_hz(m),
                    t60_s,
                    brightness,
                    r.range(0.1, 0.3) as f32,
                    amp,
                    &mut noise,
                );
                (delay, s)
            })
            .collect();
        Strum {
            strings,
            sr,
            left: ((t60_s * 1.2 + 0.1) * sr) as u64,
            choke_t60: 0.06,
            t: 0,
        }
    }
}

impl Voice for Strum {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for (delay, s) in &mut self.strings {
            let skip = delay.saturating_sub(self.t).min(out.len() as u64) as usize;
            for o in &mut out[skip..] {
                *o += s.next();
            }
        }
        self.t += out.len() as u64;
        countdown(&mut self.left, out.len())
    }

    fn choke(&mut self) {
        for (_, s) in &mut self.strings {
            s.set_t60(self.choke_t60);
        }
        self.left = self.left.min((self.choke_t60 * 1.5 * self.sr) as u64);
    }
}

/// Flute: a nearly sinusoidal tone (weak 2nd and 3rd harmonics) with
/// delayed vibrato, breath noise that follows the envelope, and a chiff of
/// noise at the attack.
pub(crate) struct Flute {
    sr: f64,
    hz: f64,
    phase: f64,
    vib_phase: f64,
    env: Adsr,
    noise: Noise,
    breath_bp: Biquad,
    chiff: f32,
    chiff_decay: f32,
    age: usize,
    ratio: f64,
    ctrl: usize,
    gain: f32,
}

impl Flute {
    pub(crate) fn new(sr: f64, midi: f64, gate: u64, vel: f32, seed: u64) -> Flute {
        let hz = super::dsp::midi_hz(midi);
        let mut r = Rng::new(seed);
        Flute {
            sr,
            hz,
            phase: 0.0,
            vib_phase: r.unit(),
            env: Adsr::new(sr, 0.06, 0.3, 0.85, 0.08, gate),
            noise: Noise::new(seed),
            breath_bp: Biquad::bandpass(sr, (hz * 4.0).min(0.4 * sr), 0.7),
            chiff: 0.3,
            chiff_decay: decay_coef(sr, 0.03),
            age: 0,
            ratio: 1.0,
            ctrl: 0,
            gain: 0.25 * vel,
        }
    }
}

impl Voice for Flute {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            if self.ctrl == 0 {
                let t = self.age as f64 / self.sr;
                let depth = ((t - 0.25) / 0.3).clamp(0.0, 1.0) * 15.0;
                self.vib_phase = (self.vib_phase + 5.0 * CONTROL as f64 / self.sr).fract();
                self.ratio = ((self.vib_phase * TAU).sin() * depth / 1200.0).exp2();
                self.ctrl = CONTROL;
            }
            self.ctrl -= 1;
            self.age += 1;
            self.phase += self.hz * self.ratio / self.sr;
            if self.phase >= 1.0 {
                self.phase -= 1.0;
            }
            let w = self.phase * TAU;
            let tone = w.sin() + 0.12 * (2.0 * w).sin() + 0.04 * (3.0 * w).sin();
            let e = self.env.next();
            let breath = self.breath_bp.process(self.noise.next()) * (0.08 * e + self.chiff);
            self.chiff *= self.chiff_decay;
            *o += (tone as f32 * e + breath) * self.gain;
        }
        !self.env.finished()
    }

    fn choke(&mut self) {
        self.env.release_now(self.sr, 0.03);
    }
}

/// FX risers and impacts.
pub(crate) enum FxKind {
    /// Noise through a band-pass sweeping up, swelling in level.
    Riser,
    /// A low sine drop with a noise tail closing down: the hit that starts
    /// a section.
    Impact,
}

/// A noise sweep (riser) or a downward boom (impact).
pub(crate) struct Sweep {
    kind: FxKind,
    sr: f64,
    noise: Noise,
    filter: Biquad,
    body: Glide,
    len: u64,
    t: u64,
    lo_hz: f64,
    hi_hz: f64,
    ctrl: usize,
    level: f32,
    gain: f32,
}

impl Sweep {
    pub(crate) fn new(
        sr: f64,
        kind: FxKind,
        len: u64,
        lo_hz: f64,
        hi_hz: f64,
        vel: f32,
        seed: u64,
    ) -> Sweep {
        Sweep {
            kind,
            sr,
            noise: Noise::new(seed),
            filter: Biquad::identity(),
            body: Glide::new(sr, 32.0, 2.0, 0.15),
            len: len.max(1),
            t: 0,
            lo_hz,
            hi_hz,
            ctrl: 0,
            level: 0.0,
            gain: vel,
        }
    }

    fn control(&mut self) {
        let x = (self.t as f64 / self.len as f64).min(1.0);
        match self.kind {
            FxKind::Riser => {
                let hz = self.lo_hz * (self.hi_hz / self.lo_hz).powf(x);
                self.filter.retune(Biquad::bandpass(self.sr, hz, 2.5));
                // Swell, then cut off sharply at the downbeat.
                self.level = (x * x) as f32
                    * if x > 0.97 {
                        ((1.0 - x) / 0.03) as f32
                    } else {
                        1.0
                    };
            }
            FxKind::Impact => {
                let hz = self.hi_hz * (self.lo_hz / self.hi_hz).powf(x.sqrt());
                self.filter.retune(Biquad::lowpass(self.sr, hz, 0.8));
                self.level = ((1.0 - x).powi(3)) as f32;
            }
        }
    }
}

impl Voice for Sweep {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            if self.ctrl == 0 {
                self.control();
                self.ctrl = CONTROL;
            }
            self.ctrl -= 1;
            self.t += 1;
            let n = self.filter.process(self.noise.next());
            let y = match self.kind {
                FxKind::Riser => n,
                FxKind::Impact => 0.8 * self.body.next() + 0.6 * n,
            };
            *o += y * self.level * self.gain;
        }
        self.t < self.len
    }
}

// -------------------------------------------------------------- effects ---

/// A chain of filters on every channel.
pub(crate) struct Eq {
    chains: Vec<Vec<Biquad>>,
}

impl Eq {
    /// The same filters on each of `channels` channels.
    pub(crate) fn new(channels: usize, filters: Vec<Biquad>) -> Eq {
        Eq {
            chains: vec![filters; channels],
        }
    }
}

impl Effect for Eq {
    fn process(&mut self, chans: &mut [Vec<f32>], n: usize) {
        for (chain, buf) in self.chains.iter_mut().zip(chans.iter_mut()) {
            for f in chain.iter_mut() {
                f.run(&mut buf[..n]);
            }
        }
    }
}

/// An overdriven amplifier: high-pass (tightens the low end before
/// clipping, as guitar pedals do), drive into a soft clipper, DC removal,
/// then a cabinet-like filter chain.
pub(crate) struct Amp {
    pre: Vec<Biquad>,
    drive: f32,
    dc: Vec<DcBlocker>,
    cab: Vec<Vec<Biquad>>,
    out: f32,
}

impl Amp {
    pub(crate) fn new(sr: f64, channels: usize, drive: f32, cab: Vec<Biquad>) -> Amp {
        Amp {
            pre: vec![Biquad::highpass(sr, 100.0, 0.7); channels],
            drive,
            dc: vec![DcBlocker::new(sr); channels],
            cab: vec![cab; channels],
            out: 1.0 / drive.sqrt(),
        }
    }
}

impl Effect for Amp {
    fn process(&mut self, chans: &mut [Vec<f32>], n: usize) {
        for (ch, buf) in chans.iter_mut().enumerate().take(self.pre.len()) {
            let buf = &mut buf[..n];
            for x in buf.iter_mut() {
                let y = soft_clip(self.pre[ch].process(*x) * self.drive);
                *x = self.dc[ch].process(y) * self.out;
            }
            for f in &mut self.cab[ch] {
                f.run(buf);
            }
        }
    }
}

/// Builds a stereo pair from a mono source in the left channel: the right
/// is a few hundred microseconds later and differently coloured, like a
/// second microphone. Used for acoustic guitar.
pub(crate) struct Widen {
    delay: Delay,
    left_eq: Biquad,
    right_eq: Biquad,
}

impl Widen {
    pub(crate) fn new(sr: f64, delay_s: f64, left_eq: Biquad, right_eq: Biquad) -> Widen {
        Widen {
            delay: Delay::new((delay_s * sr).round() as usize),
            left_eq,
            right_eq,
        }
    }
}

impl Effect for Widen {
    fn process(&mut self, chans: &mut [Vec<f32>], n: usize) {
        if let [l, r, ..] = chans {
            for i in 0..n {
                let x = l[i];
                l[i] = self.left_eq.process(x);
                r[i] = self.right_eq.process(self.delay.process(x));
            }
        }
    }
}

/// A room: pre-delay, reverb, and a little of the direct sound.
pub(crate) struct Room {
    reverb: Reverb,
    predelay: [Delay; 2],
    dry: f32,
    wet: f32,
}

impl Room {
    pub(crate) fn new(
        sr: f64,
        size: f64,
        feedback: f32,
        predelay_s: f64,
        dry: f32,
        wet: f32,
    ) -> Room {
        let d = (predelay_s * sr).round() as usize;
        Room {
            reverb: Reverb::new(sr, size, feedback, 0.35),
            predelay: [Delay::new(d), Delay::new(d + 7)],
            dry,
            wet,
        }
    }
}

impl Effect for Room {
    fn process(&mut self, chans: &mut [Vec<f32>], n: usize) {
        for i in 0..n {
            let mono = if chans.len() > 1 {
                0.5 * (chans[0][i] + chans[1][i])
            } else {
                chans[0][i]
            };
            for (ch, buf) in chans.iter_mut().enumerate().take(2) {
                let d = self.predelay[ch].process(buf[i]);
                buf[i] = self.dry * d + self.wet * self.reverb.process(ch, mono);
            }
        }
    }
}

/// Amplitude modulation: the rotating-speaker shimmer of an organ.
pub(crate) struct Tremolo {
    phase: f64,
    inc: f64,
    depth: f32,
}

impl Tremolo {
    pub(crate) fn new(sr: f64, hz: f64, depth: f32) -> Tremolo {
        Tremolo {
            phase: 0.0,
            inc: hz / sr,
            depth,
        }
    }
}

impl Effect for Tremolo {
    fn process(&mut self, chans: &mut [Vec<f32>], n: usize) {
        let start = self.phase;
        for buf in chans.iter_mut() {
            let mut ph = start;
            for x in &mut buf[..n] {
                *x *= 1.0 - self.depth * (0.5 + 0.5 * (ph * TAU).sin() as f32);
                ph += self.inc;
            }
        }
        self.phase = (start + self.inc * n as f64).fract();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dc(u64);
    impl Voice for Dc {
        fn render(&mut self, out: &mut [f32]) -> bool {
            let k = (self.0 as usize).min(out.len());
            for o in &mut out[..k] {
                *o += 1.0;
            }
            self.0 -= k as u64;
            self.0 > 0
        }
    }

    #[test]
    fn events_start_on_their_sample_and_mix_with_gains() {
        let events = vec![
            Event::new(10, [1.0, 0.5], 0, Box::new(|| Box::new(Dc(5)))),
            Event::new(3, [0.0, 2.0], 0, Box::new(|| Box::new(Dc(100)))),
        ];
        let mut r = Renderer::new(2, events, Vec::new());
        let mut out = vec![vec![9.0; 8]; 2];
        r.render(&mut out, 8);
        assert_eq!(out[0], vec![0.0; 8]);
        assert_eq!(out[1], vec![0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
        r.render(&mut out, 8);
        // The first voice runs from sample 10 for 5 samples.
        assert_eq!(out[0], vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
        assert_eq!(out[1][2], 2.5);
    }

    #[test]
    fn voices_end() {
        let sr = 48_000.0;
        let kit = Kit::new(&mut Rng::new(1), 2);
        let mut voices: Vec<Box<dyn Voice>> = vec![
            Box::new(Kick::new(sr, &kit, 1.0, 1, 0.3)),
            Box::new(Snare::new(sr, &kit, 1.0, 2)),
            Box::new(Metal::new(sr, 400.0, 0.02, 7000.0, 0.4, 1.0, 3)),
            Box::new(Tom::new(sr, 100.0, 1.0, 4)),
            Box::new(Piano::new(sr, 60.0, 4800, 0.8, 5)),
            Box::new(Strum::new(
                sr,
                &[40.0, 47.0, 52.0],
                true,
                0.01,
                0.5,
                0.5,
                0.8,
                6,
            )),
        ];
        for v in &mut voices {
            let mut buf = vec![0.0; 4800];
            let mut blocks = 0;
            while v.render(&mut buf) {
                blocks += 1;
                assert!(blocks < 200, "voice does not end");
            }
            assert!(buf.iter().all(|x| x.is_finite()));
        }
    }
}
