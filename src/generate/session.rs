//! The generated session as a REAPER project (FORMATS.md §1.2–1.3), built
//! with the `premix-rpp` document API.
//!
//! The file is deterministic: GUIDs come from the seed, the header's
//! timestamp is 0, media paths are relative, and line endings are LF.

use super::rng::Rng;
use super::GeneratedTrack;
use premix_rpp::{format_real, Block, Document, Line, Node};

/// Project-wide values written into the header.
pub(crate) struct ProjectInfo {
    pub sample_rate: u32,
    pub bpm: f64,
    pub length_s: f64,
    pub seed: u64,
}

/// An uppercase `{8-4-4-4-12}` GUID, as REAPER writes them.
fn guid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    premix_rpp::guid(a, b)
}

fn line<const N: usize>(tokens: [&str; N]) -> Node {
    Node::Line(Line::new(tokens))
}

/// A `<TRACK` block with the fields every track has.
fn track_block(rng: &mut Rng, name: &str, pan: f64, isbus: (&str, &str)) -> Block {
    let id = guid(rng);
    let mut t = Block::new("TRACK", [id.as_str()]);
    let pan = format_real(pan);
    t.children.extend([
        line(["NAME", name]),
        line(["VOLPAN", "1", &pan, "-1", "-1", "1"]),
        line(["MUTESOLO", "0", "0", "0"]),
        line(["IPHASE", "0"]),
        line(["ISBUS", isbus.0, isbus.1]),
        line(["TRACKID", &id]),
        line(["NCHAN", "2"]),
        line(["MAINSEND", "1", "0"]),
    ]);
    t
}

/// The media item playing `file` (a path relative to the project) from
/// the start of the timeline.
fn item_block(rng: &mut Rng, file: &str, name: &str, length: &str) -> Block {
    let mut item = Block::new("ITEM", std::iter::empty::<String>());
    let iguid = guid(rng);
    let take_guid = guid(rng);
    item.children.extend([
        line(["POSITION", "0"]),
        line(["LENGTH", length]),
        line(["LOOP", "0"]),
        line(["IGUID", &iguid]),
        line(["NAME", name]),
        line(["VOLPAN", "1", "0", "1", "-1"]),
        line(["SOFFS", "0"]),
        line(["PLAYRATE", "1", "1", "0", "-1", "0", "0.0025"]),
        line(["GUID", &take_guid]),
    ]);
    let mut source = Block::new("SOURCE", ["WAVE"]);
    source.children.push(line(["FILE", file]));
    item.children.push(Node::Block(source));
    item
}

/// Builds the project: header fields, then the tracks in order, with a
/// folder track before the first member of each folder and `ISBUS 2 -1` on
/// its last member. Tracks of one folder must be contiguous.
pub(crate) fn document(tracks: &[GeneratedTrack], info: &ProjectInfo) -> Document {
    let mut rng = Rng::stream(info.seed, 0x4755_4944);
    let mut doc = Document::new_project("7.0/premix-generate", 0);
    let length = format_real(info.length_s);
    let sr = info.sample_rate.to_string();
    let bpm = format_real(info.bpm);
    let mut children = vec![
        line(["RIPPLE", "0"]),
        line(["AUTOXFADE", "1"]),
        line(["PANLAW", "1"]),
        line(["PANMODE", "3"]),
        line(["SAMPLERATE", &sr, "0", "0"]),
        line(["TEMPO", &bpm, "4", "4"]),
        line(["MASTER_NCH", "2", "2"]),
        line(["MASTER_VOLUME", "1", "0", "-1", "-1", "1"]),
        line(["MASTERMUTESOLO", "0"]),
    ];
    for (i, t) in tracks.iter().enumerate() {
        let folder = t.folder.as_deref();
        let prev = i.checked_sub(1).and_then(|p| tracks[p].folder.as_deref());
        let next = tracks.get(i + 1).and_then(|n| n.folder.as_deref());
        if let Some(f) = folder {
            if prev != Some(f) {
                children.push(Node::Block(track_block(&mut rng, f, 0.0, ("1", "1"))));
            }
        }
        let isbus = match folder {
            Some(f) if next != Some(f) => ("2", "-1"),
            _ => ("0", "0"),
        };
        let mut block = track_block(&mut rng, &t.name, t.pan, isbus);
        let file = t.file.to_string_lossy().replace('\\', "/");
        let item_name = t
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        block.children.push(Node::Block(item_block(
            &mut rng, &file, &item_name, &length,
        )));
        children.push(Node::Block(block));
    }
    if let Some(project) = doc.project_mut() {
        project.children = children;
    }
    doc
}
