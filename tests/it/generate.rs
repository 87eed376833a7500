//! `premix::generate`: the synthetic session generator. Determinism, file
//! shapes, levels against the recorded truth, the RPP's structure, and
//! signal checks that would catch a broken synthesiser.
//!
//! Most checks share one 24-track, 4-second session: at 100 BPM, the
//! slowest tempo, that still holds the lead vocal's first line and breath.

use premix::generate::{
    generate, GenerateConfig, GenerateError, GenerateReport, GeneratedTrack, Instrument,
    MISLEVEL_RANGE_DB, PEAK_LIMIT_DBFS, REFERENCE_LUFS,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SR: u32 = 48_000;
const SECONDS: f64 = 4.0;

fn no_progress(_: usize, _: usize) {}

/// The shared session, generated once per test process. Its folder is
/// per process, because other test runs may share this checkout; folders
/// that earlier runs left behind are removed once they are an hour old.
fn shared() -> &'static (PathBuf, GenerateReport) {
    static SHARED: OnceLock<(PathBuf, GenerateReport)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let prefix = "generate-shared-";
        if let Ok(entries) = std::fs::read_dir(&base) {
            for e in entries.flatten() {
                let stale = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age.as_secs() > 3600);
                if stale && e.file_name().to_string_lossy().starts_with(prefix) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = GenerateConfig {
            tracks: 24,
            seconds: SECONDS,
            sample_rate: SR,
            seed: 1,
            folders: true,
        };
        let report = generate(&cfg, &dir, &no_progress).expect("generate");
        (dir, report)
    })
}

fn track<'a>(report: &'a GenerateReport, name: &str) -> &'a GeneratedTrack {
    report
        .tracks
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no track {name}"))
}

/// A WAV file as one Vec per channel.
fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<f32>>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = usize::from(spec.channels);
    let mut out = vec![Vec::new(); ch];
    for (i, s) in r.samples::<f32>().enumerate() {
        out[i % ch].push(s.expect("sample"));
    }
    (spec, out)
}

fn lufs(chans: &[Vec<f32>], sr: u32) -> f64 {
    let mut m = ebur128::EbuR128::new(chans.len() as u32, sr, ebur128::Mode::I).unwrap();
    let planar: Vec<&[f32]> = chans.iter().map(|c| c.as_slice()).collect();
    m.add_frames_planar_f32(&planar).unwrap();
    m.loudness_global().unwrap()
}

fn peak_dbfs(chans: &[Vec<f32>]) -> f64 {
    let p = chans.iter().flatten().fold(0.0f32, |p, x| p.max(x.abs()));
    20.0 * f64::from(p).log10()
}

