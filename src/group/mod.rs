//! Grouping tracks into stems: which group each track is balanced in, its
//! role within the group and its instrument class.
//!
//! [`assign`] decides, for every track that plays audio, in this order:
//!
//! 1. **Folders.** A track inside a top-level folder belongs to the group
//!    named after that folder (the seed paper's user folders, ALGORITHMS.md
//!    §1.4), unless [`GroupConfig::ignore_folders`].
//! 2. **Name rules.** The shipped Lua rules (`scripts/groups/default.lua`,
//!    embedded in the binary) read the track name, then its file names, and
//!    give a group, a role and a class. Inside a folder they still give the
//!    role and class.
//! 3. **Features.** A track the rules cannot place is guessed from its
//!    analysis results, when there are any (rules in `features.rs`).
//! 4. Otherwise the track goes to `Other` as `misc`.
//! 5. **User hooks.** A `--rules` script's `group(track)` may override each
//!    track (it sees steps 1–4 as `track.default`), and its
//!    `groups(session)` may rework the whole assignment (see
//!    [`crate::script`] for the API).
//!
//! Folder tracks without audio are structure, not members. Other tracks
//! without audio clips (MIDI, empty) are listed in [`Grouping::skipped`]. Every
//! member carries a [`Source`] and a one-line reason.

mod features;

use crate::analysis::Features;
use crate::script::{
    GroupFacts, GroupScript, Limits, MemberFacts, Proposal, ScriptError, SessionFacts, TrackAnswer,
    TrackFacts,
};
use crate::session::{ClipKind, Session, Track};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The shipped name rules, `scripts/groups/default.lua`.
pub const DEFAULT_RULES: &str = include_str!("../../scripts/groups/default.lua");

/// A track's role within its group: stage 1 keeps a lead on top of the
/// group and background tracks under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The group's focus: the lead vocal, a solo instrument.
    Lead,
    Normal,
    /// Support: backing vocals, doubles, room mics, pads, effect returns.
    Background,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Lead, Role::Normal, Role::Background];

    /// The name used in Lua and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lead => "lead",
            Role::Normal => "normal",
            Role::Background => "background",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role or class name that is not one of the known ones.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownName(String);

impl FromStr for Role {
    type Err = UnknownName;
    /// Case-insensitive.
    fn from_str(s: &str) -> Result<Role, UnknownName> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                UnknownName(format!(
                    "unknown role '{s}' (expected lead, normal or background)"
                ))
            })
    }
}

/// Instrument class: the classes of Diff-MST's knowledge-engineering table
/// (ALGORITHMS.md §2.6), which give stage 1 and stage 2 their per-instrument
/// priors. [`Class::ke_key`] is the table's own key; two are renamed here
/// (`brass_horns` → `brass`, `brass_bass` → `low_brass`) and the table's
/// misspelt `orchetral_strings` is spelt out. The table's `silence` class is
/// not used: silence is a property of the audio, not an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Lead vocal, rap.
    MainVocals,
    /// Backing vocals, doubles, harmonies, choir, vocoder.
    SupportVocals,
    /// Electric, synth and double bass.
    Bass,
    /// Kick drum.
    BassDrum,
    /// Mid-frequency drums: snare, toms, drum loops, congas, bongos, cajon, timpani.
    #[serde(rename = "percussion_1")]
    Percussion1,
    /// High-frequency: hi-hat, ride, overheads, cymbals, claps, glockenspiel, vibraphone.
    #[serde(rename = "percussion_2")]
    Percussion2,
    /// Auxiliary percussion panned wide: shaker, tambourine, cowbell, crash.
    #[serde(rename = "percussion_3")]
    Percussion3,
    /// Guitars and other plucked strings (banjo, mandolin, ukulele).
    Guitar,
    /// Piano, organ, electric piano, clavinet, accordion.
    Keys,
    /// Synthesisers, samplers, sound effects.
    Synth,
    /// Violin, viola, cello, string sections, harp.
    OrchestralStrings,
    /// Flute, clarinet, oboe, alto and soprano saxophone.
    Woodwinds,
    /// Bassoon, bass clarinet, tenor and baritone saxophone.
    BassWoodwinds,
    /// Trumpet, horn, cornet, flugelhorn.
    Brass,
    /// Trombone, tuba, euphonium.
    LowBrass,
    /// Room mics, effect returns, anything else.
    Misc,
}

