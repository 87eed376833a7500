//! Navigation over the Edit Protocol object model (FORMATS.md §3.2): the
//! ContentStorage's mobs, the top-level CompositionMob, its slots and
//! segment trees, parameters, and the chains to essence. Still no audio
//! knowledge: values are given as stored (edit units, Rationals, AUIDs).

use std::io::{Read, Seek};

use crate::auid::{Auid, MobId};
use crate::error::{Error, Result};
use crate::file::{AafFile, ObjectId};
use crate::value::{Rational, Value};

/// Baseline pids (fixed by the AAF object specification; a test checks
/// their names against every corpus file's MetaDictionary).
pub mod pids {
    pub const HEADER: u16 = 0x0002;
    pub const HEADER_CONTENT: u16 = 0x3B03;
    pub const HEADER_DICTIONARY: u16 = 0x3B04;
    pub const CONTENT_MOBS: u16 = 0x1901;
    pub const CONTENT_ESSENCE_DATA: u16 = 0x1902;
    pub const DICTIONARY_OPERATION_DEFS: u16 = 0x2603;
    pub const DICTIONARY_PARAMETER_DEFS: u16 = 0x2604;
    pub const DICTIONARY_DATA_DEFS: u16 = 0x2605;
    pub const DEFINITION_ID: u16 = 0x1B01;
    pub const DEFINITION_NAME: u16 = 0x1B02;
    pub const MOB_ID: u16 = 0x4401;
    pub const MOB_NAME: u16 = 0x4402;
    pub const MOB_SLOTS: u16 = 0x4403;
    pub const MOB_USAGE_CODE: u16 = 0x4408;
    pub const SLOT_ID: u16 = 0x4801;
    pub const SLOT_NAME: u16 = 0x4802;
    pub const SLOT_SEGMENT: u16 = 0x4803;
    pub const SLOT_PHYSICAL_TRACK: u16 = 0x4804;
    pub const TIMELINE_EDIT_RATE: u16 = 0x4B01;
    pub const TIMELINE_ORIGIN: u16 = 0x4B02;
    pub const COMPONENT_DATA_DEF: u16 = 0x0201;
    pub const COMPONENT_LENGTH: u16 = 0x0202;
    pub const SEQUENCE_COMPONENTS: u16 = 0x1001;
    pub const SOURCE_ID: u16 = 0x1101;
    pub const SOURCE_SLOT_ID: u16 = 0x1102;
    pub const CLIP_START_TIME: u16 = 0x1201;
    pub const OPGROUP_OPERATION: u16 = 0x0B01;
    pub const OPGROUP_INPUTS: u16 = 0x0B02;
    pub const OPGROUP_PARAMETERS: u16 = 0x0B03;
    pub const TRANSITION_OPGROUP: u16 = 0x1801;
    pub const TRANSITION_CUT_POINT: u16 = 0x1802;
    pub const SELECTOR_SELECTED: u16 = 0x0F01;
    pub const SELECTOR_ALTERNATES: u16 = 0x0F02;
    pub const PARAMETER_DEFINITION: u16 = 0x4C01;
    pub const CONSTANT_VALUE: u16 = 0x4D01;
    pub const VARYING_INTERPOLATION: u16 = 0x4E01;
    pub const VARYING_POINTS: u16 = 0x4E02;
    pub const POINT_VALUE: u16 = 0x1A02;
    pub const POINT_TIME: u16 = 0x1A03;
    pub const SOURCE_MOB_DESCRIPTOR: u16 = 0x4701;
    pub const DESCRIPTOR_LOCATORS: u16 = 0x2F01;
    pub const NETWORK_LOCATOR_URL: u16 = 0x4001;
    pub const ESSENCE_DATA_MOB_ID: u16 = 0x2701;
    pub const ESSENCE_DATA_DATA: u16 = 0x2702;
    pub const TAGGED_VALUE_NAME: u16 = 0x5001;
    pub const TAGGED_VALUE_VALUE: u16 = 0x5003;
    pub const MOB_USER_COMMENTS: u16 = 0x4406;
    pub const PARAMETER_DEF_TYPE: u16 = 0x1F01;
    pub const OPERATION_DEF_DATA_DEF: u16 = 0x1E01;
    pub const OPERATION_DEF_IS_TIME_WARP: u16 = 0x1E02;
    pub const OPERATION_DEF_NUMBER_INPUTS: u16 = 0x1E07;
}

