//! Query parsing and response writing on raw packets.
//!
//! The hot path never builds a general message object: [`parse_query`] reads the header, the
//! one question and the OPT record (EDNS buffer size, version, DO, NSID, Client Subnet) into a
//! [`Query`] that borrows the packet, and [`ResponseWriter`] appends records to a reusable
//! buffer. RDATA is pre-encoded at load time, so a response is a handful of copies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::name::MAX_NAME_LEN;

/// Record type codes used by the answer path.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Mail exchange.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// EDNS pseudo-record.
    pub const OPT: u16 = 41;
    /// Incremental zone transfer.
    pub const IXFR: u16 = 251;
    /// Zone transfer.
    pub const AXFR: u16 = 252;
    /// Any type.
    pub const ANY: u16 = 255;
}

/// Class codes.
pub mod class {
    /// Internet.
    pub const IN: u16 = 1;
    /// CHAOS.
    pub const CH: u16 = 3;
    /// Any class.
    pub const ANY: u16 = 255;
}

/// Response codes (the low 4 bits go in the header, the rest in the OPT record).
pub mod rcode {
    /// No error.
    pub const NOERROR: u16 = 0;
    /// Format error.
    pub const FORMERR: u16 = 1;
    /// Server failure.
    pub const SERVFAIL: u16 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u16 = 3;
    /// Not implemented.
    pub const NOTIMP: u16 = 4;
    /// Refused.
    pub const REFUSED: u16 = 5;
    /// Bad EDNS version.
    pub const BADVERS: u16 = 16;
}

/// EDNS option codes.
const OPT_NSID: u16 = 3;
const OPT_ECS: u16 = 8;
const OPT_EDE: u16 = 15;

/// Extended DNS Error "Not Authoritative" (RFC 8914 4.21).
pub const EDE_NOT_AUTHORITATIVE: u16 = 20;

/// Largest UDP response we send, whatever the client offers (DNS flag day 2020).
pub const MAX_UDP_PAYLOAD: u16 = 1232;

/// An EDNS Client Subnet option (RFC 7871) from a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSubnet {
    /// The address, with bits beyond `source_prefix` zero.
    pub addr: IpAddr,
    /// SOURCE PREFIX-LENGTH.
    pub source_prefix: u8,
}

/// The EDNS part of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// Advertised UDP payload size (at least 512).
    pub udp_size: u16,
    /// EDNS version.
    pub version: u8,
    /// DNSSEC OK bit.
    pub dnssec_ok: bool,
    /// An NSID option was present.
    pub nsid: bool,
    /// A Client Subnet option.
    pub ecs: Option<ClientSubnet>,
}

/// A parsed query, borrowing the packet.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// The whole packet.
    pub packet: &'a [u8],
    /// Message ID.
    pub id: u16,
    /// Opcode (0 = QUERY).
    pub opcode: u8,
    /// Recursion desired (echoed).
    pub rd: bool,
    /// Checking disabled (echoed).
    pub cd: bool,
    /// End of the question name in the packet (the name starts at 12).
    pub qname_end: usize,
    /// Lower-cased question name, wire form.
    qname_lower: [u8; MAX_NAME_LEN],
    qname_len: usize,
    /// Question type.
    pub qtype: u16,
    /// Question class.
    pub qclass: u16,
    /// EDNS, if the query had an OPT record.
    pub edns: Option<Edns>,
}

impl Query<'_> {
    /// Lower-cased question name in wire form.
    pub fn qname(&self) -> &[u8] {
        &self.qname_lower[..self.qname_len]
    }
    /// The question section exactly as received (name in its original case, type, class).
    pub fn question_bytes(&self) -> &[u8] {
        &self.packet[12..self.qname_end + 4]
    }
}

/// Why a packet could not be parsed as a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// Not worth a reply: too short for a header, or a response (QR set).
    Drop,
    /// Reply with this rcode; `question` says whether the question parsed (and is echoed).
    Reply {
        /// Message ID.
        id: u16,
        /// Opcode to echo.
        opcode: u8,
        /// RD to echo.
        rd: bool,
        /// FORMERR or NOTIMP.
        rcode: u16,
        /// End of a valid question (to echo), if any.
        question_end: Option<usize>,
        /// Whether the query had a (parseable) OPT record: then the reply carries one too.
        edns: bool,
    },
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

