use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session file (.RPP).
    pub session: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let _ = args;
    Ok(0)
}
