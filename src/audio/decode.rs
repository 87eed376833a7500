//! Decoding a media file (WAV, AIFF, FLAC, MP3, OGG Vorbis) into planar
//! `f32`, at most stereo.
//!
//! Decoding streams packet by packet from the file (nothing reads the whole
//! file into memory first); the decoded samples are appended to the output
//! planes, already folded to at most two channels, so a 6-channel file costs
//! the memory of a stereo one.
//!
//! # Channel folding (more than two channels)
//! Files with three or more channels are folded to stereo, ITU-R BS.775
//! style, and a warning says so:
//! * with speaker positions (WAVE_FORMAT_EXTENSIBLE mask, FLAC/Vorbis
//!   layouts): front left/right go to left/right at unity gain; centre
//!   channels go to both sides at −3 dB (×0.7071); every other left-side
//!   channel (surround, side, wide, top, bottom) goes to the left at −3 dB
//!   and its right-side twin to the right; LFE channels are dropped, as
//!   BS.1770 drops them from loudness;
//! * without positions (discrete channels): channels 0 and 1 are left and
//!   right at unity, and the others alternate left, right, left, … at −3 dB.
//!
//! Mono stays mono and stereo stays stereo (whatever positions they carry).
//!
//! # Odd input
//! * A file that cannot be probed (empty, unknown format, wrong content) or
//!   whose packets fail to decode is a [`DecodeError`] naming the file.
//! * A truncated file (fewer frames than its header promises) is an error.
//! * Non-finite samples (NaN, ±inf in float files) are replaced by silence
//!   and counted in a warning.
//! * An extension that disagrees with the content is decoded by content, with
//!   a warning.

use super::Buffer;
use std::fs::File;
use std::path::{Path, PathBuf};
use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// −3 dB, the fold-down gain for centre and surround channels (BS.775).
const FOLD_GAIN: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// A decoded file.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The samples at the file's own rate, one or two planes.
    pub buffer: Buffer,
    /// Channels in the file before folding.
    pub source_channels: usize,
    /// The container as Symphonia names it (`wave`, `flac`, `mp3`, ...).
    pub format: &'static str,
    /// Things that were handled but should be reported (folding, NaNs, ...).
    pub warnings: Vec<String>,
}

/// Why a file could not be decoded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("{path}: empty file (0 bytes)")]
    Empty { path: PathBuf },
    /// No supported container was recognised.
    #[error("{path}: not a supported audio file ({message})")]
    Unrecognised { path: PathBuf, message: String },
    /// The container holds no decodable audio track.
    #[error("{path}: no decodable audio track ({message})")]
    NoAudio { path: PathBuf, message: String },
    /// The data is malformed.
    #[error("{path}: corrupt audio data ({message})")]
    Corrupt { path: PathBuf, message: String },
    /// The file ends before the length its header states.
    #[error(
        "{path}: truncated: the header promises {expected} frames, only {decoded} could be decoded"
    )]
    Truncated {
        path: PathBuf,
        expected: u64,
        decoded: u64,
    },
}

