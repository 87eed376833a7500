//! Writing [`Edits`] into an Ableton Live set (FORMATS.md §2.3–2.6).
//!
//! - Track gain changes go on the mixer `Volume/Manual`, or, where a volume
//!   envelope overrides the fader, on the `SampleVolume` (clip gain) of every
//!   arrangement clip of the track. Live's fader stops at +6 dB: the rest
//!   goes on the clip gains too.
//! - Each group gets a `GroupTrack`: an existing group that holds exactly
//!   the group's tracks with audio (or one premix wrote before) is reused;
//!   otherwise a new one, named after the group, is inserted before the
//!   first of the members that share the most common parent, and those
//!   move under it (the others keep their place, with a warning) (`TrackGroupId`, `AudioOut/GroupTrack`).
//! - A group (and the master/main track) carries its gain and pan on its
//!   mixer and an **EQ Eight** (`Eq8`) then a **Compressor** (`Compressor2`)
//!   in its device chain, named `premix EQ` and `premix Comp` (the devices'
//!   `UserName`). A re-run updates those devices instead of adding more.
//!   The compressor sits before the fader, so its threshold is the
//!   console's minus the group gain (done by the caller, as for REAPER);
//!   group gain above Live's +6 dB goes on the compressor's make-up, which
//!   acts after the compression.
//!
//! **Templates.** Devices and tracks follow Live's XML of the set's own
//! schema (FORMATS.md §2.6). premix takes the set's first `Eq8`,
//! `Compressor2` and `GroupTrack` when it has them (the same build by
//! construction; the group cleaned of devices, envelopes and mixer
//! settings), else its own templates for the set's schema (`templates`,
//! in `als_templates/`: Live 10, 11 and 12, written by a builder in the
//! structure that Live-written sets of each schema show; evidence in
//! `als_templates/PROVENANCE.md`), and says so in the report. Live 9 sets
//! without those elements get no group or devices (with a warning).
//! The set's version attributes are never changed; Live 8 sets are
//! read-only.

#[path = "als_templates/mod.rs"]
pub mod templates;

use super::{BusSettings, CompSettings, Edits, EqBand, EqKind, WriteReport, FX_PREFIX};
use crate::session::{db_to_gain, Session};
use anyhow::{anyhow, bail, Context, Result};
use premix_als::live::TrackKind;
use premix_als::{format_live_float, Document, ElementId};
use templates::Schema;

/// Live's fader maximum (+6 dB), as Live writes it.
pub const MAX_FADER: f64 = 1.995_262_38;
/// Live's fader minimum (−70 dB, shown as −inf).
pub const MIN_FADER: f64 = 0.000_316_227_757_1;
/// EQ Eight's band count.
const EQ8_BANDS: usize = 8;
/// The `UserName` of premix's devices.
pub const EQ_NAME: &str = "premix EQ";
pub const COMP_NAME: &str = "premix Comp";

/// The mixed set's bytes (gzip, as the input) and what was done.
pub fn write(session: &Session, edits: &Edits, seed: u64) -> Result<(Vec<u8>, WriteReport)> {
    // Live's Ids are chosen by its own rules (next free), so the seed is
    // not needed: the output is deterministic anyway.
    let _ = seed;
    let mut doc = Document::read(&session.path)?;
    let report = apply(&mut doc, session, edits)?;
    Ok((doc.to_bytes()?, report))
}

