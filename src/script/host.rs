//! The grouping host API (documented in `script/mod.rs`): building the
//! read-only tables scripts see, and checking what they return.

use super::sandbox::{Limits, Sandbox};
use super::ScriptError;
use crate::analysis::Features;
use crate::group::{Class, Role, Source};
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The facts a script gets about one audio track.
#[derive(Clone, Debug, Default)]
pub struct TrackFacts {
    pub index: usize,
    pub name: String,
    /// Enclosing folder names, outermost first.
    pub folders: Vec<String>,
    /// File names (no directories) of the track's audio clips, deduplicated.
    pub files: Vec<String>,
    /// Plugin names.
    pub fx: Vec<String>,
    /// 0xRRGGBB.
    pub colour: Option<u32>,
    pub features: Option<Features>,
    /// What premix would do without this script.
    pub default: Option<Proposal>,
}

/// An assignment premix proposes for a track.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub group: String,
    pub role: Role,
    pub class: Class,
    pub source: Source,
    pub reason: String,
}

/// The facts `groups(session)` gets.
#[derive(Clone, Debug, Default)]
pub struct SessionFacts {
    /// The session file's stem.
    pub name: String,
    /// Every audio track, in session order.
    pub tracks: Vec<TrackFacts>,
    /// The assignment so far.
    pub groups: Vec<GroupFacts>,
}

/// One group of the assignment so far.
#[derive(Clone, Debug, Default)]
pub struct GroupFacts {
    pub name: String,
    pub members: Vec<MemberFacts>,
}

/// One track in a group of the assignment so far.
#[derive(Clone, Debug)]
pub struct MemberFacts {
    pub index: usize,
    pub role: Role,
    pub class: Class,
    pub source: Source,
    pub reason: String,
}

/// What `group(track)` returned; `None` fields keep premix's proposal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackAnswer {
    pub group: Option<String>,
    pub role: Option<Role>,
    pub class: Option<Class>,
    pub reason: Option<String>,
}

/// One group returned by `groups(session)`.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupAnswer {
    pub name: String,
    pub members: Vec<MemberAnswer>,
}

/// One track in a group returned by `groups(session)`; `None` fields keep
/// the track's current role, class or reason.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberAnswer {
    pub index: usize,
    pub role: Option<Role>,
    pub class: Option<Class>,
    pub reason: Option<String>,
}

/// Longest group name accepted, in characters.
const MAX_GROUP_NAME: usize = 100;
/// Longest reason kept, in characters (longer ones are cut).
const MAX_REASON: usize = 200;

const TRACK_KEYS: &[&str] = &[
    "index",
    "number",
    "name",
    "folder",
    "folders",
    "files",
    "fx",
    "colour",
    "colour_hex",
    "features",
    "default",
];
const DEFAULT_KEYS: &[&str] = &["group", "role", "class", "source", "reason"];
const SESSION_KEYS: &[&str] = &["name", "tracks", "groups"];
const GROUP_KEYS: &[&str] = &["name", "tracks"];
const MEMBER_KEYS: &[&str] = &[
    "index", "number", "name", "role", "class", "source", "reason", "track",
];
const ANSWER_KEYS: &[&str] = &["group", "role", "class", "reason"];
/// Keys a member returned by `groups()` may have: the answer keys plus the
/// read-only facts of a member passed back unchanged.
const MEMBER_ANSWER_KEYS: &[&str] = MEMBER_KEYS;

/// A hook function and the line it is defined on (for value errors).
struct Hook {
    f: Function,
    line: Option<usize>,
}

/// Key sets for the read-only views, made once per state.
struct Keys {
    track: Table,
    features: Table,
    default: Table,
    session: Table,
    group: Table,
    member: Table,
}

/// A loaded grouping script in its own sandboxed Lua state.
pub struct GroupScript {
    sb: Sandbox,
    group_fn: Option<Hook>,
    groups_fn: Option<Hook>,
    keys: Keys,
}

impl std::fmt::Debug for GroupScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupScript")
            .field("chunk", &self.sb.chunk())
            .field("group", &self.group_fn.is_some())
            .field("groups", &self.groups_fn.is_some())
            .finish()
    }
}

