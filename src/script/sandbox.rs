//! One sandboxed Lua 5.4 state: the safe standard library only, a memory
//! limit, an instruction budget and a time limit, and error conversion into
//! [`ScriptError`].
//!
//! What a script can reach: `string`, `table`, `math`, `utf8`, `coroutine`
//! and the base functions except `dofile`, `loadfile`, `load`, `require`,
//! `collectgarbage`, `rawset` and `warn`; `string.dump` is removed and
//! `print` writes to premix's log. No `io`, `os`, `package` or `debug`, so a
//! script can neither read nor write a file, nor load bytecode (chunks are
//! loaded in text mode and `load` does not exist).
//!
//! Limits (see [`Limits`]): the instruction hook runs every
//! [`HOOK_EVERY`] VM instructions and stops the script once the budget or the
//! wall-clock limit is spent. The prelude (`prelude.lua`) makes those errors
//! survive `pcall`, and replaces the C library loops that could otherwise run
//! unmetered (`string.rep("", 2^62)`, pattern matching, `table.insert` with a
//! lying `__len`, ...).

use super::pattern::{match_cost, MatchOp};
use super::{ErrorKind, ScriptError};
use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaOptions, LuaString, StdLib, Table, Value, VmState};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The hook runs every this many VM instructions. Lower means a faster stop
/// after a limit is reached but more overhead; the worst single instruction
/// (a concatenation or `string.rep` near the memory limit) copies about
/// 32 MiB, so 100 of them stay well under a second between checks.
pub const HOOK_EVERY: u32 = 100;

/// The largest estimated pattern-matching cost (steps of Lua's matcher, see
/// `pattern.rs`) a single call may have. Lua's matcher does roughly 10⁸
/// simple steps per second, so an accepted call stays under about a second
/// even when the estimate is exact.
pub const MAX_MATCH_STEPS: f64 = 1e8;

/// Most lines `print` keeps; later lines are counted, not kept.
const MAX_LOG_LINES: usize = 1000;
/// Longest `print` line kept, in characters.
const MAX_LOG_LINE: usize = 500;

/// Resource limits for one Lua state. The instruction budget and the time
/// are shared by everything run in the state (loading the chunk and every
/// call into it), so a script cannot spend them once per track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes the script may allocate beyond the state's baseline.
    pub memory_bytes: usize,
    /// VM instructions, counted in steps of [`HOOK_EVERY`].
    pub instructions: u64,
    /// Wall-clock time spent inside Lua.
    pub wall: Duration,
}

impl Default for Limits {
    /// 32 MiB, 100 million instructions, 2 s. Grouping scripts look at a few
    /// hundred short strings: the shipped rules use about 1000 instructions
    /// and a few KiB per track. Lua runs about 115 million instructions a
    /// second on the development machine with the hook in place, so an
    /// endless loop stops after about a second by the (deterministic)
    /// instruction budget; the wall-clock limit is the backstop for
    /// instructions that are slow one by one (long string operations) and
    /// for slow machines.
    fn default() -> Self {
        Limits {
            memory_bytes: 32 << 20,
            instructions: 100_000_000,
            wall: Duration::from_secs(2),
        }
    }
}

/// Counts instructions and time; remembers the first limit that was hit, so
/// that every later check (the hook, `check()` after a `pcall`) fails too.
struct Meter {
    limits: Limits,
    chunk: Rc<str>,
    instructions: Cell<u64>,
    /// Time spent in earlier calls.
    spent: Cell<Duration>,
    /// Start of the call in progress.
    entered: Cell<Option<Instant>>,
    tripped: RefCell<Option<ScriptError>>,
}

