//! Perceptual loudness (issue 10): ISO 532-1 against MoSQITo, the fast estimator.
//!
//! The test writes its signals as mono float WAVs (48 kHz, samples in
//! premix's default calibration: a sample x is x · 20 µPa · 10^(103/20)),
//! runs `scripts/dev/iso532_reference.py` (MoSQITo 1.2.1) on them and
//! compares with premix's native ISO 532-1.

use crate::util;
use premix::analysis::iso532::{self, Calibration, Field};
use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::path::Path;

const RATE: u32 = 48_000;

/// Deterministic uniform noise in [−1, 1) (SplitMix64).
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Scales `x` so its RMS is `db_spl` under the default calibration.
fn at_spl(mut x: Vec<f64>, db_spl: f64) -> Vec<f32> {
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
    let want = 10f64.powf((db_spl - Calibration::default().db_spl_at_unit_rms) / 20.0);
    for v in &mut x {
        *v *= want / rms;
    }
    x.into_iter().map(|v| v as f32).collect()
}

fn sine(f: f64, seconds: f64) -> Vec<f64> {
    (0..(seconds * f64::from(RATE)) as usize)
        .map(|i| (2.0 * PI * f * i as f64 / f64::from(RATE)).sin())
        .collect()
}

fn white(seconds: f64, seed: u64) -> Vec<f64> {
    let mut n = Noise(seed);
    (0..(seconds * f64::from(RATE)) as usize)
        .map(|_| n.next())
        .collect()
}

/// Noise with a spectrum shaped in the frequency domain: magnitude
/// `shape(f)` and random phase, one FFT of the whole signal.
fn shaped(seconds: f64, seed: u64, shape: impl Fn(f64) -> f64) -> Vec<f64> {
    let n = (seconds * f64::from(RATE)) as usize;
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let inv = planner.plan_fft_inverse(n);
    let mut spec = inv.make_input_vec();
    let mut rng = Noise(seed);
    for (k, c) in spec.iter_mut().enumerate() {
        let f = k as f64 * f64::from(RATE) / n as f64;
        let ph = PI * rng.next();
        let m = if k == 0 || k == n / 2 { 0.0 } else { shape(f) };
        *c = realfft::num_complex::Complex::new(m * ph.cos(), m * ph.sin());
    }
    let mut out = inv.make_output_vec();
    inv.process(&mut spec, &mut out).expect("ifft");
    out
}

fn pink(seconds: f64, seed: u64) -> Vec<f64> {
    shaped(
        seconds,
        seed,
        |f| if f >= 20.0 { 1.0 / f.sqrt() } else { 0.0 },
    )
}

fn third_octave(fc: f64, seconds: f64, seed: u64) -> Vec<f64> {
    let (lo, hi) = (fc * 2f64.powf(-1.0 / 6.0), fc * 2f64.powf(1.0 / 6.0));
    shaped(
        seconds,
        seed,
        move |f| {
            if (lo..hi).contains(&f) {
                1.0
            } else {
                0.0
            }
        },
    )
}

/// Tone bursts: 1 kHz, `on` seconds every `period` seconds, starting after
/// 100 ms of silence.
fn bursts(on: f64, period: f64, seconds: f64) -> Vec<f64> {
    sine(1000.0, seconds)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let t = i as f64 / f64::from(RATE) - 0.1;
            if t >= 0.0 && t.rem_euclid(period) < on {
                v
            } else {
                0.0
            }
        })
        .collect()
}

fn write_wav(path: &Path, x: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("wav");
    for &v in x {
        w.write_sample(v).expect("sample");
    }
    w.finalize().expect("wav");
}

