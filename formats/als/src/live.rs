//! Live's schema: tracks, mixer parameters, devices, clips and sample
//! references, and the edits a mix needs, under Live's Id rules
//! (FORMATS.md §2.6):
//!
//! - pointee Ids (`AutomationTarget`, `ModulationTarget`, `Pointee`, the
//!   `*ModulationTarget` variants, `ControllerTargets.N`) are unique across
//!   the set and below `LiveSet/NextPointeeId`; inserted subtrees get fresh
//!   ones and `NextPointeeId` is bumped;
//! - list-item Ids (devices, send holders, clip slots, ...) are unique among
//!   their siblings; an inserted item gets the list's largest Id plus one;
//! - track Ids are unique in `Tracks`; every track carries one
//!   `TrackSendHolder` per return track.

use crate::error::{Error, ErrorKind, Result};
use crate::float::format_live_float;
use crate::tree::Tree;
use crate::{Document, ElementId};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Whether elements named `tag` carry a global pointee Id.
pub fn is_pointee_tag(tag: &str) -> bool {
    matches!(tag, "AutomationTarget" | "ModulationTarget" | "Pointee")
        || tag.ends_with("ModulationTarget")
        || tag.starts_with("ControllerTargets.")
}

/// The track element names found in `LiveSet/Tracks`.
pub const TRACK_TAGS: [&str; 4] = ["AudioTrack", "MidiTrack", "GroupTrack", "ReturnTrack"];

/// What a track is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Midi,
    Group,
    Return,
    /// `MasterTrack` (Live ≤ 11) or `MainTrack` (Live 12).
    Master,
}

impl TrackKind {
    fn from_tag(tag: &str) -> Option<TrackKind> {
        Some(match tag {
            "AudioTrack" => TrackKind::Audio,
            "MidiTrack" => TrackKind::Midi,
            "GroupTrack" => TrackKind::Group,
            "ReturnTrack" => TrackKind::Return,
            "MasterTrack" | "MainTrack" => TrackKind::Master,
            _ => return None,
        })
    }
}

/// A track as found in the set.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    pub element: ElementId,
    pub kind: TrackKind,
    /// The `Id` attribute (the master track has none).
    pub id: Option<i64>,
    /// `Name/EffectiveName`, else `Name/UserName`, else empty.
    pub name: String,
    pub user_name: Option<String>,
    pub effective_name: Option<String>,
    /// `TrackGroupId` when it names a group (not -1).
    pub group_id: Option<i64>,
    /// `DeviceChain/AudioOutputRouting/Target`.
    pub output_target: Option<String>,
}

/// The set's version attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// `MajorVersion` (4 for Live 8–9, 5 for Live 10–12).
    pub schema_major: Option<u32>,
    /// `MinorVersion`, such as `11.0_433`.
    pub minor: String,
    /// `Creator`, such as `Ableton Live 11.0.12`.
    pub creator: String,
    /// Live's major version, from `MinorVersion` (8 … 12).
    pub live_major: Option<u32>,
}

/// A continuous or enum parameter (`Volume`, `Pan`, `Freq`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub element: ElementId,
    /// The `Manual` child (absent in Live 8 sets).
    pub manual: Option<ElementId>,
    /// The static value: `Manual/Value`, or in Live 8 the value of the
    /// "pre-song" `FloatEvent` (Time −63072000).
    pub value: Option<f64>,
    /// `AutomationTarget Id`.
    pub automation_target: Option<u64>,
    /// Live 8 only: the parameter's own `ArrangerAutomation` holds more than
    /// the pre-song event (automation stored in place).
    pub inline_automation: bool,
}

/// A sample reference (`SampleRef/FileRef`), in either version's layout.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileRef {
    pub element: Option<ElementId>,
    /// Live 11+: `RelativePath Value`.
    pub relative_path: Option<String>,
    /// Live ≤ 10: `RelativePath/RelativePathElement Dir` items (`""` = parent).
    pub relative_dirs: Vec<String>,
    pub relative_path_type: Option<i64>,
    pub has_relative_path: Option<bool>,
    /// Live 11+: the absolute `Path`.
    pub path: Option<String>,
    /// Live ≤ 10: the file `Name`.
    pub name: Option<String>,
    /// Live ≤ 10: `SearchHint/PathHint` dirs (absolute).
    pub search_hint_dirs: Vec<String>,
    /// Live ≤ 10 on Windows: the absolute path that the `Data` blob holds as
    /// UTF-16LE hex (on macOS the blob is an alias record and this is None).
    pub data_path: Option<String>,
    /// `SearchHint/FileSize` (≤ 10) or `OriginalFileSize` (11+).
    pub file_size: Option<u64>,
}