/// Applies `edits` to `doc`, which `session` was read from.
pub fn apply(doc: &mut Document, session: &Session, edits: &Edits) -> Result<WriteReport> {
    if let Some(why) = doc.read_only_reason() {
        bail!("{why}");
    }
    let mut report = WriteReport::default();
    let live = doc.version().live_major.unwrap_or(0);
    let ids: Vec<Option<i64>> = doc.tracks().iter().map(|t| t.id).collect();
    if ids.len() != session.tracks.len() {
        bail!(
            "the session lists {} tracks but the set has {}",
            session.tracks.len(),
            ids.len()
        );
    }
    let mut templates = Templates::harvest(doc, &mut report);

    // 1. Track gains (no structural change yet).
    for &(t, db) in &edits.track_gain_db {
        let track = session
            .tracks
            .get(t)
            .ok_or_else(|| anyhow!("track index {t} is out of range"))?;
        let el = element_of(doc, ids[t])?;
        let who = format!("track {} '{}'", t + 1, track.name);
        let factor = db_to_gain(db);
        if track.volume_automated {
            let n = scale_clips(doc, el, factor)?;
            report.notes.push(format!(
                "{who}: volume is automated, so {db:+.2} dB went on the gain of its {n} clips"
            ));
            continue;
        }
        let wanted = track.volume * factor;
        let vol = doc
            .mixer_parameter(el, "Volume")
            .ok_or_else(|| anyhow!("{who}: no mixer Volume"))?;
        if wanted > MAX_FADER {
            let rest = wanted / MAX_FADER;
            let n = scale_clips(doc, el, rest)?;
            report.notes.push(format!(
                "{who}: fader at +6 dB (Live's maximum); the other {:+.2} dB went on the gain of its {n} clips",
                20.0 * rest.log10()
            ));
            doc.set_manual(vol.element, MAX_FADER)?;
        } else {
            doc.set_manual(vol.element, wanted.max(MIN_FADER))?;
        }
    }

    // 2. One GroupTrack per group.
    for g in &edits.groups {
        let members: Vec<usize> = g
            .members
            .iter()
            .copied()
            .filter(|&m| m < session.tracks.len() && !session.tracks[m].is_folder)
            .collect();
        let Some(&first) = members.first() else {
            continue;
        };
        let ours = |f: usize| {
            element_of(doc, ids[f]).is_ok_and(|el| {
                doc.devices(el)
                    .iter()
                    .any(|&d| premix_name(doc, d).is_some())
            })
        };
        let group_el = if let Some(f) = super::reusable_folder(session, &members, ours) {
            report.notes.push(format!(
                "group '{}': settings written on group track {} '{}'",
                g.name,
                f + 1,
                session.tracks[f].name
            ));
            element_of(doc, ids[f])?
        } else {
            let Some(tpl) = templates.take_group(&mut report) else {
                report.warnings.push(format!(
                    "group '{}': not written: this Live {live} set has no GroupTrack to copy, and premix ships GroupTrack templates only for Live 10–12",
                    g.name
                ));
                continue;
            };
            // The new group goes where most members are (top level or one
            // enclosing group); the others keep their place.
            let mut parents: Vec<(Option<usize>, usize)> = Vec::new();
            for &m in &members {
                let p = session.tracks[m].parent;
                match parents.iter_mut().find(|(q, _)| *q == p) {
                    Some((_, n)) => *n += 1,
                    None => parents.push((p, 1)),
                }
            }
            let best = parents.iter().map(|(_, n)| *n).max().unwrap_or(0);
            let parent = parents
                .iter()
                .find(|(_, n)| *n == best)
                .map_or(session.tracks[first].parent, |(p, _)| *p);
            let (top, other): (Vec<usize>, Vec<usize>) = members
                .iter()
                .partition(|&&m| session.tracks[m].parent == parent);
            for m in other {
                report.warnings.push(format!(
                    "group '{}': track {} '{}' stays in its group; it gets its gain but not the group's bus",
                    g.name,
                    m + 1,
                    session.tracks[m].name
                ));
            }
            let els: Vec<ElementId> = top
                .iter()
                .map(|&m| element_of(doc, ids[m]))
                .collect::<Result<_>>()?;
            let (el, _) = doc
                .group_tracks(&els, &tpl, &g.name)
                .with_context(|| format!("group '{}'", g.name))?;
            report.notes.push(format!(
                "group '{}': new group track with {} track(s)",
                g.name,
                top.len()
            ));
            el
        };
        let who = format!("group '{}'", g.name);
        write_bus(
            doc,
            group_el,
            &g.bus,
            &mut templates,
            &who,
            live,
            &mut report,
        )?;
    }

    // 3. Master (Live 12: main).
    if let Some(m) = &edits.master {
        let el = doc
            .master_track()
            .ok_or_else(|| anyhow!("the set has no master track"))?
            .element;
        write_bus(doc, el, m, &mut templates, "master", live, &mut report)?;
    }
    Ok(report)
}

