//! The session model from an Ableton Live set (FORMATS.md §2; issue 8).
//!
//! Reads a [`premix_als::Document`]; never edits it. What the model holds:
//!
//! - every track of `LiveSet/Tracks` in display order: audio, MIDI, group
//!   and return tracks (MIDI and return tracks have no audio clips to mix;
//!   group tracks are folders, their members' `TrackGroupId` → `parent`);
//! - the mixer: `Volume/Manual` is linear gain (1 = 0 dB; Live's minimum,
//!   −70 dB, is its −inf and reads as 0), `Pan/Manual` is −1…+1, `Speaker`
//!   off is mute, `SoloSink` on is solo; a volume/pan automation envelope
//!   sets `volume_automated`/`pan_automated`;
//! - arrangement audio clips (session-view clips and take lanes do not play
//!   in the arrangement, so they are left out). Positions are in beats in the
//!   set and become seconds through the song tempo. **Tempo changes are not
//!   modelled**: an automated tempo gives a warning and the static tempo is
//!   used. Unwarped clips store their source window in seconds
//!   (`Loop/LoopStart` + `StartRelative`), which is exact; **warped clips**
//!   are read as if the sample played at its own speed from the same offset
//!   read as beats at the song tempo, and are flagged with a warning;
//! - clip gain (`SampleVolume`, linear), fades (stored in beats: a belief,
//!   every corpus fade is 0), `Disabled` as a muted clip, transposition;
//! - sample references resolved per Live version (FORMATS.md §2.4):
//!   [`premix_als::live::FileRef::candidates`] in the documented order, then
//!   [`Resolver`] (the set's folder and its `Samples/`), then by name anywhere
//!   under the project's `Samples/` folder (Live files recordings under
//!   `Samples/Recorded`, imports under `Samples/Imported`).
//!
//! Live 8 sets read (their static values come from the pre-song automation
//! event) but cannot be written.

use super::media::Resolver;
use super::{Clip, ClipKind, Error, Format, Session, Track, Warning};
use premix_als::live::{AudioClip, TrackKind};
use premix_als::Document;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Live's lowest fader value (−70 dB), which it shows as −inf.
const LIVE_MIN_GAIN: f64 = 0.000_316_23;

/// Reads an `.als` file into a [`Session`].
pub fn read(path: &Path) -> Result<Session, Error> {
    let doc = Document::read(path)?;
    from_document(&doc, path)
}

