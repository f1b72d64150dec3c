//! The status page and `/v1/status` (SPEC section 9) on the shipped example, with health
//! checks turned on against HTTP servers the test runs on the example's endpoint addresses.
//!
//! - `status_document_*`: the JSON document checked against `docs/status.schema.json` at every
//!   step (the schema the README documents), while the test sends traffic, fails an endpoint
//!   and reloads (good and bad): shares, endpoint states, last probes and events follow.
//! - `status_page_in_chromium`: the page in headless Chromium (Debian `chromium`), opened
//!   through HTTP Basic auth: every region of the example listed with its state, a region the
//!   test fails shown as failing (first) within a few refreshes, shares that follow the
//!   test's queries, no request to anything but the daemon, a phone-sized layout without
//!   sideways scrolling; screenshots in `target/tmp/status_page/`.
//! - `status_shows_peers_*`: two instances peering with a token (and a URL where nothing
//!   listens), one outvoted on an endpoint; the `peers` section and each endpoint's
//!   `agreement` in the JSON (schema-checked), the peers and the disagreement on the page, then
//!   one instance stopped: the other decides alone, says so, and answers with its own verdict.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

use base64::Engine as _;
use common::backend::Backend;
use common::chromium::Chromium;
use common::http::Http;
use common::*;
use hickory_proto::rr::RecordType;
use serde_json::Value;

const ZONE_FILE: &str = "gslb.example.test.toml";
const TOKEN: &str = "page-s3cret";

/// The shipped zone with `check = "web"` on www, probing every second on `port`, down after
/// two failures. Panics if the shipped file no longer has the lines this changes.
fn shipped_zone_with_checks(port: u16) -> String {
    let text = std::fs::read_to_string(repo().join("zones").join(ZONE_FILE)).expect("shipped zone");
    let mut out = text.clone();
    for (from, to) in [
        ("# check = \"web\"", "check = \"web\"".to_owned()),
        ("port = 8080", format!("port = {port}")),
        ("interval = \"5s\"", "interval = \"1s\"".to_owned()),
        ("timeout = \"2s\"", "timeout = \"500ms\"".to_owned()),
        ("fall = 3", "fall = 2".to_owned()),
    ] {
        assert!(out.contains(from), "the shipped zone has no {from:?}");
        out = out.replacen(from, &to, 1);
    }
    out
}

/// (service, region) -> state of every region of every service of the shipped zone, read
/// from the file (service override, else the region's state, else active).
fn shipped_regions() -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(repo().join("zones").join(ZONE_FILE)).expect("shipped zone");
    let zone: toml::Table = text.parse().expect("zone TOML");
    let region_state = |name: &str| {
        zone.get("region")
            .and_then(|r| r.get(name))
            .and_then(|r| r.get("state"))
            .and_then(toml::Value::as_str)
            .unwrap_or("active")
            .to_owned()
    };
    let mut out = BTreeMap::new();
    for (service, body) in zone["service"].as_table().expect("services") {
        for (region, body) in body["region"].as_table().expect("service regions") {
            let state = body
                .get("state")
                .and_then(toml::Value::as_str)
                .map_or_else(|| region_state(region), str::to_owned);
            out.insert((service.clone(), region.clone()), state);
        }
    }
    out
}

/// The endpoints of the shipped www service, by region.
const WWW_ENDPOINTS: [(&str, &str); 5] = [
    ("us-east", "127.0.0.10"),
    ("us-east", "127.0.0.11"),
    ("us-east", "::1"),
    ("eu-west", "127.0.0.20"),
    ("eu-canary", "127.0.0.21"),
];

/// A port free on every www endpoint address, and a healthy backend on each.
fn backends() -> (u16, BTreeMap<&'static str, Backend>) {
    for _ in 0..50 {
        let port = free_port();
        let free = WWW_ENDPOINTS.iter().all(|(_, a)| {
            let ip: IpAddr = a.parse().expect("ip");
            TcpListener::bind(SocketAddr::new(ip, port)).is_ok()
        });
        if free {
            let b = WWW_ENDPOINTS
                .iter()
                .map(|(_, a)| {
                    (
                        *a,
                        Backend::start(SocketAddr::new(a.parse().expect("ip"), port)),
                    )
                })
                .collect();
            return (port, b);
        }
    }
    panic!("no port free on every endpoint address");
}