/// Skips a possibly compressed name; returns the offset after it in the packet.
///
/// The name is followed through its compression pointers and must be valid: every pointer
/// goes strictly before the start of the labels it ends (RFC 1035 4.1.4, "a prior
/// occurrence"), so loops and forward pointers are rejected and the walk ends; the whole
/// name is at most 255 octets.
fn skip_name(p: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    let mut segment_start = start;
    let mut end = None;
    let mut name_len = 0;
    loop {
        let len = *p.get(at)?;
        match len {
            0 => {
                name_len += 1;
                return (name_len <= MAX_NAME_LEN).then_some(end.unwrap_or(at + 1));
            }
            1..=63 => {
                name_len += 1 + usize::from(len);
                if name_len > MAX_NAME_LEN {
                    return None;
                }
                at += 1 + usize::from(len);
            }
            0xC0..=0xFF => {
                let target = usize::from(len & 0x3F) << 8 | usize::from(*p.get(at + 1)?);
                if target >= segment_start {
                    return None;
                }
                end.get_or_insert(at + 2);
                segment_start = target;
                at = target;
            }
            _ => return None,
        }
    }
}

/// Parses a DNS query packet.
pub fn parse_query(p: &[u8]) -> Result<Query<'_>, QueryError> {
    if p.len() < 12 {
        return Err(QueryError::Drop);
    }
    let id = u16::from_be_bytes([p[0], p[1]]);
    let flags = u16::from_be_bytes([p[2], p[3]]);
    if flags & 0x8000 != 0 {
        return Err(QueryError::Drop);
    }
    let opcode = ((flags >> 11) & 0xF) as u8;
    let rd = flags & 0x0100 != 0;
    let cd = flags & 0x0010 != 0;
    let qdcount = be16(p, 4).unwrap_or(0);
    let ancount = be16(p, 6).unwrap_or(0);
    let nscount = be16(p, 8).unwrap_or(0);
    let arcount = be16(p, 10).unwrap_or(0);
    let formerr = |question_end: Option<usize>, edns: bool| QueryError::Reply {
        id,
        opcode,
        rd,
        rcode: rcode::FORMERR,
        question_end,
        edns,
    };
    if qdcount != 1 {
        return Err(formerr(None, false));
    }
    // Question name: uncompressed (nothing earlier to point at), lower-cased into a buffer.
    let mut qname_lower = [0u8; MAX_NAME_LEN];
    let mut at = 12;
    let mut out = 0;
    loop {
        let Some(&len) = p.get(at) else {
            return Err(formerr(None, false));
        };
        if len > 63 {
            return Err(formerr(None, false));
        }
        let len = usize::from(len);
        if out + 1 + len > MAX_NAME_LEN {
            return Err(formerr(None, false));
        }
        let Some(label) = p.get(at..at + 1 + len) else {
            return Err(formerr(None, false));
        };
        qname_lower[out] = len as u8;
        for (dst, src) in qname_lower[out + 1..out + 1 + len]
            .iter_mut()
            .zip(&label[1..])
        {
            *dst = src.to_ascii_lowercase();
        }
        out += 1 + len;
        at += 1 + len;
        if len == 0 {
            break;
        }
    }
    let qname_end = at;
    let (Some(qtype), Some(qclass)) = (be16(p, at), be16(p, at + 2)) else {
        return Err(formerr(None, false));
    };
    at += 4;
    // Skip answer and authority records; find the OPT in the additional section.
    let mut edns = None;
    let total = usize::from(ancount) + usize::from(nscount) + usize::from(arcount);
    for index in 0..total {
        let in_additional = index >= usize::from(ancount) + usize::from(nscount);
        let owner_at = at;
        let Some(after_name) = skip_name(p, at) else {
            return Err(formerr(Some(qname_end + 4), edns.is_some()));
        };
        let (Some(t), Some(cls), Some(rdlen)) = (
            be16(p, after_name),
            be16(p, after_name + 2),
            be16(p, after_name + 8),
        ) else {
            return Err(formerr(Some(qname_end + 4), edns.is_some()));
        };
        let rdata_at = after_name + 10;
        let rdata_end = rdata_at + usize::from(rdlen);
        if rdata_end > p.len() {
            return Err(formerr(Some(qname_end + 4), edns.is_some()));
        }
        if t == rtype::OPT {
            // One OPT, in the additional section, owned by the root (RFC 6891 6.1.1).
            if !in_additional || edns.is_some() || p[owner_at] != 0 {
                return Err(formerr(Some(qname_end + 4), false));
            }
            let ttl_hi = p[after_name + 4];
            let _ = ttl_hi; // extended rcode bits of a query are ignored
            let version = p[after_name + 5];
            let dnssec_ok = p[after_name + 6] & 0x80 != 0;
            let mut e = Edns {
                udp_size: cls.max(512),
                version,
                dnssec_ok,
                nsid: false,
                ecs: None,
            };
            if parse_options(&p[rdata_at..rdata_end], &mut e).is_err() {
                return Err(formerr(Some(qname_end + 4), true));
            }
            edns = Some(e);
        }
        at = rdata_end;
    }
    if opcode != 0 {
        return Err(QueryError::Reply {
            id,
            opcode,
            rd,
            rcode: rcode::NOTIMP,
            question_end: Some(qname_end + 4),
            edns: edns.is_some(),
        });
    }
    Ok(Query {
        packet: p,
        id,
        opcode,
        rd,
        cd,
        qname_end,
        qname_lower,
        qname_len: out,
        qtype,
        qclass,
        edns,
    })
}