impl Meter {
    fn elapsed(&self) -> Duration {
        self.spent.get() + self.entered.get().map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// The error to raise if a limit has been reached.
    fn tripped_error(&self) -> Option<mlua::Error> {
        self.tripped
            .borrow()
            .as_ref()
            .map(|e| mlua::Error::RuntimeError(e.to_string()))
    }

    fn tick(&self, lua: &Lua) -> mlua::Result<VmState> {
        if let Some(e) = self.tripped_error() {
            return Err(e);
        }
        let n = self.instructions.get() + u64::from(HOOK_EVERY);
        self.instructions.set(n);
        let (kind, message) = if n > self.limits.instructions {
            (
                ErrorKind::Instructions,
                format!(
                    "script stopped after {} million instructions (its budget); is there an \
                     endless loop?",
                    self.limits.instructions / 1_000_000
                ),
            )
        } else if self.elapsed() > self.limits.wall {
            (
                ErrorKind::Time,
                format!(
                    "script stopped after running for {:.1} s (its time limit); is there an \
                     endless loop?",
                    self.limits.wall.as_secs_f64()
                ),
            )
        } else {
            return Ok(VmState::Continue);
        };
        let err = ScriptError {
            chunk: self.chunk.to_string(),
            line: user_line(lua, &self.chunk),
            kind,
            message,
        };
        let lua_err = mlua::Error::RuntimeError(err.to_string());
        *self.tripped.borrow_mut() = Some(err);
        Err(lua_err)
    }
}

/// `print` output, capped.
#[derive(Default)]
struct Log {
    lines: Vec<String>,
    dropped: usize,
}

/// A sandboxed Lua state running one script chunk.
pub(crate) struct Sandbox {
    lua: Lua,
    chunk: Rc<str>,
    meter: Rc<Meter>,
    log: Rc<RefCell<Log>>,
    freeze: Function,
}

impl Sandbox {
    /// Creates the state: safe libraries, prelude, memory limit, hook.
    /// `chunk` is the name errors carry (`rules.lua`).
    pub(crate) fn new(chunk: &str, limits: Limits) -> Result<Sandbox, ScriptError> {
        let chunk: Rc<str> = Rc::from(chunk);
        let setup_err = |e: mlua::Error| ScriptError {
            chunk: chunk.to_string(),
            line: None,
            kind: ErrorKind::Runtime,
            message: format!("cannot set up the Lua sandbox: {e}"),
        };
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8 | StdLib::COROUTINE,
            LuaOptions::default(),
        )
        .map_err(setup_err)?;
        let meter = Rc::new(Meter {
            limits,
            chunk: chunk.clone(),
            instructions: Cell::new(0),
            spent: Cell::new(Duration::ZERO),
            entered: Cell::new(None),
            tripped: RefCell::new(None),
        });
        let log = Rc::new(RefCell::new(Log::default()));
        let freeze = install(&lua, &chunk, &meter, &log).map_err(setup_err)?;
        lua.set_memory_limit(lua.used_memory() + limits.memory_bytes)
            .map_err(setup_err)?;
        let hook_meter = meter.clone();
        // A global hook, not a per-thread one: Lua 5.4 copies the hook into
        // coroutines created by the script, and mlua's per-thread hooks
        // remove themselves in threads they do not know, which would let a
        // loop inside a coroutine run unmetered.
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |lua, _debug| hook_meter.tick(lua),
        )
        .map_err(setup_err)?;
        Ok(Sandbox {
            lua,
            chunk,
            meter,
            log,
            freeze,
        })
    }

    /// The chunk name errors carry.
    pub(crate) fn chunk(&self) -> &str {
        &self.chunk
    }

    /// Loads `source` as a text chunk named after the script and runs its
    /// top level.
    pub(crate) fn exec(&self, source: &str) -> Result<(), ScriptError> {
        self.run(|lua| {
            lua.load(source)
                .set_name(format!("@{}", self.chunk))
                .set_mode(ChunkMode::Text)
                .exec()
        })
    }

    /// Runs `f` against the state with the meter running, converting errors.
    /// Once a limit has been reached every later call fails with that error.
    pub(crate) fn run<R>(&self, f: impl FnOnce(&Lua) -> mlua::Result<R>) -> Result<R, ScriptError> {
        if let Some(e) = self.meter.tripped.borrow().clone() {
            return Err(e);
        }
        self.meter.entered.set(Some(Instant::now()));
        let result = f(&self.lua);
        if let Some(t0) = self.meter.entered.take() {
            self.meter.spent.set(self.meter.spent.get() + t0.elapsed());
        }
        result.map_err(|e| self.convert(&e))
    }

    /// A read-only view of `t` for scripts (see `freeze` in the prelude):
    /// writes fail, and with `keys` reading any other name fails.
    pub(crate) fn freeze(&self, t: Table, what: &str, keys: Option<&Table>) -> mlua::Result<Table> {
        self.freeze.call((t, what, keys))
    }

    /// Instructions used so far (in steps of [`HOOK_EVERY`]).
    pub(crate) fn instructions(&self) -> u64 {
        self.meter.instructions.get()
    }

    /// Takes the lines printed so far.
    pub(crate) fn take_log(&self) -> Vec<String> {
        let mut log = self.log.borrow_mut();
        let mut lines = std::mem::take(&mut log.lines);
        if log.dropped > 0 {
            lines.push(format!("... {} more lines not shown", log.dropped));
            log.dropped = 0;
        }
        lines
    }

    /// A value error about what a hook returned, positioned at `line`.
    pub(crate) fn value_error(&self, line: Option<usize>, message: String) -> ScriptError {
        ScriptError {
            chunk: self.chunk.to_string(),
            line,
            kind: ErrorKind::Value,
            message,
        }
    }

    /// Converts an mlua error into a one-line [`ScriptError`]: a limit that
    /// was hit wins; otherwise the root cause's first line, with the line
    /// number taken from the message or, failing that, from the innermost
    /// traceback frame in the script.
    fn convert(&self, err: &mlua::Error) -> ScriptError {
        if let Some(e) = self.meter.tripped.borrow().clone() {
            return e;
        }
        let mut traceback = String::new();
        let mut cur = err;
        loop {
            match cur {
                mlua::Error::CallbackError {
                    traceback: tb,
                    cause,
                } => {
                    if traceback.is_empty() {
                        traceback.clone_from(tb);
                    }
                    cur = cause;
                }
                mlua::Error::WithContext { cause, .. } => cur = cause,
                _ => break,
            }
        }
        let (kind, text) = match cur {
            mlua::Error::ExternalError(e) => {
                if let Some(se) = e.downcast_ref::<ScriptError>() {
                    return se.clone();
                }
                (ErrorKind::Runtime, e.to_string())
            }
            mlua::Error::MemoryError(_) => {
                return ScriptError {
                    chunk: self.chunk.to_string(),
                    line: None,
                    kind: ErrorKind::Memory,
                    message: format!(
                        "script exceeded its memory limit ({} MiB)",
                        self.meter.limits.memory_bytes >> 20
                    ),
                }
            }
            mlua::Error::SyntaxError { message, .. } => (ErrorKind::Syntax, message.clone()),
            mlua::Error::RuntimeError(m) => (ErrorKind::Runtime, m.clone()),
            other => (ErrorKind::Runtime, other.to_string()),
        };
        let (first, rest) = match text.split_once("\nstack traceback:") {
            Some((a, b)) => (a, b),
            None => (text.as_str(), ""),
        };
        if traceback.is_empty() {
            traceback = rest.to_owned();
        }
        let first = first.lines().next().unwrap_or("").trim();
        let (mut line, mut message) = split_position(first, &self.chunk);
        if line.is_none() {
            // Errors raised by the prelude's wrappers carry its position.
            if let (_, Some(m)) = split_position(first, "sandbox") {
                message = Some(m);
            }
            line = traceback_line(&traceback, &self.chunk);
        }
        let message = message.unwrap_or_else(|| first.to_owned());
        // "not enough memory" raised inside a protected call and re-raised
        // as a plain string still means the memory limit.
        let kind = if message == "not enough memory" {
            ErrorKind::Memory
        } else {
            kind
        };
        ScriptError {
            chunk: self.chunk.to_string(),
            line,
            kind,
            message,
        }
    }
}

