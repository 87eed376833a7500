//! Writing a mix into an AAF file (FORMATS.md §3.3, §3.5; issue 9).
//!
//! AAF has no buses. Each track's slot gets the whole gain premix means for
//! it: the stage-1 track change, plus its group's stage-2 bus gain, plus the
//! master gain, as one Amplitude multiplier (a Rational) on a slot-level
//! MonoAudioGain OperationGroup; the group's bus pan goes on a slot-level
//! MonoAudioPan (0 left … 0.5 centre … 1 right).
//! - An existing slot-level gain group is edited (its Amplitude multiplied,
//!   every control point of a varying one too), never nested in a second.
//! - Pan combines additively in premix's −1…+1 space: the new value is
//!   `clamp(p + bus/2, 0, 1)` for each existing value `p` (constant or each
//!   control point), so a track already panned keeps its offset from the
//!   bus and full left/right stays there. With no pan group, `p` is the
//!   track's implicit pan: 0.5, or 0 and 1 for the two slots of a stereo
//!   pair (see `session::aaf`).
//! - The two slots of a stereo pair get one gain (the mean of the two).
//! - `fold_into_clips`: the gain goes into every clip's gain instead (an
//!   existing clip MonoAudioGain multiplied, else a new one wrapping the
//!   clip), for applications that ignore track gain (Pro Tools imports clip
//!   gain, FORMATS.md §3.3).
//! - Groups, EQ and compression, which no application applies from AAF,
//!   are written as `premix.*` TaggedValues in the top-level
//!   CompositionMob's UserComments (updated in place on a re-run) and
//!   listed in the report's notes.
//!
//! Definitions (OperationDefinitions MonoAudioGain/MonoAudioPan,
//! ParameterDefinitions Amplitude/Pan) are registered in the Dictionary
//! when the file lacks them. Every other object keeps its bytes.

use super::{BusSettings, Edits, WriteReport};
use crate::session::Session;
use anyhow::{bail, Context};
use premix_aaf::meta::ids;
use premix_aaf::model::{classes, defs, pids, Segment};
use premix_aaf::{AafFile, Auid, Limits, ObjectId, Rational, Value};
use std::io::Cursor;

type File = AafFile<Cursor<Vec<u8>>>;

/// Slot-level OperationGroups followed down to the Sequence, at most.
const MAX_NEST: usize = 16;

/// The mixed file's bytes and what was done (slot-level track gain).
pub fn write(
    session: &Session,
    edits: &Edits,
    seed: u64,
) -> anyhow::Result<(Vec<u8>, WriteReport)> {
    write_with(session, edits, seed, false)
}

