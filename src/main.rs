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
            let mut msg = one_line(&err);
            msg.retain(|c| c != '\n');
            let _ = writeln!(std::io::stderr(), "premix: {msg}");
            ExitCode::from(2)
        }
    }
}

/// One line: `<file>: <what>`, the error chain joined with ": ", leaving
/// out a cause whose text the message already ends with (errors that print
/// their source inline, as `path: io error` does).
fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if msg.ends_with(&s) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s);
    }
    msg
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