impl Class {
    pub const ALL: [Class; 16] = [
        Class::MainVocals,
        Class::SupportVocals,
        Class::Bass,
        Class::BassDrum,
        Class::Percussion1,
        Class::Percussion2,
        Class::Percussion3,
        Class::Guitar,
        Class::Keys,
        Class::Synth,
        Class::OrchestralStrings,
        Class::Woodwinds,
        Class::BassWoodwinds,
        Class::Brass,
        Class::LowBrass,
        Class::Misc,
    ];

    /// The name used in Lua and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::MainVocals => "main_vocals",
            Class::SupportVocals => "support_vocals",
            Class::Bass => "bass",
            Class::BassDrum => "bass_drum",
            Class::Percussion1 => "percussion_1",
            Class::Percussion2 => "percussion_2",
            Class::Percussion3 => "percussion_3",
            Class::Guitar => "guitar",
            Class::Keys => "keys",
            Class::Synth => "synth",
            Class::OrchestralStrings => "orchestral_strings",
            Class::Woodwinds => "woodwinds",
            Class::BassWoodwinds => "bass_woodwinds",
            Class::Brass => "brass",
            Class::LowBrass => "low_brass",
            Class::Misc => "misc",
        }
    }

    /// The key of this class in Diff-MST's `data/knowledge_engineering.yaml`.
    pub fn ke_key(self) -> &'static str {
        match self {
            Class::OrchestralStrings => "orchetral_strings",
            Class::Brass => "brass_horns",
            Class::LowBrass => "brass_bass",
            other => other.as_str(),
        }
    }

    /// The role a track of this class has unless its name says otherwise.
    pub fn default_role(self) -> Role {
        match self {
            Class::MainVocals => Role::Lead,
            Class::SupportVocals | Class::Misc => Role::Background,
            _ => Role::Normal,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Class {
    type Err = UnknownName;
    /// Case-insensitive.
    fn from_str(s: &str) -> Result<Class, UnknownName> {
        Class::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Class::ALL.iter().map(|c| c.as_str()).collect();
                UnknownName(format!(
                    "unknown class '{s}' (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// Where a track's group came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Its top-level folder.
    Folder,
    /// The shipped name rules (track or file name).
    Name,
    /// The feature fallback.
    Feature,
    /// Nothing matched: `Other`.
    Fallback,
    /// The user's script.
    Script,
}

impl Source {
    /// The name used in Lua and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Folder => "folder",
            Source::Name => "name",
            Source::Feature => "feature",
            Source::Fallback => "fallback",
            Source::Script => "script",
        }
    }
}

/// One track in a group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupedTrack {
    /// Position in the session from 0.
    pub index: usize,
    pub name: String,
    pub role: Role,
    pub class: Class,
    pub source: Source,
    /// Why, in one line: `folder 'Drums'; name matches 'kick'`.
    pub reason: String,
}

/// A group: the tracks that are balanced together into one stem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub tracks: Vec<GroupedTrack>,
}

/// A track that is in no group, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SkippedTrack {
    pub index: usize,
    pub name: String,
    pub reason: String,
}

/// The result of [`assign`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Grouping {
    /// Groups in order of their first track in the session (or in the order
    /// a `groups()` hook returned them); tracks in session order.
    pub groups: Vec<Group>,
    /// Non-folder tracks without audio.
    pub skipped: Vec<SkippedTrack>,
    /// What the user script printed, each line prefixed with its chunk name.
    pub log: Vec<String>,
}

impl Grouping {
    /// The group a track is in.
    pub fn group_of(&self, index: usize) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| g.tracks.iter().any(|t| t.index == index))
    }

    /// A member track by index.
    pub fn track(&self, index: usize) -> Option<&GroupedTrack> {
        self.groups
            .iter()
            .flat_map(|g| &g.tracks)
            .find(|t| t.index == index)
    }
}