/// As [`write`]; with `fold_into_clips`, track gain goes into each clip's
/// gain instead of a slot-level group. `seed` is unused: nothing written
/// needs a new identifier (definitions use their standard AUIDs).
pub fn write_with(
    session: &Session,
    edits: &Edits,
    seed: u64,
    fold_into_clips: bool,
) -> anyhow::Result<(Vec<u8>, WriteReport)> {
    let _ = seed;
    let path = &session.path;
    let data = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    let mut aaf = AafFile::from_bytes(data, Limits::default())
        .map_err(|e| anyhow::Error::new(e.with_path(path)))?;
    let (read, slots) = crate::session::aaf::build(&aaf, path)?;
    if read.tracks.len() != session.tracks.len() {
        bail!(
            "{}: the file has {} audio tracks, the session {}; re-read it",
            path.display(),
            read.tracks.len(),
            session.tracks.len()
        );
    }
    let n = slots.len();
    let mut report = WriteReport::default();
    let mut gain_db = vec![0.0f64; n];
    let mut bus_pan = vec![0.0f64; n];
    for (i, db) in &edits.track_gain_db {
        match gain_db.get_mut(*i) {
            Some(g) => *g += db,
            None => bail!("{}: no track {i} to change", path.display()),
        }
    }
    for g in &edits.groups {
        for m in &g.members {
            if *m < n {
                gain_db[*m] += g.bus.gain_db;
                bus_pan[*m] += g.bus.pan;
            }
        }
    }
    if let Some(m) = &edits.master {
        if m.gain_db.abs() > 1e-9 {
            gain_db.iter_mut().for_each(|g| *g += m.gain_db);
            report.notes.push(format!(
                "AAF has no master bus: the master gain ({:+.2} dB) is included in every track's gain",
                m.gain_db
            ));
        }
    }
    for (i, s) in slots.iter().enumerate() {
        if let Some(p) = s.partner {
            if p > i {
                let mean = (gain_db[i] + gain_db[p]) / 2.0;
                if (gain_db[i] - gain_db[p]).abs() > 1e-9 {
                    report.notes.push(format!(
                        "tracks {i} and {p} are one stereo pair: both get {mean:+.2} dB"
                    ));
                }
                gain_db[i] = mean;
                gain_db[p] = mean;
            }
        }
    }
    let at = |e: premix_aaf::Error| anyhow::Error::new(e.with_path(path));
    let mut w = Writer {
        aaf: &mut aaf,
        defined_gain: false,
        defined_pan: false,
    };
    for (i, s) in slots.iter().enumerate() {
        let name = &read.tracks[i].name;
        if gain_db[i].abs() > 1e-9 {
            let factor = 10f64.powf(gain_db[i] / 20.0);
            if fold_into_clips {
                let k = w.fold_clip_gain(s.slot, factor).map_err(at)?;
                report.notes.push(format!(
                    "track {i} \"{name}\": {:+.2} dB folded into {k} clip gain(s)",
                    gain_db[i]
                ));
            } else {
                w.slot_gain(s.slot, factor).map_err(at)?;
                report.notes.push(format!(
                    "track {i} \"{name}\": slot gain {:+.2} dB (amplitude ×{factor:.4})",
                    gain_db[i]
                ));
            }
        }
        if bus_pan[i].abs() > 1e-9 {
            let implicit = (read.tracks[i].pan.clamp(-1.0, 1.0) + 1.0) / 2.0;
            w.slot_pan(s.slot, bus_pan[i], implicit).map_err(at)?;
            report.notes.push(format!(
                "track {i} \"{name}\": group pan {:+.2} added to the slot pan",
                bus_pan[i]
            ));
        }
    }
    let comments = metadata(edits, &read);
    if !comments.is_empty() {
        let comp = w
            .aaf
            .top_level_composition()
            .map_err(at)?
            .context("no top-level CompositionMob")?;
        for (k, v) in &comments {
            w.tagged_value(comp, k, v).map_err(at)?;
        }
        report.notes.push(format!(
            "AAF cannot carry groups, EQ or compression that an application applies: {} premix.* comment(s) on the composition record them",
            comments.len()
        ));
        for g in &edits.groups {
            if !g.bus.eq.is_empty() || g.bus.comp.is_some() {
                report.warnings.push(format!(
                    "group \"{}\": bus EQ/compression not applied (AAF has no buses); see the premix.group comment",
                    g.name
                ));
            }
        }
    }
    let bytes = aaf.into_bytes().map_err(at)?;
    Ok((bytes, report))
}

/// The `premix.*` comments: one per group (members and bus settings), one
/// for the master's EQ/compression.
fn metadata(edits: &Edits, s: &Session) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for g in &edits.groups {
        let members: Vec<String> = g
            .members
            .iter()
            .filter_map(|m| s.tracks.get(*m))
            .map(|t| format!("{} \"{}\"", t.index, t.name))
            .collect();
        out.push((
            format!("premix.group.{}", g.name),
            format!("members: {}; {}", members.join(", "), bus_text(&g.bus)),
        ));
    }
    if let Some(m) = &edits.master {
        if !m.eq.is_empty() || m.comp.is_some() {
            out.push(("premix.master".into(), bus_text(m)));
        }
    }
    out
}