/// Class AUIDs of the baseline classes navigation distinguishes.
pub mod classes {
    use crate::auid::Auid;
    const fn c(d2: u16, d3: u16) -> Auid {
        Auid::from_fields(
            0x0d01_0101,
            d2,
            d3,
            [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x06, 0x01, 0x01],
        )
    }
    pub const FILLER: Auid = c(0x0101, 0x0900);
    pub const OPERATION_GROUP: Auid = c(0x0101, 0x0a00);
    pub const SELECTOR: Auid = c(0x0101, 0x0e00);
    pub const SEQUENCE: Auid = c(0x0101, 0x0f00);
    pub const SOURCE_CLIP: Auid = c(0x0101, 0x1100);
    pub const TRANSITION: Auid = c(0x0101, 0x1700);
    pub const MOB: Auid = c(0x0101, 0x3400);
    pub const COMPOSITION_MOB: Auid = c(0x0101, 0x3500);
    pub const MASTER_MOB: Auid = c(0x0101, 0x3600);
    pub const SOURCE_MOB: Auid = c(0x0101, 0x3700);
    pub const CONSTANT_VALUE: Auid = c(0x0101, 0x3d00);
    pub const VARYING_VALUE: Auid = c(0x0101, 0x3e00);
    pub const NETWORK_LOCATOR: Auid = c(0x0101, 0x3200);
    pub const OPERATION_DEFINITION: Auid = c(0x0101, 0x1c00);
    pub const PARAMETER_DEFINITION: Auid = c(0x0101, 0x1d00);
    pub const CONTROL_POINT: Auid = c(0x0101, 0x1900);
    pub const TAGGED_VALUE: Auid = c(0x0101, 0x3f00);
}

/// Standard definition AUIDs (FORMATS.md §3.2).
pub mod defs {
    use crate::auid::Auid;
    pub const OP_MONO_AUDIO_GAIN: Auid = Auid::from_fields(
        0x9d2e_a894,
        0x0968,
        0x11d3,
        [0x8a, 0x38, 0x00, 0x50, 0x04, 0x0e, 0xf7, 0xd2],
    );
    pub const OP_MONO_AUDIO_PAN: Auid = Auid::from_fields(
        0x9d2e_a893,
        0x0968,
        0x11d3,
        [0x8a, 0x38, 0x00, 0x50, 0x04, 0x0e, 0xf7, 0xd2],
    );
    pub const OP_MONO_AUDIO_DISSOLVE: Auid = Auid::from_fields(
        0x0c3b_ea41,
        0xfc05,
        0x11d2,
        [0x8a, 0x29, 0x00, 0x50, 0x04, 0x0e, 0xf7, 0xd2],
    );
    pub const OP_AUDIO_CHANNEL_COMBINER: Auid = Auid::from_fields(
        0x6b46_dd7a,
        0x132d,
        0x4856,
        [0xab, 0x21, 0x8b, 0x75, 0x1d, 0x84, 0x62, 0xec],
    );
    pub const PARAM_AMPLITUDE: Auid = Auid::from_fields(
        0xe496_2321,
        0x2267,
        0x11d3,
        [0x8a, 0x4c, 0x00, 0x50, 0x04, 0x0e, 0xf7, 0xd2],
    );
    pub const PARAM_PAN: Auid = Auid::from_fields(
        0xe496_2322,
        0x2267,
        0x11d3,
        [0x8a, 0x4c, 0x00, 0x50, 0x04, 0x0e, 0xf7, 0xd2],
    );
    /// DataDefinition Sound (SMPTE `060e2b34.0401.0101.0103.0202.0200.0000`).
    pub const DATA_SOUND: Auid = Auid::from_fields(
        0x0103_0202,
        0x0200,
        0x0000,
        [0x06, 0x0e, 0x2b, 0x34, 0x04, 0x01, 0x01, 0x01],
    );
    /// DataDefinition LegacySound (written by older writers and Logic).
    pub const DATA_LEGACY_SOUND: Auid = Auid::from_fields(
        0x78e1_ebe1,
        0x6cef,
        0x11d2,
        [0x80, 0x7d, 0x00, 0x60, 0x08, 0x14, 0x3e, 0x6f],
    );
}

