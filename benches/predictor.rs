//! Stage-2 predictor benchmarks (issue 11): the cost `--init model` adds to
//! a mix, per session.
//!
//! `cargo bench --bench predictor`. Each case has N stems of 20 s of
//! coloured noise at 48 kHz (the fit's default excerpt is 20 s, so longer
//! songs cost the same):
//! - `inference/N`: the ONNX model alone on N + 1 tokens (one intra-op
//!   thread);
//! - `start_for/N`: what `--init model` adds before the fit: each stem's
//!   features on the excerpt, the render and features of the priors' start
//!   mix, then inference.
//!
//! Needs the ONNX Runtime library (see `src/ml/runtime.rs`); without it
//! nothing runs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use premix::group::Class;
use premix::mix::console::{Stem, StereoBuffer};
use premix::mix::fit::{reference_features, FitConfig, Prepared};
use premix::ml::predictor::{Predictor, TOKEN};
use std::hint::black_box;

const RATE: u32 = 48_000;

/// Noise through a one-pole low-pass whose corner depends on `k`, so the
/// stems differ in spectrum (xorshift: deterministic, no dependency).
fn stem(k: usize) -> Stem {
    let n = RATE as usize * 20;
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (k as u64 + 1);
    let a = 0.5 + 0.45 * ((k % 7) as f32 / 7.0);
    let mut y = 0.0f32;
    let mut left = Vec::with_capacity(n);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let w = (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        y = a * y + (1.0 - a) * w;
        left.push(0.3 * y);
    }
    let right = left.iter().rev().copied().collect();
    Stem {
        name: format!("stem {k}"),
        class: Class::ALL[k % Class::ALL.len()],
        audio: StereoBuffer::new(RATE, left, right),
    }
}

fn benches(c: &mut Criterion) {
    let predictor = match Predictor::shared() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("predictor benchmarks skipped: {e}");
            return;
        }
    };
    let cfg = FitConfig::default();
    let mut g = c.benchmark_group("predictor");
    g.sample_size(10);
    for n in [8usize, 32] {
        let stems: Vec<Stem> = (0..n).map(stem).collect();
        let prep = Prepared::new(&stems, &cfg).expect("stems");
        let reference = stem(99).audio;
        let rf = reference_features(&reference, &cfg);
        let tokens = vec![0.1f32; (n + 1) * TOKEN];
        g.bench_with_input(BenchmarkId::new("inference", n), &n, |b, &n| {
            b.iter(|| black_box(predictor.run_tokens(n + 1, tokens.clone()).unwrap()));
        });
        g.bench_with_input(BenchmarkId::new("start_for", n), &n, |b, _| {
            b.iter(|| black_box(predictor.start_for(&stems, &prep, &rf, &cfg).unwrap()));
        });
    }
    g.finish();
}

criterion_group!(predictor, benches);
criterion_main!(predictor);
