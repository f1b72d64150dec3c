//! Command line (SPEC section 1). `steerdns completions SHELL` and `steerdns man` are built
//! from these definitions, so the help, the completions and the man page never disagree.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::dnssec::algorithm::Algorithm;

/// steerdns: authoritative DNS for global traffic steering.
///
/// For every steered name it answers with the endpoints of the region that should serve the
/// asking client: chosen from the client's location (GeoIP of the EDNS Client Subnet, else of
/// the resolver), per-region weights, operator states (drain, down) and background health
/// checks.
///
/// Exit codes: 0 success; 1 refused or invalid (a failed check, a rejected reload, a file
/// the config names that cannot be read); 2 usage errors, an unreadable main config, or no
/// daemon reachable; 3 (reload) applied with warnings.
#[derive(Debug, Parser)]
#[command(name = "steerdns", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground.
    ///
    /// Serves DNS over UDP and TCP on every `[server] listen` address and the admin HTTP
    /// listener on `[metrics] listen` (/metrics, /healthz, /v1/*), probes the health checks,
    /// and writes its pid to `[server] pid_file`. SIGHUP (or `steerdns reload`) reloads every
    /// file; SIGTERM or SIGINT stops it. Logs go to stderr (`[log] format`, filtered by the
    /// STEERDNS_LOG environment variable: a level and levels per target, such as
    /// "info,steerdns::health=debug"; default "info").
    #[command(after_long_help = "Example:\n  steerdns serve -c /etc/steerdns/steerdns.toml")]
    Serve {
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
    },
    /// Validate config, zones and GeoIP database; print every error; exit 1 on any.
    ///
    /// Runs exactly the loading `serve` and a reload run, so "check passes" means "a reload
    /// will be applied". Every problem is printed as `file:line: message` (all of them, not
    /// just the first); warnings go to stderr and do not fail the check.
    #[command(after_long_help = "Example:\n  steerdns check -c /etc/steerdns/steerdns.toml")]
    Check {
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
    },
    /// Show how a steered name is decided for a client.
    ///
    /// Prints every step: the client address and where it came from, the GeoIP record and
    /// network, the matched map key, each tier with each region's state, health and weight,
    /// the pick and its reason, the endpoints, the TTL and the ECS scope. Offline (from the
    /// files, health as last saved) unless `--server` names a running daemon's admin
    /// listener, which answers with live health.
    #[command(after_long_help = "Examples:\n  \
        steerdns explain www.gslb.example.test --client 81.2.69.160\n  \
        steerdns explain www.gslb.example.test -t AAAA --client 81.2.69.0/24 --json\n  \
        steerdns explain www.gslb.example.test --client 81.2.69.0/24 --server 127.0.0.1:9153")]
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
        /// Ask a running daemon's admin listener for live health: a URL
        /// (http://127.0.0.1:9153) or HOST:PORT. The config's [metrics] token_file, when set,
        /// is sent as a Bearer token.
        #[arg(long, value_name = "URL|HOST:PORT")]
        server: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Ask the running daemon to reload; print its outcome.
    ///
    /// Sends POST /v1/reload to the daemon's admin listener (`[metrics] listen` of the
    /// config, or `--server`) and prints what the daemon did: "reload applied: generation N"
    /// (exit 0), applied with warnings such as a setting that needs a restart or a listen
    /// address that could not be bound (exit 3), or rejected with every `file:line` problem
    /// (exit 1; the previous configuration keeps serving). When the admin listener cannot be
    /// reached, it signals the process named in `[server] pid_file` with SIGHUP, but only
    /// after checking that it is a running `steerdns serve`, and reads the outcome from the
    /// admin listener. Exit 2 when no daemon can be reached.
    #[command(after_long_help = "Example:\n  steerdns reload -c /etc/steerdns/steerdns.toml")]
    Reload {
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
        /// The daemon's admin listener, as a URL or HOST:PORT (default: the config's
        /// [metrics] listen). With it, nothing is ever signalled.
        #[arg(long, value_name = "URL|HOST:PORT")]
        server: Option<String>,
    },
    /// Show what a reload of the files would change, before it is sent.
    ///
    /// Loads the files as a reload would and compares them with what the running daemon
    /// serves (its live health; default: the daemon of the config's [metrics] listen, or
    /// `--server`), or offline with another configuration (`--against DIR`, e.g. the last
    /// commit checked out in CI; every endpoint counted up). Prints, per zone, the static
    /// RRsets added, removed and changed; per service and map key, each region's share of
    /// that key's subnets before and after and the share moving from which region to which,
    /// IPv4 and IPv6 apart, estimated over the GeoIP database's networks with the 95% margin
    /// of error; and the settings that need a restart. Exit 0 when the plan is computed
    /// (whatever it says), 1 when the files are invalid (every file:line problem), 2 when
    /// what it compares against cannot be reached or loaded.
    #[command(after_long_help = "Examples:\n  \
        steerdns plan -c /etc/steerdns/steerdns.toml\n  \
        steerdns plan --against /tmp/last-release --json")]
    Plan {
        /// Main config file (the new files).
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
        /// Compare offline with the configuration in DIR (its main config file of the same
        /// name as --config's), or with that main config file itself.
        #[arg(long, value_name = "DIR", conflicts_with = "server")]
        against: Option<PathBuf>,
        /// The daemon's admin listener, as a URL or HOST:PORT (default: the config's
        /// [metrics] listen).
        #[arg(long, value_name = "URL|HOST:PORT")]
        server: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Staged canary rollouts of the running daemon (SPEC 4.2): status, pause, resume,
    /// abort, advance.
    ///
    /// `status` lists every rollout (step, share, time to the next step, each gate's last
    /// value). The actions change one rollout at once: `pause` stops at the current step,
    /// `resume` goes on (after a rollback or an abort: from the first step), `abort` sets
    /// the share to 0 until resumed, `advance` moves to the next step now. Without
    /// ZONE/SERVICE an action acts on the daemon's only rollout.
    /// Exit 0 done, 1 refused or no such rollout, 2 usage or no daemon reachable.
    #[command(after_long_help = "Examples:\n  \
        steerdns rollout status\n  \
        steerdns rollout pause gslb.example.test/www\n  \
        steerdns rollout abort gslb.example.test/www --server 127.0.0.1:9153 --json")]
    Rollout {
        /// What to do.
        #[arg(value_enum)]
        action: crate::commands::rollout::RolloutVerb,
        /// The rollout, as ZONE/SERVICE (gslb.example.test/www).
        target: Option<String>,
        /// Main config file (names the daemon's admin listener and token).
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
        /// The daemon's admin listener, as a URL or HOST:PORT (default: the config's
        /// [metrics] listen).
        #[arg(long, value_name = "URL|HOST:PORT")]
        server: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what the GeoIP database says about an address.
    ///
    /// Reads only the main config's `[geoip] database` (a broken zone file does not stop
    /// it) and prints the record (country, continent, subdivisions) and the network it
    /// covers.
    #[command(after_long_help = "Example:\n  steerdns geoip 81.2.69.160")]
    Geoip {
        /// Address to look up.
        ip: IpAddr,
        /// Main config file.
        #[arg(short, long, default_value = "steerdns.toml")]
        config: PathBuf,
    },
    /// Generate a DNSSEC key for a zone (file mode 0600); print its DNSKEY and the DS for the
    /// parent zone.
    ///
    /// Writes a new key file (never over an existing one) named after the zone, algorithm and
    /// key tag, and prints the DNSKEY record the zone will serve and, for a key-signing key
    /// (the default, used alone as a combined signing key), the DS record to give the parent
    /// zone. List the file in the zone's `[dnssec] keys`, then reload.
    #[command(after_long_help = "Examples:\n  \
        steerdns keygen gslb.example.test. -d keys\n  \
        steerdns keygen gslb.example.test. -a ed25519 --publish-only -d keys")]
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
    /// Print shell completions.
    ///
    /// Write them where your shell looks for completions.
    #[command(after_long_help = "Examples:\n  \
        steerdns completions bash > /etc/bash_completion.d/steerdns\n  \
        steerdns completions zsh > \"${fpath[1]}/_steerdns\"\n  \
        steerdns completions fish > ~/.config/fish/completions/steerdns.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(after_long_help = "Example:\n  steerdns man > /usr/local/share/man/man1/steerdns.1")]
    Man,
}

/// `-a` values: a mnemonic or number, any case.
fn parse_algorithm(text: &str) -> Result<Algorithm, String> {
    Algorithm::parse(text).ok_or_else(|| {
        format!("{text:?}: the algorithms are ecdsap256sha256 (13) and ed25519 (15)")
    })
}
