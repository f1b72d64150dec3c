//! `steerdns keygen` and the `[dnssec]` table, through the real binary: the key file it
//! writes (mode 0600, never over another), the DS it prints (checked against BIND's
//! `dnssec-dsfromkey`), and `steerdns check` naming every unusable key at its line.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use common::external::require_program;
use common::{Zone, run};

/// A folder with `steerdns.toml`, `zones/` and `keys/`.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("zones")).unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("steerdns.toml"), "").unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Runs `steerdns keygen` into `keys/`; returns the key file's path relative to the
    /// folder, and stdout.
    fn keygen(&self, zone: &str, extra: &[&str]) -> (String, String) {
        let mut args = vec!["keygen", zone, "-d", "keys"];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args, self.path());
        assert_eq!(code, 0, "{err}");
        let file = out
            .lines()
            .find_map(|l| {
                l.strip_prefix("; wrote ./keys/")
                    .or_else(|| l.strip_prefix("; wrote keys/"))
            })
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no file named in:\n{out}"));
        (format!("keys/{file}"), out)
    }

    fn check(&self, zone: &Zone) -> (i32, String, String) {
        std::fs::write(
            self.path().join("zones").join(zone.file_name()),
            zone.to_string(),
        )
        .unwrap();
        run(&["check", "-c", "steerdns.toml"], self.path())
    }
}

fn signed(zone: &str, keys: &[&str], extra: &str) -> Zone {
    let list: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    Zone::new(zone).toml(&format!("[dnssec]\nkeys = [{}]\n{extra}", list.join(", ")))
}

/// The 1-based line of the first line of `zone`'s file that contains `needle`.
fn line_of(zone: &Zone, needle: &str) -> usize {
    zone.to_string()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in zone"))
        + 1
}