/// Sets up globals and runs the prelude; returns its `freeze`.
fn install(
    lua: &Lua,
    chunk: &Rc<str>,
    meter: &Rc<Meter>,
    log: &Rc<RefCell<Log>>,
) -> mlua::Result<Function> {
    let g = lua.globals();
    for name in [
        "dofile",
        "loadfile",
        "load",
        "require",
        "collectgarbage",
        "rawset",
        "warn",
    ] {
        g.raw_set(name, Value::Nil)?;
    }
    let string: Table = g.raw_get("string")?;
    string.raw_set("dump", Value::Nil)?;

    let m = meter.clone();
    let check = lua.create_function(move |_, ()| match m.tripped_error() {
        Some(e) => Err(e),
        None => Ok(()),
    })?;
    let guard_chunk = chunk.clone();
    let guard = lua.create_function(
        move |lua, (op, s, p, plain): (String, Value, Value, Value)| {
            guard_match(
                lua,
                &guard_chunk,
                &op,
                &s,
                &p,
                plain.as_boolean().unwrap_or(!plain.is_nil()),
            )
        },
    )?;
    let log = log.clone();
    let emit = lua.create_function(move |_, line: LuaString| {
        let mut log = log.borrow_mut();
        if log.lines.len() >= MAX_LOG_LINES {
            log.dropped += 1;
        } else {
            let text = line.to_string_lossy();
            let mut kept: String = text.chars().take(MAX_LOG_LINE).collect();
            if kept.len() < text.len() {
                kept.push('…');
            }
            log.lines.push(kept);
        }
        Ok(())
    })?;
    lua.load(include_str!("prelude.lua"))
        .set_name("=sandbox")
        .set_mode(ChunkMode::Text)
        .call((check, guard, emit))
}

