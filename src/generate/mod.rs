//! A deterministic synthetic multitrack session: the demo, the test input of
//! both mixing stages, and the benchmark workload.
//!
//! [`generate`] writes into an output folder:
//!
//! - `audio/NN Name.wav`: one file per track, 32-bit float, mono or stereo
//!   as the instrument is recorded;
//! - [`SESSION_FILE`] (`premix-demo.RPP`): a REAPER project playing them,
//!   with drums and vocals in folders when [`GenerateConfig::folders`] is set;
//! - [`REFERENCE_FILE`] (`reference/reference-mix.wav`): a mastered stereo
//!   mix of *other* music, the stage-2 target.
//!
//! The tracks play one song (a tempo of 100–130 BPM, a four-chord
//! progression, a drum groove with fills, a bass line on the roots, a sung
//! melody with harmonies) and are *deliberately mis-levelled*: each gets a
//! random error of −12…+6 dB on top of its class's nominal loudness
//! ([`Instrument::nominal_lufs`]). [`GeneratedTrack::mislevel_db`] records
//! the error, so a mixer's corrections can be checked against the truth.
//!
//! # Levels
//!
//! A track's file is written at the synthesiser's natural level while its
//! BS.1770 integrated loudness and sample peak are measured; the exact gain
//! that puts it at `nominal_lufs + mislevel_db` is then applied to the
//! written samples in place. So the file's loudness equals that sum to
//! within float rounding, whatever the song length. If the gain would push
//! the sample peak above [`PEAK_LIMIT_DBFS`], it is lowered until it does
//! not, and `mislevel_db` is lowered by the same amount: it remains the
//! truth of what was applied.
//!
//! # Sample format
//!
//! 32-bit float WAV. The gain is applied after the loudness is known; float
//! keeps the unscaled file free of clipping and makes the rescale exact
//! (no requantisation, no dither), and every DAW and decoder reads it.
//!
//! # Determinism and resources
//!
//! Same configuration, same bytes: every random choice comes from a
//! SplitMix64 stream seeded from `(seed, purpose)`, nothing reads the clock,
//! and parallel work never shares an accumulator. Tracks render in parallel
//! (rayon), each streamed to its file in blocks of one second, so memory
//! does not grow with `seconds × tracks`; the reference mix keeps one stereo
//! buffer of at most [`REFERENCE_MAX_SECONDS`].

mod dsp;
mod instruments;
mod reference;
pub(crate) mod rng;
mod session;
mod song;
mod vocal;
mod voices;

pub use instruments::Instrument;

use rayon::prelude::*;
use serde::Serialize;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The session file's name inside the output folder.
pub const SESSION_FILE: &str = "premix-demo.RPP";
/// The folder of the track files, relative to the output folder.
pub const AUDIO_DIR: &str = "audio";
/// The reference mix, relative to the output folder.
pub const REFERENCE_FILE: &str = "reference/reference-mix.wav";
/// The range of the deliberate level errors, dB.
pub const MISLEVEL_RANGE_DB: (f64, f64) = (-12.0, 6.0);
/// No generated file has a sample peak above this (dBFS).
pub const PEAK_LIMIT_DBFS: f64 = -0.5;
/// Integrated loudness of the reference mix (LUFS).
pub const REFERENCE_LUFS: f64 = -10.0;
/// The reference mix is as long as the session, up to this many seconds.
pub const REFERENCE_MAX_SECONDS: f64 = 30.0;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GenerateConfig {
    /// Audio tracks, 1–256 (folder tracks come on top).
    pub tracks: usize,
    /// Length in seconds, 1–300.
    pub seconds: f64,
    /// Sample rate in Hz, 22 050–192 000.
    pub sample_rate: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Put the drum and vocal tracks in REAPER folders ("Drums", "Vocals")
    /// when the group has at least two tracks; other groups stay
    /// top-level, for automatic grouping to find.
    pub folders: bool,
}