/// Fraction of the signal's energy between `lo` and `hi` Hz (one FFT over
/// the whole signal: these are spectral-balance checks, not analysis).
fn energy_fraction(x: &[f32], sr: u32, lo: f64, hi: f64) -> f64 {
    use rustfft::num_complex::Complex;
    let n = x.len().next_power_of_two();
    let mut buf: Vec<Complex<f64>> = (0..n)
        .map(|i| Complex::new(x.get(i).map_or(0.0, |&v| f64::from(v)), 0.0))
        .collect();
    rustfft::FftPlanner::new()
        .plan_fft_forward(n)
        .process(&mut buf);
    let (mut band, mut total) = (0.0, 0.0);
    for (k, c) in buf.iter().enumerate().take(n / 2).skip(1) {
        let f = k as f64 * f64::from(sr) / n as f64;
        let e = c.norm_sqr();
        total += e;
        if (lo..hi).contains(&f) {
            band += e;
        }
    }
    band / total
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn same_config_gives_identical_bytes_and_another_seed_does_not() {
    // Every instrument, at a low rate to keep the test quick: determinism
    // does not depend on the rate.
    let cfg = GenerateConfig {
        tracks: 24,
        seconds: 2.0,
        sample_rate: 22_050,
        seed: 42,
        folders: true,
    };
    let (a, b, c) = (
        super::util::tempdir(),
        super::util::tempdir(),
        super::util::tempdir(),
    );
    let ra = generate(&cfg, a.path(), &no_progress).unwrap();
    let rb = generate(&cfg, b.path(), &no_progress).unwrap();
    assert_eq!(ra.tracks, rb.tracks);
    let files = all_files(a.path());
    assert_eq!(files, all_files(b.path()));
    // 24 tracks, the reference, the session.
    assert_eq!(files.len(), 26);
    for f in &files {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        assert!(x == y, "{} differs between two runs", f.display());
    }
    let other = GenerateConfig { seed: 43, ..cfg };
    let rc = generate(&other, c.path(), &no_progress).unwrap();
    let kick = |dir: &Path, r: &GenerateReport| std::fs::read(dir.join(&r.tracks[0].file)).unwrap();
    assert_ne!(
        kick(a.path(), &ra),
        kick(c.path(), &rc),
        "seed must change the audio"
    );
}

#[test]
fn progress_counts_every_track_and_the_reference() {
    let dir = super::util::tempdir();
    let calls = std::sync::Mutex::new(Vec::new());
    let cfg = GenerateConfig {
        tracks: 3,
        seconds: 1.0,
        sample_rate: 22_050,
        ..Default::default()
    };
    generate(&cfg, dir.path(), &|d, t| calls.lock().unwrap().push((d, t))).unwrap();
    let calls = calls.into_inner().unwrap();
    assert_eq!(calls, vec![(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]);
}

#[test]
fn every_wav_reads_with_the_expected_length_and_channels() {
    let (dir, report) = shared();
    let frames = (SECONDS * f64::from(SR)) as usize;
    for t in &report.tracks {
        let (spec, chans) = read_wav(&dir.join(&t.file));
        assert_eq!(spec.channels, t.channels, "{}", t.name);
        assert_eq!(spec.sample_rate, SR);
        assert_eq!(spec.sample_format, hound::SampleFormat::Float);
        assert_eq!(chans[0].len(), frames, "{}", t.name);
        assert!(chans.iter().flatten().all(|x| x.is_finite()), "{}", t.name);
        assert!(t.file.starts_with("audio"), "{}", t.file.display());
    }
    let (spec, chans) = read_wav(&report.reference);
    assert_eq!(spec.channels, 2);
    assert_eq!(chans[0].len(), frames);
}

#[test]
fn levels_are_nominal_plus_the_recorded_error_and_nothing_clips() {
    let (dir, report) = shared();
    let (lo, hi) = MISLEVEL_RANGE_DB;
    let mut errors = Vec::new();
    for t in &report.tracks {
        let (_, chans) = read_wav(&dir.join(&t.file));
        let l = lufs(&chans, SR);
        // The gain is computed from this very measurement on the unscaled
        // file; only float rounding separates them.
        assert!(
            (l - (t.nominal_lufs + t.mislevel_db)).abs() < 0.05,
            "{}: {l:.2} LUFS, expected {:.2} + {:.2}",
            t.name,
            t.nominal_lufs,
            t.mislevel_db
        );
        let p = peak_dbfs(&chans);
        assert!(p <= PEAK_LIMIT_DBFS, "{}: peak {p:.2} dBFS", t.name);
        // The error can only have been lowered (to avoid clipping).
        assert!(
            t.mislevel_db <= hi + 1e-9 && t.mislevel_db >= lo - 30.0,
            "{}",
            t.name
        );
        errors.push(t.mislevel_db);
    }
    // The errors are spread, not constant.
    let min = errors.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = errors.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(max - min > 6.0, "errors {min}..{max}");
}

#[test]
fn levels_agree_with_pyloudnorm() {
    // An independent BS.1770 implementation reads the recorded truth too.
    let Some(py) = super::util::python_with(&["pyloudnorm", "soundfile"]) else {
        return;
    };
    let (dir, report) = shared();
    let script = "import sys, soundfile as sf, pyloudnorm as pyln\n\
                  for f in sys.argv[1:]:\n\
                  \x20   x, sr = sf.read(f, always_2d=True)\n\
                  \x20   print(pyln.Meter(sr).integrated_loudness(x))\n";
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .args(report.tracks.iter().map(|t| dir.join(&t.file)))
        .arg(&report.reference)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a number"))
        .collect();
    assert_eq!(values.len(), report.tracks.len() + 1);
    for (t, l) in report.tracks.iter().zip(&values) {
        // pyloudnorm and libebur128 differ by a few hundredths of a LU
        // (filter coefficients, block edges).
        let want = t.nominal_lufs + t.mislevel_db;
        assert!(
            (l - want).abs() < 0.15,
            "{}: pyloudnorm {l:.2}, expected {want:.2}",
            t.name
        );
    }
    let r = values[report.tracks.len()];
    assert!(
        (r - REFERENCE_LUFS).abs() < 0.5,
        "reference: pyloudnorm {r:.2}"
    );
}

#[test]
fn twenty_four_tracks_cover_every_instrument_with_real_names() {
    let (_, report) = shared();
    let have: BTreeSet<&str> = report.tracks.iter().map(|t| t.instrument.name()).collect();
    for i in Instrument::ALL {
        assert!(have.contains(i.name()), "no {} track", i.name());
    }
    for name in [
        "Kick In",
        "Snare Top",
        "HH",
        "Overheads",
        "Bass DI",
        "Gtr L",
        "Gtr R",
        "Keys",
        "Lead Vox",
        "BV 1",
        "BV 2",
        "Strings",
    ] {
        track(report, name);
    }
    assert_eq!(track(report, "Overheads").channels, 2);
    assert_eq!(track(report, "Kick In").channels, 1);
    assert_eq!(track(report, "Kick In").folder.as_deref(), Some("Drums"));
    assert_eq!(track(report, "BV 2").folder.as_deref(), Some("Vocals"));
    assert_eq!(track(report, "Bass DI").folder, None);
}

#[test]
fn session_parses_round_trips_and_has_balanced_folders() {
    let (dir, report) = shared();
    let bytes = std::fs::read(&report.session).unwrap();
    assert!(!bytes.contains(&b'\r'), "LF line endings");
    let doc = premix_rpp::Document::parse(&bytes).unwrap();
    assert_eq!(doc.to_bytes(), bytes);
    let project = doc.project().unwrap();
    assert_eq!(project.line("SAMPLERATE").unwrap().get(1), Some("48000"));
    let tempo = project.line("TEMPO").unwrap().get_f64(1).unwrap();
    assert_eq!(tempo, report.tempo_bpm);
    assert!((100.0..=130.0).contains(&tempo));
    assert_eq!(project.value("MASTER_VOLUME"), Some("1"));

    let tracks: Vec<_> = project.blocks("TRACK").collect();
    assert_eq!(
        tracks.len(),
        report.tracks.len() + 2,
        "24 tracks and two folders"
    );
    let is_guid = |s: &str| {
        s.len() == 38
            && s.starts_with('{')
            && s.ends_with('}')
            && s[1..37].char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_digit() || ('A'..='F').contains(&c)
                }
            })
    };
    let mut guids = BTreeSet::new();
    let mut depth = 0i64;
    let mut audio = report.tracks.iter();
    let mut folders = Vec::new();
    for tb in &tracks {
        let id = tb.param(0).unwrap();
        assert!(is_guid(id), "{id}");
        assert_eq!(tb.value("TRACKID"), Some(id));
        assert!(guids.insert(id.to_owned()), "duplicate GUID");
        let isbus = tb.line("ISBUS").unwrap();
        let (a, b) = (isbus.get_f64(1).unwrap(), isbus.get_f64(2).unwrap() as i64);
        depth += b;
        assert!(depth >= 0, "folder depth went negative");
        if a == 1.0 {
            folders.push(tb.value("NAME").unwrap().to_owned());
            assert!(tb.block("ITEM").is_none(), "folder tracks have no items");
            continue;
        }
        let t = audio.next().expect("more TRACKs than audio tracks");
        assert_eq!(tb.value("NAME"), Some(t.name.as_str()));
        assert_eq!(tb.line("VOLPAN").unwrap().get_f64(2), Some(t.pan));
        let item = tb.block("ITEM").expect("item");
        assert_eq!(item.value("POSITION"), Some("0"));
        assert_eq!(item.line("LENGTH").unwrap().get_f64(1), Some(SECONDS));
        assert!(is_guid(item.value("GUID").unwrap()));
        let src = item.block("SOURCE").unwrap();
        assert_eq!(src.param(0), Some("WAVE"));
        let file = src.value("FILE").unwrap();
        assert_eq!(Path::new(file), t.file);
        assert!(dir.join(file).is_file());
    }
    assert!(audio.next().is_none());
    assert_eq!(depth, 0, "folders are closed");
    assert_eq!(folders, ["Drums", "Vocals"]);

    // premix's own reader sees the same structure and finds every file.
    let s = premix::session::read(&report.session).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(s.tracks.iter().filter(|t| t.is_folder).count(), 2);
    let kick = s.tracks.iter().find(|t| t.name == "Kick In").unwrap();
    assert_eq!(kick.folder_depth, 1);
    assert!(kick.clips[0].resolved());
    let bass = s.tracks.iter().find(|t| t.name == "Bass DI").unwrap();
    assert_eq!(bass.folder_depth, 0);
}