/// A user script: Lua source and the name its errors carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserScript {
    pub source: String,
    /// Usually [`chunk_name`] of the file.
    pub chunk: String,
}

/// Options for [`assign`].
#[derive(Clone, Debug, Default)]
pub struct GroupConfig {
    /// Do not make groups from top-level folders.
    pub ignore_folders: bool,
    /// The user's `--rules` script.
    pub script: Option<UserScript>,
    /// Limits for the user script (the shipped rules get the defaults).
    pub limits: Limits,
}

/// Grouping failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The user's script failed, hit a limit, or returned something unusable.
    #[error("{0}")]
    Script(ScriptError),
    /// The shipped rules failed: a bug in premix.
    #[error("shipped grouping rules failed (a bug in premix): {0}")]
    Rules(ScriptError),
}

/// The name a script's errors carry: the path as given when short (Lua keeps
/// at most 59 characters of a chunk name), else the file name.
pub fn chunk_name(path: &Path) -> String {
    let full = path.display().to_string();
    if full.len() <= 50 {
        full
    } else {
        path.file_name()
            .map_or(full.clone(), |n| n.to_string_lossy().into_owned())
    }
}

/// Groups the tracks of `session`. `features` is indexed by track index
/// (missing entries mean no analysis). Runs the shipped rules and, if
/// configured, the user script, each in its own sandbox; the library does no
/// IO.
pub fn assign(
    session: &Session,
    features: &[Option<Features>],
    config: &GroupConfig,
) -> Result<Grouping, GroupError> {
    let defaults = default_rules()?;
    let user = match &config.script {
        Some(s) => Some(
            GroupScript::load(&s.source, &s.chunk, config.limits).map_err(GroupError::Script)?,
        ),
        None => None,
    };
    let (members, skipped) = split_members(session);

    let mut assigned: Vec<(TrackFacts, GroupedTrack, String)> = Vec::new();
    for t in members {
        let mut facts = facts(session, t, features.get(t.index).cloned().flatten());
        let named = defaults.group(&facts).map_err(GroupError::Rules)?;
        let proposal = propose(t, &facts, named, config.ignore_folders);
        facts.default = Some(proposal.clone());
        let mut member = GroupedTrack {
            index: t.index,
            name: t.name.clone(),
            role: proposal.role,
            class: proposal.class,
            source: proposal.source,
            reason: proposal.reason.clone(),
        };
        let mut group = proposal.group.clone();
        if let Some(script) = &user {
            if let Some(answer) = script.group(&facts).map_err(GroupError::Script)? {
                apply_answer(&mut member, &mut group, answer, script.chunk());
            }
        }
        assigned.push((facts, member, group));
    }

    let mut grouping = Grouping {
        groups: collect_groups(&assigned),
        skipped,
        log: Vec::new(),
    };
    if let Some(script) = &user {
        if script.has_groups() {
            regroup(script, session, &mut grouping, assigned)?;
        }
        grouping.log = script
            .take_log()
            .into_iter()
            .map(|l| format!("{}: {l}", script.chunk()))
            .collect();
    }
    Ok(grouping)
}

/// Indices of the audio tracks whose track and file names match no shipped
/// rule: the tracks for which analysis features are worth computing before
/// [`assign`] (folders aside, they would otherwise land in `Other`).
pub fn tracks_needing_features(session: &Session) -> Result<Vec<usize>, GroupError> {
    let defaults = default_rules()?;
    let (members, _) = split_members(session);
    let mut out = Vec::new();
    for t in members {
        let facts = facts(session, t, None);
        if defaults.group(&facts).map_err(GroupError::Rules)?.is_none() {
            out.push(t.index);
        }
    }
    Ok(out)
}

fn default_rules() -> Result<GroupScript, GroupError> {
    GroupScript::load(DEFAULT_RULES, "default.lua", Limits::default()).map_err(GroupError::Rules)
}

