//! Compact Denial of Existence (RFC 9824): the one NSEC record a negative answer carries.
//!
//! Every negative answer claims the query name exists with nothing but an NSEC (and its
//! RRSIG): the NSEC's owner is the query name and its next name is the name's immediate
//! successor in canonical order, `\000.<qname>`, so it covers no other name and the zone
//! cannot be walked.
//!
//! - Name does not exist (NXDOMAIN): the bitmap holds RRSIG, NSEC and NXNAME (RFC 9824 3.1
//!   and 3.2); the answer is NOERROR unless the client set the CO flag.
//! - Name exists, type does not (NODATA, empty non-terminals too): the bitmap holds the types
//!   that exist at the name, plus RRSIG and NSEC, never the type asked (RFC 9824 3.1).
//! - Delegation without DS: the NSEC at the cut holds NS, RRSIG and NSEC and neither DS nor
//!   SOA, which proves an insecure delegation (RFC 4035 5.2).
//!
//! The NSEC's TTL is that of the SOA in negative answers, min(SOA TTL, SOA minimum)
//! (RFC 9077 3).

use super::wire::{RdataBuf, TypeSet, rtype};

/// NS, for delegation NSECs.
const NS: u16 = 2;

/// Appends the immediate successor of `owner` (lower-case wire form) in canonical order:
/// `\000.<owner>` (RFC 4471 3.1.2.1), or, when that would be longer than 255 bytes, the name
/// with the last byte of its first label increased (3.1.2.2: the next name at the same level;
/// a byte already 0xFF grows the label instead when it can). A matching NSEC proves what it
/// proves whatever its next name; this only keeps the next name valid.
pub fn push_successor(owner: &[u8], out: &mut RdataBuf) {
    if owner.len() + 2 <= 255 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(owner);
        return;
    }
    let first = usize::from(owner[0]);
    let label = &owner[1..1 + first];
    let rest = &owner[1 + first..];
    match label.last() {
        Some(&last) if last < 0xFF => {
            out.push(first as u8);
            out.extend_from_slice(&label[..first - 1]);
            // The owner is lower case; after '@' comes '[', as upper-case letters sort as
            // lower case (RFC 4034 6.1).
            let next = if last == b'@' { b'[' } else { last + 1 };
            out.push(next);
            out.extend_from_slice(rest);
        }
        _ => {
            // Only reachable with a 254/255-byte name whose first label ends in 0xFF:
            // a matching NSEC is still valid with the owner itself as next name.
            out.extend_from_slice(owner);
        }
    }
}

/// NSEC RDATA: next name `\000.<owner>` and the bitmap of `types`.
pub fn nsec_rdata(owner: &[u8], types: &TypeSet) -> RdataBuf {
    let mut out = RdataBuf::new();
    push_successor(owner, &mut out);
    types.write_bitmap(&mut out);
    out
}

/// The bitmap of a name that does not exist: RRSIG, NSEC, NXNAME.
pub fn nxname_types() -> TypeSet {
    let mut set = TypeSet::new();
    set.insert(rtype::RRSIG);
    set.insert(rtype::NSEC);
    set.insert(rtype::NXNAME);
    set
}

/// The bitmap of a name that exists without the asked type: the types that exist there,
/// plus RRSIG and NSEC, minus `qtype`.
pub fn nodata_types(existing: &TypeSet, qtype: u16) -> TypeSet {
    let mut set = *existing;
    set.insert(rtype::RRSIG);
    set.insert(rtype::NSEC);
    set.remove(qtype);
    set
}

/// The bitmap at a delegation without DS: NS, RRSIG, NSEC.
pub fn delegation_types() -> TypeSet {
    let mut set = TypeSet::new();
    set.insert(NS);
    set.insert(rtype::RRSIG);
    set.insert(rtype::NSEC);
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nxdomain_nsec() {
        let owner = b"\x04nope\x07example\x00";
        let rd = nsec_rdata(owner, &nxname_types());
        let mut want = vec![1, 0];
        want.extend_from_slice(owner);
        want.extend_from_slice(&[0, 17, 0, 0, 0, 0, 0, 0x03]);
        want.extend_from_slice(&[0; 10]);
        want.push(0x80);
        assert_eq!(rd.as_slice(), &want[..]);
    }

    #[test]
    fn nodata_never_lists_the_asked_type() {
        let mut existing = TypeSet::new();
        existing.insert(1);
        existing.insert(28);
        let set = nodata_types(&existing, 28);
        assert_eq!(set.iter().collect::<Vec<_>>(), [1, 46, 47]);
        let cut = delegation_types();
        assert!(cut.contains(NS) && !cut.contains(rtype::DS) && !cut.contains(6));
    }

    #[test]
    fn successor_of_long_names_stays_a_name() {
        // 253 bytes: \000 would make 255 + 2.
        let mut owner = Vec::new();
        for _ in 0..3 {
            owner.push(63);
            owner.extend_from_slice(&[b'a'; 63]);
        }
        owner.push(60);
        owner.extend_from_slice(&[b'b'; 60]);
        owner.push(0);
        assert_eq!(owner.len(), 254);
        let mut out = RdataBuf::new();
        push_successor(&owner, &mut out);
        assert_eq!(out.as_slice().len(), 254);
        assert_eq!(out.as_slice()[63], b'b');
        assert_eq!(&out.as_slice()[64..], &owner[64..]);
        // A label ending in '@' (just below 'A') skips the upper-case range.
        let mut at = owner.clone();
        at[63] = b'@';
        let mut out = RdataBuf::new();
        push_successor(&at, &mut out);
        assert_eq!(out.as_slice()[63], b'[');
    }
}