impl Default for GenerateConfig {
    fn default() -> GenerateConfig {
        GenerateConfig {
            tracks: 24,
            seconds: 30.0,
            sample_rate: 48_000,
            seed: 1,
            folders: true,
        }
    }
}

impl GenerateConfig {
    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<(), GenerateError> {
        if !(1..=256).contains(&self.tracks) {
            return Err(GenerateError::Config(format!(
                "tracks must be 1 to 256, got {}",
                self.tracks
            )));
        }
        if !(self.seconds.is_finite() && (1.0..=300.0).contains(&self.seconds)) {
            return Err(GenerateError::Config(format!(
                "seconds must be 1 to 300, got {}",
                self.seconds
            )));
        }
        if !(22_050..=192_000).contains(&self.sample_rate) {
            return Err(GenerateError::Config(format!(
                "sample rate must be 22050 to 192000 Hz, got {}",
                self.sample_rate
            )));
        }
        Ok(())
    }
}

/// One generated track.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GeneratedTrack {
    /// The track name, as a session would have it ("Kick In", "Gtr L").
    pub name: String,
    pub instrument: Instrument,
    /// The audio file, relative to the output folder
    /// (`audio/03 Snare Top.wav`).
    pub file: PathBuf,
    /// The folder track containing this track, if any.
    pub folder: Option<String>,
    /// The deliberate level error applied (dB): the file's integrated
    /// loudness is `nominal_lufs + mislevel_db`.
    pub mislevel_db: f64,
    /// The loudness this track would have if correctly levelled (LUFS).
    pub nominal_lufs: f64,
    /// The track's pan in the session, −1 (left) … +1 (right).
    pub pan: f64,
    /// 1 or 2.
    pub channels: u16,
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GenerateReport {
    /// The `.RPP` session.
    pub session: PathBuf,
    /// The reference mix WAV.
    pub reference: PathBuf,
    /// The audio tracks in session order (folder tracks are not listed).
    pub tracks: Vec<GeneratedTrack>,
    /// The session's tempo (BPM).
    pub tempo_bpm: f64,
    /// The session's key ("A minor").
    pub key: String,
    /// The reference mix's tempo (BPM), which differs from the session's.
    pub reference_tempo_bpm: f64,
}

/// Why generation failed. Every error names the file it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The configuration is out of range.
    #[error("invalid generate configuration: {0}")]
    Config(String),
    /// Creating, writing or rescaling a file failed.
    #[error("{}: {what}", .path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Writing a WAV file failed.
    #[error("{}: cannot write WAV", .path.display())]
    Wav {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    /// The loudness meter failed (an internal error).
    #[error("{}: cannot measure loudness: {message}", .path.display())]
    Loudness { path: PathBuf, message: String },
}