/// The element of the track with Live `Id` `id` (where it is now).
fn element_of(doc: &Document, id: Option<i64>) -> Result<ElementId> {
    let id = id.ok_or_else(|| anyhow!("a track without an Id"))?;
    doc.track_by_id(id)
        .map(|t| t.element)
        .ok_or_else(|| anyhow!("no track with Id {id}"))
}

/// Multiplies the `SampleVolume` of every arrangement clip of a track.
fn scale_clips(doc: &mut Document, track: ElementId, factor: f64) -> Result<usize> {
    let clips = doc.arrangement_clips(track);
    for c in &clips {
        if let Some(sv) = doc.child(c.element, "SampleVolume") {
            let v = c.sample_volume.unwrap_or(1.0) * factor;
            doc.set_attr(sv, "Value", &format_live_float(v))?;
        }
    }
    Ok(clips.len())
}

/// A device's `UserName` when it starts with premix's prefix.
fn premix_name(doc: &Document, device: ElementId) -> Option<String> {
    doc.child(device, "UserName")
        .and_then(|u| doc.value(u))
        .filter(|n| n.starts_with(FX_PREFIX))
        .map(str::to_owned)
}

/// One template: its text and, when it is premix's own (not the set's),
/// what to say the first time it is used.
struct Template {
    text: String,
    shipped: Option<String>,
}

/// The set's own first `Eq8`, `Compressor2` and `GroupTrack` (same build by
/// construction), else premix's templates for the set's schema (Live
/// 10–12; `als_templates`).
struct Templates {
    eq8: Option<Template>,
    comp: Option<Template>,
    group: Option<Template>,
}

impl Templates {
    fn harvest(doc: &Document, report: &mut WriteReport) -> Templates {
        let first = |tag: &str| {
            doc.descendants(doc.root())
                .into_iter()
                .find(|&e| doc.name(e) == tag)
                .map(|e| doc.text_of(e).to_owned())
        };
        let group = doc
            .tracks()
            .iter()
            .find(|t| t.kind == TrackKind::Group)
            .and_then(|t| clean_group(doc.text_of(t.element)).ok());
        let own = |text: Option<String>| {
            text.map(|text| Template {
                text,
                shipped: None,
            })
        };
        let mut t = Templates {
            eq8: own(first("Eq8")),
            comp: own(first("Compressor2")),
            group: own(group),
        };
        let Some(schema) = Schema::of(doc).filter(|s| s.supported()) else {
            return t;
        };
        let v = doc.version();
        let shipped = |what: &str, text: String| Template {
            text,
            shipped: Some(format!(
                "{what}: premix's Live {} template for this set's schema {}",
                schema.major, v.minor
            )),
        };
        let p = templates::protection_number(doc, schema);
        t.eq8 = t
            .eq8
            .or_else(|| Some(shipped("EQ Eight", templates::eq8(schema, p))));
        t.comp = t
            .comp
            .or_else(|| Some(shipped("Compressor", templates::compressor2(schema, p))));
        t.group = t
            .group
            .or_else(|| Some(shipped("GroupTrack", templates::group_track(schema))));
        if !schema.seen()
            && [&t.eq8, &t.comp, &t.group]
                .iter()
                .any(|x| x.as_ref().is_some_and(|x| x.shipped.is_some()))
        {
            report.notes.push(format!(
                "Live schema {} was not among those premix's templates were checked against; \
                 they follow the nearest ones seen (als_templates/PROVENANCE.md)",
                v.minor
            ));
        }
        t
    }