/// Member tracks (audio), and skipped ones (no audio, not a folder).
fn split_members(session: &Session) -> (Vec<&Track>, Vec<SkippedTrack>) {
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    for t in &session.tracks {
        if t.has_audio() {
            members.push(t);
        } else if !t.is_folder {
            let reason = if t.clips.is_empty() {
                "no clips".to_owned()
            } else {
                let kinds: BTreeSet<&str> = t
                    .clips
                    .iter()
                    .filter(|c| c.kind != ClipKind::Audio)
                    .map(|c| c.source_type.as_str())
                    .collect();
                format!(
                    "no audio clips ({})",
                    kinds.into_iter().collect::<Vec<_>>().join(", ")
                )
            };
            skipped.push(SkippedTrack {
                index: t.index,
                name: t.name.clone(),
                reason,
            });
        }
    }
    (members, skipped)
}

/// Enclosing folder names, outermost first.
fn folders(session: &Session, t: &Track) -> Vec<String> {
    let mut out = Vec::new();
    let mut parent = t.parent;
    // A malformed model could link folders in a cycle: never walk further
    // than there are tracks.
    while let Some(p) = parent {
        let Some(f) = session.tracks.get(p) else {
            break;
        };
        if out.len() > session.tracks.len() {
            break;
        }
        out.push(folder_name(f));
        parent = f.parent;
    }
    out.reverse();
    out
}

fn folder_name(f: &Track) -> String {
    let name = f.name.trim();
    if name.is_empty() {
        format!("Folder {}", f.index + 1)
    } else {
        name.to_owned()
    }
}

fn facts(session: &Session, t: &Track, features: Option<Features>) -> TrackFacts {
    let mut files: Vec<String> = Vec::new();
    for c in t.clips.iter().filter(|c| c.kind == ClipKind::Audio) {
        let Some(p) = &c.path else { continue };
        // Sessions written on Windows use backslashes on every OS.
        let name = p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned();
        if !name.is_empty() && !files.contains(&name) {
            files.push(name);
        }
    }
    TrackFacts {
        index: t.index,
        name: t.name.clone(),
        folders: folders(session, t),
        files,
        fx: t.fx.clone(),
        colour: t.colour,
        features,
        default: None,
    }
}

/// Steps 1–4: folder, name rules, features, fallback.
fn propose(
    t: &Track,
    facts: &TrackFacts,
    named: Option<TrackAnswer>,
    ignore_folders: bool,
) -> Proposal {
    // Class, role and their reason, from the name rules or the features.
    let (group, class, role, source, why) = if let Some(a) = named {
        let class = a.class.unwrap_or(Class::Misc);
        let role = a.role.unwrap_or(class.default_role());
        let why = a.reason.unwrap_or_else(|| "shipped name rules".into());
        (a.group, class, role, Source::Name, why)
    } else if let Some(g) = facts.features.as_ref().and_then(features::classify) {
        (
            Some(g.group.to_owned()),
            g.class,
            g.role,
            Source::Feature,
            g.reason,
        )
    } else {
        let why = if facts.features.is_some() {
            "name and files match no rule; features inconclusive"
        } else {
            "name and files match no rule; no analysis"
        };
        (
            None,
            Class::Misc,
            Role::Normal,
            Source::Fallback,
            why.to_owned(),
        )
    };
    if !ignore_folders && t.parent.is_some() {
        if let Some(top) = facts.folders.first() {
            return Proposal {
                group: top.clone(),
                role,
                class,
                source: Source::Folder,
                reason: format!("folder '{top}'; {why}"),
            };
        }
    }
    Proposal {
        group: group.unwrap_or_else(|| "Other".to_owned()),
        role,
        class,
        source,
        reason: why,
    }
}

fn apply_answer(member: &mut GroupedTrack, group: &mut String, a: TrackAnswer, chunk: &str) {
    let mut changed = Vec::new();
    if let Some(g) = a.group {
        *group = g;
        member.source = Source::Script;
        changed.push("group");
    }
    if let Some(r) = a.role {
        member.role = r;
        changed.push("role");
    }
    if let Some(c) = a.class {
        member.class = c;
        changed.push("class");
    }
    if changed.is_empty() && a.reason.is_none() {
        return;
    }
    let why = a
        .reason
        .unwrap_or_else(|| format!("{chunk}: group() set {}", changed.join(", ")));
    member.reason = if member.source == Source::Script {
        why
    } else {
        format!("{}; {why}", member.reason)
    };
}

