//! The DNS test client: builds queries with hickory-proto (an implementation independent of
//! ours), sends them over UDP or TCP to a loopback server and returns the raw reply or the
//! decoded [`Message`].
//!
//! ```text
//!   Query::new(name, type).ecs(..).nsid() ──to_bytes──► send_udp / send_tcp ──► raw reply
//!                                                                  │ Message::from_vec
//!   udp(addr, q) / tcp(addr, q) ◄──────────────────────────────────┘
//! ```
//!
//! This file stands alone (std and hickory-proto only) so that `tests/support/conformance.rs`
//! and `examples/conformance_capture.rs` use it too. Only loopback servers are ever queried;
//! every receive has a timeout.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query as Question, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

/// How long [`udp`] and [`tcp`] wait for a reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

//------------ Query ------------

/// The OPT record of a [`Query`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnsOpts {
    /// Advertised UDP payload size.
    pub payload: u16,
    /// EDNS version (0 is the only defined one).
    pub version: u8,
    /// The DO bit.
    pub dnssec_ok: bool,
    /// Ask for the server's NSID (an empty NSID option, RFC 5001).
    pub nsid: bool,
    /// ECS option: address and source prefix (scope 0).
    pub ecs: Option<(IpAddr, u8)>,
    /// Further options as (code, data), sent after NSID and ECS.
    pub options: Vec<(u16, Vec<u8>)>,
}

impl Default for EdnsOpts {
    fn default() -> Self {
        Self {
            payload: 1232,
            version: 0,
            dnssec_ok: false,
            nsid: false,
            ecs: None,
            options: Vec::new(),
        }
    }
}

/// A DNS query to build and send. `Query::new` is class IN, opcode QUERY, id 0x4242, RD set
/// and no OPT record; every EDNS setter adds an OPT record (payload 1232 unless set).
#[derive(Clone, Debug)]
pub struct Query {
    /// Query name exactly as sent (case kept), absolute.
    pub name: String,
    /// Query type.
    pub qtype: RecordType,
    /// Query class.
    pub class: DNSClass,
    /// Opcode.
    pub opcode: OpCode,
    /// Message id.
    pub id: u16,
    /// The RD flag.
    pub rd: bool,
    /// The OPT record, if any.
    pub edns: Option<EdnsOpts>,
}

impl Query {
    /// A query for `name` (absolute, e.g. `"www.wire.test."`) and `qtype`.
    pub fn new(name: &str, qtype: RecordType) -> Self {
        Self {
            name: name.to_owned(),
            qtype,
            class: DNSClass::IN,
            opcode: OpCode::Query,
            id: 0x4242,
            rd: true,
            edns: None,
        }
    }

    /// Sets the class (e.g. CH for `id.server.`).
    pub fn class(mut self, class: DNSClass) -> Self {
        self.class = class;
        self
    }

    /// Sets the opcode.
    pub fn opcode(mut self, opcode: OpCode) -> Self {
        self.opcode = opcode;
        self
    }

    /// Sets the message id.
    pub fn id(mut self, id: u16) -> Self {
        self.id = id;
        self
    }

    /// Sets or clears the RD flag.
    pub fn rd(mut self, rd: bool) -> Self {
        self.rd = rd;
        self
    }

    /// Changes the OPT record, adding one first if there is none.
    pub fn with_edns(mut self, f: impl FnOnce(&mut EdnsOpts)) -> Self {
        f(self.edns.get_or_insert_with(EdnsOpts::default));
        self
    }

    /// An OPT record advertising `payload` octets.
    pub fn edns(self, payload: u16) -> Self {
        self.with_edns(|e| e.payload = payload)
    }

    /// EDNS version `version` (an OPT record is added).
    pub fn version(self, version: u8) -> Self {
        self.with_edns(|e| e.version = version)
    }

    /// Sets the DO bit (an OPT record is added).
    pub fn dnssec_ok(self) -> Self {
        self.with_edns(|e| e.dnssec_ok = true)
    }

    /// Asks for the NSID (an OPT record is added).
    pub fn nsid(self) -> Self {
        self.with_edns(|e| e.nsid = true)
    }

    /// An ECS option with `addr` (e.g. `"192.0.2.0"`) and source prefix `prefix`.
    pub fn ecs(self, addr: &str, prefix: u8) -> Self {
        let addr: IpAddr = addr
            .parse()
            .unwrap_or_else(|e| panic!("ECS address {addr}: {e}"));
        self.with_edns(|e| e.ecs = Some((addr, prefix)))
    }

    /// An EDNS option with any code and data.
    pub fn option(self, code: u16, data: &[u8]) -> Self {
        self.with_edns(|e| e.options.push((code, data.to_vec())))
    }

