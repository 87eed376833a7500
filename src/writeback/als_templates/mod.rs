//! premix's own Live templates: EQ Eight (`Eq8`), Compressor (`Compressor2`)
//! and `GroupTrack`, for Live 10, 11 and 12, written out by a small builder
//! in the element structure (names, order, nesting) that Live-written sets
//! of the same schema show. Which sets, and which structure each schema
//! has, is in `PROVENANCE.md` beside this file; the skeleton test in
//! `tests/it/als.rs` holds the builder to the corpus.
//!
//! The structure depends on the set's schema, `MinorVersion` (`11.0_433`,
//! `12.0_12300`, ...), not only on Live's major version: Live adds elements
//! within a major version (MPE settings on routings in 11.1, MIDI ranges on
//! enum parameters in 12.2, `ViewData` on devices in 12.3). Each such
//! difference is one predicate on [`Schema`] below, named after what it
//! adds, with the builds it was seen in and not seen in.
//!
//! Values are Live's defaults as far as the evidence shows them (the most
//! common value among the Live-written instances, see PROVENANCE.md);
//! premix sets every value it relies on after insertion anyway. Pointee
//! `Id`s are placeholders numbered from 1: `Document::insert_device` and
//! `insert_group_track` renumber them from the set's `NextPointeeId`.
//! Hand-written (no crate writes Live's XML); the XML is produced as text
//! because `premix_als` splices text fragments.

mod devices;
mod group;

use premix_als::Document;

pub use devices::{compressor2, eq8};
pub use group::group_track;

/// A Live set's schema, from its `MinorVersion` (`11.0_433` → Live 11,
/// build 433). Ordered by (major, build).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Schema {
    pub major: u32,
    pub build: u32,
}

/// The schemas whose Eq8, Compressor2 and GroupTrack structure was seen in
/// Live-written sets (PROVENANCE.md). Others of Live 10–12 get the
/// structure of the predicates below, which is a belief between and beyond
/// these builds.
pub const SEEN: [(u32, u32); 9] = [
    (10, 370),
    (10, 377),
    (11, 433),
    (11, 436),
    (11, 11202),
    (11, 11300),
    (12, 12120),
    (12, 12203),
    (12, 12300),
];

impl Schema {
    /// Parses `MinorVersion` (`major.minor_build`).
    pub fn parse(minor_version: &str) -> Option<Schema> {
        let (head, build) = minor_version.split_once('_')?;
        let major = head.split('.').next()?.parse().ok()?;
        Some(Schema {
            major,
            build: build.parse().ok()?,
        })
    }

    /// The schema of a document, if its `MinorVersion` parses.
    pub fn of(doc: &Document) -> Option<Schema> {
        Schema::parse(&doc.version().minor)
    }

    /// Whether premix ships templates for this major version (10–12).
    pub fn supported(self) -> bool {
        (10..=12).contains(&self.major)
    }

    /// Whether this exact schema was seen in Live-written sets.
    pub fn seen(self) -> bool {
        SEEN.contains(&(self.major, self.build))
    }

    fn at_least(self, major: u32, build: u32) -> bool {
        (self.major, self.build) >= (major, build)
    }

    /// Live 11's renamings and additions on tracks and devices
    /// (`IsContentSelectedInDocument`, `Color`, `TakeLanes`,
    /// `ModulationSourceCount`, `Pointee`, `SignalModulations`): absent in
    /// every Live 10 set (10.0_370, 10.0_377), present from 11.0_433 on.
    fn live11(self) -> bool {
        self.major >= 11
    }

    /// Live 10.1's `PreferModulationVisible` and `AutomationTransformViewState`
    /// (and the end of the freeze sample's `LomId`): seen in 10.0_377, not in
    /// 10.0_370.
    fn live10_1(self) -> bool {
        self.at_least(10, 377)
    }

    /// `MpeSettings` on routings: absent in 11.0_433, present from 11.0_436.
    fn mpe_routing(self) -> bool {
        self.at_least(11, 436)
    }

    /// Live 12's device-header and routing additions (`BreakoutIsExpanded`,
    /// `MpePitchBendUsesTuning`), `ArrangementClipsListWrapper`, and the
    /// spelling `ViewStateSessionTrackWidth`: absent in the corpus's
    /// 12.0_12043 (12.0b16) tracks, present from 12.0_12120.
    fn live12_1(self) -> bool {
        self.at_least(12, 12120)
    }