fn bus_text(b: &BusSettings) -> String {
    let mut t = format!("gain {:+.2} dB; pan {:+.2}", b.gain_db, b.pan);
    for (i, e) in b.eq.iter().enumerate() {
        t.push_str(&format!(
            "; eq{} {:?} {:.1} Hz {:+.2} dB Q {:.2}",
            i + 1,
            e.kind,
            e.freq_hz,
            e.gain_db,
            e.q
        ));
    }
    if let Some(c) = &b.comp {
        t.push_str(&format!(
            "; comp threshold {:.1} dB ratio {:.2}:1 attack {:.1} ms release {:.0} ms knee {:.1} dB makeup {:+.1} dB",
            c.threshold_db, c.ratio, c.attack_ms, c.release_ms, c.knee_db, c.makeup_db
        ));
    }
    t
}

struct Writer<'a> {
    aaf: &'a mut File,
    defined_gain: bool,
    defined_pan: bool,
}

type R<T> = premix_aaf::Result<T>;

/// A slot-level OperationGroup: the object, its operation, its parameters.
type SlotGroup = (ObjectId, Option<Auid>, Vec<ObjectId>);

/// A Rational near `x`: with the file's denominator `den` (Avid 2^29 or
/// 2^15, Premiere 10^8) when it is fine enough (≥ 1000) and the numerator
/// fits, else 10^6 or a smaller power of ten.
fn to_rational(x: f64, den: i32) -> Rational {
    let mut d = if den >= 1000 { den } else { 1_000_000 };
    loop {
        let n = (x * f64::from(d)).round();
        if n.abs() <= f64::from(i32::MAX) || d == 1 {
            return Rational::new(n.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32, d);
        }
        d = (d / 10).max(1);
    }
}