    /// The text of a template, noting the first use of a shipped one.
    fn use_one(slot: &mut Option<Template>, report: &mut WriteReport) -> Option<String> {
        let t = slot.as_mut()?;
        if let Some(note) = t.shipped.take() {
            report.notes.push(note);
        }
        Some(t.text.clone())
    }

    fn take_group(&mut self, report: &mut WriteReport) -> Option<String> {
        Templates::use_one(&mut self.group, report)
    }
}

/// A GroupTrack's text without what belongs to the group it was copied
/// from: its devices, automation envelopes, and mixer settings.
fn clean_group(text: &str) -> Result<String> {
    let mut t = Document::parse(text.as_bytes())?;
    let root = t.root();
    let lists = [
        t.path(root, &["AutomationEnvelopes", "Envelopes"]),
        t.path(root, &["DeviceChain", "DeviceChain", "Devices"]),
    ];
    for list in lists.into_iter().flatten() {
        let items: Vec<ElementId> = t.children(list).collect();
        for e in items.into_iter().rev() {
            t.remove_element(e)?;
        }
    }
    let mixer = t.path(root, &["DeviceChain", "Mixer"]);
    for (name, v) in [
        ("Volume", "1"),
        ("Pan", "0"),
        ("Speaker", "true"),
        ("SoloSink", "false"),
    ] {
        if let Some(m) = mixer
            .and_then(|m| t.child(m, name))
            .and_then(|p| t.child(p, "Manual"))
        {
            t.set_attr(m, "Value", v)?;
        }
    }
    Ok(t.xml().to_owned())
}

/// Writes a bus's fader, pan, EQ and compressor on track `el`.
fn write_bus(
    doc: &mut Document,
    el: ElementId,
    bus: &BusSettings,
    templates: &mut Templates,
    who: &str,
    live: u32,
    report: &mut WriteReport,
) -> Result<()> {
    let wanted = db_to_gain(bus.gain_db);
    let fader = wanted.clamp(MIN_FADER, MAX_FADER);
    // Gain past the fader's +6 dB goes on the compressor's make-up (after
    // the compression, so the same signal), if there is one.
    let mut extra_db = 0.0;
    if wanted > MAX_FADER {
        extra_db = 20.0 * (wanted / MAX_FADER).log10();
        if bus.comp.is_none() {
            report.warnings.push(format!(
                "{who}: gain {:+.2} dB is above Live's +6 dB fader maximum and there is no compressor make-up to carry the rest; set to +6 dB",
                bus.gain_db
            ));
        }
    }
    let vol = doc
        .mixer_parameter(el, "Volume")
        .ok_or_else(|| anyhow!("{who}: no mixer Volume"))?;
    let vol_automated = doc.is_automated(el, &vol);
    doc.set_manual(vol.element, fader)?;
    if vol_automated {
        report.warnings.push(format!(
            "{who}: its volume is automated; the envelope overrides the gain written on the fader"
        ));
    }
    if let Some(p) = doc.mixer_parameter(el, "Pan") {
        doc.set_manual(p.element, bus.pan.clamp(-1.0, 1.0))?;
    }

    // The EQ, then the compressor, at the end of the chain (or where
    // premix put them before).
    let existing = |doc: &Document, name: &str| {
        doc.devices(el)
            .into_iter()
            .find(|&d| premix_name(doc, d).as_deref() == Some(name))
    };
    if let Some(d) = existing(doc, EQ_NAME) {
        set_eq8(doc, d, &bus.eq, who, report)?;
    } else if !bus.eq.is_empty() {
        match Templates::use_one(&mut templates.eq8, report) {
            Some(tpl) => {
                let n = doc.devices(el).len();
                let d = doc.insert_device(el, n, &tpl)?;
                name_device(doc, d, EQ_NAME)?;
                set_eq8(doc, d, &bus.eq, who, report)?;
            }
            None => report.warnings.push(format!(
                "{who}: EQ not written: this Live {live} set has no EQ Eight to copy, and premix ships EQ Eight templates only for Live 10–12"
            )),
        }
    }
    let comp_dev = existing(doc, COMP_NAME);
    match (&bus.comp, comp_dev) {
        (Some(c), Some(d)) => set_comp(doc, d, c, extra_db, who, report)?,
        (Some(c), None) => match Templates::use_one(&mut templates.comp, report) {
            Some(tpl) => {
                let n = doc.devices(el).len();
                let d = doc.insert_device(el, n, &tpl)?;
                name_device(doc, d, COMP_NAME)?;
                set_comp(doc, d, c, extra_db, who, report)?;
            }
            None => report.warnings.push(format!(
                "{who}: compressor not written: this Live {live} set has no Compressor to copy, and premix ships Compressor templates only for Live 10–12"
            )),
        },
        (None, Some(d)) => set_param_bool(doc, d, &["On"], false, who, report)?,
        (None, None) => {}
    }
    Ok(())
}

