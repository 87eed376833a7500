//! Stage 1 through `premix mix`: the within-group spread after balancing, stems
//! that are exact sums, and odd tracks that must not produce NaN or wild gains.

use crate::util::{premix_json, tempdir};
use premix::analysis::session::{analyze_session, RunOptions};
use premix::analysis::Config;
use premix::generate::{generate, GenerateConfig};
use serde_json::Value;
use std::path::Path;

fn mix(args: &[&str]) -> Value {
    premix_json(
        std::iter::once("mix")
            .chain(args.iter().copied())
            .chain(["--json"]),
    )
}

fn read_wav(p: &Path) -> (Vec<f32>, Vec<f32>) {
    let mut r = hound::WavReader::open(p).unwrap();
    let s: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    (
        s.iter().step_by(2).copied().collect(),
        s.iter().skip(1).step_by(2).copied().collect(),
    )
}

#[test]
fn generated_session_balances_within_groups_and_stems_are_exact_sums() {
    let tmp = tempdir();
    let dir = tmp.path();
    let cfg = GenerateConfig {
        tracks: 16,
        seconds: 6.0,
        seed: 3,
        ..GenerateConfig::default()
    };
    let report = generate(&cfg, dir, &|_, _| {}).unwrap();
    let session = report.session.to_str().unwrap();
    let out = dir.join("mixed.RPP");
    let stems = dir.join("stems");
    let preview = dir.join("preview.wav");
    let plan = mix(&[
        session,
        "-o",
        out.to_str().unwrap(),
        "--stems",
        stems.to_str().unwrap(),
        "--preview",
        preview.to_str().unwrap(),
    ]);

    // Re-analyse the written session: each balanced track's played refined
    // loudness (measured + new fader), less its role offset, must agree
    // within its group. The generator mis-levelled every track by a random
    // −12…+6 dB; stage 1 must undo that.
    let written = premix::session::read(&out).unwrap();
    let analysis = analyze_session(
        &written,
        &Config::default(),
        &RunOptions::default(),
        &|_| {},
    );
    let offsets = |role: &str| match role {
        "lead" => 3.0,
        "background" => -6.0,
        _ => 0.0,
    };
    let mut worst: f64 = 0.0;
    for g in plan["groups"].as_array().unwrap() {
        let mut levels = Vec::new();
        for t in plan["tracks"].as_array().unwrap() {
            if t["group"] != g["name"] || t["outcome"] != "balanced" {
                continue;
            }
            let name = t["name"].as_str().unwrap();
            // Bus tracks may share a member's name ("Keys" in "Keys").
            let wt = written
                .tracks
                .iter()
                .find(|w| w.name == name && !w.is_folder)
                .unwrap();
            let a = &analysis.tracks[wt.index].analysis;
            // The measure stage 1 used for this track (LUFS where the
            // chosen one had no value).
            let measured = match t["measure"].as_str() {
                Some("lufs") => a.features.lufs,
                Some("perceptual") => a.features.perceptual_lufs,
                _ => a.features.refined_lufs,
            };
            let played = measured.unwrap_or_else(|| {
                panic!(
                    "{name}: no {} after the mix: {:?}",
                    t["measure"], a.warnings
                )
            }) + 20.0 * wt.volume.log10();
            levels.push(played - offsets(t["role"].as_str().unwrap()));
        }
        if levels.len() > 1 {
            let spread = levels.iter().copied().fold(f64::MIN, f64::max)
                - levels.iter().copied().fold(f64::MAX, f64::min);
            eprintln!(
                "group {}: {} tracks, spread after stage 1 {spread:.3} LU",
                g["name"],
                levels.len()
            );
            worst = worst.max(spread);
        }
    }
    eprintln!("worst within-group spread after stage 1: {worst:.3} LU (bound 0.5 LU)");
    // Re-measuring the same audio at a new gain is exact up to the gate
    // (blocks crossing the −70 LUFS absolute gate) and 14-digit fader text.
    assert!(worst <= 0.5, "spread {worst} LU");

    // Stems: the preview is the sum of the written stems, sample for sample
    // (both sum in f32 in the same group order).
    let mut stem_files: Vec<_> = std::fs::read_dir(&stems)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    stem_files.sort();
    assert_eq!(stem_files.len(), plan["groups"].as_array().unwrap().len());
    let (pl, pr) = read_wav(&preview);
    let mut sl = vec![0f32; pl.len()];
    let mut sr = vec![0f32; pr.len()];
    for f in &stem_files {
        let (l, r) = read_wav(f);
        assert_eq!(l.len(), pl.len(), "stems share one length");
        for i in 0..l.len() {
            sl[i] += l[i];
            sr[i] += r[i];
        }
    }
    assert!(
        sl == pl && sr == pr,
        "preview is not the exact sum of the stems"
    );

    // Each stem against a direct render of its gained tracks, done here from
    // the written session: every member's clips on the timeline, times its
    // new fader, through the balance pan law, summed in session order.
    let cache = premix::audio::cache::MediaCache::new(48_000, std::iter::empty::<Vec<&Path>>(), 0);
    for (gi, g) in plan["groups"].as_array().unwrap().iter().enumerate() {
        let (stem_l, stem_r) = read_wav(&stem_files[gi]);
        let mut l = vec![0f32; stem_l.len()];
        let mut r = vec![0f32; stem_r.len()];
        for idx in g["tracks"].as_array().unwrap() {
            let name = &plan["tracks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["index"] == *idx)
                .unwrap()["name"];
            let wt = written
                .tracks
                .iter()
                .find(|w| w.name == *name && !w.is_folder)
                .unwrap();
            let (render, _) = premix::audio::render_track(wt, 48_000, &cache).unwrap();
            let buf = render.to_buffer();
            let (gl, gr) = premix::balance::stems::pan_gains(wt.pan);
            let right = buf.planes.get(1).unwrap_or(&buf.planes[0]);
            let (gl, gr) = ((wt.volume * gl) as f32, (wt.volume * gr) as f32);
            for (i, (xl, xr)) in buf.planes[0].iter().zip(right).enumerate() {
                let at = render.start as usize + i;
                l[at] += xl * gl;
                r[at] += xr * gr;
            }
        }
        // The fader went through 14-digit text in the written project, so a
        // sample may differ from the stem by f32 rounding of the gain: 1e-6
        // relative to full scale is far below anything audible (−120 dBFS).
        let worst = l
            .iter()
            .zip(&stem_l)
            .chain(r.iter().zip(&stem_r))
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-6,
            "group {}: stem differs from a direct render by {worst}",
            g["name"]
        );
    }
}

