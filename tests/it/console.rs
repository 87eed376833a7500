//! Stage 2: the console's DSP against independent Python references
//! (`scripts/dev/console_reference.py`).

use crate::util;
use premix::mix::console::comp::{CompParams, Compressor};
use premix::mix::console::eq::{BandKind, Eq, EqBand, EqParams};
use premix::mix::console::{render_strip, Class, PanLaw, Stem, StereoBuffer, StripParams};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// Run the console reference with one JSON request; `None` when the Python
/// reference is unavailable locally (a failure under CI).
fn reference(req: &Value) -> Option<Value> {
    let py = util::python_with(&["numpy", "scipy"])?;
    let mut child = Command::new(py)
        .arg(util::root().join("scripts/dev/console_reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("python ran");
    assert!(out.status.success(), "console_reference.py failed");
    Some(serde_json::from_slice(&out.stdout).expect("json from python"))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn kind_name(k: BandKind) -> &'static str {
    match k {
        BandKind::LowShelf => "low_shelf",
        BandKind::Peak => "peak",
        BandKind::HighShelf => "high_shelf",
    }
}

/// The magnitude response of the EQ as it actually runs (an impulse through
/// `Eq::process`, then an FFT), at the bins `bins` of a 2^16-point FFT.
fn measured_response_db(params: &EqParams, sr: f64, bins: &[usize]) -> Vec<f64> {
    let n = 1 << 16;
    let mut l = vec![0.0f32; n];
    l[0] = 1.0;
    let mut r = l.clone();
    Eq::new(params, sr).process(&mut l, &mut r);
    let mut buf: Vec<rustfft::num_complex::Complex<f64>> = l
        .iter()
        .map(|&x| rustfft::num_complex::Complex::new(f64::from(x), 0.0))
        .collect();
    rustfft::FftPlanner::new()
        .plan_fft_forward(n)
        .process(&mut buf);
    bins.iter().map(|&k| 20.0 * buf[k].norm().log10()).collect()
}

#[test]
fn eq_magnitude_matches_rbj_reference() {
    let sr = 48000.0;
    let n = 1usize << 16;
    // Log-spaced bins from 20 Hz to 20 kHz.
    let bins: Vec<usize> = (0..120)
        .map(|i| (20.0 * 1000f64.powf(i as f64 / 119.0) * n as f64 / sr).round() as usize)
        .collect();
    let freqs: Vec<f64> = bins.iter().map(|&k| k as f64 * sr / n as f64).collect();
    let cases = [
        EqParams::with_gains([6.0, -4.0, 3.0, -8.0, 5.0, -6.0]),
        EqParams {
            bands: [
                EqBand {
                    kind: BandKind::LowShelf,
                    freq_hz: 20.0,
                    gain_db: 12.0,
                    q: 5.0,
                },
                EqBand {
                    kind: BandKind::Peak,
                    freq_hz: 40.0,
                    gain_db: -12.0,
                    q: 0.1,
                },
                EqBand {
                    kind: BandKind::Peak,
                    freq_hz: 3000.0,
                    gain_db: 12.0,
                    q: 5.0,
                },
                EqBand {
                    kind: BandKind::Peak,
                    freq_hz: 400.0,
                    gain_db: 0.5,
                    q: 2.0,
                },
                EqBand {
                    kind: BandKind::Peak,
                    freq_hz: 16000.0,
                    gain_db: -7.0,
                    q: 0.7,
                },
                EqBand {
                    kind: BandKind::HighShelf,
                    freq_hz: 18000.0,
                    gain_db: -12.0,
                    q: 0.1,
                },
            ],
        },
    ];
    for params in cases {
        let bands: Vec<Value> = params
            .bands
            .iter()
            .map(|b| json!({"kind": kind_name(b.kind), "freq_hz": b.freq_hz, "gain_db": b.gain_db, "q": b.q}))
            .collect();
        let Some(out) =
            reference(&json!({"op": "eq", "sample_rate": sr, "bands": bands, "freqs": freqs}))
        else {
            return;
        };
        let want = floats(&out["db"]);
        let got = measured_response_db(&params, sr, &bins);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // 0.05 dB is the bound. The impulse response is run in
            // f32 I/O with f64 state and truncated at 2^16 samples, far
            // longer than any band's decay here, so agreement is much
            // closer in practice.
            assert!(
                (g - w).abs() < 0.05,
                "{:.1} Hz: ours {g:.4} dB, scipy {w:.4} dB",
                freqs[i]
            );
            // The analytic response the fit uses agrees too.
            let analytic = params.response_db(freqs[i], sr);
            assert!(
                (analytic - w).abs() < 0.05,
                "analytic at {:.1} Hz",
                freqs[i]
            );
        }
    }
}

/// Drive a compressor with a piecewise-constant DC side-chain level and
/// return the gain it applied per sample, dB.
fn run_compressor(p: &CompParams, sr: f64, levels: &[(usize, f32)]) -> Vec<f32> {
    let mut c = Compressor::new(p, sr);
    let mut gains = Vec::new();
    for &(n, amp) in levels {
        let mut l = vec![amp; n];
        let mut r = vec![-amp; n]; // the detector takes |x| of either channel
        let mut g = vec![0.0f32; n];
        c.process(&mut l, &mut r, Some(&mut g));
        gains.extend_from_slice(&g);
    }
    gains
}

#[test]
fn compressor_static_curve_matches_reference() {
    let sr = 48000.0;
    for (thr, ratio, knee, makeup) in [
        (-20.0, 4.0, 6.0, 3.0),
        (-35.0, 10.0, 0.0, 0.0),
        (-8.0, 1.5, 12.0, 12.0),
    ] {
        let p = CompParams {
            threshold_db: thr,
            ratio,
            knee_db: knee,
            attack_ms: 1.0,
            release_ms: 10.0,
            makeup_db: makeup,
        };
        let levels: Vec<f64> = (0..=60).map(|i| -60.0 + f64::from(i)).collect();
        let Some(out) = reference(
            &json!({"op": "comp_static", "threshold_db": thr, "ratio": ratio,
            "knee_db": knee, "makeup_db": makeup, "levels_db": levels}),
        ) else {
            return;
        };
        let want = floats(&out["out_db"]);
        for (x, w) in levels.iter().zip(&want) {
            // A 0.5 s DC level: ≥ 50 release constants, fully settled.
            let g = run_compressor(&p, sr, &[(24000, 10f64.powf(x / 20.0) as f32)]);
            let got = x + f64::from(*g.last().unwrap());
            // f32 side-chain samples and gain: ≈ 1e-5 dB; 0.001 dB leaves
            // room for the single-precision level of −60 dB inputs.
            assert!(
                (got - w).abs() < 1e-3,
                "thr {thr} ratio {ratio} knee {knee}: in {x} dB, ours {got}, ref {w}"
            );
            assert!((p.static_output_db(*x) - w).abs() < 1e-9);
        }
    }
}

#[test]
fn compressor_time_constants_match_reference() {
    let sr = 44100.0;
    for (attack, release) in [(1.0, 10.0), (10.0, 100.0), (250.0, 1000.0)] {
        let p = CompParams {
            threshold_db: -30.0,
            ratio: 4.0,
            knee_db: 0.0,
            attack_ms: attack,
            release_ms: release,
            makeup_db: 2.0,
        };
        // Below threshold, a step 20 dB over it (15 dB of reduction), back.
        let n_att = (sr * attack * 8e-3) as usize + 100;
        let n_rel = (sr * release * 8e-3) as usize + 100;
        let levels = [(2000usize, 0.001f32), (n_att, 0.316), (n_rel, 0.001)];
        let lv: Vec<Value> = levels.iter().map(|&(n, a)| json!([n, a])).collect();
        let Some(out) = reference(
            &json!({"op": "comp_gain", "sample_rate": sr, "threshold_db": -30.0,
            "ratio": 4.0, "knee_db": 0.0, "attack_ms": attack, "release_ms": release, "makeup_db": 2.0,
            "levels": lv}),
        ) else {
            return;
        };
        let want = floats(&out["gain_db"]);
        let got = run_compressor(&p, sr, &levels);
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // Same recursion in f64 on both sides, our gain stored as f32:
            // 1e-4 dB covers the f32 rounding of a ≤ 17 dB value, plus our
            // flushing of reductions under 1e-6 dB.
            assert!(
                (f64::from(*g) - w).abs() < 1e-4,
                "sample {i}: ours {g}, ref {w}"
            );
        }
        let times = floats(&out["ten_ninety_s"]);
        // The documented convention: the 10–90 % time of the gain reduction
        // equals the attack (rise) and release (recovery) times. Discrete
        // sampling and interpolation: within a sample and 0.5 %.
        let tol = |t: f64| 1.0 / sr + 0.005 * t;
        assert!(
            (times[0] - attack * 1e-3).abs() < tol(attack * 1e-3),
            "attack {attack}: {}",
            times[0]
        );
        assert!(
            (times[1] - release * 1e-3).abs() < tol(release * 1e-3),
            "release {release}: {}",
            times[1]
        );
    }
}