impl Writer<'_> {
    /// Registers the gain definitions when missing (once).
    fn define_gain(&mut self, data_def: Auid) -> R<()> {
        if !self.defined_gain {
            self.aaf.ensure_operation_def(
                defs::OP_MONO_AUDIO_GAIN,
                "Mono Audio Gain",
                data_def,
                1,
            )?;
            self.aaf
                .ensure_parameter_def(defs::PARAM_AMPLITUDE, "Amplitude", ids::RATIONAL)?;
            self.defined_gain = true;
        }
        Ok(())
    }

    fn define_pan(&mut self, data_def: Auid) -> R<()> {
        if !self.defined_pan {
            self.aaf.ensure_operation_def(
                defs::OP_MONO_AUDIO_PAN,
                "Mono Audio Pan",
                data_def,
                1,
            )?;
            self.aaf
                .ensure_parameter_def(defs::PARAM_PAN, "Pan", ids::RATIONAL)?;
            self.defined_pan = true;
        }
        Ok(())
    }

    /// The slot-level OperationGroups (outermost first) with their
    /// operation and parameters.
    fn slot_groups(&self, slot: ObjectId) -> R<(Vec<SlotGroup>, ObjectId)> {
        let mut seg = self
            .aaf
            .strong_ref(slot, pids::SLOT_SEGMENT)?
            .ok_or_else(|| premix_aaf::Error::from(std::io::Error::other("slot has no segment")))?;
        let mut out = Vec::new();
        for _ in 0..MAX_NEST {
            match self.aaf.segment(seg)? {
                Segment::OperationGroup {
                    operation,
                    inputs,
                    parameters,
                    ..
                } => {
                    out.push((seg, operation, parameters));
                    match inputs.first() {
                        Some(i) => seg = *i,
                        None => break,
                    }
                }
                _ => break,
            }
        }
        Ok((out, seg))
    }

    /// The parameter with definition `def` among `params`.
    fn find_param(&self, params: &[ObjectId], def: &Auid) -> R<Option<ObjectId>> {
        for p in params {
            if self.aaf.parameter(*p)?.definition() == Some(*def) {
                return Ok(Some(*p));
            }
        }
        Ok(None)
    }

    /// Applies `f` to a parameter's value: a ConstantValue's, or every
    /// control point's of a VaryingValue. Values must be Rational.
    fn map_param(&mut self, param: ObjectId, f: &dyn Fn(f64) -> f64) -> R<()> {
        let targets: Vec<(ObjectId, u16)> = if self.aaf.is_a(param, &classes::CONSTANT_VALUE) {
            vec![(param, pids::CONSTANT_VALUE)]
        } else {
            self.aaf
                .strong_refs(param, pids::VARYING_POINTS)?
                .into_iter()
                .map(|p| (p, pids::POINT_VALUE))
                .collect()
        };
        for (obj, pid) in targets {
            let Some(Value::Indirect { type_id, value }) = self.aaf.value(obj, pid)? else {
                continue;
            };
            let Value::Rational(r) = *value else {
                continue;
            };
            let Some(x) = r.to_f64() else { continue };
            let new = Value::Indirect {
                type_id,
                value: Box::new(Value::Rational(to_rational(f(x), r.den))),
            };
            self.aaf.set_value(obj, pid, &new)?;
        }
        Ok(())
    }

    /// Puts a new OperationGroup `op` with one ConstantValue `param` =
    /// `value` where `target` is, `target` becoming its input.
    fn wrap_in_group(
        &mut self,
        target: ObjectId,
        op: Auid,
        param: Auid,
        value: f64,
    ) -> R<ObjectId> {
        let dd = self.aaf.entry(target, pids::COMPONENT_DATA_DEF)?;
        let len = self.aaf.entry(target, pids::COMPONENT_LENGTH)?;
        let og =
            self.aaf
                .wrap_object(target, classes::OPERATION_GROUP, pids::OPGROUP_INPUTS, true)?;
        if let Some(e) = dd {
            self.aaf.set_entry(og, e.pid, e.form, e.data)?;
        }
        if let Some(e) = len {
            self.aaf.set_entry(og, e.pid, e.form, e.data)?;
        }
        let r = self.aaf.weak_ref_to(
            &[
                pids::HEADER,
                pids::HEADER_DICTIONARY,
                pids::DICTIONARY_OPERATION_DEFS,
            ],
            pids::DEFINITION_ID,
            &op.0,
        )?;
        self.aaf.set_weak_ref(og, pids::OPGROUP_OPERATION, &r)?;
        let cv =
            self.aaf
                .push_vector_element(og, pids::OPGROUP_PARAMETERS, classes::CONSTANT_VALUE)?;
        self.aaf
            .set_value(cv, pids::PARAMETER_DEFINITION, &Value::Auid(param))?;
        self.aaf.set_value(
            cv,
            pids::CONSTANT_VALUE,
            &Value::Indirect {
                type_id: ids::RATIONAL,
                value: Box::new(Value::Rational(to_rational(value, 1_000_000))),
            },
        )?;
        Ok(og)
    }

    fn data_def(&self, obj: ObjectId) -> R<Auid> {
        Ok(self.aaf.data_definition(obj)?.unwrap_or(defs::DATA_SOUND))
    }

    /// Multiplies the slot's track gain by `factor`.
    fn slot_gain(&mut self, slot: ObjectId, factor: f64) -> R<()> {
        let (groups, _) = self.slot_groups(slot)?;
        for (_, op, params) in &groups {
            if *op == Some(defs::OP_MONO_AUDIO_GAIN) {
                if let Some(p) = self.find_param(params, &defs::PARAM_AMPLITUDE)? {
                    return self.map_param(p, &|x| x * factor);
                }
            }
        }
        let seg = self
            .aaf
            .strong_ref(slot, pids::SLOT_SEGMENT)?
            .ok_or_else(|| premix_aaf::Error::from(std::io::Error::other("slot has no segment")))?;
        self.define_gain(self.data_def(seg)?)?;
        self.wrap_in_group(seg, defs::OP_MONO_AUDIO_GAIN, defs::PARAM_AMPLITUDE, factor)?;
        Ok(())
    }

    /// Adds `bus` (−1…+1) to the slot's pan, `implicit` (0…1) when it has none.
    fn slot_pan(&mut self, slot: ObjectId, bus: f64, implicit: f64) -> R<()> {
        let shift = |p: f64| (p + bus / 2.0).clamp(0.0, 1.0);
        let (groups, _) = self.slot_groups(slot)?;
        for (_, op, params) in &groups {
            if *op == Some(defs::OP_MONO_AUDIO_PAN) {
                if let Some(p) = self.find_param(params, &defs::PARAM_PAN)? {
                    return self.map_param(p, &shift);
                }
            }
        }
        let seg = self
            .aaf
            .strong_ref(slot, pids::SLOT_SEGMENT)?
            .ok_or_else(|| premix_aaf::Error::from(std::io::Error::other("slot has no segment")))?;
        self.define_pan(self.data_def(seg)?)?;
        self.wrap_in_group(
            seg,
            defs::OP_MONO_AUDIO_PAN,
            defs::PARAM_PAN,
            shift(implicit),
        )?;
        Ok(())
    }

    /// Multiplies every clip's gain on the slot by `factor`; returns how
    /// many clips changed.
    fn fold_clip_gain(&mut self, slot: ObjectId, factor: f64) -> R<usize> {
        let (_, inner) = self.slot_groups(slot)?;
        let comps = match self.aaf.segment(inner)? {
            Segment::Sequence { components, .. } => components,
            _ => vec![inner],
        };
        let mut n = 0;
        for c in comps {
            match self.aaf.segment(c)? {
                Segment::Filler { .. } | Segment::Transition { .. } => continue,
                Segment::OperationGroup {
                    operation: Some(op),
                    parameters,
                    ..
                } if op == defs::OP_MONO_AUDIO_GAIN => {
                    if let Some(p) = self.find_param(&parameters, &defs::PARAM_AMPLITUDE)? {
                        self.map_param(p, &|x| x * factor)?;
                        n += 1;
                        continue;
                    }
                }
                _ => {}
            }
            self.define_gain(self.data_def(c)?)?;
            self.wrap_in_group(c, defs::OP_MONO_AUDIO_GAIN, defs::PARAM_AMPLITUDE, factor)?;
            n += 1;
        }
        Ok(n)
    }

    /// Sets the UserComments TaggedValue `name` of `mob` to `text`, adding
    /// it when absent.
    fn tagged_value(&mut self, mob: ObjectId, name: &str, text: &str) -> R<()> {
        let value = Value::Indirect {
            type_id: ids::STRING,
            value: Box::new(Value::String(text.into())),
        };
        for tv in self.aaf.strong_refs(mob, pids::MOB_USER_COMMENTS)? {
            let n = self.aaf.value(tv, pids::TAGGED_VALUE_NAME)?;
            if n.as_ref().and_then(|v| v.as_str()) == Some(name) {
                return self.aaf.set_value(tv, pids::TAGGED_VALUE_VALUE, &value);
            }
        }
        let tv =
            self.aaf
                .push_vector_element(mob, pids::MOB_USER_COMMENTS, classes::TAGGED_VALUE)?;
        self.aaf
            .set_value(tv, pids::TAGGED_VALUE_NAME, &Value::String(name.into()))?;
        self.aaf.set_value(tv, pids::TAGGED_VALUE_VALUE, &value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rationals_keep_the_denominator_when_they_can() {
        assert_eq!(to_rational(0.5, 1 << 29), Rational::new(1 << 28, 1 << 29));
        // 10.0 × 2^29 overflows i32: a smaller denominator is used.
        let r = to_rational(10.0, 1 << 29);
        assert!((r.to_f64().unwrap() - 10.0).abs() < 1e-6, "{r:?}");
        assert_eq!(to_rational(0.25, 0), Rational::new(250_000, 1_000_000));
        // A coarse stored value (0/1) does not make the new one coarse.
        assert_eq!(to_rational(0.2, 1), Rational::new(200_000, 1_000_000));
    }
}