/// A mob slot's facts.
#[derive(Clone, Debug)]
pub struct SlotInfo {
    pub id: ObjectId,
    pub slot_id: Option<u32>,
    pub name: Option<String>,
    pub physical_track: Option<u32>,
    /// TimelineMobSlot edit rate and origin (absent on other slot kinds).
    pub edit_rate: Option<Rational>,
    pub origin: Option<i64>,
    pub segment: Option<ObjectId>,
}

/// A segment (or component) of a slot's tree, one level deep; follow the
/// `ObjectId`s for the children.
#[derive(Clone, Debug)]
pub enum Segment {
    Sequence {
        length: Option<i64>,
        components: Vec<ObjectId>,
    },
    SourceClip {
        length: Option<i64>,
        start: Option<i64>,
        source_id: Option<MobId>,
        source_slot_id: Option<u32>,
    },
    Filler {
        length: Option<i64>,
    },
    OperationGroup {
        length: Option<i64>,
        /// The OperationDefinition's AUID (the weak reference's key).
        operation: Option<Auid>,
        inputs: Vec<ObjectId>,
        parameters: Vec<ObjectId>,
    },
    Transition {
        length: Option<i64>,
        cut_point: Option<i64>,
        operation_group: Option<ObjectId>,
    },
    Selector {
        length: Option<i64>,
        selected: Option<ObjectId>,
        alternates: Vec<ObjectId>,
    },
    /// Any other component class (Timecode, EssenceGroup, ScopeReference …).
    Other {
        class: Auid,
        class_name: Option<String>,
        length: Option<i64>,
    },
}

/// A control point of a VaryingValue: `time` is a fraction (0..1, but
/// writers go outside it) of the OperationGroup's length.
#[derive(Clone, Debug)]
pub struct ControlPoint {
    pub time: Option<Rational>,
    pub value: Option<Value>,
}

/// An OperationGroup parameter.
#[derive(Clone, Debug)]
pub enum Parameter {
    Constant {
        definition: Option<Auid>,
        value: Option<Value>,
    },
    Varying {
        definition: Option<Auid>,
        interpolation: Option<Auid>,
        points: Vec<ControlPoint>,
    },
    Other {
        definition: Option<Auid>,
        class: Auid,
    },
}

impl Parameter {
    pub fn definition(&self) -> Option<Auid> {
        match self {
            Parameter::Constant { definition, .. }
            | Parameter::Varying { definition, .. }
            | Parameter::Other { definition, .. } => *definition,
        }
    }
}

impl<F: Read + Seek> AafFile<F> {
    fn int(&self, id: ObjectId, pid: u16) -> Result<Option<i64>> {
        Ok(self.value(id, pid)?.and_then(|v| v.as_i64()))
    }

    fn key(&self, id: ObjectId, pid: u16) -> Result<Option<Auid>> {
        Ok(self
            .weak_ref(id, pid)?
            .and_then(|r| Auid::from_slice(&r.key)))
    }

    /// The Header object.
    pub fn header(&self) -> Result<ObjectId> {
        self.strong_ref(self.root(), pids::HEADER)?
            .ok_or_else(|| Error::missing("/Header (root property 0x0002)"))
    }

