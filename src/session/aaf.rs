//! The session model from an AAF file (FORMATS.md §3, issue 9).
//!
//! Reads the top-level CompositionMob through `premix-aaf`; never edits it.
//! What the model holds, and the decisions behind it:
//! - **Tracks.** Each Sound slot of the top-level CompositionMob (a
//!   TimelineMobSlot) is one track, in slot order; `guid` is `aaf:slot:<id>`.
//!   LibAAF does the same, and the writer puts gain and pan on these slots.
//! - **Stereo pairs** exported as two mono slots (Pro Tools without "export
//!   as multichannel": two slots of the same name; Logic: `-L`/`-R` names)
//!   are recognised and stay two tracks, panned hard left and right when
//!   the file gives no pan, so that premix hears the stereo image the DAW
//!   plays; `guid` gets a `:L`/`:R` suffix and the writer gives both slots
//!   one gain. **Multichannel clips** (an AudioChannelCombiner
//!   OperationGroup, Premiere and Resolve) are one clip whose file is the
//!   first channel's: when every channel points into the same multichannel
//!   file, the decoder folds it (stereo, or ITU down-mix for 5.1/7.1); when
//!   the channels are separate mono files, a warning says only the first
//!   plays.
//! - **Times** are in the slot's edit rate, converted to seconds; positions
//!   count from the slot's origin (the timecode start, e.g. Avid's 01:00:00:00,
//!   is not added). Source offsets add the StartTime of every SourceClip on
//!   the chain to the essence, each in its own slot's edit rate.
//! - **Gain and pan** by AUID: a slot-level MonoAudioGain gives the track
//!   volume (Amplitude; varying → `volume_automated`, value at the start),
//!   a slot-level MonoAudioPan the track pan (0…1 → −1…+1; varying →
//!   `pan_automated`). Clip-level MonoAudioGain groups multiply into the
//!   clip gain, nested ones too (Resolve); a flat VaryingValue is a constant
//!   (LibAAF's rule), a varying one gives its value at the clip start and a
//!   warning.
//! - **Mute/solo**: Avid's `AudioMixerCompMute`/`AudioMixerCompSolo`
//!   TaggedValues in the slot's `TimelineMobAttributeList`; a Resolve
//!   disabled clip (a Selector whose selected segment is a Filler) is a
//!   muted clip.
//! - **Fades**: a Transition between components overlaps them; its length
//!   is the fade-out of the clip before and the fade-in of the clip after.
//! - **Media**: see [`Media`] and [`embedded_wav`].

use super::media::Resolver;
use super::{Clip, ClipKind, Error, Format, Session, Track, Warning};
use premix_aaf::model::{classes, defs, Parameter, Segment};
use premix_aaf::{AafFile, MobId, ObjectId, Value};
use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// How deep a chain of SourceClips (composition → master → file → tape)
/// or a nest of OperationGroups is followed; real files use 3–4.
const MAX_CHAIN: usize = 16;
/// Largest embedded essence extracted to a WAV (bytes).
const MAX_EMBEDDED_BYTES: u64 = 2 << 30;

/// Reads an `.aaf` file into a [`Session`].
pub fn read(path: &Path) -> Result<Session, Error> {
    let aaf = AafFile::open(path)?;
    Ok(build(&aaf, path)?.0)
}

/// Which slot a track came from, for the writer.
#[derive(Clone, Debug)]
pub(crate) struct TrackSlot {
    pub slot: ObjectId,
    /// The other track of a stereo pair of mono slots.
    pub partner: Option<usize>,
}