impl GroupScript {
    /// Loads and runs `source` (its top level) in a new sandbox. `chunk` is
    /// the name errors carry, normally the script's file name. Fails if the
    /// script does not compile, fails while running, defines `group` or
    /// `groups` as something other than a function, or defines neither.
    pub fn load(source: &str, chunk: &str, limits: Limits) -> Result<GroupScript, ScriptError> {
        let sb = Sandbox::new(chunk, limits)?;
        sb.exec(source)?;
        let (group_fn, groups_fn, keys) = sb.run(|lua| {
            let g = lua.globals();
            let hook = |name: &str| -> mlua::Result<Option<Hook>> {
                match g.get::<Value>(name)? {
                    Value::Nil => Ok(None),
                    Value::Function(f) => Ok(Some(Hook {
                        line: f.info().line_defined,
                        f,
                    })),
                    other => Err(mlua::Error::external(sb.value_error(
                        None,
                        format!("'{name}' must be a function, got {}", other.type_name()),
                    ))),
                }
            };
            let features = match serde_json::to_value(Features::default()) {
                Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect::<Vec<_>>(),
                _ => Vec::new(),
            };
            let set = |keys: &[&str]| lua.create_table_from(keys.iter().map(|k| (*k, true)));
            let keys = Keys {
                track: set(TRACK_KEYS)?,
                features: lua.create_table_from(features.iter().map(|k| (k.as_str(), true)))?,
                default: set(DEFAULT_KEYS)?,
                session: set(SESSION_KEYS)?,
                group: set(GROUP_KEYS)?,
                member: set(MEMBER_KEYS)?,
            };
            Ok((hook("group")?, hook("groups")?, keys))
        })?;
        if group_fn.is_none() && groups_fn.is_none() {
            return Err(sb.value_error(
                None,
                "defines neither group(track) nor groups(session)".into(),
            ));
        }
        Ok(GroupScript {
            sb,
            group_fn,
            groups_fn,
            keys,
        })
    }

    /// The chunk name errors carry.
    pub fn chunk(&self) -> &str {
        self.sb.chunk()
    }

    /// Whether the script defines `group(track)`.
    pub fn has_group(&self) -> bool {
        self.group_fn.is_some()
    }

    /// Whether the script defines `groups(session)`.
    pub fn has_groups(&self) -> bool {
        self.groups_fn.is_some()
    }

    /// Lines the script printed since the last call.
    pub fn take_log(&self) -> Vec<String> {
        self.sb.take_log()
    }

    /// VM instructions used so far (in steps of
    /// [`HOOK_EVERY`](super::HOOK_EVERY)).
    pub fn instructions(&self) -> u64 {
        self.sb.instructions()
    }

    /// Calls `group(track)`. `Ok(None)` when the script has no `group` or
    /// returned `nil`.
    pub fn group(&self, facts: &TrackFacts) -> Result<Option<TrackAnswer>, ScriptError> {
        let Some(hook) = &self.group_fn else {
            return Ok(None);
        };
        self.sb.run(|lua| {
            let t = self.track_table(lua, facts)?;
            let ret: MultiValue = hook.f.call(t)?;
            let ctx = format!(
                "in value returned by group() for track {} '{}'",
                facts.index + 1,
                facts.name
            );
            track_answer(ret.into_vec(), &ctx)
                .map_err(|m| mlua::Error::external(self.sb.value_error(hook.line, m)))
        })
    }

    /// Calls `groups(session)`. `Ok(None)` when the script has no `groups`
    /// or returned `nil`. A returned list is checked: known track indices,
    /// each track exactly once, valid names, roles and classes.
    pub fn groups(&self, facts: &SessionFacts) -> Result<Option<Vec<GroupAnswer>>, ScriptError> {
        let Some(hook) = &self.groups_fn else {
            return Ok(None);
        };
        self.sb.run(|lua| {
            let session = self.session_table(lua, facts)?;
            let ret: MultiValue = hook.f.call(session)?;
            let names: BTreeMap<usize, &str> = facts
                .tracks
                .iter()
                .map(|t| (t.index, t.name.as_str()))
                .collect();
            groups_answer(ret.into_vec(), &names)
                .map_err(|m| mlua::Error::external(self.sb.value_error(hook.line, m)))
        })
    }