    /// The message, for changes the builder does not offer (e.g. a TSIG record), or why
    /// the name is not valid.
    pub fn try_to_message(&self) -> Result<Message, String> {
        let name = Name::from_ascii(&self.name).map_err(|e| format!("name {}: {e}", self.name))?;
        let mut question = Question::query(name, self.qtype);
        question.set_query_class(self.class);
        let mut m = Message::new(self.id, MessageType::Query, self.opcode);
        m.metadata.recursion_desired = self.rd;
        m.add_query(question);
        if let Some(spec) = &self.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(spec.payload);
            edns.set_version(spec.version);
            edns.set_dnssec_ok(spec.dnssec_ok);
            let options = edns.options_mut();
            if spec.nsid {
                options.insert(EdnsOption::Unknown(u16::from(EdnsCode::NSID), Vec::new()));
            }
            if let Some((addr, prefix)) = spec.ecs {
                options.insert(EdnsOption::Subnet(ClientSubnet::new(addr, prefix, 0)));
            }
            for (code, data) in &spec.options {
                options.insert(EdnsOption::Unknown(*code, data.clone()));
            }
            m.set_edns(edns);
        }
        Ok(m)
    }

    /// The wire form, or why hickory-proto cannot encode it.
    pub fn try_to_bytes(&self) -> Result<Vec<u8>, String> {
        self.try_to_message()?
            .to_vec()
            .map_err(|e| format!("encode {}: {e}", self.name))
    }

    /// The wire form; panics when it cannot be encoded.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.try_to_bytes().unwrap_or_else(|e| panic!("{e}"))
    }
}

//------------ Sending ------------

/// Transport a query is sent over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One datagram.
    Udp,
    /// A fresh connection per query, 2-octet length prefix (RFC 1035 4.2.2).
    Tcp,
}

/// Sends `packet` to `server` and returns the raw reply (first datagram, or first framed
/// message). One attempt: a lost datagram is an error, as it is for a resolver's first try.
pub fn exchange(
    server: SocketAddr,
    transport: Transport,
    packet: &[u8],
    timeout: Duration,
) -> io::Result<Vec<u8>> {
    match transport {
        Transport::Udp => send_udp(server, packet, timeout),
        Transport::Tcp => send_tcp(server, packet, timeout),
    }
}

/// Sends one datagram from a fresh socket of the server's family and returns the first
/// datagram that comes back from the server within `timeout`.
pub fn send_udp(server: SocketAddr, packet: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::LOCALHOST, 0).into()
    } else {
        (Ipv6Addr::LOCALHOST, 0).into()
    };
    let sock = UdpSocket::bind(local)?;
    sock.connect(server)?;
    sock.set_read_timeout(Some(timeout))?;
    sock.send(packet)?;
    let mut buf = vec![0u8; 65535];
    let n = sock.recv(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// Sends one message over a fresh TCP connection and returns the first framed reply.
/// A close before the reply is `UnexpectedEof` (or `ConnectionReset`).
pub fn send_tcp(server: SocketAddr, packet: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&server, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&frame(packet))?;
    read_framed(&mut stream)
}

/// `packet` with its 2-octet length prefix, as sent over TCP.
pub fn frame(packet: &[u8]) -> Vec<u8> {
    let len = u16::try_from(packet.len()).expect("a DNS message is at most 65535 octets");
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(packet);
    framed
}

/// Reads one length-prefixed message from a TCP stream.
pub fn read_framed(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf)?;
    Ok(buf)
}

/// Sends `q` over UDP and decodes the reply; panics when there is none.
pub fn udp(server: SocketAddr, q: &Query) -> Message {
    let reply = send_udp(server, &q.to_bytes(), REPLY_TIMEOUT)
        .unwrap_or_else(|e| panic!("no UDP reply from {server} to {}: {e}", q.name));
    Message::from_vec(&reply).expect("decode reply")
}

/// Sends `q` over TCP and decodes the reply; panics when there is none.
pub fn tcp(server: SocketAddr, q: &Query) -> Message {
    let reply = send_tcp(server, &q.to_bytes(), REPLY_TIMEOUT)
        .unwrap_or_else(|e| panic!("no TCP reply from {server} to {}: {e}", q.name));
    Message::from_vec(&reply).expect("decode reply")
}

//------------ Reading replies ------------

/// The rcode of a decoded reply.
pub fn rcode(m: &Message) -> ResponseCode {
    m.metadata.response_code
}

/// The rcode in the low four bits of a raw reply's header.
pub fn raw_rcode(reply: &[u8]) -> u16 {
    u16::from(reply[3] & 0x0F)
}

/// Answer section as sorted "name ttl type rdata" lines (names as sent, case kept).
pub fn answers(m: &Message) -> Vec<String> {
    section(&m.answers)
}

/// A section as sorted "name ttl type rdata" lines.
pub fn section(records: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data))
        .collect();
    v.sort();
    v
}

/// The answer section in order as "name type rdata" lines, without TTLs (which a
/// resolver's cache counts down), names lower-cased (a resolver may randomise their case):
/// for comparing answers through a resolver with steerdns's own.
pub fn records(m: &Message) -> Vec<String> {
    records_of(&m.answers)
}

/// [`records`] of any section.
pub fn records_of(section: &[Record]) -> Vec<String> {
    section
        .iter()
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data).to_ascii_lowercase())
        .collect()
}

/// The A and AAAA addresses in an answer, sorted.
pub fn addrs(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .map(|r| r.data.to_string())
        .collect();
    v.sort();
    v
}

/// The ECS option of a reply: (address, source prefix, scope prefix).
pub fn ecs_of(m: &Message) -> Option<(IpAddr, u8, u8)> {
    match m.edns.as_ref()?.option(EdnsCode::Subnet)? {
        EdnsOption::Subnet(s) => Some((s.addr(), s.source_prefix(), s.scope_prefix())),
        _ => None,
    }
}

/// The ECS scope prefix of a reply; panics when it has no ECS option.
pub fn scope_of(m: &Message) -> u8 {
    ecs_of(m).expect("an ECS option in the reply").2
}

/// Whether the server closes `stream` (EOF or error) within its read timeout.
pub fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}
