//! Captures the conformance suite's answers from a DNS server on loopback.
//!
//! ```text
//! cargo run --example conformance_capture -- 127.0.0.1:PORT
//! cargo run --example conformance_capture -- --fixture "Knot DNS 3.2.6" 127.0.0.1:PORT
//! ```
//!
//! Without `--fixture` it prints a JSON array of `{query, response}`, one per
//! query of `tests/support/conformance.rs`. With `--fixture SERVER` it prints
//! the fixture object that `tests/knot_conformance.rs` reads (what
//! `tests/conformance/regen.sh` writes to `tests/conformance/knot-answers.json`).
//! The server is first asked for the zone's SOA until it answers (at most 10 s).

// A command-line tool: its output is the JSON on stdout, its errors on stderr.
#![allow(clippy::disallowed_macros)]

use std::net::SocketAddr;
use std::process::ExitCode;

// The example uses only the capture half of the shared modules: the test client and the
// conformance suite on top of it.
#[allow(dead_code)]
#[path = "../tests/common/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../tests/support/conformance.rs"]
mod conformance;

fn usage() -> ExitCode {
    eprintln!("usage: conformance_capture [--fixture SERVER-NAME] ADDR:PORT (a loopback address)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut fixture_server = None;
    let mut addr = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fixture" => match args.next() {
                Some(v) => fixture_server = Some(v),
                None => return usage(),
            },
            _ if addr.is_none() => addr = Some(arg),
            _ => return usage(),
        }
    }
    let Some(addr) = addr else {
        return usage();
    };
    let server: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("conformance_capture: bad address {addr}: {e}");
            return usage();
        }
    };
    if !server.ip().is_loopback() {
        eprintln!("conformance_capture: refusing non-loopback address {server}");
        return ExitCode::from(2);
    }
    if let Err(e) = conformance::wait_until_serving(server, 100) {
        eprintln!(
            "conformance_capture: {server} does not serve {}: {e}",
            conformance::ZONE
        );
        return ExitCode::FAILURE;
    }
    let results = conformance::capture(server);
    let json = match fixture_server {
        Some(server) => serde_json::to_string_pretty(&conformance::Fixture {
            server,
            regenerate: "tests/conformance/regen.sh".to_owned(),
            results,
        }),
        None => serde_json::to_string_pretty(&results),
    };
    match json {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("conformance_capture: cannot render JSON: {e}");
            ExitCode::FAILURE
        }
    }
}
