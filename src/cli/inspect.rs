//! `premix inspect`: the session model as a table or as JSON.

use super::truncate;
use crate::session::{self, Session};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session file (.RPP, .als or .aaf).
    pub session: PathBuf,
    /// Print JSON (schema: docs in README, `schema` field = 1) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The stable JSON schema of `premix inspect --json` (version 1).
#[derive(Serialize)]
struct Report<'a> {
    schema: u32,
    path: String,
    format: session::Format,
    sample_rate: Option<u32>,
    tempo_bpm: Option<f64>,
    master_volume_db: Option<f64>,
    tracks: Vec<TrackView<'a>>,
    warnings: Vec<&'a str>,
}

#[derive(Serialize)]
struct TrackView<'a> {
    index: usize,
    name: &'a str,
    /// Fader volume in dB; null for −inf.
    volume_db: Option<f64>,
    /// The fader as stored: linear gain.
    volume: f64,
    pan: f64,
    mute: bool,
    solo: bool,
    folder_depth: usize,
    parent: Option<usize>,
    is_folder: bool,
    fx: &'a [String],
    volume_automated: bool,
    pan_automated: bool,
    colour: Option<String>,
    clips: Vec<ClipView<'a>>,
}

#[derive(Serialize)]
struct ClipView<'a> {
    name: &'a str,
    kind: session::ClipKind,
    source_type: &'a str,
    path: Option<&'a str>,
    resolved: bool,
    resolved_path: Option<String>,
    position_s: f64,
    length_s: f64,
    source_offset_s: f64,
    gain_db: Option<f64>,
    playrate: f64,
    pitch_semitones: f64,
    reversed: bool,
    fade_in_s: f64,
    fade_out_s: f64,
    muted: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let s = session::read(&args.session)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report(&s))?;
        writeln!(out)?;
    } else {
        print_table(&s, &mut out)?;
    }
    for w in &s.warnings {
        eprintln!("premix: warning: {}", w.message);
    }
    Ok(0)
}

fn report(s: &Session) -> Report<'_> {
    Report {
        schema: 1,
        path: s.path.display().to_string(),
        format: s.format,
        sample_rate: s.sample_rate,
        tempo_bpm: s.tempo_bpm,
        master_volume_db: session::gain_to_db(s.master_volume),
        tracks: s
            .tracks
            .iter()
            .map(|t| TrackView {
                index: t.index,
                name: &t.name,
                volume_db: t.volume_db(),
                volume: t.volume,
                pan: t.pan,
                mute: t.mute,
                solo: t.solo,
                folder_depth: t.folder_depth,
                parent: t.parent,
                is_folder: t.is_folder,
                fx: &t.fx,
                volume_automated: t.volume_automated,
                pan_automated: t.pan_automated,
                colour: t.colour.map(|c| format!("#{c:06x}")),
                clips: t
                    .clips
                    .iter()
                    .map(|c| ClipView {
                        name: &c.name,
                        kind: c.kind,
                        source_type: &c.source_type,
                        path: c.path.as_deref(),
                        resolved: c.resolved(),
                        resolved_path: c.resolved_path.as_ref().map(|p| p.display().to_string()),
                        position_s: c.position_s,
                        length_s: c.length_s,
                        source_offset_s: c.source_offset_s,
                        gain_db: session::gain_to_db(c.gain),
                        playrate: c.playrate,
                        pitch_semitones: c.pitch_semitones,
                        reversed: c.reversed,
                        fade_in_s: c.fade_in_s,
                        fade_out_s: c.fade_out_s,
                        muted: c.muted,
                    })
                    .collect(),
            })
            .collect(),
        warnings: s.warnings.iter().map(|w| w.message.as_str()).collect(),
    }
}

fn print_table(s: &Session, out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "{}  ({:?}, {} tracks, {} Hz, {} BPM)",
        s.path.display(),
        s.format,
        s.tracks.len(),
        s.sample_rate.map_or("?".into(), |r| r.to_string()),
        s.tempo_bpm.map_or("?".into(), |t| format!("{t:.2}")),
    )?;
    writeln!(
        out,
        "{:>4}  {:<32} {:>8} {:>6}  {:<4} {:>5} {:>8}  fx",
        "#", "track", "vol dB", "pan", "m/s", "clips", "missing"
    )?;
    for t in &s.tracks {
        let indent = "  ".repeat(t.folder_depth);
        let name = format!("{indent}{}{}", t.name, if t.is_folder { "/" } else { "" });
        let missing = t
            .clips
            .iter()
            .filter(|c| c.kind == session::ClipKind::Audio && !c.resolved())
            .count();
        writeln!(
            out,
            "{:>4}  {:<32} {:>8} {:>6.2}  {:<4} {:>5} {:>8}  {}",
            t.index + 1,
            truncate(&name, 32),
            t.volume_db().map_or("-inf".into(), |d| format!("{d:+.2}")),
            t.pan,
            format!(
                "{}{}",
                if t.mute { "M" } else { "-" },
                if t.solo { "S" } else { "-" }
            ),
            t.clips.len(),
            missing,
            t.fx.join(", "),
        )?;
    }
    Ok(())
}
