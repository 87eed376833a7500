//! Instrument classes, the session's track list, and what each track plays.
//!
//! The track list comes from a 24-track template in the shape of a real
//! band session. Fewer tracks take the template's most important entries
//! (kick, bass, keys, lead vocal first, so even four tracks cover drums,
//! bass, harmony and vocals); more tracks add further instances ("Gtr 3",
//! "BV 3", "Perc 2", ...) cycling over the instruments that real large
//! sessions multiply, each with its own part variant and seed.

use super::dsp::{midi_hz, pan_gains, Biquad};
use super::rng::{mix, Rng};
use super::song::{MelodyNote, Note, Piece, Song, SungNote, BAR, LINE_END};
use super::vocal::{Singer, SingerStyle};
use super::voices::{
    Amp, Eq, Event, Flute, FxKind, Kick, Kit, Metal, Organ, Perc, PercKind, Piano, Renderer, Room,
    Snare, Strum, SubParams, Subtractive, Sweep, Tom, Tremolo, Voice, Wave, Widen,
};
use serde::Serialize;
use std::sync::Arc;

/// The instrument classes of generated tracks, close to the classes of
/// Diff-MST's knowledge-engineering table (ALGORITHMS.md §2.6) but split
/// finer, so that grouping and per-class rules have something to recognise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    Kick,
    Snare,
    HiHat,
    Tom,
    Overheads,
    Room,
    Percussion,
    Bass,
    ElectricGuitar,
    AcousticGuitar,
    Piano,
    Organ,
    Synth,
    Pad,
    LeadVocal,
    BackingVocal,
    Strings,
    Brass,
    Flute,
    Fx,
}

impl Instrument {
    /// Every class, in declaration order.
    pub const ALL: [Instrument; 20] = [
        Instrument::Kick,
        Instrument::Snare,
        Instrument::HiHat,
        Instrument::Tom,
        Instrument::Overheads,
        Instrument::Room,
        Instrument::Percussion,
        Instrument::Bass,
        Instrument::ElectricGuitar,
        Instrument::AcousticGuitar,
        Instrument::Piano,
        Instrument::Organ,
        Instrument::Synth,
        Instrument::Pad,
        Instrument::LeadVocal,
        Instrument::BackingVocal,
        Instrument::Strings,
        Instrument::Brass,
        Instrument::Flute,
        Instrument::Fx,
    ];

    /// A stable lower-case identifier, the same as the serde spelling
    /// (`"hi_hat"`, `"lead_vocal"`).
    pub fn name(self) -> &'static str {
        match self {
            Instrument::Kick => "kick",
            Instrument::Snare => "snare",
            Instrument::HiHat => "hi_hat",
            Instrument::Tom => "tom",
            Instrument::Overheads => "overheads",
            Instrument::Room => "room",
            Instrument::Percussion => "percussion",
            Instrument::Bass => "bass",
            Instrument::ElectricGuitar => "electric_guitar",
            Instrument::AcousticGuitar => "acoustic_guitar",
            Instrument::Piano => "piano",
            Instrument::Organ => "organ",
            Instrument::Synth => "synth",
            Instrument::Pad => "pad",
            Instrument::LeadVocal => "lead_vocal",
            Instrument::BackingVocal => "backing_vocal",
            Instrument::Strings => "strings",
            Instrument::Brass => "brass",
            Instrument::Flute => "flute",
            Instrument::Fx => "fx",
        }
    }

    /// The integrated loudness (BS.1770, LUFS) a track of this class has
    /// when it is *correctly* levelled, i.e. before its deliberate error.
    ///
    /// The offsets from the lead vocal follow the midpoints of Diff-MST's
    /// knowledge-engineering gains (ALGORITHMS.md §2.6): bass and guitar
    /// −2.5 dB, snare −3, hats and keys −4, kick −4.5, aux percussion and
    /// room −6.5. The lead vocal sits at −20 LUFS, a usual tracking level
    /// that leaves peak headroom for the +6 dB worst-case error.
    pub fn nominal_lufs(self) -> f64 {
        const LEAD: f64 = -20.0;
        LEAD + match self {
            Instrument::LeadVocal => 0.0,
            Instrument::BackingVocal => -2.5,
            Instrument::Bass | Instrument::ElectricGuitar => -2.5,
            Instrument::AcousticGuitar => -3.0,
            Instrument::Snare | Instrument::Tom => -3.0,
            Instrument::HiHat | Instrument::Overheads => -4.0,
            Instrument::Kick => -4.5,
            Instrument::Piano | Instrument::Synth => -4.0,
            Instrument::Organ | Instrument::Pad | Instrument::Strings => -4.5,
            Instrument::Brass | Instrument::Flute => -5.0,
            Instrument::Percussion | Instrument::Room => -6.5,
            Instrument::Fx => -7.0,
        }
    }

    /// The folder this class goes in when folders are enabled.
    pub(crate) fn folder(self) -> Option<&'static str> {
        match self {
            Instrument::Kick
            | Instrument::Snare
            | Instrument::HiHat
            | Instrument::Tom
            | Instrument::Overheads
            | Instrument::Room => Some("Drums"),
            Instrument::LeadVocal | Instrument::BackingVocal => Some("Vocals"),
            _ => None,
        }
    }

    /// Position of the class's block in the session, top to bottom: drums,
    /// percussion, bass, guitars, keys, synths, orchestral, FX, vocals.
    fn section(self) -> u8 {
        match self {
            Instrument::Kick
            | Instrument::Snare
            | Instrument::HiHat
            | Instrument::Tom
            | Instrument::Overheads
            | Instrument::Room => 0,
            Instrument::Percussion => 1,
            Instrument::Bass => 2,
            Instrument::ElectricGuitar | Instrument::AcousticGuitar => 3,
            Instrument::Piano | Instrument::Organ => 4,
            Instrument::Synth | Instrument::Pad => 5,
            Instrument::Strings | Instrument::Brass | Instrument::Flute => 6,
            Instrument::Fx => 7,
            Instrument::LeadVocal | Instrument::BackingVocal => 8,
        }
    }

    fn rank(self) -> usize {
        Instrument::ALL.iter().position(|&i| i == self).unwrap_or(0)
    }
}