/// The session and, per track, its slot.
pub(crate) fn build<F: Read + Seek>(
    aaf: &AafFile<F>,
    path: &Path,
) -> Result<(Session, Vec<TrackSlot>), Error> {
    let at = |e: premix_aaf::Error| Error::Aaf(e.with_path(path));
    let comp = aaf
        .top_level_composition()
        .map_err(at)?
        .ok_or_else(|| Error::Invalid {
            path: path.to_owned(),
            message: "no CompositionMob: not an AAF composition".into(),
        })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut r = Reader {
        aaf,
        media: Media::new(dir, path),
        warnings: Vec::new(),
        rates: HashMap::new(),
    };
    let mut session = Session {
        path: path.to_owned(),
        format: Format::Aaf,
        sample_rate: None,
        tempo_bpm: None,
        master_volume: 1.0,
        tracks: Vec::new(),
        warnings: Vec::new(),
    };
    let mut slots = Vec::new();
    for slot in aaf.slots(comp).map_err(at)? {
        let index = session.tracks.len();
        if let Some(t) = r.track(slot, index).map_err(at)? {
            session.tracks.push(t);
            slots.push(TrackSlot {
                slot,
                partner: None,
            });
        }
    }
    pair_stereo_slots(&mut session.tracks, &mut slots);
    session.sample_rate = r
        .rates
        .iter()
        .max_by_key(|(rate, n)| (**n, **rate))
        .map(|(rate, _)| *rate);
    session.warnings = r.warnings;
    Ok((session, slots))
}

/// Marks adjacent mono tracks that are the two sides of one stereo track:
/// the same name (Pro Tools), or names that differ only in an L/R suffix
/// (`.L`/`.R`, `-L`/`-R`, ` L`/` R`: Logic), with clips at the same places.
fn pair_stereo_slots(tracks: &mut [Track], slots: &mut [TrackSlot]) {
    let stem = |n: &str| -> (String, Option<char>) {
        for sep in ['.', '-', ' ', '_'] {
            for side in ['L', 'R'] {
                if let Some(s) = n.strip_suffix(&format!("{sep}{side}")) {
                    return (s.to_owned(), Some(side));
                }
            }
        }
        (n.to_owned(), None)
    };
    let mut i = 0;
    while i + 1 < tracks.len() {
        let (a, b) = (&tracks[i], &tracks[i + 1]);
        let (sa, la) = stem(&a.name);
        let (sb, lb) = stem(&b.name);
        // Exactly two slots of one name: more are a multichannel track
        // exported as mono slots (Resolve's 16 channels), not a pair.
        let run_of_two = a.name == b.name
            && (i == 0 || tracks[i - 1].name != a.name)
            && tracks.get(i + 2).is_none_or(|c| c.name != a.name);
        let names = run_of_two || (sa == sb && la == Some('L') && lb == Some('R'));
        let layout = a.clips.len() == b.clips.len()
            && !a.clips.is_empty()
            && a.clips.iter().zip(&b.clips).all(|(x, y)| {
                (x.position_s - y.position_s).abs() < 1e-6 && (x.length_s - y.length_s).abs() < 1e-6
            });
        if names && layout && a.pan == 0.0 && b.pan == 0.0 && !a.pan_automated && !b.pan_automated {
            tracks[i].pan = -1.0;
            tracks[i + 1].pan = 1.0;
            for (k, side) in [(i, "L"), (i + 1, "R")] {
                if let Some(g) = &mut tracks[k].guid {
                    g.push(':');
                    g.push_str(side);
                }
            }
            slots[i].partner = Some(i + 1);
            slots[i + 1].partner = Some(i);
            i += 2;
        } else {
            i += 1;
        }
    }
}

struct Reader<'a, F> {
    aaf: &'a AafFile<F>,
    media: Media,
    warnings: Vec<Warning>,
    /// Sample rates of the essence the clips play, with their counts.
    rates: HashMap<u32, usize>,
}

type R<T> = premix_aaf::Result<T>;

/// A gain read from parameters: the product of the constant values, and
/// whether a value varies over time.
#[derive(Clone, Copy)]
struct Level {
    gain: f64,
    varying: bool,
}