    fn track_table(&self, lua: &Lua, f: &TrackFacts) -> mlua::Result<Table> {
        let t = lua.create_table()?;
        t.raw_set("index", f.index)?;
        t.raw_set("number", f.index + 1)?;
        t.raw_set("name", f.name.as_str())?;
        if !f.folders.is_empty() {
            t.raw_set("folder", f.folders.join("/"))?;
        }
        t.raw_set("folders", self.list(lua, &f.folders, "track.folders")?)?;
        t.raw_set("files", self.list(lua, &f.files, "track.files")?)?;
        t.raw_set("fx", self.list(lua, &f.fx, "track.fx")?)?;
        if let Some(c) = f.colour {
            t.raw_set("colour", c)?;
            t.raw_set("colour_hex", format!("#{c:06x}"))?;
        }
        if let Some(features) = &f.features {
            let ft = lua.create_table()?;
            if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(features) {
                for (k, v) in m {
                    match v {
                        serde_json::Value::Number(n) => ft.raw_set(k, n.as_f64())?,
                        serde_json::Value::Bool(b) => ft.raw_set(k, b)?,
                        _ => {}
                    }
                }
            }
            let ft = self
                .sb
                .freeze(ft, "track.features", Some(&self.keys.features))?;
            t.raw_set("features", ft)?;
        }
        if let Some(p) = &f.default {
            let d = lua.create_table()?;
            d.raw_set("group", p.group.as_str())?;
            d.raw_set("role", p.role.as_str())?;
            d.raw_set("class", p.class.as_str())?;
            d.raw_set("source", p.source.as_str())?;
            d.raw_set("reason", p.reason.as_str())?;
            t.raw_set(
                "default",
                self.sb
                    .freeze(d, "track.default", Some(&self.keys.default))?,
            )?;
        }
        self.sb.freeze(t, "track", Some(&self.keys.track))
    }

    fn list(&self, lua: &Lua, items: &[String], what: &str) -> mlua::Result<Table> {
        let t = lua.create_sequence_from(items.iter().map(String::as_str))?;
        self.sb.freeze(t, what, None)
    }

    fn session_table(&self, lua: &Lua, s: &SessionFacts) -> mlua::Result<Table> {
        let mut by_index = BTreeMap::new();
        let tracks = lua.create_table()?;
        for (i, f) in s.tracks.iter().enumerate() {
            let t = self.track_table(lua, f)?;
            tracks.raw_set(i + 1, &t)?;
            by_index.insert(f.index, (t, f.name.as_str()));
        }
        let groups = lua.create_table()?;
        for (gi, g) in s.groups.iter().enumerate() {
            let members = lua.create_table()?;
            for (mi, m) in g.members.iter().enumerate() {
                let mt = lua.create_table()?;
                mt.raw_set("index", m.index)?;
                mt.raw_set("number", m.index + 1)?;
                if let Some((t, name)) = by_index.get(&m.index) {
                    mt.raw_set("name", *name)?;
                    mt.raw_set("track", t)?;
                }
                mt.raw_set("role", m.role.as_str())?;
                mt.raw_set("class", m.class.as_str())?;
                mt.raw_set("source", m.source.as_str())?;
                mt.raw_set("reason", m.reason.as_str())?;
                let what = "member of session.groups";
                members.raw_set(mi + 1, self.sb.freeze(mt, what, Some(&self.keys.member))?)?;
            }
            let gt = lua.create_table()?;
            gt.raw_set("name", g.name.as_str())?;
            gt.raw_set("tracks", self.sb.freeze(members, "group.tracks", None)?)?;
            groups.raw_set(gi + 1, self.sb.freeze(gt, "group", Some(&self.keys.group))?)?;
        }
        let st = lua.create_table()?;
        st.raw_set("name", s.name.as_str())?;
        st.raw_set("tracks", self.sb.freeze(tracks, "session.tracks", None)?)?;
        st.raw_set("groups", self.sb.freeze(groups, "session.groups", None)?)?;
        self.sb.freeze(st, "session", Some(&self.keys.session))
    }
}

/// Rejects keys a plain table should not have. Read-only views premix made
/// are empty proxies, so they pass.
fn check_keys(t: &Table, allowed: &[&str], ctx: &str) -> Result<(), String> {
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        match &k {
            Value::String(s)
                if allowed
                    .iter()
                    .any(|a| s.as_bytes().as_ref() == a.as_bytes()) => {}
            Value::String(s) => return Err(format!("unknown key '{}' {ctx}", s.display())),
            other => return Err(format!("unexpected key {} {ctx}", show(other))),
        }
    }
    Ok(())
}

