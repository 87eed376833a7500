//! Edits change only their targets (checked against the original text), keep
//! Live's Id rules (checked by the validator and directly), and the
//! validator catches hand-broken sets.

mod common;

use premix_als::live::{is_pointee_tag, TrackKind};
use premix_als::{validate, Document, ElementId, IssueKind};
use std::collections::BTreeMap;
use std::path::Path;

fn read(dir: &Path, name: &str) -> Document {
    Document::read(&dir.join(name)).unwrap()
}

/// Issue kinds with counts, to compare a set before and after an edit.
fn issue_counts(doc: &Document) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for i in validate(doc) {
        *m.entry(format!("{:?}", i.kind)).or_default() += 1;
    }
    m
}

/// The differing region of two texts, widened to whole lines: (old, new).
fn changed_lines<'a>(old: &'a str, new: &'a str) -> (&'a str, &'a str) {
    let p = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let max_s = old.len().min(new.len()) - p;
    let s = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_s)
        .take_while(|(a, b)| a == b)
        .count();
    let line_start = old[..p].rfind('\n').map_or(0, |i| i + 1);
    let old_end = old.len() - s;
    let new_end = new.len() - s;
    let old_line_end = old[old_end..]
        .find('\n')
        .map_or(old.len(), |i| old_end + i + 1);
    let new_line_end = new[new_end..]
        .find('\n')
        .map_or(new.len(), |i| new_end + i + 1);
    (
        &old[line_start..old_line_end],
        &new[line_start..new_line_end],
    )
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn writable_sets(dir: &Path) -> Vec<std::path::PathBuf> {
    common::als_files(dir)
        .into_iter()
        .filter(|p| !p.to_str().unwrap().contains("live8"))
        .collect()
}

#[test]
fn set_manual_changes_only_the_value() {
    let Some(dir) = common::corpus() else { return };
    let mut edits = 0;
    for path in writable_sets(&dir) {
        let mut doc = Document::read(&path).unwrap();
        let before = issue_counts(&doc);
        let mut tracks = doc.tracks();
        tracks.extend(doc.master_track());
        let mut wanted = Vec::new();
        for (k, t) in tracks.iter().enumerate() {
            // Live's spellings of the values: see float.rs for the rule.
            let cases = [
                ("Volume", 0.5, "0.5"),
                ("Volume", 0.707_106_709_5, "0.7071067095"),
                ("Pan", -0.25, "-0.25"),
                ("Pan", 0.125 * k as f64 / 8.0, ""),
            ];
            for (param, value, text) in cases {
                let Some(p) = doc.mixer_parameter(t.element, param) else {
                    continue;
                };
                let span = doc.span(p.manual.unwrap());
                let prev = doc.xml().to_owned();
                doc.set_manual(p.element, value).unwrap();
                // The expected text is built from the previous bytes alone.
                let text = if text.is_empty() {
                    premix_als::format_live_float(value)
                } else {
                    text.to_owned()
                };
                let expected = format!(
                    "{}<Manual Value=\"{text}\" />{}",
                    &prev[..span.start],
                    &prev[span.end..]
                );
                assert!(doc.xml() == expected, "{}: {param}", path.display());
                wanted.push((t.id, param, value));
                edits += 1;
            }
        }
        assert_eq!(issue_counts(&doc), before);
        let again = Document::parse(&doc.to_bytes().unwrap()).unwrap();
        let mut all = again.tracks();
        all.extend(again.master_track());
        // Later edits of the same parameter win.
        let mut last = BTreeMap::new();
        for (id, param, value) in wanted {
            last.insert((id, param), value);
        }
        for ((id, param), value) in last {
            let t = all.iter().find(|t| t.id == id).unwrap();
            let v = again
                .mixer_parameter(t.element, param)
                .unwrap()
                .value
                .unwrap();
            // f32 storage: Live keeps ~7 significant digits.
            assert!((v - value).abs() < 1e-7, "{v} vs {value}");
        }
    }
    assert!(edits > 100, "{edits}");
}

