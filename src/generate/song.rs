//! The shared musical material of a generated session: tempo, key, a
//! four-chord progression, and the parts the instruments play.
//!
//! Time is counted in sixteenth-note *steps* from the start; a bar has 16.
//! Phrases are four bars long and end with a drum fill; vocal lines are two
//! bars long with a three-beat breath at the end, so vocal tracks have
//! real gaps.
//!
//! Every track must have material within its first second, however short
//! the song: the level calibration measures each file's loudness, and a
//! track that is silent (or bleed only) would be scaled to absurd levels.
//! So sparse parts are anchored at the start or at the end of the song too:
//! the FX track opens with an impact, and the toms play a fill in the last
//! two beats of the song as well as at the end of every phrase.

use super::rng::Rng;

const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
const MINOR: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];

/// Common four-chord progressions as scale degrees (0 = tonic):
/// I–V–vi–IV, I–vi–IV–V, vi–IV–I–V, I–IV–vi–V.
const MAJOR_PROGRESSIONS: [[i32; 4]; 4] = [[0, 4, 5, 3], [0, 5, 3, 4], [5, 3, 0, 4], [0, 3, 5, 4]];
/// i–VI–III–VII, i–iv–VII–III, i–VII–VI–VII, i–iv–v–i.
const MINOR_PROGRESSIONS: [[i32; 4]; 4] = [[0, 5, 2, 6], [0, 3, 6, 2], [0, 6, 5, 6], [0, 3, 4, 0]];

const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// Sixteenth steps per bar (4/4).
pub(crate) const BAR: i64 = 16;
/// Bars per phrase; phrases end with a fill.
const PHRASE_BARS: i64 = 4;
/// Where a two-bar vocal line ends (in steps from its start): the line
/// starts after a one-eighth pickup and leaves three beats for a breath,
/// so even a four-second song at 100 BPM has a gap in the vocals.
pub(crate) const LINE_END: f64 = 22.0;

/// Drum kit pieces. Toms are numbered from the highest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Kick,
    Snare,
    HatClosed,
    HatOpen,
    Tom(u8),
    Crash,
}

/// One drum hit. The seed fixes the hit's noise and tuning variation, so
/// every microphone that hears it (close mic, overheads, room, bleed)
/// renders the same waveform and the tracks are coherent, as a real kit's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hit {
    pub piece: Piece,
    pub start: u64,
    pub vel: f32,
    pub seed: u64,
}

/// A note of a pitched part.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Note {
    pub start: u64,
    pub len: u64,
    pub midi: f32,
    pub vel: f32,
}

/// A note of the lead melody in scale degrees, before it is placed in a
/// singer's register.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MelodyNote {
    pub step: f64,
    pub len: f64,
    pub deg: i32,
    pub vowel: u8,
    pub consonant: bool,
    pub vel: f32,
}

/// A sung note, ready for the voice synthesiser.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SungNote {
    pub start: u64,
    pub end: u64,
    pub midi: f32,
    pub vowel: u8,
    pub consonant: bool,
    pub vel: f32,
}

/// Tempo, key and harmony of one song, plus its length in samples.
#[derive(Clone, Debug)]
pub(crate) struct Song {
    pub sr: f64,
    pub bpm: f64,
    /// Length in samples.
    pub len: u64,
    /// Pitch class of the tonic, 0 = C.
    pub tonic: i32,
    pub minor: bool,
    progression: [i32; 4],
    /// Toms in the kit (at least two).
    pub n_toms: usize,
    /// Kick pattern variant.
    groove: usize,
    /// The seed every part of the song derives its generator from.
    pub seed: u64,
    step: f64,
}

impl Song {
    /// A song drawn from `seed`: tempo 100–130 BPM, any key, major or minor.
    pub(crate) fn new(seed: u64, sr: u32, seconds: f64, n_toms: usize) -> Song {
        let mut rng = Rng::stream(seed, 0x534F_4E47);
        let bpm = 100.0 + rng.below(31) as f64;
        let tonic = rng.below(12) as i32;
        let minor = rng.chance(0.5);
        let progression = if minor {
            rng.pick(&MINOR_PROGRESSIONS)
        } else {
            rng.pick(&MAJOR_PROGRESSIONS)
        };
        let groove = rng.below(4);
        let sr = f64::from(sr);
        Song {
            sr,
            bpm,
            len: (seconds * sr).round() as u64,
            tonic,
            minor,
            progression,
            n_toms: n_toms.max(2),
            groove,
            seed,
            step: sr * 60.0 / bpm / 4.0,
        }
    }