/// The shipped example with health checks on www; `extra` merges into the main config.
fn start(port: u16, extra: &str) -> Daemon {
    Setup::shipped()
        .zone_text(ZONE_FILE, &shipped_zone_with_checks(port))
        .config("[zones]\ndirectory = \"zones\"")
        .config(extra)
        .file("token", TOKEN.as_bytes())
        .start()
}

/// Sends `n` www queries from distinct /24s of 81.0.0.0/8 (European in the shipped GeoIP
/// data); returns the answers per region.
fn send_eu_queries(d: &Daemon, n: usize) -> BTreeMap<String, usize> {
    let mut by_region = BTreeMap::new();
    for i in 0..n {
        let net = format!("81.{}.{}.0", i / 250, i % 250);
        let m = d.udp(Query::new("www.gslb.example.test.", RecordType::A).ecs(&net, 24));
        let first = addrs(&m).into_iter().next().unwrap_or_default();
        let region = WWW_ENDPOINTS
            .iter()
            .find(|(_, a)| *a == first)
            .map_or("(other)", |(r, _)| r);
        *by_region.entry(region.to_owned()).or_insert(0) += 1;
    }
    by_region
}

//------------ /v1/status -------------------------------------------------------------------

struct Checker {
    schema: jsonschema::Validator,
}

impl Checker {
    fn new() -> Self {
        let text = std::fs::read_to_string(repo().join("docs/status.schema.json"))
            .expect("docs/status.schema.json");
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        Self {
            schema: jsonschema::validator_for(&schema).expect("a valid JSON Schema"),
        }
    }

    /// Fetches `/v1/status` and checks it against the schema.
    fn fetch(&self, d: &Daemon) -> Value {
        self.fetch_from(d.metrics, None)
    }

    /// The same from the admin listener at `admin`, with the token when given.
    fn fetch_from(&self, admin: SocketAddr, token: Option<&str>) -> Value {
        let mut request = Http::get("/v1/status");
        if let Some(token) = token {
            request = request.bearer(token);
        }
        let reply = request.send(admin);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let doc = reply.json();
        let errors: Vec<String> = self
            .schema
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "/v1/status does not match docs/status.schema.json:\n{}\n{doc:#}",
            errors.join("\n")
        );
        doc
    }
}

fn region<'a>(doc: &'a Value, service: &str, region: &str) -> &'a Value {
    doc["zones"][0]["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["service"] == service))
        .and_then(|s| s["regions"].as_array())
        .and_then(|r| r.iter().find(|r| r["region"] == region))
        .unwrap_or_else(|| panic!("no {service}/{region} in {doc:#}"))
}

fn endpoint<'a>(region: &'a Value, address: &str) -> &'a Value {
    region["endpoints"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["address"] == address))
        .unwrap_or_else(|| panic!("no endpoint {address} in {region:#}"))
}