/// (set, template set, device tag, target track name, index)
const DEVICE_CASES: [(&str, &str, &str, &str, usize); 7] = [
    (
        "abletoolz_skeleton_9.6.0.als",
        "abletoolz_skeleton_9.6.0.als",
        "Compressor2",
        "9-Audio",
        0,
    ),
    (
        "dawtool_live9-patch-markers-noauto.als",
        "dawtool_live9-patch-markers-noauto.als",
        "Eq8",
        "2-Audio",
        0,
    ),
    (
        "abletoolz_skeleton_10.1.3.als",
        "abletoolz_skeleton_10.1.3.als",
        "Reverb",
        "kick sparkle",
        0,
    ),
    (
        "dawtool_example-120.als",
        "abletoolz_skeleton_10.1.3.als",
        "Reverb",
        "1-divineboys-v1",
        0,
    ),
    (
        "abletoolz_skeleton_11.0.12.als",
        "abletoolz_skeleton_11.0.12.als",
        "Eq8",
        "Drum bus",
        99,
    ),
    (
        "abletoolz_skeleton_12.2.6.als",
        "abletoolz_skeleton_12.2.6.als",
        "Reverb",
        "3-Audio",
        0,
    ),
    (
        "dawtool_L12-automation.als",
        "abletoolz_skeleton_12.2.6.als",
        "Delay",
        "1-Audio",
        0,
    ),
];

fn find_device(doc: &Document, tag: &str) -> ElementId {
    doc.tracks()
        .iter()
        .flat_map(|t| doc.devices(t.element))
        .find(|&d| doc.name(d) == tag)
        .unwrap_or_else(|| panic!("no {tag} in the template set"))
}

