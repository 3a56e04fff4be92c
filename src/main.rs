//! The `netlab` binary: parse the command line, run it, map the result to an exit code.
//! All the work is in the library (`netlab::cli`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = netlab::cli::Cli::parse();
    match netlab::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            // A closed pipe (`netlab list | head`) is not an error worth a message.
            if error
                .root_cause()
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            // What is left is a failed write to standard output: an I/O failure.
            eprintln!("error: {error:#}");
            ExitCode::from(netlab::cli::EXIT_IO)
        }
    }
}
