//! Writing [`Edits`] into a REAPER project (FORMATS.md §1.2–1.6).
//!
//! - Track gain changes go on the track fader (`VOLPAN`), or, where an
//!   active volume envelope would override the fader, on the gain of every
//!   item of the track (clip gain, which envelopes do not override).
//! - Each group gets a folder bus: an existing folder that holds exactly the
//!   group's tracks (or a bus premix made before) is reused; otherwise a new
//!   folder track is inserted before the group's first track and the group's
//!   top-level tracks are moved under it, keeping their relative order.
//!   Sends (`AUXRECV`) are renumbered to follow the moves.
//! - A bus carries its gain and pan on `VOLPAN` and ReaEQ plus a compressor
//!   in its `<FXCHAIN`, named `premix EQ` and `premix Comp`. A re-run
//!   replaces premix's own plugin states instead of adding more.
//! - The master carries `MASTER_VOLUME` and the same plugins in
//!   `<MASTERFXLIST`.

use super::{BusSettings, CompSettings, Edits, EqBand, EqKind, WriteReport, FX_PREFIX};
use crate::session::Session;
use premix_rpp::reaeq::{q_to_octaves, Band, BandType, ReaEq, V32_TAIL};
use premix_rpp::{format_real, Block, Document, Line, Node};

/// Errors that stop the write (nothing is written).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("not a REAPER project: no <REAPER_PROJECT> block")]
    NotAProject,
    #[error("the session lists {session} tracks but the document has {document}")]
    TrackCountMismatch { session: usize, document: usize },
    #[error("track index {0} is out of range")]
    NoSuchTrack(usize),
}

/// REAPER's fader range tops out at +12 dB.
const MAX_FADER: f64 = 3.981_071_705_534_972;
/// [`MAX_FADER`] in dB.
pub const MAX_FADER_DB: f64 = 12.0;

/// Applies `edits` to `doc`, which `session` was read from. `seed` makes the
/// GUIDs of new tracks and plugins deterministic.
pub fn apply(
    doc: &mut Document,
    session: &Session,
    edits: &Edits,
    seed: u64,
) -> Result<WriteReport, WriteError> {
    let mut report = WriteReport::default();
    let mut guids = GuidGen::new(seed);
    let project = doc.project_mut().ok_or(WriteError::NotAProject)?;
    let positions = project.block_indices("TRACK");
    if positions.len() != session.tracks.len() {
        return Err(WriteError::TrackCountMismatch {
            session: session.tracks.len(),
            document: positions.len(),
        });
    }

    // 1. Track gains (no structural change yet).
    for &(t, db) in &edits.track_gain_db {
        let track = session.tracks.get(t).ok_or(WriteError::NoSuchTrack(t))?;
        let block = project.children[positions[t]]
            .as_block_mut()
            .expect("indices point at TRACK blocks");
        let factor = 10f64.powf(db / 20.0);
        if track.volume_automated {
            let n = scale_items(block, factor);
            report.notes.push(format!(
                "track {} '{}': volume is automated, so {db:+.2} dB went on the gain of its {n} items",
                t + 1,
                track.name
            ));
        } else {
            let wanted = track.volume * factor;
            if wanted > MAX_FADER {
                // REAPER's fader stops at +12 dB: the rest goes on the items.
                let rest = wanted / MAX_FADER;
                let n = scale_items(block, rest);
                report.notes.push(format!(
                    "track {} '{}': fader at +12 dB (REAPER's maximum); the other {:+.2} dB went on the gain of its {n} items",
                    t + 1,
                    track.name,
                    20.0 * rest.log10()
                ));
                set_volpan(block, Some(MAX_FADER), None);
            } else {
                set_volpan(block, Some(wanted), None);
            }
        }
    }

    // 2. Decide each group's bus.
    let mut new_buses: Vec<(usize, Vec<usize>, Block)> = Vec::new(); // (first member, members, bus)
    for g in &edits.groups {
        let ours = |f: usize| {
            project.children[positions[f]]
                .as_block()
                .is_some_and(has_premix_fx)
        };
        if let Some(folder) = super::reusable_folder(session, &g.members, ours) {
            let block = project.children[positions[folder]]
                .as_block_mut()
                .expect("TRACK block");
            write_bus_settings(block, &g.bus, &mut guids, true);
            report.notes.push(format!(
                "group '{}': settings written on folder track {} '{}'",
                g.name,
                folder + 1,
                session.tracks[folder].name
            ));
            continue;
        }
        let (top, nested): (Vec<usize>, Vec<usize>) = g
            .members
            .iter()
            .copied()
            .filter(|&m| m < session.tracks.len() && !session.tracks[m].is_folder)
            .partition(|&m| session.tracks[m].parent.is_none());
        for m in &nested {
            report.warnings.push(format!(
                "group '{}': track {} '{}' stays in its folder; it gets its gain but not the group's bus",
                g.name,
                m + 1,
                session.tracks[*m].name
            ));
        }
        if top.is_empty() {
            continue;
        }
        let mut bus = new_bus_track(&g.name, &mut guids);
        write_bus_settings(&mut bus, &g.bus, &mut guids, false);
        report.notes.push(format!(
            "group '{}': new folder bus with {} track(s)",
            g.name,
            top.len()
        ));
        new_buses.push((top[0], top, bus));
    }

    // 3. Rebuild the track order and folder markers for the new buses.
    if !new_buses.is_empty() {
        restructure(project, &positions, new_buses);
    }

    // 4. Master.
    if let Some(m) = &edits.master {
        write_master(project, m, &mut guids);
        report
            .notes
            .push("master: output gain and plugins written".into());
    }
    Ok(report)
}

