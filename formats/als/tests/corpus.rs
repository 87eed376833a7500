//! Every corpus set round-trips exactly, reads as its independent ground
//! truth says (abletoolz's harvested JSON, the corpus SOURCES.md notes), and
//! passes the structural validator.

mod common;

use premix_als::live::TrackKind;
use premix_als::{validate, Compression, Document, IssueKind};
use std::path::Path;

#[test]
fn every_corpus_set_round_trips_to_identical_xml() {
    let Some(dir) = common::corpus() else { return };
    for path in common::als_files(&dir) {
        let doc = Document::read(&path).unwrap();
        // Inflated independently of the crate (flate2 directly).
        let xml = common::inflate(&path);
        assert!(doc.xml().as_bytes() == xml.as_slice(), "{}", path.display());
        // Re-gzipped output inflates to the same XML and parses to a fixpoint.
        let bytes = doc.to_bytes().unwrap();
        assert_eq!(
            &bytes[..2],
            &[0x1f, 0x8b],
            "gzip kept for {}",
            path.display()
        );
        let again = Document::parse(&bytes).unwrap();
        assert!(again.xml() == doc.xml(), "{}", path.display());
        assert_eq!(again.compression(), doc.compression());
        assert!(again.to_bytes().unwrap() == bytes, "{}", path.display());
    }
}

#[test]
fn gzip_header_fields_are_kept() {
    let Some(dir) = common::corpus() else { return };
    // SOURCES.md: the Live 9 file was re-gzipped by its source repository and
    // carries a file name; Live's own files have mtime 0 and no name.
    let live9 = Document::read(&dir.join("dawtool_live9-patch-markers-noauto.als")).unwrap();
    match live9.compression() {
        Compression::Gzip { filename, .. } => {
            let name = String::from_utf8(filename.clone().unwrap()).unwrap();
            assert!(name.starts_with("live9-"), "{name}");
        }
        c => panic!("{c:?}"),
    }
    let l12 = Document::read(&dir.join("dawtool_L12-automation.als")).unwrap();
    assert_eq!(l12.compression(), &Compression::live_gzip());
    let out = l12.to_bytes().unwrap();
    // The header bytes Live writes: no flags, mtime 0, OS 3 (XFL may differ
    // with the compression level).
    let orig = std::fs::read(dir.join("dawtool_L12-automation.als")).unwrap();
    assert_eq!(out[..8], orig[..8]);
    assert_eq!(out[9], orig[9]);
}

#[test]
fn plain_xml_is_accepted_and_written_plain() {
    let Some(dir) = common::corpus() else { return };
    let xml = common::inflate(&dir.join("dawtool_example-120.als"));
    let doc = Document::parse(&xml).unwrap();
    assert_eq!(doc.compression(), &Compression::None);
    assert!(doc.to_bytes().unwrap() == xml);
    assert_eq!(doc.tracks().len(), 1);
}

fn tag(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Audio => "AudioTrack",
        TrackKind::Midi => "MidiTrack",
        TrackKind::Group => "GroupTrack",
        TrackKind::Return => "ReturnTrack",
        TrackKind::Master => "MasterTrack",
    }
}