fn name_device(doc: &mut Document, d: ElementId, name: &str) -> Result<()> {
    let u = doc
        .child(d, "UserName")
        .ok_or_else(|| anyhow!("<{}> has no UserName", doc.name(d)))?;
    doc.set_attr(u, "Value", name)?;
    Ok(())
}

/// Sets a device parameter's `Manual`; a parameter the template lacks is a
/// warning (the device still works with its default).
fn set_param(
    doc: &mut Document,
    dev: ElementId,
    path: &[&str],
    v: f64,
    who: &str,
    report: &mut WriteReport,
) -> Result<()> {
    set_param_with(doc, dev, path, who, report, |d, p| d.set_manual(p, v))
}

/// [`set_param`] for an on/off parameter.
fn set_param_bool(
    doc: &mut Document,
    dev: ElementId,
    path: &[&str],
    v: bool,
    who: &str,
    report: &mut WriteReport,
) -> Result<()> {
    set_param_with(doc, dev, path, who, report, |d, p| d.set_manual_bool(p, v))
}

/// Finds the parameter at `path` under `dev` and sets it with `set`, or
/// warns that the template lacks it.
fn set_param_with<T, E>(
    doc: &mut Document,
    dev: ElementId,
    path: &[&str],
    who: &str,
    report: &mut WriteReport,
    set: impl FnOnce(&mut Document, ElementId) -> std::result::Result<T, E>,
) -> Result<()>
where
    anyhow::Error: From<E>,
{
    match doc.path(dev, path) {
        Some(p) if doc.child(p, "Manual").is_some() => {
            set(doc, p)?;
            Ok(())
        }
        _ => {
            report.warnings.push(format!(
                "{who}: {} has no {} to set",
                doc.name(dev),
                path.join("/")
            ));
            Ok(())
        }
    }
}

/// EQ Eight's band `Mode` for a band kind (FORMATS.md §2.5).
pub fn eq8_mode(kind: EqKind) -> f64 {
    match kind {
        EqKind::HighPass => 1.0,
        EqKind::LowShelf => 2.0,
        EqKind::Peak => 3.0,
        EqKind::HighShelf => 5.0,
        EqKind::LowPass => 6.0,
    }
}

