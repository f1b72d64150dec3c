//! `GET /v1/rollouts` and `POST /v1/rollouts/{zone}/{service}/{action}` (SPEC 4.2): the
//! rollouts' status and the operator's commands, handed to the daemon's
//! [`crate::rollout::runner::Rollouts`].

use std::sync::Arc;

use hyper::StatusCode;

use crate::rollout::engine::Action;
use crate::rollout::runner::{CommandError, Rollouts};
use crate::state::Store;

/// An answer: status and JSON body.
pub(super) type Answer = (StatusCode, String);

fn error(status: StatusCode, message: &str) -> Answer {
    (
        status,
        serde_json::json!({ "error": message }).to_string() + "\n",
    )
}

fn json<T: serde::Serialize>(value: &T) -> Answer {
    match serde_json::to_string_pretty(value) {
        Ok(body) => (StatusCode::OK, body + "\n"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `GET /v1/rollouts`.
pub(super) fn list(rollouts: Option<&Arc<Rollouts>>, store: &Store) -> Answer {
    let Some(r) = rollouts else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no rollouts run here");
    };
    json(&r.list(store.load().generation))
}

/// `POST /v1/rollouts/{zone}/{service}/{action}`; `rest` is the path after `/v1/rollouts/`.
pub(super) fn command(rollouts: Option<&Arc<Rollouts>>, store: &Store, rest: &str) -> Answer {
    let Some(r) = rollouts else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no rollouts run here");
    };
    let parts: Vec<String> = rest.split('/').map(percent_decode).collect();
    let [zone, service, action] = parts.as_slice() else {
        return error(
            StatusCode::NOT_FOUND,
            "POST /v1/rollouts/{zone}/{service}/{pause|resume|abort|advance}",
        );
    };
    let Some(action) = Action::parse(action) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("unknown action {action:?}: pause, resume, abort or advance"),
        );
    };
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    match r.command(store, &format!("{zone}/{service}"), action) {
        Ok(status) => json(&status),
        Err(e @ CommandError::Unknown(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e @ CommandError::Refused { .. }) => error(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// `%XX` sequences decoded (a path segment; `+` stays).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn segments_are_percent_decoded() {
        assert_eq!(percent_decode("gslb.example.test"), "gslb.example.test");
        assert_eq!(percent_decode("a%2Fb%20c"), "a/b c");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
