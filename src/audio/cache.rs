//! Decoded media, shared by clips and tracks, with bounded memory.
//!
//! Choice: decode per track, share only what is reused.
//! * Within a track, every file is decoded once however many clips play it
//!   (`render_track` keeps one `Arc` per path).
//! * A file used by a single track is decoded by that track's job and freed
//!   when the track is done; nothing is cached for it.
//! * A file used by several tracks is decoded once, by whichever track asks
//!   first (the others wait for it rather than decode it again), and kept
//!   until the last track using it has been analysed.
//! * Shared files together are capped at [`MediaCache::new`]'s byte budget.
//!   A shared file that would exceed it is handed to the asking track but
//!   not kept, so a later track decodes it again: memory stays bounded and
//!   only pathological sessions pay the extra decode.
//!
//! Memory in flight is therefore (tracks in flight) × (their own media) +
//! the shared budget, independent of the number of tracks.

use super::decode::decode_file;
use super::resample::resample;
use super::Buffer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A file decoded and resampled to the project rate.
#[derive(Debug)]
pub struct Prepared {
    /// The samples at the project rate.
    pub buffer: Arc<Buffer>,
    /// Sample rate of the file itself.
    pub file_rate: u32,
    /// Warnings from decoding, each naming the file.
    pub warnings: Vec<String>,
}

type Slot = Arc<OnceLock<Result<Arc<Prepared>, String>>>;

/// The decoded-media cache of one analysis run.
pub struct MediaCache {
    rate: u32,
    budget: usize,
    /// Remaining tracks that use each path (only paths used by ≥ 2 tracks).
    users: Mutex<HashMap<PathBuf, usize>>,
    shared: Mutex<HashMap<PathBuf, Slot>>,
    shared_bytes: Mutex<usize>,
}

impl MediaCache {
    /// A cache that resamples to `rate`; `users` lists, for each track, the
    /// paths it plays (duplicates within a track are fine); `budget` caps
    /// the bytes kept for files shared between tracks.
    pub fn new<'a, I, P>(rate: u32, users: I, budget: usize) -> MediaCache
    where
        I: IntoIterator<Item = P>,
        P: IntoIterator<Item = &'a Path>,
    {
        let mut count: HashMap<PathBuf, usize> = HashMap::new();
        for track in users {
            let mut seen: Vec<&Path> = track.into_iter().collect();
            seen.sort();
            seen.dedup();
            for p in seen {
                *count.entry(p.to_owned()).or_default() += 1;
            }
        }
        count.retain(|_, n| *n > 1);
        MediaCache {
            rate,
            budget,
            users: Mutex::new(count),
            shared: Mutex::new(HashMap::new()),
            shared_bytes: Mutex::new(0),
        }
    }

    /// The project rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The file at `path`, decoded and at the project rate. The error
    /// message names the file.
    pub fn get(&self, path: &Path) -> Result<Arc<Prepared>, String> {
        let shared = self.users.lock().expect("cache lock").contains_key(path);
        if !shared {
            return self.load(path);
        }
        let slot: Slot = self
            .shared
            .lock()
            .expect("cache lock")
            .entry(path.to_owned())
            .or_default()
            .clone();
        let result = slot
            .get_or_init(|| {
                let r = self.load(path);
                if let Ok(p) = &r {
                    let keep = {
                        let mut bytes = self.shared_bytes.lock().expect("cache lock");
                        let fits = *bytes + p.buffer.bytes() <= self.budget;
                        if fits {
                            *bytes += p.buffer.bytes();
                        }
                        fits
                    };
                    if !keep {
                        // Over budget: do not keep it (see the module docs).
                        self.shared.lock().expect("cache lock").remove(path);
                    }
                }
                r
            })
            .clone();
        result
    }

    /// Tells the cache a track that uses `paths` is done; shared files with
    /// no remaining users are freed.
    pub fn release<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) {
        let mut seen: Vec<&Path> = paths.into_iter().collect();
        seen.sort();
        seen.dedup();
        let mut users = self.users.lock().expect("cache lock");
        for p in seen {
            let Some(n) = users.get_mut(p) else { continue };
            *n -= 1;
            if *n == 0 {
                users.remove(p);
                let slot = self.shared.lock().expect("cache lock").remove(p);
                if let Some(slot) = slot {
                    if let Some(Ok(prep)) = slot.get() {
                        let mut bytes = self.shared_bytes.lock().expect("cache lock");
                        *bytes = bytes.saturating_sub(prep.buffer.bytes());
                    }
                }
            }
        }
    }

    fn load(&self, path: &Path) -> Result<Arc<Prepared>, String> {
        let d = decode_file(path).map_err(|e| e.to_string())?;
        let file_rate = d.buffer.sample_rate;
        let buffer =
            resample(d.buffer, self.rate).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Arc::new(Prepared {
            buffer: Arc::new(buffer),
            file_rate,
            warnings: d.warnings,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(dir: &Path, name: &str, frames: usize) -> PathBuf {
        let path = dir.join(name);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..frames {
            w.write_sample((i as f32 * 0.01).sin()).unwrap();
        }
        w.finalize().unwrap();
        path
    }

    #[test]
    fn shared_files_decode_once_and_are_freed_after_their_last_track() {
        let dir = tempfile::tempdir().unwrap();
        let a = wav(dir.path(), "a.wav", 1000);
        let b = wav(dir.path(), "b.wav", 1000);
        // a is used by tracks 0 and 1, b by track 1 only.
        let tracks = [vec![a.as_path()], vec![a.as_path(), b.as_path()]];
        let cache = MediaCache::new(8_000, tracks.iter().map(|t| t.iter().copied()), 1 << 20);
        let first = cache.get(&a).unwrap();
        let second = cache.get(&a).unwrap();
        assert!(
            Arc::ptr_eq(&first, &second),
            "a shared file is decoded once"
        );
        let b1 = cache.get(&b).unwrap();
        let b2 = cache.get(&b).unwrap();
        assert!(!Arc::ptr_eq(&b1, &b2), "a single-track file is not cached");
        cache.release([a.as_path()]);
        assert!(cache.shared.lock().unwrap().contains_key(&a));
        cache.release([a.as_path(), b.as_path()]);
        assert!(cache.shared.lock().unwrap().is_empty());
        assert_eq!(*cache.shared_bytes.lock().unwrap(), 0);
    }

    #[test]
    fn shared_files_over_the_budget_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = wav(dir.path(), "a.wav", 1000);
        let tracks = [vec![a.as_path()], vec![a.as_path()]];
        // 1000 samples are 4000 bytes: a 1000-byte budget cannot keep it.
        let cache = MediaCache::new(8_000, tracks.iter().map(|t| t.iter().copied()), 1000);
        let first = cache.get(&a).unwrap();
        let second = cache.get(&a).unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(*cache.shared_bytes.lock().unwrap(), 0);
        assert_eq!(first.buffer.planes, second.buffer.planes);
    }
}