fn parse_options(mut opts: &[u8], e: &mut Edns) -> Result<(), BadOption> {
    while !opts.is_empty() {
        let code = be16(opts, 0).ok_or(BadOption)?;
        let len = usize::from(be16(opts, 2).ok_or(BadOption)?);
        let data = opts.get(4..4 + len).ok_or(BadOption)?;
        match code {
            OPT_NSID => e.nsid = true,
            OPT_ECS => {
                if e.ecs.is_some() {
                    return Err(BadOption);
                }
                e.ecs = Some(parse_ecs(data)?);
            }
            _ => {}
        }
        opts = &opts[4 + len..];
    }
    Ok(())
}

/// A malformed EDNS option (the query gets FORMERR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadOption;

/// Validates an ECS option (RFC 7871 6 and 7.1.1): known family, source prefix within the
/// family, exactly the address bytes the prefix needs, and no bits set past the prefix.
pub fn parse_ecs(data: &[u8]) -> Result<ClientSubnet, BadOption> {
    let family = be16(data, 0).ok_or(BadOption)?;
    let source_prefix = *data.get(2).ok_or(BadOption)?;
    let _scope = *data.get(3).ok_or(BadOption)?;
    let addr_bytes = &data[4..];
    let max = match family {
        1 => 32,
        2 => 128,
        _ => return Err(BadOption),
    };
    if source_prefix > max {
        return Err(BadOption);
    }
    let needed = usize::from(source_prefix).div_ceil(8);
    if addr_bytes.len() != needed {
        return Err(BadOption);
    }
    if let Some(&last) = addr_bytes.last() {
        let used_bits = source_prefix % 8;
        if used_bits != 0 && last & (0xFF >> used_bits) != 0 {
            return Err(BadOption);
        }
    }
    let addr = if family == 1 {
        let mut b = [0u8; 4];
        b[..needed].copy_from_slice(addr_bytes);
        IpAddr::V4(Ipv4Addr::from(b))
    } else {
        let mut b = [0u8; 16];
        b[..needed].copy_from_slice(addr_bytes);
        IpAddr::V6(Ipv6Addr::from(b))
    };
    Ok(ClientSubnet {
        addr,
        source_prefix,
    })
}

/// Which section a record goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Answer.
    Answer,
    /// Authority.
    Authority,
    /// Additional.
    Additional,
}

/// How to write a record's owner name.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'n> {
    /// The question name (a compression pointer to offset 12).
    Question,
    /// Another name, written in full.
    Name(&'n [u8]),
}

/// Appends a response to a buffer, with a size limit for UDP.
///
/// Answer and authority records that do not fit make the response truncated (TC=1 and every
/// section emptied, per RFC 2181 9 the client retries over TCP); additional records that do
/// not fit are left out.
#[derive(Debug)]
pub struct ResponseWriter<'b> {
    buf: &'b mut Vec<u8>,
    limit: usize,
    counts: [u16; 3],
    truncated: bool,
    question_end: usize,
}

