//! The session model from a REAPER project (FORMATS.md §1.2–1.6).
//!
//! Reads a [`premix_rpp::Document`]; never edits it. Fields premix does not
//! model stay in the document, which writers edit in place.

use super::media::Resolver;
use super::{Clip, ClipKind, Error, Format, Session, Track, Warning};
use premix_rpp::{Block, Document};
use std::path::Path;

/// Reads an `.RPP` file into a [`Session`].
pub fn read(path: &Path) -> Result<Session, Error> {
    let doc = Document::read(path)?;
    from_document(&doc, path)
}

/// Builds the session model from a parsed document stored at `path` (used to
/// resolve relative media paths and to name the file in errors).
pub fn from_document(doc: &Document, path: &Path) -> Result<Session, Error> {
    let project = doc.project().ok_or_else(|| Error::Invalid {
        path: path.to_owned(),
        message: "no <REAPER_PROJECT> block: not a REAPER project file".into(),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let record_paths: Vec<String> = project
        .line("RECORD_PATH")
        .map(|l| {
            l.tokens()[1..]
                .iter()
                .map(|t| t.value().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let resolver = Resolver::new(dir, &record_paths);

    let sample_rate = project
        .line("SAMPLERATE")
        .and_then(|l| l.get_f64(1))
        .filter(|sr| *sr >= 1.0 && *sr <= 1_000_000.0)
        .map(|sr| sr as u32);
    let tempo_bpm = project
        .line("TEMPO")
        .and_then(|l| l.get_f64(1))
        .filter(|t| t.is_finite() && *t > 0.0);
    let master_volume = project
        .line("MASTER_VOLUME")
        .and_then(|l| l.get_f64(1))
        .filter(|v| v.is_finite())
        .unwrap_or(1.0);

    let mut session = Session {
        path: path.to_owned(),
        format: Format::Rpp,
        sample_rate,
        tempo_bpm,
        master_volume,
        tracks: Vec::new(),
        warnings: Vec::new(),
    };

    // Folder structure: `ISBUS a b` where b is the depth change after this
    // track (+1 opens a folder, −n closes n levels).
    let mut parents: Vec<usize> = Vec::new();
    for (index, tb) in project.blocks("TRACK").enumerate() {
        let delta = tb
            .line("ISBUS")
            .and_then(|l| l.get(2))
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        let track = read_track(tb, index, &parents, &resolver, &mut session.warnings);
        session.tracks.push(track);
        if delta > 0 {
            parents.push(index);
        } else if delta < 0 {
            let n = delta.unsigned_abs().min(parents.len() as u64) as usize;
            parents.truncate(parents.len() - n);
        }
    }
    Ok(session)
}

fn read_track(
    tb: &Block,
    index: usize,
    parents: &[usize],
    resolver: &Resolver,
    warnings: &mut Vec<Warning>,
) -> Track {
    let name = tb.value("NAME").unwrap_or("").to_owned();
    let volpan = tb.line("VOLPAN");
    let volume = volpan
        .and_then(|l| l.get_f64(1))
        .filter(|v| v.is_finite())
        .unwrap_or(1.0);
    let pan = volpan
        .and_then(|l| l.get_f64(2))
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
        .clamp(-1.0, 1.0);
    let mutesolo = tb.line("MUTESOLO");
    let flag = |i: usize| mutesolo.and_then(|l| l.get(i)).is_some_and(|s| s != "0");
    let is_folder = tb
        .line("ISBUS")
        .and_then(|l| l.get(2))
        .and_then(|s| s.parse::<i64>().ok())
        .is_some_and(|d| d > 0);
    let colour = tb
        .line("PEAKCOL")
        .and_then(|l| l.get(1))
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|c| c & 0x0100_0000 != 0)
        // REAPER stores the OS colour with bit 24 set as "custom colour";
        // on Windows that is COLORREF 0x00BBGGRR, reported here as RGB.
        .map(|c| {
            let c = c as u32;
            ((c & 0xFF) << 16) | (c & 0xFF00) | ((c >> 16) & 0xFF)
        });
    let fx = tb
        .block("FXCHAIN")
        .map(|chain| {
            chain
                .children
                .iter()
                .filter_map(|n| n.as_block())
                .filter(|b| {
                    matches!(
                        b.name(),
                        "VST" | "JS" | "AU" | "CLAP" | "DX" | "LV2" | "VIDEO_EFFECT"
                    )
                })
                .map(|b| b.param(0).unwrap_or(b.name()).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let volume_automated = ["VOLENV2", "VOLENV", "VOLENV3"]
        .iter()
        .any(|env| tb.blocks(env).any(envelope_active));
    let pan_automated = ["PANENV2", "PANENV"]
        .iter()
        .any(|env| tb.blocks(env).any(envelope_active));

    let clips: Vec<Clip> = tb
        .blocks("ITEM")
        .filter_map(|item| read_item(item, resolver))
        .collect();
    // One warning per missing file per track, however many clips use it.
    let mut missing: Vec<(&str, usize)> = Vec::new();
    for c in clips
        .iter()
        .filter(|c| c.kind == ClipKind::Audio && !c.resolved())
    {
        let p = c.path.as_deref().unwrap_or("");
        match missing.iter_mut().find(|(m, _)| *m == p) {
            Some((_, n)) => *n += 1,
            None => missing.push((p, 1)),
        }
    }
    for (p, n) in missing {
        let uses = if n > 1 {
            format!(" ({n} clips)")
        } else {
            String::new()
        };
        warnings.push(Warning {
            track: Some(index),
            message: format!(
                "track {} '{}': media file not found: {p}{uses}",
                index + 1,
                name
            ),
        });
    }

    Track {
        index,
        name,
        guid: tb
            .param(0)
            .or_else(|| tb.value("TRACKID"))
            .map(str::to_owned),
        parent: parents.last().copied(),
        folder_depth: parents.len(),
        is_folder,
        volume,
        pan,
        mute: flag(1),
        solo: flag(2),
        fx,
        volume_automated,
        pan_automated,
        colour,
        clips,
    }
}

/// An envelope overrides the static value when it is active (`ACT 1`) and
/// has at least one point.
fn envelope_active(env: &Block) -> bool {
    env.line("ACT").and_then(|l| l.get(1)) == Some("1") && env.line("PT").is_some()
}

/// Reads an `<ITEM>`'s active take. Takes after the first start at a `TAKE`
/// line; the active one carries `SEL` on that line, else the first is active.
fn read_item(item: &Block, resolver: &Resolver) -> Option<Clip> {
    let num = |key: &str, i: usize, default: f64| {
        item.line(key)
            .and_then(|l| l.get_f64(i))
            .filter(|v| v.is_finite())
            .unwrap_or(default)
    };
    let position_s = num("POSITION", 1, 0.0);
    let length_s = num("LENGTH", 1, 0.0).max(0.0);
    let fade_in_s = num("FADEIN", 2, 0.0).max(0.0);
    let fade_out_s = num("FADEOUT", 2, 0.0).max(0.0);
    let muted = item
        .line("MUTE")
        .and_then(|l| l.get(1))
        .is_some_and(|s| s != "0");

    // Split the item's children into takes.
    let mut takes: Vec<Vec<&premix_rpp::Node>> = vec![Vec::new()];
    let mut active = 0usize;
    for node in &item.children {
        if let Some(line) = node.as_line() {
            if line.key() == Some("TAKE") {
                takes.push(Vec::new());
                if line.tokens().iter().skip(1).any(|t| t.value() == "SEL") {
                    active = takes.len() - 1;
                }
                continue;
            }
        }
        takes.last_mut()?.push(node);
    }
    let take = &takes[active];
    let tline = |key: &str| {
        take.iter()
            .filter_map(|n| n.as_line())
            .find(|l| l.key() == Some(key))
    };
    let tnum = |key: &str, i: usize| {
        tline(key)
            .and_then(|l| l.get_f64(i))
            .filter(|v| v.is_finite())
    };

    // `VOLPAN item_vol take_pan take_vol pan_law` on the first take;
    // `TAKEVOLPAN take_pan take_vol pan_law` on later ones. A negative
    // volume means polarity inversion; the magnitude is the gain.
    let item_vol = item
        .line("VOLPAN")
        .and_then(|l| l.get_f64(1))
        .unwrap_or(1.0);
    let take_vol = if active == 0 {
        item.line("VOLPAN")
            .and_then(|l| l.get_f64(3))
            .unwrap_or(1.0)
    } else {
        tnum("TAKEVOLPAN", 2).unwrap_or(1.0)
    };
    let gain = (item_vol * take_vol).abs();
    let gain = if gain.is_finite() { gain } else { 1.0 };

    let source_offset_s = tnum("SOFFS", 1).unwrap_or(0.0);
    let playrate = tnum("PLAYRATE", 1).filter(|r| *r > 0.0).unwrap_or(1.0);
    let preserve_pitch = tline("PLAYRATE")
        .and_then(|l| l.get(2))
        .is_some_and(|s| s != "0");
    let pitch_semitones = tnum("PLAYRATE", 3).unwrap_or(0.0);
    let name = tline("NAME")
        .and_then(|l| l.get(1))
        .unwrap_or("")
        .to_owned();

    let source = take
        .iter()
        .filter_map(|n| n.as_block())
        .find(|b| b.name() == "SOURCE")?;
    let (file_source, reversed, section_offset) = unwrap_section(source);
    let source_type = file_source.param(0).unwrap_or("").to_owned();
    let path = file_source.value("FILE").map(str::to_owned);
    let kind = match source_type.as_str() {
        "WAVE" | "FLAC" | "MP3" | "VORBIS" | "OGG" | "OPUS" | "WAVPACK" | "AIFF" => ClipKind::Audio,
        _ if path.is_some() && source_type != "MIDI" && source_type != "VIDEO" => ClipKind::Audio,
        _ => ClipKind::Other,
    };
    let resolved_path = match (kind, &path) {
        (ClipKind::Audio, Some(p)) => resolver.resolve(p),
        _ => None,
    };
    Some(Clip {
        name,
        kind,
        source_type,
        path,
        resolved_path,
        position_s,
        length_s,
        source_offset_s: source_offset_s + section_offset,
        gain,
        playrate,
        preserve_pitch,
        pitch_semitones,
        reversed,
        fade_in_s,
        fade_out_s,
        muted,
    })
}

/// `<SOURCE SECTION` wraps the real source for reversed or sectioned
/// media: `STARTPOS` offsets into it and `MODE` bit 1 means reversed.
fn unwrap_section(source: &Block) -> (&Block, bool, f64) {
    let mut src = source;
    let mut reversed = false;
    let mut offset = 0.0;
    // Bounded by the document's nesting limit; loop rather than recurse.
    while src.param(0) == Some("SECTION") {
        let Some(inner) = src.block("SOURCE") else {
            break;
        };
        let mode = src.line("MODE").and_then(|l| l.get_f64(1)).unwrap_or(0.0) as i64;
        reversed ^= mode & 2 != 0;
        offset += src
            .line("STARTPOS")
            .and_then(|l| l.get_f64(1))
            .filter(|v| v.is_finite())
            .unwrap_or(0.0);
        src = inner;
    }
    (src, reversed, offset)
}