impl<F: Read + Seek> Reader<'_, F> {
    fn warn(&mut self, track: usize, message: String) {
        self.warnings.push(Warning {
            track: Some(track),
            message,
        });
    }

    /// A sound slot as a track; `None` for other slots.
    fn track(&mut self, slot: ObjectId, index: usize) -> R<Option<Track>> {
        let aaf = self.aaf;
        let info = aaf.slot_info(slot)?;
        let Some(mut seg) = info.segment else {
            return Ok(None);
        };
        let Some(dd) = aaf.data_definition(seg)? else {
            return Ok(None);
        };
        if !AafFile::<F>::is_sound(&dd) {
            return Ok(None);
        }
        let Some(rate) = info
            .edit_rate
            .and_then(|r| r.to_f64())
            .filter(|r| r.is_finite() && *r > 0.0)
        else {
            return Ok(None);
        };
        let name = info
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("Audio {}", index + 1));
        let mut track = Track {
            guid: info.slot_id.map(|id| format!("aaf:slot:{id}")),
            ..Track::new(index, name)
        };
        self.mute_solo(slot, &mut track)?;
        // Slot-level OperationGroups: track volume and pan.
        for _ in 0..MAX_CHAIN {
            let Segment::OperationGroup {
                operation,
                inputs,
                parameters,
                ..
            } = aaf.segment(seg)?
            else {
                break;
            };
            match operation {
                Some(op) if op == defs::OP_MONO_AUDIO_GAIN => {
                    let l = self.level(&parameters, &defs::PARAM_AMPLITUDE)?;
                    track.volume *= l.gain;
                    track.volume_automated |= l.varying;
                }
                Some(op) if op == defs::OP_MONO_AUDIO_PAN => {
                    let l = self.level(&parameters, &defs::PARAM_PAN)?;
                    if l.gain.is_finite() {
                        track.pan = (2.0 * l.gain - 1.0).clamp(-1.0, 1.0);
                    }
                    track.pan_automated |= l.varying;
                }
                op => {
                    let name = match op {
                        Some(a) => aaf.definition_name(&a)?.unwrap_or_else(|| a.to_string()),
                        None => "(none)".into(),
                    };
                    self.warn(
                        index,
                        format!("track \"{}\": track effect {name} is ignored", track.name),
                    );
                }
            }
            match inputs.first() {
                Some(i) => seg = *i,
                None => return Ok(Some(track)),
            }
        }
        if track.volume_automated {
            self.warn(
                index,
                format!(
                    "track \"{}\": volume automation; the value at its start is used",
                    track.name
                ),
            );
        }
        let components = match aaf.segment(seg)? {
            Segment::Sequence { components, .. } => components,
            _ => vec![seg],
        };
        self.components(&components, rate, &mut track)?;
        Ok(Some(track))
    }

    /// Avid's mixer mute/solo TaggedValues on the slot.
    fn mute_solo(&mut self, slot: ObjectId, track: &mut Track) -> R<()> {
        let aaf = self.aaf;
        let Some(pid) = aaf.pid_by_name(slot, "TimelineMobAttributeList") else {
            return Ok(());
        };
        for tv in aaf.strong_refs(slot, pid)? {
            let name = aaf
                .value(tv, premix_aaf::model::pids::TAGGED_VALUE_NAME)?
                .and_then(|v| v.as_str().map(str::to_owned));
            let on = aaf
                .value(tv, premix_aaf::model::pids::TAGGED_VALUE_VALUE)?
                .and_then(|v| v.as_f64())
                .is_some_and(|v| v != 0.0);
            match name.as_deref() {
                Some("AudioMixerCompMute") => track.mute = on,
                Some("AudioMixerCompSolo") => track.solo = on,
                _ => {}
            }
        }
        Ok(())
    }

    /// The product of the constant values of parameter `def` (a flat
    /// VaryingValue is a constant), the first point of a varying one.
    fn level(&self, params: &[ObjectId], def: &premix_aaf::Auid) -> R<Level> {
        let mut l = Level {
            gain: 1.0,
            varying: false,
        };
        for p in params {
            match self.aaf.parameter(*p)? {
                Parameter::Constant {
                    definition: Some(d),
                    value: Some(v),
                } if d == *def => {
                    if let Some(x) = v.as_f64().filter(|x| x.is_finite()) {
                        l.gain *= x;
                    }
                }
                Parameter::Varying {
                    definition: Some(d),
                    points,
                    ..
                } if d == *def => {
                    let vals: Vec<f64> = points
                        .iter()
                        .filter_map(|p| p.value.as_ref()?.as_f64())
                        .filter(|x| x.is_finite())
                        .collect();
                    if vals.windows(2).any(|w| w[0] != w[1]) {
                        l.varying = true;
                    }
                    if let Some(v) = vals.first() {
                        l.gain *= v;
                    }
                }
                _ => {}
            }
        }
        Ok(l)
    }

    /// The components of a slot's Sequence as clips.
    fn components(&mut self, components: &[ObjectId], rate: f64, track: &mut Track) -> R<()> {
        let aaf = self.aaf;
        let secs = |eu: i64| eu as f64 / rate;
        let mut pos: i64 = 0;
        let mut fade_in = 0.0;
        let mut last_was_clip = false;
        for c in components {
            let seg = aaf.segment(*c)?;
            let length = seg_length(&seg).unwrap_or(0).max(0);
            match seg {
                Segment::Filler { .. } => {
                    pos = pos.saturating_add(length);
                    fade_in = 0.0;
                    last_was_clip = false;
                }
                Segment::Transition { .. } => {
                    pos = pos.saturating_sub(length);
                    if last_was_clip {
                        if let Some(prev) = track.clips.last_mut() {
                            prev.fade_out_s = secs(length);
                        }
                    }
                    fade_in = secs(length);
                    last_was_clip = false;
                }
                _ => {
                    if let Some(mut clip) = self.clip(*c, rate, track)? {
                        clip.position_s = secs(pos);
                        clip.length_s = secs(length);
                        clip.fade_in_s = fade_in;
                        track.clips.push(clip);
                        last_was_clip = true;
                    } else {
                        last_was_clip = false;
                    }
                    fade_in = 0.0;
                    pos = pos.saturating_add(length);
                }
            }
        }
        Ok(())
    }

    /// A clip from a component that plays something (SourceClip, a clip
    /// OperationGroup, a Selector); `None` for what plays nothing.
    fn clip(&mut self, comp: ObjectId, rate: f64, track: &Track) -> R<Option<Clip>> {
        let aaf = self.aaf;
        let mut cur = comp;
        let mut gain = 1.0;
        let mut muted = false;
        let mut channels: Vec<ObjectId> = Vec::new();
        for _ in 0..MAX_CHAIN {
            match aaf.segment(cur)? {
                Segment::SourceClip { .. } => {
                    channels.push(cur);
                    break;
                }
                Segment::OperationGroup {
                    operation,
                    inputs,
                    parameters,
                    ..
                } => {
                    if operation == Some(defs::OP_MONO_AUDIO_GAIN) {
                        let l = self.level(&parameters, &defs::PARAM_AMPLITUDE)?;
                        gain *= l.gain;
                        if l.varying {
                            self.warn(
                                track.index,
                                format!(
                                    "track \"{}\": clip gain automation; the value at the clip start is used",
                                    track.name
                                ),
                            );
                        }
                    } else if operation == Some(defs::OP_AUDIO_CHANNEL_COMBINER) {
                        for i in &inputs {
                            if let Segment::SourceClip { .. } = aaf.segment(*i)? {
                                channels.push(*i);
                            }
                        }
                        if !channels.is_empty() {
                            break;
                        }
                    } else if operation == Some(defs::OP_MONO_AUDIO_PAN) {
                        let l = self.level(&parameters, &defs::PARAM_PAN)?;
                        if (l.gain - 0.5).abs() > 1e-6 || l.varying {
                            self.warn(
                                track.index,
                                format!("track \"{}\": clip pan is not modelled", track.name),
                            );
                        }
                    }
                    match inputs.first() {
                        Some(i) => cur = *i,
                        None => return Ok(None),
                    }
                }
                Segment::Selector {
                    selected,
                    alternates,
                    ..
                } => {
                    // Resolve's disabled clip: a Filler selected, the clip
                    // among the alternates.
                    let sel_plays = match selected {
                        Some(s) => !matches!(aaf.segment(s)?, Segment::Filler { .. }),
                        None => false,
                    };
                    if sel_plays {
                        cur = selected.unwrap_or(cur);
                    } else if let Some(a) = alternates.first() {
                        muted = true;
                        cur = *a;
                    } else {
                        return Ok(None);
                    }
                }
                _ => return Ok(None),
            }
        }
        let Some(first) = channels.first().copied() else {
            return Ok(None);
        };
        let mut clip = self.source(first, rate, track)?;
        if channels.len() > 1 {
            let mut others = Vec::new();
            for ch in &channels[1..] {
                others.push(self.source(*ch, rate, track)?.resolved_path);
            }
            if others.iter().any(|p| *p != clip.resolved_path) {
                self.warn(
                    track.index,
                    format!(
                        "track \"{}\": clip \"{}\" has {} channels in separate files; only the first plays",
                        track.name,
                        clip.name,
                        channels.len()
                    ),
                );
            }
        }
        clip.gain = gain;
        clip.muted = muted;
        Ok(Some(clip))
    }

    /// Follows a SourceClip to its essence: name, source offset, media.
    fn source(&mut self, sc: ObjectId, rate: f64, track: &Track) -> R<Clip> {
        let aaf = self.aaf;
        let mut clip = Clip {
            name: String::new(),
            kind: ClipKind::Other,
            source_type: "AAF".into(),
            path: None,
            resolved_path: None,
            position_s: 0.0,
            length_s: 0.0,
            source_offset_s: 0.0,
            gain: 1.0,
            playrate: 1.0,
            preserve_pitch: true,
            pitch_semitones: 0.0,
            reversed: false,
            fade_in_s: 0.0,
            fade_out_s: 0.0,
            muted: false,
        };
        let mut cur = sc;
        let mut cur_rate = rate;
        let mut urls: Vec<String> = Vec::new();
        let mut embedded: Option<(MobId, ObjectId)> = None;
        let mut descriptor_rate = None;
        for _ in 0..MAX_CHAIN {
            if let Segment::SourceClip { start, .. } = aaf.segment(cur)? {
                clip.source_offset_s += start.unwrap_or(0) as f64 / cur_rate;
            }
            let Some((mob, slot)) = aaf.resolve_clip(cur)? else {
                break;
            };
            if clip.name.is_empty() {
                clip.name = aaf.mob_name(mob)?.unwrap_or_default();
            }
            if aaf.is_a(mob, &classes::SOURCE_MOB) {
                if let Some(d) = aaf.essence_descriptor(mob)? {
                    urls.extend(aaf.locator_urls(d)?);
                    if descriptor_rate.is_none() {
                        descriptor_rate = audio_rate(aaf, d)?;
                    }
                    if embedded.is_none() {
                        if let Some(id) = aaf.mob_id(mob)? {
                            if aaf.essence_data(&id)?.is_some() {
                                embedded = Some((id, d));
                            }
                        }
                    }
                }
            }
            let Some(slot) = slot else { break };
            let info = aaf.slot_info(slot)?;
            if let Some(r) = info
                .edit_rate
                .and_then(|r| r.to_f64())
                .filter(|r| r.is_finite() && *r > 0.0)
            {
                cur_rate = r;
            }
            let Some(seg) = info.segment else { break };
            // The slot's segment: a SourceClip, or a Sequence holding one.
            let next = match aaf.segment(seg)? {
                Segment::SourceClip { .. } => Some(seg),
                Segment::Sequence { components, .. } => {
                    let mut found = None;
                    for c in components {
                        if let Segment::SourceClip { .. } = aaf.segment(c)? {
                            found = Some(c);
                            break;
                        }
                    }
                    found
                }
                _ => None,
            };
            match next {
                Some(n) => cur = n,
                None => break,
            }
        }
        if let Some(r) = descriptor_rate {
            *self.rates.entry(r).or_insert(0) += 1;
        }
        if let Some((id, d)) = embedded {
            clip.kind = ClipKind::Audio;
            clip.source_type = "AAF embedded".into();
            clip.path = Some(format!("embedded:{}", hex(&id.0)));
            match embedded_wav(aaf, &id, d, &self.media.aaf_path) {
                Ok(p) => clip.resolved_path = Some(p),
                Err(e) => self.warn(
                    track.index,
                    format!(
                        "track \"{}\": clip \"{}\": embedded essence not read: {e}",
                        track.name, clip.name
                    ),
                ),
            }
            return Ok(clip);
        }
        let decoded: Vec<String> = urls.iter().map(|u| url_to_path(u)).collect();
        if let Some(first) = decoded.first() {
            clip.kind = ClipKind::Audio;
            clip.path = Some(first.clone());
            clip.source_type = extension_type(first);
            for p in &decoded {
                if let Some(found) = self.media.resolve(p) {
                    clip.source_type = extension_type(p);
                    clip.resolved_path = Some(found);
                    break;
                }
            }
        }
        Ok(clip)
    }
}

