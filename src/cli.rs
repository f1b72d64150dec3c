//! Command line (SPEC section 1).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
}