#[test]
fn status_document_follows_traffic_health_and_reloads() {
    let checker = Checker::new();
    let (port, backends) = backends();
    let d = start(port, "");

    // Every checked endpoint probed, every region listed with its state.
    let doc = wait_for("every endpoint probed", Duration::from_secs(30), || {
        let doc = checker.fetch(&d);
        let r = region(&doc, "www", "eu-west");
        (!endpoint(r, "127.0.0.20")["last_probe"].is_null()
            && !endpoint(region(&doc, "www", "us-east"), "::1")["last_probe"].is_null())
        .then_some(doc)
    });
    for ((service, name), state) in shipped_regions() {
        let r = region(&doc, &service, &name);
        assert_eq!(r["state"], state.as_str(), "{service}/{name}");
        assert_eq!(r["health"], "ok", "{service}/{name}: {r:#}");
    }
    let probe = &endpoint(region(&doc, "www", "eu-west"), "127.0.0.20")["last_probe"];
    assert_eq!(probe["passed"], true);
    assert_eq!(probe["result"], "HTTP 200");
    assert_eq!(doc["generation"], 1);
    assert_eq!(region(&doc, "www", "eu-canary")["canary"], true);
    assert_eq!(region(&doc, "www", "eu-west")["canary"], false);
    assert_eq!(doc["instance"], "steerdns-example");
    assert_eq!(doc["summary"]["endpoints_checked"], 5);

    // Traffic: the shares are the answers the test got.
    let sent = send_eu_queries(&d, 400);
    let doc = wait_for("400 answers counted", Duration::from_secs(30), || {
        let doc = checker.fetch(&d);
        (doc["zones"][0]["services"][1]["traffic"]["answers_1m"] == 400).then_some(doc)
    });
    for (name, n) in &sent {
        let t = &region(&doc, "www", name)["traffic"];
        assert_eq!(t["answers_1m"], *n as u64, "{name}");
        let share = t["share_1m"].as_f64().expect("share");
        assert!((share - *n as f64 / 400.0).abs() < 1e-9, "{name}: {share}");
        assert_eq!(
            t["series_1m"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .sum::<u64>(),
            *n as u64
        );
        assert_eq!(t["answers_1h"], *n as u64, "{name}");
    }
    let eu_west = sent["eu-west"] as f64 / 400.0;
    assert!(
        (0.88..=0.99).contains(&eu_west),
        "eu-west got {eu_west} of EU answers"
    );

    // A failing endpoint: the region fails, its endpoint names the probe's result, an event.
    backends["127.0.0.20"].set(503);
    let doc = wait_for("eu-west failing", Duration::from_secs(30), || {
        let doc = checker.fetch(&d);
        (region(&doc, "www", "eu-west")["health"] == "failing").then_some(doc)
    });
    let r = region(&doc, "www", "eu-west");
    let e = endpoint(r, "127.0.0.20");
    assert_eq!(e["status"], "down");
    assert_eq!(e["last_probe"]["result"], "HTTP 503");
    assert!(e["since_unix_ms"].as_u64().unwrap() <= doc["now_unix_ms"].as_u64().unwrap());
    assert_eq!(r["endpoints_up"], 0);
    assert_eq!(doc["summary"]["regions_failing"], 1);
    assert_eq!(doc["summary"]["endpoints_down"], 1);
    assert_eq!(doc["zones"][0]["services"][1]["health"], "degraded");
    let flip = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "health")
        .unwrap_or_else(|| panic!("no health event: {doc:#}"));
    assert_eq!(flip["level"], "warn");
    assert_eq!(flip["region"], "eu-west");
    assert_eq!(flip["endpoint"], "127.0.0.20");
    assert!(
        flip["message"].as_str().unwrap().contains("HTTP 503"),
        "{flip}"
    );

    // Reloads, applied and rejected, are events too; a kept check keeps its record.
    assert_eq!(d.reload(), Reload::Applied);
    d.write_zone_text("broken.toml", "origin = \"broken.test.\"\nttl = \"x\"\n");
    assert_eq!(d.reload(), Reload::Rejected);
    let doc = checker.fetch(&d);
    assert_eq!(doc["generation"], 2);
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events[0]["kind"], "reload");
    assert_eq!(events[0]["level"], "warn");
    assert!(
        events[0]["message"]
            .as_str()
            .unwrap()
            .contains("broken.toml"),
        "{}",
        events[0]
    );
    assert_eq!(events[1]["kind"], "reload");
    assert_eq!(events[1]["message"], "applied: generation 2");
    assert!(events[0]["seq"].as_u64() > events[1]["seq"].as_u64());
    let e = endpoint(region(&doc, "www", "eu-west"), "127.0.0.20");
    assert_eq!(e["status"], "down");
    assert_eq!(e["last_probe"]["result"], "HTTP 503");
    // The share history survived the reload.
    assert_eq!(
        region(&doc, "www", "eu-west")["traffic"]["answers_1h"],
        sent["eu-west"] as u64
    );
}

#[test]
fn status_page_is_self_contained_and_guarded_like_the_api() {
    let (port, _backends) = backends();
    let d = start(
        port,
        "[metrics]\ntrusted = [\"127.0.0.1/32\"]\ntoken_file = \"token\"",
    );
    let page = Http::get("/").send(d.metrics);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header_values("content-type"),
        ["text/html; charset=utf-8"]
    );
    let csp = page.header_values("content-security-policy").join(" ");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.body.to_ascii_lowercase();
    for external in [
        "<script src",
        "<link",
        "@import",
        "url(http",
        "url(//",
        "<img",
        "<iframe",
    ] {
        assert!(
            !html.contains(external),
            "the page loads something: {external}"
        );
    }
    assert!(html.contains("v1/status"));
    // Untrusted: 401 without the token, served with it (Basic, as a browser sends it).
    for path in ["/", "/v1/status"] {
        let r = Http::get(path).from("127.0.0.2").send(d.metrics);
        assert_eq!(r.status, 401, "{path}");
        assert!(!r.header_values("www-authenticate").is_empty());
        let r = Http::get(path)
            .from("127.0.0.2")
            .header(
                "Authorization",
                &format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("anyone:{TOKEN}"))
                ),
            )
            .send(d.metrics);
        assert_eq!(r.status, 200, "{path}");
    }
}

