//! Query parsing and response writing on raw packets.
//!
//! The hot path never builds a general message object: [`parse_query`] reads the header, the
//! one question and the OPT record (EDNS buffer size, version, DO, NSID, Client Subnet) into a
//! [`Query`] that borrows the packet, and [`ResponseWriter`] appends records to a reusable
//! buffer. RDATA is pre-encoded at load time, so a response is a handful of copies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::compress::{Compressor, CompressorMark, PREPARED_LABELS, Prepared};
use super::cookie::SERVER_COOKIE_LEN;
use super::name::MAX_NAME_LEN;
use super::rdata::Rdata;

pub use super::codes::{class, rcode, rtype};

/// EDNS option codes.
const OPT_NSID: u16 = 3;
const OPT_ECS: u16 = 8;
const OPT_COOKIE: u16 = 10;
const OPT_KEEPALIVE: u16 = 11;
const OPT_EDE: u16 = 15;

/// Extended DNS Error "Not Authoritative" (RFC 8914 4.21).
pub const EDE_NOT_AUTHORITATIVE: u16 = 20;

/// TSIG error "bad key" (RFC 8945 3): the key is not known to the server.
pub const TSIG_BADKEY: u16 = 17;

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
    /// Compact Answers OK bit (RFC 9824 5.1): the client takes NXDOMAIN with a compact
    /// denial proof.
    pub compact_ok: bool,
    /// An NSID option was present.
    pub nsid: bool,
    /// A Client Subnet option.
    pub ecs: Option<ClientSubnet>,
    /// A well-formed COOKIE option (RFC 7873 4): where it lies in the packet.
    pub cookie: Option<CookieAt>,
    /// The edns-tcp-keepalive option (RFC 7828), if present.
    pub keepalive: Option<Keepalive>,
}

/// Where a COOKIE option's data lies in the query packet: the 8-octet client cookie at
/// `at`, followed by `len - 8` octets of server cookie (0, or 8 to 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieAt {
    /// Offset of the option data in the packet.
    pub at: u16,
    /// Option length: 8 (client cookie only) or 16 to 40.
    pub len: u8,
}

impl CookieAt {
    /// The client cookie.
    pub fn client<'p>(&self, packet: &'p [u8]) -> &'p [u8; 8] {
        let at = usize::from(self.at);
        packet[at..at + 8]
            .try_into()
            .expect("parse_query checked the option length")
    }
    /// The server cookie (empty when the client sent none).
    pub fn server<'p>(&self, packet: &'p [u8]) -> &'p [u8] {
        let at = usize::from(self.at);
        &packet[at + 8..at + usize::from(self.len)]
    }
}

/// An edns-tcp-keepalive option in a query (RFC 7828 3.2.1: a client sends it empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keepalive {
    /// Empty, as a client must send it.
    Empty,
    /// With a TIMEOUT value, which a client must not send (FORMERR over TCP).
    WithTimeout,
}

/// A TSIG record at the end of a query (RFC 8945 4.2), as offsets into the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsigAt {
    /// Offset of the key name (the record's owner).
    pub owner_at: usize,
    /// Offset of the RDATA.
    pub rdata_at: usize,
    /// End of the RDATA.
    pub rdata_end: usize,
}

/// The header fields a reply echoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message ID.
    pub id: u16,
    /// Opcode (0 = QUERY).
    pub opcode: u8,
    /// Recursion desired (echoed).
    pub rd: bool,
    /// Checking disabled (echoed).
    pub cd: bool,
}

impl Header {
    /// The header of a scratch message encoded at load time (only its records are kept).
    const LOAD_TIME: Header = Header {
        id: 0,
        opcode: 0,
        rd: false,
        cd: false,
    };
}

/// Where [`parse_query`] puts the lower-cased question name.
pub type QnameBuf = [u8; MAX_NAME_LEN];

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
    /// Lower-cased question name, wire form (in the caller's [`QnameBuf`]).
    qname_lower: &'a [u8],
    /// Question type.
    pub qtype: u16,
    /// Question class.
    pub qclass: u16,
    /// EDNS, if the query had an OPT record.
    pub edns: Option<Edns>,
    /// A TSIG record, last in the additional section (RFC 8945 5.1).
    pub tsig: Option<TsigAt>,
}

impl<'a> Query<'a> {
    /// Lower-cased question name in wire form.
    pub fn qname(&self) -> &'a [u8] {
        self.qname_lower
    }
    /// The question section exactly as received (name in its original case, type, class).
    pub fn question_bytes(&self) -> &'a [u8] {
        &self.packet[12..self.qname_end + 4]
    }
    /// The header fields a reply echoes.
    pub fn header(&self) -> Header {
        Header {
            id: self.id,
            opcode: self.opcode,
            rd: self.rd,
            cd: self.cd,
        }
    }
}

/// Why a packet could not be answered as a normal query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// Not worth a reply: too short for a header, or a response (QR set).
    Drop,
    /// Reply with this rcode and no records (besides an OPT when the query had one).
    Reply {
        /// Header fields to echo.
        header: Header,
        /// FORMERR, NOTIMP, or NOERROR for a COOKIE-only query with no question (RFC 7873
        /// 5.4).
        rcode: u16,
        /// End of a valid question (to echo), if any.
        question_end: Option<usize>,
        /// The query's OPT record, when it had a well-formed one: the reply carries one too
        /// (RFC 6891 6.1.1).
        edns: Option<Edns>,
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
    walk_name(p, start, |_| {})
}

/// Reads a possibly compressed name into `out` (uncompressed wire form, case kept); returns
/// its length in `out` and the offset after it in the packet. Same checks as [`skip_name`].
pub fn read_name(p: &[u8], start: usize, out: &mut [u8; MAX_NAME_LEN]) -> Option<(usize, usize)> {
    let mut len = 0;
    let end = walk_name(p, start, |label| {
        out[len..len + label.len()].copy_from_slice(label);
        len += label.len();
    })?;
    Some((len, end))
}

