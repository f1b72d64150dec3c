//! The Kubernetes manifests in `docker/k8s/` are valid: every resource against the
//! Kubernetes API schemas (`kubernetes-validate` from PyPI, strict: unknown fields are
//! errors; `.ci/run` installs it), a broken copy of each is rejected (so the check can
//! fail), and the steerdns config and zones the ConfigMaps carry pass `steerdns check`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::external::require_program;
use common::*;

/// The Kubernetes version the manifests are checked against (mixed-protocol LoadBalancer
/// Services are GA since 1.26).
const KUBERNETES_VERSION: &str = "1.30.0";

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("docker/k8s"))
        .expect("docker/k8s")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    files
}

/// Runs kubernetes-validate on `files`: (success, output).
fn validate(program: &Path, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new(program)
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .args(files)
        .output()
        .expect("run kubernetes-validate");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn manifests_validate_and_broken_ones_do_not() {
    let Some(program) = require_program("kubernetes-validate") else {
        return;
    };
    let files = manifests();
    let (ok, out) = validate(&program, &files);
    assert!(ok, "docker/k8s does not validate:\n{out}");

    // Each of these breaks one manifest; the validator must say so.
    let dir = tempfile::tempdir().unwrap();
    let breakages = [
        ("deployment.yaml", "replicas: 2", "replicas: two"),
        (
            "deployment.yaml",
            "containerPort: 9153",
            "containerPrt: 9153",
        ),
        ("deployment.yaml", "path: /healthz", "paths: /healthz"),
        ("service.yaml", "port: 53", "port: fifty-three"),
        (
            "configmap.yaml",
            "kind: ConfigMap",
            "kind: ConfigMap\nimmutable: maybe",
        ),
    ];
    for (file, from, to) in breakages {
        let text = std::fs::read_to_string(repo().join("docker/k8s").join(file)).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        let broken = dir.path().join(file);
        std::fs::write(&broken, text.replacen(from, to, 1)).unwrap();
        let (ok, out) = validate(&program, &[broken]);
        assert!(!ok, "{file} with {to:?} instead of {from:?} passed:\n{out}");
    }
}

/// The literal block (`key: |`) `key` of a manifest's `data:`, unindented.
fn block(manifest: &str, key: &str) -> String {
    let head = format!("  {key}: |");
    let mut lines = manifest.lines().skip_while(|l| l.trim_end() != head);
    assert!(lines.next().is_some(), "no {key} block");
    let mut out = String::new();
    for line in lines {
        if !line.is_empty() && !line.starts_with("    ") {
            break;
        }
        out.push_str(line.strip_prefix("    ").unwrap_or(""));
        out.push('\n');
    }
    out
}

#[test]
fn configmap_config_and_zones_pass_check() {
    let manifest = std::fs::read_to_string(repo().join("docker/k8s/configmap.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::write(
        zones.join("gslb.example.test.toml"),
        block(&manifest, "gslb.example.test.toml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("token"), "t0ken\n").unwrap();
    // As the init container renders it, with the pod's paths moved into the temp dir.
    let config = block(&manifest, "steerdns.toml")
        .replace("@POD_NAME@", "steerdns-7d9f8-abcde")
        .replace("/etc/steerdns-zones", &zones.to_string_lossy())
        .replace(
            "/etc/steerdns-token/token",
            &dir.path().join("token").to_string_lossy(),
        )
        .replace(
            "/etc/steerdns/geoip/",
            &repo().join("geoip/").to_string_lossy(),
        )
        .replace("/var/lib/steerdns/", &format!("{}/", dir.path().display()));
    assert!(!config.contains("/etc/"), "{config}");
    std::fs::write(dir.path().join("steerdns.toml"), config).unwrap();
    let (code, out, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 0, "{out}{err}");
}