    /// A song that differs from `other` in tempo (by at least 8 BPM) and key
    /// (a fourth away): the reference mix must not be the session's music.
    pub(crate) fn contrasting(seed: u64, other: &Song, seconds: f64) -> Song {
        let mut s = Song::new(seed, other.sr as u32, seconds, 2);
        if (s.bpm - other.bpm).abs() < 8.0 {
            s.bpm = if other.bpm < 115.0 {
                other.bpm + 12.0
            } else {
                other.bpm - 12.0
            };
        }
        if s.tonic == other.tonic {
            s.tonic = (other.tonic + 5) % 12;
        }
        s.step = s.sr * 60.0 / s.bpm / 4.0;
        s
    }

    /// "A minor", "Eb major".
    pub(crate) fn key_name(&self) -> String {
        format!(
            "{} {}",
            NOTE_NAMES[self.tonic as usize],
            if self.minor { "minor" } else { "major" }
        )
    }

    /// Samples per sixteenth note.
    pub(crate) fn step_samples(&self) -> f64 {
        self.step
    }

    /// Number of steps that start inside the song.
    pub(crate) fn steps(&self) -> i64 {
        (self.len as f64 / self.step).ceil() as i64
    }

    /// Number of bars that start inside the song.
    pub(crate) fn bars(&self) -> i64 {
        (self.steps() + BAR - 1) / BAR
    }

    /// Sample position of (fractional) step `step`.
    pub(crate) fn at(&self, step: f64) -> u64 {
        (step * self.step).round().max(0.0) as u64
    }

    /// Samples in `steps` steps.
    pub(crate) fn dur(&self, steps: f64) -> u64 {
        (steps * self.step).round().max(1.0) as u64
    }