/// Walks a name, calling `each` with every label (length octet included, the root label
/// last) once the name is known to fit 255 octets so far.
fn walk_name(p: &[u8], start: usize, mut each: impl FnMut(&[u8])) -> Option<usize> {
    let mut at = start;
    let mut segment_start = start;
    let mut end = None;
    let mut name_len = 0;
    loop {
        let len = *p.get(at)?;
        match len {
            0 => {
                name_len += 1;
                if name_len > MAX_NAME_LEN {
                    return None;
                }
                each(&p[at..at + 1]);
                return Some(end.unwrap_or(at + 1));
            }
            1..=63 => {
                name_len += 1 + usize::from(len);
                if name_len > MAX_NAME_LEN {
                    return None;
                }
                each(p.get(at..at + 1 + usize::from(len))?);
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

/// Reads the one question of a query: the name (uncompressed: nothing earlier to point at),
/// lower-cased into `lower`. Returns the name's length and end offset.
///
/// The labels are walked by their length octets only; the name is then copied and
/// lower-cased in one pass (length octets are below 64, never ASCII letters).
fn read_question(p: &[u8], lower: &mut [u8; MAX_NAME_LEN]) -> Option<(usize, usize)> {
    let mut at = 12;
    loop {
        let len = usize::from(*p.get(at)?);
        if len > 63 {
            return None;
        }
        at += 1 + len;
        if at - 12 > MAX_NAME_LEN {
            return None;
        }
        if len == 0 {
            break;
        }
    }
    // Type and class must follow.
    p.get(at..at + 4)?;
    copy_lowercase(&p[12..], at - 12, lower);
    Some((at - 12, at))
}

/// Copies `from[..len]` into `to[..len]` with ASCII letters lower-cased, sixteen octets at
/// a time (one vector operation each) while both have sixteen octets left from there, the
/// rest one by one. `to` past `len` may get lower-cased octets of `from` past `len` (the
/// packet after the name): nobody reads them.
fn copy_lowercase(from: &[u8], len: usize, to: &mut [u8; MAX_NAME_LEN]) {
    let mut at = 0;
    while at < len {
        let (Some(f), Some(t)) = (from.get(at..at + 16), to.get_mut(at..at + 16)) else {
            for (t, f) in to[at..len].iter_mut().zip(&from[at..len]) {
                *t = f.to_ascii_lowercase();
            }
            return;
        };
        let block: [u8; 16] = f.try_into().expect("sixteen octets");
        t.copy_from_slice(&block.map(|c| c.to_ascii_lowercase()));
        at += 16;
    }
}

/// What the record sections of a query hold that matters to us.
#[derive(Debug, Default, PartialEq)]
struct Records {
    edns: Option<Edns>,
    tsig: Option<TsigAt>,
}

/// A malformed record section; `edns` is the OPT record if it parsed before the fault.
#[derive(Debug, PartialEq)]
struct BadRecords {
    edns: Option<Edns>,
}

/// Reads the answer, authority and additional sections from `at` (see
/// [`read_records_general`]), taking the common shapes first: no record at all, or one
/// OPT record owned by the root and nothing else. Any other packet goes the general way,
/// with the same result (the unit tests compare the two on random and mutated packets).
#[inline(always)]
fn read_records(p: &[u8], at: usize, counts: [u16; 3]) -> Result<Records, BadRecords> {
    match counts {
        [0, 0, 0] => Ok(Records::default()),
        [0, 0, 1] => match read_lone_opt(p, at) {
            Some(found) => found,
            None => read_records_general(p, at, counts),
        },
        _ => read_records_general(p, at, counts),
    }
}

/// The one record of the additional section when it is an OPT record owned by the root and
/// lies inside the packet; `None` otherwise (nothing read).
#[inline(always)]
fn read_lone_opt(p: &[u8], at: usize) -> Option<Result<Records, BadRecords>> {
    let head: &[u8; 11] = p.get(at..at + 11)?.try_into().ok()?;
    let rdlen = usize::from(u16::from_be_bytes([head[9], head[10]]));
    if head[0] != 0 || u16::from_be_bytes([head[1], head[2]]) != rtype::OPT {
        return None;
    }
    let rdata_at = at + 11;
    let rdata_end = rdata_at + rdlen;
    if rdata_end > p.len() {
        return None;
    }
    Some(match read_opt(p, head, rdata_at, rdata_end) {
        Ok(e) => Ok(Records {
            edns: Some(e),
            tsig: None,
        }),
        Err(plain) => Err(BadRecords { edns: Some(plain) }),
    })
}

/// Reads an OPT record: `head` from its (root) owner to RDLENGTH, its options in
/// `p[rdata_at..rdata_end]`. A malformed option gives the record without its options
/// (a FORMERR carries an OPT record, RFC 6891 6.1.1).
#[inline]
fn read_opt(p: &[u8], head: &[u8; 11], rdata_at: usize, rdata_end: usize) -> Result<Edns, Edns> {
    // The extended rcode bits of a query are ignored.
    let mut e = Edns {
        udp_size: u16::from_be_bytes([head[3], head[4]]).max(512),
        version: head[6],
        dnssec_ok: head[7] & 0x80 != 0,
        compact_ok: head[7] & 0x40 != 0,
        nsid: false,
        ecs: None,
        cookie: None,
        keepalive: None,
    };
    if rdata_at == rdata_end {
        return Ok(e);
    }
    if parse_options(p, rdata_at, rdata_end, &mut e).is_err() {
        return Err(Edns {
            nsid: false,
            ecs: None,
            cookie: None,
            keepalive: None,
            ..e
        });
    }
    Ok(e)
}

/// Walks the answer, authority and additional sections from `at`: finds the OPT record
/// (one, in the additional section, owned by the root: RFC 6891 6.1.1) and a TSIG record
/// (last in the additional section: RFC 8945 5.1).
#[inline(never)]
fn read_records_general(p: &[u8], mut at: usize, counts: [u16; 3]) -> Result<Records, BadRecords> {
    let mut found = Records::default();
    let [an, ns, ar] = counts.map(usize::from);
    let total = an + ns + ar;
    for index in 0..total {
        let bad = |edns| Err(BadRecords { edns });
        let in_additional = index >= an + ns;
        let owner_at = at;
        let Some(after_name) = skip_name(p, at) else {
            return bad(found.edns);
        };
        let (Some(t), Some(_), Some(rdlen)) = (
            be16(p, after_name),
            be16(p, after_name + 2),
            be16(p, after_name + 8),
        ) else {
            return bad(found.edns);
        };
        let rdata_at = after_name + 10;
        let rdata_end = rdata_at + usize::from(rdlen);
        if rdata_end > p.len() {
            return bad(found.edns);
        }
        match t {
            rtype::OPT => {
                if !in_additional || found.edns.is_some() || p[owner_at] != 0 {
                    return bad(None);
                }
                let head = p[owner_at..rdata_at]
                    .try_into()
                    .expect("a root owner and ten octets");
                match read_opt(p, head, rdata_at, rdata_end) {
                    Ok(e) => found.edns = Some(e),
                    Err(plain) => return bad(Some(plain)),
                }
            }
            rtype::TSIG => {
                if index + 1 != total || !in_additional {
                    return bad(found.edns);
                }
                found.tsig = Some(TsigAt {
                    owner_at,
                    rdata_at,
                    rdata_end,
                });
            }
            _ => {}
        }
        at = rdata_end;
    }
    Ok(found)
}

/// Parses a DNS query packet.
///
/// Order of checks: header (too short or QR set: drop) → question (QDCOUNT 1, else the
/// questions are skipped) → records (OPT, TSIG) → opcode (anything but QUERY: NOTIMP,
/// whatever QDCOUNT says) → QDCOUNT other than 1: FORMERR, except a query with no question
/// and a COOKIE option, which gets NOERROR (RFC 7873 5.4). Every reply to a query with a
/// well-formed OPT record carries an OPT record (RFC 6891 6.1.1).
///
/// The lower-cased question name goes to `qname` (the caller's buffer, so that the query
/// stays small to move around and nothing is allocated).
pub fn parse_query<'a>(p: &'a [u8], qname: &'a mut QnameBuf) -> Result<Query<'a>, QueryError> {
    if p.len() < 12 {
        return Err(QueryError::Drop);
    }
    let flags = u16::from_be_bytes([p[2], p[3]]);
    if flags & 0x8000 != 0 {
        return Err(QueryError::Drop);
    }
    let header = Header {
        id: u16::from_be_bytes([p[0], p[1]]),
        opcode: ((flags >> 11) & 0xF) as u8,
        rd: flags & 0x0100 != 0,
        cd: flags & 0x0010 != 0,
    };
    let count = |at| u16::from_be_bytes([p[at], p[at + 1]]);
    let qdcount = count(4);
    let counts = [count(6), count(8), count(10)];
    let reply = |rcode, question_end, edns| QueryError::Reply {
        header,
        rcode,
        question_end,
        edns,
    };
    // A fault before the records leaves no OPT to find: FORMERR (NOTIMP for another
    // opcode), bare.
    let early = if header.opcode == 0 {
        rcode::FORMERR
    } else {
        rcode::NOTIMP
    };
    let (question, records_at) = if qdcount == 1 {
        let Some((len, name_end)) = read_question(p, qname) else {
            return Err(reply(early, None, None));
        };
        (Some((len, name_end)), name_end + 4)
    } else {
        let mut at = 12;
        for _ in 0..qdcount {
            let Some(end) = skip_name(p, at).filter(|end| end + 4 <= p.len()) else {
                return Err(reply(early, None, None));
            };
            at = end + 4;
        }
        (None, at)
    };
    let question_end = question.map(|(_, name_end)| name_end + 4);
    let records = match read_records(p, records_at, counts) {
        Ok(r) => r,
        Err(BadRecords { edns }) => return Err(reply(early, question_end, edns)),
    };
    if header.opcode != 0 {
        return Err(reply(rcode::NOTIMP, question_end, records.edns));
    }
    let Some((qname_len, qname_end)) = question else {
        let cookie_only = qdcount == 0 && records.edns.is_some_and(|e| e.cookie.is_some());
        let rcode = if cookie_only {
            rcode::NOERROR
        } else {
            rcode::FORMERR
        };
        return Err(reply(rcode, None, records.edns));
    };
    Ok(Query {
        packet: p,
        id: header.id,
        opcode: header.opcode,
        rd: header.rd,
        cd: header.cd,
        qname_end,
        qname_lower: &qname[..qname_len],
        qtype: count(qname_end),
        qclass: count(qname_end + 2),
        edns: records.edns,
        tsig: records.tsig,
    })
}

/// Reads the options of an OPT record (`p[at..end]`).
fn parse_options(p: &[u8], mut at: usize, end: usize, e: &mut Edns) -> Result<(), BadOption> {
    while at < end {
        let code = be16(p, at).ok_or(BadOption)?;
        let len = usize::from(be16(p, at + 2).ok_or(BadOption)?);
        let data_at = at + 4;
        if data_at + len > end {
            return Err(BadOption);
        }
        let data = &p[data_at..data_at + len];
        match code {
            OPT_NSID => e.nsid = true,
            OPT_ECS => {
                if e.ecs.is_some() {
                    return Err(BadOption);
                }
                e.ecs = Some(parse_ecs(data)?);
            }
            OPT_COOKIE => {
                // RFC 7873 5.2.2: a client cookie of 8 octets, then no server cookie or one
                // of 8 to 32 octets; anything else is malformed. One COOKIE option only.
                if e.cookie.is_some() || !(len == 8 || (16..=40).contains(&len)) {
                    return Err(BadOption);
                }
                e.cookie = Some(CookieAt {
                    at: u16::try_from(data_at).map_err(|_| BadOption)?,
                    len: len as u8,
                });
            }
            OPT_KEEPALIVE => {
                e.keepalive = Some(if len == 0 {
                    Keepalive::Empty
                } else {
                    Keepalive::WithTimeout
                });
            }
            _ => {}
        }
        at = data_at + len;
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

/// What to do when a record set does not fit the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Truncate: drop every record, set TC (answer and authority data, and glue a referral
    /// needs, RFC 9471).
    Truncate,
    /// Leave the set out, whole; TC stays clear (additional data, RFC 2181 9).
    Omit,
}

impl Section {
    /// The usual overflow rule of the section: additional data may be left out, the rest
    /// truncates.
    pub fn overflow(self) -> Overflow {
        match self {
            Self::Additional => Overflow::Omit,
            Self::Answer | Self::Authority => Overflow::Truncate,
        }
    }
}

/// How to write a record's owner name.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'n> {
    /// The question name (a compression pointer to offset 12).
    Question,
    /// Another name (uncompressed wire form, any case), compressed against the message.
    Name(&'n [u8]),
    /// A name already in the message at this offset (below 0x4000): a pointer to it.
    At(u16),
}

/// A point in a response to return to: records written after it can be taken back whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    len: usize,
    counts: [u16; 3],
    names: Option<CompressorMark>,
    question_known: bool,
    prepared_at: usize,
}

/// Appends a response to a buffer, with a size limit for UDP and name compression.
///
/// Every record goes through one path: written (names compressed, RFC 1035 4.1.4), then
/// checked against the limit. A set that does not fit is taken back whole (never a partial
/// RRset, RFC 2181 5.1), then, by its [`Overflow`] rule, either left out or the response
/// truncated (TC=1 and every section emptied: the client retries over TCP).
///
/// Records can be appended with computed RDATA ([`push`](Self::push)), with RDATA whose
/// names compress ([`push_rdata`](Self::push_rdata), [`push_name`](Self::push_name)), or
/// as whole RRsets ([`push_rrset`](Self::push_rrset)); [`mark`](Self::mark),
/// [`fits`](Self::fits) and [`rollback`](Self::rollback) group any records (an RRset and its
/// signatures) into one all-or-nothing unit.
#[derive(Debug)]
pub struct ResponseWriter<'b> {
    buf: &'b mut Vec<u8>,
    limit: usize,
    counts: [u16; 3],
    truncated: bool,
    question_end: usize,
    /// The compression table, made (and zeroed) when the first name is compressed: most
    /// answers compress none.
    names: Option<Compressor>,
    /// Whether the question name is in `names` yet (added at the first compressed name, so
    /// answers that compress nothing pay nothing).
    question_known: bool,
    /// Where a prepared record starts (0: none), whose labels `prepared_labels` go into
    /// `names` after the question's, when a name is first compressed.
    prepared_at: usize,
    /// The labels of the prepared record (offset in it, name length) and how many; set by
    /// [`push_prepared`](Self::push_prepared).
    prepared_labels: Option<([(u16, u8); PREPARED_LABELS], u8)>,
}

impl<'b> ResponseWriter<'b> {
    /// Starts a response: header copied from the query's ID, QR and AA set as given, question
    /// echoed. `limit` is the largest message allowed (already minus the OPT record's size).
    #[inline]
    pub fn new(
        buf: &'b mut Vec<u8>,
        header: Header,
        question: Option<&[u8]>,
        limit: usize,
    ) -> Self {
        buf.clear();
        let mut flags: u16 = 0x8000 | (u16::from(header.opcode & 0xF) << 11);
        if header.rd {
            flags |= 0x0100;
        }
        // CD is defined for QUERY only: a reply to another opcode does not echo it (as Knot;
        // ISC's genreport `opcodeflg`).
        if header.cd && header.opcode == 0 {
            flags |= 0x0010;
        }
        // The header in one append: ID, flags, QDCOUNT, and the other counts (filled in by
        // `finish`).
        let [id_hi, id_lo] = header.id.to_be_bytes();
        let [flags_hi, flags_lo] = flags.to_be_bytes();
        let qdcount = u8::from(question.is_some());
        buf.extend_from_slice(&[
            id_hi, id_lo, flags_hi, flags_lo, 0, qdcount, 0, 0, 0, 0, 0, 0,
        ]);
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
            names: None,
            question_known: false,
            prepared_at: 0,
            prepared_labels: None,
        }
    }

    /// Sets the AA bit.
    #[inline]
    pub fn set_authoritative(&mut self) {
        self.buf[2] |= 0x04;
    }

    /// Clears the AA bit (a referral).
    #[inline]
    pub fn clear_authoritative(&mut self) {
        self.buf[2] &= !0x04;
    }

    /// Sets the header rcode (low 4 bits).
    #[inline]
    pub fn set_rcode(&mut self, rcode: u16) {
        self.buf[3] = (self.buf[3] & 0xF0) | (rcode & 0xF) as u8;
    }

    /// Whether the response was truncated.
    #[inline]
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Number of records in a section.
    #[inline]
    pub fn count(&self, section: Section) -> u16 {
        self.counts[section as usize]
    }

    /// Size of the message so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing but the header and question is written.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.len() == self.question_end
    }

    /// The current point, to return to with [`rollback`](Self::rollback).
    #[inline]
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.buf.len(),
            counts: self.counts,
            names: self.names.as_ref().map(Compressor::mark),
            question_known: self.question_known,
            prepared_at: self.prepared_at,
        }
    }

    /// Takes back every record written after `mark`.
    pub fn rollback(&mut self, mark: Mark) {
        self.buf.truncate(mark.len);
        self.counts = mark.counts;
        if let Some(names) = &mut self.names {
            match mark.names {
                Some(to) => names.rollback(to),
                None => names.clear(),
            }
        }
        self.question_known = mark.question_known;
        self.prepared_at = mark.prepared_at;
    }

    /// The size check, in one place: whether what was written since `mark` fits the limit.
    /// If not, it is taken back and, for [`Overflow::Truncate`], the response truncated.
    #[inline]
    pub fn fits(&mut self, mark: Mark, overflow: Overflow) -> bool {
        if self.buf.len() <= self.limit {
            return true;
        }
        self.rollback(mark);
        if overflow == Overflow::Truncate {
            self.truncate();
        }
        false
    }

    /// Appends one record with computed RDATA (no compressible names in it). Returns false
    /// if it did not fit (see [`fits`](Self::fits)).
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

    /// Appends one record of any class, RDATA as given. Returns false if it did not fit.
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
        let mark = self.mark();
        let rdlen_at = self.write_head(section, owner, rtype, rclass, ttl);
        self.buf.extend_from_slice(rdata);
        self.end_record(rdlen_at);
        self.fits(mark, section.overflow())
    }

    /// Appends one record whose RDATA may hold compressible names. Returns false if it did
    /// not fit.
    pub fn push_rdata(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        ttl: u32,
        rdata: &Rdata,
    ) -> bool {
        if self.truncated {
            return false;
        }
        let mark = self.mark();
        self.write_record(section, owner, rtype, ttl, rdata);
        self.fits(mark, section.overflow())
    }

    /// Appends one record whose RDATA is one compressible name (CNAME, NS, PTR; `name` in
    /// uncompressed wire form). Returns false if it did not fit.
    pub fn push_name(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        ttl: u32,
        name: &[u8],
    ) -> bool {
        if self.truncated {
            return false;
        }
        let mark = self.mark();
        let rdlen_at = self.write_head(section, owner, rtype, class::IN, ttl);
        self.write_name(name);
        self.end_record(rdlen_at);
        self.fits(mark, section.overflow())
    }

    /// Appends a whole RRset, or none of it (RFC 2181 5.1). Returns false if it did not fit;
    /// then `overflow` says whether the response was truncated.
    pub fn push_rrset(
        &mut self,
        section: Section,
        overflow: Overflow,
        owner: Owner<'_>,
        rtype: u16,
        ttl: u32,
        rdatas: &[Rdata],
    ) -> bool {
        if self.truncated {
            return false;
        }
        let mark = self.mark();
        let owner_at = self.buf.len();
        let mut owner = owner;
        for (i, rdata) in rdatas.iter().enumerate() {
            self.write_record(section, owner, rtype, ttl, rdata);
            if i == 0 {
                // Later records of the set point at the first one's owner: its first two
                // octets when it was written as a pointer, else its start.
                owner = self.same_owner(owner, owner_at);
            }
        }
        self.fits(mark, overflow)
    }

    /// Encodes one record (owner `owner`, RDATA `rdata`, uncompressed names) as this writer
    /// writes it right after the question `base` with nothing else in the message, for
    /// [`push_prepared`](Self::push_prepared) after any question ending in `base`. Load
    /// time; `None` when it cannot be prepared (the general path then writes it).
    pub fn prepare(
        base: &[u8],
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdata: &Rdata,
    ) -> Option<Prepared> {
        let mut question = base.to_vec();
        question.extend_from_slice(&[0, 1, 0, 1]);
        let mut buf = Vec::new();
        let mut w = ResponseWriter::new(&mut buf, Header::LOAD_TIME, Some(&question), usize::MAX);
        w.write_record(Section::Answer, Owner::Name(owner), rtype, ttl, rdata);
        let start = w.question_end;
        let labels: Vec<(u16, u8)> = w
            .names
            .iter()
            .flat_map(Compressor::entries)
            .filter(|&(at, _)| usize::from(at) >= start)
            .map(|(at, len)| (at - start as u16, len))
            .collect();
        let record = buf.get(start..)?.to_vec();
        // The pointers: walk the owner, then each name of the RDATA (the bytes between names
        // are copied as they are).
        let mut pointers = Vec::new();
        let mut walk = |mut at: usize| -> Option<usize> {
            loop {
                let b = *record.get(at)?;
                if b >= 0xC0 {
                    pointers.push(u16::try_from(at).ok()?);
                    return Some(at + 2);
                }
                at += 1 + usize::from(b);
                if b == 0 {
                    return Some(at);
                }
            }
        };
        let mut at = walk(0)? + 10;
        let bytes = rdata.bytes();
        let mut names: Vec<&[u8]> = vec![owner];
        let mut copied = 0;
        for &name_at in rdata.names() {
            let name_at = usize::from(name_at);
            at = walk(at + name_at - copied)?;
            let len = wire_name_len(&bytes[name_at..]);
            names.push(&bytes[name_at..name_at + len]);
            copied = name_at + len;
        }
        if at + bytes.len() - copied != record.len() {
            return None;
        }
        Prepared::new(base, record, pointers, labels, &names)
    }

    /// Encodes an RRset owned by the question name as [`push_rrset`](Self::push_rrset)
    /// writes it (every owner a pointer to offset 12), for
    /// [`push_at_question`](Self::push_at_question). Load time; `None` for an empty set, or
    /// one whose RDATA holds compressible names (they depend on the message).
    pub fn prepare_at_question(rtype: u16, ttl: u32, rdatas: &[Rdata]) -> Option<Box<[u8]>> {
        if rdatas.is_empty() || rdatas.iter().any(|r| !r.names().is_empty()) {
            return None;
        }
        let question = b"\x00\x00\x01\x00\x01";
        let mut buf = Vec::new();
        let mut w = ResponseWriter::new(&mut buf, Header::LOAD_TIME, Some(question), usize::MAX);
        w.push_rrset(
            Section::Answer,
            Overflow::Truncate,
            Owner::Question,
            rtype,
            ttl,
            rdatas,
        );
        let start = w.question_end;
        u16::try_from(rdatas.len()).ok()?;
        Some(buf[start..].into())
    }

    /// Appends an RRset of `count` records prepared by
    /// [`prepare_at_question`](Self::prepare_at_question): the same bytes as
    /// [`push_rrset`](Self::push_rrset) with [`Owner::Question`], in one copy. Returns false
    /// if it did not fit; then `overflow` says whether the response was truncated.
    pub fn push_at_question(
        &mut self,
        section: Section,
        overflow: Overflow,
        prepared: &[u8],
        count: usize,
    ) -> bool {
        if self.truncated {
            return false;
        }
        debug_assert!(
            self.counts[section as usize + 1..].iter().all(|&c| c == 0),
            "records are written section by section: answer, authority, additional"
        );
        let mark = self.mark();
        self.buf.extend_from_slice(prepared);
        self.counts[section as usize] += count as u16;
        self.fits(mark, overflow)
    }

    /// Appends a record prepared by [`prepare`](Self::prepare), when the message holds
    /// nothing but the header and the question `qname` (the question name in lower case)
    /// and the record applies to that question: then the same bytes, names and table as the
    /// general path, and whether it fit (see [`fits`](Self::fits)). `None`, with nothing
    /// written: the caller writes the record through the general path.
    pub fn push_prepared(
        &mut self,
        section: Section,
        prepared: &Prepared,
        qname: &[u8],
    ) -> Option<bool> {
        if self.truncated
            || self.question_known
            || self.buf.len() != self.question_end
            || self.counts != [0; 3]
            || qname.len() + 12 + 4 != self.question_end
        {
            return None;
        }
        let shift = prepared.shift_for(qname)?;
        let mark = self.mark();
        let start = self.buf.len();
        self.buf.extend_from_slice(&prepared.bytes);
        for &p in &prepared.pointers {
            let at = start + usize::from(p);
            let target = u16::from_be_bytes([self.buf[at], self.buf[at + 1]]) + shift as u16;
            self.buf[at..at + 2].copy_from_slice(&target.to_be_bytes());
        }
        // What the general path leaves in the table (the question, then the record's labels)
        // goes in when a name is first compressed, if ever.
        self.prepared_at = start;
        let mut labels = [(0, 0); PREPARED_LABELS];
        labels[..prepared.labels.len()].copy_from_slice(&prepared.labels);
        self.prepared_labels = Some((labels, prepared.labels.len() as u8));
        self.counts[section as usize] += 1;
        Some(self.fits(mark, section.overflow()))
    }

    /// The owner for the records after the first of a set whose first owner was written at
    /// `owner_at`: a pointer to it (or to where its pointer led).
    fn same_owner<'n>(&self, owner: Owner<'n>, owner_at: usize) -> Owner<'n> {
        let Owner::Name(_) = owner else {
            return owner;
        };
        let b = self.buf[owner_at];
        let target = if b >= 0xC0 {
            usize::from(b & 0x3F) << 8 | usize::from(self.buf[owner_at + 1])
        } else {
            owner_at
        };
        // Past pointer range (a large TCP message) the name is written again, compressed
        // as well as the table allows.
        u16::try_from(target)
            .ok()
            .filter(|&t| t <= 0x3FFF)
            .map_or(owner, Owner::At)
    }

    /// Writes owner, type, class, TTL and a placeholder RDLENGTH; returns where RDLENGTH is.
    fn write_head(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        rclass: u16,
        ttl: u32,
    ) -> usize {
        // Owner pointer (if any), type, class, TTL and RDLENGTH in one append.
        let mut head = [0u8; 12];
        let from = match owner {
            Owner::Question => {
                head[..2].copy_from_slice(&[0xC0, 12]);
                0
            }
            Owner::At(t) => {
                head[..2].copy_from_slice(&(0xC000 | t).to_be_bytes());
                0
            }
            Owner::Name(n) => {
                self.write_name(n);
                2
            }
        };
        head[2..4].copy_from_slice(&rtype.to_be_bytes());
        head[4..6].copy_from_slice(&rclass.to_be_bytes());
        head[6..10].copy_from_slice(&ttl.to_be_bytes());
        self.buf.extend_from_slice(&head[from..]);
        let rdlen_at = self.buf.len() - 2;
        debug_assert!(
            self.counts[section as usize + 1..].iter().all(|&c| c == 0),
            "records are written section by section: answer, authority, additional"
        );
        self.counts[section as usize] += 1;
        rdlen_at
    }

    /// Writes a name, compressed against the question and every name written so far.
    fn write_name(&mut self, name: &[u8]) {
        let names = self.names.get_or_insert_with(Compressor::new);
        if !self.question_known {
            self.question_known = true;
            // The question name, uncompressed at 12 (its type and class end the section).
            if self.question_end > 12 + 4 {
                names.remember(&self.buf[12..self.question_end - 4], 12);
            }
            if self.prepared_at != 0
                && let Some((labels, len)) = &self.prepared_labels
            {
                for &(at, len) in &labels[..usize::from(*len)] {
                    names.add(self.prepared_at + usize::from(at), usize::from(len));
                }
            }
        }
        names.write(self.buf, name);
    }

    /// Fills in RDLENGTH for the record whose RDLENGTH is at `rdlen_at`.
    fn end_record(&mut self, rdlen_at: usize) {
        let rdlen = (self.buf.len() - rdlen_at - 2) as u16;
        self.buf[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    }

    /// Writes one record, compressing the names the RDATA marks as compressible.
    fn write_record(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        ttl: u32,
        rdata: &Rdata,
    ) {
        let rdlen_at = self.write_head(section, owner, rtype, class::IN, ttl);
        let bytes = rdata.bytes();
        let mut at = 0;
        for &name_at in rdata.names() {
            let name_at = usize::from(name_at);
            self.buf.extend_from_slice(&bytes[at..name_at]);
            let name_len = wire_name_len(&bytes[name_at..]);
            self.write_name(&bytes[name_at..name_at + name_len]);
            at = name_at + name_len;
        }
        self.buf.extend_from_slice(&bytes[at..]);
        self.end_record(rdlen_at);
    }

    /// Drops every record written and sets TC.
    pub fn truncate(&mut self) {
        self.buf.truncate(self.question_end);
        self.counts = [0; 3];
        if let Some(names) = &mut self.names {
            names.clear();
        }
        self.question_known = false;
        self.prepared_at = 0;
        self.truncated = true;
        self.buf[2] |= 0x02;
    }

    /// Writes the OPT record (after all other records) and fills in the section counts.
    #[inline(always)]
    pub fn finish(self, opt: Option<&OptOut<'_>>) {
        // The writer is large (the compression table): only the buffer and the counts are
        // handed on, so that it is not copied into another call.
        end(self.buf, self.counts, opt, None);
    }

    /// [`finish`](Self::finish), then appends `last`, a whole encoded record that must come
    /// after the OPT record (a TSIG record, RFC 8945 5.1), counted in the additional section.
    #[inline(always)]
    pub fn finish_with(self, opt: Option<&OptOut<'_>>, last: Option<&[u8]>) {
        end(self.buf, self.counts, opt, last);
    }
}