/// Whether a track's FX chain holds one of premix's plugins (a bus premix made).
fn has_premix_fx(track: &Block) -> bool {
    track.block("FXCHAIN").is_some_and(|c| {
        c.children
            .iter()
            .filter_map(Node::as_block)
            .any(is_premix_plugin)
    })
}

/// The custom name of a plugin block (`<VST` param 3, `<JS` param 1).
fn custom_name(plugin: &Block) -> Option<&str> {
    match plugin.name() {
        "JS" => plugin.param(1),
        _ => plugin.param(3),
    }
}

fn is_premix_plugin(plugin: &Block) -> bool {
    custom_name(plugin).is_some_and(|n| n.starts_with(FX_PREFIX))
}

/// Multiplies the item gain of every `<ITEM` of a track; returns the count.
fn scale_items(track: &mut Block, factor: f64) -> usize {
    let mut n = 0;
    for item in track.blocks_mut("ITEM") {
        match item.line_mut("VOLPAN") {
            Some(l) => {
                let v = l.get_f64(1).unwrap_or(1.0);
                l.set_token(1, format_real(v * factor));
            }
            None => item.children.insert(
                0,
                Node::Line(Line::new([
                    "VOLPAN".to_string(),
                    format_real(factor),
                    "0".into(),
                    "1".into(),
                    "-1".into(),
                ])),
            ),
        }
        n += 1;
    }
    n
}

/// Sets `VOLPAN` volume and/or pan, adding the line after `NAME` if absent.
fn set_volpan(track: &mut Block, vol: Option<f64>, pan: Option<f64>) {
    match track.line_mut("VOLPAN") {
        Some(l) => {
            if let Some(v) = vol {
                l.set_token(1, format_real(v));
            }
            if let Some(p) = pan {
                l.set_token(2, format_real(p));
            }
        }
        None => {
            let line = Line::new([
                "VOLPAN".to_string(),
                format_real(vol.unwrap_or(1.0)),
                format_real(pan.unwrap_or(0.0)),
                "-1".into(),
                "-1".into(),
                "1".into(),
            ]);
            insert_after_key(track, "NAME", Node::Line(line));
        }
    }
}

/// Sets `ISBUS a b`, adding the line after `VOLPAN`/`NAME` if absent.
fn set_isbus(track: &mut Block, a: i32, b: i32) {
    let (a, b) = (a.to_string(), b.to_string());
    match track.line_mut("ISBUS") {
        Some(l) => l.set_tokens(["ISBUS", &a, &b]),
        None => {
            let line = Node::Line(Line::new(["ISBUS", &a, &b]));
            if track.line("VOLPAN").is_some() {
                insert_after_key(track, "VOLPAN", line);
            } else {
                insert_after_key(track, "NAME", line);
            }
        }
    }
}