/// The test signals: name → samples (digital, default calibration), and
/// whether the time-varying method is checked on it.
fn signals() -> Vec<(String, Vec<f32>, bool)> {
    let mut v = Vec::new();
    for db in [40.0, 50.0, 60.0, 70.0, 80.0] {
        v.push((
            format!("tone1k_{db:.0}"),
            at_spl(sine(1000.0, 1.0), db),
            db == 60.0,
        ));
    }
    v.push(("white_60".into(), at_spl(white(2.0, 1), 60.0), false));
    v.push(("white_75".into(), at_spl(white(2.0, 2), 75.0), false));
    v.push(("pink_60".into(), at_spl(pink(2.0, 3), 60.0), true));
    v.push(("pink_75".into(), at_spl(pink(2.0, 4), 75.0), false));
    for (i, fc) in [63.0, 250.0, 1000.0, 4000.0, 10000.0]
        .into_iter()
        .enumerate()
    {
        v.push((
            format!("toct_{fc:.0}_65"),
            at_spl(third_octave(fc, 2.0, 10 + i as u64), 65.0),
            false,
        ));
    }
    // Harmonic complex: 200 Hz, 12 harmonics at 1/k amplitude.
    let hc: Vec<f64> = (0..RATE as usize * 2)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            (1..=12)
                .map(|k| (2.0 * PI * 200.0 * k as f64 * t).sin() / k as f64)
                .sum()
        })
        .collect();
    v.push(("harmonic200_70".into(), at_spl(hc, 70.0), true));
    // Bursts: RMS set on the whole signal, so the bursts themselves are
    // louder than the nominal level.
    v.push((
        "bursts_100ms".into(),
        at_spl(bursts(0.1, 0.5, 3.0), 60.0),
        true,
    ));
    v.push((
        "bursts_10ms".into(),
        at_spl(bursts(0.01, 0.25, 3.0), 55.0),
        true,
    ));
    v
}