/// Builds the session model from a parsed set stored at `path`.
pub fn from_document(doc: &Document, path: &Path) -> Result<Session, Error> {
    let invalid = |message: String| Error::Invalid {
        path: path.to_owned(),
        message,
    };
    doc.live_set()
        .map_err(|e| invalid(format!("not an Ableton Live set: {e}")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let finder = SampleFinder::new(dir);
    let mut warnings = Vec::new();

    let master = doc.master_track();
    let tempo = doc.tempo();
    let tempo_bpm = tempo
        .as_ref()
        .and_then(|p| p.value)
        .filter(|t| t.is_finite() && *t > 0.0);
    if let (Some(m), Some(t)) = (&master, &tempo) {
        // Live keeps a tempo envelope on the master even for a fixed tempo:
        // one "pre-song" event. More events are tempo changes.
        let events = t
            .automation_target
            .map_or(0, |id| envelope_events(doc, m.element, id));
        if events > 1 {
            warnings.push(Warning {
                track: None,
                message: format!(
                    "the song tempo changes ({events} tempo automation events); premix places clips with the static tempo ({} BPM)",
                    tempo_bpm.unwrap_or(120.0)
                ),
            });
        }
    }
    let spb = 60.0 / tempo_bpm.unwrap_or(120.0);
    let master_volume = master
        .as_ref()
        .and_then(|m| doc.mixer_parameter(m.element, "Volume"))
        .and_then(|p| p.value)
        .map(fader_gain)
        .unwrap_or(1.0);

    let live_tracks = doc.tracks();
    let index_of_id: HashMap<i64, usize> = live_tracks
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.id.map(|id| (id, i)))
        .collect();
    let mut tracks: Vec<Track> = Vec::with_capacity(live_tracks.len());
    for (index, lt) in live_tracks.iter().enumerate() {
        let parent = lt
            .group_id
            .and_then(|g| index_of_id.get(&g).copied())
            .filter(|&p| p < index && live_tracks[p].kind == TrackKind::Group);
        if lt.group_id.is_some() && parent.is_none() {
            warnings.push(Warning {
                track: Some(index),
                message: format!(
                    "track {} '{}': TrackGroupId {} names no GroupTrack before it; read as top level",
                    index + 1,
                    lt.name,
                    lt.group_id.unwrap_or(-1)
                ),
            });
        }
        let folder_depth = parent.map_or(0, |p: usize| tracks[p].folder_depth + 1);
        let param = |n: &str| doc.mixer_parameter(lt.element, n);
        let volume = param("Volume")
            .and_then(|p| p.value)
            .map(fader_gain)
            .unwrap_or(1.0);
        let pan = param("Pan")
            .and_then(|p| p.value)
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
            .clamp(-1.0, 1.0);
        let mute = param("Speaker").and_then(|p| p.value) == Some(0.0);
        let solo = param("SoloSink").and_then(|p| p.value) == Some(1.0);
        let automated = |n: &str| param(n).is_some_and(|p| doc.is_automated(lt.element, &p));
        let fx = doc
            .devices(lt.element)
            .into_iter()
            .map(|d| device_label(doc, d))
            .collect();
        let live_clips = if lt.kind == TrackKind::Audio {
            doc.arrangement_clips(lt.element)
        } else {
            Vec::new()
        };
        let clips: Vec<Clip> = live_clips.iter().map(|c| clip(c, spb, &finder)).collect();
        let who = format!("track {} '{}'", index + 1, lt.name);
        // One line per track, not per clip: a set moved without its samples
        // has hundreds of clips.
        let missing: Vec<(&Clip, &AudioClip)> = clips
            .iter()
            .zip(&live_clips)
            .filter(|(c, _)| c.resolved_path.is_none())
            .collect();
        if let Some((c, lc)) = missing.first() {
            let sample = c.path.as_deref().unwrap_or("?");
            warnings.push(Warning {
                track: Some(index),
                message: if missing.len() == 1 {
                    format!("{who}, clip '{}': sample '{sample}' not found", lc.name)
                } else {
                    format!(
                        "{who}: {} of {} clips' samples not found, e.g. '{sample}' (clip '{}')",
                        missing.len(),
                        clips.len(),
                        lc.name
                    )
                },
            });
        }
        let warped = live_clips
            .iter()
            .filter(|c| c.is_warped == Some(true))
            .count();
        if warped > 0 {
            warnings.push(Warning {
                track: Some(index),
                message: format!(
                    "{who}: {warped} warped clip(s); premix plays their samples at their own speed (warp markers are not modelled)"
                ),
            });
        }
        let looped = live_clips
            .iter()
            .filter(|c| c.loop_on == Some(true))
            .count();
        if looped > 0 {
            warnings.push(Warning {
                track: Some(index),
                message: format!(
                    "{who}: {looped} looped clip(s); premix plays each sample once from the clip start"
                ),
            });
        }
        if !doc.session_clips(lt.element).is_empty() {
            warnings.push(Warning {
                track: Some(index),
                message: format!(
                    "track {} '{}': session-view clips are not part of the arrangement; left out",
                    index + 1,
                    lt.name
                ),
            });
        }
        let name = if lt.name.is_empty() {
            // Live 8 leaves a default name empty; Live shows "<n>-Audio" etc.
            format!("{}-{:?}", index + 1, lt.kind)
        } else {
            lt.name.clone()
        };
        tracks.push(Track {
            index,
            name,
            guid: lt.id.map(|id| id.to_string()),
            parent,
            folder_depth,
            is_folder: lt.kind == TrackKind::Group,
            volume,
            pan,
            mute,
            solo,
            fx,
            volume_automated: automated("Volume"),
            pan_automated: automated("Pan"),
            colour: None,
            clips,
        });
    }
    Ok(Session {
        path: path.to_owned(),
        format: Format::Als,
        sample_rate: None,
        tempo_bpm,
        master_volume,
        tracks,
        warnings,
    })
}

/// The number of events in `track`'s automation envelope for pointee
/// `target` (0 when it has none).
fn envelope_events(doc: &Document, track: premix_als::ElementId, target: u64) -> usize {
    let Some(envs) = doc.path(track, &["AutomationEnvelopes", "Envelopes"]) else {
        return 0;
    };
    doc.children(envs)
        .filter(|&env| {
            doc.path(env, &["EnvelopeTarget", "PointeeId"])
                .and_then(|p| doc.value(p))
                .and_then(|v| v.parse::<u64>().ok())
                == Some(target)
        })
        .filter_map(|env| doc.path(env, &["Automation", "Events"]))
        .map(|ev| doc.children(ev).count())
        .sum()
}

/// A fader value as linear gain: Live's minimum is −inf.
fn fader_gain(v: f64) -> f64 {
    if !v.is_finite() || v <= LIVE_MIN_GAIN {
        0.0
    } else {
        v
    }
}

/// A device as listed in `fx`: its user name if set, else its tag
/// (`Eq8`, `Compressor2`, `PluginDevice`, ...).
pub fn device_label(doc: &Document, device: premix_als::ElementId) -> String {
    doc.child(device, "UserName")
        .and_then(|u| doc.value(u))
        .filter(|s| !s.is_empty())
        .map_or_else(|| doc.name(device).to_owned(), str::to_owned)
}

/// A clip of the session model; `resolved_path` is `None` where the sample
/// was not found (the caller warns, once per track).
fn clip(c: &AudioClip, spb: f64, finder: &SampleFinder) -> Clip {
    let start_beats = c.current_start.or(c.time).unwrap_or(0.0);
    let end_beats = c.current_end.unwrap_or(start_beats).max(start_beats);
    let warped = c.is_warped.unwrap_or(false);
    let offset = c.loop_start.unwrap_or(0.0) + c.start_relative.unwrap_or(0.0);
    let pitch = c.pitch_coarse.unwrap_or(0.0) + c.pitch_fine.unwrap_or(0.0) / 100.0;
    let written = c.file_ref.as_ref().and_then(|f| {
        f.relative_path
            .clone()
            .or_else(|| f.path.clone())
            .or_else(|| f.file_name())
    });
    let resolved = c.file_ref.as_ref().and_then(|f| finder.find(f));
    let source_type = written
        .as_deref()
        .and_then(|p| Path::new(p).extension())
        .and_then(|e| e.to_str())
        .map_or_else(String::new, str::to_ascii_uppercase);
    Clip {
        name: c.name.clone(),
        kind: ClipKind::Audio,
        source_type,
        path: written,
        resolved_path: resolved,
        position_s: start_beats * spb,
        length_s: (end_beats - start_beats) * spb,
        // Unwarped: seconds of the sample. Warped: beats, read at the song
        // tempo (the approximation the warning above names).
        source_offset_s: if warped { offset * spb } else { offset },
        gain: c
            .sample_volume
            .filter(|g| g.is_finite() && *g >= 0.0)
            .unwrap_or(1.0),
        playrate: 1.0,
        preserve_pitch: warped,
        pitch_semitones: pitch,
        reversed: false,
        fade_in_s: c.fade_in_length.unwrap_or(0.0).max(0.0) * spb,
        fade_out_s: c.fade_out_length.unwrap_or(0.0).max(0.0) * spb,
        muted: c.disabled.unwrap_or(false),
    }
}

/// Finds sample files: the FileRef's own candidates (FORMATS.md §2.4), then
/// the generic resolver, then by name under the project's `Samples/`.
struct SampleFinder {
    dir: PathBuf,
    resolver: Resolver,
}

/// How deep the by-name search goes under `Samples/` (Live uses two levels:
/// `Samples/Recorded/x.wav`, `Samples/Processed/Freeze/x.wav`).
const SAMPLES_DEPTH: usize = 4;

impl SampleFinder {
    fn new(dir: &Path) -> SampleFinder {
        SampleFinder {
            dir: dir.to_owned(),
            resolver: Resolver::new(dir, &[]),
        }
    }

    fn find(&self, f: &premix_als::live::FileRef) -> Option<PathBuf> {
        if let Some(p) = f.candidates(&self.dir).into_iter().find(|p| p.is_file()) {
            return Some(p);
        }
        let written = f.relative_path.clone().or_else(|| f.path.clone());
        if let Some(p) = written.as_deref().and_then(|w| self.resolver.resolve(w)) {
            return Some(p);
        }
        let name = f.file_name()?;
        let name = name.rsplit(['/', '\\']).next()?.to_owned();
        if let Some(p) = self.resolver.resolve(&name) {
            return Some(p);
        }
        find_by_name(&self.dir.join("Samples"), &name, SAMPLES_DEPTH)
    }
}

/// A file named `name` under `dir`, breadth first, to `depth` levels.
fn find_by_name(dir: &Path, name: &str, depth: usize) -> Option<PathBuf> {
    let mut level = vec![dir.to_owned()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for d in level {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    next.push(p);
                } else if p.file_name().and_then(|n| n.to_str()) == Some(name) {
                    return Some(p);
                }
            }
        }
        level = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fader_minimum_is_minus_infinity() {
        assert_eq!(fader_gain(0.0003162277571), 0.0);
        assert_eq!(fader_gain(1.0), 1.0);
        assert_eq!(fader_gain(f64::NAN), 0.0);
    }

    #[test]
    fn samples_are_found_by_name_below_samples() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("Samples/Recorded")).unwrap();
        std::fs::write(d.path().join("Samples/Recorded/a.wav"), b"x").unwrap();
        let f = premix_als::live::FileRef {
            path: Some("/nowhere/a.wav".into()),
            ..Default::default()
        };
        assert_eq!(
            SampleFinder::new(d.path()).find(&f),
            Some(d.path().join("Samples/Recorded/a.wav"))
        );
    }
}