/// One entry of the base template: class, name, channels, pan, and the
/// priority with which it is kept when fewer tracks are asked for.
struct TemplateEntry {
    instrument: Instrument,
    name: &'static str,
    channels: u16,
    pan: f64,
    priority: u8,
}

const fn entry(
    instrument: Instrument,
    name: &'static str,
    channels: u16,
    pan: f64,
    priority: u8,
) -> TemplateEntry {
    TemplateEntry {
        instrument,
        name,
        channels,
        pan,
        priority,
    }
}

/// The 24-track base session. Priorities: the first four cover drums,
/// bass, a harmonic instrument and the lead vocal.
const TEMPLATE: [TemplateEntry; 24] = [
    entry(Instrument::Kick, "Kick In", 1, 0.0, 1),
    entry(Instrument::Snare, "Snare Top", 1, 0.05, 5),
    entry(Instrument::HiHat, "HH", 1, -0.35, 6),
    entry(Instrument::Tom, "Tom 1", 1, -0.2, 11),
    entry(Instrument::Tom, "Tom 2", 1, 0.45, 14),
    entry(Instrument::Overheads, "Overheads", 2, 0.0, 9),
    entry(Instrument::Room, "Room", 2, 0.0, 13),
    entry(Instrument::Percussion, "Perc", 1, 0.6, 18),
    entry(Instrument::Bass, "Bass DI", 1, 0.0, 2),
    entry(Instrument::Bass, "Bass Amp", 1, 0.0, 21),
    entry(Instrument::ElectricGuitar, "Gtr L", 1, -0.7, 7),
    entry(Instrument::ElectricGuitar, "Gtr R", 1, 0.7, 8),
    entry(Instrument::AcousticGuitar, "Ac Gtr", 2, 0.0, 16),
    entry(Instrument::Piano, "Keys", 2, 0.0, 3),
    entry(Instrument::Organ, "Organ", 1, -0.3, 20),
    entry(Instrument::Synth, "Synth", 1, 0.3, 17),
    entry(Instrument::Pad, "Pad", 2, 0.0, 12),
    entry(Instrument::Strings, "Strings", 2, 0.0, 19),
    entry(Instrument::Brass, "Brass", 1, 0.35, 22),
    entry(Instrument::Flute, "Flute", 1, -0.4, 23),
    entry(Instrument::Fx, "FX", 2, 0.0, 24),
    entry(Instrument::LeadVocal, "Lead Vox", 1, 0.0, 4),
    entry(Instrument::BackingVocal, "BV 1", 1, -0.5, 10),
    entry(Instrument::BackingVocal, "BV 2", 1, 0.5, 15),
];

/// Instances added beyond the template, in turn: name stem, channels, and
/// the most instances of the class a session gets (a kit with twenty toms
/// or ten organs is not a session anyone records).
const EXTRAS: [(Instrument, &str, u16, usize); 13] = [
    (Instrument::ElectricGuitar, "Gtr", 1, usize::MAX),
    (Instrument::BackingVocal, "BV", 1, usize::MAX),
    (Instrument::Percussion, "Perc", 1, usize::MAX),
    (Instrument::Synth, "Synth", 1, usize::MAX),
    (Instrument::Strings, "Strings", 2, usize::MAX),
    (Instrument::AcousticGuitar, "Ac Gtr", 1, usize::MAX),
    (Instrument::Brass, "Brass", 1, usize::MAX),
    (Instrument::Pad, "Pad", 2, usize::MAX),
    (Instrument::Tom, "Tom", 1, 4),
    (Instrument::Piano, "Keys", 2, usize::MAX),
    (Instrument::Fx, "FX", 2, 8),
    (Instrument::Flute, "Flute", 1, 6),
    (Instrument::Organ, "Organ", 1, 4),
];

/// A track to generate.
#[derive(Clone, Debug)]
pub(crate) struct TrackPlan {
    pub name: String,
    pub instrument: Instrument,
    /// Index among the tracks of the same class, from 0: picks the part
    /// variant (Gtr L and Gtr R are instances 0 and 1).
    pub instance: usize,
    pub channels: u16,
    /// Fader pan written to the session, −1…1.
    pub pan: f64,
    /// The track's own seed: from the session seed and the track's template
    /// slot, so a track sounds the same whatever the track count.
    pub seed: u64,
}

/// The tracks of an `n`-track session (n ≥ 1), in session order.
pub(crate) fn plan(n: usize, seed: u64) -> Vec<TrackPlan> {
    let mut order: Vec<usize> = (0..TEMPLATE.len()).collect();
    order.sort_by_key(|&i| TEMPLATE[i].priority);
    let mut slots: Vec<(usize, TrackPlan)> = Vec::new();
    let mut counts = [0usize; 20];
    // Template entries, most important first; instance numbers follow the
    // template order so that "Gtr L" is always instance 0.
    let mut keep: Vec<usize> = order.into_iter().take(n).collect();
    keep.sort_unstable();
    for i in keep {
        let e = &TEMPLATE[i];
        let k = e.instrument.rank();
        slots.push((
            i,
            TrackPlan {
                name: e.name.to_owned(),
                instrument: e.instrument,
                instance: counts[k],
                channels: e.channels,
                pan: e.pan,
                seed: mix(seed, i as u64),
            },
        ));
        counts[k] += 1;
    }
    let mut slot = TEMPLATE.len();
    let mut cycle = EXTRAS.iter().cycle();
    let mut pan_rng = Rng::stream(seed, 0x5041_4E53);
    while slots.len() < n {
        let Some(&(instrument, stem, channels, cap)) = cycle.next() else {
            break;
        };
        let k = instrument.rank();
        if counts[k] >= cap {
            continue;
        }
        let number = counts[k] + 1;
        let side = if number % 2 == 0 { 1.0 } else { -1.0 };
        let pan = if channels == 2 {
            0.0
        } else {
            side * (pan_rng.range(0.25, 0.8) * 100.0).round() / 100.0
        };
        slots.push((
            slot,
            TrackPlan {
                name: format!("{stem} {number}"),
                instrument,
                instance: counts[k],
                channels,
                pan,
                seed: mix(seed, slot as u64),
            },
        ));
        counts[k] += 1;
        slot += 1;
    }
    slots.sort_by_key(|(i, p)| (p.instrument.section(), p.instrument.rank(), p.instance, *i));
    slots.into_iter().map(|(_, p)| p).collect()
}