/// Rejects non-sequence keys in a plain array table.
fn check_array(t: &Table, len: i64, what: &str, ctx: &str) -> Result<(), String> {
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        let ok = matches!(k, Value::Integer(i) if i >= 1 && i <= len);
        if !ok {
            return Err(format!(
                "{what} must be a list, found key {} {ctx}",
                show(&k)
            ));
        }
    }
    Ok(())
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", s.display()),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        other => format!("of type {}", other.type_name()),
    }
}

fn get(t: &Table, key: &str) -> Result<Value, String> {
    t.get::<Value>(key).map_err(|e| e.to_string())
}

fn opt_string(v: &Value, key: &str, ctx: &str) -> Result<Option<String>, String> {
    match v {
        Value::Nil => Ok(None),
        Value::String(s) => Ok(Some(s.to_string_lossy())),
        other => Err(format!(
            "'{key}' must be a string, got {} {ctx}",
            other.type_name()
        )),
    }
}

fn group_name(v: &Value, key: &str, ctx: &str) -> Result<Option<String>, String> {
    let Some(name) = opt_string(v, key, ctx)? else {
        return Ok(None);
    };
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(format!("'{key}' must not be empty {ctx}"));
    }
    if trimmed.chars().count() > MAX_GROUP_NAME {
        return Err(format!(
            "'{key}' is longer than {MAX_GROUP_NAME} characters {ctx}"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(format!("'{key}' contains control characters {ctx}"));
    }
    Ok(Some(trimmed.to_owned()))
}

fn role(v: &Value, ctx: &str) -> Result<Option<Role>, String> {
    match opt_string(v, "role", ctx)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e| format!("{e} {ctx}")),
    }
}

fn class(v: &Value, ctx: &str) -> Result<Option<Class>, String> {
    match opt_string(v, "class", ctx)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e| format!("{e} {ctx}")),
    }
}

fn reason(v: &Value, ctx: &str) -> Result<Option<String>, String> {
    Ok(opt_string(v, "reason", ctx)?.map(|r| {
        let one_line = r.split_whitespace().collect::<Vec<_>>().join(" ");
        one_line.chars().take(MAX_REASON).collect()
    }))
}

/// Reads what `group(track)` returned.
fn track_answer(vals: Vec<Value>, ctx: &str) -> Result<Option<TrackAnswer>, String> {
    match vals.first() {
        None => Ok(None),
        Some(Value::Nil) if vals.iter().all(Value::is_nil) => Ok(None),
        Some(Value::Table(t)) => {
            if vals.len() > 1 {
                return Err(format!(
                    "a table must be the only value returned by group() (got {} values) {}",
                    vals.len(),
                    ctx.trim_start_matches("in value returned by group() ")
                ));
            }
            check_keys(t, ANSWER_KEYS, ctx)?;
            Ok(Some(TrackAnswer {
                group: group_name(&get(t, "group")?, "group", ctx)?,
                role: role(&get(t, "role")?, ctx)?,
                class: class(&get(t, "class")?, ctx)?,
                reason: reason(&get(t, "reason")?, ctx)?,
            }))
        }
        Some(Value::String(_) | Value::Nil) => {
            if vals.len() > 3 {
                return Err(format!(
                    "group() returned {} values; expected at most 3 (group, role, class) {}",
                    vals.len(),
                    ctx.trim_start_matches("in value returned by group() ")
                ));
            }
            let at = |i: usize| vals.get(i).cloned().unwrap_or(Value::Nil);
            Ok(Some(TrackAnswer {
                group: group_name(&at(0), "group", ctx)?,
                role: role(&at(1), ctx)?,
                class: class(&at(2), ctx)?,
                reason: None,
            }))
        }
        Some(other) => Err(format!(
            "group() returned a {}; expected a group name, a table or nil {}",
            other.type_name(),
            ctx.trim_start_matches("in value returned by group() ")
        )),
    }
}

