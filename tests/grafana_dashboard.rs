//! The Grafana dashboard (`docker/grafana/steerdns.json`) uses only metrics that steerdns
//! really exports, in queries a real Prometheus accepts.
//!
//! 1. Every PromQL expression of the dashboard (panel targets, template variables,
//!    annotations) is read and the metric names in it are picked out (a small PromQL scanner:
//!    strings, label matchers, ranges, functions, keywords and grouping labels skipped).
//! 2. The daemon runs with a health-checked service, a staged rollout and a peer (where nothing listens) and gets
//!    some traffic; `/metrics` is scraped and every sample name collected.
//! 3. Every metric name of the dashboard must be among them, except those in [`PENDING`]
//!    (named with the reason they cannot be exported yet).
//! 4. A real Prometheus (Debian package) scrapes the daemon; every expression, with
//!    Grafana's variables filled in, must evaluate without error, and those on exported
//!    metrics must return data.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::backend::Backend;
use common::external::{Prometheus, prometheus_scrape_config};
use common::*;
use hickory_proto::rr::RecordType;
use serde_json::Value;

/// Metrics the dashboard uses that no build of this daemon exports yet, with why.
const PENDING: &[(&str, &str)] = &[];

fn dashboard() -> Value {
    let text = std::fs::read_to_string(repo().join("docker/grafana/steerdns.json"))
        .expect("docker/grafana/steerdns.json");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// (where, PromQL) of every query in the dashboard. Template variables of the form
/// `label_values(SELECTOR, LABEL)` contribute their selector.
fn expressions(dash: &Value) -> Vec<(String, String)> {
    fn panels(list: &Value, out: &mut Vec<(String, String)>) {
        for p in list.as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("?");
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{title}: no expr"));
                out.push((format!("panel {title:?}"), expr.to_owned()));
            }
            panels(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&dash["panels"], &mut out);
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        if v["type"] != "query" {
            continue;
        }
        let q = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .expect("query");
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("variable {}: {q}", v["name"]));
        let (selector, label) = inner
            .rsplit_once(',')
            .expect("label_values(selector, label)");
        assert!(!label.trim().is_empty());
        out.push((
            format!("variable {}", v["name"]),
            selector.trim().to_owned(),
        ));
    }
    for a in dash["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(expr) = a["expr"].as_str() {
            out.push((format!("annotation {}", a["name"]), expr.to_owned()));
        }
    }
    out
}

//------------ a small PromQL scanner ------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Open,
    Close,
    Other,
}

/// The index just past the string literal that starts at `i` (quote `chars[i]`).
fn past_string(chars: &[char], mut i: usize) -> usize {
    let quote = chars[i];
    i += 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

fn tokens(expr: &str) -> Vec<Tok> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i = past_string(&chars, i);
                out.push(Tok::Other);
            }
            '{' | '[' => {
                // Label matchers and ranges name no metric; strings inside may hold } or ].
                let close = if c == '{' { '}' } else { ']' };
                i += 1;
                while i < chars.len() && chars[i] != close {
                    i = match chars[i] {
                        '"' | '\'' | '`' => past_string(&chars, i),
                        _ => i + 1,
                    };
                }
                i += 1;
                out.push(Tok::Other);
            }
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            c if c.is_ascii_digit() || c == '.' || c == '$' => {
                // Numbers, durations (5m), Grafana variables ($zone) outside matchers.
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                out.push(Tok::Other);
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                i += 1;
                out.push(Tok::Other);
            }
        }
    }
    out
}

/// Words before a parenthesised list of label names.
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Other words that are not metric names when not followed by `(`.
const KEYWORDS: &[&str] = &[
    "bool", "offset", "and", "or", "unless", "atan2", "inf", "nan",
];

/// The metric names an expression reads.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let toks = tokens(expr);
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < toks.len() {
        if let Tok::Ident(word) = &toks[i] {
            // A function call, or an aggregation with its grouping first (`sum by (x) (...)`).
            let called = matches!(toks.get(i + 1), Some(Tok::Open))
                || matches!(toks.get(i + 1), Some(Tok::Ident(w)) if w == "by" || w == "without");
            let grouping = GROUPING.contains(&word.as_str());
            if grouping && called {
                // A label list: skip to its `)`.
                while i < toks.len() && toks[i] != Tok::Close {
                    i += 1;
                }
            } else if !called
                && !grouping
                && !KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
            {
                names.insert(word.clone());
            }
        }
        i += 1;
    }
    names
}

#[test]
fn scanner_finds_metric_names_only() {
    let got = metric_names(
        "sum by (service, region) (rate(a_total{zone=~\"$zone\", x=\"}\"}[$__rate_interval])) \
         / ignoring(region) group_left sum without (le) (b:rule[5m] offset 1m) > bool 0.5 \
         or vector(0) and on(x) histogram_quantile(0.99, c_bucket)",
    );
    assert_eq!(
        got,
        BTreeSet::from(["a_total", "b:rule", "c_bucket"].map(str::to_owned))
    );
}

