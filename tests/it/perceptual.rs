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
