//! The `premix` command. Thin: parse arguments, run, map the outcome to an
//! exit code. Only this file knows about exit codes and how errors print.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = premix::cli::parse();
    match premix::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut msg = premix::cli::one_line(&err);
            msg.retain(|c| c != '\n');
            let _ = writeln!(std::io::stderr(), "premix: {msg}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