impl FileRef {
    /// Candidate locations in the order FORMATS.md §2.4 gives (existence is
    /// not checked): Live 11+ `RelativePath` against the set's folder, then
    /// `Path`; Live ≤ 10 the relative dirs walked from the set's folder
    /// (`""` = `..`) plus `Name`, then the search hint plus `Name`.
    pub fn candidates(&self, set_dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(rel) = self.relative_path.as_deref().filter(|r| !r.is_empty()) {
            out.push(set_dir.join(rel));
        }
        if let Some(p) = self.path.as_deref().filter(|p| !p.is_empty()) {
            out.push(PathBuf::from(p));
        }
        if let Some(name) = self.name.as_deref().filter(|n| !n.is_empty()) {
            if self.has_relative_path != Some(false) && self.relative_path.is_none() {
                let mut p = set_dir.to_path_buf();
                for d in &self.relative_dirs {
                    if d.is_empty() {
                        p.push("..");
                    } else {
                        p.push(d);
                    }
                }
                out.push(p.join(name));
            }
            if let Some(p) = &self.data_path {
                out.push(PathBuf::from(p));
            }
            if !self.search_hint_dirs.is_empty() {
                let mut p = PathBuf::from("/");
                for d in &self.search_hint_dirs {
                    p.push(d);
                }
                out.push(p.join(name));
            }
        }
        out
    }

    /// The file name, whichever layout gave it.
    pub fn file_name(&self) -> Option<String> {
        self.name.clone().or_else(|| {
            self.relative_path
                .as_deref()
                .or(self.path.as_deref())
                .and_then(|p| p.rsplit(['/', '\\']).next())
                .map(str::to_owned)
        })
    }
}

/// An audio clip.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioClip {
    pub element: ElementId,
    /// In the arrangement (`MainSequencer/Sample/ArrangerAutomation/Events`)
    /// rather than a session clip slot or a take lane.
    pub arrangement: bool,
    /// `Time` attribute, in beats.
    pub time: Option<f64>,
    pub current_start: Option<f64>,
    pub current_end: Option<f64>,
    pub name: String,
    /// `SampleVolume` (linear gain, a FORMATS.md belief).
    pub sample_volume: Option<f64>,
    pub is_warped: Option<bool>,
    pub warp_mode: Option<i64>,
    pub pitch_coarse: Option<f64>,
    pub pitch_fine: Option<f64>,
    /// `Disabled` (a muted clip).
    pub disabled: Option<bool>,
    /// `Loop/LoopStart`, `Loop/LoopEnd`, `Loop/StartRelative` (beats of the
    /// sample when warped, seconds when not, a belief) and `Loop/LoopOn`.
    pub loop_start: Option<f64>,
    pub loop_end: Option<f64>,
    pub start_relative: Option<f64>,
    pub loop_on: Option<bool>,
    /// `Fades/FadeInLength` and `Fades/FadeOutLength`, as stored.
    pub fade_in_length: Option<f64>,
    pub fade_out_length: Option<f64>,
    /// `SampleRef/DefaultSampleRate` and `SampleRef/DefaultDuration`
    /// (frames).
    pub default_sample_rate: Option<f64>,
    pub default_duration: Option<f64>,
    pub file_ref: Option<FileRef>,
}

/// Decodes a `Data` blob written as hex of a UTF-16LE path (Live ≤ 10 on
/// Windows). None unless it decodes cleanly to text that looks like a path.
/// Hand-written: hex plus UTF-16 is a few lines with std.
fn utf16_hex_path(hex: &str) -> Option<String> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.is_empty() || !digits.len().is_multiple_of(4) {
        return None;
    }
    let val = |b: u8| (b as char).to_digit(16);
    let mut units = Vec::with_capacity(digits.len() / 4);
    for q in digits.chunks(4) {
        let lo = val(q[0])? * 16 + val(q[1])?;
        let hi = val(q[2])? * 16 + val(q[3])?;
        units.push((hi * 256 + lo) as u16);
    }
    while units.last() == Some(&0) {
        units.pop();
    }
    let s = String::from_utf16(&units).ok()?;
    let looks_like_path = (s.contains(":\\") || s.contains(":/") || s.starts_with("\\\\"))
        && !s.chars().any(char::is_control);
    looks_like_path.then_some(s)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

impl Document {
    fn ro(&self, id: ElementId, msg: String) -> Error {
        self.error_at(id, ErrorKind::ReadOnly(msg))
    }

    fn schema_at(&self, id: ElementId, msg: impl Into<String>) -> Error {
        self.error_at(id, ErrorKind::Schema(msg.into()))
    }

    /// The version attributes of the root.
    pub fn version(&self) -> Version {
        let r = self.root();
        let minor = self.attr(r, "MinorVersion").unwrap_or("").to_owned();
        let live_major = minor.split(['.', '_']).next().and_then(|s| s.parse().ok());
        Version {
            schema_major: self.attr(r, "MajorVersion").and_then(|s| s.parse().ok()),
            minor,
            creator: self.attr(r, "Creator").unwrap_or("").to_owned(),
            live_major,
        }
    }

