//! The admin listener's access rule (SPEC section 2, `[metrics] trusted` and `token_file`)
//! over real HTTP from two loopback source addresses: 127.0.0.1 (trusted) and 127.0.0.2 (not).

mod common;

use common::*;

fn zone() -> Zone {
    Zone::new("admin.test.").toml(
        r#"
[region.one]
[service.www]
geo = { default = "one" }
[service.www.region.one]
endpoints = ["127.0.1.1"]
"#,
    )
}

const EXPLAIN: &str = "/v1/explain?name=www.admin.test.&client=192.0.2.1";

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn untrusted_clients_need_the_token_trusted_ones_do_not() {
    let d = Setup::new()
        .zone(&zone())
        .file("token", b"s3cret\n")
        .config("[metrics]\ntrusted = [\"127.0.0.1/32\"]\ntoken_file = \"token\"")
        .start();

    // Untrusted, no token: 401 with a challenge a browser answers with Basic auth.
    let r = Http::get(EXPLAIN).from("127.0.0.2").send(d.metrics);
    assert_eq!(r.status, 401, "{r:?}");
    let challenges = r.header_values("www-authenticate");
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic ")),
        "{challenges:?}"
    );
    assert!(
        r.json()["error"].as_str().unwrap().contains("token"),
        "{r:?}"
    );
    // A wrong token, a token in the user name, an unknown scheme: 401 too.
    for auth in [
        "Bearer wrong".to_string(),
        basic("s3cret", ""),
        "Token s3cret".to_string(),
    ] {
        let r = Http::get(EXPLAIN)
            .from("127.0.0.2")
            .header("Authorization", &auth)
            .send(d.metrics);
        assert_eq!(r.status, 401, "{auth}: {r:?}");
    }
    // The token as Bearer or as the Basic password: served.
    let r = Http::get(EXPLAIN)
        .from("127.0.0.2")
        .bearer("s3cret")
        .send(d.metrics);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["region"], "one");
    let r = Http::get(EXPLAIN)
        .from("127.0.0.2")
        .header("Authorization", &basic("operator", "s3cret"))
        .send(d.metrics);
    assert_eq!(r.status, 200, "{r:?}");
    // The status page path is covered by the same rule (whatever it serves once admitted).
    let r = Http::get("/").from("127.0.0.2").send(d.metrics);
    assert_eq!(r.status, 401, "{r:?}");

    // Trusted: no token needed.
    let r = Http::get(EXPLAIN).from("127.0.0.1").send(d.metrics);
    assert_eq!(r.status, 200, "{r:?}");

    // A POST that changes something: refused without the token, run with it.
    let r = Http::post("/v1/reload").from("127.0.0.2").send(d.metrics);
    assert_eq!(r.status, 401, "{r:?}");
    let r = Http::post("/v1/reload")
        .from("127.0.0.2")
        .bearer("wrong")
        .send(d.metrics);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        d.metric("steerdns_reloads_total{result=\"ok\"}"),
        0.0,
        "no reload ran"
    );
    let r = Http::post("/v1/reload")
        .from("127.0.0.2")
        .bearer("s3cret")
        .send(d.metrics);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["outcome"], "applied");
    assert_eq!(r.json()["generation"], 2);
    assert_eq!(d.metric("steerdns_reloads_total{result=\"ok\"}"), 1.0);

    // Scrapers and liveness probes need nothing.
    for path in ["/metrics", "/healthz"] {
        let r = Http::get(path).from("127.0.0.2").send(d.metrics);
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }
    let r = Http::get("/metrics").from("127.0.0.2").send(d.metrics);
    let build_info = format!(
        "steerdns_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(r.body.contains(&build_info), "{}", r.body);
}

#[test]
fn without_a_token_file_untrusted_clients_are_forbidden_and_reload_changes_the_rule() {
    let mut d = Setup::new()
        .zone(&zone())
        .config("[metrics]\ntrusted = [\"127.0.0.1/32\"]")
        .start();
    let r = Http::get(EXPLAIN)
        .from("127.0.0.2")
        .bearer("anything")
        .send(d.metrics);
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.header_values("www-authenticate").is_empty(), "{r:?}");
    assert_eq!(
        Http::get("/metrics")
            .from("127.0.0.2")
            .send(d.metrics)
            .status,
        200
    );

    // A reload that trusts 127.0.0.2 too applies to the next request.
    d.update_config("[metrics]\ntrusted = [\"127.0.0.0/8\"]");
    assert_eq!(d.reload(), Reload::Applied);
    let r = Http::get(EXPLAIN).from("127.0.0.2").send(d.metrics);
    assert_eq!(r.status, 200, "{r:?}");

    // And one that adds a token file and narrows `trusted` again: the token now admits.
    std::fs::write(d.dir.path().join("token"), "n3w-token\n").unwrap();
    d.update_config("[metrics]\ntrusted = [\"127.0.0.1/32\"]\ntoken_file = \"token\"");
    assert_eq!(d.reload(), Reload::Applied);
    let r = Http::get(EXPLAIN).from("127.0.0.2").send(d.metrics);
    assert_eq!(r.status, 401, "{r:?}");
    let r = Http::get(EXPLAIN)
        .from("127.0.0.2")
        .bearer("n3w-token")
        .send(d.metrics);
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn an_unreadable_token_file_is_a_config_error_with_its_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(
        dir.path().join("steerdns.toml"),
        "[metrics]\nlisten = \"127.0.0.1:0\"\ntoken_file = \"missing-token\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("steerdns.toml:3: [metrics] token_file")
            && err.contains("missing-token: cannot read: No such file or directory"),
        "{err}"
    );
}

#[test]
fn explain_server_takes_a_url_or_host_port_and_sends_the_configs_token() {
    // Only 127.0.0.2 is trusted, so the command line (from 127.0.0.1) needs the token, which
    // it reads from the config's [metrics] token_file.
    let d = Setup::new()
        .zone(&zone())
        .file("token", b"s3cret\n")
        .config("[metrics]\ntrusted = [\"127.0.0.2/32\"]\ntoken_file = \"token\"")
        .start();
    let explain = |config: &str, server: &str| {
        run(
            &[
                "explain",
                "www.admin.test.",
                "--client",
                "192.0.2.1",
                "-c",
                config,
                "--server",
                server,
            ],
            d.dir.path(),
        )
    };
    for server in [
        d.metrics.to_string(),
        format!("http://{}", d.metrics),
        format!("http://{}/", d.metrics),
    ] {
        let (code, out, err) = explain("steerdns.toml", &server);
        assert_eq!(code, 0, "{server}: {err}");
        assert!(out.contains("(health: live, from"), "{out}");
        assert!(!out.contains("http://http://"), "{out}");
    }
    // A config without the token: refused, and the daemon's reason is shown (exit 1).
    std::fs::write(
        d.dir.path().join("no-token.toml"),
        "[metrics]\nlisten = \"\"\n",
    )
    .unwrap();
    let (code, _, err) = explain("no-token.toml", &d.metrics.to_string());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("401 Unauthorized") && err.contains("a token is required"),
        "{err}"
    );
    // Nothing listening: the cause of the failure, exit 2 (no daemon reachable).
    let closed = free_port();
    let (code, _, err) = explain("steerdns.toml", &format!("127.0.0.1:{closed}"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "cannot reach http://127.0.0.1:{closed}/v1/explain"
        )) && err.contains("Connection refused"),
        "{err}"
    );
    let (code, _, err) = explain("steerdns.toml", "ftp://127.0.0.1:1");
    assert_eq!(code, 2, "a usage error: {err}");
}