fn wav(path: &Path, rate: u32, samples: &[f32]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn odd_tracks_give_finite_gains_inside_the_clamp() {
    let tmp = tempdir();
    let d = tmp.path();
    let sr = 48_000u32;
    let n = sr as usize * 2;
    let tone: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 0.0575).sin()).collect();
    wav(&d.join("a/normal.wav"), sr, &tone);
    wav(&d.join("a/silent.wav"), sr, &vec![0.0; n]);
    wav(&d.join("a/short.wav"), sr, &tone[..480]); // 10 ms
    let clipped: Vec<f32> = tone.iter().map(|x| (x * 40.0).clamp(-1.0, 1.0)).collect();
    wav(&d.join("a/clipped.wav"), sr, &clipped);
    wav(&d.join("a/dc.wav"), sr, &vec![0.25; n]);
    wav(
        &d.join("a/quiet.wav"),
        sr,
        &tone.iter().map(|x| x * 1e-2).collect::<Vec<_>>(),
    );
    let mut rpp = String::from("<REAPER_PROJECT 0.1 \"7.0\" 0\n  SAMPLERATE 48000 0 0\n  <TRACK\n    NAME Keys\n    ISBUS 1 1\n  >\n");
    let names = ["normal", "silent", "short", "clipped", "dc", "quiet"];
    for (i, name) in names.iter().enumerate() {
        let isbus = if i + 1 == names.len() { "2 -1" } else { "0 0" };
        rpp += &format!(
            "  <TRACK\n    NAME \"Keys {name}\"\n    ISBUS {isbus}\n    <ITEM\n      POSITION 0\n      LENGTH 2\n      <SOURCE WAVE\n        FILE a/{name}.wav\n      >\n    >\n  >\n"
        );
    }
    rpp += ">\n";
    let session = d.join("odd.RPP");
    std::fs::write(&session, rpp).unwrap();
    // By LUFS, whose arithmetic the clamp case below relies on (a copy 40 dB
    // down needs 40 dB); the perceptual measure compresses near threshold.
    let plan = mix(&[session.to_str().unwrap(), "--dry-run", "--loudness", "lufs"]);
    let tracks = plan["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), names.len());
    for t in tracks {
        let c = t["change_db"].as_f64().unwrap_or(f64::NAN);
        assert!(
            c.is_finite() && (-24.0..=24.0).contains(&c),
            "{}: {c}",
            t["name"]
        );
    }
    let by = |n: &str| {
        tracks
            .iter()
            .find(|t| t["name"] == format!("Keys {n}"))
            .unwrap()
    };
    assert_eq!(by("silent")["outcome"], "untouched");
    assert_eq!(by("silent")["change_db"], 0.0);
    assert!(by("silent")["reasons"][0]
        .as_str()
        .unwrap()
        .contains("silent"));
    // The 1e-2 copy of the tone is 40 dB down: its boost hits the +24 dB clamp.
    assert_eq!(by("quiet")["outcome"], "clamped");
    // The clipped track already peaks at 0 dBTP: it may not be boosted.
    assert!(by("clipped")["change_db"].as_f64().unwrap() <= 0.0);
}
