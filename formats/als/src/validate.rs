//! The structural validator: the rules a set must keep for Live to open it
//! (FORMATS.md §2.6), checked on any document.

use crate::live::{duplicate_list_ids, TrackKind};
use crate::{Document, ElementId};
use std::collections::HashMap;
use std::fmt;

/// Which rule an [`Issue`] breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IssueKind {
    /// Not `Ableton/LiveSet/Tracks`.
    NotALiveSet,
    /// Two pointee elements share an Id.
    DuplicatePointeeId,
    /// A pointee Id is not below `NextPointeeId`.
    PointeeIdNotBelowNext,
    /// Two items of one list share an Id.
    DuplicateListId,
    /// Two tracks share an Id.
    DuplicateTrackId,
    /// A track's `TrackSendHolder` count differs from the number of returns.
    SendHolderCount,
    /// A `TrackGroupId` names no GroupTrack.
    UnknownGroup,
    /// A group member does not route `AudioOut/GroupTrack`.
    MemberNotRoutedToGroup,
    /// A group member does not follow its group contiguously in `Tracks`.
    MemberNotContiguous,
    /// A track's clip-slot list (`GroupTrack/Slots`, or
    /// `DeviceChain/MainSequencer/ClipSlotList` of audio and MIDI tracks)
    /// differs from the number of scenes.
    SlotCount,
    /// A pointee element whose Id is missing or not a number.
    BadId,
}

/// One broken rule, at an element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub kind: IssueKind,
    pub element: ElementId,
    /// Byte offset of the element in the XML.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {:?}: {}", self.offset, self.kind, self.message)
    }
}

/// Checks a parsed set (it is well-formed, or it would not have parsed):
/// pointee Ids unique and below `NextPointeeId`; list Ids unique in their
/// list; track Ids unique; every track (returns included, master excluded)
/// holds one `TrackSendHolder` per return track and one clip slot per
/// scene; every `TrackGroupId` names
/// an existing GroupTrack, its member routes `AudioOut/GroupTrack` and
/// follows the group contiguously. Returns every issue found (empty = valid).
pub fn validate(doc: &Document) -> Vec<Issue> {
    let mut out = Vec::new();
    let mut push = |kind, e: ElementId, message: String| {
        out.push(Issue {
            kind,
            element: e,
            offset: doc.span(e).start,
            message,
        })
    };
    if doc.tracks_element().is_err() {
        push(
            IssueKind::NotALiveSet,
            doc.root(),
            "no Ableton/LiveSet/Tracks".into(),
        );
        return out;
    }

    // Pointee Ids.
    let next = doc.next_pointee_id();
    let mut seen: HashMap<u64, ElementId> = HashMap::new();
    for e in doc.descendants(doc.root()) {
        if !crate::live::is_pointee_tag(doc.name(e)) {
            continue;
        }
        let Some(raw) = doc.attr(e, "Id") else {
            continue; // e.g. a bare <Pointee /> reference shape
        };
        let Ok(id) = raw.parse::<u64>() else {
            push(
                IssueKind::BadId,
                e,
                format!("<{}> Id {raw:?} is not a number", doc.name(e)),
            );
            continue;
        };
        if let Some(first) = seen.insert(id, e) {
            push(
                IssueKind::DuplicatePointeeId,
                e,
                format!(
                    "pointee Id {id} also used at byte {}",
                    doc.span(first).start
                ),
            );
        }
        if let Some(n) = next {
            if id >= n {
                push(
                    IssueKind::PointeeIdNotBelowNext,
                    e,
                    format!("pointee Id {id} is not below NextPointeeId {n}"),
                );
            }
        }
    }

    // List Ids.
    let tracks_el = doc.tracks_element().ok();
    for (list, id) in duplicate_list_ids(doc) {
        let kind = if Some(list) == tracks_el {
            IssueKind::DuplicateTrackId
        } else {
            IssueKind::DuplicateListId
        };
        push(
            kind,
            list,
            format!("Id {id} appears more than once in <{}>", doc.name(list)),
        );
    }

    // Send holders.
    let tracks = doc.tracks();
    let returns = tracks
        .iter()
        .filter(|t| t.kind == TrackKind::Return)
        .count();
    for t in &tracks {
        let holders = doc
            .mixer(t.element)
            .and_then(|m| doc.child(m, "Sends"))
            .map_or(0, |s| {
                doc.children(s)
                    .filter(|&h| doc.name(h) == "TrackSendHolder")
                    .count()
            });
        if holders != returns {
            push(
                IssueKind::SendHolderCount,
                t.element,
                format!(
                    "track {:?} has {holders} TrackSendHolders for {returns} return tracks",
                    t.name
                ),
            );
        }
    }

    // Clip slots: one per scene.
    if let Some(scenes) = doc.scene_count() {
        for t in &tracks {
            let list = match t.kind {
                TrackKind::Group => doc.child(t.element, "Slots"),
                TrackKind::Audio | TrackKind::Midi => {
                    doc.path(t.element, &["DeviceChain", "MainSequencer", "ClipSlotList"])
                }
                _ => None,
            };
            if let Some(l) = list {
                let n = doc.children(l).count();
                if n != scenes {
                    push(
                        IssueKind::SlotCount,
                        t.element,
                        format!("track {:?} has {n} clip slots for {scenes} scenes", t.name),
                    );
                }
            }
        }
    }

    // Groups.
    let group_pos: HashMap<i64, usize> = tracks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == TrackKind::Group)
        .filter_map(|(i, t)| t.id.map(|id| (id, i)))
        .collect();
    for (i, t) in tracks.iter().enumerate() {
        let Some(g) = t.group_id else { continue };
        let Some(&gi) = group_pos.get(&g) else {
            push(
                IssueKind::UnknownGroup,
                t.element,
                format!(
                    "track {:?} has TrackGroupId {g}, which names no GroupTrack",
                    t.name
                ),
            );
            continue;
        };
        if t.output_target.as_deref() != Some("AudioOut/GroupTrack") {
            push(
                IssueKind::MemberNotRoutedToGroup,
                t.element,
                format!(
                    "track {:?} is in group {g} but routes to {:?}",
                    t.name,
                    t.output_target.as_deref().unwrap_or("")
                ),
            );
        }
        // Contiguity: every track between the group and this member belongs
        // to the group, directly or through nested groups.
        let inside = |mut k: usize| -> bool {
            // Walk k's group chain up to the top; true if it reaches g.
            for _ in 0..tracks.len() {
                match tracks[k].group_id {
                    Some(x) if x == g => return true,
                    Some(x) => match group_pos.get(&x) {
                        Some(&p) => k = p,
                        None => return false,
                    },
                    None => return false,
                }
            }
            false
        };
        if gi > i || !(gi + 1..i).all(inside) {
            push(
                IssueKind::MemberNotContiguous,
                t.element,
                format!(
                    "track {:?} does not follow its group {g} contiguously",
                    t.name
                ),
            );
        }
    }
    out
}