fn seg_length(s: &Segment) -> Option<i64> {
    match s {
        Segment::Sequence { length, .. }
        | Segment::SourceClip { length, .. }
        | Segment::Filler { length }
        | Segment::OperationGroup { length, .. }
        | Segment::Transition { length, .. }
        | Segment::Selector { length, .. }
        | Segment::Other { length, .. } => *length,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn extension_type(p: &str) -> String {
    Path::new(p)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| "AAF".into())
}

/// A descriptor property by name (vendor-independent: pids of optional
/// baseline properties are looked up through the MetaDictionary).
fn descriptor_value<F: Read + Seek>(aaf: &AafFile<F>, d: ObjectId, name: &str) -> R<Option<Value>> {
    match aaf.pid_by_name(d, name) {
        Some(pid) => aaf.value(d, pid),
        None => Ok(None),
    }
}

/// The audio sample rate a descriptor states.
fn audio_rate<F: Read + Seek>(aaf: &AafFile<F>, d: ObjectId) -> R<Option<u32>> {
    for name in ["AudioSamplingRate", "SampleRate"] {
        if let Some(r) = descriptor_value(aaf, d, name)?.and_then(|v| v.as_f64()) {
            if r.is_finite() && (1000.0..=1_000_000.0).contains(&r) {
                return Ok(Some(r.round() as u32));
            }
        }
    }
    Ok(None)
}

/// A locator URL as a path: percent-decoded, `file://` and `localhost`
/// removed, `/c:/…` turned into `c:/…`, a UNC host kept as `//host/…`.
pub(crate) fn url_to_path(url: &str) -> String {
    let decoded = percent_decode(url);
    let Some(rest) = decoded
        .strip_prefix("file://")
        .or_else(|| decoded.strip_prefix("FILE://"))
    else {
        return decoded;
    };
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if let Some(p) = rest.strip_prefix('/') {
        let b = p.as_bytes();
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            return p.to_owned();
        }
        return rest.to_owned();
    }
    format!("//{rest}")
}