    /// Live 12's other changes on these elements (flat `SideChainEq_*`,
    /// `AdaptiveQAffectsShelves`, `EnabledByUser`, the group's `Freeze`,
    /// new freeze-sequencer modulation targets, the group's tool-panel
    /// attributes): seen from 12.0_12120; 12.0_12043 shows the freeze
    /// sequencer's but no device or group, so the rest is a belief there.
    fn live12(self) -> bool {
        self.major >= 12
    }

    /// MIDI ranges on enum parameters and `TakeLanesListWrapper`: absent in
    /// 12.0_12120, present from 12.0_12203.
    fn live12_2(self) -> bool {
        self.at_least(12, 12203)
    }

    /// `ViewData` on devices and one freeze `ClipSlot` per scene on a group:
    /// absent in 12.0_12203, present from 12.0_12300.
    fn live12_3(self) -> bool {
        self.at_least(12, 12300)
    }

    /// Live's `OverwriteProtectionNumber` for this schema, as every device
    /// of the seen schemas carries it (Live's own sets also hold it at
    /// `LiveSet/OverwriteProtectionNumber`, which [`protection_number`]
    /// prefers).
    fn default_protection(self) -> u32 {
        match (self.major, self.build) {
            (10, b) if b < 377 => 2560,
            (10, _) => 2561,
            (11, b) if b < 436 => 2816,
            (11, b) if b < 11202 => 2817,
            (11, b) if b < 11300 => 2818,
            (11, _) => 2819,
            (12, b) if b < 12203 => 3073,
            (12, b) if b < 12300 => 3074,
            _ => 3075,
        }
    }
}

/// The `OverwriteProtectionNumber` a device of this set carries: the set's
/// own `LiveSet/OverwriteProtectionNumber` (Live writes the same number
/// there and on its devices), else the one seen for the schema.
pub fn protection_number(doc: &Document, schema: Schema) -> u32 {
    doc.live_set()
        .ok()
        .and_then(|ls| doc.child(ls, "OverwriteProtectionNumber"))
        .and_then(|e| doc.value(e))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| schema.default_protection())
}

/// Live's float maximum as Live spells it (Compressor's ∞:1 ratio).
const FLT_MAX: &str = "340282326356119256160033759537265639424";
/// Live's −70 dB (shown as −inf) and +6 dB in linear gain.
const MINUS_70_DB: &str = "0.0003162277571";
const PLUS_6_DB: &str = "1.99526238";

/// Tab-indented XML text in Live's style (`<X Value="v" />`), with pointee
/// Ids numbered from 1.
struct Xml {
    out: String,
    depth: usize,
    next_id: u32,
    schema: Schema,
}

impl Xml {
    fn new(schema: Schema) -> Xml {
        Xml {
            out: String::new(),
            depth: 0,
            next_id: 1,
            schema,
        }
    }