    /// Why this set must not be edited, if it must not: Live 8 sets (no
    /// `Manual` values; the static value lives in an automation event) and
    /// documents that are not Live sets at all.
    pub fn read_only_reason(&self) -> Option<String> {
        if self.name(self.root()) != "Ableton" || self.child(self.root(), "LiveSet").is_none() {
            return Some("not an Ableton Live set (no Ableton/LiveSet)".into());
        }
        let v = self.version();
        let old = v.live_major.is_some_and(|m| m < 9);
        let no_manual = self
            .tracks()
            .iter()
            .filter_map(|t| self.path(t.element, &["DeviceChain", "Mixer", "Volume"]))
            .any(|vol| self.child(vol, "Manual").is_none());
        if old || no_manual {
            return Some(format!(
                "{} (MinorVersion {}) stores mixer values as automation events, not Manual values; \
                 premix reads Live 8 sets but writes only Live 9 and later; save the set in a newer Live first",
                if v.creator.is_empty() { "this set" } else { &v.creator },
                v.minor
            ));
        }
        None
    }

    fn check_writable(&self) -> Result<()> {
        match self.read_only_reason() {
            Some(m) => Err(self.ro(self.root(), m)),
            None => Ok(()),
        }
    }

    /// `Ableton/LiveSet`.
    pub fn live_set(&self) -> Result<ElementId> {
        self.child(self.root(), "LiveSet")
            .ok_or_else(|| self.schema_at(self.root(), "no LiveSet element"))
    }

    /// `LiveSet/Tracks`.
    pub fn tracks_element(&self) -> Result<ElementId> {
        let ls = self.live_set()?;
        self.child(ls, "Tracks")
            .ok_or_else(|| self.schema_at(ls, "no Tracks element"))
    }