/// Writes the bands on EQ Eight's first channel (stereo mode, no global
/// gain, scale 100 %, adaptive Q off); unused bands are switched off.
fn set_eq8(
    doc: &mut Document,
    d: ElementId,
    bands: &[EqBand],
    who: &str,
    report: &mut WriteReport,
) -> Result<()> {
    if bands.len() > EQ8_BANDS {
        report.warnings.push(format!(
            "{who}: {} EQ bands; EQ Eight has {EQ8_BANDS}, the rest are left out",
            bands.len()
        ));
    }
    set_param_bool(doc, d, &["On"], true, who, report)?;
    for (path, v) in [
        (&["Mode"][..], 0.0),
        (&["GlobalGain"], 0.0),
        (&["Scale"], 1.0),
    ] {
        if let Some(e) = doc.path(d, path) {
            // `Mode` is a plain value in some versions, a parameter in others.
            if doc.child(e, "Manual").is_some() {
                doc.set_manual(e, v)?;
            } else if doc.value(e).is_some() {
                doc.set_attr(e, "Value", &format_live_float(v))?;
            }
        }
    }
    if let Some(e) = doc.path(d, &["AdaptiveQ"]) {
        if doc.child(e, "Manual").is_some() {
            doc.set_manual_bool(e, false)?;
        } else if doc.value(e).is_some() {
            doc.set_attr(e, "Value", "false")?;
        }
    }
    for i in 0..EQ8_BANDS {
        let band = format!("Bands.{i}");
        let p = |n: &'static str| [band.as_str(), "ParameterA", n];
        match bands.get(i) {
            Some(b) => {
                set_param_bool(doc, d, &p("IsOn"), true, who, report)?;
                set_param(doc, d, &p("Mode"), eq8_mode(b.kind), who, report)?;
                set_param(
                    doc,
                    d,
                    &p("Freq"),
                    b.freq_hz.clamp(10.0, 22_000.0),
                    who,
                    report,
                )?;
                set_param(
                    doc,
                    d,
                    &p("Gain"),
                    b.gain_db.clamp(-15.0, 15.0),
                    who,
                    report,
                )?;
                set_param(doc, d, &p("Q"), b.q.clamp(0.1, 18.0), who, report)?;
                if b.gain_db.abs() > 15.0 || !(0.1..=18.0).contains(&b.q) {
                    report.warnings.push(format!(
                        "{who}: EQ band {} ({:.0} Hz) clamped to EQ Eight's ranges (±15 dB, Q 0.1–18)",
                        i + 1,
                        b.freq_hz
                    ));
                }
            }
            None => set_param_bool(doc, d, &p("IsOn"), false, who, report)?,
        }
    }
    Ok(())
}

/// Writes the compressor in Live's units: threshold as linear amplitude,
/// ratio, attack/release in ms, knee in dB, make-up (`Gain`) in dB; peak
/// model, no auto make-up or auto release, fully wet.
fn set_comp(
    doc: &mut Document,
    d: ElementId,
    c: &CompSettings,
    extra_db: f64,
    who: &str,
    report: &mut WriteReport,
) -> Result<()> {
    let thr = db_to_gain(c.threshold_db).clamp(MIN_FADER, MAX_FADER);
    if (20.0 * thr.log10() - c.threshold_db).abs() > 0.01 {
        report.warnings.push(format!(
            "{who}: compressor threshold {:.1} dB clamped to Compressor's −70…+6 dB",
            c.threshold_db
        ));
    }
    let makeup = c.makeup_db + extra_db;
    set_param_bool(doc, d, &["On"], true, who, report)?;
    set_param(doc, d, &["Threshold"], thr, who, report)?;
    set_param(doc, d, &["Ratio"], c.ratio.max(1.0), who, report)?;
    set_param(
        doc,
        d,
        &["Attack"],
        c.attack_ms.clamp(0.01, 1000.0),
        who,
        report,
    )?;
    set_param(
        doc,
        d,
        &["Release"],
        c.release_ms.clamp(1.0, 3000.0),
        who,
        report,
    )?;
    set_param(doc, d, &["Knee"], c.knee_db.clamp(0.0, 18.0), who, report)?;
    set_param(doc, d, &["Gain"], makeup.clamp(-36.0, 36.0), who, report)?;
    set_param(doc, d, &["DryWet"], 1.0, who, report)?;
    set_param(doc, d, &["Model"], 0.0, who, report)?;
    set_param_bool(doc, d, &["GainCompensation"], false, who, report)?;
    set_param_bool(doc, d, &["AutoReleaseControlOnOff"], false, who, report)?;
    if extra_db > 0.0 {
        report.notes.push(format!(
            "{who}: fader at +6 dB (Live's maximum); the other {extra_db:+.2} dB went on the compressor's make-up"
        ));
    }
    Ok(())
}
