//! Neural F0 benchmarks (issue 11): CREPE tiny through ONNX Runtime against
//! pYIN on the same audio.
//!
//! `cargo bench --bench ml`. Every case analyses the same 10 s of a
//! harmonic tone (196 Hz, 6 partials) at 44.1 kHz, mono; inference time is
//! linear in the number of 10 ms frames, so a 3-minute track costs 18× the
//! figure. Needs the ONNX Runtime library (see `src/ml/runtime.rs` for the
//! search order); without it only the pYIN case runs.
//! - `pyin`: `analysis::pitch::analyze` (the default estimator);
//! - `crepe_track`: resampling to 16 kHz, framing, inference (one intra-op
//!   thread, as in the analysis), decoding;
//! - `ensemble`: pYIN and CREPE per frame (`ml::f0`).

use criterion::{criterion_group, criterion_main, Criterion};
use premix::analysis::pitch::{self, PitchConfig};
use premix::ml::crepe::{Crepe, CrepeConfig};
use premix::ml::f0::analyze_neural;
use std::hint::black_box;

const RATE: u32 = 44_100;
const SECONDS: usize = 10;

fn tone() -> Vec<f32> {
    (0..RATE as usize * SECONDS)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let s: f64 = (1..=6)
                .map(|k| (2.0 * std::f64::consts::PI * 196.0 * k as f64 * t).sin() / k as f64)
                .sum();
            (0.2 * s) as f32
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let slots = vec![tone()];
    let cfg = PitchConfig::default();
    let mut g = c.benchmark_group("f0_10s_mono_44k");
    g.sample_size(10);
    g.bench_function("pyin", |b| {
        b.iter(|| black_box(pitch::analyze(&slots, RATE, &cfg, 1e-6)));
    });
    match Crepe::shared() {
        Ok(crepe) => {
            g.bench_function("crepe_track", |b| {
                b.iter(|| {
                    black_box(
                        crepe
                            .track(&slots[0], RATE, &CrepeConfig::default())
                            .unwrap(),
                    )
                });
            });
            g.bench_function("ensemble", |b| {
                b.iter(|| {
                    black_box(analyze_neural(&slots, RATE, &cfg, 1e-6, &crepe, true).unwrap())
                });
            });
        }
        Err(e) => eprintln!("neural cases skipped: {e}"),
    }
    g.finish();
}

criterion_group!(ml, benches);
criterion_main!(ml);