/// The stems of the reference mix: a compact band.
pub(crate) const REFERENCE_STEMS: [&str; 13] = [
    "Kick In",
    "Snare Top",
    "HH",
    "Overheads",
    "Bass DI",
    "Gtr L",
    "Gtr R",
    "Keys",
    "Pad",
    "Strings",
    "Lead Vox",
    "BV 1",
    "BV 2",
];

/// The material every track of one song shares.
pub(crate) struct Context {
    pub song: Song,
    kit: Arc<Kit>,
    hits: Vec<super::song::Hit>,
    bass: Vec<Note>,
    melody: Vec<MelodyNote>,
    /// The lead singer's tonic (MIDI).
    lead_base: i32,
    female: bool,
}

impl Context {
    pub(crate) fn new(song: Song) -> Context {
        let mut rng = Rng::stream(song.seed, 0x004B_4954);
        let kit = Arc::new(Kit::new(&mut rng, song.n_toms));
        Context {
            hits: song.drum_hits(),
            bass: song.bass_line(),
            melody: song.melody(),
            lead_base: song.tonic_from(48),
            female: rng.chance(0.5),
            kit,
            song,
        }
    }
}

/// Mono tracks put every voice in channel 0 at unity.
const MONO: [f32; 2] = [1.0, 0.0];

/// Builds the renderer for one track.
pub(crate) fn build(plan: &TrackPlan, ctx: &Context) -> Renderer {
    let mut rng = Rng::stream(plan.seed, 0x5041_5254);
    let (events, effects) = match plan.instrument {
        Instrument::Kick
        | Instrument::Snare
        | Instrument::HiHat
        | Instrument::Tom
        | Instrument::Overheads
        | Instrument::Room => drums(plan, ctx),
        Instrument::Percussion => percussion(plan, ctx, &mut rng),
        Instrument::Bass => bass(plan, ctx),
        Instrument::ElectricGuitar => electric_guitar(plan, ctx, &mut rng),
        Instrument::AcousticGuitar => acoustic_guitar(plan, ctx, &mut rng),
        Instrument::Piano => piano(plan, ctx, &mut rng),
        Instrument::Organ => organ(plan, ctx, &mut rng),
        Instrument::Synth => synth(plan, ctx, &mut rng),
        Instrument::Pad => pad(plan, ctx, &mut rng),
        Instrument::Strings => strings(plan, ctx, &mut rng),
        Instrument::Brass => brass(plan, ctx, &mut rng),
        Instrument::Flute => flute(plan, ctx, &mut rng),
        Instrument::Fx => fx(plan, ctx, &mut rng),
        Instrument::LeadVocal | Instrument::BackingVocal => vocal(plan, ctx, &mut rng),
    };
    Renderer::new(usize::from(plan.channels), events, effects)
}

type Part = (Vec<Event>, Vec<Box<dyn super::voices::Effect>>);

/// Gains for a voice panned to `pan` on this track (mono tracks ignore pan).
fn gains(plan: &TrackPlan, pan: f64, gain: f64) -> [f32; 2] {
    if plan.channels == 1 {
        [gain as f32, 0.0]
    } else {
        let g = pan_gains(pan);
        [g[0] * gain as f32, g[1] * gain as f32]
    }
}

/// Sample position of `step`, moved by up to ±`amount_s` like a player.
fn humanize(song: &Song, rng: &mut Rng, step: f64, amount_s: f64) -> u64 {
    (step * song.step_samples() + rng.jitter(amount_s * song.sr))
        .round()
        .max(0.0) as u64
}

fn boxed<V: Voice + 'static>(v: V) -> Box<dyn Voice> {
    Box::new(v)
}

// ---------------------------------------------------------------- drums ---

/// How one microphone hears a kit piece: level, extra distance (seconds)
/// and stereo position.
fn mic(instrument: Instrument, instance: usize, piece: Piece, n_toms: usize) -> (f64, f64, f64) {
    let tom_pan = |t: u8| -0.3 + 0.9 * f64::from(t) / (n_toms.max(2) - 1) as f64;
    match instrument {
        Instrument::Kick => match piece {
            Piece::Kick => (1.0, 0.0, 0.0),
            Piece::Snare => (0.04, 0.002, 0.0),
            _ => (0.0, 0.0, 0.0),
        },
        Instrument::Snare => match piece {
            Piece::Snare => (1.0, 0.0, 0.0),
            Piece::HatClosed | Piece::HatOpen => (0.1, 0.0015, 0.0),
            Piece::Kick => (0.05, 0.002, 0.0),
            Piece::Tom(_) => (0.05, 0.002, 0.0),
            Piece::Crash => (0.04, 0.003, 0.0),
        },
        Instrument::HiHat => match piece {
            Piece::HatClosed | Piece::HatOpen => (1.0, 0.0, 0.0),
            Piece::Snare => (0.06, 0.0015, 0.0),
            Piece::Crash => (0.05, 0.002, 0.0),
            _ => (0.0, 0.0, 0.0),
        },
        Instrument::Tom => match piece {
            Piece::Tom(t) if usize::from(t) == instance => (1.0, 0.0, 0.0),
            Piece::Tom(_) => (0.08, 0.002, 0.0),
            Piece::Snare => (0.06, 0.002, 0.0),
            Piece::Kick => (0.04, 0.002, 0.0),
            // Cymbals reach a tom mic about 30 dB down: below what matters
            // in the mix, and rendering them would cost more than the toms.
            _ => (0.0, 0.0, 0.0),
        },
        Instrument::Overheads => match piece {
            Piece::Crash => (1.0, 0.002, -0.45),
            Piece::HatClosed | Piece::HatOpen => (0.5, 0.003, -0.6),
            Piece::Snare => (0.45, 0.003, 0.05),
            Piece::Kick => (0.2, 0.004, 0.0),
            Piece::Tom(t) => (0.4, 0.003, tom_pan(t)),
        },
        Instrument::Room => match piece {
            Piece::Kick => (0.5, 0.012, 0.0),
            Piece::Snare => (0.6, 0.011, 0.1),
            Piece::Tom(t) => (0.5, 0.011, tom_pan(t) * 0.5),
            Piece::HatClosed | Piece::HatOpen => (0.3, 0.012, -0.3),
            Piece::Crash => (0.5, 0.012, -0.2),
        },
        _ => (0.0, 0.0, 0.0),
    }
}