    fn track(&self, e: ElementId) -> Option<Track> {
        let kind = TrackKind::from_tag(self.name(e))?;
        let name_el = self.child(e, "Name");
        let get = |n: &str| {
            name_el
                .and_then(|ne| self.child(ne, n))
                .and_then(|c| self.value(c))
                .map(str::to_owned)
        };
        let effective_name = get("EffectiveName");
        let user_name = get("UserName");
        let name = effective_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| user_name.clone())
            .unwrap_or_default();
        Some(Track {
            element: e,
            kind,
            id: self.attr(e, "Id").and_then(|s| s.parse().ok()),
            name,
            user_name,
            effective_name,
            group_id: self
                .child(e, "TrackGroupId")
                .and_then(|g| self.value(g))
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|&g| g >= 0),
            output_target: self
                .track_chain(e)
                .and_then(|c| self.path(c, &["AudioOutputRouting", "Target"]))
                .and_then(|t| self.value(t))
                .map(str::to_owned),
        })
    }

    /// The tracks of `LiveSet/Tracks` in display order (returns included).
    pub fn tracks(&self) -> Vec<Track> {
        let Ok(ts) = self.tracks_element() else {
            return Vec::new();
        };
        self.children(ts).filter_map(|e| self.track(e)).collect()
    }

    /// The master (Live 12: main) track.
    pub fn master_track(&self) -> Option<Track> {
        let ls = self.live_set().ok()?;
        let e = self
            .child(ls, "MasterTrack")
            .or_else(|| self.child(ls, "MainTrack"))?;
        self.track(e)
    }

    /// The song tempo parameter (`Mixer/Tempo` of the master track); its
    /// [`Parameter::value`] is in BPM.
    pub fn tempo(&self) -> Option<Parameter> {
        let m = self.master_track()?;
        self.mixer_parameter(m.element, "Tempo")
    }

    /// The track with this `Id`.
    pub fn track_by_id(&self, id: i64) -> Option<Track> {
        self.tracks().into_iter().find(|t| t.id == Some(id))
    }

    /// A track's outer chain: `DeviceChain`, or the Live 8 master track's
    /// `MasterChain`.
    pub fn track_chain(&self, track: ElementId) -> Option<ElementId> {
        self.child(track, "DeviceChain")
            .or_else(|| self.child(track, "MasterChain"))
    }

    /// `DeviceChain/Mixer` of a track (`MasterChain/Mixer` for a Live 8
    /// master).
    pub fn mixer(&self, track: ElementId) -> Option<ElementId> {
        self.track_chain(track).and_then(|c| self.child(c, "Mixer"))
    }

    /// Reads a parameter element (`Volume`, `Pan`, a device's `Freq`, ...).
    pub fn parameter(&self, e: ElementId) -> Parameter {
        let manual = self.child(e, "Manual");
        let events = self.path(e, &["ArrangerAutomation", "Events"]);
        let event_values: Vec<f64> = events
            .map(|ev| {
                self.children(ev)
                    .filter_map(|x| self.attr(x, "Value").and_then(|v| v.parse().ok()))
                    .collect()
            })
            .unwrap_or_default();
        let value = manual
            .and_then(|m| self.value(m))
            .and_then(|v| match v {
                "true" => Some(1.0),
                "false" => Some(0.0),
                v => v.parse().ok(),
            })
            .or_else(|| event_values.first().copied());
        Parameter {
            element: e,
            manual,
            value,
            automation_target: self
                .child(e, "AutomationTarget")
                .and_then(|a| self.attr(a, "Id"))
                .and_then(|s| s.parse().ok()),
            inline_automation: event_values.len() > 1,
        }
    }

    /// A mixer parameter of a track: `Volume`, `Pan`, `Speaker`, ...
    pub fn mixer_parameter(&self, track: ElementId, name: &str) -> Option<Parameter> {
        let m = self.mixer(track)?;
        self.child(m, name).map(|p| self.parameter(p))
    }

    /// The `PointeeId`s of a track's automation envelopes (the parameters it
    /// automates).
    pub fn automated_targets(&self, track: ElementId) -> HashSet<u64> {
        let Some(envs) = self.path(track, &["AutomationEnvelopes", "Envelopes"]) else {
            return HashSet::new();
        };
        self.children(envs)
            .filter_map(|env| self.path(env, &["EnvelopeTarget", "PointeeId"]))
            .filter_map(|p| self.value(p).and_then(|v| v.parse().ok()))
            .collect()
    }

    /// Whether a parameter of `track` has an automation envelope (or, in
    /// Live 8, automation stored in the parameter itself).
    pub fn is_automated(&self, track: ElementId, p: &Parameter) -> bool {
        p.inline_automation
            || p.automation_target
                .is_some_and(|id| self.automated_targets(track).contains(&id))
    }

    /// The device list `DeviceChain/DeviceChain/Devices` of a track (under
    /// `MasterChain` for a Live 8 master).
    pub fn devices_element(&self, track: ElementId) -> Option<ElementId> {
        self.track_chain(track)
            .and_then(|c| self.path(c, &["DeviceChain", "Devices"]))
    }

    /// The devices of a track, in chain order.
    pub fn devices(&self, track: ElementId) -> Vec<ElementId> {
        self.devices_element(track)
            .map(|d| self.children(d).collect())
            .unwrap_or_default()
    }

    /// Reads a `FileRef` element (either layout).
    pub fn file_ref(&self, fr: ElementId) -> FileRef {
        let val = |p: &[&str]| {
            self.path(fr, p)
                .and_then(|e| self.value(e))
                .map(str::to_owned)
        };
        let rel = self.child(fr, "RelativePath");
        let (relative_path, relative_dirs) = match rel {
            Some(r) if self.value(r).is_some() => (self.value(r).map(str::to_owned), Vec::new()),
            Some(r) => (
                None,
                self.children(r)
                    .filter_map(|d| self.attr(d, "Dir").map(str::to_owned))
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        let search_hint_dirs = self
            .path(fr, &["SearchHint", "PathHint"])
            .map(|h| {
                self.children(h)
                    .filter_map(|d| self.attr(d, "Dir").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let data_path = self
            .child(fr, "Data")
            .and_then(|d| utf16_hex_path(self.inner_text(d)));
        FileRef {
            element: Some(fr),
            data_path,
            relative_path,
            relative_dirs,
            relative_path_type: val(&["RelativePathType"]).and_then(|s| s.parse().ok()),
            has_relative_path: val(&["HasRelativePath"]).as_deref().and_then(parse_bool),
            path: val(&["Path"]),
            name: val(&["Name"]),
            search_hint_dirs,
            file_size: val(&["SearchHint", "FileSize"])
                .or_else(|| val(&["OriginalFileSize"]))
                .and_then(|s| s.parse().ok()),
        }
    }

    /// Every `SampleRef/FileRef` in the set (clips, samplers, anywhere).
    pub fn sample_refs(&self) -> Vec<FileRef> {
        self.descendants(self.root())
            .into_iter()
            .filter(|&e| self.name(e) == "SampleRef")
            .filter_map(|e| self.child(e, "FileRef"))
            .map(|fr| self.file_ref(fr))
            .collect()
    }

    fn audio_clip(&self, e: ElementId, arrangement: bool) -> AudioClip {
        let val = |n: &str| self.child(e, n).and_then(|c| self.value(c));
        let num = |n: &str| val(n).and_then(|s| s.parse().ok());
        let at = |p: &[&str]| {
            self.path(e, p)
                .and_then(|c| self.value(c))
                .and_then(|s| s.parse().ok())
        };
        AudioClip {
            element: e,
            arrangement,
            time: self.attr(e, "Time").and_then(|s| s.parse().ok()),
            current_start: num("CurrentStart"),
            current_end: num("CurrentEnd"),
            name: val("Name").unwrap_or("").to_owned(),
            sample_volume: num("SampleVolume"),
            is_warped: val("IsWarped").and_then(parse_bool),
            warp_mode: val("WarpMode").and_then(|s| s.parse().ok()),
            pitch_coarse: num("PitchCoarse"),
            pitch_fine: num("PitchFine"),
            disabled: val("Disabled").and_then(parse_bool),
            loop_start: at(&["Loop", "LoopStart"]),
            loop_end: at(&["Loop", "LoopEnd"]),
            start_relative: at(&["Loop", "StartRelative"]),
            loop_on: self
                .path(e, &["Loop", "LoopOn"])
                .and_then(|c| self.value(c))
                .and_then(parse_bool),
            fade_in_length: at(&["Fades", "FadeInLength"]),
            fade_out_length: at(&["Fades", "FadeOutLength"]),
            default_sample_rate: at(&["SampleRef", "DefaultSampleRate"]),
            default_duration: at(&["SampleRef", "DefaultDuration"]),
            file_ref: self
                .path(e, &["SampleRef", "FileRef"])
                .map(|f| self.file_ref(f)),
        }
    }

    /// A track's arrangement audio clips
    /// (`DeviceChain/MainSequencer/Sample/ArrangerAutomation/Events/AudioClip`).
    pub fn arrangement_clips(&self, track: ElementId) -> Vec<AudioClip> {
        self.path(
            track,
            &[
                "DeviceChain",
                "MainSequencer",
                "Sample",
                "ArrangerAutomation",
                "Events",
            ],
        )
        .map(|ev| {
            self.children(ev)
                .filter(|&c| self.name(c) == "AudioClip")
                .map(|c| self.audio_clip(c, true))
                .collect()
        })
        .unwrap_or_default()
    }

    /// A track's session-view audio clips (clip slots).
    pub fn session_clips(&self, track: ElementId) -> Vec<AudioClip> {
        let Some(list) = self.path(track, &["DeviceChain", "MainSequencer", "ClipSlotList"]) else {
            return Vec::new();
        };
        self.descendants(list)
            .into_iter()
            .filter(|&c| self.name(c) == "AudioClip")
            .map(|c| self.audio_clip(c, false))
            .collect()
    }

    /// `LiveSet/NextPointeeId` (Live 10+).
    pub fn next_pointee_id(&self) -> Option<u64> {
        let ls = self.live_set().ok()?;
        self.child(ls, "NextPointeeId")
            .and_then(|e| self.value(e))
            .and_then(|s| s.parse().ok())
    }

    /// Every pointee Id in the set with its element.
    pub fn pointee_ids(&self) -> Vec<(u64, ElementId)> {
        self.descendants(self.root())
            .into_iter()
            .filter(|&e| is_pointee_tag(self.name(e)))
            .filter_map(|e| {
                self.attr(e, "Id")
                    .and_then(|s| s.parse().ok())
                    .map(|id| (id, e))
            })
            .collect()
    }

    // ----- edits ---------------------------------------------------------

    /// Sets a parameter's `Manual` value with Live's float spelling (enum and
    /// integer values come out as integers). Only the value's bytes change.
    pub fn set_manual(&mut self, parameter: ElementId, value: f64) -> Result<()> {
        self.set_manual_text(parameter, &format_live_float(value))
    }

    /// Sets a boolean parameter's `Manual` value (`true`/`false`).
    pub fn set_manual_bool(&mut self, parameter: ElementId, value: bool) -> Result<()> {
        self.set_manual_text(parameter, if value { "true" } else { "false" })
    }

    /// Sets `Manual Value` to the given text.
    pub fn set_manual_text(&mut self, parameter: ElementId, text: &str) -> Result<()> {
        self.check_writable()?;
        let m = self.child(parameter, "Manual").ok_or_else(|| {
            self.schema_at(
                parameter,
                format!("<{}> has no Manual value", self.name(parameter)),
            )
        })?;
        self.set_attr(m, "Value", text)
    }

    /// The first free pointee Id: `NextPointeeId`, or one past the largest
    /// Id in use (Live 9 sets have no `NextPointeeId`), whichever is larger.
    fn fresh_pointee_base(&self) -> u64 {
        let max_used = self
            .pointee_ids()
            .iter()
            .map(|p| p.0 + 1)
            .max()
            .unwrap_or(0);
        self.next_pointee_id().unwrap_or(0).max(max_used)
    }

    /// Gives every pointee element of `fragment` a fresh Id from `*next` on,
    /// and rewrites `PointeeId` values inside it that named the old Ids.
    fn renumber_pointees(&self, fragment: &str, next: &mut u64) -> Result<String> {
        let mut t = Tree::parse(fragment.to_owned(), self.limits())?;
        let mut map: HashMap<String, String> = HashMap::new();
        let ids: Vec<usize> = (0..t.nodes.len())
            .filter(|&i| {
                is_pointee_tag(&t.nodes[i].name) && t.nodes[i].attrs.iter().any(|a| a.name == "Id")
            })
            .collect();
        for i in ids {
            let old = t.nodes[i]
                .attrs
                .iter()
                .find(|a| a.name == "Id")
                .map(|a| a.value.clone());
            let new = next.to_string();
            *next += 1;
            t.set_attr(ElementId(i), "Id", &new)?;
            if let Some(old) = old {
                map.entry(old).or_insert(new);
            }
        }
        let refs: Vec<(usize, String)> = (0..t.nodes.len())
            .filter(|&i| t.nodes[i].name == "PointeeId")
            .filter_map(|i| {
                let v = t.nodes[i].attrs.iter().find(|a| a.name == "Value")?;
                map.get(&v.value).map(|n| (i, n.clone()))
            })
            .collect();
        for (i, n) in refs {
            t.set_attr(ElementId(i), "Value", &n)?;
        }
        Ok(t.text)
    }

    fn set_next_pointee_id(&mut self, next: u64) -> Result<()> {
        let ls = self.live_set()?;
        if let Some(n) = self.child(ls, "NextPointeeId") {
            if self
                .value(n)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
                < next
            {
                self.set_attr(n, "Value", &next.to_string())?;
            }
        }
        Ok(())
    }

    /// One past the largest `Id` among `list`'s children (0 if none).
    pub fn next_list_id(&self, list: ElementId) -> i64 {
        self.children(list)
            .filter_map(|c| self.attr(c, "Id").and_then(|s| s.parse::<i64>().ok()))
            .map(|i| i + 1)
            .max()
            .unwrap_or(0)
    }

    /// Sets the root element's `Id` attribute of a fragment.
    fn set_root_id(&self, fragment: &str, id: i64) -> Result<String> {
        let mut t = Tree::parse(fragment.to_owned(), self.limits())?;
        let root = ElementId(t.root);
        if t.node(root).attrs.iter().any(|a| a.name == "Id") {
            t.set_attr(root, "Id", &id.to_string())?;
        }
        Ok(t.text)
    }

    /// Inserts a device (the text of one device element from a set of the
    /// same major version) at `index` of a track's device chain: its pointee
    /// Ids are renumbered from `NextPointeeId` (which is bumped), its list
    /// `Id` becomes the chain's largest plus one. Returns the new device.
    pub fn insert_device(
        &mut self,
        track: ElementId,
        index: usize,
        template: &str,
    ) -> Result<ElementId> {
        self.check_writable()?;
        let list = self
            .devices_element(track)
            .ok_or_else(|| self.schema_at(track, "track has no DeviceChain/DeviceChain/Devices"))?;
        let index = index.min(self.children(list).count());
        let mut next = self.fresh_pointee_base();
        let text = self.renumber_pointees(template, &mut next)?;
        let text = self.set_root_id(&text, self.next_list_id(list))?;
        let dev = self.insert_element(list, index, &text)?;
        self.set_next_pointee_id(next)?;
        Ok(dev)
    }

    /// How a track routes to the master in this set's version.
    fn master_target(&self) -> &'static str {
        match self.master_track() {
            Some(m) if self.name(m.element) == "MainTrack" => "AudioOut/Main",
            _ => "AudioOut/Master",
        }
    }

    /// Puts a track into a group (`Some(group Id)`, routing
    /// `AudioOut/GroupTrack`) or takes it out (`None`, routing to the master).
    /// Does not move the track: members must follow their group (see
    /// [`Document::group_tracks`]).
    pub fn set_track_group(&mut self, track: ElementId, group: Option<i64>) -> Result<()> {
        self.check_writable()?;
        if let Some(g) = group {
            match self.track_by_id(g) {
                Some(t) if t.kind == TrackKind::Group => {}
                _ => return Err(self.schema_at(track, format!("no GroupTrack with Id {g}"))),
            }
        }
        let gid = self
            .child(track, "TrackGroupId")
            .ok_or_else(|| self.schema_at(track, "track has no TrackGroupId"))?;
        self.set_attr(gid, "Value", &group.unwrap_or(-1).to_string())?;
        let (target, upper) = match group {
            Some(_) => ("AudioOut/GroupTrack", "Group"),
            None => (self.master_target(), "Master"),
        };
        if let Some(r) = self
            .track_chain(track)
            .and_then(|c| self.child(c, "AudioOutputRouting"))
        {
            for (n, v) in [
                ("Target", target),
                ("UpperDisplayString", upper),
                ("LowerDisplayString", ""),
            ] {
                if let Some(e) = self.child(r, n) {
                    self.set_attr(e, "Value", v)?;
                }
            }
        }
        Ok(())
    }

    /// The number of scenes (`Scenes`, or Live 10's `SceneNames`).
    pub fn scene_count(&self) -> Option<usize> {
        let ls = self.live_set().ok()?;
        let s = self
            .child(ls, "Scenes")
            .or_else(|| self.child(ls, "SceneNames"))?;
        Some(self.children(s).count())
    }

    /// Makes a GroupTrack fragment fit this set: one `TrackSendHolder` per
    /// return track, one `GroupTrackSlot` per scene and (Live 12.3) one
    /// freeze `ClipSlot` per scene (extra items dropped,
    /// missing ones cloned from the template's or the set's), item Ids 0..n.
    fn fit_group_template(&self, fragment: &str) -> Result<String> {
        let returns = self
            .tracks()
            .iter()
            .filter(|t| t.kind == TrackKind::Return)
            .count();
        let mut t = Tree::parse(fragment.to_owned(), self.limits())?;
        let root = t.root;
        let Some(sends) = find_path(&t, root, &["DeviceChain", "Mixer", "Sends"]) else {
            return Err(Error::schema(
                "the GroupTrack template has no DeviceChain/Mixer/Sends",
            ));
        };
        let set_holder = || {
            self.tracks()
                .iter()
                .filter_map(|tr| self.path(tr.element, &["DeviceChain", "Mixer", "Sends"]))
                .find_map(|s| self.children(s).next())
                .map(|h| self.text_of(h).to_owned())
        };
        fit_list(&mut t, sends, returns, set_holder, self.limits())?;
        if let Some(scenes) = self.scene_count() {
            if let Some(slots) = find_path(&t, root, &["Slots"]) {
                fit_list(&mut t, slots, scenes, || None, self.limits())?;
            }
            // Live 12.3 gives a group's freezer one clip slot per scene too
            // (empty before 12.3, left so).
            let freeze = find_path(
                &t,
                root,
                &["DeviceChain", "FreezeSequencer", "ClipSlotList"],
            );
            if let Some(f) = freeze.filter(|&f| !t.nodes[f].children.is_empty()) {
                fit_list(&mut t, f, scenes, || None, self.limits())?;
            }
        }
        Ok(t.text)
    }

    /// Inserts a GroupTrack built from `template` (the text of a GroupTrack
    /// of the same major version) at position `index` of `Tracks`, named
    /// `name`, inside group `parent_group` (or at top level). It gets the
    /// next track Id, fresh pointee Ids, one send holder per return, and
    /// routes to its parent. Returns the element and its track Id.
    pub fn insert_group_track(
        &mut self,
        index: usize,
        template: &str,
        name: &str,
        parent_group: Option<i64>,
    ) -> Result<(ElementId, i64)> {
        self.check_writable()?;
        let tracks = self.tracks_element()?;
        let probe = Tree::parse(template.to_owned(), self.limits())?;
        if probe.node(ElementId(probe.root)).name != "GroupTrack" {
            return Err(Error::schema("the template is not a GroupTrack"));
        }
        let track_id = self
            .tracks()
            .iter()
            .filter_map(|t| t.id)
            .map(|i| i + 1)
            .max()
            .unwrap_or(0);
        let mut next = self.fresh_pointee_base();
        let text = self.fit_group_template(template)?;
        let text = self.renumber_pointees(&text, &mut next)?;
        let text = self.set_root_id(&text, track_id)?;
        let index = index.min(self.children(tracks).count());
        let g = self.insert_element(tracks, index, &text)?;
        self.set_next_pointee_id(next)?;
        if let Some(n) = self.child(g, "Name") {
            for tag in ["EffectiveName", "UserName"] {
                if let Some(e) = self.child(n, tag) {
                    self.set_attr(e, "Value", name)?;
                }
            }
        }
        self.set_track_group(g, parent_group)?;
        Ok((g, track_id))
    }

    /// The index in `Tracks` of `track` and the number of tracks in its
    /// block: itself and, for a group, every track after it that belongs to
    /// it directly or through nested groups.
    fn track_block(&self, track: ElementId) -> Result<(usize, usize)> {
        let tracks = self.tracks();
        let i = tracks
            .iter()
            .position(|t| t.element == track)
            .ok_or_else(|| self.schema_at(track, "not a track in LiveSet/Tracks"))?;
        let mut inside: HashSet<i64> = tracks[i]
            .id
            .filter(|_| tracks[i].kind == TrackKind::Group)
            .into_iter()
            .collect();
        let mut len = 1;
        for t in &tracks[i + 1..] {
            match t.group_id {
                Some(g) if inside.contains(&g) => {
                    if t.kind == TrackKind::Group {
                        inside.extend(t.id);
                    }
                    len += 1;
                }
                _ => break,
            }
        }
        Ok((i, len))
    }

    /// Moves a track (with its members, if it is a group) so that it starts
    /// at position `to` of the list without it. Element ids of the moved
    /// tracks change; the new first element is returned.
    pub fn move_track(&mut self, track: ElementId, to: usize) -> Result<ElementId> {
        self.check_writable()?;
        let (i, len) = self.track_block(track)?;
        let tracks_el = self.tracks_element()?;
        let elems: Vec<ElementId> = self.children(tracks_el).skip(i).take(len).collect();
        let texts: Vec<String> = elems.iter().map(|&e| self.text_of(e).to_owned()).collect();
        for e in elems {
            self.remove_element(e)?;
        }
        let to = to.min(self.children(tracks_el).count());
        let mut first = None;
        for (k, t) in texts.iter().enumerate() {
            let e = self.insert_element(tracks_el, to + k, t)?;
            first.get_or_insert(e);
        }
        first.ok_or_else(|| Error::schema("empty track block"))
    }

    /// Creates a group from `template` holding `members` (track elements that
    /// share one parent group, or none): the GroupTrack goes where the first
    /// member was, the members (with their own members) follow it in their
    /// present order, and each routes to it. Returns the group's element and
    /// track Id.
    pub fn group_tracks(
        &mut self,
        members: &[ElementId],
        template: &str,
        name: &str,
    ) -> Result<(ElementId, i64)> {
        self.check_writable()?;
        let tracks = self.tracks();
        let mut chosen: Vec<&Track> = tracks
            .iter()
            .filter(|t| members.contains(&t.element))
            .collect();
        if chosen.len() != members.len() || chosen.is_empty() {
            return Err(self.schema_at(
                self.root(),
                "group members must be distinct tracks of LiveSet/Tracks",
            ));
        }
        if chosen
            .iter()
            .any(|t| matches!(t.kind, TrackKind::Return | TrackKind::Master))
        {
            return Err(self.schema_at(
                chosen[0].element,
                "return and master tracks cannot join a group",
            ));
        }
        let parent = chosen[0].group_id;
        if chosen.iter().any(|t| t.group_id != parent) {
            return Err(self.schema_at(
                chosen[0].element,
                "group members must share their parent group",
            ));
        }
        chosen.sort_by_key(|t| tracks.iter().position(|x| x.element == t.element));
        // Track Ids survive moves; element ids do not.
        let ids: Vec<i64> = chosen
            .iter()
            .map(|t| {
                t.id.ok_or_else(|| self.schema_at(t.element, "track without an Id"))
            })
            .collect::<Result<_>>()?;
        let first_index = tracks
            .iter()
            .position(|x| x.element == chosen[0].element)
            .unwrap_or(0);
        let (group, gid) = self.insert_group_track(first_index, template, name, parent)?;
        let mut at = first_index + 1;
        for id in ids {
            let el = self
                .track_by_id(id)
                .ok_or_else(|| self.schema_at(group, format!("track {id} vanished")))?
                .element;
            let (i, _) = self.track_block(el)?;
            // Members keep their order and only move earlier, so `at` (the
            // slot after the previous member's block) is never past `i`.
            let moved = if i == at {
                el
            } else {
                self.move_track(el, at)?
            };
            let (pos, len) = self.track_block(moved)?;
            at = pos + len;
            self.set_track_group(moved, Some(gid))?;
        }
        let group = self
            .track_by_id(gid)
            .map(|t| t.element)
            .ok_or_else(|| Error::schema("the new group vanished"))?;
        Ok((group, gid))
    }
}

/// Follows child names in a bare tree.
fn find_path(t: &Tree, from: usize, path: &[&str]) -> Option<usize> {
    path.iter().try_fold(from, |at, n| {
        t.nodes[at]
            .children
            .iter()
            .copied()
            .find(|&c| t.nodes[c].name == *n)
    })
}

/// Makes list `list` of `t` hold `n` items: extra ones are dropped, missing
/// ones cloned from its first item (or `fallback()`), and item Ids set to
/// 0..n where the items carry Ids. An empty list becomes `<X />`.
fn fit_list(
    t: &mut Tree,
    list: usize,
    n: usize,
    fallback: impl Fn() -> Option<String>,
    limits: &crate::Limits,
) -> Result<()> {
    let items: Vec<usize> = t.nodes[list].children.clone();
    if n == 0 {
        if !items.is_empty() || !t.nodes[list].self_closing {
            let name = t.nodes[list].name.clone();
            let tag = t.text[t.nodes[list].start..t.nodes[list].tag_end].to_owned();
            let open = tag.trim_end_matches('>').trim_end_matches('/').trim_end();
            t.replace(ElementId(list), &format!("{open} />"), limits)?;
            debug_assert_eq!(t.nodes[list].name, name);
        }
        return Ok(());
    }
    for &h in items.iter().skip(n).rev() {
        t.remove(ElementId(h))?;
    }
    if items.len() < n {
        let proto = match items.first() {
            Some(&h) => t.text[t.nodes[h].start..t.nodes[h].end].to_owned(),
            None => fallback().ok_or_else(|| {
                Error::schema(format!("no <{}> item to copy", t.nodes[list].name))
            })?,
        };
        for i in items.len()..n {
            t.insert(ElementId(list), i, &proto, limits)?;
        }
    }
    let items: Vec<usize> = t.nodes[list].children.clone();
    for (i, h) in items.into_iter().enumerate() {
        if t.nodes[h].attrs.iter().any(|a| a.name == "Id") {
            t.set_attr(ElementId(h), "Id", &i.to_string())?;
        }
    }
    Ok(())
}

/// Per-list Id duplicates and other helpers shared with the validator.
pub(crate) fn duplicate_list_ids(doc: &Document) -> Vec<(ElementId, String)> {
    let mut out = Vec::new();
    for e in doc.descendants(doc.root()) {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for c in doc.children(e) {
            if is_pointee_tag(doc.name(c)) {
                continue;
            }
            if let Some(id) = doc.attr(c, "Id") {
                *seen.entry(id).or_default() += 1;
            }
        }
        for (id, n) in seen {
            if n > 1 {
                out.push((e, id.to_owned()));
            }
        }
    }
    out
}
