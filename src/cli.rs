//! Command line (SPEC section 1).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::dnssec::algorithm::Algorithm;

/// steerdns: authoritative DNS for global traffic steering.
#[derive(Debug, Parser)]
#[command(name = "steerdns", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground.
    Serve {
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
    },
    /// Validate config, zones and GeoIP database; print every error; exit 1 on any.
    Check {
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
    },
    /// Show how a steered name is decided for a client.
    Explain {
        /// Steered name, e.g. www.gslb.example.test.
        name: String,
        /// Record type: A or AAAA.
        #[arg(short = 't', long = "type", default_value = "A")]
        qtype: String,
        /// Client address or subnet (as an ECS option would carry it), e.g. 81.2.69.160 or
        /// 81.2.69.0/24.
        #[arg(long)]
        client: String,
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
        /// Ask a running daemon's admin address (e.g. 127.0.0.1:9153) for live health.
        #[arg(long)]
        server: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Send SIGHUP to the running daemon (found through its pid file).
    Reload {
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
    },
    /// Show what the GeoIP database says about an address.
    Geoip {
        /// Address to look up.
        ip: IpAddr,
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
    },
    /// Generate a DNSSEC key for a zone (file mode 0600); print its DNSKEY and the DS for the
    /// parent zone.
    Keygen {
        /// Zone apex, e.g. gslb.example.test.
        zone: String,
        /// Signing algorithm: ecdsap256sha256 (13) or ed25519 (15).
        #[arg(short, long, default_value = "ecdsap256sha256", value_parser = parse_algorithm)]
        algorithm: Algorithm,
        /// A zone-signing key (DNSKEY flags 256) instead of a key-signing key or CSK (257).
        #[arg(long)]
        zsk: bool,
        /// Mark the key publish_only: in the DNSKEY RRset, signing nothing (rollovers).
        #[arg(long)]
        publish_only: bool,
        /// Folder to write the key file into.
        #[arg(short, long, default_value = ".")]
        dir: PathBuf,
    },
}

/// `-a` values: a mnemonic or number, any case.
fn parse_algorithm(text: &str) -> Result<Algorithm, String> {
    Algorithm::parse(text).ok_or_else(|| {
        format!("{text:?}: the algorithms are ecdsap256sha256 (13) and ed25519 (15)")
    })
}