/// Groups by name in order of first appearance.
fn collect_groups(assigned: &[(TrackFacts, GroupedTrack, String)]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (_, member, name) in assigned {
        match groups.iter_mut().find(|g| &g.name == name) {
            Some(g) => g.tracks.push(member.clone()),
            None => groups.push(Group {
                name: name.clone(),
                tracks: vec![member.clone()],
            }),
        }
    }
    groups
}

/// Step 5b: the user's `groups(session)`.
fn regroup(
    script: &GroupScript,
    session: &Session,
    grouping: &mut Grouping,
    assigned: Vec<(TrackFacts, GroupedTrack, String)>,
) -> Result<(), GroupError> {
    let stem = session
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let facts = SessionFacts {
        name: stem,
        tracks: assigned.iter().map(|(f, _, _)| f.clone()).collect(),
        groups: grouping
            .groups
            .iter()
            .map(|g| GroupFacts {
                name: g.name.clone(),
                members: g
                    .tracks
                    .iter()
                    .map(|t| MemberFacts {
                        index: t.index,
                        role: t.role,
                        class: t.class,
                        source: t.source,
                        reason: t.reason.clone(),
                    })
                    .collect(),
            })
            .collect(),
    };
    let Some(answer) = script.groups(&facts).map_err(GroupError::Script)? else {
        return Ok(());
    };
    let mut groups = Vec::new();
    for g in answer {
        let mut tracks = Vec::new();
        for m in g.members {
            let (_, current, old_group) = assigned
                .iter()
                .find(|(_, t, _)| t.index == m.index)
                .expect("groups() answers are checked against the member tracks");
            let mut t = current.clone();
            let mut changed = Vec::new();
            if *old_group != g.name {
                t.source = Source::Script;
                changed.push("group");
            }
            if let Some(r) = m.role.filter(|r| *r != t.role) {
                t.role = r;
                changed.push("role");
            }
            if let Some(c) = m.class.filter(|c| *c != t.class) {
                t.class = c;
                changed.push("class");
            }
            // A member passed back unchanged carries its current reason.
            if let Some(reason) = m.reason.filter(|r| *r != t.reason) {
                t.reason = reason;
            } else if !changed.is_empty() {
                let why = format!("{}: groups() set {}", script.chunk(), changed.join(", "));
                t.reason = if t.source == Source::Script {
                    why
                } else {
                    format!("{}; {why}", t.reason)
                };
            }
            tracks.push(t);
        }
        groups.push(Group {
            name: g.name,
            tracks,
        });
    }
    grouping.groups = groups;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Class::ALL {
            assert_eq!(c.as_str().parse::<Class>(), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        assert_eq!("Lead".parse::<Role>(), Ok(Role::Lead));
        let e = "kik".parse::<Class>().unwrap_err().to_string();
        assert!(
            e.starts_with("unknown class 'kik' (expected one of main_vocals, "),
            "{e}"
        );
    }

    #[test]
    fn ke_keys_are_the_table_keys() {
        let keys: Vec<&str> = Class::ALL.iter().map(|c| c.ke_key()).collect();
        for k in [
            "main_vocals",
            "support_vocals",
            "bass",
            "bass_drum",
            "percussion_1",
            "percussion_2",
            "percussion_3",
            "guitar",
            "keys",
            "synth",
            "orchetral_strings",
            "woodwinds",
            "bass_woodwinds",
            "brass_horns",
            "brass_bass",
            "misc",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
    }

    #[test]
    fn chunk_names() {
        assert_eq!(chunk_name(Path::new("rules.lua")), "rules.lua");
        let long = format!("{}/rules.lua", "d".repeat(60));
        assert_eq!(chunk_name(Path::new(&long)), "rules.lua");
    }
}
