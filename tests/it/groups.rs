//! Grouping: the shipped name rules, folders, the feature fallback, user Lua
//! hooks and their sandbox, the example scripts and `premix groups`.

use crate::util::{premix, root, tempdir};
use premix::analysis::Features;
use premix::generate::{generate, GenerateConfig, Instrument};
use premix::group::{self, Class, GroupConfig, GroupError, Grouping, Role, Source, UserScript};
use premix::script::ErrorKind;
use premix::session::{Clip, ClipKind, Format, Session, Track};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Sessions built in code.

fn clip(file: &str, kind: ClipKind) -> Clip {
    Clip {
        name: file.to_owned(),
        kind,
        source_type: if kind == ClipKind::Audio {
            "WAVE"
        } else {
            "MIDI"
        }
        .to_owned(),
        path: (kind == ClipKind::Audio).then(|| format!("Audio/{file}")),
        resolved_path: None,
        position_s: 0.0,
        length_s: 10.0,
        source_offset_s: 0.0,
        gain: 1.0,
        playrate: 1.0,
        preserve_pitch: true,
        pitch_semitones: 0.0,
        reversed: false,
        fade_in_s: 0.0,
        fade_out_s: 0.0,
        muted: false,
    }
}

/// An audio track whose clip file is named after the track.
fn audio(name: &str) -> Track {
    with_clips(name, vec![clip(&format!("{name}.wav"), ClipKind::Audio)])
}

fn with_clips(name: &str, clips: Vec<Clip>) -> Track {
    Track {
        clips,
        ..Track::new(0, name)
    }
}

fn folder(name: &str) -> Track {
    Track {
        is_folder: true,
        ..with_clips(name, Vec::new())
    }
}

/// A session from `(track, depth)` pairs: depth gives the folder nesting,
/// as a DAW's track list shows it; indices and parents are filled in.
fn session(tracks: Vec<(Track, usize)>) -> Session {
    let mut out: Vec<Track> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for (i, (mut t, depth)) in tracks.into_iter().enumerate() {
        stack.truncate(depth);
        t.index = i;
        t.folder_depth = depth;
        t.parent = stack.last().copied();
        if t.is_folder {
            stack.push(i);
        }
        out.push(t);
    }
    Session {
        path: PathBuf::from("song.rpp"),
        format: Format::Rpp,
        sample_rate: Some(48000),
        tempo_bpm: None,
        master_volume: 1.0,
        tracks: out,
        warnings: Vec::new(),
    }
}

fn flat(names: &[&str]) -> Session {
    session(names.iter().map(|n| (audio(n), 0)).collect())
}

fn assign(s: &Session) -> Grouping {
    group::assign(s, &[], &GroupConfig::default()).expect("grouping")
}

fn with_script(s: &Session, source: &str) -> Result<Grouping, GroupError> {
    let config = GroupConfig {
        script: Some(UserScript {
            source: source.to_owned(),
            chunk: "rules.lua".to_owned(),
        }),
        ..GroupConfig::default()
    };
    group::assign(s, &[], &config)
}

/// (group, role, class) of track `index`.
fn placed(g: &Grouping, index: usize) -> (String, Role, Class) {
    let grp = g.group_of(index).expect("track is grouped");
    let t = g.track(index).unwrap();
    (grp.name.clone(), t.role, t.class)
}

