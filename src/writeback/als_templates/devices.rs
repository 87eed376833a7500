//! EQ Eight (`Eq8`) and Compressor (`Compressor2`).

use super::{Schema, Xml, FLT_MAX, MINUS_70_DB, PLUS_6_DB};

/// One EQ Eight band channel's defaults: on, mode, frequency (Hz), Q.
type Band = (bool, &'static str, &'static str, &'static str);

/// EQ Eight's first channel (`ParameterA`), band by band: the most common
/// values among Live-written EQ Eights (PROVENANCE.md). premix switches
/// every band on or off and sets the bands it uses.
const BANDS_A: [Band; 8] = [
    (true, "0", "40", "0.689823091"),
    (false, "2", "200", "0.7071067095"),
    (false, "3", "734.713257", "0.7071067095"),
    (false, "3", "1766.44348", "0.7071067095"),
    (false, "3", "2840.95825", "0.7071067095"),
    (false, "5", "5192.6626", "0.7071067095"),
    (false, "5", "5000.00098", "0.7071067095"),
    (true, "6", "18000", "0.693829"),
];

/// The second channel (`ParameterB`, used in L/R and M/S modes only),
/// likewise.
const BANDS_B: [Band; 8] = [
    (false, "1", "40", "0.7071067095"),
    (false, "2", "200", "0.7071067095"),
    (true, "3", "99.9999924", "0.7071067095"),
    (true, "3", "500", "0.7071067095"),
    (true, "3", "2000.00024", "0.7071067095"),
    (true, "3", "10000", "0.7071067095"),
    (false, "5", "5000.00098", "0.7071067095"),
    (false, "6", "18000.0039", "0.7071067095"),
];

/// An EQ Eight of `schema` with `OverwriteProtectionNumber` `protection`.
pub fn eq8(schema: Schema, protection: u32) -> String {
    let mut x = Xml::new(schema);
    x.open_with("Eq8", &[("Id", "0")]);
    x.device_head(false, false, Some(protection));
    x.value("Precision", "0");
    x.value("Mode", "0");
    x.value("EditMode", "false");
    x.value("SelectedBand", "0");
    x.float_param("GlobalGain", "0", "-12", "12");
    x.float_param("Scale", "1", "-2", "2");
    for (i, (a, b)) in BANDS_A.iter().zip(&BANDS_B).enumerate() {
        x.block(&format!("Bands.{i}"), |x| {
            for (tag, (on, mode, freq, q)) in [("ParameterA", a), ("ParameterB", b)] {
                x.block(tag, |x| {
                    x.bool_param("IsOn", *on);
                    x.enum_param("Mode", mode, "7");
                    x.float_param("Freq", freq, "10", "22000");
                    x.float_param("Gain", "0", "-15", "15");
                    x.float_param("Q", q, "0.1000000015", "18");
                });
            }
        });
    }
    x.block("SpectrumAnalyzer", |x| {
        x.device_head(false, false, Some(protection));
        for (tag, v) in [
            ("ScaleYBegin", "0"),
            ("ScaleYRange", "80"),
            ("AutoScaleY", "false"),
            ("ScaleXMode", "1"),
            ("ShowBins", "false"),
            ("ShowMax", "true"),
            ("AnalyzeOn", "true"),
            ("Length", "2"),
            ("Window", "3"),
            ("ChannelMode", "2"),
            ("NumAverages", "1"),
            ("MinRefreshTime", "60"),
        ] {
            x.value(tag, v);
        }
    });
    x.value("Live8ShelfScaleLegacyMode", "false");
    x.value("AuditionOnOff", "false");
    x.value("AdaptiveQFactor", "1.12");
    x.bool_param("AdaptiveQ", true);
    if schema.live12() {
        x.value("AdaptiveQAffectsShelves", "true");
    }
    x.close("Eq8");
    x.out
}

/// A Compressor of `schema` with `OverwriteProtectionNumber` `protection`,
/// at Live's defaults (threshold 0 dB, 4:1, 1 ms / 30 ms, knee 6 dB).
pub fn compressor2(schema: Schema, protection: u32) -> String {
    let mut x = Xml::new(schema);
    x.open_with("Compressor2", &[("Id", "0")]);
    x.device_head(false, false, Some(protection));
    x.float_param("Threshold", "1", MINUS_70_DB, PLUS_6_DB);
    x.float_param("Ratio", "4", "1", FLT_MAX);
    x.float_param("ExpansionRatio", "1.14999998", "1", "2");
    x.float_param("Attack", "1", "0.009999999776", "1000");
    x.float_param("Release", "30", "1", "3000");
    x.bool_param("AutoReleaseControlOnOff", false);
    x.float_param("Gain", "0", "-36", "36");
    x.bool_param("GainCompensation", true);
    x.float_param("DryWet", "1", "0", "1");
    x.enum_param("Model", "0", "2");
    x.enum_param("LegacyModel", "1", "2");
    x.bool_param("LogEnvelope", true);
    x.enum_param("LegacyEnvFollowerMode", "0", "2");
    x.float_param("Knee", "6", "0", "18");
    x.enum_param("LookAhead", "0", "2");
    x.bool_param("SideListen", false);
    x.block("SideChain", |x| {
        x.bool_param("OnOff", false);
        x.block("RoutedInput", |x| {
            x.routing("Routable", "AudioIn/None", "No Output", "");
            x.float_param("Volume", "1", MINUS_70_DB, "15.8489332");
        });
        x.float_param("DryWet", "1", "0", "1");
    });
    // The side-chain EQ: one element in Live 10–11, flat fields in Live 12.
    let eq = |x: &mut Xml, prefix: &str| {
        x.bool_param(&format!("{prefix}On"), false);
        x.enum_param(&format!("{prefix}Mode"), "5", "5");
        x.float_param(&format!("{prefix}Freq"), "200", "30", "15000");
        x.float_param(&format!("{prefix}Q"), "0.7071067691", "0.1000000015", "12");
        x.float_param(&format!("{prefix}Gain"), "0", "-15", "15");
    };
    if schema.live12() {
        eq(&mut x, "SideChainEq_");
    } else {
        x.open("SideChainEq");
        eq(&mut x, "");
        x.close("SideChainEq");
    }
    for (tag, v) in [
        ("Live8LegacyMode", "false"),
        ("ViewMode", "0"),
        ("IsOutputCurveVisible", "false"),
        ("RmsTimeShort", "8"),
        ("RmsTimeLong", "250"),
        ("ReleaseTimeShort", "15"),
        ("ReleaseTimeLong", "1500"),
        ("CrossfaderSmoothingTime", "10"),
    ] {
        x.value(tag, v);
    }
    x.close("Compressor2");
    x.out
}