impl GenerateError {
    fn io<'a>(
        path: &'a Path,
        what: &'static str,
    ) -> impl FnOnce(std::io::Error) -> GenerateError + 'a {
        move |source| GenerateError::Io {
            path: path.to_owned(),
            what,
            source,
        }
    }

    fn wav(path: &Path, source: hound::Error) -> GenerateError {
        GenerateError::Wav {
            path: path.to_owned(),
            source,
        }
    }

    fn loudness(path: &Path, e: ebur128::Error) -> GenerateError {
        GenerateError::Loudness {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}

/// A BS.1770 integrated-loudness meter.
fn loudness_meter(
    channels: usize,
    sr: u32,
    path: &Path,
) -> Result<ebur128::EbuR128, GenerateError> {
    ebur128::EbuR128::new(
        channels as u32,
        sr,
        ebur128::Mode::I | ebur128::Mode::SAMPLE_PEAK,
    )
    .map_err(|e| GenerateError::loudness(path, e))
}

/// Stream ids: each purpose draws from its own generator.
const SONG_STREAM: u64 = 0x534F_4E47;
const MISLEVEL_STREAM: u64 = 0x4D49_534C;

/// Generates a session into `out_dir` (created if missing; existing files
/// of the same names are replaced, other files are left alone).
///
/// `progress(done, total)` is called with `(0, total)` first and then after
/// each finished unit of work (each track and the reference mix, so
/// `total = tracks + 1`), from worker threads but never concurrently and
/// with `done` increasing.
pub fn generate(
    cfg: &GenerateConfig,
    out_dir: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<GenerateReport, GenerateError> {
    cfg.validate()?;
    let audio_dir = out_dir.join(AUDIO_DIR);
    std::fs::create_dir_all(&audio_dir)
        .map_err(GenerateError::io(&audio_dir, "cannot create folder"))?;
    let reference_path = out_dir.join(REFERENCE_FILE);
    if let Some(dir) = reference_path.parent() {
        std::fs::create_dir_all(dir).map_err(GenerateError::io(dir, "cannot create folder"))?;
    }

    let plans = instruments::plan(cfg.tracks, cfg.seed);
    let n_toms = plans
        .iter()
        .filter(|p| p.instrument == Instrument::Tom)
        .count();
    let song = song::Song::new(
        rng::mix(cfg.seed, SONG_STREAM),
        cfg.sample_rate,
        cfg.seconds,
        n_toms,
    );
    let length_s = song.len as f64 / song.sr;
    let (tempo_bpm, key) = (song.bpm, song.key_name());
    let ctx = instruments::Context::new(song);

    let mut tracks = describe(cfg, &plans);
    let total = tracks.len() + 1;
    let done = Mutex::new(0usize);
    let tick = || {
        let mut d = done.lock().unwrap_or_else(|e| e.into_inner());
        *d += 1;
        progress(*d, total);
    };
    progress(0, total);

    let (applied, reference) = rayon::join(
        || {
            plans
                .par_iter()
                .zip(tracks.par_iter())
                .map(|(plan, t)| {
                    let r = render_track(plan, &ctx, &out_dir.join(&t.file), t);
                    tick();
                    r
                })
                .collect::<Result<Vec<f64>, GenerateError>>()
        },
        || {
            let r = reference::render(cfg.seed, &ctx.song, cfg.seconds, &reference_path);
            tick();
            r
        },
    );
    let applied = applied?;
    let reference_tempo_bpm = reference?;
    for (t, a) in tracks.iter_mut().zip(applied) {
        t.mislevel_db = a;
    }

    let info = session::ProjectInfo {
        sample_rate: cfg.sample_rate,
        bpm: tempo_bpm,
        length_s,
        seed: cfg.seed,
    };
    let session_path = out_dir.join(SESSION_FILE);
    let bytes = session::document(&tracks, &info).to_bytes();
    std::fs::write(&session_path, bytes)
        .map_err(GenerateError::io(&session_path, "cannot write session"))?;

    Ok(GenerateReport {
        session: session_path,
        reference: reference_path,
        tracks,
        tempo_bpm,
        key,
        reference_tempo_bpm,
    })
}

/// The report entries before rendering: names, files, folders, pans, and
/// the drawn level errors.
fn describe(cfg: &GenerateConfig, plans: &[instruments::TrackPlan]) -> Vec<GeneratedTrack> {
    let width = cfg.tracks.to_string().len().max(2);
    let members = |folder: &str| {
        plans
            .iter()
            .filter(|p| p.instrument.folder() == Some(folder))
            .count()
    };
    plans
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let folder = p
                .instrument
                .folder()
                .filter(|f| cfg.folders && members(f) >= 2)
                .map(str::to_owned);
            let mut r = rng::Rng::stream(p.seed, MISLEVEL_STREAM);
            let (lo, hi) = MISLEVEL_RANGE_DB;
            // Tenths of a dB: readable, and exact in reports.
            let mislevel_db = (r.range(lo, hi) * 10.0).round() / 10.0;
            let file =
                Path::new(AUDIO_DIR).join(format!("{:0width$} {}.wav", i + 1, file_safe(&p.name)));
            GeneratedTrack {
                name: p.name.clone(),
                instrument: p.instrument,
                file,
                folder,
                mislevel_db,
                nominal_lufs: p.instrument.nominal_lufs(),
                pan: p.pan,
                channels: p.channels,
            }
        })
        .collect()
}