//------------ the page in Chromium ------------------------------------------------------------

/// The region rows as the page shows them.
const ROWS: &str = "JSON.stringify(Array.from(document.querySelectorAll('tr.region')).map(tr => ({
    service: tr.dataset.service, region: tr.dataset.region, state: tr.dataset.state,
    health: tr.dataset.health, share: tr.getAttribute('data-share-1m'), answers: Number(tr.getAttribute('data-answers-1m')),
    text: tr.innerText })))";

fn rows(page: &mut common::chromium::Page<'_>) -> Vec<Value> {
    let text = page.eval(ROWS);
    serde_json::from_str(text.as_str().expect("rows JSON")).expect("rows")
}

fn refreshes(page: &mut common::chromium::Page<'_>) -> u64 {
    page.eval("Number(document.body.dataset.refreshes)")
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn status_page_in_chromium() {
    let Some(mut browser) = Chromium::start() else {
        return;
    };
    let (port, backends) = backends();
    // Nobody is trusted: the browser gets in with HTTP Basic auth, as from another host.
    let d = start(port, "[metrics]\ntrusted = []\ntoken_file = \"token\"");
    let origin = format!("http://127.0.0.1:{}/", d.metrics.port());
    let url = format!("http://operator:{TOKEN}@127.0.0.1:{}/", d.metrics.port());
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status_page");
    let expected = shipped_regions();

    let mut page = browser.open(&url, 1280, 900, false);
    page.wait_for(
        "the first refresh",
        "document.body.dataset.refreshes >= 1 && document.body.dataset.connection === 'ok'",
    );

    // Every region of the shipped example, with its state, and nothing else.
    let shown = rows(&mut page);
    let listed: BTreeMap<(String, String), String> = shown
        .iter()
        .map(|r| {
            let key = (
                r["service"].as_str().unwrap().to_owned(),
                r["region"].as_str().unwrap().to_owned(),
            );
            let state = r["state"].as_str().unwrap().to_owned();
            assert!(
                r["text"].as_str().unwrap().contains(&state),
                "the row does not show its state: {r}"
            );
            (key, state)
        })
        .collect();
    assert_eq!(listed, expected);
    assert!(shown.iter().all(|r| r["health"] == "ok"), "{shown:#?}");

    // Traffic from Europe: the shares follow the answers the test got.
    let sent = send_eu_queries(&d, 1000);
    let total = page.wait_for(
        "1000 answers on the page",
        "(() => { let n = 0; document.querySelectorAll('tr.region[data-service=\"www\"]')
            .forEach(tr => n += Number(tr.getAttribute('data-answers-1m'))); return n >= 1000 ? n : 0; })()",
    );
    assert_eq!(total, 1000);
    let shown = rows(&mut page);
    for r in shown.iter().filter(|r| r["service"] == "www") {
        let name = r["region"].as_str().unwrap();
        let got = sent.get(name).copied().unwrap_or(0) as f64 / 1000.0;
        let share: f64 = r["share"].as_str().unwrap().parse().expect("share");
        assert!(
            (share - got).abs() < 1e-9,
            "{name}: page {share}, answers {got}"
        );
    }
    let eu_west = sent["eu-west"] as f64 / 1000.0;
    assert!((0.90..=0.99).contains(&eu_west), "eu-west: {eu_west}");
    let text = shown
        .iter()
        .find(|r| r["service"] == "www" && r["region"] == "eu-west")
        .map(|r| r["text"].as_str().unwrap().to_owned())
        .unwrap();
    let percent = format!("{:.0}%", eu_west * 100.0);
    assert!(
        text.contains(&percent),
        "eu-west row does not show {percent}: {text:?}"
    );
    page.screenshot(&shots.join("healthy.png"));

    // Fail eu-west's only endpoint: the page shows it failing, first, without a reload.
    let before = refreshes(&mut page);
    backends["127.0.0.20"].set(503);
    page.wait_for(
        "eu-west failing",
        "document.querySelector('tr.region[data-service=\"www\"][data-region=\"eu-west\"]')
            .dataset.health === 'failing'",
    );
    let after = refreshes(&mut page);
    eprintln!("eu-west shown failing after {} refreshes", after - before);
    assert!(after > before);
    let first_card = page.eval("document.querySelector('section.service').dataset.service");
    assert_eq!(
        first_card, "www",
        "the service with a failing region comes first"
    );
    let first_row = page.eval("document.querySelector('section.service tr.region').dataset.region");
    assert_eq!(first_row, "eu-west", "the failing region comes first");
    let problems = page.eval("document.getElementById('problems').innerText");
    let problems = problems.as_str().unwrap();
    assert!(
        problems.contains("eu-west") && problems.contains("127.0.0.20"),
        "{problems}"
    );
    let down = page.eval(
        "document.querySelector('tr.region[data-region=\"eu-west\"] .ep[data-endpoint=\"127.0.0.20\"]').innerText",
    );
    assert!(down.as_str().unwrap().contains("down"), "{down}");
    page.wait_for(
        "the health event",
        "Array.from(document.querySelectorAll('#events li.event')).some(li =>
            li.dataset.kind === 'health' && li.innerText.includes('127.0.0.20'))",
    );
    let size = page.screenshot(&shots.join("failing.png"));
    assert!(size > 10_000, "screenshot of {size} bytes");

    // Only the daemon was asked for anything.
    let requests = page.requests();
    assert!(
        requests.iter().any(|u| u.ends_with("/v1/status")),
        "{requests:?}"
    );
    for u in &requests {
        // The address as typed (with user:password) is the page itself.
        let plain = match u.split_once('@') {
            Some((_, rest)) if u.starts_with("http://operator:") => format!("http://{rest}"),
            _ => u.clone(),
        };
        assert!(plain.starts_with(&origin), "the page requested {u}");
    }

    // A phone: the same page, no sideways scrolling.
    drop(page);
    let mut phone = browser.open(&url, 390, 844, true);
    phone.wait_for("the first refresh", "document.body.dataset.refreshes >= 1");
    let overflow = phone.eval("document.documentElement.scrollWidth - window.innerWidth");
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "wider than the phone by {overflow} px"
    );
    phone.screenshot(&shots.join("phone.png"));
    eprintln!("screenshots in {}", shots.display());
    let unique: BTreeSet<&String> = expected.values().collect();
    assert!(unique.contains(&"drain".to_owned()));
}