fn drum_voice(
    sr: f64,
    kit: &Kit,
    piece: Piece,
    vel: f32,
    seed: u64,
    close: bool,
) -> Box<dyn Voice> {
    match piece {
        Piece::Kick => boxed(Kick::new(sr, kit, vel, seed, if close { 0.5 } else { 0.2 })),
        Piece::Snare => boxed(Snare::new(sr, kit, vel, seed)),
        Piece::HatClosed => boxed(Metal::new(
            sr,
            kit.hat_hz,
            0.012 + 0.012 * f64::from(vel),
            7000.0,
            0.35,
            vel,
            seed,
        )),
        Piece::HatOpen => boxed(Metal::new(sr, kit.hat_hz, 0.12, 6500.0, 0.35, vel, seed)),
        Piece::Tom(t) => {
            let hz = kit.tom_hz.get(usize::from(t)).copied().unwrap_or(100.0);
            boxed(Tom::new(sr, hz, vel, seed))
        }
        Piece::Crash => boxed(Metal::new(
            sr,
            kit.hat_hz * 1.6,
            0.5,
            3500.0,
            0.25,
            vel,
            seed,
        )),
    }
}

fn drums(plan: &TrackPlan, ctx: &Context) -> Part {
    let sr = ctx.song.sr;
    let mut events = Vec::new();
    for hit in &ctx.hits {
        let (gain, delay, pan) = mic(plan.instrument, plan.instance, hit.piece, ctx.song.n_toms);
        if gain == 0.0 {
            continue;
        }
        let close = gain >= 1.0 && plan.instrument == Instrument::Kick;
        let kit = Arc::clone(&ctx.kit);
        let (piece, vel, seed) = (hit.piece, hit.vel, hit.seed);
        let choke = if matches!(piece, Piece::HatClosed | Piece::HatOpen) {
            1
        } else {
            0
        };
        events.push(Event::new(
            hit.start + (delay * sr).round() as u64,
            gains(plan, pan, gain),
            choke,
            Box::new(move || drum_voice(sr, &kit, piece, vel, seed, close)),
        ));
    }
    let ch = usize::from(plan.channels);
    let effects: Vec<Box<dyn super::voices::Effect>> = match plan.instrument {
        Instrument::Kick => vec![Box::new(Eq::new(
            ch,
            vec![
                Biquad::highpass(sr, 28.0, 0.7),
                Biquad::peaking(sr, 3500.0, 1.0, 3.0),
            ],
        ))],
        Instrument::HiHat => vec![Box::new(Eq::new(
            ch,
            vec![Biquad::highpass(sr, 400.0, 0.7)],
        ))],
        Instrument::Overheads => vec![Box::new(Eq::new(
            ch,
            vec![
                Biquad::highpass(sr, 80.0, 0.7),
                Biquad::high_shelf(sr, 8000.0, 2.0),
            ],
        ))],
        Instrument::Room => vec![
            Box::new(Eq::new(ch, vec![Biquad::lowpass(sr, 9000.0, 0.7)])),
            Box::new(Room::new(sr, 0.55, 0.8, 0.008, 0.5, 1.2)),
        ],
        _ => vec![Box::new(Eq::new(ch, vec![Biquad::highpass(sr, 60.0, 0.7)]))],
    };
    (events, effects)
}

fn percussion(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let kind = [
        PercKind::Shaker,
        PercKind::Tambourine,
        PercKind::Conga,
        PercKind::Cowbell,
    ][plan.instance % 4];
    let low = rng.range(200.0, 250.0);
    let high = low * rng.range(1.4, 1.6);
    let mut events = Vec::new();
    for s in 0..song.steps() {
        let k = s % BAR;
        let (vel, hz) = match kind {
            PercKind::Shaker => ([0.5, 0.3, 0.75, 0.35][(k % 4) as usize], 0.0),
            PercKind::Tambourine if k % 2 == 0 => (if k == 4 || k == 12 { 1.0 } else { 0.4 }, 0.0),
            PercKind::Conga => match k {
                0 | 8 => (0.9, low),
                3 | 6 | 14 => (0.7, high),
                10 => (1.0, high),
                _ => continue,
            },
            PercKind::Cowbell if k % 4 == 0 => (0.7, 0.0),
            PercKind::Cowbell if k == 14 => (0.5, 0.0),
            _ => continue,
        };
        let vel = (vel * (1.0 + rng.jitter(0.12))) as f32;
        let seed = rng.next_u64();
        events.push(Event::new(
            humanize(song, rng, s as f64, 0.004),
            MONO,
            0,
            Box::new(move || boxed(Perc::new(sr, kind, hz, vel, seed))),
        ));
    }
    let eq = Eq::new(1, vec![Biquad::highpass(sr, 150.0, 0.7)]);
    (events, vec![Box::new(eq)])
}

// ----------------------------------------------------------------- bass ---

const BASS: SubParams = SubParams {
    wave: Wave::Saw,
    unison: 1,
    detune_cents: 0.0,
    sub: 0.45,
    cutoff_hz: 380.0,
    cutoff_env: 1.5,
    cutoff_tau: 0.12,
    key_track: 0.5,
    q: 0.8,
    attack: 0.004,
    decay_tau: 0.5,
    sustain: 0.65,
    release_tau: 0.03,
    vibrato_hz: 0.0,
    vibrato_cents: 0.0,
    vibrato_delay: 0.0,
};

fn bass(plan: &TrackPlan, ctx: &Context) -> Part {
    let sr = ctx.song.sr;
    let amp = plan.instance % 2 == 1;
    let events = ctx
        .bass
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (hz, len, vel) = (midi_hz(f64::from(n.midi)), n.len, n.vel);
            let seed = mix(ctx.song.seed, i as u64);
            Event::new(
                n.start,
                MONO,
                1,
                Box::new(move || boxed(Subtractive::new(sr, BASS, hz, len, vel, seed))),
            )
        })
        .collect();
    let effects: Vec<Box<dyn super::voices::Effect>> = if amp {
        // The amp microphone: overdriven, cabinet-filtered, more midrange.
        vec![Box::new(Amp::new(
            sr,
            1,
            3.0,
            vec![
                Biquad::lowpass(sr, 2500.0, 0.7),
                Biquad::peaking(sr, 800.0, 1.0, 4.0),
                Biquad::highpass(sr, 55.0, 0.7),
            ],
        ))]
    } else {
        vec![Box::new(Eq::new(1, vec![Biquad::highpass(sr, 32.0, 0.7)]))]
    };
    (events, effects)
}

