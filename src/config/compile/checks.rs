//! `[check.NAME]` tables into [`CheckParams`].

use std::collections::{BTreeMap, HashMap};

use toml::Spanned;

use super::context::{ZoneCtx, duration_or};
use crate::config::defaults;
use crate::config::model::{CheckKind, CheckParams};
use crate::config::schema;

/// Every `[check.NAME]` of a zone that compiles, by name.
pub(super) fn compile_checks(
    cx: &mut ZoneCtx<'_, '_>,
    tables: &BTreeMap<String, Spanned<schema::CheckEntry>>,
) -> HashMap<String, CheckParams> {
    let mut checks = HashMap::new();
    for (name, entry) in tables {
        if let Some(p) = compile_check(cx, name, entry) {
            checks.insert(name.clone(), p);
        }
    }
    checks
}

fn compile_check(
    cx: &mut ZoneCtx<'_, '_>,
    name: &str,
    entry: &Spanned<schema::CheckEntry>,
) -> Option<CheckParams> {
    let span = entry.span();
    let c = entry.get_ref();
    let src = cx.src;
    let before = cx.errors.len();
    let interval = duration_or(src, &c.interval, defaults::CHECK_INTERVAL, cx.errors);
    let timeout = duration_or(src, &c.timeout, defaults::CHECK_TIMEOUT, cx.errors);
    if timeout >= interval {
        cx.err(
            span.clone(),
            format!("check {name}: timeout must be less than interval"),
        );
    }
    if interval.is_zero() || timeout.is_zero() {
        cx.err(
            span.clone(),
            format!("check {name}: interval and timeout must be positive"),
        );
    }
    let rise = c
        .rise
        .as_ref()
        .map_or(defaults::CHECK_RISE, |r| *r.get_ref());
    let fall = c
        .fall
        .as_ref()
        .map_or(defaults::CHECK_FALL, |r| *r.get_ref());
    for (what, v) in [("rise", &c.rise), ("fall", &c.fall)] {
        if let Some(v) = v.as_ref().filter(|v| *v.get_ref() == 0) {
            cx.err(v.span(), format!("check {name}: {what} must be at least 1"));
        }
    }
    let port = match (c.kind, c.port) {
        (_, Some(p)) => p,
        (CheckKind::Https, None) => defaults::HTTPS_PORT,
        (CheckKind::Tcp, None) => {
            cx.err(
                span.clone(),
                format!("check {name}: a tcp check needs a port"),
            );
            0
        }
        _ => defaults::HTTP_PORT,
    };
    if c.reuse_connection == Some(true) && c.kind != CheckKind::Http {
        cx.err(
            span.clone(),
            format!("check {name}: reuse_connection is only for kind = \"http\""),
        );
    }
    let expect_status = c
        .expect_status
        .clone()
        .unwrap_or_else(|| defaults::EXPECT_STATUS.to_vec());
    if expect_status.iter().any(|s| !(100..=599).contains(s)) {
        cx.err(
            span.clone(),
            format!("check {name}: expect_status values must be 100-599"),
        );
    }
    let path = c
        .path
        .as_ref()
        .map_or_else(|| defaults::CHECK_PATH.to_string(), |p| p.get_ref().clone());
    if !path.starts_with('/')
        && let Some(p) = &c.path
    {
        cx.err(p.span(), format!("check {name}: path must start with /"));
    }
    (cx.errors.len() == before).then(|| CheckParams {
        name: name.to_string(),
        kind: c.kind,
        path,
        port,
        host: c.host.clone(),
        expect_status,
        expect_body: c.expect_body.clone(),
        tls_verify: c.tls_verify.unwrap_or(defaults::TLS_VERIFY),
        sni: c.sni.clone(),
        reuse_connection: c.reuse_connection.unwrap_or(defaults::REUSE_CONNECTION),
        interval,
        timeout,
        rise,
        fall,
    })
}
