//! The one-shot commands (SPEC section 1): `check`, `explain`, `geoip`, `keygen`, and the
//! client side of `reload`. Each reads what it needs, prints its result, and returns the exit code; errors go
//! back to `main`, which prints them.

pub mod check;
pub mod explain;
pub mod geoip;
pub mod keygen;
pub mod send_reload;
