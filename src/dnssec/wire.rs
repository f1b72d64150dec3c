//! DNSSEC record-type codes and the wire-format pieces that signing and denial share:
//! label counts, canonical RDATA (RFC 4034 6.2) and NSEC type bitmaps (RFC 4034 4.1.2).
//!
//! Everything here works on uncompressed wire-format names and pre-encoded RDATA, the forms
//! the answer path already holds, so signing never goes through a general message type.

use std::borrow::Cow;

/// Record type codes of DNSSEC and compact denial.
pub mod rtype {
    /// Delegation signer (RFC 4034 5).
    pub const DS: u16 = 43;
    /// Signature over an RRset (RFC 4034 3).
    pub const RRSIG: u16 = 46;
    /// Next secure record (RFC 4034 4).
    pub const NSEC: u16 = 47;
    /// Zone key (RFC 4034 2).
    pub const DNSKEY: u16 = 48;
    /// Meta-type in the NSEC bitmap of a compact NXDOMAIN answer (RFC 9824 2).
    pub const NXNAME: u16 = 128;
}

/// The Compact Answers OK flag in the EDNS flags field (RFC 9824 5.1: bit 1, after DO).
pub const EDNS_FLAG_CO: u16 = 0x4000;

/// The DNSSEC OK flag in the EDNS flags field (RFC 3225).
pub const EDNS_FLAG_DO: u16 = 0x8000;

/// The RRSIG `Labels` field for an owner name (RFC 4034 3.1.3): labels not counting the root
/// and not counting a leading `*` label (a wildcard owner).
pub fn rrsig_labels(owner: &[u8]) -> u8 {
    let mut count = 0u8;
    let mut at = 0;
    while let Some(&len) = owner.get(at) {
        if len == 0 {
            break;
        }
        count = count.saturating_add(1);
        at += 1 + usize::from(len);
    }
    if owner.get(..2) == Some(b"\x01*") {
        count -= 1;
    }
    count
}

/// Lower-cases the ASCII letters of one uncompressed wire name starting at `at`; returns the
/// offset after the name, or `None` if the name runs past the data.
fn lower_name(data: &mut [u8], mut at: usize) -> Option<usize> {
    loop {
        let len = usize::from(*data.get(at)?);
        if len == 0 {
            return Some(at + 1);
        }
        if len > 63 {
            return None;
        }
        data.get_mut(at + 1..at + 1 + len)?.make_ascii_lowercase();
        at += 1 + len;
    }
}

/// Canonical RDATA (RFC 4034 6.2, as amended by RFC 6840 5.1): the names inside the RDATA of
/// the types that carry them in lower case. Only the types a zone can hold are handled; any
/// other type is already canonical as stored. Borrowed when nothing needs to change (the
/// usual case: the loader stores names lower-cased).
pub fn canonical_rdata(rtype: u16, rdata: &[u8]) -> Cow<'_, [u8]> {
    // Offset of the first name and how many names follow it back to back.
    let (start, names) = match rtype {
        2 | 5 | 12 => (0, 1), // NS, CNAME, PTR
        6 => (0, 2),          // SOA: MNAME, RNAME
        15 => (2, 1),         // MX: preference, exchange
        33 => (6, 1),         // SRV: priority, weight, port, target
        _ => return Cow::Borrowed(rdata),
    };
    if !rdata
        .get(start..)
        .is_some_and(|rest| rest.iter().any(u8::is_ascii_uppercase))
    {
        return Cow::Borrowed(rdata);
    }
    let mut out = rdata.to_vec();
    let mut at = start;
    for _ in 0..names {
        match lower_name(&mut out, at) {
            Some(next) => at = next,
            None => break,
        }
    }
    Cow::Owned(out)
}

/// A set of record types below 512 (windows 0 and 1 of the NSEC bitmap: every type a zone
/// here can hold, plus NXNAME), kept on the stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeSet([u64; 8]);

impl TypeSet {
    /// Largest type number plus one that the set can hold.
    pub const LIMIT: u16 = 512;

    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a type; types at or above [`Self::LIMIT`] are ignored (a zone cannot hold them).
    pub fn insert(&mut self, t: u16) {
        if t < Self::LIMIT {
            self.0[usize::from(t / 64)] |= 1 << (t % 64);
        }
    }

    /// Removes a type.
    pub fn remove(&mut self, t: u16) {
        if t < Self::LIMIT {
            self.0[usize::from(t / 64)] &= !(1 << (t % 64));
        }
    }

    /// Whether the set holds `t`.
    pub fn contains(&self, t: u16) -> bool {
        t < Self::LIMIT && self.0[usize::from(t / 64)] & (1 << (t % 64)) != 0
    }

