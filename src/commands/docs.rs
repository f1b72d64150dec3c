//! `steerdns completions SHELL` and `steerdns man`: generated from the command-line
//! definitions (clap_complete, clap_mangen), so they always match `--help`.

use std::process::ExitCode;

use clap::CommandFactory;

use super::output;
use crate::cli::Cli;
use crate::error::AppError;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode, AppError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "steerdns", &mut script);
    output::print(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the man page (section 1, roff): the command, then a section per subcommand with
/// its synopsis, description, options and examples.
pub fn man() -> Result<ExitCode, AppError> {
    let command = Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(AppError::Output)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub = sub.clone().bin_name(format!("steerdns {}", sub.get_name()));
        let man = clap_mangen::Man::new(sub.clone());
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)
            .and_then(|()| man.render_description_section(&mut part))
            .and_then(|()| man.render_options_section(&mut part))
            .and_then(|()| {
                if sub.get_after_long_help().is_some() {
                    man.render_extra_section(&mut part)
                } else {
                    Ok(())
                }
            })
            .map_err(AppError::Output)?;
        // The subcommand's sections become subsections of one section named after it.
        let part = String::from_utf8_lossy(&part).replace("\n.SH ", "\n.SS ");
        let part = part
            .strip_prefix(".SH ")
            .map_or(part.clone(), |p| format!(".SS {p}"));
        page.extend_from_slice(
            format!(".SH \"STEERDNS {}\"\n", sub.get_name().to_uppercase()).as_bytes(),
        );
        page.extend_from_slice(part.as_bytes());
    }
    output::print(&String::from_utf8_lossy(&page))?;
    Ok(ExitCode::SUCCESS)
}
