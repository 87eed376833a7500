//! A small pool of large sample vectors, reused from one track to the next.
//!
//! Decoded tracks are tens of megabytes each. Allocations that large are
//! fresh `mmap`s, so every track would otherwise pay for page faults and
//! zeroing of all its pages, and the unmapping afterwards: about a sixth of
//! the CPU time of a session analysis. Keeping the vectors of finished
//! tracks for the next ones removes that. The pool holds at most
//! [`POOL_MAX`] vectors, so it adds a bounded amount of memory (at most
//! that many planes of the longest file).

use super::render::TrackRender;
use super::Buffer;
use std::sync::{Arc, Mutex};

/// Most vectors kept.
pub const POOL_MAX: usize = 4;
/// Vectors smaller than this (in samples) are not worth keeping.
const MIN_KEEP: usize = 1 << 18;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// An empty vector with room for at least `cap` samples, from the pool when
/// one fits (the smallest that does), else newly allocated.
pub fn take(cap: usize) -> Vec<f32> {
    if cap >= MIN_KEEP {
        if let Ok(mut pool) = POOL.lock() {
            let best = pool
                .iter()
                .enumerate()
                .filter(|(_, v)| v.capacity() >= cap)
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i);
            if let Some(i) = best {
                return pool.swap_remove(i);
            }
        }
    }
    Vec::with_capacity(cap)
}

/// Gives a buffer's planes back to the pool.
pub fn give(buf: Buffer) {
    for mut p in buf.planes {
        if p.capacity() < MIN_KEEP {
            continue;
        }
        p.clear();
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < POOL_MAX {
                pool.push(p);
            } else if let Some(small) = pool.iter_mut().min_by_key(|v| v.capacity()) {
                // Keep the larger ones: they fit more files.
                if small.capacity() < p.capacity() {
                    *small = p;
                }
            }
        }
    }
}

/// Gives back the sources of a finished track that nothing else holds
/// (sources shared with other tracks through the cache stay).
pub fn give_render(render: TrackRender) {
    for clip in render.clips {
        if let Ok(buf) = Arc::try_unwrap(clip.source) {
            give(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_reuses_and_stays_bounded() {
        let big = || Buffer::mono(48_000, vec![0.0; MIN_KEEP * 2]);
        for _ in 0..10 {
            give(big());
        }
        assert!(POOL.lock().unwrap().len() <= POOL_MAX);
        let v = take(MIN_KEEP * 2);
        assert!(v.capacity() >= MIN_KEEP * 2 && v.is_empty());
        // Small requests are not served from the pool.
        assert!(take(16).capacity() < MIN_KEEP);
    }
}