//------------ the daemon's metrics ------------------------------------------------------------

/// Every sample name in a Prometheus text exposition.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

fn zone(port: u16) -> Zone {
    Zone::new("dash.test.").toml(&format!(
        r#"
[check.web]
kind = "http"
path = "/healthz"
port = {port}
interval = "200ms"
timeout = "100ms"
rise = 1
fall = 1
[region.one]
[region.two]
canary = true
[service.www]
geo = {{ default = "one > two" }}
check = "web"
[service.www.region.one]
endpoints = ["127.0.0.71"]
[service.www.region.two]
endpoints = ["127.0.0.72"]
[service.www.rollout]
region = "two"
steps = ["50% 1s", "100%"]
"#
    ))
}

#[test]
fn dashboard_queries_name_exported_metrics_and_run_in_prometheus() {
    let dash = dashboard();
    let exprs = expressions(&dash);
    assert!(exprs.len() >= 15, "{} queries", exprs.len());

    let port = free_port();
    let _one = Backend::start(([127, 0, 0, 71], port).into());
    let two = Backend::start(([127, 0, 0, 72], port).into());
    two.set(503);
    // One peer where nothing listens, so the fleet metrics are exported (peer down, this
    // instance deciding alone, no disagreement).
    let d = Setup::new()
        .zone(&zone(port))
        .config(&format!(
            "[peers]\nurls = [\"http://{}\"]\npoll = \"1s\"\nstale_after = \"3s\"",
            free_addr("127.0.0.1")
        ))
        .start();
    for i in 0..20 {
        let q = Query::new("www.dash.test.", RecordType::A).ecs(&format!("192.0.2.{i}"), 32);
        d.udp(q);
        d.udp(Query::new("nope.dash.test.", RecordType::A));
    }
    // Both endpoints probed: one up, one down; the peer read once.
    wait_for("probes counted", Duration::from_secs(20), || {
        let m = d.metrics_text();
        (m.contains("result=\"pass\"")
            && m.contains("result=\"fail\"")
            && m.contains("steerdns_peer_up{")
            && m.contains("steerdns_rollout_transitions_total{"))
        .then_some(())
    });
    let metrics = d.metrics_text();
    let have = exported(&metrics);

    let pending: BTreeSet<&str> = PENDING.iter().map(|(n, _)| *n).collect();
    let mut missing = Vec::new();
    let mut used = BTreeSet::new();
    for (place, expr) in &exprs {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{place}: no metric in {expr}");
        for name in names {
            assert!(
                name.starts_with("steerdns_"),
                "{place}: {name} is not a steerdns metric"
            );
            if !have.contains(&name) && !pending.contains(name.as_str()) {
                missing.push(format!("{place}: {name}"));
            }
            used.insert(name);
        }
    }
    assert!(
        missing.is_empty(),
        "the dashboard uses metrics /metrics does not export:\n{}\n\nexported: {have:?}",
        missing.join("\n")
    );
    // Every pending metric is still used (or the list is stale) and says why.
    for (name, why) in PENDING {
        assert!(
            used.contains(*name),
            "{name} is listed as pending but not used"
        );
        assert!(!why.is_empty());
        eprintln!("pending: {name}: {why}");
    }
    // The dashboard covers what the issue asks for.
    for wanted in [
        "steerdns_steered_total",
        "steerdns_endpoint_up",
        "steerdns_reloads_total",
        "steerdns_rrl_limited_total",
        "steerdns_response_seconds_bucket",
        "steerdns_rollout_share",
        "steerdns_peer_up",
        "steerdns_health_observers",
        "steerdns_health_disagreements",
    ] {
        assert!(used.contains(wanted), "no panel uses {wanted}");
    }

    // A real Prometheus accepts every query, and those on exported metrics return data.
    let Some(prom) = Prometheus::start(&prometheus_scrape_config("steerdns", &[d.metrics], "1s"))
    else {
        return;
    };
    wait_for("two scrapes", Duration::from_secs(30), || {
        prom.query_value("count_over_time(steerdns_config_generation[1m])")
            .filter(|n| *n >= 3.0)
    });
    for (place, expr) in &exprs {
        let q = expr
            .replace("$__rate_interval", "1m")
            .replace("$zone", ".*")
            .replace("$service", ".*");
        let reply = prom.query(&q);
        assert_eq!(reply["status"], "success", "{place}: {q}: {reply}");
        let only_exported = metric_names(expr)
            .iter()
            .all(|n| !pending.contains(n.as_str()));
        let empty = reply["data"]["result"].as_array().is_none_or(Vec::is_empty);
        let annotation = place.starts_with("annotation");
        if only_exported && !annotation {
            assert!(!empty, "{place}: {q} returned nothing");
        }
    }
}