/// Percent-decoding of a URL (UTF-8 bytes). Written by hand: a dozen lines,
/// where a crate (percent-encoding) would be a new root dependency.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = h {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Finding external essence: the [`Resolver`] order (absolute, then the
/// AAF's folder and its Media/Audio folders), then the file name anywhere
/// in the AAF's folder tree (LibAAF's "sub directory" relinking, FORMATS.md
/// §3.4), searched once per session and bounded in depth and entries.
struct Media {
    resolver: Resolver,
    dir: PathBuf,
    aaf_path: PathBuf,
    by_name: Option<HashMap<std::ffi::OsString, PathBuf>>,
}

/// Folder levels below the AAF searched by file name.
const SEARCH_DEPTH: usize = 4;
/// Directory entries looked at, at most, in that search.
const SEARCH_ENTRIES: usize = 50_000;

impl Media {
    fn new(dir: &Path, aaf_path: &Path) -> Media {
        Media {
            resolver: Resolver::new(dir, &[]),
            dir: dir.to_owned(),
            aaf_path: aaf_path.to_owned(),
            by_name: None,
        }
    }

    fn resolve(&mut self, written: &str) -> Option<PathBuf> {
        if let Some(p) = self.resolver.resolve(written) {
            return Some(p);
        }
        let name = super::media::normalise(written).file_name()?.to_owned();
        let dir = self.dir.clone();
        let index = self.by_name.get_or_insert_with(|| {
            let mut m = HashMap::new();
            for e in walkdir::WalkDir::new(&dir)
                .max_depth(SEARCH_DEPTH)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                })
                .take(SEARCH_ENTRIES)
                .filter_map(Result::ok)
            {
                if e.file_type().is_file() {
                    m.entry(e.file_name().to_owned())
                        .or_insert_with(|| e.path().to_owned());
                }
            }
            m
        });
        index.get(&name).cloned()
    }
}

