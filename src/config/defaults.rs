//! Every default of the configuration, in one place (SPEC sections 2 and 3). The README's
//! configuration reference cites these; `compile` applies them to keys a file leaves out.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

// === main config ===

/// `[server] listen`.
pub const LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 53));
/// `[server] workers`: one UDP worker per core.
pub const WORKERS: usize = 0;
/// `[server] tcp_idle_timeout`.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// `[server] max_tcp_connections`.
pub const MAX_TCP_CONNECTIONS: usize = 1024;
/// `[server] max_tcp_connections_per_client`.
pub const MAX_TCP_CONNECTIONS_PER_CLIENT: usize = 64;
/// `[server] debug_from` and `[rrl] exempt`: loopback.
pub const LOOPBACK_NETS: [&str; 2] = ["127.0.0.0/8", "::1/128"];
/// `[server] pid_file`, beside the main config.
pub const PID_FILE: &str = "steerdns.pid";
/// `[health] state_file`, beside the main config.
pub const HEALTH_STATE_FILE: &str = "steerdns.health";
/// `[zones] directory`, beside the main config.
pub const ZONES_DIRECTORY: &str = "zones";
/// `[metrics] listen` (`""` turns the admin listener off).
pub const METRICS_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9153));
/// `[rrl] enabled`.
pub const RRL_ENABLED: bool = true;
/// `[rrl] responses_per_second`.
pub const RRL_RESPONSES_PER_SECOND: u32 = 200;
/// `[rrl] slip`: every second limited response is a TC=1 reply.
pub const RRL_SLIP: u32 = 2;
/// `[rrl] ipv4_prefix`.
pub const RRL_IPV4_PREFIX: u8 = 24;
/// `[rrl] ipv6_prefix`.
pub const RRL_IPV6_PREFIX: u8 = 56;
/// `[peers] poll`: time between two reads of each peer.
pub const PEERS_POLL: Duration = Duration::from_secs(2);
/// `[peers] stale_after`: a peer not heard from for this long does not count.
pub const PEERS_STALE_AFTER: Duration = Duration::from_secs(10);
/// Shortest `[peers] poll` accepted.
pub const PEERS_POLL_MIN: Duration = Duration::from_millis(100);
/// `[log] queries`.
pub const LOG_QUERIES: bool = false;

// === zone files ===

/// Zone `ttl`: TTL of static records and of the SOA, in seconds.
pub const ZONE_TTL: u32 = 300;
/// `[soa] refresh`, in seconds (1h).
pub const SOA_REFRESH: u32 = 3600;
/// `[soa] retry`, in seconds (10m).
pub const SOA_RETRY: u32 = 600;
/// `[soa] expire`, in seconds (1w).
pub const SOA_EXPIRE: u32 = 604_800;
/// `[soa] minimum`: the negative-caching TTL, in seconds.
pub const SOA_MINIMUM: u32 = 30;
/// `[service.X] ttl`: TTL of steered answers, in seconds.
pub const SERVICE_TTL: u32 = 30;
/// `[service.X] max_answers`.
pub const MAX_ANSWERS: u32 = 8;
/// `[service.X] min_up` and `[service.X.region.Y] min_up`.
pub const MIN_UP: u32 = 1;
/// `[service.X.region.Y] weight`.
pub const WEIGHT: u32 = 100;
/// `[check.X] interval`.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// `[check.X] timeout`.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// `[check.X] rise`: consecutive passes to become up.
pub const CHECK_RISE: u32 = 2;
/// `[check.X] fall`: consecutive failures to become down.
pub const CHECK_FALL: u32 = 3;
/// `[check.X] port` of an `http` check.
pub const HTTP_PORT: u16 = 80;
/// `[check.X] port` of an `https` check.
pub const HTTPS_PORT: u16 = 443;
/// `[check.X] path`.
pub const CHECK_PATH: &str = "/";
/// `[check.X] expect_status`.
pub const EXPECT_STATUS: [u16; 1] = [200];
/// `[check.X] tls_verify`.
pub const TLS_VERIFY: bool = true;
/// `[check.X] reuse_connection`.
pub const REUSE_CONNECTION: bool = false;
/// `[dnssec] signature_validity`, in seconds (7d).
pub const SIGNATURE_VALIDITY: u32 = 7 * 86_400;