// -------------------------------------------------------------- guitars ---

fn guitar_cab(sr: f64) -> Vec<Biquad> {
    vec![
        Biquad::highpass(sr, 90.0, 0.7),
        Biquad::peaking(sr, 1800.0, 1.0, 3.0),
        Biquad::lowpass(sr, 4500.0, 0.7),
        Biquad::lowpass(sr, 6000.0, 0.7),
    ]
}

fn strum_event(
    song: &Song,
    start: u64,
    notes: Vec<f64>,
    down: bool,
    t60: f64,
    brightness: f32,
    vel: f32,
    seed: u64,
) -> Event {
    let sr = song.sr;
    Event::new(
        start,
        MONO,
        1,
        Box::new(move || {
            boxed(Strum::new(
                sr, &notes, down, 0.008, t60, brightness, vel, seed,
            ))
        }),
    )
}

fn electric_guitar(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let variant = plan.instance % 4;
    // Later instances move up an octave every other cycle.
    let up = if (plan.instance / 4) % 2 == 1 { 12 } else { 0 };
    let mut events = Vec::new();
    for bar in 0..song.bars() {
        let root = song.root_from(bar, 40) + up;
        let fill = song.fill(bar * BAR + 8).is_some();
        match variant {
            // Gtr L / Gtr R: the same palm-muted power-chord part, played
            // twice (double-tracked), so they differ only by the take.
            0 | 1 => {
                for k in (0..BAR).step_by(2) {
                    let s = bar * BAR + k;
                    if s >= song.steps() || (fill && k > 8) {
                        break;
                    }
                    let ring = k == 0 || (fill && k == 8);
                    let notes = vec![root as f64, (root + 7) as f64, (root + 12) as f64];
                    let vel = if k % 4 == 0 { 0.95 } else { 0.75 };
                    let vel = (vel * (1.0 + rng.jitter(0.08))) as f32;
                    let t = humanize(song, rng, s as f64, 0.006);
                    let seed = rng.next_u64();
                    let t60 = if ring { 1.5 } else { 0.18 };
                    events.push(strum_event(song, t, notes, true, t60, 0.8, vel, seed));
                }
            }
            // Clean arpeggio: single notes that ring into each other.
            2 => {
                let chord = song.voicing(bar, 62 + up, 4);
                for (j, k) in (0..BAR).step_by(2).enumerate() {
                    let s = bar * BAR + k;
                    if s >= song.steps() {
                        break;
                    }
                    let idx = [0, 1, 2, 3, 2, 1, 0, 2][j % 8];
                    let note = vec![f64::from(chord[idx.min(chord.len() - 1)])];
                    let vel = (0.7 * (1.0 + rng.jitter(0.1))) as f32;
                    let t = humanize(song, rng, s as f64, 0.005);
                    let seed = rng.next_u64();
                    let mut ev = strum_event(song, t, note, true, 1.6, 0.55, vel, seed);
                    ev.choke = 0;
                    events.push(ev);
                }
            }
            // Sustained distorted chords.
            _ => {
                let third = song.voicing(bar, root + 16, 1)[0];
                let notes: Vec<f64> = [root, root + 7, root + 12, third]
                    .iter()
                    .map(|&m| f64::from(m))
                    .collect();
                for k in [0, 8] {
                    let s = bar * BAR + k;
                    if s >= song.steps() || (k == 8 && bar % 2 == 0) {
                        continue;
                    }
                    let vel = (0.85 * (1.0 + rng.jitter(0.08))) as f32;
                    let t = humanize(song, rng, s as f64, 0.008);
                    let seed = rng.next_u64();
                    events.push(strum_event(
                        song,
                        t,
                        notes.clone(),
                        true,
                        2.5,
                        0.7,
                        vel,
                        seed,
                    ));
                }
            }
        }
    }
    let effects: Vec<Box<dyn super::voices::Effect>> = if variant == 2 {
        vec![
            Box::new(Eq::new(
                1,
                vec![
                    Biquad::highpass(sr, 100.0, 0.7),
                    Biquad::high_shelf(sr, 3000.0, 2.0),
                ],
            )),
            Box::new(Room::new(sr, 0.8, 0.75, 0.015, 1.0, 0.5)),
        ]
    } else {
        let drive = rng.range(10.0, 18.0) as f32;
        vec![Box::new(Amp::new(sr, 1, drive, guitar_cab(sr)))]
    };
    (events, effects)
}

fn acoustic_guitar(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let pattern: &[(i64, bool)] = if plan.instance % 2 == 0 {
        &[
            (0, true),
            (4, true),
            (6, false),
            (10, false),
            (12, true),
            (14, false),
        ]
    } else {
        &[
            (0, true),
            (2, false),
            (4, true),
            (6, false),
            (8, true),
            (10, false),
            (12, true),
            (14, false),
        ]
    };
    let mut events = Vec::new();
    for bar in 0..song.bars() {
        let root = song.root_from(bar, 40);
        let third = song.voicing(bar, root + 16, 1)[0];
        let shape = [root, root + 7, root + 12, third, root + 19, root + 24];
        for &(k, down) in pattern {
            let s = bar * BAR + k;
            if s >= song.steps() {
                break;
            }
            // Up-strums catch only the top strings.
            let notes: Vec<f64> = shape[if down { 0 } else { 2 }..]
                .iter()
                .map(|&m| f64::from(m))
                .collect();
            let vel = if down { 0.85 } else { 0.6 } * (1.0 + rng.jitter(0.1));
            let t = humanize(song, rng, s as f64, 0.006);
            let seed = rng.next_u64();
            events.push(strum_event(
                song, t, notes, down, 1.8, 0.85, vel as f32, seed,
            ));
        }
    }
    let effects: Vec<Box<dyn super::voices::Effect>> = if plan.channels == 2 {
        // A near-coincident pair: the body mic on the left, a brighter neck
        // mic on the right, 50 µs later (more delay would cancel the
        // guitar's 2–4 kHz sparkle in mono).
        vec![
            Box::new(Widen::new(
                sr,
                0.00005,
                Biquad::peaking(sr, 180.0, 1.4, 4.0),
                Biquad::high_shelf(sr, 4000.0, 3.0),
            )),
            Box::new(Eq::new(2, vec![Biquad::highpass(sr, 80.0, 0.7)])),
        ]
    } else {
        vec![Box::new(Eq::new(
            1,
            vec![
                Biquad::peaking(sr, 110.0, 2.0, 5.0),
                Biquad::peaking(sr, 220.0, 1.5, 2.0),
                Biquad::highpass(sr, 80.0, 0.7),
                Biquad::high_shelf(sr, 5000.0, 2.0),
            ],
        ))]
    };
    (events, effects)
}