//------------ peers ---------------------------------------------------------------------------

const FLEET_ORIGIN: &str = "fleet.status.test.";
const PRIMARY: &str = "127.0.0.51";
const BACKUP: &str = "127.0.0.52";

/// www: `primary > backup`, both checked every 300 ms on `port`, one result flips them.
fn fleet_zone(port: u16) -> Zone {
    let check = HttpCheck {
        interval: "300ms",
        timeout: "250ms",
        rise: 1,
        fall: 1,
    };
    Zone::failover_www(FLEET_ORIGIN, port, check, PRIMARY, BACKUP)
}

/// Two ports free on both endpoint addresses.
fn two_ports() -> (u16, u16) {
    let free = |port: u16| {
        [PRIMARY, BACKUP]
            .iter()
            .all(|a| TcpListener::bind(SocketAddr::new(a.parse().expect("ip"), port)).is_ok())
    };
    let mut ports = Vec::new();
    for _ in 0..100 {
        let port = free_port();
        if free(port) && !ports.contains(&port) {
            ports.push(port);
        }
        if ports.len() == 2 {
            return (ports[0], ports[1]);
        }
    }
    panic!("no two ports free on {PRIMARY} and {BACKUP}");
}

fn fleet_peer<'a>(doc: &'a Value, url: &str) -> &'a Value {
    doc["peers"]["peers"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["url"] == url))
        .unwrap_or_else(|| panic!("no peer {url} in {:#}", doc["peers"]))
}

fn fleet_endpoint<'a>(doc: &'a Value, region_name: &str, address: &str) -> &'a Value {
    endpoint(region(doc, "www", region_name), address)
}

