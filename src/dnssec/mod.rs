//! DNSSEC: zone keys, online signing, Compact Denial of Existence and the signature cache
//! (SPEC 5.1).
//!
//! ```text
//!  key files ──ZoneKey::read (once per load)──► ZoneSigner (per zone, in the compiled zone)
//!                                                  │ for_each_rrsig(rrset, pool, now)
//!  dns::answer (DO=1) ── RRsets, NSECs ───────────►│
//!                                                  ▼
//!                SignatureCaches (in the snapshot, handed on by reloads) ──miss──► sign::rrsig_rdata
//!                                                                             └► ZoneKey::sign (ring)
//! ```
//!
//! - [`algorithm`]: the signing algorithms (13 and 15).
//! - [`key`]: the key file format, `keygen`, DNSKEY and DS records.
//! - [`sign`]: canonical form and RRSIG RDATA; validity windows.
//! - [`denial`]: the NSEC of compact negative answers (RFC 9824).
//! - [`cache`]: signatures by RRset content, key and window; bounded; refreshed ahead.
//! - [`zone`]: which key signs what, and the caches' two pools.
//! - [`wire`]: type codes, label counts, canonical RDATA, type bitmaps.
//!
//! No cryptography is written here: key generation, signatures and digests are ring.

pub mod algorithm;
pub mod cache;
pub mod denial;
pub mod key;
pub mod sign;
pub mod wire;
pub mod zone;