/// Ends a message in `buf` holding `counts` records: the OPT record, then `last`, then the
/// section counts in the header.
fn end(buf: &mut Vec<u8>, counts: [u16; 3], opt: Option<&OptOut<'_>>, last: Option<&[u8]>) {
    let mut arcount = counts[2];
    if let Some(opt) = opt {
        write_opt(buf, opt);
        arcount += 1;
    }
    if let Some(record) = last {
        buf.extend_from_slice(record);
        arcount += 1;
    }
    let [[an_hi, an_lo], [ns_hi, ns_lo], [ar_hi, ar_lo]] =
        [counts[0], counts[1], arcount].map(u16::to_be_bytes);
    buf[6..12].copy_from_slice(&[an_hi, an_lo, ns_hi, ns_lo, ar_hi, ar_lo]);
}

/// Most octets of the options after NSID: ECS (IPv6, /128), COOKIE, keepalive and EDE.
const MAX_FIXED_OPTIONS: usize = (4 + 4 + 16) + (4 + 8 + SERVER_COOKIE_LEN) + 6 + 6;

/// Appends an OPT record: the options other than NSID are gathered on the stack first, so
/// that the record goes out in at most three appends (head, NSID, the rest).
fn write_opt(buf: &mut Vec<u8>, opt: &OptOut<'_>) {
    let mut rest = [0u8; MAX_FIXED_OPTIONS];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        rest[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
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
        let [code_hi, code_lo] = OPT_ECS.to_be_bytes();
        let [len_hi, len_lo] = ((4 + needed) as u16).to_be_bytes();
        let [family_hi, family_lo] = family.to_be_bytes();
        put(&[
            code_hi,
            code_lo,
            len_hi,
            len_lo,
            family_hi,
            family_lo,
            ecs.source_prefix,
            scope,
        ]);
        put(&bytes[..needed]);
    }
    if let Some(cookie) = &opt.cookie {
        put(&OPT_COOKIE.to_be_bytes());
        put(&((8 + SERVER_COOKIE_LEN) as u16).to_be_bytes());
        put(&cookie.client);
        put(&cookie.server);
    }
    if let Some(timeout) = opt.keepalive {
        let [code_hi, code_lo] = OPT_KEEPALIVE.to_be_bytes();
        let [t_hi, t_lo] = timeout.to_be_bytes();
        put(&[code_hi, code_lo, 0, 2, t_hi, t_lo]);
    }
    if let Some(code) = opt.ede {
        let [opt_hi, opt_lo] = OPT_EDE.to_be_bytes();
        let [code_hi, code_lo] = code.to_be_bytes();
        put(&[opt_hi, opt_lo, 0, 2, code_hi, code_lo]);
    }
    let nsid_len = opt.nsid.map_or(0, |n| 4 + n.len());
    // Root owner, type, UDP size, extended rcode, version 0, flags (DO, CO), RDLENGTH.
    let [type_hi, type_lo] = rtype::OPT.to_be_bytes();
    let [size_hi, size_lo] = opt.udp_size.to_be_bytes();
    let flags = if opt.dnssec_ok { 0x80 } else { 0 } | if opt.compact_ok { 0x40 } else { 0 };
    let [rdlen_hi, rdlen_lo] = ((nsid_len + len) as u16).to_be_bytes();
    buf.extend_from_slice(&[
        0,
        type_hi,
        type_lo,
        size_hi,
        size_lo,
        opt.ext_rcode,
        0,
        flags,
        0,
        rdlen_hi,
        rdlen_lo,
    ]);
    if let Some(nsid) = opt.nsid {
        let [code_hi, code_lo] = OPT_NSID.to_be_bytes();
        let [len_hi, len_lo] = (nsid.len() as u16).to_be_bytes();
        buf.extend_from_slice(&[code_hi, code_lo, len_hi, len_lo]);
        buf.extend_from_slice(nsid);
    }
    if len > 0 {
        buf.extend_from_slice(&rest[..len]);
    }
}

