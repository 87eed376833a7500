//! The Lua host: the only module that knows mlua.
//!
//! [`GroupScript`] runs a grouping script (the shipped
//! `scripts/groups/default.lua` or a user's `--rules FILE.lua`) in a
//! sandboxed Lua 5.4 state, hands it read-only facts ([`TrackFacts`],
//! [`SessionFacts`]) and checks what it returns into typed Rust
//! ([`TrackAnswer`], [`GroupAnswer`]); an unknown key or a wrong type is an
//! error naming the file and line.
//!
//! **Invariant:** nothing outside this module sees an mlua type, and no
//! script can read or write a file, reach the OS, or load bytecode. A script
//! that loops or allocates without end is stopped by [`Limits`] with a
//! [`ScriptError`] of kind [`ErrorKind::Instructions`], [`ErrorKind::Time`]
//! or [`ErrorKind::Memory`].
//!
//! A Lua state is `!Send`: use one [`GroupScript`] per thread, for all the
//! tracks of a session.
//!
//! # The grouping script API
//!
//! A script may define two global functions:
//!
//! * `group(track)`: called once per audio track, in session order. Returns
//!   `nil` (keep the default), a group name, `name, role, class`, or a table
//!   `{ group = ..., role = ..., class = ..., reason = ... }` (every key
//!   optional). Roles are `lead`, `normal`, `background`; classes are the
//!   names of [`Class`](crate::group::Class) (`bass_drum`, `guitar`, ...).
//! * `groups(session)`: called once after every track has a group. Returns
//!   `nil` (keep) or the complete new list of groups,
//!   `{ { name = "Drums", tracks = { 0, 1, { index = 2, role = "lead" } } }, ... }`,
//!   where each track is its `index` or a table with `index` and optional
//!   `role`, `class`, `reason`. Every audio track must appear exactly once;
//!   groups left empty are dropped. The member tables of `session.groups` can
//!   be passed back as they are.
//!
//! `track` is read-only; reading a name that is not listed below is an
//! error (so a typo does not silently read `nil`):
//!
//! | field | meaning |
//! |---|---|
//! | `index` | position in the session from 0 (as in `--json` output) |
//! | `number` | position from 1 (as DAWs and premix messages count) |
//! | `name` | the track name |
//! | `folder`, `folders` | enclosing folder names, outermost first, joined with `/` / as a list (`nil` / empty when top level) |
//! | `files` | file names (no directories) of the track's audio clips |
//! | `fx` | plugin names on the track |
//! | `colour`, `colour_hex` | track colour as `0xRRGGBB` / `"#rrggbb"`, `nil` if unset |
//! | `features` | analysis results ([`Features`](crate::analysis::Features) field names), `nil` without analysis |
//! | `default` | premix's own proposal: `group`, `role`, `class`, `source`, `reason` (`nil` for the shipped rules themselves) |
//!
//! `session` has `name` (the session file's stem), `tracks` (the track
//! tables above, in session order) and `groups` (each with `name` and
//! `tracks`, whose members have `index`, `number`, `name`, `role`, `class`,
//! `source`, `reason` and `track`, the full track table).
//!
//! The sandbox: only `string`, `table`, `math`, `utf8`, `coroutine` and the
//! safe base functions; `print` goes to premix's log. Limits per script (all
//! calls together): [`Limits::default`].

mod host;
mod pattern;
mod sandbox;

pub use host::{
    GroupAnswer, GroupFacts, GroupScript, MemberAnswer, MemberFacts, Proposal, SessionFacts,
    TrackAnswer, TrackFacts,
};
pub use pattern::{match_cost, MatchOp};
pub use sandbox::{Limits, HOOK_EVERY, MAX_MATCH_STEPS};

use std::fmt;

/// What went wrong in a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The chunk does not compile (or is not text).
    Syntax,
    /// An error raised while running: `error()`, a bad index, a sandbox refusal.
    Runtime,
    /// A hook returned a value premix cannot use (unknown key, wrong type).
    Value,
    /// The instruction budget is spent.
    Instructions,
    /// The wall-clock limit is spent.
    Time,
    /// The memory limit was reached.
    Memory,
}

/// An error in a script, shown on one line as `chunk:line: message` (or
/// `chunk: message` when no line is known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    /// The chunk name: the script's file name as given (`rules.lua`).
    pub chunk: String,
    /// The line in the script, when known.
    pub line: Option<usize>,
    pub kind: ErrorKind,
    /// One line, lower-case, no trailing period.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.chunk, self.message),
            None => write!(f, "{}: {}", self.chunk, self.message),
        }
    }
}

impl std::error::Error for ScriptError {}
