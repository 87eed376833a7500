//! A formant singing-voice synthesiser.
//!
//! Source–filter model: a Rosenberg glottal pulse train (differentiated, for
//! lip radiation) with vibrato, slow pitch drift and aspiration noise, fed
//! through a cascade of four Klatt formant resonators whose frequencies glide
//! between vowels. Syllables may start with a fricative-like noise burst.
//! One voice sings a whole part: it walks its note list itself, so legato
//! lines glide (portamento) instead of restarting at every note, and the
//! silence between lines is real silence.

use super::dsp::{decay_coef, midi_hz, smooth_coef, Biquad, OnePole, Resonator};
use super::rng::{Noise, Rng};
use super::song::SungNote;
use super::voices::Voice;
use std::f64::consts::{PI, TAU};

/// Formant frequencies (Hz) of the vowels /a/, /e/, /i/, /o/, /u/ for an
/// adult male voice (after Peterson & Barney 1952; F4 from Fant).
const FORMANTS: [[f64; 4]; 5] = [
    [730.0, 1090.0, 2440.0, 3400.0],
    [530.0, 1840.0, 2480.0, 3500.0],
    [270.0, 2290.0, 3010.0, 3500.0],
    [570.0, 840.0, 2410.0, 3300.0],
    [300.0, 870.0, 2240.0, 3300.0],
];
/// Formant bandwidths (Hz), per vowel.
const BANDWIDTHS: [[f64; 4]; 5] = [
    [80.0, 90.0, 120.0, 175.0],
    [60.0, 100.0, 120.0, 175.0],
    [60.0, 90.0, 100.0, 175.0],
    [70.0, 80.0, 100.0, 175.0],
    [65.0, 80.0, 100.0, 175.0],
];

/// Control-rate period (samples): pitch, level and formants change slowly.
const CONTROL: usize = 32;

/// What kind of singer: formant scaling, breathiness and vibrato.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SingerStyle {
    /// Formant scale: 1.0 for an adult male vocal tract, about 1.17 female.
    pub formant_scale: f64,
    /// Aspiration noise relative to the voiced source.
    pub breath: f32,
    pub vibrato_hz: f64,
    pub vibrato_cents: f64,
    /// Source low-pass (Hz): lower for soft, dark backing "oohs".
    pub tilt_hz: f64,
}

/// The singing voice. See the module documentation.
pub(crate) struct Singer {
    sr: f64,
    notes: Vec<SungNote>,
    idx: usize,
    t: u64,
    style: SingerStyle,
    // Source.
    phase: f64,
    inc: f64,
    log_hz: f64,
    target_log_hz: f64,
    vib_phase: f64,
    note_start: u64,
    drift: f64,
    drift_target: f64,
    prev_flow: f32,
    amp: f64,
    target_amp: f64,
    open_quotient: f64,
    noise: Noise,
    rng: Rng,
    tilt: OnePole,
    // Filter.
    formants: [Resonator; 4],
    cur_f: [f64; 4],
    cur_bw: [f64; 4],
    target_f: [f64; 4],
    target_bw: [f64; 4],
    // Consonant burst.
    burst: f32,
    burst_decay: f32,
    burst_hp: Biquad,
    hp: Biquad,
    ctrl: usize,
    k_pitch: f64,
    k_attack: f64,
    k_release: f64,
    k_formant: f64,
}