    /// The types, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..Self::LIMIT).filter(|&t| self.contains(t))
    }

    /// Appends the NSEC type bitmap of this set (RFC 4034 4.1.2) to `out`.
    pub fn write_bitmap(&self, out: &mut RdataBuf) {
        for window in 0..(Self::LIMIT / 256) as u8 {
            let mut bits = [0u8; 32];
            let mut used = 0;
            for low in 0..256u16 {
                if self.contains(u16::from(window) * 256 + low) {
                    let low = usize::from(low);
                    bits[low / 8] |= 0x80 >> (low % 8);
                    used = low / 8 + 1;
                }
            }
            if used > 0 {
                out.push(window);
                out.push(used as u8);
                out.extend_from_slice(&bits[..used]);
            }
        }
    }
}

/// RDATA built on the stack (an NSEC: a name of at most 255 bytes and a bitmap of at most
/// two windows of 34 bytes), so negative answers need no allocation to look up their
/// signature.
#[derive(Clone, Copy)]
pub struct RdataBuf {
    buf: [u8; 384],
    len: usize,
}

impl Default for RdataBuf {
    fn default() -> Self {
        Self {
            buf: [0; 384],
            len: 0,
        }
    }
}

impl std::fmt::Debug for RdataBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RdataBuf({:02x?})", self.as_slice())
    }
}

impl RdataBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one byte (dropped if the buffer is full; the callers' sizes never fill it).
    pub fn push(&mut self, b: u8) {
        self.extend_from_slice(&[b]);
    }

    /// Appends bytes (dropped if they do not fit; the callers' sizes never fill it).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    /// The bytes written.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl AsRef<[u8]> for RdataBuf {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_counts() {
        assert_eq!(rrsig_labels(b"\x00"), 0);
        assert_eq!(rrsig_labels(b"\x03www\x07example\x00"), 2);
        // A wildcard owner does not count its `*` label (RFC 4034 3.1.3).
        assert_eq!(rrsig_labels(b"\x01*\x07example\x00"), 1);
        assert_eq!(rrsig_labels(b"\x01a\x01*\x07example\x00"), 3);
    }

    #[test]
    fn canonical_rdata_lowercases_names_only() {
        let ns = b"\x02NS\x07Example\x00";
        assert_eq!(&*canonical_rdata(2, ns), b"\x02ns\x07example\x00");
        // MX: the preference bytes are left alone even when they look like letters.
        let mx = b"\x00\x41\x02MX\x00";
        assert_eq!(&*canonical_rdata(15, mx), b"\x00\x41\x02mx\x00");
        // SOA: both names, not the numbers after them.
        let mut soa = b"\x01A\x00\x01B\x00".to_vec();
        soa.extend_from_slice(&[0x41; 20]);
        let c = canonical_rdata(6, &soa);
        assert_eq!(&c[..6], b"\x01a\x00\x01b\x00");
        assert_eq!(&c[6..], &[0x41; 20]);
        // TXT is never touched; lower-case names are borrowed.
        assert!(matches!(canonical_rdata(16, b"\x02AB"), Cow::Borrowed(_)));
        assert!(matches!(canonical_rdata(5, b"\x01a\x00"), Cow::Borrowed(_)));
    }

    fn bitmap(types: &[u16]) -> Vec<u8> {
        let mut set = TypeSet::new();
        for &t in types {
            set.insert(t);
        }
        let mut out = RdataBuf::new();
        set.write_bitmap(&mut out);
        out.as_slice().to_vec()
    }

    #[test]
    fn type_bitmaps() {
        // RFC 4034 4.3 example: A MX RRSIG NSEC (its TYPE1234 is beyond what a zone here
        // holds), then CAA (257) for the second window.
        assert_eq!(
            bitmap(&[1, 15, 46, 47]),
            [0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03]
        );
        assert_eq!(bitmap(&[257, 1]), [0, 1, 0x40, 1, 1, 0x40]);
        // Compact NXDOMAIN: RRSIG NSEC NXNAME (128) in window 0, 17 bytes.
        let nx = bitmap(&[128, 47, 46]);
        assert_eq!(nx.len(), 2 + 17);
        assert_eq!(&nx[..2], &[0, 17]);
        assert_eq!(nx[2 + 5], 0x03);
        assert_eq!(nx[2 + 16], 0x80);
        let mut set = TypeSet::new();
        set.insert(1234);
        set.insert(28);
        set.remove(28);
        assert_eq!(set, TypeSet::new());
    }
}
