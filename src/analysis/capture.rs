//! A bounded, evenly spread sample of a track's active audio, taken in one
//! streaming pass, for the statistics whose cost would otherwise grow with
//! track length (spectral centroid/bandwidth and F0).
//!
//! The mono mix is cut into fixed-length *slots* (¼ s by default). A slot is
//! a candidate when its mean square is above the absolute activity gate.
//! Candidates are numbered 0, 1, 2, … in order; candidate `k` is kept when
//! `k` is a multiple of the current stride. When more than `max_slots` are
//! kept, every other kept slot is dropped and the stride doubles. The kept
//! slots are therefore always evenly spread over the active audio seen so
//! far (every `stride`-th one), between `max_slots/2` and `max_slots` of
//! them, and memory is bounded by `max_slots` slots whatever the length.
//! Slots hold whole consecutive frames, so the pYIN HMM still sees
//! continuous pitch tracks inside each slot.

/// Kept slots of the mono mix.
#[derive(Debug)]
pub struct Capture {
    slot_len: usize,
    max_slots: Option<usize>,
    gate_ms: f64,
    stride: u64,
    next_candidate: u64,
    current: Vec<f32>,
    kept: Vec<(u64, Vec<f32>)>,
    /// Active slots seen (kept or not).
    pub candidates: u64,
}

impl Capture {
    /// Slots of `slot_len` frames; `max_slots = None` keeps every active
    /// slot; `gate_ms` is the absolute gate on a slot's mean square.
    pub fn new(slot_len: usize, max_slots: Option<usize>, gate_ms: f64) -> Capture {
        Capture {
            slot_len: slot_len.max(1),
            max_slots: max_slots.map(|m| m.max(2)),
            gate_ms,
            stride: 1,
            next_candidate: 0,
            current: Vec::with_capacity(slot_len),
            kept: Vec::new(),
            candidates: 0,
        }
    }

    /// Adds mono samples.
    pub fn add(&mut self, mut x: &[f32]) {
        while !x.is_empty() {
            let take = (self.slot_len - self.current.len()).min(x.len());
            self.current.extend_from_slice(&x[..take]);
            x = &x[take..];
            if self.current.len() == self.slot_len {
                self.close_slot();
            }
        }
    }

    fn close_slot(&mut self) {
        let slot = std::mem::replace(&mut self.current, Vec::with_capacity(self.slot_len));
        if slot.is_empty() {
            return;
        }
        let ms = super::peak_and_energy(&slot).1 / slot.len() as f64;
        if ms <= self.gate_ms {
            return;
        }
        let k = self.next_candidate;
        self.next_candidate += 1;
        self.candidates += 1;
        if k % self.stride != 0 {
            return;
        }
        self.kept.push((k, slot));
        if let Some(max) = self.max_slots {
            if self.kept.len() > max {
                let stride = self.stride * 2;
                self.kept.retain(|(k, _)| k % stride == 0);
                self.stride = stride;
            }
        }
    }

    /// Ends the stream (a final partial slot counts if it is active) and
    /// returns the kept slots in time order.
    pub fn finish(mut self) -> Vec<Vec<f32>> {
        self.close_slot();
        self.kept.into_iter().map(|(_, s)| s).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_evenly_spread_sample() {
        // 1000 active slots of 10 samples, each slot filled with its index so
        // we can see which were kept.
        let mut c = Capture::new(10, Some(16), 0.0);
        for i in 0..1000 {
            c.add(&[(i + 1) as f32; 10]);
        }
        let kept = c.finish();
        assert!(kept.len() <= 16 && kept.len() >= 8, "{}", kept.len());
        let idx: Vec<usize> = kept.iter().map(|s| s[0] as usize - 1).collect();
        let stride = idx[1] - idx[0];
        assert!(idx.windows(2).all(|w| w[1] - w[0] == stride), "{idx:?}");
        assert!(idx[0] == 0 && *idx.last().unwrap() + 2 * stride > 1000);
    }

    #[test]
    fn silent_slots_are_skipped_and_unbounded_keeps_all() {
        let mut c = Capture::new(4, None, 1e-6);
        c.add(&[0.0; 8]);
        c.add(&[0.5; 8]);
        c.add(&[0.5; 2]);
        let kept = c.finish();
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[2].len(), 2);
    }
}