impl Singer {
    pub(crate) fn new(sr: f64, notes: Vec<SungNote>, style: SingerStyle, seed: u64) -> Singer {
        let first = notes.first().map_or(60.0, |n| f64::from(n.midi));
        let log_hz = midi_hz(first).log2();
        let mut s = Singer {
            sr,
            notes,
            idx: 0,
            t: 0,
            style,
            phase: 0.0,
            inc: 0.0,
            log_hz,
            target_log_hz: log_hz,
            vib_phase: 0.0,
            note_start: 0,
            drift: 0.0,
            drift_target: 0.0,
            prev_flow: 0.0,
            amp: 0.0,
            target_amp: 0.0,
            open_quotient: 0.6,
            noise: Noise::new(seed),
            rng: Rng::new(seed),
            tilt: OnePole::lowpass(sr, style.tilt_hz),
            formants: [Resonator::default(); 4],
            cur_f: FORMANTS[0],
            cur_bw: BANDWIDTHS[0],
            target_f: FORMANTS[0],
            target_bw: BANDWIDTHS[0],
            burst: 0.0,
            burst_decay: decay_coef(sr, 0.018),
            burst_hp: Biquad::highpass(sr, 4500.0, 0.7),
            hp: Biquad::highpass(sr, 90.0, 0.7),
            ctrl: 0,
            k_pitch: smooth_coef(sr, 0.03, CONTROL),
            k_attack: smooth_coef(sr, 0.02, CONTROL),
            k_release: smooth_coef(sr, 0.035, CONTROL),
            k_formant: smooth_coef(sr, 0.04, CONTROL),
        };
        s.vib_phase = s.rng.unit();
        s.set_formants(0);
        for i in 0..4 {
            s.cur_f[i] = s.target_f[i];
        }
        s
    }

    fn set_formants(&mut self, vowel: u8) {
        let v = usize::from(vowel).min(FORMANTS.len() - 1);
        for i in 0..4 {
            self.target_f[i] = FORMANTS[v][i] * self.style.formant_scale;
            self.target_bw[i] = BANDWIDTHS[v][i];
        }
    }

    /// Control-rate update: which note sounds, and the smoothed pitch,
    /// level, vibrato and formants.
    fn control(&mut self) {
        while self.idx < self.notes.len() && self.notes[self.idx].end <= self.t {
            self.idx += 1;
        }
        let current = self
            .notes
            .get(self.idx)
            .copied()
            .filter(|n| n.start <= self.t);
        match current {
            Some(n) => {
                if n.start != self.note_start || self.target_amp == 0.0 {
                    self.note_start = n.start;
                    let target = midi_hz(f64::from(n.midi)).log2();
                    if self.amp < 0.05 {
                        // Onset after silence: start slightly flat and scoop
                        // up, as singers do, rather than gliding from the
                        // previous line's last note.
                        self.log_hz = target - 0.03;
                    }
                    self.target_log_hz = target;
                    self.set_formants(n.vowel);
                    if n.consonant {
                        // Fricatives sit about 10 dB under the vowels.
                        self.burst = 0.15;
                    }
                    // Louder notes: a shorter open phase, a brighter source.
                    self.open_quotient = 0.7 - 0.25 * f64::from(n.vel);
                }
                self.target_amp = f64::from(n.vel);
            }
            None => self.target_amp = 0.0,
        }
        let k = if self.target_amp > self.amp {
            self.k_attack
        } else {
            self.k_release
        };
        self.amp += (self.target_amp - self.amp) * k;
        // −60 dB: end the note's tail so the breath between lines is silent.
        if self.target_amp == 0.0 && self.amp < 1e-3 {
            self.amp = 0.0;
        }
        self.log_hz += (self.target_log_hz - self.log_hz) * self.k_pitch;
        // Slow random pitch drift of a few cents.
        if self.rng.chance(0.02) {
            self.drift_target = self.rng.jitter(0.006);
        }
        self.drift += (self.drift_target - self.drift) * 0.02;
        // Vibrato fades in after the note's onset.
        let age = (self.t.saturating_sub(self.note_start)) as f64 / self.sr;
        let depth = ((age - 0.15) / 0.35).clamp(0.0, 1.0) * self.style.vibrato_cents / 1200.0;
        self.vib_phase =
            (self.vib_phase + self.style.vibrato_hz * CONTROL as f64 / self.sr).fract();
        let log_hz = self.log_hz + self.drift + depth * (self.vib_phase * TAU).sin();
        self.inc = log_hz.exp2() / self.sr;
        for i in 0..4 {
            self.cur_f[i] += (self.target_f[i] - self.cur_f[i]) * self.k_formant;
            self.cur_bw[i] += (self.target_bw[i] - self.cur_bw[i]) * self.k_formant;
            self.formants[i].set(self.sr, self.cur_f[i], self.cur_bw[i]);
        }
    }