#[test]
fn insert_device_adds_one_subtree_with_fresh_ids() {
    let Some(dir) = common::corpus() else { return };
    for (set, tpl_set, tag, track_name, index) in DEVICE_CASES {
        let tpl_doc = read(&dir, tpl_set);
        let template = tpl_doc.text_of(find_device(&tpl_doc, tag)).to_owned();
        let template_pointees = tpl_doc
            .descendants(find_device(&tpl_doc, tag))
            .into_iter()
            .filter(|&e| is_pointee_tag(tpl_doc.name(e)) && tpl_doc.attr(e, "Id").is_some())
            .count() as u64;
        assert!(template_pointees > 0);

        let mut doc = read(&dir, set);
        let orig = doc.xml().to_owned();
        let before = issue_counts(&doc);
        let used_max = doc.pointee_ids().iter().map(|p| p.0).max().unwrap();
        let base = doc.next_pointee_id().unwrap_or(0).max(used_max + 1);
        let track = doc
            .tracks()
            .into_iter()
            .find(|t| t.name == track_name)
            .unwrap();
        let n_before = doc.devices(track.element).len();
        let dev = doc.insert_device(track.element, index, &template).unwrap();

        // Id rules.
        assert_eq!(issue_counts(&doc), before, "{set}");
        let devices = doc.devices(track.element);
        assert_eq!(devices.len(), n_before + 1);
        assert_eq!(devices[index.min(n_before)], dev);
        assert_eq!(doc.name(dev), tag);
        let new_ids: Vec<u64> = doc
            .descendants(dev)
            .into_iter()
            .filter(|&e| is_pointee_tag(doc.name(e)))
            .filter_map(|e| doc.attr(e, "Id").map(|s| s.parse().unwrap()))
            .collect();
        assert_eq!(new_ids.len() as u64, template_pointees);
        assert!(new_ids
            .iter()
            .all(|&i| i >= base && i < base + template_pointees));
        if let Some(npi) = doc.next_pointee_id() {
            assert_eq!(npi, base + template_pointees, "{set}");
        }

        // Only the device (and NextPointeeId) changed. Restore NextPointeeId
        // in the text, then the one remaining difference is the device.
        let dev_text = doc.text_of(dev).to_owned();
        let mut edited = doc.xml().to_owned();
        if let Some(npi) = doc.next_pointee_id() {
            let old = orig
                .split("<NextPointeeId Value=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap();
            edited = edited.replacen(
                &format!("<NextPointeeId Value=\"{npi}\" />"),
                &format!("<NextPointeeId Value=\"{old}\" />"),
                1,
            );
        }
        let (old_part, new_part) = changed_lines(&orig, &edited);
        assert!(new_part.contains(&dev_text), "{set}");
        let rest = squash(&new_part.replacen(&dev_text, "", 1));
        if n_before == 0 && squash(old_part).ends_with("/>") {
            // `<Devices />` opened up into `<Devices>…</Devices>`.
            assert_eq!(squash(old_part), "<Devices/>", "{set}");
            assert_eq!(rest, "<Devices></Devices>", "{set}");
        } else {
            assert_eq!(squash(old_part), squash(&old_part.replace(&dev_text, "")));
            assert_eq!(rest, squash(old_part), "{set}: {new_part}");
        }
        // Indented one tab deeper than its list, closing line included.
        let list = doc.devices_element(track.element).unwrap();
        let list_line = doc.xml()[..doc.span(list).start]
            .rsplit('\n')
            .next()
            .unwrap();
        let last_line = dev_text.rsplit('\n').next().unwrap();
        assert_eq!(last_line, format!("{list_line}\t</{tag}>"), "{set}");

        // The written set re-reads to the same text.
        let again = Document::parse(&doc.to_bytes().unwrap()).unwrap();
        assert!(again.xml() == doc.xml());
    }
}

/// (set, template group name, member names, new group name)
const GROUP_CASES: [(&str, &str, &str, &[&str]); 4] = [
    (
        "dawtool_live9-patch-markers-noauto.als",
        "dawtool_live9-patch-markers-noauto.als",
        "Bass",
        &["2-Audio", "3-Audio", "fx stems"],
    ),
    (
        "abletoolz_skeleton_10.1.3.als",
        "abletoolz_skeleton_10.1.3.als",
        "drums",
        &["chord_info", "kick sparkle"],
    ),
    (
        "dawtool_example-120.als",
        "abletoolz_skeleton_10.1.3.als",
        "drums",
        &["1-divineboys-v1"],
    ),
    (
        "abletoolz_skeleton_11.0.12.als",
        "abletoolz_skeleton_11.0.12.als",
        "kcksnr1",
        &["snr2", "8-Drums to MIDI"],
    ),
];

#[test]
fn group_tracks_inserts_a_group_and_reparents_members() {
    let Some(dir) = common::corpus() else { return };
    for (set, tpl_set, tpl_name, members) in GROUP_CASES {
        let tpl_doc = read(&dir, tpl_set);
        let tpl = tpl_doc
            .tracks()
            .into_iter()
            .find(|t| t.name == tpl_name)
            .unwrap();
        let template = tpl_doc.text_of(tpl.element).to_owned();

        let mut doc = read(&dir, set);
        let orig = doc.clone();
        let before = issue_counts(&doc);
        let old_tracks = doc.tracks();
        let member_els: Vec<ElementId> = members
            .iter()
            .map(|m| old_tracks.iter().find(|t| t.name == *m).unwrap().element)
            .collect();
        let parent = old_tracks
            .iter()
            .find(|t| t.name == members[0])
            .unwrap()
            .group_id;
        let (group, gid) = doc
            .group_tracks(&member_els, &template, "premix bus")
            .unwrap();

        assert_eq!(issue_counts(&doc), before, "{set}: {:#?}", validate(&doc));
        let tracks = doc.tracks();
        assert_eq!(tracks.len(), old_tracks.len() + 1);
        let gi = tracks.iter().position(|t| t.element == group).unwrap();
        let g = &tracks[gi];
        assert_eq!(
            (g.kind, g.id, g.name.as_str()),
            (TrackKind::Group, Some(gid), "premix bus")
        );
        assert_eq!(g.group_id, parent);
        // A new, unused track Id.
        assert!(old_tracks.iter().all(|t| t.id != Some(gid)));
        // The members follow the group in their old order, routed to it.
        for (k, m) in members.iter().enumerate() {
            let t = &tracks[gi + 1 + k];
            assert_eq!(t.name, *m, "{set}");
            assert_eq!(t.group_id, Some(gid));
            assert_eq!(t.output_target.as_deref(), Some("AudioOut/GroupTrack"));
        }
        // One send holder per return, one slot per scene.
        let returns = tracks
            .iter()
            .filter(|t| t.kind == TrackKind::Return)
            .count();
        let sends = doc.path(group, &["DeviceChain", "Mixer", "Sends"]).unwrap();
        assert_eq!(doc.children(sends).count(), returns);
        if let Some(scenes) = doc.scene_count() {
            assert_eq!(
                doc.children(doc.child(group, "Slots").unwrap()).count(),
                scenes
            );
        }

        // Every other track is byte-identical; members differ only in their
        // group and routing lines; outside Tracks only NextPointeeId moved.
        for t in &old_tracks {
            let now = tracks.iter().find(|x| x.id == t.id).unwrap();
            let (a, b) = (orig.text_of(t.element), doc.text_of(now.element));
            if members.contains(&t.name.as_str()) {
                let al: Vec<&str> = a.lines().collect();
                let bl: Vec<&str> = b.lines().collect();
                assert_eq!(al.len(), bl.len());
                for (x, y) in al.iter().zip(&bl) {
                    if x != y {
                        let key = x.trim_start().split([' ', '>']).next().unwrap();
                        assert!(
                            [
                                "<TrackGroupId",
                                "<Target",
                                "<UpperDisplayString",
                                "<LowerDisplayString"
                            ]
                            .contains(&key),
                            "{set}: {x} -> {y}"
                        );
                    }
                }
            } else {
                assert!(a == b, "{set}: track {:?} changed", t.name);
            }
        }
        let ot = orig.span(orig.tracks_element().unwrap());
        let nt = doc.span(doc.tracks_element().unwrap());
        let strip = |s: &str| -> String {
            s.lines()
                .filter(|l| !l.contains("<NextPointeeId "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            strip(&orig.xml()[..ot.start]),
            strip(&doc.xml()[..nt.start])
        );
        assert!(orig.xml()[ot.end..] == doc.xml()[nt.end..]);

        let again = Document::parse(&doc.to_bytes().unwrap()).unwrap();
        assert!(again.xml() == doc.xml());
    }
}

#[test]
fn validator_catches_hand_broken_sets() {
    let Some(dir) = common::corpus() else { return };
    let clean = read(&dir, "abletoolz_skeleton_10.1.3.als");
    assert!(validate(&clean).is_empty());
    let kinds = |d: &Document| -> Vec<IssueKind> { validate(d).iter().map(|i| i.kind).collect() };
    let pointees = clean.pointee_ids();
    let track = |d: &Document, n: &str| d.tracks().into_iter().find(|t| t.name == n).unwrap();

    let mut d = clean.clone();
    let (id0, _) = pointees[0];
    d.set_attr(pointees[1].1, "Id", &id0.to_string()).unwrap();
    assert_eq!(kinds(&d), [IssueKind::DuplicatePointeeId]);

    let mut d = clean.clone();
    let npi = d.path(d.root(), &["LiveSet", "NextPointeeId"]).unwrap();
    let max = pointees.iter().map(|p| p.0).max().unwrap();
    d.set_attr(npi, "Value", &max.to_string()).unwrap();
    assert_eq!(kinds(&d), [IssueKind::PointeeIdNotBelowNext]);

    let mut d = clean.clone();
    let devs = d.devices(
        track(
            &d,
            "B-Ohmicide_vstwin.64 | Wolfram | iZotope Trash 2 | Pro-R | Pro-Q 3",
        )
        .element,
    );
    let first_id = d.attr(devs[0], "Id").unwrap().to_owned();
    d.set_attr(devs[1], "Id", &first_id).unwrap();
    assert_eq!(kinds(&d), [IssueKind::DuplicateListId]);

    let mut d = clean.clone();
    let a = track(&d, "chord_info");
    d.set_attr(a.element, "Id", "61").unwrap();
    assert_eq!(kinds(&d), [IssueKind::DuplicateTrackId]);

    let mut d = clean.clone();
    // The group's last member, so no other member is cut off from it.
    let shaker = track(&d, "10-Shaker (9)");
    let gid = d.child(shaker.element, "TrackGroupId").unwrap();
    d.set_attr(gid, "Value", "9999").unwrap();
    assert_eq!(kinds(&d), [IssueKind::UnknownGroup]);

    let mut d = clean.clone();
    let kick = track(&d, "kick");
    let target = d
        .path(
            kick.element,
            &["DeviceChain", "AudioOutputRouting", "Target"],
        )
        .unwrap();
    d.set_attr(target, "Value", "AudioOut/Master").unwrap();
    assert_eq!(kinds(&d), [IssueKind::MemberNotRoutedToGroup]);

    let mut d = clean.clone();
    let kick = track(&d, "kick");
    let holder = d
        .path(
            kick.element,
            &["DeviceChain", "Mixer", "Sends", "TrackSendHolder"],
        )
        .unwrap();
    d.remove_element(holder).unwrap();
    assert_eq!(kinds(&d), [IssueKind::SendHolderCount]);

    let mut d = clean.clone();
    let kick = track(&d, "kick");
    let slot = d
        .path(
            kick.element,
            &["DeviceChain", "MainSequencer", "ClipSlotList", "ClipSlot"],
        )
        .unwrap();
    d.remove_element(slot).unwrap();
    assert_eq!(kinds(&d), [IssueKind::SlotCount]);

    let mut d = clean.clone();
    let kick = track(&d, "kick");
    d.move_track(kick.element, 0).unwrap();
    assert_eq!(kinds(&d), [IssueKind::MemberNotContiguous]);
    // Moving a whole group block keeps its members contiguous.
    let mut d = clean.clone();
    let drums = track(&d, "drums");
    d.move_track(drums.element, 0).unwrap();
    assert!(validate(&d).is_empty(), "{:#?}", validate(&d));
    let names: Vec<String> = d.tracks().iter().map(|t| t.name.clone()).collect();
    assert_eq!(&names[..3], ["drums", "kick", "10-Shaker (9)"]);
}

#[test]
fn edits_refuse_what_they_cannot_do() {
    let Some(dir) = common::corpus() else { return };
    let mut d = read(&dir, "abletoolz_skeleton_10.1.3.als");
    let orig = d.xml().to_owned();
    let t = d.tracks()[1].clone();
    assert!(d.insert_device(t.element, 0, "not xml").is_err());
    assert!(d.insert_device(t.element, 0, "<A /><B />").is_err());
    assert!(
        d.set_track_group(t.element, Some(47)).is_err(),
        "47 is a MidiTrack"
    );
    assert!(
        d.set_manual(t.element, 1.0).is_err(),
        "a track has no Manual"
    );
    let gt = d.tracks()[2].clone();
    assert!(d
        .insert_group_track(0, d.text_of(t.element).to_owned().as_str(), "x", None)
        .is_err());
    assert!(d
        .group_tracks(
            &[gt.element, t.element],
            d.text_of(gt.element).to_owned().as_str(),
            "x"
        )
        .is_ok());
    let mut d2 = read(&dir, "abletoolz_skeleton_10.1.3.als");
    let ret = d2
        .tracks()
        .into_iter()
        .find(|t| t.kind == TrackKind::Return)
        .unwrap();
    let tpl = d2.text_of(gt.element).to_owned();
    assert!(d2.group_tracks(&[ret.element], &tpl, "x").is_err());
    assert!(d2.xml() == orig);
}
