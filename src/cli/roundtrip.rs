use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session file.
    pub session: PathBuf,
    /// Where to write the copy.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let _ = args;
    Ok(0)
}
