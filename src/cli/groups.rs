//! `premix groups`: how premix groups a session's tracks into stems, with
//! each track's role, class and the reason.

use super::truncate;
use crate::analysis::{self, Features};
use crate::group::{self, GroupConfig, Grouping, UserScript};
use crate::session::{self, Session};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest rules file accepted; grouping scripts are a few KiB.
const MAX_RULES_BYTES: u64 = 1 << 20;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session file (.RPP, .als or .aaf).
    pub session: PathBuf,
    /// A Lua file defining `group(track)` and/or `groups(session)`
    /// (see scripts/groups/examples/).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Do not make groups from the session's top-level folders.
    #[arg(long)]
    pub ignore_folders: bool,
    /// Which tracks to analyse for the feature fallback and `track.features`:
    /// those the name rules cannot place, all, or none.
    #[arg(long, value_enum, default_value_t = Analyze::Unnamed)]
    pub analyze: Analyze,
}

/// Which tracks `premix groups` analyses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Analyze {
    /// Tracks whose track and file names match no shipped rule.
    Unnamed,
    All,
    None,
}

/// The JSON schema of `premix groups --json` (version 1).
#[derive(Serialize)]
struct Report<'a> {
    schema: u32,
    path: String,
    #[serde(flatten)]
    grouping: &'a Grouping,
}

pub fn run(args: Args) -> Result<u8> {
    let session = session::read(&args.session)?;
    let script = match &args.rules {
        Some(path) => Some(read_rules(path)?),
        None => None,
    };
    let wanted: Vec<usize> = match args.analyze {
        Analyze::None => Vec::new(),
        Analyze::All => session.tracks.iter().map(|t| t.index).collect(),
        Analyze::Unnamed => group::tracks_needing_features(&session)?,
    };
    let features = analyse(&session, &wanted);
    let config = GroupConfig {
        ignore_folders: args.ignore_folders,
        script,
        ..GroupConfig::default()
    };
    let grouping = group::assign(&session, &features, &config)?;

    let mut out = std::io::stdout().lock();
    if args.json {
        let report = Report {
            schema: 1,
            path: session.path.display().to_string(),
            grouping: &grouping,
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_table(&session, &grouping, &mut out)?;
    }
    out.flush()?;
    for line in &grouping.log {
        eprintln!("premix: {line}");
    }
    Ok(u8::from(!grouping.skipped.is_empty()))
}

/// Reads a rules file: text only, bounded size, named for error messages.
pub(super) fn read_rules(path: &Path) -> Result<UserScript> {
    let shown = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("{shown}: cannot read"))?;
    if meta.len() > MAX_RULES_BYTES {
        bail!(
            "{shown}: rules file is larger than {} KiB",
            MAX_RULES_BYTES >> 10
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("{shown}: cannot read"))?;
    if bytes.starts_with(b"\x1bLua") {
        bail!("{shown}: is compiled Lua bytecode; premix runs Lua source only");
    }
    let source = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{shown}: is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(UserScript {
        source,
        chunk: group::chunk_name(path),
    })
}

/// Features for the `wanted` tracks, indexed by track index. A track whose
/// media cannot be rendered gets `None` (no analysis), not the numbers of
/// silence.
fn analyse(session: &Session, wanted: &[usize]) -> Vec<Option<Features>> {
    let mut out = vec![None; session.tracks.len()];
    if wanted.is_empty() {
        return out;
    }
    let subset = Session {
        tracks: session
            .tracks
            .iter()
            .filter(|t| wanted.contains(&t.index) && t.has_audio())
            .cloned()
            .collect(),
        ..session.clone()
    };
    if subset.tracks.is_empty() {
        return out;
    }
    let result = analysis::session::analyze_session(
        &subset,
        &analysis::Config::default(),
        &analysis::session::RunOptions::default(),
        &|_| {},
    );
    for t in result.tracks {
        if t.error.is_none() && t.analysis.duration_s > 0.0 {
            if let Some(slot) = out.get_mut(t.index) {
                *slot = Some(t.analysis.features);
            }
        }
    }
    out
}

fn print_table(session: &Session, g: &Grouping, out: &mut impl Write) -> Result<()> {
    let members: usize = g.groups.iter().map(|x| x.tracks.len()).sum();
    writeln!(
        out,
        "{}  ({} groups, {} tracks grouped, {} skipped)",
        session.path.display(),
        g.groups.len(),
        members,
        g.skipped.len()
    )?;
    for grp in &g.groups {
        writeln!(out)?;
        writeln!(out, "{}  ({})", grp.name, tracks(grp.tracks.len()))?;
        for t in &grp.tracks {
            writeln!(
                out,
                "{:>4}  {:<28} {:<10} {:<18} {:<8} {}",
                t.index + 1,
                truncate(&t.name, 28),
                t.role.as_str(),
                t.class.as_str(),
                t.source.as_str(),
                t.reason
            )?;
        }
    }
    if !g.skipped.is_empty() {
        writeln!(out)?;
        writeln!(out, "skipped  ({})", tracks(g.skipped.len()))?;
        for t in &g.skipped {
            writeln!(
                out,
                "{:>4}  {:<28} {}",
                t.index + 1,
                truncate(&t.name, 28),
                t.reason
            )?;
        }
    }
    Ok(())
}

fn tracks(n: usize) -> String {
    if n == 1 {
        "1 track".to_owned()
    } else {
        format!("{n} tracks")
    }
}
