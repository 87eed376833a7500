//! `GroupTrack`: an empty group (no devices, no envelopes, mixer at unity,
//! centre), with one send holder, one scene slot and, from Live 12.3, one
//! freeze clip slot, which `Document::insert_group_track` fits to the set's
//! returns and scenes. It routes to the master; premix names it and routes
//! it to its parent on insertion.

use super::{Schema, Xml, MINUS_70_DB, PLUS_6_DB};

/// A GroupTrack of `schema`.
pub fn group_track(schema: Schema) -> String {
    let s = schema;
    let mut x = Xml::new(s);
    if s.live12() {
        x.open_with(
            "GroupTrack",
            &[
                ("Id", "0"),
                ("SelectedToolPanel", "7"),
                ("SelectedTransformationName", ""),
                ("SelectedGeneratorName", ""),
            ],
        );
    } else {
        x.open_with("GroupTrack", &[("Id", "0")]);
    }
    x.value("LomId", "0");
    x.value("LomIdView", "0");
    if s.live11() {
        x.value("IsContentSelectedInDocument", "false");
        x.value("PreferredContentViewMode", "0");
    } else {
        x.value("IsContentSelected", "false");
        x.value("EnvelopeModePreferred", "false");
    }
    x.block("TrackDelay", |x| {
        x.value("Value", "0");
        x.value("IsValueSampleBased", "false");
    });
    x.block("Name", |x| {
        for tag in [
            "EffectiveName",
            "UserName",
            "Annotation",
            "MemorizedFirstClipName",
        ] {
            x.value(tag, "");
        }
    });
    x.value(if s.live11() { "Color" } else { "ColorIndex" }, "0");
    x.block("AutomationEnvelopes", |x| x.empty("Envelopes"));
    x.value("TrackGroupId", "-1");
    x.value("TrackUnfolded", "true");
    x.wrapper("DevicesListWrapper");
    x.wrapper("ClipSlotsListWrapper");
    if s.live12_1() {
        x.wrapper("ArrangementClipsListWrapper");
    }
    if s.live12_2() {
        x.wrapper("TakeLanesListWrapper");
    }
    x.value("ViewData", "{}");
    if s.live11() {
        x.block("TakeLanes", |x| {
            x.empty("TakeLanes");
            x.value("AreTakeLanesFolded", "true");
        });
        x.value("LinkedTrackGroupId", "-1");
    }
    x.block("Slots", |x| {
        x.open_with("GroupTrackSlot", &[("Id", "0")]);
        x.value("LomId", "0");
        x.close("GroupTrackSlot");
    });
    if s.live12() {
        x.value("Freeze", "false");
        x.value("NeedArrangerRefreeze", "true");
    }
    x.block("DeviceChain", |x| {
        chain(x, s);
    });
    x.close("GroupTrack");
    x.out
}

/// The group's `DeviceChain`: lanes, routings, mixer, devices, freezer.
fn chain(x: &mut Xml, s: Schema) {
    x.block("AutomationLanes", |x| {
        x.block("AutomationLanes", |x| {
            x.open_with("AutomationLane", &[("Id", "0")]);
            x.value("SelectedDevice", "0");
            x.value("SelectedEnvelope", "0");
            let selected = if s.live11() {
                "IsContentSelectedInDocument"
            } else {
                "IsContentSelected"
            };
            x.value(selected, "false");
            x.value("LaneHeight", "68");
            x.close("AutomationLane");
        });
        x.value("AreAdditionalAutomationLanesFolded", "false");
    });
    x.block("ClipEnvelopeChooserViewState", |x| {
        x.value("SelectedDevice", "0");
        x.value("SelectedEnvelope", "0");
        if s.live10_1() {
            x.value("PreferModulationVisible", "false");
        }
    });
    let (master, master_name) = if s.live12() {
        ("AudioOut/Main", "Main")
    } else {
        ("AudioOut/Master", "Master")
    };
    x.routing("AudioInputRouting", "AudioIn/External/S0", "Ext. In", "1/2");
    x.routing(
        "MidiInputRouting",
        "MidiIn/External.All/-1",
        "Ext: All Ins",
        "",
    );
    x.routing("AudioOutputRouting", master, master_name, "");
    x.routing("MidiOutputRouting", "MidiOut/None", "None", "");
    x.block("Mixer", |x| {
        x.device_head(true, true, None);
        x.block("Sends", |x| {
            x.open_with("TrackSendHolder", &[("Id", "0")]);
            x.float_param("Send", MINUS_70_DB, MINUS_70_DB, "1");
            x.value(
                if s.live12() {
                    "EnabledByUser"
                } else {
                    "Active"
                },
                "true",
            );
            x.close("TrackSendHolder");
        });
        x.bool_param("Speaker", true);
        x.value("SoloSink", "false");
        x.value("PanMode", "0");
        x.float_param("Pan", "0", "-1", "1");
        x.float_param("SplitStereoPanL", "-1", "-1", "1");
        x.float_param("SplitStereoPanR", "1", "-1", "1");
        x.float_param("Volume", "1", MINUS_70_DB, PLUS_6_DB);
        // Live spelled it "Sesstion" until 12.1.
        let width = if s.live12_1() {
            "ViewStateSessionTrackWidth"
        } else {
            "ViewStateSesstionTrackWidth"
        };
        x.value(width, "93");
        x.enum_param("CrossFadeState", "1", "2");
        x.wrapper("SendsListWrapper");
    });
    x.block("DeviceChain", |x| {
        x.empty("Devices");
        if s.live11() {
            x.empty("SignalModulations");
        }
    });
    x.block("FreezeSequencer", |x| {
        x.device_head(true, true, None);
        if s.live12_3() {
            x.block("ClipSlotList", |x| {
                x.open_with("ClipSlot", &[("Id", "0")]);
                x.value("LomId", "0");
                x.block("ClipSlot", |x| x.empty("Value"));
                x.value("HasStop", "true");
                x.value("NeedRefreeze", "true");
                x.close("ClipSlot");
            });
        } else {
            x.empty("ClipSlotList");
        }
        x.value("MonitoringEnum", "1");
        if s.live12() {
            x.value("KeepRecordMonitoringLatency", "true");
        }
        x.block("Sample", |x| {
            if !s.live10_1() {
                x.value("LomId", "0");
            }
            x.block("ArrangerAutomation", |x| {
                x.empty("Events");
                if s.live10_1() {
                    x.block("AutomationTransformViewState", |x| {
                        x.value("IsTransformPending", "false");
                        x.empty("TimeAndValueTransforms");
                    });
                }
            });
        });
        x.target("VolumeModulationTarget");
        x.target("TranspositionModulationTarget");
        if s.live12() {
            x.target("TransientEnvelopeModulationTarget");
        }
        x.target("GrainSizeModulationTarget");
        x.target("FluxModulationTarget");
        x.target("SampleOffsetModulationTarget");
        if s.live12() {
            x.target("ComplexProFormantsModulationTarget");
            x.target("ComplexProEnvelopeModulationTarget");
        }
        x.value("PitchViewScrollPosition", "-1073741824");
        x.value("SampleOffsetModulationScrollPosition", "-1073741824");
        x.block("Recorder", |x| {
            x.value("IsArmed", "false");
            x.value("TakeCounter", "1");
        });
    });
}