// ----------------------------------------------------------------- keys ---

fn piano(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let variant = plan.instance % 3;
    let mut events = Vec::new();
    let mut note = |rng: &mut Rng, step: f64, midi: i32, len_steps: f64, vel: f64| {
        let start = humanize(song, rng, step, 0.005);
        if start >= song.len {
            return;
        }
        let pan = ((f64::from(midi) - 60.0) / 24.0).clamp(-0.7, 0.7);
        let (gate, vel, seed) = (
            song.dur(len_steps),
            (vel * (1.0 + rng.jitter(0.1))) as f32,
            rng.next_u64(),
        );
        events.push(Event::new(
            start,
            gains(plan, pan, 1.0),
            0,
            Box::new(move || boxed(Piano::new(sr, f64::from(midi), gate, vel, seed))),
        ));
    };
    for bar in 0..song.bars() {
        let s0 = (bar * BAR) as f64;
        let low = song.root_from(bar, 36);
        match variant {
            0 => {
                note(rng, s0, low, 15.0, 0.7);
                note(rng, s0, low + 12, 15.0, 0.55);
                for (k, len) in [(0.0, 5.0), (6.0, 3.5), (10.0, 5.5)] {
                    for m in song.voicing(bar, 65, 3) {
                        note(rng, s0 + k, m, len, 0.6);
                    }
                }
            }
            1 => {
                let chord = song.voicing(bar, 62, 4);
                note(rng, s0, low, 15.0, 0.6);
                for j in 0..8 {
                    let m = chord[[0, 1, 2, 3, 2, 1, 3, 2][j]];
                    note(rng, s0 + 2.0 * j as f64, m, 3.0, 0.55);
                }
            }
            _ => {
                note(rng, s0, low, 15.5, 0.6);
                for m in song.voicing(bar, 62, 4) {
                    note(rng, s0, m, 15.5, 0.5);
                }
            }
        }
    }
    let ch = usize::from(plan.channels);
    let mut effects: Vec<Box<dyn super::voices::Effect>> =
        vec![Box::new(Eq::new(ch, vec![Biquad::highpass(sr, 40.0, 0.7)]))];
    if ch == 2 {
        effects.push(Box::new(Room::new(sr, 0.7, 0.7, 0.01, 1.0, 0.25)));
    }
    (events, effects)
}

fn organ(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    const REGISTRATIONS: [[u8; 9]; 3] = [
        [0, 8, 8, 8, 0, 0, 0, 0, 0],
        [8, 8, 8, 8, 0, 0, 0, 0, 0],
        [0, 8, 6, 8, 0, 6, 0, 0, 4],
    ];
    let reg = REGISTRATIONS[plan.instance % 3];
    let center = 58 + 3 * (plan.instance % 3) as i32;
    let events = song
        .chord_holds(center, 4, 15.8)
        .into_iter()
        .map(|n| {
            let seed = rng.next_u64();
            Event::new(
                n.start,
                gains(plan, 0.0, 1.0),
                0,
                Box::new(move || boxed(Organ::new(sr, f64::from(n.midi), n.len, reg, seed))),
            )
        })
        .collect();
    let ch = usize::from(plan.channels);
    let effects: Vec<Box<dyn super::voices::Effect>> = vec![
        Box::new(Tremolo::new(sr, rng.range(5.5, 6.8), 0.25)),
        Box::new(Eq::new(ch, vec![Biquad::highpass(sr, 60.0, 0.7)])),
    ];
    (events, effects)
}

// --------------------------------------------------------------- synths ---

fn synth(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let mut events = Vec::new();
    let arp = plan.instance % 2 == 0;
    let params = if arp {
        SubParams {
            wave: if (plan.instance / 2) % 2 == 0 {
                Wave::SawSquare
            } else {
                Wave::Square
            },
            unison: 1,
            detune_cents: 0.0,
            sub: 0.0,
            cutoff_hz: 900.0,
            cutoff_env: 3.0,
            cutoff_tau: 0.08,
            key_track: 0.5,
            q: 1.5,
            attack: 0.002,
            decay_tau: 0.15,
            sustain: 0.4,
            release_tau: 0.04,
            vibrato_hz: 0.0,
            vibrato_cents: 0.0,
            vibrato_delay: 0.0,
        }
    } else {
        SubParams {
            wave: Wave::Saw,
            unison: 2,
            detune_cents: 8.0,
            sub: 0.0,
            cutoff_hz: 1800.0,
            cutoff_env: 1.0,
            cutoff_tau: 0.3,
            key_track: 0.3,
            q: 1.0,
            attack: 0.02,
            decay_tau: 0.5,
            sustain: 0.8,
            release_tau: 0.12,
            vibrato_hz: 5.5,
            vibrato_cents: 10.0,
            vibrato_delay: 0.3,
        }
    };
    let notes: Vec<Note> = if arp {
        let octave = 12 * ((plan.instance / 2) % 2) as i32;
        let mut v = Vec::new();
        for s in 0..song.steps() {
            let chord = song.voicing(s / BAR, 69 + octave, 4);
            v.push(Note {
                start: song.at(s as f64),
                len: song.dur(0.5),
                midi: chord[(s % 4) as usize] as f32,
                vel: if s % 4 == 0 { 0.9 } else { 0.7 },
            });
        }
        v
    } else {
        song.instrument_melody(rng, song.tonic_from(60), true)
    };
    for n in notes {
        let seed = rng.next_u64();
        let hz = midi_hz(f64::from(n.midi));
        events.push(Event::new(
            n.start,
            MONO,
            1,
            Box::new(move || boxed(Subtractive::new(sr, params, hz, n.len, n.vel, seed))),
        ));
    }
    let eq = Eq::new(1, vec![Biquad::highpass(sr, 120.0, 0.7)]);
    (events, vec![Box::new(eq)])
}