    fn line(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.out.push('\t');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn value(&mut self, tag: &str, v: &str) {
        self.line(&format!("<{tag} Value=\"{v}\" />"));
    }

    fn empty(&mut self, tag: &str) {
        self.line(&format!("<{tag} />"));
    }

    /// `<X LomId="0" />` (the list wrappers).
    fn wrapper(&mut self, tag: &str) {
        self.line(&format!("<{tag} LomId=\"0\" />"));
    }

    fn open(&mut self, tag: &str) {
        self.line(&format!("<{tag}>"));
        self.depth += 1;
    }

    fn open_with(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        let a: String = attrs.iter().map(|(k, v)| format!(" {k}=\"{v}\"")).collect();
        self.line(&format!("<{tag}{a}>"));
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.line(&format!("</{tag}>"));
    }

    fn block(&mut self, tag: &str, f: impl FnOnce(&mut Xml)) {
        self.open(tag);
        f(self);
        self.close(tag);
    }

    fn id(&mut self) -> String {
        let id = self.next_id;
        self.next_id += 1;
        id.to_string()
    }

    /// An automation or modulation target: `<X Id="n"><LockEnvelope/></X>`.
    fn target(&mut self, tag: &str) {
        let id = self.id();
        self.open_with(tag, &[("Id", &id)]);
        self.value("LockEnvelope", "0");
        self.close(tag);
    }

    fn range(&mut self, tag: &str, min: &str, max: &str) {
        self.block(tag, |x| {
            x.value("Min", min);
            x.value("Max", max);
        });
    }

    /// An on/off parameter.
    fn bool_param(&mut self, tag: &str, v: bool) {
        self.block(tag, |x| {
            x.value("LomId", "0");
            x.value("Manual", if v { "true" } else { "false" });
            x.target("AutomationTarget");
            x.range("MidiCCOnOffThresholds", "64", "127");
        });
    }

    /// A continuous parameter with its range.
    fn float_param(&mut self, tag: &str, v: &str, min: &str, max: &str) {
        self.block(tag, |x| {
            x.value("LomId", "0");
            x.value("Manual", v);
            x.range("MidiControllerRange", min, max);
            x.target("AutomationTarget");
            x.target("ModulationTarget");
        });
    }

    /// An enum parameter (0..=max); Live 12.2 added its MIDI range, after
    /// the automation target.
    fn enum_param(&mut self, tag: &str, v: &str, max: &str) {
        let ranged = self.schema.live12_2();
        self.block(tag, |x| {
            x.value("LomId", "0");
            x.value("Manual", v);
            x.target("AutomationTarget");
            if ranged {
                x.range("MidiControllerRange", "0", max);
            }
        });
    }

    /// What every device (and a track's mixer and freeze sequencer) starts
    /// with, up to its own fields. `protection` is the
    /// `OverwriteProtectionNumber`, which devices carry and mixers do not.
    fn device_head(&mut self, expanded: bool, show_preset_name: bool, protection: Option<u32>) {
        let s = self.schema;
        self.value("LomId", "0");
        self.value("LomIdView", "0");
        self.value("IsExpanded", if expanded { "true" } else { "false" });
        if s.live12_1() {
            self.value("BreakoutIsExpanded", "false");
        }
        self.bool_param("On", true);
        if s.live11() {
            self.value("ModulationSourceCount", "0");
        }
        self.wrapper("ParametersListWrapper");
        if s.live11() {
            let id = self.id();
            self.line(&format!("<Pointee Id=\"{id}\" />"));
        }
        self.value("LastSelectedTimeableIndex", "0");
        self.value("LastSelectedClipEnvelopeIndex", "0");
        self.block("LastPresetRef", |x| x.empty("Value"));
        self.empty("LockedScripts");
        self.value("IsFolded", "false");
        self.value(
            "ShouldShowPresetName",
            if show_preset_name { "true" } else { "false" },
        );
        self.value("UserName", "");
        self.value("Annotation", "");
        self.block("SourceContext", |x| x.empty("Value"));
        if s.live12_1() {
            self.value("MpePitchBendUsesTuning", "true");
        }
        if s.live12_3() {
            self.value("ViewData", "{}");
        }
        if let Some(p) = protection {
            self.value("OverwriteProtectionNumber", &p.to_string());
        }
    }

    /// A routing (`AudioInputRouting`, ..., a compressor's side-chain
    /// `Routable`).
    fn routing(&mut self, tag: &str, target: &str, upper: &str, lower: &str) {
        let s = self.schema;
        self.block(tag, |x| {
            x.value("Target", target);
            x.value("UpperDisplayString", upper);
            x.value("LowerDisplayString", lower);
            if s.mpe_routing() {
                x.block("MpeSettings", |x| {
                    x.value("ZoneType", "0");
                    x.value("FirstNoteChannel", "1");
                    x.value("LastNoteChannel", "15");
                });
            }
            if s.live12_1() {
                x.value("MpePitchBendUsesTuning", "true");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parses_minor_version_and_orders_builds() {
        let s = Schema::parse("11.0_11300").unwrap();
        assert_eq!((s.major, s.build), (11, 11300));
        assert!(Schema::parse("12.0_12043").unwrap() < Schema::parse("12.0_12120").unwrap());
        assert!(Schema::parse("10.0_377").unwrap() < Schema::parse("11.0_433").unwrap());
        assert_eq!(Schema::parse("11.0"), None);
        assert_eq!(Schema::parse("x_1"), None);
        assert!(Schema::parse("11.0_436").unwrap().mpe_routing());
        assert!(!Schema::parse("11.0_433").unwrap().mpe_routing());
        assert!(!Schema::parse("12.0_12043").unwrap().live12_1());
    }

    #[test]
    fn templates_are_well_formed_single_elements() {
        for (major, build) in SEEN.iter().copied().chain([(12, 12043), (12, 12402)]) {
            let s = Schema { major, build };
            for (name, text) in [
                ("Eq8", eq8(s, 1)),
                ("Compressor2", compressor2(s, 1)),
                ("GroupTrack", group_track(s)),
            ] {
                let d = Document::parse(text.as_bytes())
                    .unwrap_or_else(|e| panic!("{name} {major}.{build}: {e}"));
                assert_eq!(d.name(d.root()), name);
            }
        }
    }
}
