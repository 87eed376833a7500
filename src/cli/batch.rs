//! `premix batch`: every session under a folder, mixed into its `.premix`
//! sibling, past failures, with a summary of what happened to each.
//!
//! Sessions run `--jobs` at a time (default 1: one session uses every core
//! already, and memory grows with the sessions in flight, not with the
//! folder). Each session is exactly `premix mix SESSION` with the batch's
//! options; nothing is written for a session that fails.

use super::mix::{self, default_output, execute};
use crate::output::write_atomic;
use anyhow::{bail, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to search for sessions (.RPP, .als, .aaf), recursively.
    pub dir: PathBuf,
    /// A reference mix for stage 2 (without it, stage 1 only).
    #[arg(long, short)]
    pub reference: Option<PathBuf>,
    /// A Lua file with grouping hooks, for every session.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Sessions mixed at the same time.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Write an HTML report per session, and the batch summary JSON, here.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Replace existing `.premix` outputs (otherwise those sessions are
    /// skipped).
    #[arg(long)]
    pub force: bool,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What happened to one session.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "lowercase", tag = "status")]
pub enum Status {
    Mixed {
        output: PathBuf,
        groups: usize,
        tracks: usize,
        warnings: Vec<String>,
    },
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub session: PathBuf,
    #[serde(flatten)]
    pub status: Status,
}

/// The batch summary (schema 1).
#[derive(Debug, Serialize)]
pub struct Summary {
    pub schema: u32,
    pub dir: PathBuf,
    pub mixed: usize,
    pub skipped: usize,
    pub failed: usize,
    pub sessions: Vec<Entry>,
}

/// Session files premix reads, by extension (lower case).
const SESSION_EXTS: [&str; 3] = ["rpp", "als", "aaf"];

/// Whether a file is a session to mix: a session extension, not premix's
/// own output (`NAME.premix.EXT`), not a backup (REAPER's `.rpp-bak` and
/// `-bak.rpp`, Live's `Backup/` folder), not hidden.
pub fn is_candidate(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    let Some((stem, ext)) = lower.rsplit_once('.') else {
        return false;
    };
    SESSION_EXTS.contains(&ext)
        && !name.starts_with('.')
        && !stem.ends_with(".premix")
        && !stem.ends_with("-bak")
        && !stem.ends_with("_bak")
        && !stem.ends_with(".bak")
}

/// Folders never searched: hidden ones and DAW backup folders (REAPER's
/// `Backups`, Live's `Backup`).
fn skip_dir(name: &str) -> bool {
    name.starts_with('.') || name == "Backup" || name == "Backups"
}

/// Every candidate session under `dir`, sorted.
pub fn find_sessions(dir: &Path, exclude: Option<&Path>) -> Vec<PathBuf> {
    let exclude = exclude.and_then(|p| p.canonicalize().ok());
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && (e.file_name().to_str().is_some_and(skip_dir)
                        || exclude
                            .as_ref()
                            .is_some_and(|x| e.path().canonicalize().ok().as_ref() == Some(x))))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && is_candidate(e.path()))
        .map(walkdir::DirEntry::into_path)
        .collect();
    out.sort();
    out
}

pub fn run(args: Args) -> Result<u8> {
    if !args.dir.is_dir() {
        bail!("{}: not a folder", args.dir.display());
    }
    if let Some(r) = &args.reference {
        if !r.is_file() {
            bail!("{}: reference not found", r.display());
        }
    }
    if let Some(r) = &args.rules {
        super::groups::read_rules(r)?;
    }
    if let Some(d) = &args.report_dir {
        std::fs::create_dir_all(d)
            .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", d.display()))?;
    }
    let sessions = find_sessions(&args.dir, args.report_dir.as_deref());
    eprintln!(
        "premix: {} session(s) under {}",
        sessions.len(),
        args.dir.display()
    );
    let bar = super::progress::bar(sessions.len() as u64, "sessions");
    let queue = Mutex::new(sessions.iter().enumerate());
    let results: Mutex<Vec<Option<Entry>>> = Mutex::new(vec![None; sessions.len()]);
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.max(1).min(sessions.len().max(1)) {
            scope.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                let Some((i, path)) = next else { break };
                bar.set_message(path.display().to_string());
                let entry = Entry {
                    session: path.clone(),
                    status: mix_one(&args, path),
                };
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(entry);
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let entries: Vec<Entry> = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    let count = |f: fn(&Status) -> bool| entries.iter().filter(|e| f(&e.status)).count();
    let summary = Summary {
        schema: 1,
        dir: args.dir.clone(),
        mixed: count(|s| matches!(s, Status::Mixed { .. })),
        skipped: count(|s| matches!(s, Status::Skipped { .. })),
        failed: count(|s| matches!(s, Status::Failed { .. })),
        sessions: entries,
    };
    let json = serde_json::to_string_pretty(&summary)?;
    if let Some(d) = &args.report_dir {
        write_atomic(&d.join("premix-batch.json"), json.as_bytes(), None, true)?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{json}")?;
    } else {
        table(&mut out, &summary)?;
    }
    Ok(u8::from(summary.failed > 0))
}

/// Mixes one session; never panics the batch (a panic in one session is
/// reported as its failure).
fn mix_one(args: &Args, session: &Path) -> Status {
    let output = default_output(session);
    if output.exists() && !args.force {
        return Status::Skipped {
            reason: format!("{} exists (use --force to replace it)", output.display()),
        };
    }
    let report = args
        .report_dir
        .as_ref()
        .map(|d| d.join(report_name(&args.dir, session)));
    let margs = mix::Args {
        reference: args.reference.clone(),
        output: Some(output),
        force: args.force,
        rules: args.rules.clone(),
        report,
        ..mix::Args::new(session.to_owned())
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(&margs, true))) {
        Ok(Ok(o)) => Status::Mixed {
            output: o.output.unwrap_or_default(),
            groups: o.plan.groups.len(),
            tracks: o.plan.tracks.len(),
            warnings: o.warnings,
        },
        Ok(Err(e)) => {
            // Name the session even where the error is about another file
            // (the reference, a media file).
            let error = super::one_line(&e);
            let name = session.display().to_string();
            Status::Failed {
                error: if error.contains(&name) {
                    error
                } else {
                    format!("{name}: {error}")
                },
            }
        }
        Err(_) => Status::Failed {
            error: format!(
                "{}: internal error (a bug in premix; please report it)",
                session.display()
            ),
        },
    }
}

/// The report file for `session`: its path under `dir` with separators
/// turned into `__`, so reports of same-named sessions do not collide.
fn report_name(dir: &Path, session: &Path) -> String {
    let rel = session.strip_prefix(dir).unwrap_or(session);
    let flat: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("{}.html", flat.join("__"))
}

fn table(out: &mut impl Write, s: &Summary) -> Result<()> {
    for e in &s.sessions {
        let (word, detail) = match &e.status {
            Status::Mixed {
                output,
                groups,
                tracks,
                warnings,
            } => (
                "mixed",
                format!(
                    "{tracks} tracks, {groups} groups -> {}{}",
                    output.display(),
                    if warnings.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} warning(s))", warnings.len())
                    }
                ),
            ),
            Status::Skipped { reason } => ("skipped", reason.clone()),
            Status::Failed { error } => ("FAILED", error.clone()),
        };
        writeln!(out, "{word:<8} {}  {detail}", e.session.display())?;
    }
    writeln!(
        out,
        "premix batch: {} mixed, {} skipped, {} failed",
        s.mixed, s.skipped, s.failed
    )?;
    Ok(())
}
