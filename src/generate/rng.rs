//! Deterministic pseudo-random numbers: SplitMix64 for decisions and seeds,
//! xorshift32 for audio-rate noise.
//!
//! The generator must give identical bytes for identical configurations on
//! every run and every thread schedule, so nothing here reads the clock or
//! global state: every track, part and drum hit derives its own generator
//! from `(seed, stream)` with [`Rng::stream`]. Streams are independent, so a
//! track's sound does not change when other tracks are added or removed.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for
/// musical decisions; also the standard way to expand one seed into many.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent generator for sub-stream `stream` of `seed`.
    pub(crate) fn stream(seed: u64, stream: u64) -> Rng {
        Rng::new(mix(seed, stream))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in 0..n (n > 0), by Lemire's multiply-shift; the
    /// bias for the small n used here is far below audibility.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Triangular noise in (−amount, amount): humanisation that clusters
    /// around zero, as a player's timing does.
    pub(crate) fn jitter(&mut self, amount: f64) -> f64 {
        (self.unit() + self.unit() - 1.0) * amount
    }
}

/// Combines a seed and a stream id into a new seed. Not symmetric, so
/// `(seed 1, stream 2)` and `(seed 2, stream 1)` differ.
pub(crate) fn mix(seed: u64, stream: u64) -> u64 {
    let mut r = Rng::new(seed.rotate_left(23) ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    r.next_u64() ^ r.next_u64().rotate_left(7)
}

/// White noise in [−1, 1) from xorshift32: three shifts per sample, cheap
/// enough for audio rate even in debug builds.
#[derive(Clone, Debug)]
pub(crate) struct Noise(u32);

impl Noise {
    pub(crate) fn new(seed: u64) -> Noise {
        let s = (mix(seed, 0x4E_4F49_5345) >> 32) as u32;
        // xorshift has the all-zero state as a fixed point.
        Noise(if s == 0 { 0x9E37_79B9 } else { s })
    }

    #[inline(always)]
    pub(crate) fn next(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        (x as i32) as f32 * (1.0 / 2_147_483_648.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(1, 2).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(1, 2).next_u64(), Rng::stream(2, 1).next_u64());
        assert_ne!(Rng::stream(1, 2).next_u64(), Rng::stream(1, 3).next_u64());
    }

    #[test]
    fn ranges_hold() {
        let mut r = Rng::new(7);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.below(5) < 5);
            let j = r.jitter(2.0);
            assert!(j > -2.0 && j < 2.0);
        }
        let mut n = Noise::new(3);
        let mean: f32 = (0..10_000).map(|_| n.next()).sum::<f32>() / 10_000.0;
        assert!(mean.abs() < 0.05, "noise mean {mean}");
    }
}