/// Length of the uncompressed wire name at the start of `bytes` (RDATA built at load time,
/// so well-formed; a malformed one counts to the end of `bytes`).
fn wire_name_len(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(&len) = bytes.get(i) {
        i += 1 + usize::from(len);
        if len == 0 {
            return i;
        }
    }
    bytes.len()
}

/// The COOKIE option of a response: the client's cookie and our server cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieOut {
    /// The client cookie, echoed.
    pub client: [u8; 8],
    /// Our server cookie (RFC 9018).
    pub server: [u8; SERVER_COOKIE_LEN],
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
    /// Compact Answers OK bit (RFC 9824 5.1), set in answers to queries that set it (with
    /// DO) from a signed zone.
    pub compact_ok: bool,
    /// NSID payload to send.
    pub nsid: Option<&'a [u8]>,
    /// ECS echo with its scope prefix.
    pub ecs: Option<(ClientSubnet, u8)>,
    /// Extended DNS Error info code (RFC 8914), without extra text.
    pub ede: Option<u16>,
    /// COOKIE option (RFC 7873 5.2).
    pub cookie: Option<CookieOut>,
    /// edns-tcp-keepalive TIMEOUT, in units of 100 ms (RFC 7828 3.3.2).
    pub keepalive: Option<u16>,
}