#[test]
fn iso532_agrees_with_mosqito() {
    let Some(py) = util::python_with(&["mosqito", "soundfile"]) else {
        return;
    };
    let dir = util::tempdir();
    let sigs = signals();
    let mut cmd = std::process::Command::new(py);
    cmd.arg(util::root().join("scripts/dev/iso532_reference.py"));
    for (name, x, tv) in &sigs {
        let p = dir.path().join(format!("{name}.wav"));
        write_wav(&p, x);
        if *tv {
            cmd.arg("--tv").arg(format!("{name}.wav"));
        }
        cmd.arg(&p);
    }
    let out = cmd.output().expect("run iso532_reference.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refs: BTreeMap<String, BTreeMap<String, f64>> =
        serde_json::from_slice(&out.stdout).expect("reference JSON");
    let mut worst_bank = 0f64;
    let mut worst_zwst = 0f64;
    let mut worst_tv = 0f64;
    let mut report = String::new();
    for (name, x, tv) in &sigs {
        let r = &refs[&format!("{name}.wav")];
        let pa: Vec<f32> = {
            let k = Calibration::default().pascal_per_unit();
            x.iter().map(|&v| (f64::from(v) * k) as f32).collect()
        };
        let st = iso532::stationary(&pa, Field::Free);
        if name == "tone1k_40" {
            // The definition of the sone, to MoSQITo's 3-decimal rounding.
            assert!((st.sone - 1.0).abs() < 0.0015, "{}", st.sone);
        }
        let e_bank = st.sone / r["bank_sone"] - 1.0;
        let e_zwst = st.sone / r["zwst_sone"] - 1.0;
        worst_bank = worst_bank.max(e_bank.abs());
        worst_zwst = worst_zwst.max(e_zwst.abs());
        report += &format!(
            "{name:16} stationary {:7.3} sone | bank {:7.3} ({:+.2} %) | zwst {:7.3} ({:+.2} %)",
            st.sone,
            r["bank_sone"],
            100.0 * e_bank,
            r["zwst_sone"],
            100.0 * e_zwst
        );
        if *tv {
            let t = iso532::time_varying(&pa, Field::Free);
            let e5 = t.n5 / r["zwtv_n5_sone"] - 1.0;
            let em = t.mean / r["zwtv_mean_sone"] - 1.0;
            worst_tv = worst_tv.max(e5.abs()).max(em.abs());
            report += &format!(
                " | N5 {:7.3} vs {:7.3} ({:+.2} %), mean {:7.3} vs {:7.3} ({:+.2} %)",
                t.n5,
                r["zwtv_n5_sone"],
                100.0 * e5,
                t.mean,
                r["zwtv_mean_sone"],
                100.0 * em
            );
        }
        report += "\n";
    }
    eprintln!("{report}");
    // Same method (the standard's filter bank, band intensities averaged
    // over the signal): the bound, 1 % in sone.
    assert!(
        worst_bank < 0.01,
        "stationary vs bank: {worst_bank}\n{report}"
    );
    // Time-varying N5 and mean: same bound.
    assert!(worst_tv < 0.01, "time-varying: {worst_tv}\n{report}");
    // MoSQITo's loudness_zwst takes its third-octave spectrum from
    // Butterworth band filters, not the standard's bank, so neighbouring
    // bands leak differently (2.4 % seen, on the 10 kHz third-octave
    // noise); 3 % bounds that API.
    assert!(
        worst_zwst < 0.03,
        "stationary vs zwst: {worst_zwst}\n{report}"
    );
}

// ---------------------------------------------------------------------------
// Equal-loudness offsets on the narrowband set
// ---------------------------------------------------------------------------

/// Third-octave centres 31.5 Hz … 12.5 kHz (27 frequencies).
fn narrowband_freqs() -> Vec<f64> {
    iso532::CENTRE_HZ[1..].to_vec()
}

/// ISO 226:2023 (ALGORITHMS.md §4.1, Table 1): (f, α_f, L_U, T_f).
const ISO226: [(f64, f64, f64, f64); 29] = [
    (20.0, 0.635, -31.5, 78.1),
    (25.0, 0.602, -27.2, 68.7),
    (31.5, 0.569, -23.1, 59.5),
    (40.0, 0.537, -19.3, 51.1),
    (50.0, 0.509, -16.1, 44.0),
    (63.0, 0.482, -13.1, 37.5),
    (80.0, 0.456, -10.4, 31.5),
    (100.0, 0.433, -8.2, 26.5),
    (125.0, 0.412, -6.3, 22.1),
    (160.0, 0.391, -4.6, 17.9),
    (200.0, 0.373, -3.2, 14.4),
    (250.0, 0.357, -2.1, 11.4),
    (315.0, 0.343, -1.2, 8.6),
    (400.0, 0.330, -0.5, 6.2),
    (500.0, 0.320, 0.0, 4.4),
    (630.0, 0.311, 0.4, 3.0),
    (800.0, 0.303, 0.5, 2.2),
    (1000.0, 0.300, 0.0, 2.4),
    (1250.0, 0.295, -2.7, 3.5),
    (1600.0, 0.292, -4.2, 1.7),
    (2000.0, 0.290, -1.2, -1.3),
    (2500.0, 0.290, 1.4, -4.2),
    (3150.0, 0.289, 2.3, -6.0),
    (4000.0, 0.289, 1.0, -5.4),
    (5000.0, 0.289, -2.3, -1.5),
    (6300.0, 0.293, -7.2, 6.0),
    (8000.0, 0.303, -11.2, 12.6),
    (10000.0, 0.323, -10.9, 13.9),
    (12500.0, 0.354, -3.5, 12.3),
];

/// ISO 226:2023 eq. 1: SPL of a pure tone at `f` with loudness level `ln`.
fn iso226_spl(f: f64, ln: f64) -> f64 {
    let &(_, a, lu, tf) = ISO226
        .iter()
        .find(|r| (r.0 - f).abs() < 1e-6)
        .expect("table frequency");
    (10.0 / a)
        * ((4e-10f64).powf(0.3 - a) * (10f64.powf(0.03 * ln) - 10f64.powf(0.072))
            + 10f64.powf(a * (tf + lu) / 10.0))
        .log10()
        - lu
}

/// Bisection for the gain (dB) at which `f(gain)` (increasing) reaches
/// `target`, within ±80 dB.
fn solve_gain(target: f64, f: impl Fn(f64) -> f64) -> f64 {
    let (mut lo, mut hi) = (-80.0, 80.0);
    // 24 halvings of 160 dB: 1e-5 dB, far below any difference reported.
    for _ in 0..24 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Offsets (dB) each measure asks for, per narrowband signal at `db_spl`:
/// the gain that makes the signal as loud, in that measure, as a 1 kHz
/// sine at `db_spl`. Columns: lufs, f0band, centroid, estimator, ISO 532-1
/// (native, stationary), ISO 226:2023 (sines' contour at the centre
/// frequency, also used for the noises).
/// Without `full`, f0band and centroid are left NaN and LUFS comes from
/// the BS.1770 meter alone (the full analysis runs pYIN: slow in tests).
fn offsets(db_spl: f64, full: bool) -> Vec<(String, [f64; 6])> {
    use premix::analysis::{analyze_buffer, perceptual, Band, Config};
    use premix::audio::Buffer;
    let cal = Calibration::default();
    let k = cal.pascal_per_unit();
    let mut cfg_f0 = Config {
        iso532: false,
        ..Config::default()
    };
    cfg_f0.refined.band = Band::F0 {
        low_mult: 2.0,
        high_mult: 4.0,
    };
    let mut cfg_c = cfg_f0.clone();
    cfg_c.refined.band = Band::Centroid;
    let ecfg = perceptual::EstimatorConfig::default();
    // Linear measures: (lufs, f0band, centroid) of a signal.
    let linear = |x: &[f32]| -> [f64; 3] {
        if !full {
            let mut m = premix::analysis::loudness::Ebu::new(1, RATE, true);
            m.add(&[x]);
            return [m.integrated().0.unwrap_or(f64::NAN), f64::NAN, f64::NAN];
        }
        let b = Buffer::mono(RATE, x.to_vec());
        let a = analyze_buffer(&b, &cfg_f0).features;
        let c = analyze_buffer(&b, &cfg_c).features;
        [
            a.lufs.unwrap_or(f64::NAN),
            a.refined_lufs.unwrap_or(f64::NAN),
            c.refined_lufs.unwrap_or(f64::NAN),
        ]
    };
    let est = |x: &[f32], g: f64| -> f64 {
        let s = 10f64.powf(g / 20.0) as f32;
        let y: Vec<f32> = x.iter().map(|v| v * s).collect();
        perceptual::estimate_signal(&y, RATE, 0.0, &ecfg).map_or(0.0, |e| e.sone)
    };
    let levels = |x: &[f32]| -> [f64; iso532::BANDS] {
        let pa: Vec<f32> = x.iter().map(|&v| (f64::from(v) * k) as f32).collect();
        iso532::stationary(&pa, Field::Free).levels_db
    };
    let iso = |l: &[f64; iso532::BANDS], g: f64| -> f64 {
        iso532::stationary_from_levels(&l.map(|v| v + g), Field::Free).sone
    };
    let reference = at_spl(sine(1000.0, 2.0), db_spl);
    let ref_lin = linear(&reference);
    let ref_est = est(&reference, 0.0);
    let ref_iso = iso(&levels(&reference), 0.0);
    let mut rows = Vec::new();
    for (i, f) in narrowband_freqs().into_iter().enumerate() {
        for noise in [false, true] {
            let x = if noise {
                at_spl(third_octave(f, 2.0, 100 + i as u64), db_spl)
            } else {
                at_spl(sine(f, 2.0), db_spl)
            };
            let lin = linear(&x);
            let l = levels(&x);
            let row = [
                ref_lin[0] - lin[0],
                ref_lin[1] - lin[1],
                ref_lin[2] - lin[2],
                solve_gain(ref_est, |g| est(&x, g)),
                solve_gain(ref_iso, |g| iso(&l, g)),
                iso226_spl(f, db_spl) - db_spl,
            ];
            let kind = if noise { "toct" } else { "sine" };
            rows.push((format!("{kind} {f}"), row));
        }
    }
    rows
}

fn rms_diff(rows: &[(String, [f64; 6])], a: usize, b: usize) -> f64 {
    let d: Vec<f64> = rows
        .iter()
        .map(|(_, r)| r[a] - r[b])
        .filter(|v| v.is_finite())
        .collect();
    (d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64).sqrt()
}

#[test]
fn estimator_is_within_3_db_of_iso532_at_60_db() {
    let rows = offsets(60.0, false);
    for (name, r) in &rows {
        eprintln!(
            "{name:12} lufs {:+6.1} f0band {:+6.1} centroid {:+6.1} est {:+6.1} iso532 {:+6.1} iso226 {:+6.1}",
            r[0], r[1], r[2], r[3], r[4], r[5]
        );
    }
    let est = rms_diff(&rows, 3, 4);
    let lufs = rms_diff(&rows, 0, 4);
    eprintln!("RMS vs ISO 532-1 at 60 dB SPL: estimator {est:.2} dB, lufs {lufs:.2} dB");
    // The target for the fast estimator.
    assert!(est <= 3.0, "estimator {est} dB RMS from ISO 532-1");
    // And it must beat LUFS by a wide margin (LUFS: ~8.5 dB in the issue).
    assert!(est < lufs / 2.0, "estimator {est}, lufs {lufs}");
}

/// The table for the docs: RMS differences of the equal-loudness offsets
/// at 40/60/80 dB SPL. `cargo test --test it perceptual::offset_table -- --ignored --nocapture`
#[test]
#[ignore]
fn offset_table() {
    let names = [
        "lufs",
        "f0band",
        "centroid",
        "estimator",
        "ISO 532-1 (native)",
    ];
    let mut out = String::from(
        "| measure | vs ISO 532-1 @40 | @60 | @80 | vs ISO 226:2023 @40 | @60 | @80 |\n|---|---|---|---|---|---|---|\n",
    );
    let tables: Vec<_> = [40.0, 60.0, 80.0]
        .into_iter()
        .map(|db| offsets(db, true))
        .collect();
    for (m, name) in names.iter().enumerate() {
        out += &format!("| {name} |");
        for t in &tables {
            out += &format!(" {:.2} |", rms_diff(t, m, 4));
        }
        for t in &tables {
            out += &format!(" {:.2} |", rms_diff(t, m, 5));
        }
        out += "\n";
    }
    println!("{out}");
}

// ---------------------------------------------------------------------------
// Stage 1 on generated sessions: what ISO 532-1 says is left to do
// ---------------------------------------------------------------------------

/// For each balancing measure, the SD across a group's tracks of the gain
/// native ISO 532-1 (time-varying, N5) says each track still needs after
/// stage 1 to be as loud as the group's median track, role offsets removed.
/// `cargo test --test it perceptual::stage1_iso532_spread -- --ignored --nocapture`
#[test]
#[ignore]
fn stage1_iso532_spread() {
    use premix::analysis::session::{analyze_session, RunOptions};
    use premix::analysis::{Band, Config, Features};
    use premix::audio::{cache::MediaCache, render_track, Buffer, Source};
    use premix::balance::{balance, BalanceConfig, Measure, Outcome};
    use premix::generate::{generate, GenerateConfig};
    use premix::group::{assign, GroupConfig};

    let measures = [
        Measure::Lufs,
        Measure::F0band,
        Measure::Centroid,
        Measure::Iso532,
        Measure::Perceptual,
    ];
    let cal = Calibration::default();
    let mut table = String::from("| session | group (n) | before |");
    for m in measures {
        table += &format!(" {} |", m.as_str());
    }
    table += "\n|---|---|---|---|---|---|---|---|\n";
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); measures.len() + 1];
    for seed in [1u64, 2] {
        let tmp = util::tempdir();
        let gcfg = GenerateConfig {
            tracks: 24,
            seconds: 20.0,
            seed,
            ..GenerateConfig::default()
        };
        let rep = generate(&gcfg, tmp.path(), &|_, _| {}).expect("generate");
        let session = premix::session::read(&rep.session).expect("session");
        let rate = session.sample_rate.unwrap_or(48_000);
        let opts = RunOptions::default();
        let a_f0 = analyze_session(&session, &Config::default(), &opts, &|_| {});
        let mut ccfg = Config::default();
        ccfg.refined.band = Band::Centroid;
        let a_c = analyze_session(&session, &ccfg, &opts, &|_| {});
        let features: Vec<Option<Features>> = a_f0
            .tracks
            .iter()
            .map(|t| t.error.is_none().then(|| t.analysis.features.clone()))
            .collect();
        let grouping = assign(&session, &features, &GroupConfig::default()).expect("groups");
        // Each track's 0.5 ms band intensities (mid, Pa, 48 kHz).
        let cache = MediaCache::new(rate, Vec::<Vec<&Path>>::new(), 0);
        let series: BTreeMap<usize, iso532::LevelSeries> = grouping
            .groups
            .iter()
            .flat_map(|g| g.tracks.iter().map(|t| t.index))
            .filter_map(|i| {
                let (r, _) = render_track(&session.tracks[i], rate, &cache).ok()?;
                let ch = r.channels();
                let mut planes = vec![Vec::new(); ch];
                r.play(4096, &mut |b| {
                    for (p, s) in planes.iter_mut().zip(b) {
                        p.extend_from_slice(s);
                    }
                });
                let pa = iso532::prepare(&Buffer::new(rate, planes), &cal).ok()?;
                Some((i, iso532::LevelSeries::new(&pa)))
            })
            .collect();
        let phon = |i: usize, g: f64| iso532::sone_to_phon(series[&i].loudness(g, Field::Free).n5);
        // The extra gain that brings track i (at fader g) to `target` phon:
        // secant steps from a 1 dB-per-phon first guess.
        let needed = |i: usize, g: f64, p0: f64, target: f64| -> f64 {
            let (mut x0, mut f0) = (0.0, p0 - target);
            let mut x1 = -f0;
            for _ in 0..6 {
                let f1 = phon(i, g + x1) - target;
                if f1.abs() < 0.05 || (f1 - f0).abs() < 1e-9 {
                    break;
                }
                let x2 = (x1 - f1 * (x1 - x0) / (f1 - f0)).clamp(-40.0, 40.0);
                (x0, f0, x1) = (x1, f1, x2);
            }
            x1
        };
        let sd = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        let plans: Vec<_> = measures
            .iter()
            .map(|&m| {
                let a = if m == Measure::Centroid { &a_c } else { &a_f0 };
                let cfg = BalanceConfig {
                    measure: m,
                    ..BalanceConfig::default()
                };
                balance(&session, &grouping, &a.tracks, &cfg)
            })
            .collect();
        for g in &grouping.groups {
            // Tracks every measure balanced (the same set for a fair row).
            let members: Vec<usize> = g
                .tracks
                .iter()
                .map(|t| t.index)
                .filter(|i| series.contains_key(i))
                .filter(|i| {
                    plans.iter().all(|p| {
                        p.tracks
                            .iter()
                            .any(|t| t.index == *i && t.outcome != Outcome::Untouched)
                    })
                })
                .collect();
            if members.len() < 2 {
                continue;
            }
            let mut row = format!("| {seed} | {} ({}) |", g.name, members.len());
            // Fader per track per column: before, then each measure with
            // the role offset (track target − group target) removed.
            let mut columns: Vec<Vec<f64>> = vec![members
                .iter()
                .map(|&i| premix::session::gain_to_db(session.tracks[i].volume).unwrap_or(0.0))
                .collect()];
            for p in &plans {
                let gt = p
                    .groups
                    .iter()
                    .find(|x| x.name == g.name)
                    .and_then(|x| x.target);
                columns.push(
                    members
                        .iter()
                        .map(|&i| {
                            let t = p.tracks.iter().find(|t| t.index == i).expect("track");
                            let role = match (t.target, gt) {
                                (Some(a), Some(b)) => a - b,
                                _ => 0.0,
                            };
                            t.new_gain_db.unwrap_or(0.0) - role
                        })
                        .collect(),
                );
            }
            for (c, gains) in columns.iter().enumerate() {
                let p: Vec<f64> = members
                    .iter()
                    .zip(gains)
                    .map(|(&i, &g)| phon(i, g))
                    .collect();
                let mut sorted = p.clone();
                sorted.sort_by(f64::total_cmp);
                let n = sorted.len();
                let target = if n % 2 == 1 {
                    sorted[n / 2]
                } else {
                    0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
                };
                let need: Vec<f64> = members
                    .iter()
                    .zip(gains)
                    .zip(&p)
                    .map(|((&i, &g), &p0)| needed(i, g, p0, target))
                    .collect();
                let s = sd(&need);
                all[c].push(s);
                row += &format!(" {s:.2} |");
            }
            table += &row;
            table += "\n";
        }
    }
    table += "| all | mean of group SDs |";
    for c in &all {
        table += &format!(" {:.2} |", c.iter().sum::<f64>() / c.len() as f64);
    }
    println!("{table}");
}
