//! Glue between stage 1's stems, stage 2's fit and the plan: runs the fit
//! against a reference file and turns the fitted console into bus settings
//! in the units the session writers take.

use crate::audio::{decode_file, resample::resample};
use crate::balance::stems::Stem as GroupStem;
use crate::mix::console::{
    render, BandKind, CompParams, ConsoleParams, EqParams, Stem, StereoBuffer,
};
use crate::mix::fit::{
    af_loss, fit_with, measure, reference_features, FitConfig, Prepared, StartPoint,
};
use crate::mix::style::Features;
use crate::plan::{MixPlan, Stage2};
use crate::report::{Curve, ReportData};
use crate::writeback::{BusSettings, CompSettings, EqBand, EqKind};
use anyhow::{Context, Result};
use std::path::Path;

/// The console's stems, moved out of stage 1's.
pub fn console_stems(stems: Vec<GroupStem>) -> Vec<Stem> {
    stems
        .into_iter()
        .map(|s| Stem {
            name: s.name,
            class: s.class,
            audio: StereoBuffer::new(s.sample_rate, s.left, s.right),
        })
        .collect()
}

/// Decodes the reference at the stems' rate.
pub fn load_reference(path: &Path, rate: u32) -> Result<StereoBuffer> {
    let decoded = decode_file(path)
        .with_context(|| format!("{}: cannot read the reference", path.display()))?;
    let buf = resample(decoded.buffer, rate)
        .map_err(|e| anyhow::anyhow!("{}: cannot resample the reference: {e}", path.display()))?;
    let left = buf.planes[0].clone();
    let right = buf.planes.get(1).cloned().unwrap_or_else(|| left.clone());
    Ok(StereoBuffer::new(rate, left, right))
}

/// Where the stage-2 fit starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Init {
    /// The stage-2 predictor's guess (`models/stage2-predictor`); without
    /// ONNX Runtime or the model, a notice and the priors.
    Model,
    /// The class priors: levels and pans of the knowledge-engineering table,
    /// flat EQ, almost no compression.
    Prior,
}

/// The predictor's start point for `stems` against the reference's features
/// `rf`, or `None` (with one notice per run) when it cannot run.
pub fn predicted_start(
    stems: &[Stem],
    prep: &Prepared,
    rf: &Features,
    cfg: &FitConfig,
) -> Option<StartPoint> {
    use crate::ml::predictor::Predictor;
    use crate::ml::runtime::notice_once;
    const FALLBACK: &str = "the stage-2 fit starts from the class priors (--init prior)";
    Predictor::shared()
        .and_then(|p| p.start_for(stems, prep, rf, cfg))
        .map_err(|e| notice_once(&e, FALLBACK))
        .ok()
}