#[test]
fn pan_law_gains_match_reference_exactly() {
    let pans: Vec<f64> = (0..=40).map(|i| -1.0 + 0.05 * f64::from(i)).collect();
    for (law, name, centre) in [
        (PanLaw::Balance, "balance", 0.0),
        (PanLaw::CONSTANT_POWER, "sine_taper", -3.010299956639812),
        (PanLaw::SineTaper { centre_db: -4.5 }, "sine_taper", -4.5),
        (PanLaw::SineTaper { centre_db: -6.0 }, "sine_taper", -6.0),
    ] {
        let Some(out) =
            reference(&json!({"op": "pan", "law": name, "centre_db": centre, "pans": pans}))
        else {
            return;
        };
        for (p, w) in pans.iter().zip(out["gains"].as_array().unwrap()) {
            let w = floats(w);
            let (l, r) = law.gains(*p);
            // Same closed forms in f64 on both sides: equal to the last
            // couple of ulps (powf/cos implementations may differ by one).
            assert!(
                (l - w[0]).abs() < 1e-15 && (r - w[1]).abs() < 1e-15,
                "{law:?} at {p}: {l},{r} vs {w:?}"
            );
        }
    }
    // The renderer applies exactly those gains.
    let stem = Stem {
        name: "x".into(),
        class: Class::Keys,
        audio: StereoBuffer::new(44100, vec![0.5, -0.25, 1.0], vec![0.125, 0.75, -1.0]),
    };
    for law in [PanLaw::Balance, PanLaw::CONSTANT_POWER] {
        let strip = StripParams {
            pan: 0.3,
            ..StripParams::neutral(&stem)
        };
        let out = render_strip(&stem, &strip, law);
        let (gl, gr) = law.gains(0.3);
        for i in 0..3 {
            assert_eq!(out.left[i], stem.audio.left[i] * gl as f32);
            assert_eq!(out.right[i], stem.audio.right[i] * gr as f32);
        }
    }
}