/// Decodes a whole file to at most two planes at its own sample rate.
pub fn decode_file(path: &Path) -> Result<Decoded, DecodeError> {
    let io_err = |source| DecodeError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    if len == 0 {
        return Err(DecodeError::Empty {
            path: path.to_owned(),
        });
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if let Some(ext) = &ext {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| DecodeError::Unrecognised {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    let format_name = format.format_info().short_name;
    let mut warnings = Vec::new();
    if let Some(ext) = &ext {
        if !extension_matches(ext, format_name) {
            warnings.push(format!(
                "{}: the extension says .{ext} but the content is {format_name}; decoded by content",
                path.display()
            ));
        }
    }

    let no_audio = |message: &str| DecodeError::NoAudio {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| no_audio("no audio track"))?;
    let track_id = track.id;
    let expected_frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| no_audio("no audio codec parameters"))?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| no_audio(&e.to_string()))?;
    let mut sample_rate = params.sample_rate.unwrap_or(0);
    let mut fold: Option<Fold> = params.channels.as_ref().map(Fold::new);

    let corrupt = |message: String| DecodeError::Corrupt {
        path: path.to_owned(),
        message,
    };
    let mut planes: Vec<Vec<f32>> = Vec::new();
    if let Some(n) = expected_frames {
        // Reserve what the header promises, capped so a lying header cannot
        // make us allocate gigabytes up front: no format here stores more
        // than a few frames per byte except near-silent FLAC, which then
        // grows its vector as usual.
        let cap = n.min(len.saturating_mul(4)).min(48_000 * 3600 * 24) as usize;
        let out_ch = fold.as_ref().map_or(0, |f| f.out_channels);
        planes = (0..out_ch).map(|_| super::pool::take(cap)).collect();
    }
    let mut scratch: Vec<Vec<f32>> = Vec::new();
    let mut non_finite: u64 = 0;
    let mut hit_eof = false;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                hit_eof = true;
                break;
            }
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(corrupt(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                hit_eof = true;
                break;
            }
            Err(e) => return Err(corrupt(e.to_string())),
        };
        if decoded.frames() == 0 {
            continue;
        }
        if sample_rate == 0 {
            sample_rate = decoded.spec().rate();
        }
        let f = fold.get_or_insert_with(|| Fold::new(decoded.spec().channels()));
        decoded.copy_to_vecs_planar::<f32>(&mut scratch);
        if planes.len() != f.out_channels {
            planes = (0..f.out_channels).map(|_| Vec::new()).collect();
        }
        non_finite += f.apply(&scratch, &mut planes);
    }
    let decoded_frames = planes.first().map_or(0, Vec::len) as u64;
    if let Some(expected) = expected_frames {
        if decoded_frames < expected {
            return Err(DecodeError::Truncated {
                path: path.to_owned(),
                expected,
                decoded: decoded_frames,
            });
        }
    } else if hit_eof && decoded_frames == 0 {
        return Err(corrupt("the stream ends before any audio".into()));
    }
    if sample_rate == 0 {
        return Err(no_audio("unknown sample rate"));
    }
    let fold = fold.unwrap_or_else(|| Fold::new(&Channels::Discrete(1)));
    if planes.is_empty() {
        planes = vec![Vec::new(); fold.out_channels.max(1)];
    }
    if fold.source_channels > 2 {
        warnings.push(format!(
            "{}: {} channels folded to stereo ({})",
            path.display(),
            fold.source_channels,
            fold.describe()
        ));
    }
    if non_finite > 0 {
        warnings.push(format!(
            "{}: {non_finite} non-finite samples (NaN or infinity) replaced with silence",
            path.display()
        ));
    }
    for p in &mut planes {
        // A pooled vector may be larger than this file; give back the
        // excess only when it is large.
        if p.capacity() > p.len() + p.len() / 4 + (1 << 16) {
            p.shrink_to_fit();
        }
    }
    Ok(Decoded {
        buffer: Buffer::new(sample_rate, planes),
        source_channels: fold.source_channels,
        format: format_name,
        warnings,
    })
}

/// Whether a file extension is one the detected container normally uses.
fn extension_matches(ext: &str, format: &str) -> bool {
    let format = format.to_ascii_lowercase();
    let expected: &[&str] = match format.as_str() {
        "wave" | "wav" | "riff" => &["wav", "wave", "bwf", "w64", "rf64"],
        "aiff" => &["aif", "aiff", "aifc"],
        "flac" => &["flac"],
        "mp3" | "mpa" => &["mp3", "mp2", "mp1", "mpa"],
        "ogg" => &["ogg", "oga", "opus"],
        _ => return true,
    };
    expected.contains(&ext)
}

/// How source channels map onto the (at most two) output planes.
#[derive(Clone, Debug)]
struct Fold {
    source_channels: usize,
    out_channels: usize,
    /// Per source channel: (gain to left/mono, gain to right).
    gains: Vec<(f32, f32)>,
    positioned: bool,
}

impl Fold {
    fn new(channels: &Channels) -> Fold {
        let n = channels.count().max(1);
        if n <= 2 {
            let gains = if n == 1 {
                vec![(1.0, 0.0)]
            } else {
                vec![(1.0, 0.0), (0.0, 1.0)]
            };
            return Fold {
                source_channels: n,
                out_channels: n,
                gains,
                positioned: false,
            };
        }
        let gains = match channels {
            Channels::Positioned(mask) => {
                let left = Position::FRONT_LEFT;
                let right = Position::FRONT_RIGHT;
                let centre = Position::FRONT_CENTER
                    | Position::REAR_CENTER
                    | Position::TOP_CENTER
                    | Position::TOP_FRONT_CENTER
                    | Position::TOP_REAR_CENTER
                    | Position::BOTTOM_FRONT_CENTER;
                let lfe = Position::LFE1 | Position::LFE2;
                let lefts = Position::REAR_LEFT
                    | Position::FRONT_LEFT_CENTER
                    | Position::SIDE_LEFT
                    | Position::TOP_FRONT_LEFT
                    | Position::TOP_REAR_LEFT
                    | Position::TOP_SIDE_LEFT
                    | Position::BOTTOM_FRONT_LEFT
                    | Position::FRONT_LEFT_WIDE;
                let rights = Position::REAR_RIGHT
                    | Position::FRONT_RIGHT_CENTER
                    | Position::SIDE_RIGHT
                    | Position::TOP_FRONT_RIGHT
                    | Position::TOP_REAR_RIGHT
                    | Position::TOP_SIDE_RIGHT
                    | Position::BOTTOM_FRONT_RIGHT
                    | Position::FRONT_RIGHT_WIDE;
                // Planes come in ascending bit order of the mask.
                (0..64)
                    .filter_map(|bit| Position::from_bits(1u64 << bit))
                    .filter(|p| mask.contains(*p) && !p.is_empty())
                    .map(|p| {
                        if left.contains(p) {
                            (1.0, 0.0)
                        } else if right.contains(p) {
                            (0.0, 1.0)
                        } else if lfe.contains(p) {
                            (0.0, 0.0)
                        } else if centre.contains(p) {
                            (FOLD_GAIN, FOLD_GAIN)
                        } else if lefts.contains(p) {
                            (FOLD_GAIN, 0.0)
                        } else if rights.contains(p) {
                            (0.0, FOLD_GAIN)
                        } else {
                            (FOLD_GAIN, FOLD_GAIN)
                        }
                    })
                    .collect()
            }
            _ => (0..n)
                .map(|i| {
                    let g = if i < 2 { 1.0 } else { FOLD_GAIN };
                    if i % 2 == 0 {
                        (g, 0.0)
                    } else {
                        (0.0, g)
                    }
                })
                .collect(),
        };
        Fold {
            source_channels: n,
            out_channels: 2,
            gains,
            positioned: matches!(channels, Channels::Positioned(_)),
        }
    }

