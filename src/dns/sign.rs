//! DNSSEC in answers (SPEC 5.1): what the answer path calls when a query has DO=1 and its
//! zone is signed.
//!
//! - [`Signer::sign`] writes the RRSIGs of an RRset right after it, in the same section
//!   (signatures come from the cache: none is computed per query in the steady state). An
//!   RRSIG that does not fit truncates the response like the RRset itself would (RFC 4035
//!   3.1.1).
//! - [`Signer::deny`] writes the one NSEC of a compact negative answer (RFC 9824) with its
//!   RRSIGs, after the SOA and its RRSIGs.
//!
//! Additional-section data (addresses of NS, MX and SRV targets) is not signed: RFC 4035
//! 3.1.1 makes that optional, and resolvers do not trust additional data anyway.

use std::net::IpAddr;

use super::wire::{Owner, ResponseWriter, Section};
use crate::config::model::Zone;
use crate::dnssec::denial::nsec_rdata;
use crate::dnssec::sign::Rrset;
use crate::dnssec::wire::{TypeSet, rtype};
use crate::dnssec::zone::{Pool, SignatureCaches, ZoneSigner};

/// Signing state of one answer.
pub(super) struct Signer<'a> {
    zone: &'a ZoneSigner,
    caches: &'a SignatureCaches,
    now: u32,
    /// A signature could not be made: the answer becomes SERVFAIL.
    failed: bool,
}

impl<'a> Signer<'a> {
    /// The signer for `zone`, or `None` when the zone is unsigned.
    pub(super) fn new(zone: &'a Zone, caches: &'a SignatureCaches, now: u32) -> Option<Self> {
        zone.dnssec.as_ref().map(|z| Self {
            zone: z,
            caches,
            now,
            failed: false,
        })
    }

    /// Whether a signature could not be made (the caller answers SERVFAIL).
    pub(super) fn failed(&self) -> bool {
        self.failed
    }

    /// Writes the RRSIGs of `set`, an RRset just written at `owner` in `section`.
    pub(super) fn sign<R: AsRef<[u8]>>(
        &mut self,
        w: &mut ResponseWriter<'_>,
        section: Section,
        owner: Owner<'_>,
        set: &Rrset<'_, R>,
        pool: Pool,
    ) {
        if w.is_truncated() {
            return;
        }
        let result = self
            .zone
            .for_each_rrsig(self.caches, set, pool, self.now, |rrsig| {
                w.push(section, owner, rtype::RRSIG, set.ttl, rrsig);
            });
        if result.is_err() {
            self.failed = true;
        }
    }

    /// Writes the compact-denial NSEC at `owner` (`owner_lower`: its lower-case wire form)
    /// with the bitmap `types`, and its RRSIGs, in the authority section.
    pub(super) fn deny(
        &mut self,
        w: &mut ResponseWriter<'_>,
        owner: Owner<'_>,
        owner_lower: &[u8],
        types: &TypeSet,
        ttl: u32,
        pool: Pool,
    ) {
        if w.is_truncated() {
            return;
        }
        let rdata = nsec_rdata(owner_lower, types);
        // NSEC RDATA is never compressed (RFC 4034 4.1.1): written as it is.
        if !w.push(
            Section::Authority,
            owner,
            rtype::NSEC,
            ttl,
            rdata.as_slice(),
        ) {
            return;
        }
        let set = Rrset {
            owner: owner_lower,
            rtype: rtype::NSEC,
            ttl,
            rdatas: std::slice::from_ref(&rdata),
        };
        self.sign(w, Section::Authority, owner, &set, pool);
    }
}

/// One address's RDATA: 4 or 16 octets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Octets {
    bytes: [u8; 16],
    len: u8,
}

impl AsRef<[u8]> for Octets {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Endpoints written in a steered answer, kept for its signature: on the stack up to
/// [`Addresses::STACK`] (more than any usual `max_answers`), in a `Vec` beyond.
pub(super) struct Addresses {
    stack: [Octets; Addresses::STACK],
    len: usize,
    heap: Vec<Octets>,
}

impl Addresses {
    /// Addresses kept without allocating.
    const STACK: usize = 16;

    /// None yet.
    pub(super) fn new() -> Self {
        Self {
            stack: [Octets {
                bytes: [0; 16],
                len: 0,
            }; Self::STACK],
            len: 0,
            heap: Vec::new(),
        }
    }

    /// Keeps `addr`; returns its RDATA.
    pub(super) fn push(&mut self, addr: IpAddr) -> &[u8] {
        let mut o = Octets {
            bytes: [0; 16],
            len: 16,
        };
        match addr {
            IpAddr::V4(a) => {
                o.bytes[..4].copy_from_slice(&a.octets());
                o.len = 4;
            }
            IpAddr::V6(a) => o.bytes = a.octets(),
        }
        if self.len < Self::STACK {
            self.stack[self.len] = o;
            self.len += 1;
            return self.stack[self.len - 1].as_ref();
        }
        if self.heap.is_empty() {
            self.heap.extend_from_slice(&self.stack);
        }
        self.heap.push(o);
        self.len += 1;
        self.heap[self.len - 1].as_ref()
    }

    /// Every address written.
    pub(super) fn as_slice(&self) -> &[Octets] {
        if self.heap.is_empty() {
            &self.stack[..self.len]
        } else {
            &self.heap
        }
    }
}