/// Two instances peering with a token, and a third URL where nothing listens. ns1's own
/// probes of the primary fail (its check port answers 503), ns2's pass: ns1 is outvoted
/// (quorum: both of the two observers), and its status says so; ns2 stops and ns1 decides
/// alone. The JSON against the schema at every step, and the page in Chromium.
#[test]
fn status_shows_peers_and_whether_they_agree() {
    let (bad_port, good_port) = two_ports();
    let _bad_primary = Backend::start(SocketAddr::new(PRIMARY.parse().unwrap(), bad_port));
    _bad_primary.set(503);
    let _backup_for_ns1 = Backend::start(SocketAddr::new(BACKUP.parse().unwrap(), bad_port));
    let _good_primary = Backend::start(SocketAddr::new(PRIMARY.parse().unwrap(), good_port));
    let _backup_for_ns2 = Backend::start(SocketAddr::new(BACKUP.parse().unwrap(), good_port));

    let admin = [free_addr("127.0.0.1"), free_addr("127.0.0.1")];
    let dead = free_addr("127.0.0.1");
    let urls: Vec<String> = admin
        .iter()
        .chain([&dead])
        .map(|a| format!("http://{a}"))
        .collect();
    let list = urls
        .iter()
        .map(|u| format!("{u:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let instance = |i: usize, port: u16| {
        Setup::new()
            .addresses(free_addr("127.0.0.1"), admin[i - 1])
            .zone(&fleet_zone(port))
            .file("token", TOKEN.as_bytes())
            .config(&format!(
                r#"
[server]
identity = "ns{i}"
[metrics]
trusted = []
token_file = "token"
[peers]
urls = [{list}]
token_file = "token"
poll = "500ms"
stale_after = "2s"
quorum = "majority"
"#
            ))
            .start()
    };
    let ns1 = instance(1, bad_port);
    let mut ns2 = Some(instance(2, good_port));
    let checker = Checker::new();
    let fetch = |admin: SocketAddr| checker.fetch_from(admin, Some(TOKEN));

    // ns1 sees the primary down, ns2 up: with both counting, it is answered up.
    let doc = wait_for(
        "ns1 outvoted on the primary",
        Duration::from_secs(30),
        || {
            let doc = fetch(admin[0]);
            let agreement = &fleet_endpoint(&doc, "primary", PRIMARY)["agreement"];
            let ns2 = fleet_peer(&doc, &urls[1]);
            (ns2["counts"] == true && agreement["local"] == "down").then_some(doc)
        },
    );
    let peers = &doc["peers"];
    assert_eq!(peers["identity"], "ns1");
    assert_eq!(peers["quorum"], "majority");
    assert_eq!(peers["observers"], 2, "{peers:#}");
    assert_eq!(peers["deciding_alone"], false);
    assert_eq!(peers["disagreements"], 1, "{peers:#}");
    assert_eq!(fleet_peer(&doc, &urls[0])["state"], "self");
    let up = fleet_peer(&doc, &urls[1]);
    assert_eq!(
        (&up["state"], &up["identity"], &up["disagreements"]),
        (&"up".into(), &"ns2".into(), &0.into()),
        "{up:#}"
    );
    assert!(up["last_heard_unix_ms"].as_u64().unwrap() > 0);
    let gone = fleet_peer(&doc, &urls[2]);
    assert_eq!(gone["state"], "unreachable", "{gone:#}");
    assert_eq!(gone["counts"], false);
    assert!(gone["disagreements"].is_null() && gone["identity"].is_null());
    assert!(!gone["reason"].as_str().unwrap().is_empty());
    let primary = fleet_endpoint(&doc, "primary", PRIMARY);
    assert_eq!(primary["status"], "up", "answered as agreed: {primary:#}");
    assert_eq!(primary["agreement"]["agrees"], false);
    assert_eq!(
        (
            &primary["agreement"]["down"],
            &primary["agreement"]["observers"]
        ),
        (&1.into(), &2.into())
    );
    let backup = fleet_endpoint(&doc, "backup", BACKUP);
    assert_eq!(backup["agreement"]["agrees"], true, "{backup:#}");
    assert_eq!(
        addrs(&ns1.udp(Query::new(&format!("www.{FLEET_ORIGIN}"), RecordType::A))),
        [PRIMARY],
        "ns1 answers with the agreed state"
    );
    // The sampler turns the peer book into events within a second or so.
    wait_for(
        "the unreachable peer's event",
        Duration::from_secs(10),
        || {
            fetch(admin[0])["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| {
                    e["kind"] == "peer"
                        && e["level"] == "warn"
                        && e["message"].as_str().unwrap().contains(&urls[2])
                })
                .then_some(())
        },
    );
    // ns2's view: ns1 reports the primary otherwise than agreed.
    let doc2 = wait_for("ns2 reads ns1", Duration::from_secs(30), || {
        let doc = fetch(admin[1]);
        (fleet_peer(&doc, &urls[0])["disagreements"] == 1).then_some(doc)
    });
    let primary = fleet_endpoint(&doc2, "primary", PRIMARY);
    assert_eq!(primary["agreement"]["agrees"], true, "{primary:#}");
    assert_eq!(doc2["peers"]["disagreements"], 0);

    // The page.
    let mut browser = Chromium::start();
    let page_url = format!("http://operator:{TOKEN}@{}/", admin[0]);
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status_page");
    let mut page = browser
        .as_mut()
        .map(|b| b.open(&page_url, 1280, 900, false));
    if let Some(page) = page.as_mut() {
        page.wait_for(
            "the fleet shown",
            "document.body.dataset.refreshes >= 1 && !document.getElementById('fleet').hidden",
        );
        let states = page.eval(
            "JSON.stringify(Array.from(document.querySelectorAll('tr.peer')).map(tr =>
                [tr.dataset.url, tr.dataset.state, tr.dataset.counts]))",
        );
        let states: Vec<Vec<String>> = serde_json::from_str(states.as_str().unwrap()).unwrap();
        let expected: BTreeSet<Vec<String>> = [
            [&urls[0], "self", "false"],
            [&urls[1], "up", "true"],
            [&urls[2], "unreachable", "false"],
        ]
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect();
        assert_eq!(states.iter().cloned().collect::<BTreeSet<_>>(), expected);
        assert_eq!(states[0][1], "unreachable", "the unreachable peer first");
        let problems = page.eval("document.getElementById('problems').innerText");
        let problems = problems.as_str().unwrap();
        assert!(
            problems.contains(&urls[2]) && problems.contains("unreachable"),
            "{problems}"
        );
        assert!(
            problems.contains(PRIMARY) && problems.contains("this instance sees it down"),
            "{problems}"
        );
        let ep = page.eval(&format!(
            "document.querySelector('.ep[data-endpoint=\"{PRIMARY}\"]').dataset.agrees"
        ));
        assert_eq!(ep, "false");
        page.screenshot(&shots.join("peers.png"));
    }

    // ns2 stops: ns1 decides alone, and the primary is down for it.
    drop(ns2.take());
    let doc = wait_for("ns1 alone", Duration::from_secs(30), || {
        let doc = fetch(admin[0]);
        (doc["peers"]["deciding_alone"] == true).then_some(doc)
    });
    assert_eq!(doc["peers"]["observers"], 1);
    assert_ne!(fleet_peer(&doc, &urls[1])["state"], "up");
    let primary = wait_for("the primary down", Duration::from_secs(10), || {
        let doc = fetch(admin[0]);
        let e = fleet_endpoint(&doc, "primary", PRIMARY).clone();
        (e["status"] == "down").then_some(e)
    });
    assert_eq!(primary["agreement"]["agrees"], true, "{primary:#}");
    wait_for(
        "the events of deciding alone",
        Duration::from_secs(10),
        || {
            let doc = fetch(admin[0]);
            let events = doc["events"].as_array().unwrap();
            let alone = events.iter().any(|e| {
                e["kind"] == "peer" && e["message"].as_str().unwrap().contains("decides alone")
            });
            // The answered state changed without a flip of this instance's own verdict.
            let agreed = events.iter().any(|e| {
                e["kind"] == "health"
                    && e["endpoint"] == PRIMARY
                    && e["message"].as_str().unwrap().contains("agreed up -> down")
            });
            (alone && agreed).then_some(())
        },
    );
    if let Some(page) = page.as_mut() {
        page.wait_for(
            "deciding alone shown",
            "document.getElementById('agreement').dataset.alone === 'true'
                && document.getElementById('problems').innerText.includes('decides health alone')",
        );
        page.wait_for(
            "the peer event",
            "Array.from(document.querySelectorAll('#events li.event')).some(li =>
                li.dataset.kind === 'peer' && li.innerText.includes('decides alone'))",
        );
        page.screenshot(&shots.join("peers-alone.png"));
    }
}