    fn describe(&self) -> &'static str {
        if self.positioned {
            "front L/R at unity, centre and surrounds at -3 dB, LFE dropped"
        } else {
            "channels 1/2 as L/R, the others alternating L/R at -3 dB"
        }
    }

    /// Appends one decoded packet to `out`; returns how many non-finite
    /// samples were replaced with zero.
    fn apply(&self, src: &[Vec<f32>], out: &mut [Vec<f32>]) -> u64 {
        let frames = src.first().map_or(0, Vec::len);
        let mut bad = 0u64;
        let clean = |x: f32, bad: &mut u64| {
            if x.is_finite() {
                x
            } else {
                *bad += 1;
                0.0
            }
        };
        if self.source_channels <= 2 {
            for (plane, dst) in src.iter().zip(out.iter_mut()) {
                dst.extend(plane.iter().map(|&x| clean(x, &mut bad)));
            }
            return bad;
        }
        let start = out[0].len();
        for dst in out.iter_mut() {
            dst.resize(start + frames, 0.0);
        }
        let (left, right) = out.split_at_mut(1);
        let (l, r) = (&mut left[0][start..], &mut right[0][start..]);
        for (plane, &(gl, gr)) in src.iter().zip(&self.gains) {
            for (i, &x) in plane.iter().enumerate() {
                let x = clean(x, &mut bad);
                l[i] += gl * x;
                r[i] += gr * x;
            }
        }
        bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_positioned_5_1_sends_centre_to_both_and_drops_lfe() {
        let mask = Position::FRONT_LEFT
            | Position::FRONT_RIGHT
            | Position::FRONT_CENTER
            | Position::LFE1
            | Position::REAR_LEFT
            | Position::REAR_RIGHT;
        let f = Fold::new(&Channels::Positioned(mask));
        assert_eq!(f.out_channels, 2);
        assert_eq!(
            f.gains,
            vec![
                (1.0, 0.0),
                (0.0, 1.0),
                (FOLD_GAIN, FOLD_GAIN),
                (0.0, 0.0),
                (FOLD_GAIN, 0.0),
                (0.0, FOLD_GAIN)
            ]
        );
        let src: Vec<Vec<f32>> = (0..6).map(|c| vec![c as f32 + 1.0]).collect();
        let mut out = vec![Vec::new(), Vec::new()];
        f.apply(&src, &mut out);
        // L = 1 + 0.7071·3 + 0.7071·5, R = 2 + 0.7071·3 + 0.7071·6.
        assert!((out[0][0] - (1.0 + FOLD_GAIN * 8.0)).abs() < 1e-6);
        assert!((out[1][0] - (2.0 + FOLD_GAIN * 9.0)).abs() < 1e-6);
    }

    #[test]
    fn fold_replaces_non_finite_samples() {
        let f = Fold::new(&Channels::Discrete(1));
        let mut out = vec![Vec::new()];
        let bad = f.apply(&[vec![0.5, f32::NAN, f32::INFINITY, -0.5]], &mut out);
        assert_eq!(bad, 2);
        assert_eq!(out[0], vec![0.5, 0.0, 0.0, -0.5]);
    }

    #[test]
    fn extension_check_accepts_usual_names() {
        assert!(extension_matches("wav", "wave"));
        assert!(extension_matches("aif", "aiff"));
        assert!(!extension_matches("mp3", "wave"));
    }
}