fn pad(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let params = SubParams {
        wave: Wave::Saw,
        unison: 2,
        detune_cents: 6.0,
        sub: 0.0,
        cutoff_hz: 1300.0,
        cutoff_env: 0.3,
        cutoff_tau: 1.0,
        key_track: 0.2,
        q: 0.7,
        attack: 0.6,
        decay_tau: 1.0,
        sustain: 0.9,
        release_tau: 0.3,
        vibrato_hz: 0.0,
        vibrato_cents: 0.0,
        vibrato_delay: 0.0,
    };
    let center = 60 + [0, 4, -3][plan.instance % 3];
    let mut events = Vec::new();
    for n in song.chord_holds(center, 4, 16.0) {
        // Two detuned voices, each mostly on one side: the width of the pad
        // comes from the two drifting against each other.
        for (g, cents) in [([1.0, 0.3], -7.0), ([0.3, 1.0], 7.0)] {
            let g = if plan.channels == 1 { [1.0, 0.0] } else { g };
            let hz = midi_hz(f64::from(n.midi) + cents / 100.0);
            let seed = rng.next_u64();
            events.push(Event::new(
                n.start,
                g,
                0,
                Box::new(move || boxed(Subtractive::new(sr, params, hz, n.len, 0.2, seed))),
            ));
        }
    }
    let ch = usize::from(plan.channels);
    (
        events,
        vec![Box::new(Eq::new(
            ch,
            vec![Biquad::highpass(sr, 100.0, 0.7)],
        ))],
    )
}

// ----------------------------------------------------------- orchestral ---

fn strings(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let params = SubParams {
        wave: Wave::Saw,
        unison: 3,
        detune_cents: 9.0,
        sub: 0.0,
        cutoff_hz: 2400.0,
        cutoff_env: 0.2,
        cutoff_tau: 0.3,
        key_track: 0.3,
        q: 0.7,
        attack: 0.25,
        decay_tau: 1.0,
        sustain: 1.0,
        release_tau: 0.25,
        vibrato_hz: rng.range(4.8, 5.6),
        vibrato_cents: 12.0,
        vibrato_delay: 0.2,
    };
    let center = 64 + [0, -5, 5][plan.instance % 3];
    let mut events = Vec::new();
    for bar in 0..song.bars() {
        let start = song.at((bar * BAR) as f64);
        let mut notes = song.voicing(bar, center, 3);
        notes.push(song.root_from(bar, 43));
        for m in notes {
            // Violins to the left, cellos to the right, as seen from the
            // conductor's podium.
            let pan = -((f64::from(m) - 58.0) / 16.0).clamp(-0.8, 0.8);
            let hz = midi_hz(f64::from(m));
            let (gate, seed) = (song.dur(16.0), rng.next_u64());
            events.push(Event::new(
                start,
                gains(plan, pan, 1.0),
                0,
                Box::new(move || boxed(Subtractive::new(sr, params, hz, gate, 0.25, seed))),
            ));
        }
    }
    let ch = usize::from(plan.channels);
    let mut effects: Vec<Box<dyn super::voices::Effect>> =
        vec![Box::new(Eq::new(ch, vec![Biquad::highpass(sr, 60.0, 0.7)]))];
    if ch == 2 {
        effects.push(Box::new(Room::new(sr, 0.9, 0.8, 0.02, 1.0, 0.35)));
    }
    (events, effects)
}

fn brass(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let swells = plan.instance % 2 == 1;
    let params = SubParams {
        wave: Wave::Saw,
        unison: 2,
        detune_cents: 5.0,
        sub: 0.0,
        cutoff_hz: 600.0,
        cutoff_env: if swells { 1.5 } else { 3.0 },
        cutoff_tau: if swells { 0.5 } else { 0.12 },
        key_track: 0.6,
        q: 1.0,
        attack: if swells { 0.3 } else { 0.035 },
        decay_tau: 0.3,
        sustain: 0.8,
        release_tau: 0.08,
        vibrato_hz: 5.0,
        vibrato_cents: 6.0,
        vibrato_delay: 0.3,
    };
    let mut events = Vec::new();
    for bar in 0..song.bars() {
        let hits: &[(f64, f64)] = match (swells, bar % 2) {
            (true, _) => &[(0.0, 15.0)],
            (false, 0) => &[(0.0, 6.0)],
            (false, _) => &[(6.0, 2.0), (10.0, 4.0)],
        };
        for &(k, len) in hits {
            let step = (bar * BAR) as f64 + k;
            let start = humanize(song, rng, step, 0.006);
            if start >= song.len {
                continue;
            }
            for m in song.voicing(bar, 62, 3) {
                let hz = midi_hz(f64::from(m));
                let (gate, seed) = (song.dur(len), rng.next_u64());
                events.push(Event::new(
                    start,
                    MONO,
                    0,
                    Box::new(move || boxed(Subtractive::new(sr, params, hz, gate, 0.8, seed))),
                ));
            }
        }
    }
    let eq = Eq::new(
        1,
        vec![
            Biquad::highpass(sr, 100.0, 0.7),
            Biquad::peaking(sr, 1200.0, 1.0, 3.0),
        ],
    );
    (events, vec![Box::new(eq)])
}

fn flute(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    // Around C5–C6 (or a fourth lower), the flute's singing register.
    let base = song.tonic_from(if plan.instance % 2 == 0 { 64 } else { 59 });
    let events = song
        .instrument_melody(rng, base, false)
        .into_iter()
        .map(|n| {
            let seed = rng.next_u64();
            Event::new(
                n.start,
                MONO,
                1,
                Box::new(move || boxed(Flute::new(sr, f64::from(n.midi), n.len, n.vel, seed))),
            )
        })
        .collect();
    let effects: Vec<Box<dyn super::voices::Effect>> = vec![
        Box::new(Eq::new(1, vec![Biquad::highpass(sr, 200.0, 0.7)])),
        Box::new(Room::new(sr, 0.8, 0.75, 0.02, 1.0, 0.3)),
    ];
    (events, effects)
}