    /// The ContentStorage.
    pub fn content_storage(&self) -> Result<ObjectId> {
        self.strong_ref(self.header()?, pids::HEADER_CONTENT)?
            .ok_or_else(|| Error::missing("Header.Content"))
    }

    /// The Dictionary.
    pub fn dictionary(&self) -> Result<Option<ObjectId>> {
        self.strong_ref(self.header()?, pids::HEADER_DICTIONARY)
    }

    /// All mobs of the ContentStorage.
    pub fn mobs(&self) -> Result<Vec<ObjectId>> {
        self.strong_refs(self.content_storage()?, pids::CONTENT_MOBS)
    }

    /// A mob's MobID.
    pub fn mob_id(&self, mob: ObjectId) -> Result<Option<MobId>> {
        Ok(self.value(mob, pids::MOB_ID)?.and_then(|v| v.as_mob_id()))
    }

    /// A mob's name.
    pub fn mob_name(&self, mob: ObjectId) -> Result<Option<String>> {
        Ok(self
            .value(mob, pids::MOB_NAME)?
            .and_then(|v| v.as_str().map(str::to_owned)))
    }

    /// The mob with this MobID (through the Mobs set's keys).
    pub fn mob_by_id(&self, id: &MobId) -> Result<Option<ObjectId>> {
        for (k, o) in self.set_elements(self.content_storage()?, pids::CONTENT_MOBS)? {
            if k == id.0 {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// The name of a mob's UsageCode (e.g. `Usage_TopLevel`), if set.
    pub fn usage_code(&self, mob: ObjectId) -> Result<Option<String>> {
        Ok(match self.value(mob, pids::MOB_USAGE_CODE)? {
            Some(Value::ExtEnum { name, value }) => Some(name.unwrap_or_else(|| value.to_string())),
            _ => None,
        })
    }

    /// The top-level CompositionMob: the one whose UsageCode is
    /// `Usage_TopLevel`, else (Logic writes no UsageCode) the first
    /// CompositionMob that no other mob's SourceClip references.
    pub fn top_level_composition(&self) -> Result<Option<ObjectId>> {
        let comps: Vec<ObjectId> = self
            .mobs()?
            .into_iter()
            .filter(|m| self.is_a(*m, &classes::COMPOSITION_MOB))
            .collect();
        for m in &comps {
            if self.usage_code(*m)?.as_deref() == Some("Usage_TopLevel") {
                return Ok(Some(*m));
            }
        }
        let mut referenced = std::collections::HashSet::new();
        for m in &comps {
            for slot in self.strong_refs(*m, pids::MOB_SLOTS)? {
                if let Some(seg) = self.strong_ref(slot, pids::SLOT_SEGMENT)? {
                    self.collect_source_ids(seg, 0, &mut referenced)?;
                }
            }
        }
        for m in &comps {
            if let Some(id) = self.mob_id(*m)? {
                if !referenced.contains(&id) {
                    return Ok(Some(*m));
                }
            }
        }
        Ok(comps.first().copied())
    }

    fn collect_source_ids(
        &self,
        seg: ObjectId,
        depth: usize,
        out: &mut std::collections::HashSet<MobId>,
    ) -> Result<()> {
        if depth > self.limits().max_depth {
            return Err(Error::limit(&self.path_of(seg), "segment nesting too deep"));
        }
        match self.segment(seg)? {
            Segment::SourceClip {
                source_id: Some(id),
                ..
            } => {
                out.insert(id);
            }
            Segment::Sequence { components: c, .. } => {
                for x in c {
                    self.collect_source_ids(x, depth + 1, out)?;
                }
            }
            Segment::OperationGroup { inputs, .. } => {
                for x in inputs {
                    self.collect_source_ids(x, depth + 1, out)?;
                }
            }
            Segment::Selector {
                selected,
                alternates,
                ..
            } => {
                for x in selected.into_iter().chain(alternates) {
                    self.collect_source_ids(x, depth + 1, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A mob's slots.
    pub fn slots(&self, mob: ObjectId) -> Result<Vec<ObjectId>> {
        self.strong_refs(mob, pids::MOB_SLOTS)
    }

    /// A slot's facts.
    pub fn slot_info(&self, slot: ObjectId) -> Result<SlotInfo> {
        Ok(SlotInfo {
            id: slot,
            slot_id: self
                .int(slot, pids::SLOT_ID)?
                .and_then(|v| u32::try_from(v).ok()),
            name: self
                .value(slot, pids::SLOT_NAME)?
                .and_then(|v| v.as_str().map(str::to_owned)),
            physical_track: self
                .int(slot, pids::SLOT_PHYSICAL_TRACK)?
                .and_then(|v| u32::try_from(v).ok()),
            edit_rate: self
                .value(slot, pids::TIMELINE_EDIT_RATE)?
                .and_then(|v| v.as_rational()),
            origin: self.int(slot, pids::TIMELINE_ORIGIN)?,
            segment: self.strong_ref(slot, pids::SLOT_SEGMENT)?,
        })
    }

    /// A component's DataDefinition AUID (e.g. [`defs::DATA_SOUND`]).
    pub fn data_definition(&self, component: ObjectId) -> Result<Option<Auid>> {
        self.key(component, pids::COMPONENT_DATA_DEF)
    }

    /// Whether a DataDefinition AUID is sound (Sound or LegacySound).
    pub fn is_sound(def: &Auid) -> bool {
        *def == defs::DATA_SOUND || *def == defs::DATA_LEGACY_SOUND
    }

    /// A segment, one level deep.
    pub fn segment(&self, id: ObjectId) -> Result<Segment> {
        let length = self.int(id, pids::COMPONENT_LENGTH)?;
        let class = self.class_of(id);
        let m = self.meta();
        Ok(if m.is_a(&class, &classes::SEQUENCE) {
            Segment::Sequence {
                length,
                components: self.strong_refs(id, pids::SEQUENCE_COMPONENTS)?,
            }
        } else if m.is_a(&class, &classes::SOURCE_CLIP) {
            Segment::SourceClip {
                length,
                start: self.int(id, pids::CLIP_START_TIME)?,
                source_id: self.value(id, pids::SOURCE_ID)?.and_then(|v| v.as_mob_id()),
                source_slot_id: self
                    .int(id, pids::SOURCE_SLOT_ID)?
                    .and_then(|v| u32::try_from(v).ok()),
            }
        } else if m.is_a(&class, &classes::FILLER) {
            Segment::Filler { length }
        } else if m.is_a(&class, &classes::OPERATION_GROUP) {
            Segment::OperationGroup {
                length,
                operation: self.key(id, pids::OPGROUP_OPERATION)?,
                inputs: self.strong_refs(id, pids::OPGROUP_INPUTS)?,
                parameters: self.strong_refs(id, pids::OPGROUP_PARAMETERS)?,
            }
        } else if m.is_a(&class, &classes::TRANSITION) {
            Segment::Transition {
                length,
                cut_point: self.int(id, pids::TRANSITION_CUT_POINT)?,
                operation_group: self.strong_ref(id, pids::TRANSITION_OPGROUP)?,
            }
        } else if m.is_a(&class, &classes::SELECTOR) {
            Segment::Selector {
                length,
                selected: self.strong_ref(id, pids::SELECTOR_SELECTED)?,
                alternates: self.strong_refs(id, pids::SELECTOR_ALTERNATES)?,
            }
        } else {
            Segment::Other {
                class,
                class_name: self.class_name(id),
                length,
            }
        })
    }

    /// An OperationGroup parameter.
    pub fn parameter(&self, id: ObjectId) -> Result<Parameter> {
        let definition = self.key(id, pids::PARAMETER_DEFINITION)?;
        let class = self.class_of(id);
        Ok(if self.meta().is_a(&class, &classes::CONSTANT_VALUE) {
            Parameter::Constant {
                definition,
                value: self.value(id, pids::CONSTANT_VALUE)?,
            }
        } else if self.meta().is_a(&class, &classes::VARYING_VALUE) {
            let mut points = Vec::new();
            for p in self.strong_refs(id, pids::VARYING_POINTS)? {
                points.push(ControlPoint {
                    time: self
                        .value(p, pids::POINT_TIME)?
                        .and_then(|v| v.as_rational()),
                    value: self.value(p, pids::POINT_VALUE)?,
                });
            }
            Parameter::Varying {
                definition,
                interpolation: self.key(id, pids::VARYING_INTERPOLATION)?,
                points,
            }
        } else {
            Parameter::Other { definition, class }
        })
    }

    /// The name of a definition (OperationDef, ParameterDef, DataDef …)
    /// in the Dictionary, by AUID.
    pub fn definition_name(&self, auid: &Auid) -> Result<Option<String>> {
        let Some(dict) = self.dictionary()? else {
            return Ok(None);
        };
        for pid in [
            pids::DICTIONARY_OPERATION_DEFS,
            pids::DICTIONARY_PARAMETER_DEFS,
            pids::DICTIONARY_DATA_DEFS,
        ] {
            if self.entry(dict, pid)?.is_none() {
                continue;
            }
            for (k, o) in self.set_elements(dict, pid)? {
                if k == auid.0 {
                    return Ok(self
                        .value(o, pids::DEFINITION_NAME)?
                        .and_then(|v| v.as_str().map(str::to_owned)));
                }
            }
        }
        Ok(None)
    }

    /// A SourceMob's EssenceDescriptor.
    pub fn essence_descriptor(&self, mob: ObjectId) -> Result<Option<ObjectId>> {
        if self.entry(mob, pids::SOURCE_MOB_DESCRIPTOR)?.is_none() {
            return Ok(None);
        }
        self.strong_ref(mob, pids::SOURCE_MOB_DESCRIPTOR)
    }

    /// The URLs of a descriptor's NetworkLocators, as stored (not decoded).
    pub fn locator_urls(&self, descriptor: ObjectId) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for l in self.strong_refs(descriptor, pids::DESCRIPTOR_LOCATORS)? {
            if let Some(url) = self
                .value(l, pids::NETWORK_LOCATOR_URL)?
                .and_then(|v| v.as_str().map(str::to_owned))
            {
                out.push(url);
            }
        }
        Ok(out)
    }

    /// The EssenceData object embedding the essence of the mob `id`.
    pub fn essence_data(&self, id: &MobId) -> Result<Option<ObjectId>> {
        let cs = self.content_storage()?;
        if self.entry(cs, pids::CONTENT_ESSENCE_DATA)?.is_none() {
            return Ok(None);
        }
        for (k, o) in self.set_elements(cs, pids::CONTENT_ESSENCE_DATA)? {
            if k == id.0 {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// The embedded essence bytes of an EssenceData object (within `max`).
    pub fn essence_bytes(&self, essence_data: ObjectId, max: u64) -> Result<Option<Vec<u8>>> {
        self.data_stream(essence_data, pids::ESSENCE_DATA_DATA, max)
    }

    /// Follows a SourceClip's reference: the mob it names and the slot
    /// of that mob with its slot id.
    pub fn resolve_clip(&self, clip: ObjectId) -> Result<Option<(ObjectId, Option<ObjectId>)>> {
        let Segment::SourceClip {
            source_id: Some(mid),
            source_slot_id,
            ..
        } = self.segment(clip)?
        else {
            return Ok(None);
        };
        if mid.is_nil() {
            return Ok(None);
        }
        let Some(mob) = self.mob_by_id(&mid)? else {
            return Ok(None);
        };
        let mut slot = None;
        for s in self.slots(mob)? {
            if self
                .int(s, pids::SLOT_ID)?
                .and_then(|v| u32::try_from(v).ok())
                == source_slot_id
            {
                slot = Some(s);
                break;
            }
        }
        Ok(Some((mob, slot)))
    }
}