/// Runs the fit and fills the plan's buses, master and stage-2 report.
/// Returns the fitted console (for the preview) and the report's curves.
pub fn run(
    plan: &mut MixPlan,
    stems: &[Stem],
    reference_path: &Path,
    reference: &StereoBuffer,
    init: Init,
) -> Result<(ConsoleParams, ReportData)> {
    let cfg = FitConfig::default();
    let result = fit_with(stems, reference, &cfg, |prep, rf| match init {
        Init::Model => predicted_start(stems, prep, rf, &cfg),
        Init::Prior => None,
    })
    .with_context(|| format!("{}: stage 2 fit failed", reference_path.display()))?;
    let fitted = result.params;
    let mut params = fitted.clone();
    // Hold the console to what the REAPER writer can carry (Major Tom's
    // 0.1 steps and ranges, its hard or ~6 dB soft knee, its own timing;
    // the fader's +12 dB), and measure the loss of *that* mix: the figure
    // reported is the one the session gets, and the preview is that mix.
    quantise_for_rpp(&mut params);
    let loss_written = af_loss(
        &measure(stems, &params, &cfg),
        &reference_features(reference, &cfg),
        &cfg,
    );
    let mut notes = Vec::new();
    for ((g, strip), fit) in plan.groups.iter_mut().zip(&params.stems).zip(&fitted.stems) {
        g.bus = BusSettings {
            gain_db: strip.gain_db,
            pan: strip.pan,
            eq: eq_bands(&strip.eq),
            comp: comp_settings(&strip.comp, strip.gain_db),
        };
        if !strip.comp.is_bypass() {
            notes.push(format!(
                "bus '{}': fitted compressor attack {:.0} ms, release {:.0} ms (REAPER's Major Tom sets its own timing)",
                g.stage1.name, fit.comp.attack_ms, fit.comp.release_ms
            ));
        }
    }
    plan.master = Some(BusSettings {
        gain_db: params.master.output_gain_db,
        pan: 0.0,
        eq: eq_bands(&params.master.eq),
        comp: comp_settings(&params.master.comp, 0.0),
    });
    let r = &result.report;
    plan.stage2 = Some(Stage2 {
        reference: reference_path.display().to_string(),
        init: r.init.clone(),
        loss_before: r.loss_before,
        loss_after: loss_written.total,
        per_feature: loss_written
            .terms()
            .iter()
            .map(|(name, v)| (name.to_string(), *v))
            .collect(),
        notes,
    });

    let rate = f64::from(reference.sample_rate);
    let freqs: Vec<f64> = (0..200)
        .map(|i| 20.0 * 1000f64.powf(f64::from(i) / 199.0))
        .collect();
    let mut data = ReportData::default();
    for strip in &params.stems {
        let pts = freqs
            .iter()
            .map(|&f| (f, strip.eq.response_db(f, rate)))
            .collect();
        data.eq_curves.push((strip.name.clone(), pts));
        if !strip.comp.is_bypass() {
            data.comp_curves
                .push((strip.name.clone(), static_curve(&strip.comp)));
        }
    }
    let pts = freqs
        .iter()
        .map(|&f| (f, params.master.eq.response_db(f, rate)))
        .collect();
    data.eq_curves.push(("master".into(), pts));
    data.spectra = spectra(&r.mix_features, &r.reference_features);
    Ok((params, data))
}

/// Holds the console to what the REAPER writer carries, so that the
/// preview, the reported loss and `premix render` of the written project
/// are one and the same mix:
/// - faders (stem gains, master output) at most +12 dB, REAPER's maximum;
/// - EQ bands under 0.05 dB are not written, so they are set flat;
/// - compressors as `sstillwell/majortom` holds them (see
///   `writeback::rpp_comp`): threshold, ratio and make-up in 0.1 steps
///   within the sliders' ranges, knee hard (0) or soft (about 6 dB), and
///   the console's model of Major Tom's timing.
///
/// A stem's compressor threshold is rounded as the plugin sees it: the
/// console applies the stem gain before the compressor, REAPER applies the
/// track fader after its FX, so the plugin's threshold is the console's
/// minus the stem gain (a level-independent compressor gives the same
/// output either way: `C_T(g·x) = g·C_(T−g)(x)`).
pub fn quantise_for_rpp(params: &mut ConsoleParams) {
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let max_fader_db = crate::writeback::rpp::MAX_FADER_DB;
    let quantise = |c: &mut CompParams, pre_gain_db: f64| {
        if c.is_bypass() {
            return;
        }
        c.threshold_db = round1((c.threshold_db - pre_gain_db).clamp(-60.0, 0.0)) + pre_gain_db;
        c.ratio = round1(c.ratio.clamp(1.0, 20.0));
        c.makeup_db = round1(c.makeup_db.clamp(-20.0, 20.0));
        c.knee_db = if c.knee_db >= crate::writeback::rpp_comp::SOFT_KNEE_FROM_DB {
            6.0
        } else {
            0.0
        };
        c.attack_ms = crate::writeback::rpp_comp::MODEL_ATTACK_MS;
        c.release_ms = crate::writeback::rpp_comp::MODEL_RELEASE_MS;
    };
    let flatten_small = |eq: &mut EqParams| {
        for b in &mut eq.bands {
            if b.gain_db.abs() < MIN_EQ_GAIN_DB {
                b.gain_db = 0.0;
            }
        }
    };
    for s in &mut params.stems {
        s.gain_db = s.gain_db.min(max_fader_db);
        flatten_small(&mut s.eq);
        quantise(&mut s.comp, s.gain_db);
    }
    params.master.output_gain_db = params.master.output_gain_db.min(max_fader_db);
    flatten_small(&mut params.master.eq);
    quantise(&mut params.master.comp, 0.0);
}

