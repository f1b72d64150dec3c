//! The crypto provider behind every TLS connection: ring.
//!
//! reqwest is built with `rustls-no-provider`: its `rustls` feature would bring aws-lc-rs,
//! whose C build (AWS-LC) took 40% of a cold release build on a 2-core machine (BENCHMARKS.md,
//! "First build"), while ring, which also signs DNSSEC here, does the same job. A reqwest
//! client built without a provider panics, so every client comes from [`client_builder`],
//! which installs ring as the process's default provider first (clippy.toml forbids
//! `reqwest::Client::builder` and `reqwest::Client::new` elsewhere). Health checks build their
//! own rustls configurations from [`provider`].

use std::sync::{Arc, Once};

use rustls::crypto::CryptoProvider;

/// rustls' provider backed by ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `reqwest::Client::builder()`, after making ring the process's default provider (once).
///
/// HTTPS servers are then verified against the system's roots with ring, as reqwest's own
/// `rustls` feature would do with aws-lc-rs.
#[allow(clippy::disallowed_methods)]
pub fn client_builder() -> reqwest::ClientBuilder {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err only if a default is already installed; ring is the only provider built in,
        // so that default is ring too.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_build_with_ring_installed_as_the_default() {
        // Without a default provider, reqwest (`rustls-no-provider`) panics here.
        client_builder().build().unwrap();
        assert!(CryptoProvider::get_default().is_some());
    }
}