/// Inserts `node` after the first line with `key`, or first if none.
fn insert_after_key(block: &mut Block, key: &str, node: Node) {
    let at = block
        .children
        .iter()
        .position(|n| n.as_line().is_some_and(|l| l.key() == Some(key)))
        .map_or(0, |i| i + 1);
    block.children.insert(at, node);
}

/// A new folder track in the layout REAPER 6/7 writes.
fn new_bus_track(name: &str, guids: &mut GuidGen) -> Block {
    let guid = guids.next();
    let mut t = Block::new("TRACK", [guid.clone()]);
    let lines: Vec<Vec<String>> = vec![
        vec!["NAME".into(), name.into()],
        vec!["PEAKCOL".into(), "16576".into()],
        vec!["BEAT".into(), "-1".into()],
        vec!["AUTOMODE".into(), "0".into()],
        vec![
            "VOLPAN".into(),
            "1".into(),
            "0".into(),
            "-1".into(),
            "-1".into(),
            "1".into(),
        ],
        vec!["MUTESOLO".into(), "0".into(), "0".into(), "0".into()],
        vec!["IPHASE".into(), "0".into()],
        vec!["PLAYOFFS".into(), "0".into(), "1".into()],
        vec!["ISBUS".into(), "1".into(), "1".into()],
        vec![
            "BUSCOMP".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
        ],
        vec![
            "SHOWINMIX".into(),
            "1".into(),
            "0.6667".into(),
            "0.5".into(),
            "1".into(),
            "0.5".into(),
            "0".into(),
            "0".into(),
            "0".into(),
        ],
        vec!["FREEMODE".into(), "0".into()],
        vec!["SEL".into(), "0".into()],
        vec![
            "REC".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
        ],
        vec!["VU".into(), "2".into()],
        vec!["TRACKHEIGHT".into(), "0".into(), "0".into(), "0".into()],
        vec![
            "INQ".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0.5".into(),
            "100".into(),
            "0".into(),
            "0".into(),
            "100".into(),
        ],
        vec!["NCHAN".into(), "2".into()],
        vec!["FX".into(), "1".into()],
        vec!["TRACKID".into(), guid],
        vec!["PERF".into(), "0".into()],
        vec!["MIDIOUT".into(), "-1".into()],
        vec!["MAINSEND".into(), "1".into(), "0".into()],
    ];
    for l in lines {
        t.children.push(Node::Line(Line::new(l)));
    }
    t
}

/// Writes a bus's fader, pan and plugins onto a track block.
fn write_bus_settings(track: &mut Block, bus: &BusSettings, guids: &mut GuidGen, existing: bool) {
    let vol = 10f64.powf(bus.gain_db / 20.0).min(MAX_FADER);
    set_volpan(track, Some(vol), Some(bus.pan.clamp(-1.0, 1.0)));
    let chain = match track
        .children
        .iter()
        .position(|n| n.as_block().is_some_and(|b| b.name() == "FXCHAIN"))
    {
        Some(i) => i,
        None => {
            let chain = new_fx_chain("FXCHAIN");
            // REAPER writes the FX chain after MAINSEND and before envelopes
            // and items.
            let at = if existing {
                track
                    .children
                    .iter()
                    .position(|n| n.as_block().is_some())
                    .unwrap_or(track.children.len())
            } else {
                track.children.len()
            };
            track.children.insert(at, Node::Block(chain));
            at
        }
    };
    let chain = track.children[chain].as_block_mut().expect("FXCHAIN block");
    write_plugins(chain, bus, guids);
}

fn new_fx_chain(name: &str) -> Block {
    let mut c = Block::new(name, Vec::<String>::new());
    for l in [["SHOW", "0"], ["LASTSEL", "0"], ["DOCKED", "0"]] {
        c.children.push(Node::Line(Line::new(l)));
    }
    c
}

