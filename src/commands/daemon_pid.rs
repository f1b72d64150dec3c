//! Finding the daemon through its pid file, safely: `steerdns reload` only signals a process
//! it has verified to be a running `steerdns serve` (SPEC section 6), and never a pid below 1
//! (`kill(0, ...)` signals the caller's process group, `kill(-1, ...)` every process the
//! caller may signal).
//!
//! Verification reads Linux's `/proc/PID`: the program (`exe`, else `comm` when `exe` cannot
//! be read, e.g. another user's process) must be `steerdns`, and its arguments must include
//! `serve`. Where there is no `/proc`, nothing is signalled.

use std::path::Path;

use crate::error::AppError;

/// The program name a daemon runs as.
const PROGRAM: &str = "steerdns";

/// Reads the pid from `pid_file`, checks it names a running steerdns daemon (under
/// `proc_root`, normally `/proc`), and returns it.
pub fn verified_pid(pid_file: &Path, proc_root: &Path) -> Result<i32, AppError> {
    let text = std::fs::read_to_string(pid_file).map_err(|source| AppError::PidFile {
        path: pid_file.to_path_buf(),
        source,
    })?;
    let number: i64 = text.trim().parse().map_err(|source| AppError::NotAPid {
        path: pid_file.to_path_buf(),
        source,
    })?;
    let pid = match i32::try_from(number) {
        Ok(pid) if pid >= 1 => pid,
        _ => {
            return Err(AppError::BadPid {
                path: pid_file.to_path_buf(),
                pid: number,
            });
        }
    };
    let not_daemon = |reason: String| AppError::NotDaemon {
        pid,
        path: pid_file.to_path_buf(),
        reason,
    };
    let dir = proc_root.join(pid.to_string());
    if !dir.exists() {
        return Err(not_daemon(
            "no such process (a stale pid file: is the daemon running?)".into(),
        ));
    }
    let program = program_of(&dir)
        .ok_or_else(|| not_daemon(format!("cannot read its program name in {}", dir.display())))?;
    if program != PROGRAM {
        return Err(not_daemon(format!("it runs {program:?}")));
    }
    let args = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    if !args.split(|&b| b == 0).any(|a| a == b"serve") {
        return Err(not_daemon(
            "it is steerdns, but not `steerdns serve`".into(),
        ));
    }
    Ok(pid)
}

/// The program a process runs: the file name of `exe` (without the " (deleted)" an upgrade
/// in place leaves), else `comm`.
fn program_of(dir: &Path) -> Option<String> {
    if let Ok(exe) = std::fs::read_link(dir.join("exe")) {
        let name = exe.file_name()?.to_string_lossy().into_owned();
        return Some(name.trim_end_matches(" (deleted)").to_string());
    }
    let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
    Some(comm.trim_end().to_string())
}

/// Sends SIGHUP to a verified pid.
pub fn hang_up(pid: i32, pid_file: &Path) -> Result<(), AppError> {
    debug_assert!(pid >= 1);
    // SAFETY: kill(2) with a positive pid and a signal number has no memory-safety
    // preconditions; the pid was verified by `verified_pid`.
    let rc = unsafe { libc::kill(pid, libc::SIGHUP) };
    if rc != 0 {
        return Err(AppError::Kill {
            pid,
            path: pid_file.to_path_buf(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/proc` with one process.
    fn fake_proc(pid: i32, exe: Option<&str>, comm: &str, args: &[&str]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(pid.to_string());
        std::fs::create_dir(&dir).unwrap();
        if let Some(exe) = exe {
            std::os::unix::fs::symlink(exe, dir.join("exe")).unwrap();
        }
        std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
        let mut cmdline = Vec::new();
        for a in args {
            cmdline.extend_from_slice(a.as_bytes());
            cmdline.push(0);
        }
        std::fs::write(dir.join("cmdline"), cmdline).unwrap();
        root
    }

    fn pid_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("steerdns.pid");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn only_a_running_steerdns_serve_is_accepted() {
        let (_d, pf) = pid_file("4242\n");
        let ok = fake_proc(
            4242,
            Some("/usr/local/bin/steerdns"),
            "steerdns",
            &["steerdns", "serve", "-c", "x.toml"],
        );
        assert_eq!(verified_pid(&pf, ok.path()).unwrap(), 4242);
        // Upgraded in place while running.
        let upgraded = fake_proc(
            4242,
            Some("/usr/local/bin/steerdns (deleted)"),
            "steerdns",
            &["steerdns", "serve"],
        );
        assert_eq!(verified_pid(&pf, upgraded.path()).unwrap(), 4242);
        // exe unreadable (another user's process): comm decides.
        let other_user = fake_proc(4242, None, "steerdns", &["steerdns", "serve"]);
        assert_eq!(verified_pid(&pf, other_user.path()).unwrap(), 4242);

        let sleep = fake_proc(4242, Some("/usr/bin/sleep"), "sleep", &["sleep", "100"]);
        let e = verified_pid(&pf, sleep.path()).unwrap_err();
        assert!(matches!(e, AppError::NotDaemon { pid: 4242, .. }), "{e}");
        assert!(e.to_string().contains("\"sleep\""), "{e}");
        let check = fake_proc(
            4242,
            Some("/usr/local/bin/steerdns"),
            "steerdns",
            &["steerdns", "check"],
        );
        assert!(matches!(
            verified_pid(&pf, check.path()),
            Err(AppError::NotDaemon { .. })
        ));
        let empty = tempfile::tempdir().unwrap();
        let e = verified_pid(&pf, empty.path()).unwrap_err();
        assert!(e.to_string().contains("stale pid file"), "{e}");
    }

    #[test]
    fn pids_below_one_and_garbage_are_refused_before_anything_else() {
        let root = tempfile::tempdir().unwrap();
        for text in ["0", "-1", "-4242", "4294967297"] {
            let (_d, pf) = pid_file(text);
            assert!(
                matches!(verified_pid(&pf, root.path()), Err(AppError::BadPid { .. })),
                "{text}"
            );
        }
        let (_d, pf) = pid_file("abc");
        assert!(matches!(
            verified_pid(&pf, root.path()),
            Err(AppError::NotAPid { .. })
        ));
        assert!(matches!(
            verified_pid(&root.path().join("missing.pid"), root.path()),
            Err(AppError::PidFile { .. })
        ));
    }
}