#[test]
fn keygen_writes_a_private_file_and_prints_dnskey_and_ds() {
    let dir = Dir::new();
    let (file, out) = dir.keygen("gslb.example.test.", &[]);
    assert!(file.starts_with("keys/Kgslb.example.test.+013+"), "{file}");
    let meta = std::fs::metadata(dir.path().join(&file)).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let dnskey = out.lines().find(|l| l.contains(" IN DNSKEY ")).unwrap();
    assert!(
        dnskey.starts_with("gslb.example.test. IN DNSKEY 257 3 13 "),
        "{out}"
    );
    let ds = out.lines().find(|l| l.contains(" IN DS ")).unwrap();
    assert!(ds.starts_with("gslb.example.test. IN DS "), "{out}");

    // Ed25519 ZSK, publish_only: no DS (the parent needs none for a ZSK).
    let (file, out) = dir.keygen(
        "gslb.example.test.",
        &["-a", "ED25519", "--zsk", "--publish-only"],
    );
    assert!(file.contains("+015+"), "{file}");
    assert!(
        out.contains(" IN DNSKEY 256 3 15 ") && !out.contains(" IN DS "),
        "{out}"
    );
    let text = std::fs::read_to_string(dir.path().join(&file)).unwrap();
    assert!(text.contains("publish_only = true"), "{text}");

    // Unknown algorithm: a usage error, nothing written.
    let (code, _, err) = run(
        &["keygen", "x.test.", "-a", "rsasha256", "-d", "keys"],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("ecdsap256sha256 (13) and ed25519 (15)"),
        "{err}"
    );
    // A folder that does not exist: the path and the cause.
    let (code, _, err) = run(&["keygen", "x.test.", "-d", "nope"], dir.path());
    assert_eq!(code, 1);
    assert!(
        err.contains("nope/Kx.test.+013+") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn keygen_ds_equals_bind_dnssec_dsfromkey() {
    let Some(dsfromkey) = require_program("dnssec-dsfromkey") else {
        return;
    };
    let dir = Dir::new();
    for alg in ["ecdsap256sha256", "ed25519"] {
        let (_, out) = dir.keygen("Example.Test", &["-a", alg]);
        let dnskey = out.lines().find(|l| l.contains(" IN DNSKEY ")).unwrap();
        let ds = out.lines().find(|l| l.contains(" IN DS ")).unwrap();
        let key_file: PathBuf = dir.path().join("dnskey.key");
        std::fs::write(&key_file, format!("{dnskey}\n")).unwrap();
        let bind = std::process::Command::new(&dsfromkey)
            .arg("-2")
            .arg(&key_file)
            .output()
            .unwrap();
        assert!(
            bind.status.success(),
            "{}",
            String::from_utf8_lossy(&bind.stderr)
        );
        let bind = String::from_utf8_lossy(&bind.stdout);
        assert_eq!(bind.trim(), ds, "BIND's DS for our DNSKEY");
    }
}

#[test]
fn check_accepts_a_signed_zone_and_lists_its_keys() {
    let dir = Dir::new();
    let (csk, _) = dir.keygen("ok.test.", &[]);
    let (next, _) = dir.keygen("ok.test.", &["--publish-only"]);
    let zone = signed("ok.test.", &[&csk, &next], "signature_validity = \"14d\"\n");
    let (code, out, err) = dir.check(&zone);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok.test.: signed: "), "{out}");
    assert!(
        out.contains("(KSK/CSK, ECDSAP256SHA256)") && out.contains(", publish_only)"),
        "{out}"
    );
    assert!(err.is_empty(), "no warnings for 0600 files: {err}");
}

#[test]
fn check_names_each_unusable_key_at_its_line() {
    let dir = Dir::new();
    let (good, _) = dir.keygen("ok.test.", &[]);
    let (foreign, _) = dir.keygen("other.test.", &[]);
    // A key file with a wrong key_tag (as if edited by hand).
    let (edited, _) = dir.keygen("ok.test.", &["-a", "ed25519"]);
    let text = std::fs::read_to_string(dir.path().join(&edited)).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("key_tag") {
                "key_tag = 1"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join(&edited), text).unwrap();
    let zone = Zone::new("ok.test.").toml(&format!(
        "[dnssec]\nkeys = [\n  {good:?},\n  \"keys/missing.private\",\n  {foreign:?},\n  {edited:?},\n  {good:?},\n]\n"
    ));
    let (code, _, err) = dir.check(&zone);
    assert_eq!(code, 1, "{err}");
    let file = zone.file_name();
    let expect = [
        (
            line_of(&zone, "missing.private"),
            "keys/missing.private: cannot read DNSSEC key file: No such file",
        ),
        (
            line_of(&zone, &foreign),
            "is for zone other.test., not ok.test.",
        ),
        (
            line_of(&zone, &edited),
            ":5: key_tag 1 does not match the key",
        ),
        (line_of(&zone, &good) + 4, "is listed twice"),
    ];
    for (line, what) in expect {
        let place = format!("{file}:{line}: dnssec.keys: ");
        assert!(
            err.lines().any(|l| l.contains(&place) && l.contains(what)),
            "missing {place}...{what} in:\n{err}"
        );
    }
}

#[test]
fn check_rejects_unsigning_key_sets_and_bad_validity() {
    let dir = Dir::new();
    let (only_published, _) = dir.keygen("ok.test.", &["--publish-only"]);
    let zone = signed("ok.test.", &[&only_published], "");
    let (code, _, err) = dir.check(&zone);
    assert_eq!(code, 1);
    assert!(err.contains("every key is publish_only"), "{err}");

    let zone = signed("ok.test.", &[], "");
    let (code, _, err) = dir.check(&zone);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{}:{}: dnssec.keys: no keys listed",
            zone.file_name(),
            line_of(&zone, "keys =")
        )),
        "{err}"
    );

    let (key, _) = dir.keygen("ok.test.", &[]);
    for (validity, what) in [
        ("\"1h\"", "must be from 2h to 366d"),
        ("\"7x\"", "signature_validity"),
    ] {
        let zone = signed(
            "ok.test.",
            &[&key],
            &format!("signature_validity = {validity}\n"),
        );
        let (code, _, err) = dir.check(&zone);
        assert_eq!(code, 1);
        let place = format!(
            "{}:{}:",
            zone.file_name(),
            line_of(&zone, "signature_validity")
        );
        assert!(err.contains(&place) && err.contains(what), "{err}");
    }
    let zone = signed("ok.test.", &[&key], "sign = true\n");
    let (code, _, err) = dir.check(&zone);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{}:{}:",
            zone.file_name(),
            line_of(&zone, "sign =")
        )) && err.contains("sign"),
        "{err}"
    );
}

#[test]
fn check_warns_about_key_files_others_can_read() {
    let dir = Dir::new();
    let (key, _) = dir.keygen("ok.test.", &[]);
    std::fs::set_permissions(
        dir.path().join(&key),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let zone = signed("ok.test.", &[&key], "");
    let (code, _, err) = dir.check(&zone);
    assert_eq!(code, 0, "a warning, not an error: {err}");
    assert!(
        err.contains("can be read by other users (mode 644)"),
        "{err}"
    );
}