#[test]
fn bass_energy_is_mostly_below_250_hz() {
    let (dir, report) = shared();
    let (_, chans) = read_wav(&dir.join(&track(report, "Bass DI").file));
    let f = energy_fraction(&chans[0], SR, 0.0, 250.0);
    assert!(
        f > 0.8,
        "only {:.0}% of the bass energy below 250 Hz",
        f * 100.0
    );
}

#[test]
fn hats_energy_is_mostly_above_5_khz() {
    let (dir, report) = shared();
    let (_, chans) = read_wav(&dir.join(&track(report, "HH").file));
    let f = energy_fraction(&chans[0], SR, 5000.0, 24_000.0);
    assert!(
        f > 0.8,
        "only {:.0}% of the hat energy above 5 kHz",
        f * 100.0
    );
}

#[test]
fn kick_energy_is_low_and_onsets_fall_on_the_sixteenth_grid() {
    let (dir, report) = shared();
    let (_, chans) = read_wav(&dir.join(&track(report, "Kick In").file));
    let x = &chans[0];
    assert!(energy_fraction(x, SR, 0.0, 200.0) > 0.6);
    // Onsets: 2 ms frames whose peak rises above −12 dB of the track's
    // peak after at least 60 ms below it.
    let hop = 96;
    let env: Vec<f32> = x
        .chunks(hop)
        .map(|c| c.iter().fold(0.0f32, |p, v| p.max(v.abs())))
        .collect();
    let top = env.iter().cloned().fold(0.0, f32::max);
    let mut onsets = Vec::new();
    let mut quiet = usize::MAX / 2;
    for (i, &e) in env.iter().enumerate() {
        if e > top * 0.25 {
            if quiet >= 30 {
                onsets.push(i as f64 * hop as f64 / f64::from(SR));
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    let step = 60.0 / report.tempo_bpm / 4.0;
    let bars = SECONDS / (16.0 * step);
    assert!(
        onsets.len() as f64 >= 1.8 * bars.floor(),
        "{} kicks in {bars:.1} bars",
        onsets.len()
    );
    for t in &onsets {
        let off = t - (t / step).round() * step;
        // Humanisation ±3 ms, the 2 ms frame, the attack: 10 ms.
        assert!(
            off.abs() < 0.010,
            "kick at {t:.3} s is {:.1} ms off the grid",
            off * 1e3
        );
    }
}

#[test]
fn lead_vocal_has_gaps_and_a_sung_pitch() {
    let (dir, report) = shared();
    let (_, chans) = read_wav(&dir.join(&track(report, "Lead Vox").file));
    let x = &chans[0];
    let frame = SR as usize / 50;
    let rms: Vec<f32> = x
        .chunks(frame)
        .map(|c| (c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32).sqrt())
        .collect();
    let top = rms.iter().cloned().fold(0.0, f32::max);
    let first = rms.iter().position(|&r| r > top * 0.1).unwrap();
    // A breath: at least 200 ms at −40 dB or less after singing started,
    // followed by more singing or the end.
    let mut run = 0;
    let mut longest = 0;
    for &r in &rms[first..] {
        if r < top * 0.01 {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    assert!(longest >= 10, "longest gap {} ms", longest * 20);
    assert!(first * 20 < 1000, "singing starts at {} ms", first * 20);

    // Pitch by autocorrelation in the ten loudest frames (43 ms windows,
    // short enough that vibrato barely smears the period); the smallest lag
    // within 10 % of the best, so subharmonics do not win. Consonants and
    // note changes may make a frame aperiodic, but most must be sung.
    let mut order: Vec<usize> = (0..rms.len()).collect();
    order.sort_by(|&a, &b| rms[b].total_cmp(&rms[a]));
    let mut pitches = Vec::new();
    for &f in order.iter().take(10) {
        let start = (f * frame).min(x.len() - 2048);
        let seg = &x[start..start + 2048];
        let energy: f32 = seg[..1024].iter().map(|v| v * v).sum();
        let ac = |lag: usize| (0..1024).map(|i| seg[i] * seg[i + lag]).sum::<f32>() / energy;
        let lags = (SR as usize / 500)..=(SR as usize / 100);
        let best = lags.clone().map(ac).fold(f32::MIN, f32::max);
        if best > 0.5 {
            let lag = lags.clone().find(|&l| ac(l) >= 0.9 * best).unwrap();
            pitches.push(f64::from(SR) / lag as f64);
        }
    }
    assert!(
        pitches.len() >= 7,
        "only {} of 10 loud frames periodic",
        pitches.len()
    );
    pitches.sort_by(f64::total_cmp);
    let hz = pitches[pitches.len() / 2];
    assert!((100.0..=500.0).contains(&hz), "vocal pitch {hz:.0} Hz");
}

#[test]
fn stereo_tracks_are_stereo_and_instances_differ() {
    let (dir, report) = shared();
    for name in [
        "Overheads",
        "Room",
        "Pad",
        "Keys",
        "Strings",
        "Ac Gtr",
        "FX",
    ] {
        let (_, c) = read_wav(&dir.join(&track(report, name).file));
        let dot: f64 = c[0].iter().zip(&c[1]).map(|(a, b)| f64::from(a * b)).sum();
        let e = |v: &[f32]| v.iter().map(|a| f64::from(a * a)).sum::<f64>();
        let corr = dot / (e(&c[0]) * e(&c[1])).sqrt();
        assert!(corr < 0.98, "{name}: L/R correlation {corr:.3}");
    }
    for (a, b) in [("Gtr L", "Gtr R"), ("BV 1", "BV 2"), ("Tom 1", "Tom 2")] {
        let (_, x) = read_wav(&dir.join(&track(report, a).file));
        let (_, y) = read_wav(&dir.join(&track(report, b).file));
        assert_ne!(x, y, "{a} and {b} are identical");
    }
}

#[test]
fn reference_mix_is_mastered_wide_and_other_music() {
    let (_, report) = shared();
    let (spec, c) = read_wav(&report.reference);
    assert_eq!(spec.channels, 2);
    let l = lufs(&c, SR);
    assert!((l - REFERENCE_LUFS).abs() < 0.5, "reference at {l:.2} LUFS");
    let p = peak_dbfs(&c);
    assert!(p <= -0.99, "reference peak {p:.2} dBFS");
    let (mut mid, mut side) = (0.0, 0.0);
    for (a, b) in c[0].iter().zip(&c[1]) {
        mid += f64::from((a + b) * (a + b));
        side += f64::from((a - b) * (a - b));
    }
    assert!(side / mid > 0.02, "reference width {:.3}", side / mid);
    assert!((report.reference_tempo_bpm - report.tempo_bpm).abs() >= 8.0);
}

#[test]
fn short_sessions_have_no_silent_track() {
    // One second is the shortest session: every part must have played.
    let dir = super::util::tempdir();
    let cfg = GenerateConfig {
        tracks: 24,
        seconds: 1.0,
        sample_rate: 22_050,
        seed: 5,
        folders: false,
    };
    let report = generate(&cfg, dir.path(), &no_progress).unwrap();
    for t in &report.tracks {
        let (_, chans) = read_wav(&dir.path().join(&t.file));
        let l = lufs(&chans, 22_050);
        assert!(
            (l - (t.nominal_lufs + t.mislevel_db)).abs() < 0.05,
            "{}: {l}",
            t.name
        );
    }
    let text = std::fs::read_to_string(&report.session).unwrap();
    assert!(!text.contains("ISBUS 1 1"), "no folders when disabled");
    assert!(report.tracks.iter().all(|t| t.folder.is_none()));
}

#[test]
fn a_hundred_tracks_have_unique_names_and_few_tracks_cover_the_band() {
    let dir = super::util::tempdir();
    let cfg = GenerateConfig {
        tracks: 100,
        seconds: 1.0,
        sample_rate: 22_050,
        seed: 9,
        folders: true,
    };
    let report = generate(&cfg, dir.path(), &no_progress).unwrap();
    assert_eq!(report.tracks.len(), 100);
    let names: BTreeSet<&str> = report.tracks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), 100, "names are unique");
    let files: BTreeSet<&Path> = report.tracks.iter().map(|t| t.file.as_path()).collect();
    assert_eq!(files.len(), 100);
    assert!(report.tracks[0]
        .file
        .to_string_lossy()
        .starts_with("audio/001 "));
    for n in ["Gtr 3", "BV 3", "Perc 2", "Synth 2", "Tom 3"] {
        assert!(names.contains(n), "no {n}");
    }
    for t in &report.tracks {
        assert!(dir.path().join(&t.file).is_file());
    }
    let doc = premix_rpp::Document::read(&report.session).unwrap();
    assert_eq!(doc.project().unwrap().blocks("TRACK").count(), 102);

    let small = super::util::tempdir();
    let cfg = GenerateConfig {
        tracks: 4,
        seconds: 1.0,
        sample_rate: 22_050,
        seed: 9,
        folders: true,
    };
    let report = generate(&cfg, small.path(), &no_progress).unwrap();
    let classes: Vec<Instrument> = report.tracks.iter().map(|t| t.instrument).collect();
    assert_eq!(
        classes,
        [
            Instrument::Kick,
            Instrument::Bass,
            Instrument::Piano,
            Instrument::LeadVocal
        ]
    );
}

#[test]
fn invalid_configurations_are_refused_before_writing() {
    let dir = super::util::tempdir();
    let out = dir.path().join("out");
    let cfg = GenerateConfig {
        tracks: 0,
        ..Default::default()
    };
    let err = generate(&cfg, &out, &no_progress).unwrap_err();
    assert!(matches!(err, GenerateError::Config(_)));
    assert!(err.to_string().contains("tracks"), "{err}");
    assert!(!out.exists());
}

#[test]
fn errors_name_the_file() {
    let dir = super::util::tempdir();
    // A file where the audio folder should be.
    std::fs::write(dir.path().join("audio"), b"").unwrap();
    let cfg = GenerateConfig {
        tracks: 1,
        seconds: 1.0,
        ..Default::default()
    };
    let err = generate(&cfg, dir.path(), &no_progress).unwrap_err();
    assert!(err.to_string().contains("audio"), "{err}");
}
