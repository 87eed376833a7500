//! The device chains of an Ableton Live set as premix's console can run
//! them: EQ Eight (`Eq8`: its bell and shelf bands on the first channel) and
//! Compressor (`Compressor2`, peak model). Devices switched off are skipped;
//! any other device, EQ Eight band mode, or compressor mode premix does not
//! model is left out (or rendered approximately) with a warning.
//!
//! What premix writes (see `writeback::als`) it reads back here in the same
//! units, so `premix render` of a written set reproduces the `--preview` of
//! that run.

use super::{Chains, Processor};
use crate::mix::console::comp::CompParams;
use crate::mix::console::eq::{BandKind, EqBand};
use crate::session::Session;
use premix_als::{Document, ElementId};

/// The chains of every track (in session order) and of the master.
pub fn chains(session: &Session) -> anyhow::Result<Chains> {
    let doc = Document::read(&session.path)?;
    Ok(chains_of(&doc, session))
}

/// The chains of a parsed set.
pub fn chains_of(doc: &Document, session: &Session) -> Chains {
    let mut out = Chains::default();
    for (i, t) in doc.tracks().iter().enumerate() {
        let name = session
            .tracks
            .get(i)
            .map_or_else(|| t.name.clone(), |t| t.name.clone());
        let who = format!("track {} '{name}'", i + 1);
        let chain = read_chain(doc, t.element, &who, &mut out.warnings);
        out.tracks.push(chain);
    }
    if let Some(m) = doc.master_track() {
        out.master = read_chain(doc, m.element, "master", &mut out.warnings);
    }
    out
}

fn read_chain(
    doc: &Document,
    track: ElementId,
    who: &str,
    warnings: &mut Vec<String>,
) -> Vec<Processor> {
    let mut out = Vec::new();
    for d in doc.devices(track) {
        if param(doc, d, &["On"]) == Some(0.0) {
            continue;
        }
        let label = crate::session::als::device_label(doc, d);
        match doc.name(d) {
            "Eq8" => out.push(Processor::Eq(eq8(doc, d, who, &label, warnings))),
            "Compressor2" => out.push(Processor::Comp(comp(doc, d, who, &label, warnings))),
            other => warnings.push(format!(
                "{who}: device '{label}' ({other}) is not rendered (premix renders EQ Eight and Compressor)"
            )),
        }
    }
    out
}

/// A parameter's static value (`Manual`, or Live 8's pre-song event).
fn param(doc: &Document, dev: ElementId, path: &[&str]) -> Option<f64> {
    doc.path(dev, path).and_then(|p| doc.parameter(p).value)
}

/// A plain `Value` setting or a parameter.
fn setting(doc: &Document, dev: ElementId, name: &str) -> Option<f64> {
    let e = doc.child(dev, name)?;
    match doc.value(e) {
        Some("true") => Some(1.0),
        Some("false") => Some(0.0),
        Some(v) => v.parse().ok(),
        None => doc.parameter(e).value,
    }
}

fn eq8(
    doc: &Document,
    d: ElementId,
    who: &str,
    label: &str,
    warnings: &mut Vec<String>,
) -> Vec<EqBand> {
    if setting(doc, d, "Mode").is_some_and(|m| m != 0.0) {
        warnings.push(format!(
            "{who}: '{label}' runs in L/R or M/S mode; its first channel's bands are rendered on both"
        ));
    }
    if setting(doc, d, "GlobalGain").is_some_and(|g| g.abs() > 1e-6) {
        warnings.push(format!("{who}: '{label}' output gain is not rendered"));
    }
    if setting(doc, d, "AdaptiveQ").is_some_and(|a| a != 0.0) {
        warnings.push(format!(
            "{who}: '{label}' adaptive Q is not rendered (fixed Q)"
        ));
    }
    let scale = setting(doc, d, "Scale").unwrap_or(1.0);
    let mut out = Vec::new();
    for i in 0..8 {
        let band = format!("Bands.{i}");
        let p = |n: &str| param(doc, d, &[band.as_str(), "ParameterA", n]);
        if p("IsOn") != Some(1.0) {
            continue;
        }
        let (Some(mode), Some(freq_hz), Some(gain_db), Some(q)) =
            (p("Mode"), p("Freq"), p("Gain"), p("Q"))
        else {
            warnings.push(format!(
                "{who}: '{label}' band {} unreadable; not rendered",
                i + 1
            ));
            continue;
        };
        let kind = match mode as i64 {
            2 => BandKind::LowShelf,
            3 => BandKind::Peak,
            5 => BandKind::HighShelf,
            m => {
                warnings.push(format!(
                    "{who}: '{label}' band {} (mode {m}: a cut or notch) is not rendered",
                    i + 1
                ));
                continue;
            }
        };
        out.push(EqBand {
            kind,
            freq_hz,
            gain_db: gain_db * scale,
            q,
        });
    }
    out
}

fn comp(
    doc: &Document,
    d: ElementId,
    who: &str,
    label: &str,
    warnings: &mut Vec<String>,
) -> CompParams {
    let p = |n: &str| param(doc, d, &[n]);
    let threshold = p("Threshold").unwrap_or(1.0).max(1e-9);
    let exact = p("Model").unwrap_or(0.0) == 0.0
        && p("GainCompensation").unwrap_or(0.0) == 0.0
        && p("AutoReleaseControlOnOff").unwrap_or(0.0) == 0.0
        && p("DryWet").unwrap_or(1.0) == 1.0;
    if !exact {
        warnings.push(format!(
            "{who}: '{label}' RMS/expand model, auto make-up, auto release or dry/wet are rendered as a fully wet peak compressor"
        ));
    }
    CompParams {
        threshold_db: 20.0 * threshold.log10(),
        ratio: p("Ratio").unwrap_or(1.0).max(1.0),
        knee_db: p("Knee").unwrap_or(0.0).max(0.0),
        attack_ms: p("Attack").unwrap_or(1.0),
        release_ms: p("Release").unwrap_or(50.0),
        makeup_db: p("Gain").unwrap_or(0.0),
    }
}
