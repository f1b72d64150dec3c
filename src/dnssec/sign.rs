//! RRSIG records: the signed data of an RRset in canonical form (RFC 4034 3.1.8.1 and 6) and
//! the validity windows signatures are made for.
//!
//! An [`Rrset`] borrows what the answer path already holds: the owner as lower-case wire
//! bytes, the type, the TTL and the RDATA of each record. [`rrsig_rdata`] lays out the RRSIG
//! fields, appends every record in canonical form and order, and has the key sign that.
//!
//! # Validity windows
//!
//! Signatures are made for a [`Window`], not for the current second, so every query in the
//! same window gets the same signature and the cache can keep it. Time is cut into steps of a
//! quarter of the zone's `signature_validity`; a window's inception is its start minus one
//! hour (clock skew, RFC 6781 4.4.2.2) and its expiration its start plus the validity. A
//! signature served at any moment of its window is therefore at least an hour old and still
//! valid for at least three quarters of the validity (with the default of 7 days: at least
//! 5.25 days), and the next window's signature replaces it long before it expires.

use super::key::ZoneKey;
use super::wire::{canonical_rdata, rrsig_labels};
use crate::error::SignError;

/// Class IN.
const CLASS_IN: u16 = 1;

/// How far in the past a signature's inception lies (RFC 6781 4.4.2.2: allow for skew).
pub const INCEPTION_OFFSET: u32 = 3600;

/// Shortest `signature_validity` accepted: a window must be longer than the inception offset.
pub const MIN_VALIDITY: u32 = 2 * 3600;

/// Longest `signature_validity` accepted (RRSIG times are 32-bit serial numbers, RFC 4034
/// 3.1.5: anything up to 68 years works; a year is plenty and limits replay).
pub const MAX_VALIDITY: u32 = 366 * 86_400;

/// An RRset to sign: owner (lower-case uncompressed wire form), type, TTL and the RDATA of
/// each record, in any order.
#[derive(Debug, Clone, Copy)]
pub struct Rrset<'a, R> {
    /// Owner name, lower-case wire form. A wildcard owner (`*.example.`) gives the RRSIG a
    /// label count without the `*` (RFC 4034 3.1.3).
    pub owner: &'a [u8],
    /// Record type.
    pub rtype: u16,
    /// TTL (the RRSIG's original TTL).
    pub ttl: u32,
    /// Each record's RDATA.
    pub rdatas: &'a [R],
}

/// The inception and expiration of signatures made in one step of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Index of the step (`now / step`).
    pub index: u32,
    /// Seconds per step (a quarter of the validity).
    pub step: u32,
    /// RRSIG inception (unix seconds, mod 2^32).
    pub inception: u32,
    /// RRSIG expiration (unix seconds, mod 2^32).
    pub expiration: u32,
}

impl Window {
    /// The window that holds `now` (unix seconds) for a signature validity in seconds
    /// (clamped to [`MIN_VALIDITY`]..=[`MAX_VALIDITY`]).
    pub fn at(now: u32, validity: u32) -> Self {
        let validity = validity.clamp(MIN_VALIDITY, MAX_VALIDITY);
        let step = validity / 4;
        let index = now / step;
        Self::from_index(index, step, validity)
    }

    fn from_index(index: u32, step: u32, validity: u32) -> Self {
        let start = index.wrapping_mul(step);
        Self {
            index,
            step,
            inception: start.wrapping_sub(INCEPTION_OFFSET),
            expiration: start.wrapping_add(validity),
        }
    }

    /// The window after this one.
    pub fn next(&self) -> Self {
        let validity = self
            .expiration
            .wrapping_sub(self.index.wrapping_mul(self.step));
        Self::from_index(self.index.wrapping_add(1), self.step, validity)
    }

    /// First second after the window.
    pub fn end(&self) -> u32 {
        self.index.wrapping_add(1).wrapping_mul(self.step)
    }
}

/// Builds the RRSIG RDATA for `set` signed by `key` for `window` (RFC 4034 3.1).
///
/// The records are put in canonical form (owner lower case, names in RDATA lower case,
/// RFC 4034 6.2), sorted by RDATA and duplicates dropped (6.3), and each carries the RRSIG's
/// original TTL (6.2 item 5).
pub fn rrsig_rdata<R: AsRef<[u8]>>(
    key: &ZoneKey,
    set: &Rrset<'_, R>,
    window: Window,
) -> Result<Vec<u8>, SignError> {
    let signer = key.zone().as_wire();
    let mut rdata = Vec::with_capacity(18 + signer.len() + key.algorithm().signature_len());
    rdata.extend_from_slice(&set.rtype.to_be_bytes());
    rdata.push(key.algorithm().number());
    rdata.push(rrsig_labels(set.owner));
    rdata.extend_from_slice(&set.ttl.to_be_bytes());
    rdata.extend_from_slice(&window.expiration.to_be_bytes());
    rdata.extend_from_slice(&window.inception.to_be_bytes());
    rdata.extend_from_slice(&key.key_tag().to_be_bytes());
    rdata.extend_from_slice(signer);

    let mut records: Vec<std::borrow::Cow<'_, [u8]>> = set
        .rdatas
        .iter()
        .map(|r| canonical_rdata(set.rtype, r.as_ref()))
        .collect();
    records.sort_unstable();
    records.dedup();

    let mut data = rdata.clone();
    data.reserve(records.iter().map(|r| set.owner.len() + 10 + r.len()).sum());
    for r in &records {
        data.extend_from_slice(set.owner);
        data.extend_from_slice(&set.rtype.to_be_bytes());
        data.extend_from_slice(&CLASS_IN.to_be_bytes());
        data.extend_from_slice(&set.ttl.to_be_bytes());
        data.extend_from_slice(&(r.len() as u16).to_be_bytes());
        data.extend_from_slice(r);
    }
    let signature = key.sign(&data)?;
    rdata.extend_from_slice(&signature);
    Ok(rdata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_inception_and_expiry_margins() {
        let validity = 7 * 86_400;
        for now in [1_764_590_000u32, 1_764_590_000 + 151_199, 1_764_741_600] {
            let w = Window::at(now, validity);
            assert!(w.inception <= now - INCEPTION_OFFSET, "{w:?}");
            assert!(w.expiration - now >= validity / 4 * 3, "{w:?}");
            assert!(w.expiration - now <= validity, "{w:?}");
            assert!(now < w.end());
            assert_eq!(Window::at(w.end(), validity), w.next());
        }
        // Every moment of a window gives the same window.
        let w = Window::at(1_764_590_000, validity);
        let start = w.index * w.step;
        assert_eq!(Window::at(start, validity), w);
        assert_eq!(Window::at(w.end() - 1, validity), w);
        // Too short a validity is clamped so the window still covers the inception offset.
        let short = Window::at(1_764_590_000, 60);
        assert_eq!(short.step, MIN_VALIDITY / 4);
    }
}