impl OptOut<'_> {
    /// An OPT record with our UDP size, the DO bit as given, and no options.
    pub fn plain(dnssec_ok: bool) -> Self {
        Self {
            udp_size: MAX_UDP_PAYLOAD,
            ext_rcode: 0,
            dnssec_ok,
            compact_ok: false,
            nsid: None,
            ecs: None,
            ede: None,
            cookie: None,
            keepalive: None,
        }
    }

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
        if self.cookie.is_some() {
            len += 4 + 8 + SERVER_COOKIE_LEN;
        }
        if self.keepalive.is_some() {
            len += 6;
        }
        len
    }
}

#[cfg(test)]
mod fast_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// [`super::parse_query`] with a name buffer of its own (leaked: tests only).
    fn parse_query(p: &[u8]) -> Result<Query<'_>, QueryError> {
        super::parse_query(p, Box::leak(Box::new([0; MAX_NAME_LEN])))
    }

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

    /// The rcode, echoed question end and OPT presence of a rejected packet.
    fn rejected(p: &[u8]) -> (u16, Option<usize>, bool) {
        match parse_query(p) {
            Err(QueryError::Reply {
                rcode,
                question_end,
                edns,
                ..
            }) => (rcode, question_end, edns.is_some()),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn unknown_opcode_is_notimp_whatever_the_question_count() {
        let opt = opt_with(&[], 0);
        for qdcount in [0u8, 1, 2] {
            let mut p = query(b"\x01a\x00", rtype::A, Some(&opt));
            if qdcount == 2 {
                // A second question, compressed to the first.
                let at = 12 + 3 + 4;
                p.splice(at..at, [0xC0, 12, 0, 1, 0, 1]);
            }
            if qdcount == 0 {
                p.drain(12..12 + 3 + 4);
            }
            p[5] = qdcount;
            p[2] |= 2 << 3; // opcode STATUS
            let (rcode, question_end, edns) = rejected(&p);
            assert_eq!(rcode, rcode::NOTIMP, "QDCOUNT {qdcount}");
            assert_eq!(question_end.is_some(), qdcount == 1, "QDCOUNT {qdcount}");
            assert!(edns, "QDCOUNT {qdcount}: the OPT record is found");
        }
        // A question that does not parse: still NOTIMP, bare.
        let mut broken = query(b"\x05ab\x00", 1, None);
        broken[2] |= 4 << 3; // NOTIFY
        assert_eq!(rejected(&broken[..14]), (rcode::NOTIMP, None, false));
    }

    #[test]
    fn formerr_to_a_query_with_an_opt_carries_an_opt() {
        let opt = opt_with(&[], 0);
        let mut p = query(b"\x01a\x00", rtype::A, Some(&opt));
        p.drain(12..12 + 3 + 4);
        p[5] = 0;
        assert_eq!(rejected(&p), (rcode::FORMERR, None, true));
        // Two questions.
        let mut two = query(b"\x01a\x00", rtype::A, Some(&opt));
        two.splice(19..19, [0xC0, 12, 0, 1, 0, 1]);
        two[5] = 2;
        assert_eq!(rejected(&two), (rcode::FORMERR, None, true));
        // A malformed option inside a well-formed OPT: FORMERR with an OPT.
        let bad_ecs = opt_with(&[0, 8, 0, 3, 0, 1, 24], 0);
        let p = query(b"\x01a\x00", rtype::A, Some(&bad_ecs));
        assert_eq!(rejected(&p), (rcode::FORMERR, Some(19), true));
        // No OPT: none in the reply.
        let mut bare = query(b"\x01a\x00", rtype::A, None);
        bare.drain(12..19);
        bare[5] = 0;
        assert_eq!(rejected(&bare), (rcode::FORMERR, None, false));
    }

    #[test]
    fn cookie_options() {
        let with_cookie = |len: usize| {
            let mut o = vec![0, 10];
            o.extend_from_slice(&(len as u16).to_be_bytes());
            o.extend((0..len).map(|i| i as u8));
            query(b"\x01a\x00", rtype::A, Some(&opt_with(&o, 0)))
        };
        for len in [8, 16, 24, 40] {
            let p = with_cookie(len);
            let q = parse_query(&p).unwrap();
            let c = q.edns.unwrap().cookie.unwrap();
            assert_eq!(c.client(&p), &[0, 1, 2, 3, 4, 5, 6, 7]);
            assert_eq!(c.server(&p).len(), len - 8);
            if len > 8 {
                assert_eq!(c.server(&p)[0], 8);
            }
        }
        for len in [0, 7, 9, 15, 41] {
            assert_eq!(
                rejected(&with_cookie(len)),
                (rcode::FORMERR, Some(19), true),
                "cookie option of {len} octets"
            );
        }
        // No question, a COOKIE: NOERROR (RFC 7873 5.4); no question and no cookie: FORMERR.
        let mut p = with_cookie(8);
        p.drain(12..19);
        p[5] = 0;
        assert_eq!(rejected(&p), (rcode::NOERROR, None, true));
    }

    #[test]
    fn keepalive_option() {
        let p = query(b"\x01a\x00", 1, Some(&opt_with(&[0, 11, 0, 0], 0)));
        assert_eq!(
            parse_query(&p).unwrap().edns.unwrap().keepalive,
            Some(Keepalive::Empty)
        );
        let p = query(b"\x01a\x00", 1, Some(&opt_with(&[0, 11, 0, 2, 0, 100], 0)));
        assert_eq!(
            parse_query(&p).unwrap().edns.unwrap().keepalive,
            Some(Keepalive::WithTimeout)
        );
    }

    #[test]
    fn tsig_must_be_last() {
        // key "k." hmac-sha256., time, fudge, MAC of 4, original id, no error, no other.
        let mut tsig = b"\x01k\x00\x00\xfa\x00\xff\x00\x00\x00\x00".to_vec();
        let mut rdata = b"\x0bhmac-sha256\x00".to_vec();
        rdata.extend_from_slice(&[0, 0, 0x5f, 0, 0, 0, 1, 44, 0, 4, 1, 2, 3, 4, 0x12, 0x34]);
        rdata.extend_from_slice(&[0, 0, 0, 0]);
        tsig.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        tsig.extend_from_slice(&rdata);
        let mut p = query(b"\x01a\x00", 1, Some(&opt_with(&[], 0)));
        p.extend_from_slice(&tsig);
        p[11] = 2;
        let q = parse_query(&p).unwrap();
        let t = q.tsig.unwrap();
        assert_eq!(t.owner_at, 19 + 11);
        assert_eq!(t.rdata_end, p.len());
        // TSIG before the OPT: FORMERR.
        let mut p = query(b"\x01a\x00", 1, None);
        p.extend_from_slice(&tsig);
        p.extend_from_slice(&opt_with(&[], 0));
        p[11] = 2;
        assert_eq!(rejected(&p).0, rcode::FORMERR);
    }

    #[test]
    fn read_name_expands_pointers() {
        let p = b"\x00\x00\x01a\x01b\x00\x01c\xc0\x02";
        let mut out = [0u8; MAX_NAME_LEN];
        let (len, end) = read_name(p, 7, &mut out).unwrap();
        assert_eq!(&out[..len], b"\x01c\x01a\x01b\x00");
        assert_eq!(end, p.len());
        assert!(read_name(b"\xc0\x00", 0, &mut out).is_none());
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
        let header = Header {
            id: 7,
            opcode: 0,
            rd: true,
            cd: false,
        };
        let mut w = ResponseWriter::new(&mut buf, header, Some(b"\x01a\x00\x00\x01\x00\x01"), 40);
        assert!(w.push(Section::Answer, Owner::Question, 1, 60, &[1, 2, 3, 4]));
        assert!(!w.push(Section::Answer, Owner::Question, 1, 60, &[0; 20]));
        assert!(w.is_truncated());
        w.finish(None);
        assert_eq!(buf[2] & 0x02, 0x02);
        assert_eq!(&buf[6..8], &[0, 0]);
    }

    fn header() -> Header {
        Header {
            id: 7,
            opcode: 0,
            rd: false,
            cd: false,
        }
    }

    fn name(text: &str) -> crate::dns::name::Name {
        crate::dns::name::Name::parse_absolute(text).unwrap()
    }

    /// Decodes a response with hickory-proto (an independent parser) into presentation
    /// lines per section.
    fn decode(buf: &[u8]) -> [Vec<String>; 3] {
        let m = hickory_proto::op::Message::from_vec(buf).expect("response parses");
        let lines = |rs: &[hickory_proto::rr::Record]| -> Vec<String> {
            rs.iter()
                .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
                .collect()
        };
        [
            lines(&m.answers),
            lines(&m.authorities),
            lines(&m.additionals),
        ]
    }

    /// A prepared record after a question ending in its base is byte for byte what the
    /// general path writes, and leaves the same compression table (a name written after it
    /// compresses the same): every combination of apex, SOA names (below, at, above and
    /// outside the apex, sharing labels), question labels (the guards among them, in any
    /// case) and question depth up to the table's capacity; and it declines exactly where
    /// it cannot match.
    #[test]
    fn prepared_record_equals_the_general_writer() {
        use crate::dns::rdata::Rdata;
        let apexes = [
            "example.test.",
            "gslb.example.test.",
            "test.",
            "a.b.c.d.e.f.",
        ];
        let tails = [
            "",
            "ns1.",
            "NS1.",
            "hostmaster.",
            "a.ns1.",
            "x.",
            "b.c.",
            "c.",
            "*.",
            "deleg.",
        ];
        let labels = [
            "ns1",
            "Ns1",
            "hostmaster",
            "x",
            "c",
            "b",
            "deleg",
            "www",
            "a",
        ];
        let others = ["example.net.", "test.", "b.c.d.e.f.", "ns1.example.net."];
        let mut prepared_used = 0;
        let mut declined = 0;
        for apex in apexes {
            let apex_name = name(apex);
            let mut soa_names: Vec<String> = tails.iter().map(|t| format!("{t}{apex}")).collect();
            soa_names.extend(others.iter().map(|o| o.to_string()));
            for (i, m) in soa_names.iter().enumerate() {
                for r in soa_names.iter().skip(i % 3) {
                    let rdata = Rdata::soa(&name(m), &name(r), [1, 2, 3, 4, 5]);
                    let apex_wire = apex_name.as_wire();
                    let prepared =
                        ResponseWriter::prepare(apex_wire, apex_wire, 6, 30, &rdata).unwrap();
                    // Questions: the apex, one label or two below it, and deep ones.
                    let mut questions: Vec<String> = vec![apex.to_string()];
                    for a in labels {
                        questions.push(format!("{a}.{apex}"));
                        for b in labels.iter().take(4) {
                            questions.push(format!("{b}.{a}.{apex}"));
                        }
                    }
                    for depth in [40, 55, 58, 60, 61, 62, 63, 70, 100] {
                        let mut q = String::new();
                        for k in 0..depth {
                            q.push_str(labels[k % labels.len()]);
                            q.push('.');
                        }
                        q.push_str(apex);
                        if q.len() < 250 {
                            questions.push(q);
                        }
                    }
                    for qtext in &questions {
                        let qname = name(qtext);
                        let mut question = qname.as_wire().to_vec();
                        // The client's case: upper-case the first letter of every label.
                        let mut at = 0;
                        while question[at] != 0 {
                            question[at + 1] = question[at + 1].to_ascii_uppercase();
                            at += 1 + usize::from(question[at]);
                        }
                        question.extend_from_slice(&[0, 6, 0, 1]);
                        let lower = qname.as_wire();
                        for limit in [512, 60] {
                            let mut general = Vec::new();
                            let mut g =
                                ResponseWriter::new(&mut general, header(), Some(&question), limit);
                            let g_fit = g.push_rdata(
                                Section::Authority,
                                Owner::Name(apex_wire),
                                6,
                                30,
                                &rdata,
                            );
                            let mut fast = Vec::new();
                            let mut f =
                                ResponseWriter::new(&mut fast, header(), Some(&question), limit);
                            let Some(f_fit) = f.push_prepared(Section::Authority, &prepared, lower)
                            else {
                                declined += 1;
                                continue;
                            };
                            prepared_used += 1;
                            assert_eq!(f_fit, g_fit, "{qtext} {m} {r}");
                            // A later name compresses against the same table.
                            for later in [m.as_str(), r.as_str(), "ns1.example.test."] {
                                g.push_name(
                                    Section::Additional,
                                    Owner::Name(apex_wire),
                                    2,
                                    1,
                                    name(later).as_wire(),
                                );
                                f.push_name(
                                    Section::Additional,
                                    Owner::Name(apex_wire),
                                    2,
                                    1,
                                    name(later).as_wire(),
                                );
                            }
                            g.finish(None);
                            f.finish(None);
                            assert_eq!(fast, general, "question {qtext}, mname {m}, rname {r}");
                        }
                    }
                }
            }
        }
        assert!(prepared_used > 10_000, "{prepared_used} used");
        // Declined: a guard label (ns1, hostmaster, x, c...) above the apex, or too deep.
        assert!(
            declined > 0 && declined < prepared_used,
            "{declined} declined"
        );
    }

    #[test]
    fn names_compress_and_decode() {
        let question = b"\x03WwW\x07example\x04test\x00\x00\x0f\x00\x01";
        let mut buf = Vec::new();
        let mut w = ResponseWriter::new(&mut buf, header(), Some(question), 1232);
        let mx: Vec<Rdata> = ["10 mx1.example.test.", "20 mx2.Example.Test."]
            .iter()
            .map(|t| {
                crate::dns::rdata::encode(rtype::MX, t, &name("example.test."))
                    .unwrap()
                    .rdata
            })
            .collect();
        assert!(w.push_rrset(
            Section::Answer,
            Overflow::Truncate,
            Owner::Question,
            rtype::MX,
            300,
            &mx
        ));
        let soa = Rdata::soa(
            &name("ns1.example.test."),
            &name("hostmaster.example.test."),
            [1, 2, 3, 4, 5],
        );
        assert!(w.push_rdata(
            Section::Authority,
            Owner::Name(name("example.test.").as_wire()),
            rtype::SOA,
            60,
            &soa
        ));
        let mx1 = name("mx1.example.test.");
        let a = [
            Rdata::plain(vec![192, 0, 2, 1]),
            Rdata::plain(vec![192, 0, 2, 2]),
        ];
        assert!(w.push_rrset(
            Section::Additional,
            Overflow::Omit,
            Owner::Name(mx1.as_wire()),
            rtype::A,
            300,
            &a
        ));
        w.finish(None);
        let [answer, authority, additional] = decode(&buf);
        assert_eq!(
            answer,
            [
                "WwW.example.test. MX 10 mx1.example.test.",
                // Names compare case-insensitively: the pointer leads to the question's case.
                "WwW.example.test. MX 20 mx2.example.test."
            ]
        );
        assert_eq!(
            authority,
            ["example.test. SOA ns1.example.test. hostmaster.example.test. 1 2 3 4 5"]
        );
        assert_eq!(
            additional,
            [
                "mx1.example.test. A 192.0.2.1",
                "mx1.example.test. A 192.0.2.2"
            ]
        );
        // Header 12 + question 22; MX: owner pointer 2 + 10 + 2 + "mx1" label 4 + pointer 2
        // (x2); SOA: owner pointer 2 + 10 + "ns1" 4 + pointer 2 + "hostmaster" 11 +
        // pointer 2 + 20; A: owner pointer 2 + 10 + 4 (x2).
        assert_eq!(buf.len(), 12 + 22 + 2 * 20 + 51 + 2 * 16);
    }

    #[test]
    fn additional_rrsets_are_whole_or_absent() {
        let question = b"\x01a\x00\x00\x01\x00\x01";
        let mut buf = Vec::new();
        // Header 12 + question 7 + one A (16) = 35; a second RRset of two A (16 + 16) does
        // not fit 60, a single A (16) still does.
        let mut w = ResponseWriter::new(&mut buf, header(), Some(question), 60);
        assert!(w.push(
            Section::Answer,
            Owner::Question,
            rtype::A,
            60,
            &[1, 2, 3, 4]
        ));
        let two = [
            Rdata::plain(vec![1, 1, 1, 1]),
            Rdata::plain(vec![2, 2, 2, 2]),
        ];
        assert!(!w.push_rrset(
            Section::Additional,
            Overflow::Omit,
            Owner::Question,
            rtype::A,
            60,
            &two
        ));
        assert!(
            !w.is_truncated(),
            "leaving out additional data does not set TC"
        );
        assert_eq!(w.len(), 35, "no partial RRset left behind");
        assert!(w.push_rrset(
            Section::Additional,
            Overflow::Omit,
            Owner::Question,
            rtype::A,
            60,
            &two[..1]
        ));
        w.finish(None);
        assert_eq!(buf[2] & 0x02, 0, "TC clear");
        assert_eq!(&buf[6..12], &[0, 1, 0, 0, 0, 1]);
        // Glue a referral needs truncates instead.
        let mut buf = Vec::new();
        let mut w = ResponseWriter::new(&mut buf, header(), Some(question), 40);
        assert!(!w.push_rrset(
            Section::Additional,
            Overflow::Truncate,
            Owner::Question,
            rtype::A,
            60,
            &two
        ));
        assert!(w.is_truncated());
    }

    #[test]
    fn rollback_restores_compression_state() {
        let question = b"\x01a\x04test\x00\x00\x01\x00\x01";
        let mut buf = Vec::new();
        let mut w = ResponseWriter::new(&mut buf, header(), Some(question), 1232);
        let mark = w.mark();
        w.push_name(
            Section::Answer,
            Owner::Question,
            rtype::CNAME,
            60,
            name("b.other.").as_wire(),
        );
        w.rollback(mark);
        assert_eq!(w.count(Section::Answer), 0);
        // "b.other." is forgotten, "test." (from the question) is still known.
        w.push_name(
            Section::Answer,
            Owner::Question,
            rtype::NS,
            60,
            name("x.other.").as_wire(),
        );
        w.push_name(
            Section::Answer,
            Owner::Question,
            rtype::NS,
            60,
            name("ns.test.").as_wire(),
        );
        w.finish(None);
        let [answer, _, _] = decode(&buf);
        assert_eq!(answer, ["a.test. NS x.other.", "a.test. NS ns.test."]);
        // Header, question, CNAME with x.other. in full, NS with "ns" and a pointer.
        assert_eq!(buf.len(), 12 + 12 + (12 + 9) + (12 + 3 + 2));
    }
}