    fn scale(&self) -> &'static [i32; 7] {
        if self.minor {
            &MINOR
        } else {
            &MAJOR
        }
    }

    /// MIDI note of scale degree `deg` (any integer) above the tonic `base`.
    pub(crate) fn degree_midi(&self, deg: i32, base: i32) -> i32 {
        base + 12 * deg.div_euclid(7) + self.scale()[deg.rem_euclid(7) as usize]
    }

    /// The tonic's MIDI note in `[lo, lo + 12)`.
    pub(crate) fn tonic_from(&self, lo: i32) -> i32 {
        lo + (self.tonic - lo).rem_euclid(12)
    }

    /// Scale degree of the chord root in `bar` (one chord per bar).
    pub(crate) fn chord_degree(&self, bar: i64) -> i32 {
        self.progression[bar.rem_euclid(4) as usize]
    }

    /// Pitch classes of the triad in `bar`: root, third, fifth.
    pub(crate) fn chord_pcs(&self, bar: i64) -> [i32; 3] {
        let d = self.chord_degree(bar);
        [0, 2, 4].map(|k| self.degree_midi(d + k, self.tonic).rem_euclid(12))
    }

    /// The chord root of `bar` as a MIDI note in `[lo, lo + 12)`.
    pub(crate) fn root_from(&self, bar: i64, lo: i32) -> i32 {
        lo + (self.chord_pcs(bar)[0] - lo).rem_euclid(12)
    }

    /// A close voicing of `bar`'s chord: each chord tone at the octave
    /// nearest `center`, plus the root an octave up when `n` is 4. Chords
    /// voiced around a fixed centre move smoothly, as a player's would.
    pub(crate) fn voicing(&self, bar: i64, center: i32, n: usize) -> Vec<i32> {
        let pcs = self.chord_pcs(bar);
        let mut notes: Vec<i32> = pcs
            .iter()
            .map(|&pc| center - 6 + (pc - (center - 6)).rem_euclid(12))
            .collect();
        notes.sort_unstable();
        if n > 3 {
            notes.push(notes[0] + 12);
        }
        notes.truncate(n.max(1));
        notes
    }

    /// Whether step `s` lies in a drum fill: its position in the fill and
    /// the fill's length in steps. Fills take the last two beats of every
    /// phrase and of the song (all of a song shorter than two beats).
    pub(crate) fn fill(&self, s: i64) -> Option<(i64, i64)> {
        let total = self.steps();
        let w = total.min(8);
        if s >= total - w {
            return Some((s - (total - w), w));
        }
        let bar = s.div_euclid(BAR);
        let k = s.rem_euclid(BAR);
        (bar % PHRASE_BARS == PHRASE_BARS - 1 && k >= 8).then_some((k - 8, 8))
    }

    /// The drum performance shared by every drum microphone.
    pub(crate) fn drum_hits(&self) -> Vec<Hit> {
        let mut rng = Rng::stream(self.seed, 0x4452_554D);
        let jitter = 0.003 * self.sr;
        let mut hits = Vec::new();
        let mut push = |rng: &mut Rng, piece: Piece, s: i64, vel: f64| {
            let t = (s as f64 * self.step + rng.jitter(jitter)).round().max(0.0) as u64;
            let vel = (vel * (1.0 + rng.jitter(0.08))).clamp(0.05, 1.0) as f32;
            let seed = rng.next_u64();
            if t < self.len {
                hits.push(Hit {
                    piece,
                    start: t,
                    vel,
                    seed,
                });
            }
        };
        // Kick patterns (steps within a bar) for even and odd bars.
        let kicks: [(&[i64], &[i64]); 4] = [
            (&[0, 8], &[0, 8, 10]),
            (&[0, 6, 8], &[0, 8, 11]),
            (&[0, 8, 10], &[0, 3, 8, 10]),
            (&[0, 7, 8], &[0, 8, 14]),
        ];
        let (even, odd) = kicks[self.groove];
        let n_toms = self.n_toms as i64;
        for s in 0..self.steps() {
            let bar = s / BAR;
            let k = s % BAR;
            if k == 0 && bar % PHRASE_BARS == 0 {
                push(&mut rng, Piece::Crash, s, 0.9);
            }
            if let Some((j, w)) = self.fill(s) {
                // Two snare hits, then the toms from high to low; every tom
                // plays even in a short fill (several at once if need be).
                // The hi-hat keeps time with the foot.
                if k % 2 == 0 {
                    push(&mut rng, Piece::HatClosed, s, 0.45);
                }
                match j {
                    0 => {
                        push(&mut rng, Piece::Kick, s, 0.9);
                        push(&mut rng, Piece::Snare, s, 0.75);
                    }
                    1 => push(&mut rng, Piece::Snare, s, 0.85),
                    _ => {
                        let (i, m) = (j - 2, w - 2);
                        let mut toms: Vec<i64> =
                            (0..n_toms).filter(|t| t * m / n_toms == i).collect();
                        let main = i * n_toms / m;
                        if !toms.contains(&main) {
                            toms.push(main);
                        }
                        for t in toms {
                            push(&mut rng, Piece::Tom(t as u8), s, 0.8 + 0.03 * j as f64);
                        }
                    }
                }
                continue;
            }
            let pattern = if bar % 2 == 0 { even } else { odd };
            if pattern.contains(&k) {
                push(&mut rng, Piece::Kick, s, if k == 0 { 1.0 } else { 0.85 });
            }
            if k == 4 || k == 12 {
                push(&mut rng, Piece::Snare, s, 1.0);
            } else if (k == 7 || k == 15) && rng.chance(0.25) {
                push(&mut rng, Piece::Snare, s, 0.22);
            }
            if k % 2 == 0 {
                if k == 14 && bar % 2 == 1 {
                    push(&mut rng, Piece::HatOpen, s, 0.75);
                } else {
                    push(
                        &mut rng,
                        Piece::HatClosed,
                        s,
                        if k % 4 == 0 { 0.9 } else { 0.6 },
                    );
                }
            }
        }
        hits
    }

    /// The bass line: eighth notes on the chord root, with octave or fifth
    /// moves and a passing note into the next chord. Every note stays
    /// between E1 and A2 (41–110 Hz), the register of a bass guitar's
    /// fundamental.
    pub(crate) fn bass_line(&self) -> Vec<Note> {
        const LO: i32 = 28;
        const HI: i32 = 45;
        let mut rng = Rng::stream(self.seed, 0x4241_5353);
        let fit = |m: i32| {
            if m > HI {
                m - 12
            } else if m < LO {
                m + 12
            } else {
                m
            }
        };
        let mut notes = Vec::new();
        for bar in 0..self.bars() {
            let root = self.root_from(bar, LO);
            let next_root = self.root_from(bar + 1, LO);
            let fill = self.fill(bar * BAR + 8).is_some();
            for k in (0..BAR).step_by(2) {
                let s = bar * BAR + k;
                if s >= self.steps() {
                    break;
                }
                if fill && k > 8 {
                    break;
                }
                if (k == 2 || k == 10) && rng.chance(0.2) {
                    continue;
                }
                let midi = match k {
                    6 if rng.chance(0.5) => fit(root + 12),
                    6 => fit(root + 7),
                    14 if next_root != root => {
                        fit(next_root + if rng.chance(0.5) { 2 } else { -1 })
                    }
                    _ => root,
                };
                let len = if fill && k == 8 { 8.0 } else { 1.8 };
                let t = (s as f64 * self.step + rng.jitter(0.002 * self.sr)).max(0.0);
                notes.push(Note {
                    start: t.round() as u64,
                    len: self.dur(len),
                    midi: midi.clamp(LO, HI) as f32,
                    vel: if k % 4 == 0 { 1.0 } else { 0.8 } * (1.0 + rng.jitter(0.05)) as f32,
                });
            }
        }
        notes
    }

    /// The lead melody in scale degrees: two-bar lines that start after a
    /// pickup, move by step with chord tones on the beats, and end on a long
    /// chord tone followed by three beats of rest.
    pub(crate) fn melody(&self) -> Vec<MelodyNote> {
        let mut rng = Rng::stream(self.seed, 0x4D45_4C4F);
        const VOWELS: [u8; 9] = [0, 0, 0, 1, 1, 2, 3, 3, 4];
        let (lo, hi) = (-1, 7);
        let mut out = Vec::new();
        let phrases = (self.steps() + 31) / 32;
        let mut deg = 2;
        for p in 0..phrases {
            let base = (p * 32) as f64;
            let mut s = 2.0;
            let end = LINE_END;
            let mut first = true;
            while s < end {
                let bar = p * 2 + (s as i64) / BAR;
                let chord = self.chord_degree(bar);
                let mut len: f64 = rng.pick(&[2.0, 2.0, 2.0, 3.0, 4.0, 4.0, 1.0]);
                if !first && s + len + 2.0 <= end && rng.chance(0.08) {
                    s += 2.0;
                    continue;
                }
                let strong = (s as i64) % 4 == 0;
                if first || strong {
                    // The chord tone nearest the current degree.
                    deg = [chord, chord + 2, chord + 4, chord - 3, chord + 7]
                        .into_iter()
                        .filter(|d| (lo..=hi).contains(d))
                        .min_by_key(|d| (d - deg).abs())
                        .unwrap_or(deg);
                } else {
                    deg = (deg + rng.pick(&[-2, -1, -1, 0, 1, 1, 2])).clamp(lo, hi);
                }
                if s + len > end - 3.0 {
                    // The last note of the line is long.
                    len = end - s;
                }
                let vel = (0.8 + 0.15 * (s / end) + rng.jitter(0.05)) as f32;
                out.push(MelodyNote {
                    step: base + s,
                    len,
                    deg,
                    vowel: rng.pick(&VOWELS),
                    consonant: rng.chance(0.5),
                    vel,
                });
                s += len;
                first = false;
            }
        }
        out
    }

    /// Places melody notes in a singer's register: `offset` scale degrees
    /// from the melody (2 = a third above), tonic at `base`, kept within
    /// `lo..=hi` by octave moves; notes past the song's end are dropped.
    pub(crate) fn sing(
        &self,
        melody: &[MelodyNote],
        offset: i32,
        base: i32,
        lo: i32,
        hi: i32,
    ) -> Vec<SungNote> {
        melody
            .iter()
            .filter_map(|m| {
                let start = self.at(m.step);
                if start >= self.len {
                    return None;
                }
                let mut midi = self.degree_midi(m.deg + offset, base);
                while midi > hi {
                    midi -= 12;
                }
                while midi < lo {
                    midi += 12;
                }
                Some(SungNote {
                    start,
                    end: (start + self.dur(m.len)).min(self.len),
                    midi: midi as f32,
                    vowel: m.vowel,
                    consonant: m.consonant,
                    vel: m.vel,
                })
            })
            .collect()
    }

    /// A simple melody for an instrument (flute, synth lead): two-bar lines
    /// of eighths and quarters with a rest at the end of each line, chord
    /// tones on the beat, within degrees `lo..=hi` above tonic `base`.
    pub(crate) fn instrument_melody(&self, rng: &mut Rng, base: i32, long: bool) -> Vec<Note> {
        let mut out = Vec::new();
        let phrases = (self.steps() + 31) / 32;
        let mut deg = 4;
        let lengths: &[f64] = if long {
            &[8.0, 8.0, 4.0, 16.0, 6.0]
        } else {
            &[2.0, 2.0, 4.0, 2.0, 6.0, 4.0, 1.0]
        };
        for p in 0..phrases {
            let mut s = 0.0;
            let end = if long { 30.0 } else { 22.0 };
            while s < end {
                let bar = p * 2 + (s as i64) / BAR;
                let chord = self.chord_degree(bar);
                let len = rng.pick(lengths).min(end - s);
                if (s as i64) % 4 == 0 {
                    deg = [chord, chord + 2, chord + 4, chord + 7]
                        .into_iter()
                        .min_by_key(|d| (d - deg).abs())
                        .unwrap_or(deg);
                } else {
                    deg += rng.pick(&[-2, -1, 1, 1, 2]);
                }
                deg = deg.clamp(0, 7);
                let step = (p * 32) as f64 + s;
                let start = self.at(step);
                if start < self.len {
                    out.push(Note {
                        start,
                        len: self.dur(len * 0.95),
                        midi: self.degree_midi(deg, base) as f32,
                        vel: (0.75 + rng.jitter(0.15)) as f32,
                    });
                }
                s += len;
            }
        }
        out
    }

    /// One chord per bar, voiced around `center` with `n` notes, starting
    /// at each bar and lasting `len_steps` steps.
    pub(crate) fn chord_holds(&self, center: i32, n: usize, len_steps: f64) -> Vec<Note> {
        let mut out = Vec::new();
        for bar in 0..self.bars() {
            let start = self.at((bar * BAR) as f64);
            for m in self.voicing(bar, center, n) {
                out.push(Note {
                    start,
                    len: self.dur(len_steps),
                    midi: m as f32,
                    vel: 0.8,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempo_key_and_grid() {
        let s = Song::new(1, 48_000, 10.0, 2);
        assert!((100.0..=130.0).contains(&s.bpm));
        assert_eq!(s.len, 480_000);
        assert_eq!(
            s.at(4.0),
            (4.0 * 48_000.0 * 60.0 / s.bpm / 4.0_f64).round() as u64
        );
        let c = Song::contrasting(2, &s, 10.0);
        assert!((c.bpm - s.bpm).abs() >= 8.0);
        assert_ne!(c.tonic, s.tonic);
    }

    #[test]
    fn voicings_are_the_chord() {
        let s = Song::new(3, 48_000, 10.0, 2);
        for bar in 0..4 {
            let pcs = s.chord_pcs(bar);
            let v = s.voicing(bar, 60, 4);
            assert_eq!(v.len(), 4);
            assert!(v.iter().all(|m| pcs.contains(&m.rem_euclid(12))));
            assert!(v.iter().all(|m| (54..=78).contains(m)), "{v:?}");
        }
    }

    #[test]
    fn bass_stays_in_register_and_toms_play_even_in_short_songs() {
        for seed in 0..20 {
            let s = Song::new(seed, 48_000, 1.0, 4);
            assert!(s
                .bass_line()
                .iter()
                .all(|n| (28.0..=45.0).contains(&n.midi)));
            let hits = s.drum_hits();
            for t in 0..4u8 {
                assert!(
                    hits.iter().any(|h| h.piece == Piece::Tom(t)),
                    "seed {seed}: tom {t} silent"
                );
            }
            assert!(hits.iter().any(|h| h.piece == Piece::Kick));
            assert!(hits.iter().all(|h| h.start < s.len));
        }
    }

    #[test]
    fn melody_has_breaths() {
        let s = Song::new(5, 48_000, 20.0, 2);
        let m = s.melody();
        assert!(!m.is_empty());
        // Every line leaves the steps from LINE_END to the next pickup free.
        for n in &m {
            let within = n.step % 32.0;
            assert!(within >= 2.0 && within + n.len <= LINE_END + 1e-9, "{n:?}");
        }
    }
}