#[test]
fn skeletons_agree_with_abletoolz_expected_json() {
    let Some(dir) = common::corpus() else { return };
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("abletoolz_skeletons_expected.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for path in common::als_files(&dir) {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let Some(version) = stem.strip_prefix("abletoolz_skeleton_") else {
            continue;
        };
        let exp = &expected[version];
        assert!(exp.is_object(), "no expected entry for {version}");
        let doc = Document::read(&path).unwrap();
        let got: Vec<(String, String)> = doc
            .tracks()
            .iter()
            .map(|t| (tag(t.kind).to_owned(), t.name.clone()))
            .collect();
        let want: Vec<(String, String)> = exp["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["tag"].as_str().unwrap().to_owned(),
                    t["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(got, want, "{version}");
        assert_eq!(
            doc.sample_refs().len() as u64,
            exp["sample_ref_count"].as_u64().unwrap(),
            "{version}"
        );
        // abletoolz counts references carrying an absolute location: `Path`
        // (Live 11+), the Windows path in `Data` or a `SearchHint/PathHint`
        // (Live 9–10).
        let with_abs = doc
            .sample_refs()
            .iter()
            .filter(|r| {
                r.path.as_deref().is_some_and(|p| !p.is_empty())
                    || r.data_path.is_some()
                    || !r.search_hint_dirs.is_empty()
            })
            .count();
        assert_eq!(
            with_abs as u64,
            exp["sample_refs_with_abs"].as_u64().unwrap(),
            "{version}"
        );
        let master = doc.master_track().unwrap();
        assert_eq!(
            doc.name(master.element),
            exp["master_tag"].as_str().unwrap()
        );
        assert_eq!(doc.version().creator, exp["creator"].as_str().unwrap());
        let ver: Vec<u64> = exp["version"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(u64::from(doc.version().live_major.unwrap()), ver[0]);
        checked += 1;
    }
    assert_eq!(checked, 4, "the four abletoolz skeletons");
}

fn count(doc: &Document, kind: TrackKind) -> usize {
    doc.tracks().iter().filter(|t| t.kind == kind).count()
}

#[test]
fn dawtool_sets_read_as_their_sources_describe() {
    let Some(dir) = common::corpus() else { return };
    // SOURCES.md: "GroupTrack + 5 audio/11 MIDI tracks" (Live 8.1.4).
    // The 10.1.3 skeleton's first Data blob, read with grep and decoded by
    // hand (Python bytes.fromhex(...).decode("utf-16le")).
    let sk = Document::read(&dir.join("abletoolz_skeleton_10.1.3.als")).unwrap();
    let first = &sk.sample_refs()[0];
    assert_eq!(
        first.data_path.as_deref(),
        Some(r"C:\Users\someone\Desktop\p02130\p71748\p66562\Samples\p35208\p05901\p65206.wav")
    );
    assert_eq!(first.relative_dirs, ["Samples", "p35208", "p05901"]);
    assert_eq!(first.name.as_deref(), Some("p65206.wav"));

    let live8 = Document::read(&dir.join("dawtool_live8-patch-markers-noauto.als")).unwrap();
    assert_eq!(count(&live8, TrackKind::Group), 1);
    assert_eq!(count(&live8, TrackKind::Audio), 5);
    assert_eq!(count(&live8, TrackKind::Midi), 11);
    // Live 8 keeps the static volume in the pre-song FloatEvent; the file
    // holds `FloatEvent Time="-63072000" Value="0.4120975137"` for the group.
    let g = &live8.tracks()[0];
    let vol = live8.mixer_parameter(g.element, "Volume").unwrap();
    assert!(vol.manual.is_none());
    assert_eq!(vol.value, Some(0.412_097_513_7));
    // Its tempo is the pre-song event `FloatEvent Time="-63072000" Value="95.3"`.
    assert_eq!(live8.tempo().unwrap().value, Some(95.3));

    // "GroupTrack with 2 child tracks (TrackGroupId, AudioOut/GroupTrack),
    // 15 audio tracks, 124 audio clips, 2 returns" (Live 9.7.1).
    let live9 = Document::read(&dir.join("dawtool_live9-patch-markers-noauto.als")).unwrap();
    let tracks = live9.tracks();
    let group = tracks.iter().find(|t| t.kind == TrackKind::Group).unwrap();
    let members: Vec<_> = tracks.iter().filter(|t| t.group_id == group.id).collect();
    assert_eq!(members.len(), 2);
    assert!(members
        .iter()
        .all(|m| m.output_target.as_deref() == Some("AudioOut/GroupTrack")));
    assert_eq!(count(&live9, TrackKind::Audio), 15);
    assert_eq!(count(&live9, TrackKind::Return), 2);
    let clips: usize = tracks
        .iter()
        .map(|t| live9.arrangement_clips(t.element).len() + live9.session_clips(t.element).len())
        .sum();
    assert_eq!(clips, 124);

    // "one audio track, 4 arrangement audio clips, Live-10 FileRef
    // (RelativePathElement with Id attributes, type 1 with ""=parent dir)".
    let ex = Document::read(&dir.join("dawtool_example-120.als")).unwrap();
    let t = &ex.tracks()[0];
    let clips = ex.arrangement_clips(t.element);
    assert_eq!(clips.len(), 4);
    // Values read from the file: Tempo Manual 119.999992; the clips' fades
    // are 0 and their SampleRef's DefaultSampleRate is given.
    assert_eq!(ex.tempo().unwrap().value, Some(119.999_992));
    assert_eq!(clips[0].fade_in_length, Some(0.0));
    assert!(clips[0].default_sample_rate.is_some());
    let fr = clips[0].file_ref.clone().unwrap();
    assert_eq!(fr.name.as_deref(), Some("divineboys-v1.mp3"));
    assert_eq!(fr.relative_path_type, Some(1));
    assert_eq!(fr.relative_dirs.len(), 10);
    assert_eq!(&fr.relative_dirs[7..], ["Music", "recording", "reference"]);
    assert_eq!(
        fr.search_hint_dirs,
        ["Users", "mark", "Music", "recording", "reference"]
    );
    let c = fr.candidates(Path::new("/a/b/c/d/e/f/g/h"));
    assert_eq!(
        c[0],
        Path::new(
            "/a/b/c/d/e/f/g/h/../../../../../../../Music/recording/reference/divineboys-v1.mp3"
        )
    );
    assert_eq!(
        c[1],
        Path::new("/Users/mark/Music/recording/reference/divineboys-v1.mp3")
    );

    // "MainTrack (renamed from MasterTrack), AudioOut/Main routing,
    // automation envelopes" (Live 12.0b16).
    let l12 = Document::read(&dir.join("dawtool_L12-automation.als")).unwrap();
    assert_eq!(l12.name(l12.master_track().unwrap().element), "MainTrack");
    assert_eq!(
        l12.tracks()[0].output_target.as_deref(),
        Some("AudioOut/Main")
    );
    let automated = l12
        .tracks()
        .iter()
        .chain(l12.master_track().iter())
        .any(|t| !l12.automated_targets(t.element).is_empty());
    assert!(automated);
}

#[test]
fn live11_sample_references_use_the_relative_path_and_path_layout() {
    let Some(dir) = common::corpus() else { return };
    let doc = Document::read(&dir.join("abletoolz_skeleton_11.0.12.als")).unwrap();
    let refs = doc.sample_refs();
    // The first reference in the file (read with grep):
    // RelativePathType 3, RelativePath "Samples/p35208/p05901/p75576.wav",
    // Path "D:/p64034/p66562/Samples/p35208/p05901/p75576.wav".
    let clip_ref = refs
        .iter()
        .find(|r| r.relative_path.as_deref() == Some("Samples/p35208/p05901/p75576.wav"))
        .unwrap();
    assert_eq!(clip_ref.relative_path_type, Some(3));
    assert_eq!(
        clip_ref.path.as_deref(),
        Some("D:/p64034/p66562/Samples/p35208/p05901/p75576.wav")
    );
    assert_eq!(clip_ref.file_name().as_deref(), Some("p75576.wav"));
    let c = clip_ref.candidates(Path::new("/proj"));
    assert_eq!(c[0], Path::new("/proj/Samples/p35208/p05901/p75576.wav"));
    // Every reference carries a path (abletoolz: sample_refs_with_abs = 25).
    assert!(refs
        .iter()
        .all(|r| r.path.as_deref().is_some_and(|p| !p.is_empty())));
}

#[test]
fn validator_passes_every_corpus_set() {
    let Some(dir) = common::corpus() else { return };
    for path in common::als_files(&dir) {
        let doc = Document::read(&path).unwrap();
        let issues = validate(&doc);
        let name = path.file_name().unwrap().to_str().unwrap();
        if name == "abletoolz_skeleton_11.0.12.als" {
            // SOURCES.md / FORMATS.md §2.6.4: the pruned skeleton keeps 5
            // send holders for 2 returns on every track; nothing else breaks.
            assert_eq!(issues.len(), 8, "{issues:#?}");
            assert!(issues.iter().all(|i| i.kind == IssueKind::SendHolderCount));
        } else {
            assert!(issues.is_empty(), "{name}: {issues:#?}");
        }
    }
}

#[test]
fn live8_sets_are_read_only_with_a_clear_message() {
    let Some(dir) = common::corpus() else { return };
    let path = dir.join("dawtool_live8-patch-markers-noauto.als");
    let mut doc = Document::read(&path).unwrap();
    let reason = doc.read_only_reason().unwrap();
    assert!(reason.contains("Live 8"), "{reason}");
    let t = doc.tracks()[1].clone();
    let vol = doc.mixer_parameter(t.element, "Volume").unwrap();
    let err = doc.set_manual(vol.element, 0.5).unwrap_err();
    assert!(
        matches!(err.kind, premix_als::ErrorKind::ReadOnly(_)),
        "{err}"
    );
    assert!(err.to_string().contains("Live 8"), "{err}");
    assert!(doc.xml().as_bytes() == common::inflate(&path).as_slice());
    for other in common::als_files(&dir) {
        if other != path {
            let d = Document::read(&other).unwrap();
            assert_eq!(d.read_only_reason(), None, "{}", other.display());
        }
    }
}

#[test]
fn write_then_read_gives_the_same_set() {
    let Some(dir) = common::corpus() else { return };
    let src = dir.join("abletoolz_skeleton_12.2.6.als");
    let doc = Document::read(&src).unwrap();
    let tmp = std::env::temp_dir().join(format!("premix-als-write-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let out = tmp.join("out.als");
    doc.write(&out).unwrap();
    assert!(common::inflate(&out) == common::inflate(&src));
    assert!(!tmp.join("out.als.premix-tmp").exists());
    std::fs::remove_dir_all(&tmp).unwrap();
}
