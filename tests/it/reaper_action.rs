//! The REAPER action script (issue 12) under plain Lua with a stubbed `reaper` API.
//!
//! REAPER is not on these machines, so `scripts/reaper/premix.lua` runs in
//! the Lua 5.4 that the mlua crate vendors, against the stub in
//! `scripts/reaper/tests/reaper_stub.lua`. Nothing is installed for this:
//! the same harness also runs under a system `lua5.4`.
//!
//! Two kinds of check:
//! - the harness's own tests (quoting, command lines on Windows, macOS and
//!   Linux, dialogs, failures, missing binary, unsaved project), which must
//!   all pass;
//! - the action end to end with the real premix binary: the stub's
//!   `ExecProcess` runs the command line the script built through `sh -c`,
//!   as REAPER does on macOS and Linux, in a folder whose name holds spaces,
//!   quotes, shell characters and non-ASCII letters.

use crate::util::{root, tempdir};
use mlua::{Function, Lua, Table, Value};
use std::path::{Path, PathBuf};

fn tests_dir() -> PathBuf {
    root().join("scripts/reaper/tests")
}

/// A Lua state (the full safe standard library: io, os, string, table,
/// package without C modules; the `debug` library is the one left out) with
/// the harness loaded in embedded mode, and the harness's table.
fn load_harness() -> (Lua, Table) {
    let lua = Lua::new();
    let dir = format!("{}/", tests_dir().display());
    lua.globals().set("HARNESS_DIR", dir).unwrap();
    lua.globals().set("PREMIX_HARNESS_EMBEDDED", true).unwrap();
    let dofile: Function = lua.globals().get("dofile").unwrap();
    let harness = tests_dir().join("harness.lua");
    let h: Table = dofile
        .call(harness.to_str().expect("UTF-8 checkout path"))
        .unwrap_or_else(|e| panic!("harness.lua did not load: {e}"));
    (lua, h)
}

#[test]
fn harness_passes_under_vendored_lua54() {
    let (lua, h) = load_harness();
    let version: String = lua.globals().get("_VERSION").unwrap();
    assert_eq!(version, "Lua 5.4", "the harness targets REAPER's Lua 5.4");
    let passed: i64 = h.get("passed").unwrap();
    let failed: i64 = h.get("failed").unwrap();
    let skipped: i64 = h.get("skipped").unwrap();
    let lines: Vec<String> = h.get("lines").unwrap();
    let report = lines.join("\n");
    eprintln!("{report}");
    assert_eq!(failed, 0, "harness failures:\n{report}");
    assert!(
        passed >= 30,
        "too few harness tests ran ({passed}):\n{report}"
    );
    // Only the debug.getinfo fallback may be skipped: mlua's safe state has
    // no `debug` library.
    assert!(skipped <= 1, "{report}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("{passed} passed, 0 failed, {skipped} skipped").as_str())
    );
}

/// What one run of the action did.
#[derive(Debug)]
struct Outcome {
    ok: bool,
    err: String,
    messages: Vec<String>,
    commands: Vec<String>,
    opened: Vec<String>,
}

fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Runs the action once with the real premix binary behind `ExecProcess`
/// and the real disk behind `file_exists`.
fn run_real(lua: &Lua, h: &Table, project: &Path, dialogs: &[i64], picks: &[&Path]) -> Outcome {
    let cfg = lua.create_table().unwrap();
    cfg.set("os", "Linux").unwrap();
    cfg.set("project", s(project)).unwrap();
    let ext = lua.create_table().unwrap();
    ext.set("binary", env!("CARGO_BIN_EXE_premix")).unwrap();
    cfg.set("extstate", ext).unwrap();
    cfg.set(
        "dialogs",
        lua.create_sequence_from(dialogs.to_vec()).unwrap(),
    )
    .unwrap();
    let pick = lua.create_table().unwrap();
    for (i, p) in picks.iter().enumerate() {
        let answer = lua.create_table().unwrap();
        answer.set(1, true).unwrap();
        answer.set(2, s(p)).unwrap();
        pick.set(i + 1, answer).unwrap();
    }
    cfg.set("pick", pick).unwrap();
    let exists = lua
        .create_function(|_, p: String| Ok(Path::new(&p).is_file()))
        .unwrap();
    cfg.set("file_exists", exists).unwrap();
    // REAPER on macOS and Linux hands the line to /bin/sh; so does this.
    let exec = lua
        .create_function(|_, (cmdline, _timeout): (String, i64)| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmdline)
                .output()
                .map_err(mlua::Error::external)?;
            // The line merges stderr into stdout itself (`2>&1`).
            assert!(
                out.stderr.is_empty(),
                "stderr was not merged: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(format!(
                "{}\n{}",
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout)
            ))
        })
        .unwrap();
    // One premix run per scenario at most, plus nothing else.
    cfg.set("exec", lua.create_sequence_from([exec]).unwrap())
        .unwrap();

    let run_action: Function = h.get("run_action").unwrap();
    let stub: Table = run_action.call((cfg, lua.create_table().unwrap())).unwrap();
    let strings = |method: &str| -> Vec<String> {
        let f: Function = stub.get(method).unwrap();
        f.call(&stub).unwrap()
    };
    let err: Value = stub.get("err").unwrap();
    Outcome {
        ok: stub.get("ok").unwrap(),
        err: format!("{err:?}"),
        messages: strings("messages"),
        commands: strings("commands"),
        opened: strings("opened"),
    }
}