/// A track name as a portable file name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Peak headroom kept below [`PEAK_LIMIT_DBFS`] so float rounding of the
/// rescale can never cross it.
const PEAK_MARGIN_DB: f64 = 0.05;

/// Renders one track to `path` and levels it; returns the applied error.
fn render_track(
    plan: &instruments::TrackPlan,
    ctx: &instruments::Context,
    path: &Path,
    t: &GeneratedTrack,
) -> Result<f64, GenerateError> {
    let sr = ctx.song.sr as u32;
    let channels = usize::from(plan.channels);
    let spec = hound::WavSpec {
        channels: plan.channels,
        sample_rate: sr,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let werr = |e| GenerateError::wav(path, e);
    let mut writer = hound::WavWriter::create(path, spec).map_err(werr)?;
    let mut meter = loudness_meter(channels, sr, path)?;
    let mut renderer = instruments::build(plan, ctx);
    let block = sr as usize;
    let mut bufs = vec![vec![0.0f32; block]; channels];
    let mut inter = Vec::with_capacity(block * channels);
    let len = ctx.song.len as usize;
    let mut pos = 0;
    while pos < len {
        let n = block.min(len - pos);
        renderer.render(&mut bufs, n);
        inter.clear();
        for i in 0..n {
            for b in &bufs {
                inter.push(b[i]);
            }
        }
        meter
            .add_frames_f32(&inter)
            .map_err(|e| GenerateError::loudness(path, e))?;
        for &s in &inter {
            writer.write_sample(s).map_err(werr)?;
        }
        pos += n;
    }
    writer.finalize().map_err(werr)?;

    let lufs = meter
        .loudness_global()
        .map_err(|e| GenerateError::loudness(path, e))?;
    let mut peak_db = 20.0 * sample_peak(&meter, channels, path)?.max(1e-12).log10();
    let target = t.nominal_lufs + t.mislevel_db;
    // Every part plays within its first second (see `song`), so a track is
    // never silent; should one be, level it by its peak (a typical crest
    // factor of 14 dB) rather than divide by nothing.
    let measured = if lufs.is_finite() {
        lufs
    } else {
        peak_db - 14.0
    };
    let mut gain_db = target - measured;
    let mut applied = t.mislevel_db;
    // BS.1770's absolute gate (−70 LUFS) does not move with the gain, so
    // after a large gain change quiet blocks (note tails, breaths) can cross
    // it and the scaled file reads slightly off the prediction. The rescale
    // pass measures the result and a further pass corrects it, so the
    // recorded error is what a meter reads on the file.
    for _ in 0..4 {
        let over = peak_db + gain_db - (PEAK_LIMIT_DBFS - PEAK_MARGIN_DB);
        if over > 0.0 {
            gain_db -= over;
            applied -= over;
        }
        let (got, peak) = scale_float_wav(path, dsp::db(gain_db) as f32, channels, sr)?;
        peak_db = 20.0 * peak.max(1e-12).log10();
        let err = t.nominal_lufs + applied - got;
        if !got.is_finite() || err.abs() < 0.005 {
            break;
        }
        gain_db = err;
    }
    Ok(applied)
}

/// The largest sample magnitude the meter has seen, over all channels.
fn sample_peak(
    meter: &ebur128::EbuR128,
    channels: usize,
    path: &Path,
) -> Result<f64, GenerateError> {
    let mut peak = 0.0f64;
    for ch in 0..channels {
        let p = meter
            .sample_peak(ch as u32)
            .map_err(|e| GenerateError::loudness(path, e))?;
        peak = peak.max(p);
    }
    Ok(peak)
}

/// Multiplies every sample of a 32-bit float WAV file by `gain`, in place,
/// and returns the result's integrated loudness and sample peak.
fn scale_float_wav(
    path: &Path,
    gain: f32,
    channels: usize,
    sr: u32,
) -> Result<(f64, f64), GenerateError> {
    let err = GenerateError::io;
    let mut meter = loudness_meter(channels, sr, path)?;
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(err(path, "cannot reopen to set its level"))?;
    let (start, len) = find_data_chunk(&mut f).map_err(err(path, "cannot read back"))?;
    // A whole number of frames per chunk.
    let frame = 4 * channels;
    let mut buf = vec![0u8; (1 << 16) / frame * frame];
    let mut samples = Vec::with_capacity(buf.len() / 4);
    let mut off = 0u64;
    while off < len {
        let n = (buf.len() as u64).min(len - off) as usize / frame * frame;
        if n == 0 {
            break;
        }
        let chunk = &mut buf[..n];
        f.seek(SeekFrom::Start(start + off))
            .and_then(|_| f.read_exact(chunk))
            .map_err(err(path, "cannot read back"))?;
        samples.clear();
        // Index arithmetic rather than `chunks_exact`: this loop touches
        // every sample of every file and must stay cheap in debug builds.
        let mut i = 0;
        while i < n {
            let v = f32::from_le_bytes([chunk[i], chunk[i + 1], chunk[i + 2], chunk[i + 3]]) * gain;
            let b = v.to_le_bytes();
            chunk[i] = b[0];
            chunk[i + 1] = b[1];
            chunk[i + 2] = b[2];
            chunk[i + 3] = b[3];
            samples.push(v);
            i += 4;
        }
        meter
            .add_frames_f32(&samples)
            .map_err(|e| GenerateError::loudness(path, e))?;
        f.seek(SeekFrom::Start(start + off))
            .and_then(|_| f.write_all(chunk))
            .map_err(err(path, "cannot write"))?;
        off += n as u64;
    }
    f.flush().map_err(err(path, "cannot write"))?;
    let lufs = meter
        .loudness_global()
        .map_err(|e| GenerateError::loudness(path, e))?;
    Ok((lufs, sample_peak(&meter, channels, path)?))
}

/// Offset and length of a RIFF/WAVE file's `data` chunk.
fn find_data_chunk(f: &mut std::fs::File) -> std::io::Result<(u64, u64)> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a RIFF/WAVE file");
    let mut head = [0u8; 12];
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(&mut head)?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err(bad());
    }
    let mut pos = 12u64;
    loop {
        let mut ch = [0u8; 8];
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(&mut ch)?;
        let size = u64::from(u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]));
        if &ch[0..4] == b"data" {
            return Ok((pos + 8, size));
        }
        // Chunks are padded to even sizes.
        pos += 8 + size + (size & 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_ranges_are_checked() {
        assert!(GenerateConfig::default().validate().is_ok());
        for bad in [
            GenerateConfig {
                tracks: 0,
                ..Default::default()
            },
            GenerateConfig {
                tracks: 257,
                ..Default::default()
            },
            GenerateConfig {
                seconds: 0.5,
                ..Default::default()
            },
            GenerateConfig {
                seconds: f64::NAN,
                ..Default::default()
            },
            GenerateConfig {
                sample_rate: 8000,
                ..Default::default()
            },
        ] {
            assert!(matches!(bad.validate(), Err(GenerateError::Config(_))));
        }
    }

    #[test]
    fn file_names_are_portable() {
        assert_eq!(file_safe("OH L/R"), "OH L_R");
        assert_eq!(file_safe("Gtr 3"), "Gtr 3");
    }
}