/// EQ bands smaller than this are not worth a plugin band, dB.
const MIN_EQ_GAIN_DB: f64 = 0.05;

fn eq_bands(eq: &EqParams) -> Vec<EqBand> {
    eq.bands
        .iter()
        .filter(|b| b.gain_db.abs() >= MIN_EQ_GAIN_DB)
        .map(|b| EqBand {
            kind: match b.kind {
                BandKind::LowShelf => EqKind::LowShelf,
                BandKind::Peak => EqKind::Peak,
                BandKind::HighShelf => EqKind::HighShelf,
            },
            freq_hz: b.freq_hz,
            gain_db: b.gain_db,
            q: b.q,
        })
        .collect()
}

/// The compressor as the bus plugin holds it: before the bus fader, so its
/// threshold is the console's minus the stem gain `pre_gain_db` (0 for the
/// master, whose output gain comes after its compressor in both).
fn comp_settings(c: &CompParams, pre_gain_db: f64) -> Option<CompSettings> {
    (!c.is_bypass()).then_some(CompSettings {
        threshold_db: c.threshold_db - pre_gain_db,
        ratio: c.ratio,
        attack_ms: c.attack_ms,
        release_ms: c.release_ms,
        knee_db: c.knee_db,
        makeup_db: c.makeup_db,
    })
}

/// The soft-knee static curve (Giannoulis et al.) the console implements.
fn static_curve(c: &CompParams) -> Vec<(f64, f64)> {
    (0..=60)
        .map(|i| {
            let x = -60.0 + f64::from(i);
            let (t, r, w) = (c.threshold_db, c.ratio.max(1.0), c.knee_db.max(0.0));
            let y = if 2.0 * (x - t) < -w {
                x
            } else if w > 0.0 && (2.0 * (x - t)).abs() <= w {
                x + (1.0 / r - 1.0) * (x - t + w / 2.0).powi(2) / (2.0 * w)
            } else {
                t + (x - t) / r
            };
            (x, y + c.makeup_db)
        })
        .collect()
}

/// Mid-signal Bark spectra of the fitted mix and the reference, in dB.
fn spectra(
    mix: &crate::mix::style::Features,
    reference: &crate::mix::style::Features,
) -> Vec<Curve> {
    // Centres of the style features' 24 triangular Bark bands, 20 Hz–20 kHz.
    use crate::mix::style::{bark_to_hz, hz_to_bark, N_BARK};
    let (lo, hi) = (hz_to_bark(20.0), hz_to_bark(20_000.0));
    let centres: Vec<f64> = (1..=N_BARK)
        .map(|i| bark_to_hz(lo + (hi - lo) * i as f64 / (N_BARK + 1) as f64))
        .collect();
    let db = |v: &[f64]| -> Vec<(f64, f64)> {
        centres
            .iter()
            .zip(v)
            .map(|(&f, &ln)| (f, 20.0 * ln / std::f64::consts::LN_10))
            .collect()
    };
    vec![
        ("mix after stage 2".into(), db(&mix.bark_mid)),
        ("reference".into(), db(&reference.bark_mid)),
    ]
}

/// Renders the fitted mix (for `--preview`).
pub fn render_mix(stems: &[Stem], params: &ConsoleParams) -> StereoBuffer {
    render(stems, params)
}