    /// Rosenberg's glottal flow: a raised-cosine opening over `0.75·oq` of
    /// the period and a quarter-cosine closing over the rest of `oq`.
    #[inline(always)]
    fn flow(&self, phase: f64) -> f64 {
        let tp = self.open_quotient * 0.75;
        let tn = self.open_quotient * 0.25;
        if phase < tp {
            0.5 * (1.0 - (PI * phase / tp).cos())
        } else if phase < tp + tn {
            (0.5 * PI * (phase - tp) / tn).cos()
        } else {
            0.0
        }
    }
}

impl Voice for Singer {
    fn render(&mut self, out: &mut [f32]) -> bool {
        for o in out.iter_mut() {
            if self.ctrl == 0 {
                self.control();
                self.ctrl = CONTROL;
                if self.amp == 0.0 && self.burst < 1e-5 {
                    for f in &mut self.formants {
                        f.settle();
                    }
                }
            }
            self.ctrl -= 1;
            self.t += 1;
            if self.amp == 0.0 && self.burst < 1e-5 {
                // Silence between lines: keep the filters quiet and cheap.
                self.prev_flow = 0.0;
                continue;
            }
            self.phase += self.inc;
            if self.phase >= 1.0 {
                self.phase -= 1.0;
            }
            let flow = self.flow(self.phase) as f32;
            // Differentiating the flow models radiation from the lips; it
            // also scales the source with pitch, as real voices get louder
            // with pitch.
            let dflow = (flow - self.prev_flow) * 1.5;
            self.prev_flow = flow;
            let open = if self.phase < self.open_quotient {
                1.0
            } else {
                0.3
            };
            let asp = self.noise.next() * self.style.breath * open * 0.5;
            let src = self.tilt.process(dflow + asp) * self.amp as f32;
            let mut y = src;
            for f in &mut self.formants {
                y = f.process(y);
            }
            let b = self.burst_hp.process(self.noise.next()) * self.burst;
            self.burst *= self.burst_decay;
            *o += self.hp.process(y + b);
        }
        // The voice lasts the whole song; the renderer drops it at the end.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sings_the_note_and_rests_between_notes() {
        let sr = 48_000.0;
        let notes = vec![
            SungNote {
                start: 4800,
                end: 28_800,
                midi: 57.0,
                vowel: 0,
                consonant: true,
                vel: 0.9,
            },
            SungNote {
                start: 48_000,
                end: 72_000,
                midi: 60.0,
                vowel: 3,
                consonant: false,
                vel: 0.9,
            },
        ];
        let style = SingerStyle {
            formant_scale: 1.0,
            breath: 0.1,
            vibrato_hz: 5.5,
            vibrato_cents: 30.0,
            tilt_hz: 4000.0,
        };
        let mut s = Singer::new(sr, notes, style, 9);
        let mut x = vec![0.0f32; 76_800];
        s.render(&mut x);
        assert!(x.iter().all(|v| v.is_finite()));
        let rms = |a: usize, b: usize| {
            (x[a..b].iter().map(|v| v * v).sum::<f32>() / (b - a) as f32).sqrt()
        };
        let sung = rms(9600, 24_000);
        let rest = rms(40_000, 46_000);
        assert!(sung > 1e-3, "sung {sung}");
        assert!(rest < sung * 1e-3, "rest {rest} vs sung {sung}");
        // Period of the first note (A3, 220 Hz) by autocorrelation.
        let seg = &x[12_000..16_096];
        let ac = |lag: usize| (0..2048).map(|i| seg[i] * seg[i + lag]).sum::<f32>();
        let best = (96..480).max_by(|&a, &b| ac(a).total_cmp(&ac(b))).unwrap();
        let hz = sr / best as f64;
        assert!((hz - 220.0).abs() < 12.0, "f0 {hz}");
    }
}
