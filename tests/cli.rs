//! The command line on the shipped example: explain (text and JSON), geoip, reload errors.

mod common;

use common::{repo, run};

/// `steerdns explain NAME --client CLIENT [extra...]` on the shipped example:
/// (exit code, stdout, stderr).
fn explain(name: &str, client: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["explain", name, "--client", client];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-c", "steerdns.toml"]);
    run(&args, &repo())
}

#[test]
fn explain_text_and_json_on_the_shipped_example() {
    let (code, out, err) = explain("www.gslb.example.test", "81.2.69.160", &[]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "continent:EU",
        "eu-west",
        "eu-canary",
        "weight 5",
        "country=GB",
        "scope:    /24",
    ] {
        assert!(out.contains(want), "{want:?} missing in:\n{out}");
    }
    let (code, out, err) = explain(
        "www.gslb.example.test",
        "175.192.0.0/16",
        &["-t", "AAAA", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    for key in [
        "client",
        "client_source",
        "geo",
        "map_key",
        "tiers",
        "region",
        "reason",
        "endpoints",
        "ttl",
        "scope",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(v["client_source"], "ecs");
    assert_eq!(v["geo"]["country"], "KR");
    assert_eq!(v["map_key"], "country:KR");
    assert_eq!(v["region"], "us-east");
    assert_eq!(v["reason"], "failover");
    assert_eq!(v["endpoints"], serde_json::json!(["::1"]));
    assert_eq!(v["tiers"][0][0]["state"], "drain");
    assert_eq!(
        v["scope"], 10,
        "the /10 GeoIP network, capped by nothing (source /16)"
    );
}

#[test]
fn explain_and_geoip_errors_are_plain() {
    let (code, _, err) = explain("static.gslb.example.test", "1.2.3.4", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("not a steered name"), "{err}");
    let (code, _, err) = explain("www.gslb.example.test", "nonsense", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--client"), "{err}");
    let (code, out, _) = run(&["geoip", "81.2.69.160", "-c", "steerdns.toml"], &repo());
    assert_eq!(code, 0);
    assert!(out.contains("GB") && out.contains("81.2.64.0/18"), "{out}");
}

#[test]
fn reload_without_a_daemon_says_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("steerdns.toml"),
        // No admin listener (the default 127.0.0.1:9153 may be someone's running example).
        "[server]\npid_file = \"nope.pid\"\n[metrics]\nlisten = \"\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["reload", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 2, "no daemon reachable: {err}");
    assert!(
        err.contains("cannot read pid file nope.pid: No such file or directory"),
        "{err}"
    );
}

/// Runs the binary with its standard output a pipe whose reading end is already closed (as
/// `| head` leaves it); returns (exit code, stderr).
fn run_into_closed_pipe(args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steerdns"))
        .args(args)
        .current_dir(repo())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let keys = tempfile::tempdir().unwrap();
    let keys = keys.path().to_str().unwrap();
    for args in [
        &["keygen", "gslb.example.test.", "-d", keys][..],
        &[
            "explain",
            "www.gslb.example.test",
            "--client",
            "81.2.69.160",
        ][..],
        &[
            "explain",
            "www.gslb.example.test",
            "--client",
            "81.2.69.160",
            "--json",
        ],
        &["check"],
        &["geoip", "81.2.69.160"],
        &["completions", "bash"],
        &["man"],
        &["--help"],
        &["explain", "--help"],
        &["--version"],
    ] {
        let (code, err) = run_into_closed_pipe(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

#[test]
fn completions_man_page_version_and_long_help() {
    let dir = tempfile::tempdir().unwrap();
    let (code, bash, _) = run(&["completions", "bash"], dir.path());
    assert_eq!(code, 0);
    // The script defines a completion for steerdns that offers the subcommands.
    let script = dir.path().join("steerdns.bash");
    std::fs::write(&script, &bash).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p steerdns && COMP_WORDS=(steerdns re) COMP_CWORD=1 && _steerdns steerdns re steerdns && echo \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && shown.contains("-F _steerdns steerdns") && shown.contains("reload"),
        "{shown}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, zsh, _) = run(&["completions", "zsh"], dir.path());
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef steerdns"), "{zsh}");
    let (code, fish, _) = run(&["completions", "fish"], dir.path());
    assert_eq!(code, 0);
    assert!(fish.contains("complete -c steerdns"), "{fish}");
    let (code, _, err) = run(&["completions", "tcsh"], dir.path());
    assert_eq!(code, 2, "a usage error: {err}");

    let (code, man, _) = run(&["man"], dir.path());
    assert_eq!(code, 0);
    assert!(
        man.starts_with(".ie") || man.contains(".TH steerdns 1"),
        "{man}"
    );
    for section in [
        "STEERDNS SERVE",
        "STEERDNS CHECK",
        "STEERDNS EXPLAIN",
        "STEERDNS RELOAD",
    ] {
        assert!(man.contains(section), "{section} missing");
    }
    assert!(
        man.contains("POST /v1/reload"),
        "the long help is in the page"
    );

    let (code, version, _) = run(&["--version"], dir.path());
    assert_eq!(code, 0);
    assert_eq!(
        version.trim(),
        format!("steerdns {}", env!("CARGO_PKG_VERSION"))
    );

    for (command, says) in [
        ("serve", "SIGHUP"),
        ("check", "file:line"),
        ("explain", "--server"),
        ("reload", "exit 3"),
        ("geoip", "network"),
        ("keygen", "DS"),
    ] {
        let (code, help, _) = run(&[command, "--help"], dir.path());
        assert_eq!(code, 0);
        assert!(
            help.lines().count() > 12 && help.contains(says) && help.contains("Example"),
            "{command} --help:\n{help}"
        );
    }
}