const OK: i64 = 1;
const YES: i64 = 6;
const NO: i64 = 7;

#[cfg(unix)]
#[test]
fn action_runs_the_real_premix_through_sh_on_an_awkward_path() {
    use premix::generate::{generate, GenerateConfig};

    let tmp = tempdir();
    let dir = tmp.path().join("it's \"my\" mix & $HOME – Ünï 曲");
    let cfg = GenerateConfig {
        tracks: 6,
        seconds: 4.0,
        seed: 12,
        ..GenerateConfig::default()
    };
    let report = generate(&cfg, &dir, &|_, _| {}).unwrap();
    let project = report.session.clone();
    let before = std::fs::read(&project).unwrap();
    let output = PathBuf::from(premix_core_default_output(&project));
    assert_eq!(
        output.parent(),
        project.parent(),
        "the output sits beside the project"
    );
    assert!(!output.exists());

    let (lua, h) = load_harness();

    // 1. Stage 2 against the generated reference, no rules.
    let first = run_real(&lua, &h, &project, &[YES, NO, OK], &[&report.reference]);
    assert!(first.ok, "the action raised: {}", first.err);
    eprintln!("first run:\n{}", first.messages.join("\n---\n"));
    assert_eq!(first.commands.len(), 1, "{first:?}");
    let cmd = &first.commands[0];
    assert!(
        cmd.contains(r#"it'\''s "my" mix & $HOME – Ünï 曲"#),
        "{cmd}"
    );
    assert!(!cmd.contains("--force"), "{cmd}");
    assert!(
        output.is_file(),
        "premix did not write {}",
        output.display()
    );
    assert_eq!(first.opened, vec![s(&output).to_owned()]);
    let summary = first.messages.last().unwrap();
    assert!(
        summary.contains(" groups, 6 tracks balanced by "),
        "{summary}"
    );
    assert!(summary.contains("stage 2: style loss"), "{summary}");
    assert!(
        summary.contains(&format!("wrote {}", output.display())),
        "{summary}"
    );
    assert!(!summary.contains("analysing"), "{summary}");
    assert_eq!(std::fs::read(&project).unwrap(), before, "input modified");
    let written = premix::session::read(&output).unwrap();
    assert!(written.tracks.iter().any(|t| t.is_folder));

    // 2. Re-run, stage 1 only: the existing output is replaced after the
    // question, with --force.
    let second = run_real(&lua, &h, &project, &[NO, NO, OK, OK], &[]);
    assert!(second.ok, "the action raised: {}", second.err);
    assert!(second.messages[2].contains("already exists"), "{second:?}");
    assert!(second.commands[0].ends_with(" --force 2>&1"), "{second:?}");
    assert!(!second.commands[0].contains("--reference"), "{second:?}");
    assert_eq!(second.opened, vec![s(&output).to_owned()]);
    let summary = second.messages.last().unwrap();
    assert!(!summary.contains("stage 2"), "stage 1 only: {summary}");
    assert_eq!(std::fs::read(&project).unwrap(), before, "input modified");

    // 3. A broken rules file: premix exits 2 with its one-line error, which
    // the dialog shows; nothing is opened.
    let rules = dir.join("house rules (broken).lua");
    std::fs::write(&rules, "function group(track)\n  return {\nend\n").unwrap();
    let third = run_real(&lua, &h, &project, &[NO, YES, OK, OK], &[&rules]);
    assert!(third.ok, "the action raised: {}", third.err);
    eprintln!("third run:\n{}", third.messages.join("\n---\n"));
    assert!(third.opened.is_empty(), "{third:?}");
    let failure = third.messages.last().unwrap();
    assert!(failure.contains("exit status 2"), "{failure}");
    assert!(
        failure.contains(&format!("premix: {}", rules.display())),
        "the one-line error names the rules file: {failure}"
    );
    assert_eq!(std::fs::read(&project).unwrap(), before, "input modified");
}

/// premix_core.default_output, called through Lua (the action passes it
/// with -o; the test checks it is where `premix mix` would write by default).
fn premix_core_default_output(project: &Path) -> String {
    let (_lua, h) = load_harness();
    let core: Table = h.get("core").unwrap();
    let f: Function = core.get("default_output").unwrap();
    let out: String = f.call(s(project)).unwrap();
    let rust_default = project.with_file_name(format!(
        "{}.premix.{}",
        project.file_stem().unwrap().to_string_lossy(),
        project.extension().unwrap().to_string_lossy()
    ));
    assert_eq!(Path::new(&out), rust_default);
    out
}
