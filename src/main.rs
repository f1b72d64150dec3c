//! The `steerdns` binary: parse the command line, run the command, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use steerdns::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match steerdns::app::run(cli.command) {
        Ok(code) => code,
        // A closed output pipe (`| head`) ends quietly.
        Err(steerdns::error::AppError::ClosedPipe) => ExitCode::SUCCESS,
        Err(e) => {
            steerdns::commands::output::eprintln(&steerdns::error::render_report(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
