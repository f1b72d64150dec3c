//! The README's commands, pasted as they are (issue 11): every fenced `console` block of
//! `README.md` is run in order, in a copy of the shipped example (`steerdns.toml`, `zones/`,
//! `geoip/`), with `steerdns` on `PATH` as the install step leaves it, and the output the
//! README shows is checked.
//!
//! - `$ command` lines are run with `bash -c` in the example's folder, stderr merged into
//!   stdout; each must exit 0 (a README command that is meant to fail shows it with
//!   `; echo "exit $?"`). A command ending in `&` (`steerdns serve &`) is started in the
//!   background and the test waits until it answers; it is stopped when the test ends.
//! - The lines after a command are output the README promises: each, with runs of white
//!   space made one space, must equal a line of the real output, in order (other lines may
//!   come between). `...` in a shown line stands for any text.
//! - The one rewrite: the example's fixed ports 5353 (DNS) and 9153 (admin) become free
//!   loopback ports, in the config copy, the commands and the shown output alike, so tests
//!   can run in parallel. Nothing but loopback is ever queried.
//!
//! The same file checks that the repository stands alone: no file links to `../shared`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::external::require_programs;
use common::*;
use hickory_proto::rr::RecordType;

/// One `$ command` of a `console` block and the output lines shown after it.
#[derive(Debug)]
struct Step {
    /// 1-based line of the command in README.md.
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// Every `$ ` command of every fenced `console` block, in order.
fn console_steps(readme: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut in_console = false;
    for (i, raw) in readme.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with("```") {
            in_console = !in_console && trimmed == "```console";
            continue;
        }
        if !in_console || trimmed.is_empty() {
            continue;
        }
        if let Some(command) = raw.strip_prefix("$ ") {
            steps.push(Step {
                line: i + 1,
                command: command.to_owned(),
                expected: Vec::new(),
            });
        } else {
            let step = steps
                .last_mut()
                .unwrap_or_else(|| panic!("README.md:{}: output before any `$ ` command", i + 1));
            step.expected.push(raw.to_owned());
        }
    }
    steps
}

