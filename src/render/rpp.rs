//! The plugin chains of a REAPER project, as premix's console can run them:
//! ReaEQ (its low/high shelves and bands; FORMATS.md §1.5) and
//! `sstillwell/majortom` (the compressor premix writes; see
//! `writeback::rpp_comp`). Bypassed and offline plugins are skipped; any
//! other plugin, band type or Major Tom mode is left out with a warning.

use super::{Chains, Processor};
use crate::mix::console::comp::CompParams;
use crate::mix::console::eq::{BandKind, EqBand};
use crate::session::Session;
use crate::writeback::rpp_comp;
use premix_rpp::reaeq::{octaves_to_q, BandType, ReaEq};
use premix_rpp::{Block, Document, Node};

/// The chains of every track (in session order) and of the master.
pub fn chains(doc: &Document, session: &Session) -> Chains {
    let mut out = Chains::default();
    let Some(project) = doc.project() else {
        return out;
    };
    for (i, track) in project.blocks("TRACK").enumerate() {
        let name = session
            .tracks
            .get(i)
            .map_or_else(String::new, |t| t.name.clone());
        let who = format!("track {} '{name}'", i + 1);
        let chain = track
            .block("FXCHAIN")
            .map(|c| read_chain(c, &who, &mut out.warnings))
            .unwrap_or_default();
        out.tracks.push(chain);
    }
    if let Some(c) = project.block("MASTERFXLIST") {
        out.master = read_chain(c, "master", &mut out.warnings);
    }
    out
}

/// Reads one `<FXCHAIN` / `<MASTERFXLIST`: each plugin block follows its
/// `BYPASS bypassed offline …` line.
fn read_chain(chain: &Block, who: &str, warnings: &mut Vec<String>) -> Vec<Processor> {
    let mut out = Vec::new();
    let mut skip = false;
    for node in &chain.children {
        match node {
            Node::Line(l) if l.key() == Some("BYPASS") => {
                skip = l.get(1) == Some("1") || l.get(2) == Some("1");
            }
            // A plugin consumes its BYPASS line's flag whether it runs or not.
            Node::Block(b) if is_plugin(b) && !std::mem::take(&mut skip) => {
                plugin(b, who, &mut out, warnings);
            }
            _ => {}
        }
    }
    out
}

fn is_plugin(b: &Block) -> bool {
    matches!(
        b.name(),
        "VST" | "JS" | "AU" | "CLAP" | "LV2" | "DX" | "VIDEO_EFFECT"
    )
}

fn plugin(b: &Block, who: &str, out: &mut Vec<Processor>, warnings: &mut Vec<String>) {
    let label = b.param(0).unwrap_or("?").to_string();
    if b.name() == "JS" && b.param(0) == Some(rpp_comp::PATH) {
        match major_tom(b) {
            Some((c, exact)) => {
                if !exact {
                    warnings.push(format!(
                        "{who}: Major Tom's side-chain, auto make-up, RMS or feedback modes are rendered as its default mode"
                    ));
                }
                out.push(Processor::Comp(c));
            }
            None => warnings.push(format!("{who}: unreadable Major Tom sliders; not rendered")),
        }
        return;
    }
    match ReaEq::from_block(b) {
        Some(Ok(eq)) => out.push(Processor::Eq(eq_bands(&eq, who, warnings))),
        Some(Err(e)) => warnings.push(format!("{who}: ReaEQ state unreadable ({e}); not rendered")),
        None => warnings.push(format!(
            "{who}: plugin {label} is not rendered (premix renders ReaEQ and Major Tom)"
        )),
    }
}

/// Major Tom's settings in the console's terms, and whether its modes are
/// the ones the console models (normal input, no auto make-up, peak,
/// feed-forward).
fn major_tom(b: &Block) -> Option<(CompParams, bool)> {
    let line = b.children.iter().find_map(Node::as_line)?;
    let text: Vec<&str> = (0..8).map_while(|i| line.get(i)).collect();
    let s = rpp_comp::parse(&text.join(" "))?;
    let exact = text.get(4..8).is_none_or(|m| m.iter().all(|t| *t == "0"));
    Some((
        CompParams {
            threshold_db: s.threshold_db,
            ratio: s.ratio,
            knee_db: s.knee_db,
            attack_ms: rpp_comp::MODEL_ATTACK_MS,
            release_ms: rpp_comp::MODEL_RELEASE_MS,
            makeup_db: s.makeup_db,
        },
        exact,
    ))
}

/// ReaEQ's enabled bands as console bands (gain linear → dB, bandwidth in
/// octaves → cookbook Q, the inverse of what the writer does).
fn eq_bands(eq: &ReaEq, who: &str, warnings: &mut Vec<String>) -> Vec<EqBand> {
    let mut out = Vec::new();
    for b in eq.bands.iter().filter(|b| b.enabled) {
        let kind = match b.kind {
            BandType::LowShelf => BandKind::LowShelf,
            BandType::HighShelf => BandKind::HighShelf,
            BandType::Band => BandKind::Peak,
            other => {
                warnings.push(format!(
                    "{who}: ReaEQ band type {other:?} at {:.0} Hz is not rendered",
                    b.freq_hz
                ));
                continue;
            }
        };
        if b.gain <= 0.0 {
            continue;
        }
        out.push(EqBand {
            kind,
            freq_hz: b.freq_hz,
            gain_db: 20.0 * b.gain.log10(),
            q: octaves_to_q(b.bandwidth_oct),
        });
    }
    out
}