/// Embedded essence as a file the decoder can read.
///
/// The audio decoder (symphonia, `audio::decode`) reads files, and the
/// render cache keys sources by path. Rather than teach the model and the
/// decoder about in-file essence, the EssenceData stream is written out
/// once as a WAV in the system temp folder (named by a hash of the AAF's
/// path, the mob and the bytes, so re-reads reuse it): WAVE/AIFF bytes as
/// they are, raw PCM (Pro Tools) with a header from the PCMDescriptor
/// through hound. The cost is a copy of the essence on disk; the model,
/// the decoder and every consumer stay as they are.
pub(crate) fn embedded_wav<F: Read + Seek>(
    aaf: &AafFile<F>,
    id: &MobId,
    descriptor: ObjectId,
    aaf_path: &Path,
) -> Result<PathBuf, String> {
    let ed = aaf
        .essence_data(id)
        .map_err(|e| e.to_string())?
        .ok_or("no EssenceData")?;
    let data = aaf
        .essence_bytes(ed, MAX_EMBEDDED_BYTES)
        .map_err(|e| e.to_string())?
        .ok_or("EssenceData has no Data stream")?;
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    aaf_path.hash(&mut h);
    id.0.hash(&mut h);
    data.hash(&mut h);
    let dir = std::env::temp_dir().join("premix-aaf-embedded");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (ext, bytes) = if data.starts_with(b"RIFF") {
        ("wav", None)
    } else if data.starts_with(b"FORM") {
        ("aif", None)
    } else {
        let num = |name: &str| -> Result<Option<f64>, String> {
            Ok(descriptor_value(aaf, descriptor, name)
                .map_err(|e| e.to_string())?
                .and_then(|v| v.as_f64()))
        };
        let rate = audio_rate(aaf, descriptor)
            .map_err(|e| e.to_string())?
            .ok_or("the descriptor states no sample rate")?;
        let channels = num("Channels")?.unwrap_or(1.0);
        let bits = num("QuantizationBits")?.unwrap_or(16.0);
        if !(1.0..=64.0).contains(&channels) || ![16.0, 24.0, 32.0].contains(&bits) {
            return Err(format!(
                "raw PCM with {channels} channels of {bits} bits is not supported"
            ));
        }
        (
            "wav",
            Some(pcm_to_wav(&data, rate, channels as u16, bits as u16)?),
        )
    };
    let path = dir.join(format!("{:016x}.{ext}", h.finish()));
    let want = bytes.as_deref().unwrap_or(&data);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == want.len() as u64) {
        return Ok(path);
    }
    let tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| e.to_string())?;
    std::fs::write(tmp.path(), want).map_err(|e| e.to_string())?;
    tmp.persist(&path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Raw little-endian interleaved PCM as WAV bytes.
fn pcm_to_wav(data: &[u8], rate: u32, channels: u16, bits: u16) -> Result<Vec<u8>, String> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let width = usize::from(bits / 8);
    let frame = width * usize::from(channels);
    let usable = data.len() - data.len() % frame;
    let mut out = std::io::Cursor::new(Vec::with_capacity(usable + 64));
    {
        let mut w = hound::WavWriter::new(&mut out, spec).map_err(|e| e.to_string())?;
        for s in data[..usable].chunks_exact(width) {
            let v = match width {
                2 => i32::from(i16::from_le_bytes([s[0], s[1]])),
                3 => i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8,
                _ => i32::from_le_bytes([s[0], s[1], s[2], s[3]]),
            };
            w.write_sample(v).map_err(|e| e.to_string())?;
        }
        w.finalize().map_err(|e| e.to_string())?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_paths() {
        assert_eq!(
            url_to_path("file:///c%3a/Users/u/x%20y.wav"),
            "c:/Users/u/x y.wav"
        );
        assert_eq!(url_to_path("file://localhost/C:/a/b.wav"), "C:/a/b.wav");
        assert_eq!(url_to_path("file:///home/u/a.wav"), "/home/u/a.wav");
        assert_eq!(
            url_to_path("file://host/share/M%c3%a9dia/%e8%8a%b1.wav"),
            "//host/share/Média/花.wav"
        );
        // A stray or truncated escape stays as written.
        assert_eq!(url_to_path("a%zzb%4"), "a%zzb%4");
    }

    #[test]
    fn raw_pcm_becomes_a_wav_hound_reads() {
        let pcm: Vec<u8> = [1i16, -2, 3, -4, 5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let wav = pcm_to_wav(&pcm, 48000, 2, 16).unwrap();
        let r = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
        assert_eq!(r.spec().channels, 2);
        // The odd last sample (half a frame) is dropped.
        let s: Vec<i16> = r.into_samples().map(Result::unwrap).collect();
        assert_eq!(s, vec![1, -2, 3, -4]);
    }
}