impl<'b> ResponseWriter<'b> {
    /// Starts a response: header copied from the query's ID, QR and AA set as given, question
    /// echoed. `limit` is the largest message allowed (already minus the OPT record's size).
    pub fn new(
        buf: &'b mut Vec<u8>,
        id: u16,
        opcode: u8,
        rd: bool,
        cd: bool,
        question: Option<&[u8]>,
        limit: usize,
    ) -> Self {
        buf.clear();
        let mut flags: u16 = 0x8000 | (u16::from(opcode & 0xF) << 11);
        if rd {
            flags |= 0x0100;
        }
        if cd {
            flags |= 0x0010;
        }
        buf.extend_from_slice(&id.to_be_bytes());
        buf.extend_from_slice(&flags.to_be_bytes());
        buf.extend_from_slice(&[0, u8::from(question.is_some()), 0, 0, 0, 0, 0, 0]);
        if let Some(q) = question {
            buf.extend_from_slice(q);
        }
        let question_end = buf.len();
        Self {
            buf,
            limit,
            counts: [0; 3],
            truncated: false,
            question_end,
        }
    }

    /// Sets the AA bit.
    pub fn set_authoritative(&mut self) {
        self.buf[2] |= 0x04;
    }

    /// Sets the header rcode (low 4 bits).
    pub fn set_rcode(&mut self, rcode: u16) {
        self.buf[3] = (self.buf[3] & 0xF0) | (rcode & 0xF) as u8;
    }

    /// Whether the response was truncated.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Number of records in a section.
    pub fn count(&self, section: Section) -> u16 {
        self.counts[section as usize]
    }

