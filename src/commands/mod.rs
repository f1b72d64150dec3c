//! The one-shot commands (SPEC section 1): `check`, `explain`, `geoip`, `keygen`, the client
//! side of `reload`, `plan`, `completions` and `man`. Each reads what it needs, prints its result, and returns the exit code; errors go
//! back to `main`, which prints them.

pub mod check;
pub mod daemon_pid;
pub mod docs;
pub mod explain;
pub mod geoip;
pub mod keygen;
pub mod output;
pub mod plan;
pub mod remote;
pub mod rollout;
pub mod send_reload;