/// Puts premix's EQ and compressor into an FX chain: replacing the states
/// of premix plugins already there (keeping their FXID and window state),
/// appending new entries after the user's own plugins otherwise.
fn write_plugins(chain: &mut Block, bus: &BusSettings, guids: &mut GuidGen) {
    let eq_name = format!("{FX_PREFIX} EQ");
    let comp_name = format!("{FX_PREFIX} Comp");
    let eq = (!bus.eq.is_empty()).then(|| reaeq_block(&bus.eq, &eq_name));
    let comp = bus.comp.as_ref().map(|c| comp_block(c, &comp_name));
    for (name, block) in [(eq_name, eq), (comp_name, comp)] {
        let existing = chain.children.iter().position(|n| {
            n.as_block()
                .is_some_and(|b| custom_name(b) == Some(name.as_str()))
        });
        match (existing, block) {
            (Some(i), Some(b)) => chain.children[i] = Node::Block(b),
            (Some(i), None) => {
                // premix no longer wants this plugin: bypass it rather than
                // deleting what the engineer may have tweaked.
                if let Some(bypass) = i
                    .checked_sub(1)
                    .and_then(|j| chain.children[j].as_line_mut())
                    .filter(|l| l.key() == Some("BYPASS"))
                {
                    bypass.set_token(1, "1");
                }
            }
            (None, Some(b)) => {
                chain
                    .children
                    .push(Node::Line(Line::new(["BYPASS", "0", "0", "0"])));
                chain.children.push(Node::Block(b));
                chain
                    .children
                    .push(Node::Line(Line::new(["FLOATPOS", "0", "0", "0", "0"])));
                chain
                    .children
                    .push(Node::Line(Line::new(["FXID".to_string(), guids.next()])));
                chain
                    .children
                    .push(Node::Line(Line::new(["WAK", "0", "0"])));
            }
            (None, None) => {}
        }
    }
}

/// A ReaEQ instance with the given bands (FORMATS.md §1.5). Written in the
/// version-32 layout of REAPER's stock presets, with their tail (output gain
/// 0 dB): the only layout verified from REAPER-written data in our corpus.
fn reaeq_block(bands: &[EqBand], name: &str) -> Block {
    let eq = ReaEq {
        version: 32,
        bands: bands
            .iter()
            .map(|b| Band {
                kind: match b.kind {
                    EqKind::LowShelf => BandType::LowShelf,
                    EqKind::HighShelf => BandType::HighShelf,
                    EqKind::Peak => BandType::Band,
                    EqKind::HighPass => BandType::HighPass,
                    EqKind::LowPass => BandType::LowPass,
                },
                enabled: true,
                freq_hz: b.freq_hz,
                gain: 10f64.powf(b.gain_db / 20.0),
                bandwidth_oct: q_to_octaves(b.q.max(1e-3)),
            })
            .collect(),
        tail: V32_TAIL.to_vec(),
    };
    eq.to_block(name)
}

/// The compressor instance. See [`comp_block`]'s module note in
/// ARCHITECTURE.md for why this plugin was chosen.
fn comp_block(c: &CompSettings, name: &str) -> Block {
    crate::writeback::rpp_comp::block(c, name)
}