fn script_error(r: Result<Grouping, GroupError>) -> premix::script::ScriptError {
    match r {
        Err(GroupError::Script(e)) => e,
        other => panic!("expected a script error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The shipped name rules.

use Class::*;
use Role::{Background as Bg, Lead, Normal};

/// Realistic track names: mixed case, numbers, L/R, abbreviations, typos,
/// several words. (name, group, role, class)
const NAMES: &[(&str, &str, Role, Class)] = &[
    // kick
    ("Kick In", "Drums", Normal, BassDrum),
    ("KICK OUT", "Drums", Normal, BassDrum),
    ("Kick_Sub_01", "Drums", Normal, BassDrum),
    ("BD", "Drums", Normal, BassDrum),
    ("Bass Drum", "Drums", Normal, BassDrum),
    ("kik 2", "Drums", Normal, BassDrum),
    // snare, toms
    ("Snare Top", "Drums", Normal, Percussion1),
    ("snare bottom", "Drums", Normal, Percussion1),
    ("SN 2", "Drums", Normal, Percussion1),
    ("Snr", "Drums", Normal, Percussion1),
    ("Snre Top", "Drums", Normal, Percussion1),
    ("Tom 1", "Drums", Normal, Percussion1),
    ("Floor Tom", "Drums", Normal, Percussion1),
    ("FT", "Drums", Normal, Percussion1),
    ("RackTom2", "Drums", Normal, Percussion1),
    // cymbals, overheads, rooms
    ("HH", "Drums", Normal, Percussion2),
    ("Hi-Hat", "Drums", Normal, Percussion2),
    ("HiHat Close", "Drums", Normal, Percussion2),
    ("OH L", "Drums", Normal, Percussion2),
    ("Overheads", "Drums", Normal, Percussion2),
    ("Ride", "Drums", Normal, Percussion2),
    ("Crash", "Drums", Normal, Percussion3),
    ("Room", "Drums", Bg, Misc),
    ("Drum Room Mono", "Drums", Bg, Misc),
    ("Rooms L", "Drums", Bg, Misc),
    ("Drums", "Drums", Normal, Percussion1),
    ("Drum Loop 2", "Drums", Normal, Percussion1),
    // percussion
    ("Shaker", "Percussion", Normal, Percussion3),
    ("Tamb", "Percussion", Normal, Percussion3),
    ("Tamborine", "Percussion", Normal, Percussion3),
    ("Congas", "Percussion", Normal, Percussion1),
    ("Claps", "Percussion", Normal, Percussion2),
    ("Perc 3", "Percussion", Normal, Percussion1),
    // bass
    ("Bass DI", "Bass", Normal, Class::Bass),
    ("Bass Amp", "Bass", Normal, Class::Bass),
    ("Bs", "Bass", Normal, Class::Bass),
    ("E-Bass", "Bass", Normal, Class::Bass),
    ("Synth Bass", "Bass", Normal, Class::Bass),
    ("808", "Bass", Normal, Class::Bass),
    ("Sub", "Bass", Normal, Class::Bass),
    ("Upright Bass", "Bass", Normal, Class::Bass),
    // guitars
    ("Gtr 2 L", "Guitars", Normal, Guitar),
    ("Ac Gtr", "Guitars", Normal, Guitar),
    ("Elec Gtr R", "Guitars", Normal, Guitar),
    ("Lead Gtr", "Guitars", Lead, Guitar),
    ("Gtr Room", "Guitars", Bg, Guitar),
    ("Gutiar 1", "Guitars", Normal, Guitar),
    ("Acoustic Guitar", "Guitars", Normal, Guitar),
    ("Banjo", "Guitars", Normal, Guitar),
    ("Mandolin", "Guitars", Normal, Guitar),
    // keys
    ("Piano L", "Keys", Normal, Keys),
    ("Pno", "Keys", Normal, Keys),
    ("Grand Piano", "Keys", Normal, Keys),
    ("Rhodes", "Keys", Normal, Keys),
    ("Wurli", "Keys", Normal, Keys),
    ("Hammond B3", "Keys", Normal, Keys),
    ("Organ", "Keys", Normal, Keys),
    ("Kb 1", "Keys", Normal, Keys),
    ("EPiano", "Keys", Normal, Keys),
    // synths
    ("Synth Pad", "Synths", Bg, Synth),
    ("Lead Synth", "Synths", Lead, Synth),
    ("Arp", "Synths", Normal, Synth),
    ("Pads", "Synths", Bg, Synth),
    // vocals
    ("Lead Vox", "Vocals", Lead, MainVocals),
    ("LeadVocal", "Vocals", Lead, MainVocals),
    ("Vox", "Vocals", Lead, MainVocals),
    ("Vocal Main", "Vocals", Lead, MainVocals),
    ("Vocla", "Vocals", Lead, MainVocals),
    ("Vox Dbl", "Vocals", Bg, SupportVocals),
    ("BV 1", "Vocals", Bg, SupportVocals),
    ("BGVs", "Vocals", Bg, SupportVocals),
    ("Backing Vocals L", "Vocals", Bg, SupportVocals),
    ("Harmony 2", "Vocals", Bg, SupportVocals),
    ("Choir", "Vocals", Bg, SupportVocals),
    ("Ad Libs", "Vocals", Bg, SupportVocals),
    ("Guide Vox", "Vocals", Bg, SupportVocals),
    // orchestra
    ("Strings", "Strings", Normal, OrchestralStrings),
    ("Violins 1", "Strings", Normal, OrchestralStrings),
    ("Vln II", "Strings", Normal, OrchestralStrings),
    ("Viola", "Strings", Normal, OrchestralStrings),
    ("Cello", "Strings", Normal, OrchestralStrings),
    ("Harp", "Strings", Normal, OrchestralStrings),
    ("Trumpet 1", "Brass", Normal, Brass),
    ("Tpt", "Brass", Normal, Brass),
    ("Horns", "Brass", Normal, Brass),
    ("French Horn", "Brass", Normal, Brass),
    ("Trombone", "Brass", Normal, LowBrass),
    ("Tuba", "Brass", Normal, LowBrass),
    ("Flute", "Woodwinds", Normal, Woodwinds),
    ("Clarinet", "Woodwinds", Normal, Woodwinds),
    ("Alto Sax", "Woodwinds", Normal, Woodwinds),
    ("Tenor Sax", "Woodwinds", Normal, BassWoodwinds),
    ("Bassoon", "Woodwinds", Normal, BassWoodwinds),
    // effects and the rest
    ("FX Return", "FX", Bg, Misc),
    ("Reverb", "FX", Bg, Misc),
    ("Riser", "FX", Normal, Synth),
    ("SFX 2", "FX", Normal, Synth),
    ("Click", "Other", Bg, Misc),
];

#[test]
fn groups_shipped_rules_place_realistic_names() {
    assert!(NAMES.len() >= 60);
    let names: Vec<&str> = NAMES.iter().map(|n| n.0).collect();
    let g = assign(&flat(&names));
    let mut wrong = Vec::new();
    for (i, &(name, group, role, class)) in NAMES.iter().enumerate() {
        let got = placed(&g, i);
        if got != (group.to_owned(), role, class) {
            let reason = &g.track(i).unwrap().reason;
            wrong.push(format!(
                "{name:?}: expected ({group}, {role}, {class}), got ({}, {}, {}) [{reason}]",
                got.0, got.1, got.2
            ));
        }
        assert_eq!(g.track(i).unwrap().source, Source::Name, "{name}");
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        NAMES.len(),
        wrong.join("\n")
    );
}

#[test]
fn groups_reasons_say_what_matched() {
    let g = assign(&flat(&["Gtr Room", "Gutiar 1", "Bass Drum"]));
    assert_eq!(
        g.track(0).unwrap().reason,
        "name matches 'gtr'; 'room' -> background"
    );
    assert_eq!(
        g.track(1).unwrap().reason,
        "name 'gutiar' looks like 'guitar'"
    );
    assert_eq!(g.track(2).unwrap().reason, "name matches 'bass drum'");
}

#[test]
fn groups_generic_names_fall_back_to_file_names_then_other() {
    let mut t = with_clips("Audio 1", vec![clip("Kick_In_03.wav", ClipKind::Audio)]);
    t.clips[0].path = Some("C:\\Session\\Audio\\Kick_In_03.wav".into());
    let s = session(vec![(t, 0), (audio("Track 12"), 0)]);
    let g = assign(&s);
    assert_eq!(placed(&g, 0), ("Drums".into(), Normal, BassDrum));
    assert_eq!(
        g.track(0).unwrap().reason,
        "file 'Kick_In_03.wav' matches 'kick'"
    );
    // "Track 12.wav": nothing to go on, no analysis.
    assert_eq!(placed(&g, 1), ("Other".into(), Normal, Misc));
    let t = g.track(1).unwrap();
    assert_eq!(t.source, Source::Fallback);
    assert_eq!(t.reason, "name and files match no rule; no analysis");
}

#[test]
fn groups_groups_in_session_order_and_tracks_in_track_order() {
    let g = assign(&flat(&["Vox", "Kick", "BV 1", "Snare", "Bass"]));
    let order: Vec<(&str, Vec<usize>)> = g
        .groups
        .iter()
        .map(|x| (x.name.as_str(), x.tracks.iter().map(|t| t.index).collect()))
        .collect();
    assert_eq!(
        order,
        [
            ("Vocals", vec![0, 2]),
            ("Drums", vec![1, 3]),
            ("Bass", vec![4])
        ]
    );
}

// ---------------------------------------------------------------------------
// Folders, skipped tracks, features.

fn band() -> Session {
    session(vec![
        (folder("Band"), 0),
        (folder("Drums"), 1),
        (audio("Kick"), 2),
        (folder("Toms"), 2),
        (audio("Tom 1"), 3),
        (audio("Bass"), 1),
        (folder("My Guitars"), 0),
        (audio("Audio 7"), 1),
        (audio("Lead Vocal"), 0),
        (
            with_clips("Piano MIDI", vec![clip("p.mid", ClipKind::Other)]),
            0,
        ),
        (with_clips("Empty", Vec::new()), 0),
    ])
}

#[test]
fn groups_top_level_folders_are_groups() {
    let g = assign(&band());
    let names: Vec<&str> = g.groups.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["Band", "My Guitars", "Vocals"]);
    // Nested folders belong to their top-level folder; class and role still
    // come from the name.
    assert_eq!(placed(&g, 2), ("Band".into(), Normal, BassDrum));
    assert_eq!(placed(&g, 4), ("Band".into(), Normal, Percussion1));
    assert_eq!(placed(&g, 5), ("Band".into(), Normal, Class::Bass));
    let kick = g.track(2).unwrap();
    assert_eq!(kick.source, Source::Folder);
    assert_eq!(kick.reason, "folder 'Band'; name matches 'kick'");
    let unnamed = g.track(7).unwrap();
    assert_eq!((unnamed.source, unnamed.class), (Source::Folder, Misc));
    // Folder tracks themselves are not members, and not skipped.
    for i in [0, 1, 3, 6] {
        assert!(g.track(i).is_none());
        assert!(g.skipped.iter().all(|s| s.index != i));
    }
}

#[test]
fn groups_ignore_folders_uses_the_rules() {
    let config = GroupConfig {
        ignore_folders: true,
        ..GroupConfig::default()
    };
    let g = group::assign(&band(), &[], &config).unwrap();
    let names: Vec<&str> = g.groups.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["Drums", "Bass", "Other", "Vocals"]);
    assert_eq!(g.track(2).unwrap().source, Source::Name);
}

#[test]
fn groups_tracks_without_audio_are_skipped_with_a_reason() {
    let g = assign(&band());
    let skipped: Vec<(usize, &str, &str)> = g
        .skipped
        .iter()
        .map(|s| (s.index, s.name.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (9, "Piano MIDI", "no audio clips (MIDI)"),
            (10, "Empty", "no clips")
        ]
    );
}

fn features(perc: f64, voiced: f64, f0: Option<f64>, centroid: f64) -> Option<Features> {
    Some(Features {
        percussiveness: Some(perc),
        voiced_ratio: voiced,
        f0_hz: f0,
        centroid_hz: Some(centroid),
        active_s: 20.0,
        ..Features::default()
    })
}

#[test]
fn groups_unnamed_tracks_are_classified_from_features() {
    let s = flat(&["Audio 1", "Audio 2", "Audio 3", "Kick"]);
    let f = vec![
        features(0.9, 0.02, None, 150.0),
        features(0.1, 0.9, Some(55.0), 300.0),
        features(0.1, 0.9, Some(196.0), 2400.0),
        // Names win over features.
        features(0.1, 0.9, Some(55.0), 300.0),
    ];
    let g = group::assign(&s, &f, &GroupConfig::default()).unwrap();
    assert_eq!(placed(&g, 0), ("Drums".into(), Normal, BassDrum));
    assert_eq!(placed(&g, 1), ("Bass".into(), Normal, Class::Bass));
    assert_eq!(placed(&g, 2), ("Other".into(), Normal, Misc));
    assert_eq!(placed(&g, 3), ("Drums".into(), Normal, BassDrum));
    let t = g.track(0).unwrap();
    assert_eq!(t.source, Source::Feature);
    assert_eq!(
        t.reason,
        "features: percussive 0.90, voiced 0.02, centroid 150 Hz → kick-like"
    );
    assert!(g.track(2).unwrap().reason.contains("tonal"));
    assert_eq!(
        group::tracks_needing_features(&s).unwrap(),
        [0, 1, 2],
        "only tracks the names cannot place need analysis"
    );
}

// ---------------------------------------------------------------------------
// Generated sessions and the corpus.

/// The group and class each generated instrument belongs to.
fn expected(i: Instrument) -> (&'static str, Class) {
    match i {
        Instrument::Kick => ("Drums", BassDrum),
        Instrument::Snare | Instrument::Tom => ("Drums", Percussion1),
        Instrument::HiHat | Instrument::Overheads => ("Drums", Percussion2),
        Instrument::Room => ("Drums", Misc),
        Instrument::Percussion => ("Percussion", Percussion1),
        Instrument::Bass => ("Bass", Class::Bass),
        Instrument::ElectricGuitar | Instrument::AcousticGuitar => ("Guitars", Guitar),
        Instrument::Piano | Instrument::Organ => ("Keys", Keys),
        Instrument::Synth | Instrument::Pad => ("Synths", Synth),
        Instrument::LeadVocal => ("Vocals", MainVocals),
        Instrument::BackingVocal => ("Vocals", SupportVocals),
        Instrument::Strings => ("Strings", OrchestralStrings),
        Instrument::Brass => ("Brass", Class::Brass),
        Instrument::Flute => ("Woodwinds", Woodwinds),
        Instrument::Fx => ("FX", Misc),
    }
}

#[test]
fn groups_generated_sessions_group_every_instrument() {
    // 40 tracks: the 24-track template (every instrument) plus numbered
    // extras ("Gtr 3", "Tom 3", "FX 2", ...). With folders the kit and the
    // vocals sit in "Drums"/"Vocals" folders; without, the name rules alone
    // must find the same groups.
    for folders in [true, false] {
        let dir = tempdir();
        let cfg = GenerateConfig {
            tracks: 40,
            seconds: 1.0,
            folders,
            ..GenerateConfig::default()
        };
        let report = generate(&cfg, dir.path(), &|_, _| {}).expect("generate");
        let s = premix::session::read(&report.session).expect("read generated session");
        let g = assign(&s);
        assert!(g.skipped.is_empty(), "{:?}", g.skipped);
        let mut seen = std::collections::BTreeSet::new();
        for gen in &report.tracks {
            let t = s
                .tracks
                .iter()
                .find(|t| t.name == gen.name)
                .expect("track in session");
            let (group, class) = expected(gen.instrument);
            let got = placed(&g, t.index);
            assert_eq!(
                (got.0.as_str(), got.2),
                (group, class),
                "folders {folders}: {} ({:?}): {}",
                gen.name,
                gen.instrument,
                g.track(t.index).unwrap().reason
            );
            seen.insert(gen.instrument.name());
        }
        assert_eq!(
            seen.len(),
            Instrument::ALL.len(),
            "every instrument type generated"
        );
    }
}

#[test]
fn groups_feature_fallback_on_analysed_generated_tracks() {
    // Generated tracks renamed so that neither track nor file names say
    // anything, then analysed for real: the feature rules must find the
    // kit pieces and the basses, and must not call anything else a kick or
    // a bass.
    let dir = tempdir();
    let cfg = GenerateConfig {
        tracks: 24,
        seconds: 4.0,
        folders: false,
        ..GenerateConfig::default()
    };
    let report = generate(&cfg, dir.path(), &|_, _| {}).expect("generate");
    let mut s = premix::session::read(&report.session).unwrap();
    let truth: Vec<Instrument> = s
        .tracks
        .iter()
        .map(|t| {
            report
                .tracks
                .iter()
                .find(|g| g.name == t.name)
                .unwrap()
                .instrument
        })
        .collect();
    for t in &mut s.tracks {
        t.name = format!("Audio {}", t.index + 1);
        for c in &mut t.clips {
            c.path = Some(format!("take_{}.wav", t.index + 1));
        }
    }
    assert_eq!(
        group::tracks_needing_features(&s).unwrap().len(),
        s.tracks.len()
    );
    let analysis = premix::analysis::session::analyze_session(
        &s,
        &premix::analysis::Config::default(),
        &Default::default(),
        &|_| {},
    );
    let features: Vec<Option<Features>> = analysis
        .tracks
        .iter()
        .map(|t| Some(t.analysis.features.clone()))
        .collect();
    let g = group::assign(&s, &features, &GroupConfig::default()).unwrap();
    for (i, inst) in truth.iter().enumerate() {
        let t = g.track(i).unwrap();
        // Features may also be inconclusive (Fallback), never a name match.
        assert!(
            matches!(t.source, Source::Feature | Source::Fallback),
            "{inst:?}: {}",
            t.reason
        );
        let got = (g.group_of(i).unwrap().name.as_str(), t.class);
        let want = match inst {
            Instrument::Kick => Some(("Drums", BassDrum)),
            Instrument::Snare => Some(("Drums", Percussion1)),
            Instrument::HiHat => Some(("Drums", Percussion2)),
            Instrument::Bass => Some(("Bass", Class::Bass)),
            _ => None,
        };
        match want {
            Some(w) => assert_eq!(got, w, "{inst:?}: {}", t.reason),
            None => assert!(
                got.1 != BassDrum && got.1 != Class::Bass,
                "{inst:?} taken for {got:?}: {}",
                t.reason
            ),
        }
    }
}

#[test]
fn groups_every_corpus_session_groups() {
    let Some(dir) = crate::util::corpus("rpp") else {
        return;
    };
    for path in crate::util::files_with_ext(&dir, &["rpp"]) {
        let s = premix::session::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let g = group::assign(&s, &[], &GroupConfig::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let members: usize = g.groups.iter().map(|x| x.tracks.len()).sum();
        let audio = s.tracks.iter().filter(|t| t.has_audio()).count();
        assert_eq!(members, audio, "{}", path.display());
    }
}

// ---------------------------------------------------------------------------
// User hooks.

#[test]
fn groups_hook_overrides_and_defers() {
    let s = flat(&["Kick", "Snare", "Vox", "Gtr"]);
    let g = with_script(
        &s,
        r#"
        function group(track)
          if track.name == "Kick" then return "Low End", "lead" end
          if track.name == "Snare" then
            return { role = "background", reason = "ghost notes" }
          end
          if track.default.group == "Vocals" then return { group = "Voice", class = "support_vocals" } end
          return nil
        end
        "#,
    )
    .unwrap();
    assert_eq!(placed(&g, 0), ("Low End".into(), Lead, BassDrum));
    assert_eq!(g.track(0).unwrap().source, Source::Script);
    assert_eq!(
        g.track(0).unwrap().reason,
        "rules.lua: group() set group, role"
    );
    assert_eq!(placed(&g, 1), ("Drums".into(), Bg, Percussion1));
    assert_eq!(g.track(1).unwrap().source, Source::Name);
    assert_eq!(
        g.track(1).unwrap().reason,
        "name matches 'snare'; ghost notes"
    );
    assert_eq!(placed(&g, 2), ("Voice".into(), Lead, SupportVocals));
    assert_eq!(placed(&g, 3), ("Guitars".into(), Normal, Guitar));
}

#[test]
fn groups_hook_sees_read_only_facts() {
    let mut kick = audio("Kick In");
    kick.colour = Some(0xff0000);
    kick.fx = vec!["ReaEQ".into()];
    let s = session(vec![(folder("Drums"), 0), (kick, 1)]);
    let f = vec![None, features(0.9, 0.0, None, 120.0)];
    let config = GroupConfig {
        script: Some(UserScript {
            chunk: "rules.lua".into(),
            source: r#"
            function group(t)
              local facts = {
                t.index, t.number, t.name, t.folder, t.folders[1], #t.files, t.files[1],
                t.fx[1], t.colour, t.colour_hex, t.features.centroid_hz,
                t.features.percussiveness, t.default.group, t.default.class,
                t.default.source,
              }
              local parts = {}
              for i = 1, 15 do parts[i] = tostring(facts[i]) end
              print(table.concat(parts, "|"))
              local keys = {}
              for k in pairs(t) do keys[#keys + 1] = k end
              table.sort(keys)
              print(table.concat(keys, ","))
            end
            "#
            .into(),
        }),
        ..GroupConfig::default()
    };
    let g = group::assign(&s, &f, &config).unwrap();
    assert_eq!(
        g.log,
        [
            "rules.lua: 1|2|Kick In|Drums|Drums|1|Kick In.wav|ReaEQ|16711680|#ff0000|120.0|0.9|\
             Drums|bass_drum|folder",
            "rules.lua: colour,colour_hex,default,features,files,folder,folders,fx,index,name,number",
        ]
    );
}

#[test]
fn groups_hook_cannot_change_or_misread_the_track() {
    let s = flat(&["Kick"]);
    let cases = [
        (
            "track.name = 'Snare'",
            "rules.lua:2: track is read-only (cannot set 'name')",
        ),
        (
            "track.files[1] = 'x'",
            "rules.lua:2: track.files is read-only (cannot set '1')",
        ),
        (
            "track.default.group = 'x'",
            "rules.lua:2: track.default is read-only (cannot set 'group')",
        ),
        (
            "setmetatable(track, {})",
            "rules.lua:2: cannot change a protected metatable",
        ),
        (
            "getmetatable(track).__index = {}",
            "rules.lua:2: attempt to index a string value",
        ),
        (
            "rawset(track, 'name', 'x')",
            "rules.lua:2: attempt to call a nil value (global 'rawset')",
        ),
        (
            "local x = track.nmae",
            "rules.lua:2: track has no field 'nmae'",
        ),
        (
            "debug.setmetatable(track, nil)",
            "rules.lua:2: attempt to index a nil value (global 'debug')",
        ),
    ];
    for (code, expected) in cases {
        let src = format!("function group(track)\n  {code}\nend");
        let e = script_error(with_script(&s, &src));
        assert!(
            e.to_string().starts_with(expected),
            "{code}: expected {expected:?}, got {:?}",
            e.to_string()
        );
    }
    // getmetatable only shows a marker.
    let g = with_script(&s, "function group(t) print(getmetatable(t)) end").unwrap();
    assert_eq!(g.log, ["rules.lua: read-only"]);
}

#[test]
fn groups_hook_values_are_checked() {
    let s = flat(&["Kick"]);
    let cases = [
        (
            "return { group = 'Drums', rol = 'lead' }",
            "rules.lua:1: unknown key 'rol' in value returned by group() for track 1 'Kick'",
        ),
        (
            "return { group = 'Drums', role = 1 }",
            "rules.lua:1: 'role' must be a string, got integer in value returned by group() for track 1 'Kick'",
        ),
        (
            "return 'Drums', 'leed'",
            "rules.lua:1: unknown role 'leed' (expected lead, normal or background) in value",
        ),
        ("return 'Drums', nil, 'kik'", "rules.lua:1: unknown class 'kik' (expected one of main_vocals,"),
        ("return '  '", "rules.lua:1: 'group' must not be empty"),
        ("return true", "rules.lua:1: group() returned a boolean; expected a group name, a table or nil"),
        ("return 'a', 'lead', 'bass', 'x'", "rules.lua:1: group() returned 4 values"),
        ("return { 'Drums' }", "rules.lua:1: unexpected key 1 in value returned by group()"),
    ];
    for (body, expected) in cases {
        let src = format!("function group(track) {body} end");
        let e = script_error(with_script(&s, &src));
        assert_eq!(e.kind, ErrorKind::Value, "{body}");
        assert!(
            e.to_string().starts_with(expected),
            "{body}: expected {expected:?}, got {:?}",
            e.to_string()
        );
    }
}

#[test]
fn groups_script_errors_name_file_and_line() {
    let s = flat(&["Kick"]);
    let e = script_error(with_script(
        &s,
        "local x = 1\n\nfunction group(t)\n  error('no idea')\nend",
    ));
    assert_eq!(e.to_string(), "rules.lua:4: no idea");
    let e = script_error(with_script(&s, "function group(t)\n  return t.name +\nend"));
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(
        e.to_string()
            .starts_with("rules.lua:3: unexpected symbol near 'end'"),
        "{e}"
    );
    let e = script_error(with_script(&s, "x = 1"));
    assert_eq!(
        e.to_string(),
        "rules.lua: defines neither group(track) nor groups(session)"
    );
    let e = script_error(with_script(&s, "group = 3"));
    assert_eq!(
        e.to_string(),
        "rules.lua: 'group' must be a function, got integer"
    );
}

#[test]
fn groups_session_hook_merges_renames_and_splits() {
    let s = flat(&["Kick", "Snare", "Shaker", "Vox", "BV 1", "Bass"]);
    let g = with_script(
        &s,
        r#"
        function groups(session)
          local out = {}
          local rhythm = { name = "Rhythm", tracks = {} }
          for _, g in ipairs(session.groups) do
            if g.name == "Drums" or g.name == "Percussion" or g.name == "Bass" then
              for _, t in ipairs(g.tracks) do rhythm.tracks[#rhythm.tracks + 1] = t end
            elseif g.name == "Vocals" then
              local lead = { name = "Lead", tracks = {} }
              local bvs = { name = "BVs", tracks = {} }
              for _, t in ipairs(g.tracks) do
                local dest = t.role == "lead" and lead or bvs
                dest.tracks[#dest.tracks + 1] = { index = t.index, role = t.role }
              end
              out[#out + 1] = lead
              out[#out + 1] = bvs
            else
              out[#out + 1] = g
            end
          end
          table.insert(out, 1, rhythm)
          return out
        end
        "#,
    )
    .unwrap();
    let got: Vec<(&str, Vec<usize>)> = g
        .groups
        .iter()
        .map(|x| (x.name.as_str(), x.tracks.iter().map(|t| t.index).collect()))
        .collect();
    assert_eq!(
        got,
        [
            ("Rhythm", vec![0, 1, 2, 5]),
            ("Lead", vec![3]),
            ("BVs", vec![4])
        ]
    );
    let kick = g.track(0).unwrap();
    assert_eq!((kick.source, kick.class), (Source::Script, BassDrum));
    assert_eq!(kick.reason, "rules.lua: groups() set group");
}

#[test]
fn groups_session_hook_results_are_checked() {
    let s = flat(&["Kick", "Snare"]);
    let cases = [
        (
            "return { { name = 'All', tracks = { 0 } } }",
            "rules.lua:1: track 2 'Snare' is missing in value returned by groups() (every audio track must be in one group)",
        ),
        (
            "return { { name = 'A', tracks = { 0, 1 } }, { name = 'B', tracks = { 1 } } }",
            "rules.lua:1: track 2 'Snare' is in group 'A' and in group 'B'",
        ),
        (
            "return { { name = 'A', tracks = { 0, 7 } } }",
            "rules.lua:1: 7 is not the index of an audio track (use track.index, counted from 0)",
        ),
        (
            "return { { name = 'A', tracks = { 0, 1 }, colour = 3 } }",
            "rules.lua:1: unknown key 'colour' in group 1 in value returned by groups()",
        ),
        (
            "return { { name = 'A', tracks = { 0, { index = 1, name = 'Hat' } } } }",
            "rules.lua:1: track 2 is named 'Snare', not 'Hat' (groups() cannot rename tracks)",
        ),
        (
            "return { { name = 'A', tracks = { 0 } }, { name = 'A', tracks = { 1 } } }",
            "rules.lua:1: two groups are named 'A'",
        ),
        ("return 'Drums'", "rules.lua:1: groups() returned a string; expected a list of groups or nil"),
    ];
    for (body, expected) in cases {
        let src = format!("function groups(session) {body} end");
        let e = script_error(with_script(&s, &src));
        assert!(
            e.to_string().starts_with(expected),
            "{body}: expected {expected:?}, got {:?}",
            e.to_string()
        );
    }
}

// ---------------------------------------------------------------------------
// The sandbox: escapes and bombs. Each must fail with a clear error within
// 5 s (the issue's bound). The limits behind it: 100 M instructions (about
// a second), 2 s of Lua time, 32 MiB; 5 s leaves room for a slow debug build
// on a loaded CI machine.

const BOMB_BOUND: Duration = Duration::from_secs(5);

fn expect_stop(src: &str, kind: ErrorKind, needle: &str) -> Duration {
    let s = flat(&["Kick", "Snare"]);
    let t0 = Instant::now();
    let r = with_script(&s, src);
    let took = t0.elapsed();
    let e = script_error(r);
    // Which of the two stopping limits fires first depends on the machine's
    // speed: both mean "stopped", with the same hint.
    let stopped = [ErrorKind::Instructions, ErrorKind::Time];
    if stopped.contains(&kind) {
        assert!(stopped.contains(&e.kind), "{src}\n→ {e}");
    } else {
        assert_eq!(e.kind, kind, "{src}\n→ {e}");
    }
    assert!(e.to_string().contains(needle), "{src}\n→ {e}");
    assert!(took < BOMB_BOUND, "{src} took {took:?}");
    eprintln!("{:>8.3} s  {e}", took.as_secs_f64());
    took
}

#[test]
fn groups_sandbox_has_no_files_os_or_loading() {
    let rt = ErrorKind::Runtime;
    expect_stop(
        "local f = io.open('/etc/passwd')",
        rt,
        "rules.lua:1: attempt to index a nil value (global 'io')",
    );
    expect_stop(
        "os.execute('touch /tmp/premix-pwned')",
        rt,
        "rules.lua:1: attempt to index a nil value (global 'os')",
    );
    expect_stop(
        "local m = require('io')",
        rt,
        "rules.lua:1: attempt to call a nil value (global 'require')",
    );
    expect_stop(
        "dofile('/etc/passwd')",
        rt,
        "rules.lua:1: attempt to call a nil value (global 'dofile')",
    );
    expect_stop("loadfile('/etc/passwd')", rt, "(global 'loadfile')");
    expect_stop(
        "local f = load(string.dump(function() end), 'x', 'b')",
        rt,
        "rules.lua:1: attempt to call a nil value (field 'dump')",
    );
    expect_stop(
        "load('return 1')",
        rt,
        "rules.lua:1: attempt to call a nil value (global 'load')",
    );
    expect_stop("collectgarbage('stop')", rt, "(global 'collectgarbage')");
    expect_stop(
        "package.loadlib('libc.so.6', 'system')",
        rt,
        "(global 'package')",
    );
    // The script itself as bytecode: refused by the text-only loader.
    let e = script_error(with_script(&flat(&["Kick"]), "\u{1b}LuaT\u{0}\u{19}\u{13}"));
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(
        e.to_string().contains("attempt to load a binary chunk"),
        "{e}"
    );
}

#[test]
fn groups_sandbox_stops_endless_loops() {
    let ins = ErrorKind::Instructions;
    let msg = "is there an endless loop?";
    expect_stop(
        "while true do end",
        ins,
        "rules.lua:1: script stopped after ",
    );
    expect_stop(
        "function group(t)\n  while true do end\nend",
        ins,
        "rules.lua:2:",
    );
    expect_stop("local function f() return f() end f()", ins, msg);
    expect_stop(
        "coroutine.wrap(function() while true do end end)()",
        ins,
        msg,
    );
    expect_stop(
        "local co = coroutine.create(function() while true do end end)\n\
         while true do coroutine.resume(co) end",
        ins,
        msg,
    );
    expect_stop(
        "while true do pcall(function() while true do end end) end",
        ins,
        msg,
    );
    expect_stop(
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        ins,
        msg,
    );
    // A C loop over a length the script chooses runs in Lua here.
    expect_stop(
        "local t = setmetatable({}, { __len = function() return math.maxinteger - 1 end })\n\
         table.insert(t, 1, 'x')",
        ins,
        msg,
    );
    expect_stop("table.move({}, 1, math.maxinteger - 2, 2)", ins, msg);
    expect_stop(
        "local t = setmetatable({}, { __len = function() return 2^31 end, __index = function() return 1 end })\n\
         table.sort(t, math.type)",
        // Sorting copies the elements first, in Lua: the copy outgrows the
        // memory limit before the budget is spent.
        ErrorKind::Memory,
        "memory limit",
    );
}

#[test]
fn groups_sandbox_limits_memory_and_c_work() {
    expect_stop(
        "local s = string.rep('x', 2^30)",
        ErrorKind::Memory,
        "rules.lua: script exceeded its memory limit (32 MiB)",
    );
    expect_stop(
        "local s = string.rep('x', 2^33)",
        ErrorKind::Runtime,
        "rules.lua:1: resulting string too large",
    );
    expect_stop(
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        ErrorKind::Memory,
        "memory limit",
    );
    expect_stop(
        "local s = 'x' while true do s = s .. s end",
        ErrorKind::Memory,
        "memory limit",
    );
    // Deep recursion: Lua's own stack limit (or the memory limit) ends it.
    let s = flat(&["Kick"]);
    let t0 = Instant::now();
    let e = script_error(with_script(
        &s,
        "local function f(n) return 1 + f(n + 1) end\nf(1)",
    ));
    assert!(t0.elapsed() < BOMB_BOUND);
    assert!(
        e.to_string().contains("stack overflow") || e.kind == ErrorKind::Memory,
        "{e}"
    );
    // Pattern matching runs in C, unmetered: refused up front when too costly.
    expect_stop(
        "local s = string.rep('a', 1e6)\nlocal i = s:find('.-b')",
        ErrorKind::Runtime,
        "rules.lua:2: string.find: pattern '.-b' on a 1000000-byte string could take up to",
    );
    expect_stop(
        "local s = string.rep('a', 3e5)\nfor w in s:gmatch('a*a*a*b') do end",
        ErrorKind::Runtime,
        "string.gmatch: pattern",
    );
    expect_stop(
        "local s = string.rep('a', 1e7)\nlocal i = s:find(string.rep('a', 1e6) .. 'b', 1, true)",
        ErrorKind::Runtime,
        "string.find",
    );
    expect_stop(
        "setmetatable({}, { __gc = function() while true do end end })",
        ErrorKind::Runtime,
        "rules.lua:1: __gc metamethods are not available in premix scripts",
    );
    // string.rep of an empty string would loop 2^62 times in C: answered
    // directly, and ordinary uses still work.
    let t0 = Instant::now();
    let g = with_script(
        &s,
        "function group(t)\n\
           assert(string.rep('', 2^62) == '' and ('ab'):rep(3, '-') == 'ab-ab-ab')\n\
           assert(('Kick In'):find('In') == 6 and ('a,b'):gsub(',', ';') == 'a;b')\n\
           local t = {3, 1, 2} table.sort(t) table.insert(t, 1, 0) table.remove(t)\n\
           assert(table.concat(t, ',') == '0,1,2')\n\
           local ok, err = pcall(error, 'caught')\n\
           assert(not ok and err == 'caught')\n\
         end",
    )
    .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert_eq!(g.groups.len(), 1);
}

// ---------------------------------------------------------------------------
// The example scripts.

fn example(name: &str) -> UserScript {
    let path = root().join("scripts/groups/examples").join(name);
    UserScript {
        source: std::fs::read_to_string(&path).unwrap(),
        chunk: name.to_owned(),
    }
}

fn with_example(s: &Session, name: &str) -> Grouping {
    let config = GroupConfig {
        script: Some(example(name)),
        ..GroupConfig::default()
    };
    group::assign(s, &[], &config).unwrap()
}

fn layout(g: &Grouping) -> Vec<(String, Vec<String>)> {
    g.groups
        .iter()
        .map(|x| {
            (
                x.name.clone(),
                x.tracks.iter().map(|t| t.name.clone()).collect(),
            )
        })
        .collect()
}

fn own(v: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    v.iter()
        .map(|(g, ts)| (g.to_string(), ts.iter().map(|t| t.to_string()).collect()))
        .collect()
}

#[test]
fn groups_example_one_drum_stem() {
    let s = session(vec![
        (audio("Kick"), 0),
        (audio("Shaker"), 0),
        (audio("Room L"), 0),
        (folder("Perc"), 0),
        (audio("Congas"), 1),
        (audio("Bass"), 1),
        (audio("Drum Loop"), 0),
        (audio("Vox"), 0),
    ]);
    let g = with_example(&s, "one_drum_stem.lua");
    assert_eq!(
        layout(&g),
        own(&[
            (
                "Drums",
                &["Kick", "Shaker", "Room L", "Congas", "Drum Loop"]
            ),
            // In the folder, but not a drum.
            ("Perc", &["Bass"]),
            ("Vocals", &["Vox"]),
        ])
    );
    assert_eq!(g.track(1).unwrap().class, Percussion3, "class kept");
    assert_eq!(g.track(1).unwrap().reason, "one drum stem (percussion_3)");
}

#[test]
fn groups_example_vocals_by_prefix() {
    let g = with_example(
        &flat(&["LV Verse", "lv_chorus", "BV-high", "BV low", "Vox", "BV1"]),
        "vocals_by_prefix.lua",
    );
    assert_eq!(
        layout(&g),
        own(&[
            ("Lead Vocals", &["LV Verse", "lv_chorus"]),
            ("Backing Vocals", &["BV-high", "BV low"]),
            // No separator after the prefix: premix's default.
            ("Vocals", &["Vox", "BV1"]),
        ])
    );
    assert_eq!(g.track(2).unwrap().role, Bg);
    assert_eq!(g.track(2).unwrap().class, SupportVocals);
    assert_eq!(g.track(0).unwrap().reason, "name prefix 'LV'");
}

#[test]
fn groups_example_colour_convention() {
    let coloured = |name: &str, c: Option<u32>| Track {
        colour: c,
        ..audio(name)
    };
    let s = session(vec![
        (coloured("Audio 1", Some(0xff0000)), 0),
        (coloured("Audio 2", Some(0x0000ff)), 0),
        (coloured("Kick", None), 0),
        (coloured("Piano", Some(0x123456)), 0),
        (coloured("Take 4", Some(0xffff00)), 0),
    ]);
    let g = with_example(&s, "colour_convention.lua");
    assert_eq!(
        layout(&g),
        own(&[
            ("Drums", &["Audio 1", "Kick"]),
            ("Bass", &["Audio 2"]),
            ("Keys", &["Piano"]),
            ("Vocals", &["Take 4"]),
        ])
    );
    assert_eq!(g.track(0).unwrap().reason, "colour #ff0000");
    assert_eq!(g.track(2).unwrap().source, Source::Name);
}

#[test]
fn groups_example_merge_small_groups() {
    let g = with_example(
        &flat(&["Kick", "Snare", "Vox", "Piano", "Flute", "Bass"]),
        "merge_small_groups.lua",
    );
    assert_eq!(
        layout(&g),
        own(&[
            ("Drums", &["Kick", "Snare"]),
            ("Vocals", &["Vox"]),
            ("Bass", &["Bass"]),
            ("Music", &["Piano", "Flute"]),
        ])
    );
    assert_eq!(g.track(3).unwrap().reason, "merged from Keys");
    assert_eq!(g.track(3).unwrap().class, Keys, "class kept");
}

// ---------------------------------------------------------------------------
// `premix groups`.

/// Writes an RPP with one audio item per track (media need not exist).
/// `(name, isbus, peakcol)`: isbus as REAPER writes it ("1 1" opens a
/// folder, "2 -1" closes one).
fn write_rpp(dir: &Path, tracks: &[(&str, &str, Option<u32>)]) -> PathBuf {
    let mut s = String::from(
        "<REAPER_PROJECT 0.1 \"6.80/linux-x86_64\" 1700000000\n  SAMPLERATE 48000 0 0\n",
    );
    for (name, isbus, colour) in tracks {
        s.push_str(&format!("  <TRACK\n    NAME \"{name}\"\n"));
        if let Some(c) = colour {
            // PEAKCOL is 0x01BBGGRR on Windows: custom-colour flag + COLORREF.
            let bgr = ((c & 0xff) << 16) | (c & 0xff00) | ((c >> 16) & 0xff);
            s.push_str(&format!("    PEAKCOL {}\n", 0x0100_0000 | bgr));
        }
        s.push_str(&format!("    ISBUS {isbus}\n"));
        if !isbus.starts_with("1 ") {
            let file = name.replace(' ', "_");
            let source = if name.contains("MIDI") {
                "    <ITEM\n      POSITION 0\n      LENGTH 4\n      <SOURCE MIDI\n        HASDATA 1 960 QN\n      >\n    >\n".to_owned()
            } else {
                format!("    <ITEM\n      POSITION 0\n      LENGTH 4\n      <SOURCE WAVE\n        FILE \"{file}.wav\"\n      >\n    >\n")
            };
            s.push_str(&source);
        }
        s.push_str("  >\n");
    }
    s.push_str(">\n");
    let path = dir.join("song.rpp");
    std::fs::write(&path, s).unwrap();
    path
}

fn run_groups(dir: &Path, args: &[&str]) -> std::process::Output {
    premix()
        .current_dir(dir)
        .arg("groups")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn groups_cli_json() {
    let dir = tempdir();
    write_rpp(
        dir.path(),
        &[
            ("Drums", "1 1", None),
            ("Kick In", "0 0", None),
            ("Snare", "2 -1", None),
            ("Lead Vox", "0 0", Some(0xffff00)),
            ("Keys MIDI", "0 0", None),
        ],
    );
    let out = run_groups(dir.path(), &["song.rpp", "--json", "--analyze", "none"]);
    assert_eq!(out.status.code(), Some(1), "a track was skipped");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["name"], "Drums");
    let kick = &groups[0]["tracks"][0];
    assert_eq!(kick["name"], "Kick In");
    assert_eq!(kick["index"], 1);
    assert_eq!(kick["role"], "normal");
    assert_eq!(kick["class"], "bass_drum");
    assert_eq!(kick["source"], "folder");
    assert_eq!(kick["reason"], "folder 'Drums'; name matches 'kick'");
    assert_eq!(groups[1]["name"], "Vocals");
    assert_eq!(groups[1]["tracks"][0]["role"], "lead");
    assert_eq!(groups[1]["tracks"][0]["class"], "main_vocals");
    assert_eq!(v["skipped"][0]["name"], "Keys MIDI");
    assert_eq!(v["skipped"][0]["reason"], "no audio clips (MIDI)");
}

#[test]
fn groups_cli_table_rules_and_ignore_folders() {
    let dir = tempdir();
    write_rpp(
        dir.path(),
        &[
            ("Drums", "1 1", None),
            ("Kick In", "2 -1", None),
            ("Audio 3", "0 0", Some(0x0000ff)),
        ],
    );
    let rules = root().join("scripts/groups/examples/colour_convention.lua");
    let out = run_groups(
        dir.path(),
        &[
            "song.rpp",
            "--ignore-folders",
            "--analyze",
            "none",
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].ends_with("song.rpp  (2 groups, 2 tracks grouped, 0 skipped)"),
        "{stdout}"
    );
    assert_eq!(lines[2], "Drums  (1 track)");
    assert!(
        lines[3].contains("Kick In")
            && lines[3].contains("bass_drum")
            && lines[3].contains("name matches 'kick'")
    );
    assert_eq!(lines[5], "Bass  (1 track)");
    assert!(
        lines[6].contains("Audio 3")
            && lines[6].contains("script")
            && lines[6].contains("colour #0000ff")
    );
}

#[test]
fn groups_cli_analyses_tracks_the_names_cannot_place() {
    // A generated kick renamed to "Audio 1" (track, take and file), next to
    // a named bass: `premix groups` analyses only the kick and places it by
    // its features; with `--analyze none` it falls back to Other.
    let dir = tempdir();
    let cfg = GenerateConfig {
        tracks: 2,
        seconds: 4.0,
        folders: false,
        ..GenerateConfig::default()
    };
    let report = generate(&cfg, dir.path(), &|_, _| {}).expect("generate");
    let kick = &report.tracks[0];
    assert_eq!(kick.instrument, Instrument::Kick);
    let old_file = kick.file.file_name().unwrap().to_str().unwrap().to_owned();
    let wav = dir.path().join(&kick.file); // (relative to the output folder)
    std::fs::rename(&wav, wav.with_file_name("take1.wav")).unwrap();
    let rpp = std::fs::read_to_string(&report.session)
        .unwrap()
        .replace(&format!("NAME \"{}\"", kick.name), "NAME \"Audio 1\"")
        .replace(&old_file, "take1.wav");
    std::fs::write(&report.session, rpp).unwrap();
    let session = report.session.to_str().unwrap();

    let out = run_groups(dir.path(), &[session, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let find = |v: &serde_json::Value, name: &str| -> (String, serde_json::Value) {
        for g in v["groups"].as_array().unwrap() {
            for t in g["tracks"].as_array().unwrap() {
                if t["name"] == name {
                    return (g["name"].as_str().unwrap().to_owned(), t.clone());
                }
            }
        }
        panic!("no track {name} in {v}");
    };
    let (group, t) = find(&v, "Audio 1");
    assert_eq!(
        (group.as_str(), &t["class"], &t["source"]),
        ("Drums", &"bass_drum".into(), &"feature".into())
    );
    assert!(
        t["reason"].as_str().unwrap().starts_with("features: "),
        "{t}"
    );
    let (group, t) = find(&v, "Bass DI");
    assert_eq!((group.as_str(), &t["source"]), ("Bass", &"name".into()));

    let out = run_groups(dir.path(), &[session, "--json", "--analyze", "none"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (group, t) = find(&v, "Audio 1");
    assert_eq!(
        (group.as_str(), &t["source"]),
        ("Other", &"fallback".into())
    );
}

/// A bad or hostile rules file: exit 2, one line on stderr naming the file
/// and line, nothing on stdout, no file written.
fn expect_cli_failure(script: &str, needle: &str) {
    let dir = tempdir();
    write_rpp(dir.path(), &[("Kick", "0 0", None), ("Snare", "0 0", None)]);
    std::fs::write(dir.path().join("rules.lua"), script).unwrap();
    let before = listing(dir.path());
    let t0 = Instant::now();
    let out = run_groups(dir.path(), &["song.rpp", "--rules", "rules.lua"]);
    let took = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{script}: {stderr}");
    assert!(out.stdout.is_empty(), "{script}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("premix: rules.lua:"), "{stderr}");
    assert!(stderr.contains(needle), "{script}: {stderr}");
    assert!(took < BOMB_BOUND, "{script}: {took:?}");
    assert_eq!(listing(dir.path()), before, "{script}: nothing written");
    assert!(!Path::new("/tmp/premix-pwned").exists());
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn groups_cli_escapes_and_bombs_exit_2() {
    let cases = [
        (
            "local f = io.open('x.txt', 'w') f:write('x')",
            "(global 'io')",
        ),
        ("os.execute('touch /tmp/premix-pwned')", "(global 'os')"),
        ("require('io')", "(global 'require')"),
        ("load(string.dump(print))", "(field 'dump')"),
        ("local s = string.rep('x', 2^30)", "memory limit"),
        ("local function f() return 1 + f() end f()", ""),
        ("while true do end", "endless loop"),
        (
            "function group(t) t.name = 'x' end",
            "rules.lua:1: track is read-only",
        ),
        (
            "function group(t) setmetatable(t, nil) end",
            "cannot change a protected metatable",
        ),
        (
            "function group(t) return { group = 'A', rol = 'lead' } end",
            "unknown key 'rol'",
        ),
    ];
    for (script, needle) in cases {
        expect_cli_failure(script, needle);
    }
}

#[test]
fn groups_cli_refuses_bytecode_rules() {
    let dir = tempdir();
    write_rpp(dir.path(), &[("Kick", "0 0", None)]);
    std::fs::write(
        dir.path().join("rules.luac"),
        b"\x1bLuaT\x00\x19\x93\r\n\x1a\n",
    )
    .unwrap();
    let out = run_groups(dir.path(), &["song.rpp", "--rules", "rules.luac"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "premix: rules.luac: is compiled Lua bytecode; premix runs Lua source only\n"
    );
}