/// The prelude's `guard`: checks argument types the way the C function
/// would, then the pattern's cost bound.
fn guard_match(
    lua: &Lua,
    chunk: &str,
    op: &str,
    s: &Value,
    p: &Value,
    plain: bool,
) -> mlua::Result<()> {
    let fail = |msg: String| {
        let at = user_line(lua, chunk).map_or_else(String::new, |l| format!("{chunk}:{l}: "));
        Err(mlua::Error::RuntimeError(format!("{at}{msg}")))
    };
    let bytes = |v: &Value| -> Option<Vec<u8>> {
        match v {
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Integer(i) => Some(i.to_string().into_bytes()),
            // Numbers format with up to 14 significant digits: a bound is enough.
            Value::Number(_) => Some(vec![b'0'; 24]),
            _ => None,
        }
    };
    let Some(subject_len) = (match s {
        Value::String(s) => Some(s.as_bytes().len()),
        other => bytes(other).map(|b| b.len()),
    }) else {
        return fail(format!(
            "bad argument #1 to '{op}' (string expected, got {})",
            type_name(s)
        ));
    };
    let Some(pattern) = bytes(p) else {
        return fail(format!(
            "bad argument #2 to '{op}' (string expected, got {})",
            type_name(p)
        ));
    };
    let which = match op {
        "find" => MatchOp::Find,
        "match" => MatchOp::Match,
        "gmatch" => MatchOp::Gmatch,
        _ => MatchOp::Gsub,
    };
    let cost = match_cost(which, subject_len, &pattern, plain);
    if cost > MAX_MATCH_STEPS {
        let shown: String = String::from_utf8_lossy(&pattern).chars().take(40).collect();
        return fail(format!(
            "string.{op}: pattern '{shown}' on a {subject_len}-byte string could take up to \
             {cost:.0e} matching steps (limit {MAX_MATCH_STEPS:.0e}); use a simpler pattern or \
             a shorter string"
        ));
    }
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "no value",
        other => other.type_name(),
    }
}

/// The current line in the script's own chunk, searching outwards from the
/// running function (which may be the prelude or a host function).
fn user_line(lua: &Lua, chunk: &str) -> Option<usize> {
    let source = format!("@{chunk}");
    for level in 0..256 {
        let found = lua.inspect_stack(level, |d| {
            let src = d.source();
            (src.source.as_deref() == Some(source.as_str()))
                .then(|| d.current_line())
                .flatten()
        })?;
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Splits `chunk:12: message` into (12, message).
fn split_position(text: &str, chunk: &str) -> (Option<usize>, Option<String>) {
    let Some(rest) = text.strip_prefix(chunk).and_then(|r| r.strip_prefix(':')) else {
        return (None, None);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Some(message) = rest[digits.len()..].strip_prefix(": ") else {
        return (None, None);
    };
    match digits.parse() {
        Ok(line) => (Some(line), Some(message.to_owned())),
        Err(_) => (None, None),
    }
}

/// The innermost `chunk:N:` frame of a Lua traceback.
fn traceback_line(traceback: &str, chunk: &str) -> Option<usize> {
    traceback.lines().find_map(|l| {
        let (line, _) = split_position(l.trim(), chunk);
        line.or_else(|| {
            // Frames read "\trules.lua:12: in function ..."; `in` follows.
            let rest = l.trim().strip_prefix(chunk)?.strip_prefix(':')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> Sandbox {
        Sandbox::new("t.lua", Limits::default()).expect("sandbox")
    }

    #[test]
    fn safe_libraries_only() {
        let sb = sandbox();
        let missing: Vec<String> = sb
            .run(|lua| {
                let g = lua.globals();
                let mut v = Vec::new();
                for name in [
                    "io",
                    "os",
                    "package",
                    "debug",
                    "dofile",
                    "loadfile",
                    "load",
                    "require",
                    "collectgarbage",
                    "rawset",
                    "warn",
                ] {
                    if g.get::<Value>(name)?.is_nil() {
                        v.push(name.to_owned());
                    }
                }
                let s: Table = g.get("string")?;
                if s.get::<Value>("dump")?.is_nil() {
                    v.push("string.dump".into());
                }
                Ok(v)
            })
            .unwrap();
        assert_eq!(missing.len(), 12, "{missing:?}");
    }

    #[test]
    fn errors_carry_chunk_and_line() {
        let sb = sandbox();
        let e = sb.exec("local x = 1\nerror('boom')").unwrap_err();
        assert_eq!(e.to_string(), "t.lua:2: boom");
        let e = sandbox().exec("local x = = 1").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert!(e.to_string().starts_with("t.lua:1: "), "{e}");
    }

    #[test]
    fn print_goes_to_the_log() {
        let sb = sandbox();
        sb.exec("print('a', 1, nil)").unwrap();
        assert_eq!(sb.take_log(), vec!["a\t1\tnil"]);
    }

    #[test]
    fn positions_parse() {
        assert_eq!(
            split_position("r.lua:12: unknown", "r.lua"),
            (Some(12), Some("unknown".into()))
        );
        assert_eq!(split_position("x.lua:12: y", "r.lua"), (None, None));
        let tb = "\n\t[C]: in ?\n\tsandbox:40: in function 'string.find'\n\tr.lua:7: in main chunk";
        assert_eq!(traceback_line(tb, "r.lua"), Some(7));
    }
}