/// Reads what `groups(session)` returned and checks it against the tracks.
fn groups_answer(
    vals: Vec<Value>,
    names: &BTreeMap<usize, &str>,
) -> Result<Option<Vec<GroupAnswer>>, String> {
    let ctx = "in value returned by groups()";
    let list = match vals.first() {
        None | Some(Value::Nil) => return Ok(None),
        Some(Value::Table(t)) if vals.len() == 1 => t,
        Some(Value::Table(_)) => {
            return Err(format!(
                "groups() must return one list of groups, got {} values",
                vals.len()
            ))
        }
        Some(other) => {
            return Err(format!(
                "groups() returned a {}; expected a list of groups or nil",
                other.type_name()
            ))
        }
    };
    let len = list.len().map_err(|e| e.to_string())?;
    check_array(list, len, "the value", ctx)?;
    let mut out = Vec::new();
    let mut seen = BTreeMap::new();
    let mut group_names = BTreeSet::new();
    for gi in 1..=len {
        let gctx = format!("in group {gi} {ctx}");
        let g = match list.get::<Value>(gi).map_err(|e| e.to_string())? {
            Value::Table(g) => g,
            other => {
                return Err(format!(
                    "group {gi} must be a table, got {} {ctx}",
                    other.type_name()
                ))
            }
        };
        check_keys(&g, GROUP_KEYS, &gctx)?;
        let Some(name) = group_name(&get(&g, "name")?, "name", &gctx)? else {
            return Err(format!("missing 'name' {gctx}"));
        };
        if !group_names.insert(name.clone()) {
            return Err(format!("two groups are named '{name}' {ctx}"));
        }
        let tracks = match get(&g, "tracks")? {
            Value::Table(t) => t,
            Value::Nil => return Err(format!("missing 'tracks' in group '{name}' {ctx}")),
            other => {
                return Err(format!(
                    "'tracks' must be a list, got {} in group '{name}' {ctx}",
                    other.type_name()
                ))
            }
        };
        let gctx = format!("in group '{name}' {ctx}");
        let n = tracks.len().map_err(|e| e.to_string())?;
        check_array(&tracks, n, "'tracks'", &gctx)?;
        let mut members = Vec::new();
        for ti in 1..=n {
            let entry = tracks.get::<Value>(ti).map_err(|e| e.to_string())?;
            let m = member_answer(&entry, names, &gctx)?;
            if let Some(prev) = seen.insert(m.index, name.clone()) {
                return Err(format!(
                    "track {} '{}' is in group '{prev}' and in group '{name}' {ctx}",
                    m.index + 1,
                    names[&m.index]
                ));
            }
            members.push(m);
        }
        if !members.is_empty() {
            out.push(GroupAnswer { name, members });
        }
    }
    if let Some((index, name)) = names.iter().find(|(i, _)| !seen.contains_key(i)) {
        return Err(format!(
            "track {} '{name}' is missing {ctx} (every audio track must be in one group)",
            index + 1
        ));
    }
    Ok(Some(out))
}

fn member_answer(
    entry: &Value,
    names: &BTreeMap<usize, &str>,
    ctx: &str,
) -> Result<MemberAnswer, String> {
    let index_of = |v: &Value| -> Result<usize, String> {
        let i = match v {
            Value::Integer(i) => Some(*i),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Some(*n as i64),
            _ => None,
        };
        match i.and_then(|i| usize::try_from(i).ok()) {
            Some(i) if names.contains_key(&i) => Ok(i),
            Some(_) | None if matches!(v, Value::Integer(_) | Value::Number(_)) => Err(format!(
                "{} is not the index of an audio track (use track.index, counted from 0) {ctx}",
                show(v)
            )),
            _ => Err(format!(
                "a track must be given by its index or a table with 'index', got {} {ctx}",
                v.type_name()
            )),
        }
    };
    let t = match entry {
        Value::Table(t) => t,
        other => {
            return Ok(MemberAnswer {
                index: index_of(other)?,
                role: None,
                class: None,
                reason: None,
            })
        }
    };
    check_keys(t, MEMBER_ANSWER_KEYS, ctx)?;
    let index = match get(t, "index")? {
        Value::Nil => return Err(format!("a track table has no 'index' {ctx}")),
        v => index_of(&v)?,
    };
    // Read-only facts passed back must still describe the same track.
    if let Some(n) = opt_string(&get(t, "name")?, "name", ctx)? {
        if n != names[&index] {
            return Err(format!(
                "track {} is named '{}', not '{n}' (groups() cannot rename tracks) {ctx}",
                index + 1,
                names[&index]
            ));
        }
    }
    match get(t, "number")? {
        Value::Nil => {}
        Value::Integer(n) if n == index as i64 + 1 => {}
        other => {
            return Err(format!(
                "'number' {} does not match 'index' {index} {ctx}",
                show(&other)
            ))
        }
    }
    Ok(MemberAnswer {
        index,
        role: role(&get(t, "role")?, ctx)?,
        class: class(&get(t, "class")?, ctx)?,
        reason: reason(&get(t, "reason")?, ctx)?,
    })
}