fn fx(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    // Even instances mark every four-bar phrase, odd ones every eight bars
    // with a two-bar riser.
    let every = if plan.instance % 2 == 0 { 4 } else { 8 };
    let riser_bars = if plan.instance % 2 == 0 { 1 } else { 2 };
    let mut events = Vec::new();
    let bar_len = song.dur(BAR as f64);
    for bar in 0..song.bars() {
        if bar % every == 0 {
            let seed = rng.next_u64();
            let len = (1.6 * sr) as u64;
            events.push(Event::new(
                song.at((bar * BAR) as f64),
                gains(plan, 0.0, 1.0),
                0,
                Box::new(move || {
                    boxed(Sweep::new(sr, FxKind::Impact, len, 60.0, 6000.0, 1.0, seed))
                }),
            ));
        }
        if (bar + riser_bars) % every == 0 {
            let start = song.at((bar * BAR) as f64);
            if start >= song.len {
                continue;
            }
            let len = bar_len * riser_bars as u64;
            let (lo, hi) = (rng.range(200.0, 400.0), rng.range(7000.0, 10_000.0));
            // Two decorrelated noises, one per side.
            for side in 0..usize::from(plan.channels) {
                let mut g = [0.0f32; 2];
                g[side] = 1.0;
                if plan.channels == 1 {
                    g[0] = 1.0;
                }
                let seed = rng.next_u64();
                events.push(Event::new(
                    start,
                    g,
                    0,
                    Box::new(move || boxed(Sweep::new(sr, FxKind::Riser, len, lo, hi, 0.7, seed))),
                ));
            }
        }
    }
    let effects: Vec<Box<dyn super::voices::Effect>> =
        vec![Box::new(Room::new(sr, 1.2, 0.84, 0.02, 0.8, 0.6))];
    (events, effects)
}

// --------------------------------------------------------------- vocals ---

fn vocal(plan: &TrackPlan, ctx: &Context, rng: &mut Rng) -> Part {
    let song = &ctx.song;
    let sr = song.sr;
    let base = ctx.lead_base;
    let lead = plan.instrument == Instrument::LeadVocal;
    let notes: Vec<SungNote> = if lead {
        song.sing(&ctx.melody, 0, base, 46, 71)
    } else {
        match plan.instance % 3 {
            // A third above the lead.
            0 => song.sing(&ctx.melody, 2, base, 48, 74),
            // Sustained "ooh"s on chord tones through each line.
            1 => oohs(
                song,
                3 + (plan.instance / 3 % 2) as u8,
                60 + 3 * (plan.instance / 3 % 2) as i32,
            ),
            // A sixth below the lead.
            _ => song.sing(&ctx.melody, -5, base, 43, 67),
        }
        .into_iter()
        .map(|mut n| {
            if plan.instance >= 3 {
                n.vowel = (n.vowel + plan.instance as u8) % 5;
            }
            n
        })
        .collect()
    };
    // Backing singers alternate voices against the lead.
    let female = ctx.female ^ (!lead && plan.instance % 2 == 1);
    let style = SingerStyle {
        formant_scale: if female { 1.17 } else { 1.0 } * rng.range(0.97, 1.03),
        breath: if lead { 0.15 } else { 0.3 },
        vibrato_hz: rng.range(5.0, 6.2),
        vibrato_cents: if lead { 35.0 } else { 20.0 },
        tilt_hz: if lead { 5000.0 } else { 3000.0 },
    };
    let seed = rng.next_u64();
    let events = vec![Event::new(
        0,
        MONO,
        0,
        Box::new(move || boxed(Singer::new(sr, notes, style, seed))),
    )];
    let eq = Eq::new(
        1,
        vec![
            Biquad::highpass(sr, if lead { 90.0 } else { 120.0 }, 0.7),
            Biquad::peaking(sr, 3000.0, 1.0, if lead { 2.0 } else { 0.0 }),
        ],
    );
    (events, vec![Box::new(eq)])
}

/// Backing "ooh"s: one chord tone per bar through each two-bar line,
/// leaving the line's breath free like the lead.
fn oohs(song: &Song, vowel: u8, center: i32) -> Vec<SungNote> {
    let mut out = Vec::new();
    for bar in 0..song.bars() {
        let (a, b) = if bar % 2 == 0 {
            (2.0, 16.0)
        } else {
            (16.0, LINE_END)
        };
        let base = ((bar / 2) * 32) as f64;
        let start = song.at(base + a);
        if start >= song.len {
            break;
        }
        let chord = song.voicing(bar, center, 3);
        out.push(SungNote {
            start,
            end: song.at(base + b).min(song.len),
            midi: chord[1] as f32,
            vowel,
            consonant: false,
            vel: 0.7,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sessions_cover_the_band() {
        let p = plan(4, 1);
        let classes: Vec<Instrument> = p.iter().map(|t| t.instrument).collect();
        for c in [
            Instrument::Kick,
            Instrument::Bass,
            Instrument::Piano,
            Instrument::LeadVocal,
        ] {
            assert!(classes.contains(&c), "{classes:?}");
        }
        let p = plan(1, 1);
        assert_eq!(p[0].name, "Kick In");
    }

    #[test]
    fn large_sessions_number_instances_uniquely() {
        let p = plan(256, 7);
        assert_eq!(p.len(), 256);
        let mut names: Vec<&str> = p.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 256);
        assert!(p.iter().any(|t| t.name == "Gtr 3"));
        assert!(p.iter().any(|t| t.name == "BV 3"));
        assert!(p.iter().any(|t| t.name == "Perc 2"));
        assert_eq!(
            p.iter().filter(|t| t.instrument == Instrument::Tom).count(),
            4
        );
        // Sections stay contiguous so folders can hold them.
        let sections: Vec<u8> = p.iter().map(|t| t.instrument.section()).collect();
        assert!(sections.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_track_keeps_its_seed_whatever_the_track_count() {
        let a = plan(10, 3);
        let b = plan(24, 3);
        for t in &a {
            let u = b.iter().find(|u| u.name == t.name).unwrap();
            assert_eq!(t.seed, u.seed);
        }
    }
}