/// Moves the tracks of each new bus under it. `new_buses` holds (first
/// member, top-level members in session order, bus block).
fn restructure(
    project: &mut Block,
    positions: &[usize],
    new_buses: Vec<(usize, Vec<usize>, Block)>,
) {
    let n = positions.len();
    // The new order as a list of slots: Some(old index) or None(bus k).
    #[derive(Clone, Copy, PartialEq)]
    enum Slot {
        Old(usize),
        Bus(usize),
    }
    let mut order: Vec<Slot> = (0..n).map(Slot::Old).collect();
    for (k, (first, members, _)) in new_buses.iter().enumerate() {
        order.retain(|s| !matches!(s, Slot::Old(i) if members.contains(i)));
        // Insert where the first member was: before the first remaining slot
        // whose old index is after it (or at the end).
        // Tracks already placed under an earlier bus move with that bus: they
        // sort by their bus's first member.
        let key = |s: &Slot| match *s {
            Slot::Old(i) => new_buses[..k]
                .iter()
                .find(|(_, m, _)| m.contains(&i))
                .map_or(i, |(f, _, _)| *f),
            Slot::Bus(j) => new_buses[j].0,
        };
        let at = order
            .iter()
            .position(|s| key(s) > *first)
            .unwrap_or(order.len());
        let mut group = vec![Slot::Bus(k)];
        group.extend(members.iter().map(|&m| Slot::Old(m)));
        order.splice(at..at, group);
    }

    // Old index -> new index, for AUXRECV.
    let mut new_index = vec![0usize; n];
    for (pos, s) in order.iter().enumerate() {
        if let Slot::Old(i) = s {
            new_index[*i] = pos;
        }
    }

    // Take the track blocks out, in old order, and the bus blocks.
    let mut old_blocks: Vec<Option<Node>> = Vec::with_capacity(n);
    for &p in positions.iter().rev() {
        old_blocks.push(Some(project.children.remove(p)));
    }
    old_blocks.reverse();
    let mut buses: Vec<Option<Block>> = Vec::new();
    let mut members_of: Vec<Vec<usize>> = Vec::new();
    for (_, members, bus) in new_buses {
        buses.push(Some(bus));
        members_of.push(members);
    }

    let mut tracks: Vec<Node> = Vec::with_capacity(order.len());
    for s in &order {
        match *s {
            Slot::Old(i) => {
                let mut node = old_blocks[i].take().expect("each track placed once");
                if let Some(b) = node.as_block_mut() {
                    renumber_receives(b, &new_index);
                    // Members of a new bus: inside the folder, the last closes it.
                    if let Some(k) = members_of.iter().position(|m| m.contains(&i)) {
                        let last = members_of[k].last() == Some(&i);
                        if last {
                            set_isbus(b, 2, -1);
                        } else {
                            set_isbus(b, 0, 0);
                        }
                    }
                }
                tracks.push(node);
            }
            Slot::Bus(k) => tracks.push(Node::Block(buses[k].take().expect("bus placed once"))),
        }
    }
    let insert_at = positions.first().copied().unwrap_or(project.children.len());
    project.children.splice(insert_at..insert_at, tracks);
}

fn renumber_receives(track: &mut Block, new_index: &[usize]) {
    for node in &mut track.children {
        if let Some(l) = node.as_line_mut() {
            if l.key() == Some("AUXRECV") {
                if let Some(src) = l.get(1).and_then(|s| s.parse::<usize>().ok()) {
                    if let Some(&new) = new_index.get(src) {
                        l.set_token(1, new.to_string());
                    }
                }
            }
        }
    }
}

fn write_master(project: &mut Block, m: &BusSettings, guids: &mut GuidGen) {
    let vol = format_real(10f64.powf(m.gain_db / 20.0).min(MAX_FADER));
    match project.line_mut("MASTER_VOLUME") {
        Some(l) => l.set_token(1, vol),
        None => project.children.push(Node::Line(Line::new([
            "MASTER_VOLUME".to_string(),
            vol,
            "0".into(),
            "-1".into(),
            "-1".into(),
            "1".into(),
        ]))),
    }
    let idx = match project
        .children
        .iter()
        .position(|n| n.as_block().is_some_and(|b| b.name() == "MASTERFXLIST"))
    {
        Some(i) => i,
        None => {
            let at = ["MASTER_SEL", "MASTER_FX", "MASTER_VOLUME"]
                .iter()
                .find_map(|k| {
                    project
                        .children
                        .iter()
                        .position(|n| n.as_line().is_some_and(|l| l.key() == Some(k)))
                })
                .map_or(project.children.len(), |i| i + 1);
            project
                .children
                .insert(at, Node::Block(new_fx_chain("MASTERFXLIST")));
            at
        }
    };
    let chain = project.children[idx].as_block_mut().expect("MASTERFXLIST");
    write_plugins(chain, m, guids);
}

/// Deterministic REAPER-style GUIDs (`{8-4-4-4-12}`, upper case), drawn
/// from the same SplitMix64 the generator uses.
struct GuidGen {
    rng: crate::generate::rng::Rng,
}

impl GuidGen {
    fn new(seed: u64) -> GuidGen {
        GuidGen {
            rng: crate::generate::rng::Rng::new(seed ^ 0x5052_454D_4958_2D31),
        }
    }

    fn next(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        premix_rpp::guid(a, b)
    }
}