    /// Appends one record. Returns false if it did not fit.
    pub fn push(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> bool {
        self.push_class(section, owner, rtype, class::IN, ttl, rdata)
    }

    /// Appends one record of any class. Returns false if it did not fit.
    pub fn push_class(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        rclass: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> bool {
        if self.truncated {
            return false;
        }
        let owner_len = match owner {
            Owner::Question => 2,
            Owner::Name(n) => n.len(),
        };
        let size = owner_len + 10 + rdata.len();
        if self.buf.len() + size > self.limit {
            if section != Section::Additional {
                self.truncate();
            }
            return false;
        }
        match owner {
            Owner::Question => self.buf.extend_from_slice(&[0xC0, 12]),
            Owner::Name(n) => self.buf.extend_from_slice(n),
        }
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&rclass.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        self.buf
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(rdata);
        self.counts[section as usize] += 1;
        true
    }

    /// Drops every record written and sets TC.
    pub fn truncate(&mut self) {
        self.buf.truncate(self.question_end);
        self.counts = [0; 3];
        self.truncated = true;
        self.buf[2] |= 0x02;
    }

    /// Writes the OPT record (after all other records) and fills in the section counts.
    pub fn finish(self, opt: Option<&OptOut<'_>>) {
        let mut arcount = self.counts[2];
        if let Some(opt) = opt {
            let ext_rcode = opt.ext_rcode;
            self.buf.push(0);
            self.buf.extend_from_slice(&rtype::OPT.to_be_bytes());
            self.buf.extend_from_slice(&opt.udp_size.to_be_bytes());
            self.buf.push(ext_rcode);
            self.buf.push(0); // version 0
            self.buf.push(if opt.dnssec_ok { 0x80 } else { 0 });
            self.buf.push(0);
            let len_at = self.buf.len();
            self.buf.extend_from_slice(&[0, 0]);
            if let Some(nsid) = opt.nsid {
                self.buf.extend_from_slice(&OPT_NSID.to_be_bytes());
                self.buf
                    .extend_from_slice(&(nsid.len() as u16).to_be_bytes());
                self.buf.extend_from_slice(nsid);
            }
            if let Some((ecs, scope)) = opt.ecs {
                let needed = usize::from(ecs.source_prefix).div_ceil(8);
                let (family, bytes): (u16, [u8; 16]) = match ecs.addr {
                    IpAddr::V4(a) => {
                        let mut b = [0u8; 16];
                        b[..4].copy_from_slice(&a.octets());
                        (1, b)
                    }
                    IpAddr::V6(a) => (2, a.octets()),
                };
                self.buf.extend_from_slice(&OPT_ECS.to_be_bytes());
                self.buf
                    .extend_from_slice(&((4 + needed) as u16).to_be_bytes());
                self.buf.extend_from_slice(&family.to_be_bytes());
                self.buf.push(ecs.source_prefix);
                self.buf.push(scope);
                self.buf.extend_from_slice(&bytes[..needed]);
            }
            if let Some(code) = opt.ede {
                self.buf.extend_from_slice(&OPT_EDE.to_be_bytes());
                self.buf.extend_from_slice(&2u16.to_be_bytes());
                self.buf.extend_from_slice(&code.to_be_bytes());
            }
            let rdlen = (self.buf.len() - len_at - 2) as u16;
            self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
            arcount += 1;
        }
        self.buf[6..8].copy_from_slice(&self.counts[0].to_be_bytes());
        self.buf[8..10].copy_from_slice(&self.counts[1].to_be_bytes());
        self.buf[10..12].copy_from_slice(&arcount.to_be_bytes());
    }
}

/// The OPT record of a response.
#[derive(Debug, Clone, Copy)]
pub struct OptOut<'a> {
    /// Our UDP payload size.
    pub udp_size: u16,
    /// Upper 8 bits of the 12-bit rcode.
    pub ext_rcode: u8,
    /// DO bit echoed.
    pub dnssec_ok: bool,
    /// NSID payload to send.
    pub nsid: Option<&'a [u8]>,
    /// ECS echo with its scope prefix.
    pub ecs: Option<(ClientSubnet, u8)>,
    /// Extended DNS Error info code (RFC 8914), without extra text.
    pub ede: Option<u16>,
}

impl OptOut<'_> {
    /// Wire size of this OPT record.
    pub fn wire_len(&self) -> usize {
        let mut len = 11;
        if let Some(n) = self.nsid {
            len += 4 + n.len();
        }
        if let Some((ecs, _)) = self.ecs {
            len += 8 + usize::from(ecs.source_prefix).div_ceil(8);
        }
        if self.ede.is_some() {
            len += 6;
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, opt: Option<&[u8]>) -> Vec<u8> {
        let mut p = vec![
            0x12,
            0x34,
            0x01,
            0x00,
            0,
            1,
            0,
            0,
            0,
            0,
            0,
            u8::from(opt.is_some()),
        ];
        p.extend_from_slice(name);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        if let Some(o) = opt {
            p.extend_from_slice(o);
        }
        p
    }

    fn opt_with(options: &[u8], version: u8) -> Vec<u8> {
        let mut o = vec![0, 0, 41, 0x10, 0x00, 0, version, 0x80, 0];
        o.extend_from_slice(&(options.len() as u16).to_be_bytes());
        o.extend_from_slice(options);
        o
    }

    #[test]
    fn parses_plain_query() {
        let p = query(b"\x03WwW\x07example\x00", rtype::A, None);
        let q = parse_query(&p).unwrap();
        assert_eq!(q.id, 0x1234);
        assert!(q.rd);
        assert_eq!(q.qname(), b"\x03www\x07example\x00");
        assert_eq!(&q.question_bytes()[..4], b"\x03WwW");
        assert_eq!(q.qtype, rtype::A);
        assert!(q.edns.is_none());
    }

    #[test]
    fn parses_edns_and_ecs() {
        let ecs = [0, 8, 0, 7, 0, 1, 24, 0, 81, 2, 69];
        let p = query(b"\x01a\x00", rtype::A, Some(&opt_with(&ecs, 0)));
        let e = parse_query(&p).unwrap().edns.unwrap();
        assert_eq!(e.udp_size, 4096);
        assert!(e.dnssec_ok);
        let ecs = e.ecs.unwrap();
        assert_eq!(ecs.addr, IpAddr::V4(Ipv4Addr::new(81, 2, 69, 0)));
        assert_eq!(ecs.source_prefix, 24);
    }

    #[test]
    fn rejects_bad_ecs() {
        // Prefix 23 with bit 24 set; prefix 33 for IPv4; too many address bytes; family 3.
        for bad in [
            &[0u8, 1, 23, 0, 81, 2, 69][..],
            &[0, 1, 33, 0, 1, 2, 3, 4, 5],
            &[0, 1, 16, 0, 81, 2, 69],
            &[0, 3, 0, 0],
            &[0, 2, 129, 0],
        ] {
            assert!(parse_ecs(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_ecs(&[0, 1, 0, 0]).unwrap().source_prefix, 0);
        assert!(parse_ecs(&[0, 2, 56, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0]).is_ok());
    }

    #[test]
    fn malformed_packets() {
        assert_eq!(parse_query(&[0; 5]).unwrap_err(), QueryError::Drop);
        let mut resp = query(b"\x01a\x00", 1, None);
        resp[2] |= 0x80;
        assert_eq!(parse_query(&resp).unwrap_err(), QueryError::Drop);
        let mut two = query(b"\x01a\x00", 1, None);
        two[5] = 2;
        assert!(matches!(
            parse_query(&two),
            Err(QueryError::Reply { rcode: 1, .. })
        ));
        let cut = query(b"\x05ab\x00", 1, None);
        assert!(matches!(
            parse_query(&cut[..15]),
            Err(QueryError::Reply { rcode: 1, .. })
        ));
        let pointer = query(b"\xC0\x0C", 1, None);
        assert!(matches!(
            parse_query(&pointer),
            Err(QueryError::Reply { rcode: 1, .. })
        ));
        // Two OPT records.
        let mut twice = opt_with(&[], 0);
        twice.extend_from_slice(&opt_with(&[], 0));
        let mut p = query(b"\x01a\x00", 1, Some(&twice));
        p[11] = 2;
        assert!(matches!(
            parse_query(&p),
            Err(QueryError::Reply { rcode: 1, .. })
        ));
    }

    #[test]
    fn record_names_follow_pointers_backwards_only() {
        // Question at 12..19 ("\x01a\x00" + type + class); one additional A record whose
        // owner is the given name bytes, starting at offset 19.
        let with_owner = |owner: &[u8]| {
            let mut p = query(b"\x01a\x00", 1, None);
            p[11] = 1;
            p.extend_from_slice(owner);
            p.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
            p
        };
        assert!(parse_query(&with_owner(&[0xC0, 12])).is_ok());
        assert!(parse_query(&with_owner(b"\x01b\xC0\x0C")).is_ok());
        for bad in [
            &[0xC0u8, 19][..], // itself
            &[0xC0, 21],       // forward
            b"\x01b\xC0\x13",  // a label, then back to that label: a loop
            &[0x80, 12],       // reserved label type
        ] {
            assert!(
                matches!(
                    parse_query(&with_owner(bad)),
                    Err(QueryError::Reply { rcode: 1, .. })
                ),
                "{bad:02x?}"
            );
        }
        // A name over 255 octets through a pointer: 4 labels of 63 at 19, then a label and a
        // pointer back to them.
        let mut p = query(b"\x01a\x00", 1, None);
        p[11] = 2;
        let mut long = Vec::new();
        for _ in 0..3 {
            long.push(63);
            long.extend_from_slice(&[b'x'; 63]);
        }
        long.push(60);
        long.extend_from_slice(&[b'y'; 60]);
        long.push(0);
        assert_eq!(long.len(), 254);
        p.extend_from_slice(&long);
        p.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 0]);
        let ok = p.clone();
        p.extend_from_slice(&[1, b'z', 0xC0, 19]);
        p.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 0]);
        assert!(matches!(
            parse_query(&p),
            Err(QueryError::Reply { rcode: 1, .. })
        ));
        let mut fits = ok.clone();
        fits[11] = 2;
        fits.extend_from_slice(&[0xC0, 19, 0, 1, 0, 1, 0, 0, 0, 60, 0, 0]);
        assert!(parse_query(&fits).is_ok());
    }

    #[test]
    fn writer_truncates() {
        let mut buf = Vec::new();
        let mut w = ResponseWriter::new(
            &mut buf,
            7,
            0,
            true,
            false,
            Some(b"\x01a\x00\x00\x01\x00\x01"),
            40,
        );
        assert!(w.push(Section::Answer, Owner::Question, 1, 60, &[1, 2, 3, 4]));
        assert!(!w.push(Section::Answer, Owner::Question, 1, 60, &[0; 20]));
        assert!(w.is_truncated());
        w.finish(None);
        assert_eq!(buf[2] & 0x02, 0x02);
        assert_eq!(&buf[6..8], &[0, 0]);
    }
}