/// White space runs made one space, ends trimmed.
fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `actual` matches `pattern`, where `...` stands for any text.
fn matches(pattern: &str, actual: &str) -> bool {
    let pieces: Vec<&str> = pattern.split("...").collect();
    if pieces.len() == 1 {
        return pattern == actual;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The shown lines that do not appear, in order, in `output`.
fn missing_lines(expected: &[String], output: &str) -> Vec<String> {
    let actual: Vec<String> = output.lines().map(normalise).collect();
    let mut at = 0;
    let mut missing = Vec::new();
    for shown in expected {
        let pattern = normalise(shown);
        if pattern == "..." {
            continue;
        }
        match actual[at..].iter().position(|l| matches(&pattern, l)) {
            Some(found) => at += found + 1,
            None => missing.push(shown.clone()),
        }
    }
    missing
}

/// `text` with `from` replaced by `to`; panics when `from` does not occur (the shipped file
/// or the README changed under the test).
fn replace_required(text: &str, from: &str, to: &str, what: &str) -> String {
    assert!(text.contains(from), "{what} no longer contains {from:?}");
    text.replace(from, to)
}

/// A copy of the shipped example in a temp dir, on free ports.
struct Example {
    dir: tempfile::TempDir,
    dns: u16,
    admin: u16,
}

impl Example {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (dns, admin) = (free_port(), free_port());
        let config = std::fs::read_to_string(repo().join("steerdns.toml")).expect("steerdns.toml");
        let config = replace_required(
            &config,
            r#"listen = ["127.0.0.1:5353", "[::1]:5353"]"#,
            &format!(r#"listen = ["127.0.0.1:{dns}"]"#),
            "steerdns.toml",
        );
        let config = replace_required(
            &config,
            "127.0.0.1:9153",
            &format!("127.0.0.1:{admin}"),
            "steerdns.toml",
        );
        std::fs::write(dir.path().join("steerdns.toml"), config).expect("write config");
        std::fs::create_dir(dir.path().join("zones")).expect("zones");
        for entry in std::fs::read_dir(repo().join("zones")).expect("read zones/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let to = dir
                    .path()
                    .join("zones")
                    .join(path.file_name().expect("name"));
                std::fs::copy(&path, to).expect("copy zone");
            }
        }
        std::fs::create_dir(dir.path().join("geoip")).expect("geoip");
        for entry in std::fs::read_dir(repo().join("geoip")).expect("read geoip/") {
            let path = entry.expect("entry").path();
            let to = dir
                .path()
                .join("geoip")
                .join(path.file_name().expect("name"));
            std::os::unix::fs::symlink(&path, to).expect("link geoip file");
        }
        Self { dir, dns, admin }
    }

    /// The README's fixed ports made this copy's.
    fn localise(&self, text: &str) -> String {
        text.replace("-p 5353", &format!("-p {}", self.dns))
            .replace("127.0.0.1:9153", &format!("127.0.0.1:{}", self.admin))
    }

    /// `PATH` with the directory of the built `steerdns` first, as `cargo install` leaves it.
    fn path_env() -> std::ffi::OsString {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_steerdns"));
        let mut dirs = vec![bin.parent().expect("bin dir").to_path_buf()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(dirs).expect("PATH")
    }

    fn bash(&self, script: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(script)
            .current_dir(self.dir.path())
            .env("PATH", Self::path_env());
        cmd
    }
}

#[test]
fn readme_console_blocks_run_as_pasted_against_the_shipped_example() {
    let Some(_) = require_programs(&["dig", "curl"]) else {
        return;
    };
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    assert!(
        readme.contains("cargo install --path ."),
        "the README's install step (`cargo install --path .`) is gone"
    );
    let steps = console_steps(&readme);
    assert!(
        steps.iter().any(|s| s.command.trim() == "steerdns serve &"),
        "no `console` block starts the daemon (`$ steerdns serve &`)"
    );
    assert!(
        steps.len() >= 30,
        "only {} README commands found; the runbook's `console` blocks are gone",
        steps.len()
    );

    let example = Example::new();
    let mut daemons: Vec<Process> = Vec::new();
    for step in &steps {
        let command = example.localise(&step.command);
        let where_ = format!("README.md:{}: `$ {}`", step.line, step.command);
        if let Some(background) = command.trim().strip_suffix('&') {
            let cmd = example.bash(&format!("exec {background}"));
            let mut process = Process::spawn("daemon", cmd, example.dir.path());
            let addr = ([127, 0, 0, 1], example.dns).into();
            let probe = Query::new("probe.invalid.", RecordType::A).to_bytes();
            process.wait_until(&where_, || {
                send_udp(addr, &probe, Duration::from_millis(250)).is_ok()
            });
            daemons.push(process);
            continue;
        }
        let out = example
            .bash(&format!("{{ {command}\n}} 2>&1"))
            .output()
            .unwrap_or_else(|e| panic!("{where_}: cannot run bash: {e}"));
        let output = String::from_utf8_lossy(&out.stdout);
        let daemon_log = || daemons.iter().map(Process::log).collect::<String>();
        assert!(
            out.status.success(),
            "{where_} failed ({}); its output:\n{output}\ndaemon log:\n{}",
            out.status,
            daemon_log()
        );
        let expected: Vec<String> = step.expected.iter().map(|l| example.localise(l)).collect();
        let missing = missing_lines(&expected, &output);
        assert!(
            missing.is_empty(),
            "{where_}: the README shows lines the command did not print:\n{}\n\
             its output:\n{output}",
            missing.join("\n")
        );
    }
}

#[test]
fn the_output_matcher_is_strict_where_the_readme_is() {
    assert!(matches("a ... b", "a x y b"));
    assert!(matches(
        "pick: eu-west (reason geo: ...",
        "pick: eu-west (reason geo: first"
    ));
    assert!(matches(
        "x...2147483647...",
        "x:9: ttl 2147483648 is over 2147483647 (RFC 2181)"
    ));
    assert!(!matches("a ... b", "a x y c"));
    assert!(!matches("127.0.0.20", "127.0.0.21"));
    assert!(!matches("ab...ba", "aba"));
    let out = "one\ntwo  three\nfour\n";
    assert!(missing_lines(&["one".into(), "four".into()], out).is_empty());
    assert_eq!(missing_lines(&["four".into(), "one".into()], out), ["one"]);
    assert!(missing_lines(&["two three".into()], out).is_empty());
    let steps = console_steps("x\n```console\n$ a  # c\nout\n...\n$ b\n```\n```\n$ not run\n```\n");
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].command, "a  # c");
    assert_eq!(steps[0].expected, ["out", "..."]);
    assert_eq!(steps[1].line, 6);
}

/// Files of the repository that link outside it to `../shared` (the team's notes are not
/// part of the repository; summarise instead).
#[test]
fn the_repository_stands_alone() {
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(name, "target" | ".git" | "geoip") {
                    walk(&path, found);
                }
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                for (i, line) in text.lines().enumerate() {
                    if line.contains("../shared/") {
                        found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&repo(), &mut found);
    found.retain(|f| !f.contains("tests/readme.rs"));
    assert!(
        found.is_empty(),
        "links outside the repository:\n{}",
        found.join("\n")
    );
}
