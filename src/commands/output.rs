//! Writing a command's output. A reader that goes away (`steerdns explain ... | head -1`)
//! ends the command quietly ([`AppError::ClosedPipe`], exit 0), never with a panic.

use std::io::Write;

use crate::error::AppError;

/// Writes `text` to standard output and flushes it.
pub fn print(text: &str) -> Result<(), AppError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => AppError::ClosedPipe,
            _ => AppError::Output(e),
        })
}

/// Writes `text` to standard output followed by a newline.
pub fn println(text: &str) -> Result<(), AppError> {
    print(&format!("{text}\n"))
}

/// Writes `text` and a newline to standard error; a closed standard error is ignored (there
/// is nowhere left to report it).
pub fn eprintln(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}
