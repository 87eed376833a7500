//! Perceptual loudness benchmarks (issue 10): native ISO 532-1 and the fast estimator against LUFS.
//!
//! `cargo bench --bench perceptual`. Every case measures the same 10 s of
//! mono noise at 48 kHz (−20 dBFS RMS), so times compare directly:
//! - `iso532_time_varying`: the full time-varying method (filter bank,
//!   smoothing, core loudness, nonlinear decay, slopes, temporal weighting);
//!   × real time = 10 s / time.
//! - `iso532_stationary`: the stationary method (filter bank, mean squares).
//! - `lufs`: BS.1770 integrated loudness through `ebur128`, as
//!   `premix analyze` measures it (mono counted dual).
//! - `estimator`: the fast perceptual estimator (`analysis::perceptual`).

use criterion::{criterion_group, criterion_main, Criterion};
use premix::analysis::iso532::{self, Calibration, Field};
use premix::analysis::loudness::Ebu;
use premix::analysis::perceptual::{estimate_signal, EstimatorConfig};
use std::hint::black_box;

const RATE: u32 = 48_000;
const SECONDS: usize = 10;

fn noise() -> Vec<f32> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..RATE as usize * SECONDS)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            // Uniform in [−√3, √3)·0.1: RMS 0.1 = −20 dBFS.
            (((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * 0.1 * 3f64.sqrt()) as f32
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let x = noise();
    let k = Calibration::default().pascal_per_unit();
    let pa: Vec<f32> = x.iter().map(|&v| (f64::from(v) * k) as f32).collect();
    let mut g = c.benchmark_group("perceptual_10s_mono_48k");
    g.sample_size(10);
    g.bench_function("iso532_time_varying", |b| {
        b.iter(|| black_box(iso532::time_varying(black_box(&pa), Field::Free).n5))
    });
    g.bench_function("iso532_stationary", |b| {
        b.iter(|| black_box(iso532::stationary(black_box(&pa), Field::Free).sone))
    });
    g.bench_function("lufs", |b| {
        b.iter(|| {
            let mut m = Ebu::new(1, RATE, true);
            for chunk in x.chunks(4096) {
                m.add(&[chunk]);
            }
            black_box(m.integrated().0)
        })
    });
    let cfg = EstimatorConfig::default();
    g.bench_function("estimator", |b| {
        b.iter(|| black_box(estimate_signal(black_box(&x), RATE, 0.0, &cfg)))
    });
    g.finish();
}

criterion_group!(perceptual, benches);
criterion_main!(perceptual);
