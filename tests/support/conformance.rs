//! Conformance harness shared by `tests/knot_conformance.rs` and
//! `examples/conformance_capture.rs`, on top of the shared test client
//! (`tests/common/client.rs`).
//!
//! ```text
//!   queries() ──> build (client::Query) ──> client::exchange (UDP / TCP, loopback) ──> raw reply
//!                                                                         │
//!   compare(expected, actual) <── Normalised (JSON-able) <── normalise ───┘
//! ```
//!
//! A response is reduced to what two correct authoritative servers must agree
//! on: rcode (with the EDNS extended bits), opcode, header flags, the echoed
//! question (case kept), the three record sections as presentation lines
//! (owner names lower-cased, each section sorted because the order of records
//! in a set is not specified) and the OPT record (presence, UDP size, version,
//! DO, whether NSID is present, the ECS option). Everything else (message id, compression,
//! record order, NSID value) is left out.
//!
//! Only loopback addresses are ever queried; every receive has a timeout.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, OpCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::tsig::{TSIG, TsigAlgorithm, make_tsig_record};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use serde::{Deserialize, Serialize};

// The shared DNS test client (tests/common/client.rs): the including crate provides it at
// its root (`use common::client;` in a test, `#[path] mod client;` in the example).
use crate::client;

/// How long to wait for one reply before giving up (UDP is retried once).
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Reply timeout of the readiness probe in [`wait_until_serving`].
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

//------------ TestQuery ------------

/// Transport a test query is sent over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Transport {
    /// One datagram, reply read with a 64 KiB buffer.
    Udp,
    /// A fresh connection per query, 2-octet length prefix (RFC 1035 4.2.2).
    Tcp,
}

impl Transport {
    /// `udp` or `tcp`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        }
    }
}

/// The EDNS(0) OPT record of a test query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EdnsSpec {
    /// Advertised UDP payload size.
    pub(crate) udp_size: u16,
    /// EDNS version (0 is the only defined one; others must get BADVERS).
    pub(crate) version: u8,
    /// The DNSSEC OK bit.
    pub(crate) do_bit: bool,
    /// Ask for the server's NSID (an empty NSID option, RFC 5001).
    pub(crate) nsid: bool,
    /// An ECS option (RFC 7871): "address/source-prefix".
    pub(crate) ecs: Option<String>,
    /// Add an option with an unassigned code (65001), which must be ignored.
    pub(crate) unknown_option: bool,
}

impl Default for EdnsSpec {
    fn default() -> Self {
        Self {
            udp_size: 1232,
            version: 0,
            do_bit: false,
            nsid: false,
            ecs: None,
            unknown_option: false,
        }
    }
}

/// One query of the conformance suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TestQuery {
    /// Stable identifier, used as the key in the fixture and the known-differences table.
    pub(crate) id: String,
    /// Query name exactly as sent (case included), absolute.
    pub(crate) name: String,
    /// Query type mnemonic (`A`, `TXT`, `ANY`, `AXFR`, `TYPE65000`, ...).
    pub(crate) qtype: String,
    /// Query class mnemonic (`IN`, `CH`).
    pub(crate) class: String,
    /// Opcode mnemonic (`QUERY`, `STATUS`, ...).
    pub(crate) opcode: String,
    /// UDP or TCP.
    pub(crate) transport: Transport,
    /// The OPT record, if the query has one.
    pub(crate) edns: Option<EdnsSpec>,
    /// The RD (recursion desired) flag.
    pub(crate) rd: bool,
    /// Send no question (QDCOUNT 0).
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) no_question: bool,
    /// Sign the query with TSIG, with a key the server does not know (`k1.`,
    /// hmac-sha256, time signed 1700000000, fudge 300, a 32-octet MAC of 0xab).
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) tsig: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl TestQuery {
    /// A query over UDP with EDNS(0) (buffer 1232), RD clear, class IN.
    fn new(id: &str, name: &str, qtype: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            qtype: qtype.to_owned(),
            class: "IN".to_owned(),
            opcode: "QUERY".to_owned(),
            transport: Transport::Udp,
            edns: Some(EdnsSpec::default()),
            rd: false,
            no_question: false,
            tsig: false,
        }
    }

    fn no_question(mut self) -> Self {
        self.no_question = true;
        self
    }

    fn tsig(mut self) -> Self {
        self.tsig = true;
        self
    }

    fn tcp(mut self) -> Self {
        self.transport = Transport::Tcp;
        self
    }

    fn chaos(mut self) -> Self {
        "CH".clone_into(&mut self.class);
        self
    }

    fn no_edns(mut self) -> Self {
        self.edns = None;
        self
    }

    fn rd(mut self) -> Self {
        self.rd = true;
        self
    }

    fn opcode(mut self, opcode: &str) -> Self {
        opcode.clone_into(&mut self.opcode);
        self
    }

    fn edns(mut self, f: impl FnOnce(&mut EdnsSpec)) -> Self {
        let mut spec = self.edns.take().unwrap_or_default();
        f(&mut spec);
        self.edns = Some(spec);
        self
    }

    /// One line for reports: `id: name class qtype over transport (...)`.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!(
            "{}: {} {} {} over {}",
            self.id,
            self.name,
            self.class,
            self.qtype,
            self.transport.name()
        );
        match &self.edns {
            None => s.push_str(", no EDNS"),
            Some(e) => {
                let _ = write!(s, ", EDNS v{} bufsize {}", e.version, e.udp_size);
                if e.do_bit {
                    s.push_str(" +DO");
                }
                if e.nsid {
                    s.push_str(" +NSID");
                }
                if let Some(ecs) = &e.ecs {
                    let _ = write!(s, " +ECS {ecs}");
                }
                if e.unknown_option {
                    s.push_str(" +option65001");
                }
            }
        }
        if self.rd {
            s.push_str(", RD");
        }
        if self.opcode != "QUERY" {
            let _ = write!(s, ", opcode {}", self.opcode);
        }
        if self.no_question {
            s.push_str(", no question");
        }
        if self.tsig {
            s.push_str(", TSIG (unknown key)");
        }
        s
    }
}

/// The zone most queries are about (tests/conformance/gslb.example.test.zone and
/// zones/gslb.example.test.toml).
pub(crate) const ZONE: &str = "gslb.example.test.";

/// The harness's second zone: large NS and MX sets, wildcards, zone cuts
/// (tests/conformance/conformance.example.test.{zone,toml}).
pub(crate) const ZONE2: &str = "conformance.example.test.";

/// The conformance suite: static data of the example zone, negative answers,
/// zone boundaries, transports, EDNS and header flags. Steered names are not
/// asked (the reference server cannot steer).
pub(crate) fn queries() -> Vec<TestQuery> {
    let n = |label: &str| {
        if label.is_empty() {
            ZONE.to_owned()
        } else {
            format!("{label}.{ZONE}")
        }
    };
    let first = vec![
        // Apex.
        TestQuery::new("apex-soa", &n(""), "SOA"),
        TestQuery::new("apex-ns", &n(""), "NS"),
        TestQuery::new("apex-mx", &n(""), "MX"),
        TestQuery::new("apex-txt", &n(""), "TXT"),
        TestQuery::new("apex-caa", &n(""), "CAA"),
        TestQuery::new("apex-a-nodata", &n(""), "A"),
        TestQuery::new("apex-any-udp", &n(""), "ANY"),
        TestQuery::new("apex-any-tcp", &n(""), "ANY").tcp(),
        // Plain names.
        TestQuery::new("ns1-a", &n("ns1"), "A"),
        TestQuery::new("ns1-aaaa", &n("ns1"), "AAAA"),
        TestQuery::new("ns2-aaaa-nodata", &n("ns2"), "AAAA"),
        TestQuery::new("mx1-a", &n("mx1"), "A"),
        TestQuery::new("static-a", &n("static"), "A"),
        TestQuery::new("static-a-mixed-case", "StAtIc.GsLb.ExAmPlE.TeSt.", "A"),
        TestQuery::new("static-aaaa-nodata", &n("static"), "AAAA"),
        TestQuery::new("static-ns-nodata", &n("static"), "NS"),
        TestQuery::new("static-soa-nodata", &n("static"), "SOA"),
        TestQuery::new("static-unknown-type-nodata", &n("static"), "TYPE65000"),
        TestQuery::new("static-any", &n("static"), "ANY"),
        // CNAME.
        TestQuery::new("alias-a", &n("alias"), "A"),
        TestQuery::new("alias-aaaa", &n("alias"), "AAAA"),
        TestQuery::new("alias-txt", &n("alias"), "TXT"),
        TestQuery::new("alias-cname", &n("alias"), "CNAME"),
        TestQuery::new("alias2-a", &n("alias2"), "A"),
        TestQuery::new("outside-a", &n("outside"), "A"),
        TestQuery::new("outside-cname", &n("outside"), "CNAME"),
        // Wildcard (RFC 4592).
        TestQuery::new("wild-foo-a", &n("foo.wild"), "A"),
        TestQuery::new("wild-foo-txt", &n("foo.wild"), "TXT"),
        TestQuery::new("wild-foo-aaaa-nodata", &n("foo.wild"), "AAAA"),
        TestQuery::new("wild-foo-a-mixed-case", "FoO.WiLd.GsLb.ExAmPlE.TeSt.", "A"),
        TestQuery::new("wild-a-b-a", &n("a.b.wild"), "A"),
        TestQuery::new("wild-star-a", &n("*.wild"), "A"),
        TestQuery::new("wild-ent-a-nodata", &n("wild"), "A"),
        // Empty non-terminals and SRV.
        TestQuery::new("tcp-ent-srv-nodata", &n("_tcp"), "SRV"),
        TestQuery::new("sip-srv", &n("_sip._tcp"), "SRV"),
        TestQuery::new("b-ent-txt-nodata", &n("b"), "TXT"),
        TestQuery::new("a-b-ent-txt-nodata", &n("a.b"), "TXT"),
        TestQuery::new("deep-txt", &n("deep.a.b"), "TXT"),
        TestQuery::new("deep-a-nodata", &n("deep.a.b"), "A"),
        // Names that do not exist.
        TestQuery::new("nx-a", &n("nonexistent"), "A"),
        TestQuery::new("nx-a-mixed-case", "NoNeXiStEnT.gslb.example.test.", "A"),
        TestQuery::new("nx-below-nx", &n("x.nonexistent"), "A"),
        TestQuery::new("nx-below-static", &n("x.static"), "A"),
        TestQuery::new("nx-below-deep", &n("x.deep.a.b"), "TXT"),
        TestQuery::new("nx-tcp", &n("nonexistent"), "A").tcp(),
        TestQuery::new("nx-no-edns", &n("nonexistent"), "A").no_edns(),
        // Outside every zone.
        TestQuery::new("out-example-com", "example.com.", "A"),
        TestQuery::new("out-parent", "example.test.", "SOA"),
        TestQuery::new("out-sibling", "other.example.test.", "A"),
        TestQuery::new("out-root-ns", ".", "NS"),
        // Zone transfer.
        TestQuery::new("axfr-tcp", &n(""), "AXFR").tcp(),
        // CHAOS class.
        TestQuery::new("chaos-version-bind", "version.bind.", "TXT").chaos(),
        TestQuery::new("chaos-id-server", "id.server.", "TXT").chaos(),
        TestQuery::new("chaos-hostname-bind", "hostname.bind.", "TXT").chaos(),
        // EDNS.
        TestQuery::new("edns-version-1", &n("static"), "A").edns(|e| e.version = 1),
        TestQuery::new("edns-nsid", &n("static"), "A").edns(|e| e.nsid = true),
        TestQuery::new("edns-do", &n("static"), "A").edns(|e| e.do_bit = true),
        TestQuery::new("edns-ecs", &n("static"), "A")
            .edns(|e| e.ecs = Some("192.0.2.0/24".to_owned())),
        TestQuery::new("edns-unknown-option", &n("static"), "A").edns(|e| e.unknown_option = true),
        // Truncation: "big" is ~930 octets.
        TestQuery::new("big-udp-512", &n("big"), "TXT").edns(|e| e.udp_size = 512),
        TestQuery::new("big-udp-no-edns", &n("big"), "TXT").no_edns(),
        TestQuery::new("big-udp-4096", &n("big"), "TXT").edns(|e| e.udp_size = 4096),
        TestQuery::new("big-tcp-512", &n("big"), "TXT")
            .edns(|e| e.udp_size = 512)
            .tcp(),
        TestQuery::new("big-tcp-no-edns", &n("big"), "TXT")
            .no_edns()
            .tcp(),
        // Header flags and transports.
        TestQuery::new("static-no-edns", &n("static"), "A").no_edns(),
        TestQuery::new("static-rd", &n("static"), "A").rd(),
        TestQuery::new("static-tcp", &n("static"), "A").tcp(),
        TestQuery::new("apex-ns-tcp-no-edns", &n(""), "NS")
            .tcp()
            .no_edns(),
        TestQuery::new("opcode-status", &n(""), "SOA").opcode("STATUS"),
        TestQuery::new("opcode-status-no-question", &n(""), "SOA")
            .opcode("STATUS")
            .no_question(),
        TestQuery::new("opcode-status-no-question-no-edns", &n(""), "SOA")
            .opcode("STATUS")
            .no_edns()
            .no_question(),
        TestQuery::new("no-question-edns", &n(""), "SOA").no_question(),
        TestQuery::new("no-question-no-edns", &n(""), "SOA")
            .no_question()
            .no_edns(),
        TestQuery::new("tsig-unknown-key", &n(""), "SOA").tsig(),
        TestQuery::new("tsig-unknown-key-no-edns", &n("static"), "A")
            .tsig()
            .no_edns(),
        TestQuery::new("tsig-unknown-key-tcp", &n(""), "SOA")
            .tsig()
            .tcp(),
    ];
    let c = |label: &str| {
        if label.is_empty() {
            ZONE2.to_owned()
        } else {
            format!("{label}.{ZONE2}")
        }
    };
    let second = [
        // 13 name servers with A and AAAA: the additional section fills up.
        TestQuery::new("c-apex-ns", &c(""), "NS"),
        TestQuery::new("c-apex-ns-512", &c(""), "NS").edns(|e| e.udp_size = 512),
        TestQuery::new("c-apex-ns-no-edns", &c(""), "NS").no_edns(),
        TestQuery::new("c-apex-ns-tcp", &c(""), "NS").tcp(),
        // 20 mail exchangers with A and AAAA: whole RRsets until 1232 octets.
        TestQuery::new("c-apex-mx", &c(""), "MX"),
        TestQuery::new("c-apex-mx-512", &c(""), "MX").edns(|e| e.udp_size = 512),
        TestQuery::new("c-apex-mx-no-edns", &c(""), "MX").no_edns(),
        TestQuery::new("c-apex-mx-tcp", &c(""), "MX").tcp(),
        TestQuery::new("c-apex-soa", &c(""), "SOA"),
        TestQuery::new("c-apex-any", &c(""), "ANY"),
        TestQuery::new("c-ns01-a", &c("ns01"), "A"),
        TestQuery::new("c-ns13-aaaa", &c("ns13"), "AAAA"),
        TestQuery::new("c-nx", &c("nope"), "A"),
        TestQuery::new("c-nx-deep", &c("a.b.c.nope"), "AAAA"),
        // Wildcards.
        TestQuery::new("c-wild-a", &c("x.wild"), "A"),
        TestQuery::new("c-wild-mx", &c("x.wild"), "MX"),
        TestQuery::new(
            "c-wild-txt-mixed-case",
            "X.WiLd.CoNfOrMaNcE.eXaMpLe.TeSt.",
            "TXT",
        ),
        TestQuery::new("c-wild-aaaa-nodata", &c("x.wild"), "AAAA"),
        TestQuery::new("c-wild-deeper", &c("a.b.wild"), "A"),
        TestQuery::new("c-wild-host-exists", &c("host.wild"), "A"),
        TestQuery::new("c-wild-host-nodata", &c("host.wild"), "MX"),
        TestQuery::new("c-wild-below-host", &c("x.host.wild"), "A"),
        TestQuery::new("c-wild-cname", &c("y.cname"), "A"),
        TestQuery::new("c-wild-cname-mx", &c("y.cname"), "MX"),
        TestQuery::new("c-wild-cname-cname", &c("y.cname"), "CNAME"),
        // Zone cuts: referrals (AA clear, NS in authority, glue in additional), DS at the
        // cut answered by this zone.
        TestQuery::new("c-cut-a", &c("sub"), "A"),
        TestQuery::new("c-cut-ns", &c("sub"), "NS"),
        TestQuery::new("c-cut-any", &c("sub"), "ANY"),
        TestQuery::new("c-cut-ds-nodata", &c("sub"), "DS"),
        TestQuery::new("c-below-cut", &c("www.sub"), "A"),
        TestQuery::new("c-below-cut-deep", &c("a.b.sub"), "TXT"),
        TestQuery::new("c-below-cut-ds", &c("www.sub"), "DS"),
        TestQuery::new("c-below-cut-no-edns", &c("www.sub"), "A").no_edns(),
        TestQuery::new("c-below-cut-tcp", &c("www.sub"), "A").tcp(),
        TestQuery::new("c-below-cut-do", &c("www.sub"), "A").edns(|e| e.do_bit = true),
        TestQuery::new(
            "c-below-cut-mixed-case",
            "WwW.SuB.CoNfOrMaNcE.eXaMpLe.TeSt.",
            "A",
        ),
        TestQuery::new("c-glue-a", &c("ns.sub"), "A"),
        TestQuery::new("c-glue-aaaa", &c("ns.sub"), "AAAA"),
        TestQuery::new("c-cut-sibling-ns", &c("www.sib"), "A"),
        TestQuery::new("c-cut-no-glue", &c("ext"), "A"),
        TestQuery::new("c-cut-secure-ds", &c("secure"), "DS"),
        TestQuery::new("c-below-secure-cut", &c("www.secure"), "A"),
        TestQuery::new("c-cname-into-cut", &c("tocut"), "A"),
    ];
    let mut all = first;
    all.extend(second);
    all
}

//------------ Wire ------------

fn parse_qtype(s: &str) -> Result<RecordType, String> {
    if let Some(num) = s.strip_prefix("TYPE") {
        return num
            .parse::<u16>()
            .map(RecordType::from)
            .map_err(|e| format!("bad qtype {s}: {e}"));
    }
    s.parse::<RecordType>()
        .map_err(|e| format!("bad qtype {s}: {e}"))
}

fn parse_class(s: &str) -> Result<DNSClass, String> {
    match s {
        "IN" => Ok(DNSClass::IN),
        "CH" => Ok(DNSClass::CH),
        "HS" => Ok(DNSClass::HS),
        "ANY" => Ok(DNSClass::ANY),
        _ => Err(format!("bad class {s}")),
    }
}

fn parse_opcode(s: &str) -> Result<OpCode, String> {
    match s {
        "QUERY" => Ok(OpCode::Query),
        "STATUS" => Ok(OpCode::Status),
        "NOTIFY" => Ok(OpCode::Notify),
        "UPDATE" => Ok(OpCode::Update),
        _ => Err(format!("bad opcode {s}")),
    }
}

/// "address/prefix" of an ECS option.
fn parse_ecs(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, prefix) = s
        .split_once('/')
        .ok_or_else(|| format!("bad ECS {s}: no /prefix"))?;
    let addr = addr.parse().map_err(|e| format!("bad ECS {s}: {e}"))?;
    let prefix = prefix.parse().map_err(|e| format!("bad ECS {s}: {e}"))?;
    Ok((addr, prefix))
}

/// Encodes a test query with the given message id (by the shared test client).
pub(crate) fn build(q: &TestQuery, id: u16) -> Result<Vec<u8>, String> {
    let mut query = client::Query::new(&q.name, parse_qtype(&q.qtype)?)
        .class(parse_class(&q.class)?)
        .opcode(parse_opcode(&q.opcode)?)
        .id(id)
        .rd(q.rd);
    if let Some(spec) = &q.edns {
        let ecs = spec.ecs.as_deref().map(parse_ecs).transpose()?;
        query = query.with_edns(|e| {
            e.payload = spec.udp_size;
            e.version = spec.version;
            e.dnssec_ok = spec.do_bit;
            e.nsid = spec.nsid;
            e.ecs = ecs;
            if spec.unknown_option {
                e.options.push((65001, b"steerdns".to_vec()));
            }
        });
    }
    let mut msg = query.try_to_message()?;
    if q.no_question {
        msg.queries.clear();
    }
    if q.tsig {
        let key = Name::from_ascii("k1.").map_err(|e| e.to_string())?;
        let rdata = TSIG::new(
            TsigAlgorithm::HmacSha256,
            1_700_000_000,
            300,
            vec![0xab; 32],
            id,
            None,
            Vec::new(),
        );
        msg.signature = Some(Box::new(make_tsig_record(key, rdata)));
    }
    msg.to_vec()
        .map_err(|e| format!("cannot encode {}: {e}", q.id))
}

/// Sends one encoded query and returns the raw reply bytes, which must carry the query's
/// `id`. UDP is tried twice (a lost datagram on loopback is rare but possible).
pub(crate) fn exchange(
    server: SocketAddr,
    transport: Transport,
    wire: &[u8],
    id: u16,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let (how, attempts) = match transport {
        Transport::Udp => (client::Transport::Udp, 2),
        Transport::Tcp => (client::Transport::Tcp, 1),
    };
    let mut last = String::from("no attempt made");
    for _attempt in 0..attempts {
        match client::exchange(server, how, wire, timeout) {
            Ok(reply) if reply.get(..2) == Some(&id.to_be_bytes()[..]) => return Ok(reply),
            Ok(reply) => {
                last = format!(
                    "{} reply from {server} does not carry the query's id {id:#06x}: {:02x?}",
                    transport.name(),
                    &reply[..reply.len().min(12)]
                );
            }
            Err(e) => last = format!("{} exchange with {server}: {e}", transport.name()),
        }
    }
    Err(last)
}

//------------ Normalised ------------

/// The OPT record of a reply, reduced to what must agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OptSummary {
    /// UDP payload size the server advertises.
    pub(crate) udp_size: u16,
    /// EDNS version of the reply.
    pub(crate) version: u8,
    /// DO bit echoed.
    pub(crate) do_bit: bool,
    /// Whether an NSID option is present (its value is server configuration).
    pub(crate) nsid: bool,
    /// The ECS option, "family address/source/scope", if present.
    pub(crate) ecs: Option<String>,
    /// Any other options, sorted: `EDE <info-code>` for Extended DNS Errors
    /// (RFC 8914; the extra text is left out), else `OPTION<code>`.
    pub(crate) other_options: Vec<String>,
}

/// A reply reduced to what two correct authoritative servers must agree on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Normalised {
    /// Full rcode mnemonic, EDNS extended bits included (`NOERROR`, `BADVERS`, ...).
    pub(crate) rcode: String,
    /// Opcode mnemonic.
    pub(crate) opcode: String,
    /// Header flags that are set, in the order qr aa tc rd ra ad cd.
    pub(crate) flags: Vec<String>,
    /// Question section as echoed: "name class type", case kept.
    pub(crate) question: Vec<String>,
    /// Answer section, presentation lines, sorted.
    pub(crate) answer: Vec<String>,
    /// Authority section, presentation lines, sorted.
    pub(crate) authority: Vec<String>,
    /// Additional section without the OPT record, presentation lines, sorted.
    pub(crate) additional: Vec<String>,
    /// The OPT record, if any.
    pub(crate) opt: Option<OptSummary>,
    /// Size of the reply in octets (compared on its own: no larger than the reference's).
    #[serde(default)]
    pub(crate) size: usize,
}

/// What happened to one query: a normalised reply, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
// A few hundred captures per run: the size of the enum does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    /// The server answered.
    Reply(Normalised),
    /// No reply (timeout, connection closed) or an undecodable one.
    Error(String),
}

/// One query and its outcome; the unit of the fixture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Capture {
    /// The query as sent.
    pub(crate) query: TestQuery,
    /// What came back.
    pub(crate) response: Outcome,
}

/// The committed fixture: Knot's answers and where they came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fixture {
    /// Reference server and version, e.g. "Knot DNS 3.2.6".
    pub(crate) server: String,
    /// How to regenerate the file.
    pub(crate) regenerate: String,
    /// One entry per query of [`queries`], in order.
    pub(crate) results: Vec<Capture>,
}

fn rcode_name(code: u16) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        16 => "BADVERS".into(),
        23 => "BADCOOKIE".into(),
        n => format!("RCODE{n}"),
    }
}

fn opcode_name(code: u8) -> String {
    match code {
        0 => "QUERY".into(),
        1 => "IQUERY".into(),
        2 => "STATUS".into(),
        4 => "NOTIFY".into(),
        5 => "UPDATE".into(),
        n => format!("OPCODE{n}"),
    }
}

/// Presentation form of a TXT-like list of character strings: each quoted,
/// `"` and `\` escaped, other non-printable octets as `\DDD` (RFC 1035 5.1).
fn quote_strings<'a>(strings: impl Iterator<Item = &'a [u8]>) -> String {
    let mut out = Vec::new();
    for s in strings {
        let mut q = String::from("\"");
        for &b in s {
            match b {
                b'"' | b'\\' => {
                    q.push('\\');
                    q.push(char::from(b));
                }
                0x20..=0x7e => q.push(char::from(b)),
                _ => {
                    let _ = write!(q, "\\{b:03}");
                }
            }
        }
        q.push('"');
        out.push(q);
    }
    out.join(" ")
}

fn rdata_text(rdata: &RData) -> String {
    match rdata {
        RData::TXT(txt) => quote_strings(txt.txt_data.iter().map(|s| &s[..])),
        other => other.to_string(),
    }
}

/// Type mnemonic, `TYPEn` (RFC 3597) for types hickory does not name.
fn type_name(t: RecordType) -> String {
    match t {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        t => t.to_string(),
    }
}

fn record_line(r: &Record) -> String {
    format!(
        "{} {} {} {} {}",
        r.name.to_lowercase(),
        r.ttl,
        r.dns_class,
        type_name(r.record_type()),
        rdata_text(&r.data)
    )
}

fn section(records: &[Record]) -> Vec<String> {
    let mut lines: Vec<String> = records.iter().map(record_line).collect();
    lines.sort();
    lines
}

/// Reduces a raw reply to its [`Normalised`] form. Header flags and rcode are
/// read from the raw header, so nothing is lost to the decoder.
pub(crate) fn normalise(raw: &[u8]) -> Result<Normalised, String> {
    if raw.len() < 12 {
        return Err(format!(
            "reply of {} octets is shorter than a header",
            raw.len()
        ));
    }
    let msg = Message::from_vec(raw).map_err(|e| format!("undecodable reply: {e}"))?;
    let (b2, b3) = (raw[2], raw[3]);
    let mut flags = Vec::new();
    for (set, name) in [
        (b2 & 0x80 != 0, "qr"),
        (b2 & 0x04 != 0, "aa"),
        (b2 & 0x02 != 0, "tc"),
        (b2 & 0x01 != 0, "rd"),
        (b3 & 0x80 != 0, "ra"),
        (b3 & 0x20 != 0, "ad"),
        (b3 & 0x10 != 0, "cd"),
    ] {
        if set {
            flags.push(name.to_owned());
        }
    }
    if b3 & 0x40 != 0 {
        flags.push("z".to_owned());
    }
    let rcode_high = msg.edns.as_ref().map_or(0, |e| u16::from(e.rcode_high()));
    let rcode = (rcode_high << 4) | u16::from(b3 & 0x0f);
    let question = msg
        .queries
        .iter()
        .map(|q| {
            format!(
                "{} {} {}",
                q.name(),
                q.query_class(),
                type_name(q.query_type())
            )
        })
        .collect();
    let opt = msg.edns.as_ref().map(|edns| {
        let mut nsid = false;
        let mut ecs = None;
        let mut other_options = Vec::new();
        for (code, option) in &edns.options().options {
            match (code, option) {
                (EdnsCode::NSID, _) => nsid = true,
                (EdnsCode::Subnet, EdnsOption::Subnet(s)) => {
                    ecs = Some(format!(
                        "{}/{}/{}",
                        s.addr(),
                        s.source_prefix(),
                        s.scope_prefix()
                    ));
                }
                (_, EdnsOption::Unknown(15, data)) if data.len() >= 2 => {
                    other_options.push(format!("EDE {}", u16::from_be_bytes([data[0], data[1]])));
                }
                (code, _) => other_options.push(format!("OPTION{}", u16::from(*code))),
            }
        }
        other_options.sort();
        OptSummary {
            udp_size: edns.max_payload(),
            version: edns.version(),
            do_bit: edns.flags().dnssec_ok,
            nsid,
            ecs,
            other_options,
        }
    });
    // With hickory-proto's DNSSEC features (a dev-dependency enables them) the decoder moves a
    // final TSIG record out of the additional section into `signature`; put it back, so the
    // section reads the same as on the wire whatever features are on.
    let mut additionals = msg.additionals.clone();
    if let Some(tsig) = msg.signature.clone() {
        additionals.push(tsig.into_record_of_rdata());
    }
    Ok(Normalised {
        size: raw.len(),
        rcode: rcode_name(rcode),
        opcode: opcode_name((b2 >> 3) & 0x0f),
        flags,
        question,
        answer: section(&msg.answers),
        authority: section(&msg.authorities),
        additional: section(&additionals),
        opt,
    })
}

/// Sends one test query to `server` and normalises the reply.
pub(crate) fn capture_one(
    server: SocketAddr,
    q: &TestQuery,
    id: u16,
    timeout: Duration,
) -> Outcome {
    let result = build(q, id)
        .and_then(|wire| exchange(server, q.transport, &wire, id, timeout))
        .and_then(|raw| normalise(&raw));
    match result {
        Ok(n) => Outcome::Reply(n),
        Err(e) => Outcome::Error(e),
    }
}

/// Runs every query of [`queries`] against `server`, in order.
pub(crate) fn capture(server: SocketAddr) -> Vec<Capture> {
    queries()
        .into_iter()
        .enumerate()
        .map(|(i, query)| {
            // Distinct, deterministic ids: a late reply to one query is never
            // taken for the next one's.
            let id = 0x5d00u16.wrapping_add(u16::try_from(i).unwrap_or(0));
            let response = capture_one(server, &query, id, REPLY_TIMEOUT);
            Capture { query, response }
        })
        .collect()
}

/// Asks `server` for the zone's SOA until it answers authoritatively, at most
/// `attempts` times, 100 ms apart, each waiting [`PROBE_TIMEOUT`] (twice) for
/// the reply. Returns the last error when it never does.
pub(crate) fn wait_until_serving(server: SocketAddr, attempts: u32) -> Result<(), String> {
    let probe = TestQuery::new("probe", ZONE, "SOA");
    let mut last = String::from("no attempt made");
    for i in 0..attempts {
        let id = 0x7000u16.wrapping_add(u16::try_from(i % 4096).unwrap_or(0));
        match capture_one(server, &probe, id, PROBE_TIMEOUT) {
            Outcome::Reply(n) if n.rcode == "NOERROR" && n.flags.iter().any(|f| f == "aa") => {
                return Ok(());
            }
            Outcome::Reply(n) => last = format!("not serving yet: {n:?}"),
            Outcome::Error(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last)
}

//------------ Compare ------------

/// A part of a normalised reply that the comparison looks at on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Field {
    /// The whole outcome: reply vs. no reply.
    Outcome,
    /// rcode.
    Rcode,
    /// opcode.
    Opcode,
    /// Header flags.
    Flags,
    /// Echoed question.
    Question,
    /// Answer section.
    Answer,
    /// Authority section.
    Authority,
    /// Additional section (without OPT).
    Additional,
    /// OPT present or not.
    OptPresent,
    /// OPT UDP payload size.
    OptUdpSize,
    /// OPT version.
    OptVersion,
    /// OPT DO bit.
    OptDo,
    /// NSID option present.
    OptNsid,
    /// ECS option.
    OptEcs,
    /// Other EDNS options.
    OptOther,
}

impl Field {
    /// Short name used in reports and the known-differences table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Outcome => "outcome",
            Self::Rcode => "rcode",
            Self::Opcode => "opcode",
            Self::Flags => "flags",
            Self::Question => "question",
            Self::Answer => "answer",
            Self::Authority => "authority",
            Self::Additional => "additional",
            Self::OptPresent => "opt",
            Self::OptUdpSize => "opt.udp_size",
            Self::OptVersion => "opt.version",
            Self::OptDo => "opt.do",
            Self::OptNsid => "opt.nsid",
            Self::OptEcs => "opt.ecs",
            Self::OptOther => "opt.other_options",
        }
    }
}

/// One field that differs between the expected and the actual reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldDiff {
    /// Which field.
    pub(crate) field: Field,
    /// Expected (reference) value, rendered.
    pub(crate) expected: String,
    /// Actual value, rendered.
    pub(crate) actual: String,
}

fn lines_diff(expected: &[String], actual: &[String]) -> (String, String) {
    let missing: Vec<&String> = expected.iter().filter(|l| !actual.contains(l)).collect();
    let extra: Vec<&String> = actual.iter().filter(|l| !expected.contains(l)).collect();
    let mut e = String::new();
    let mut a = String::new();
    for l in expected {
        let mark = if missing.contains(&l) { "-" } else { " " };
        let _ = write!(e, "\n        {mark} {l}");
    }
    for l in actual {
        let mark = if extra.contains(&l) { "+" } else { " " };
        let _ = write!(a, "\n        {mark} {l}");
    }
    if expected.is_empty() {
        e.push_str("(empty)");
    }
    if actual.is_empty() {
        a.push_str("(empty)");
    }
    (e, a)
}

/// Field-by-field differences between two outcomes of the same query.
pub(crate) fn compare(expected: &Outcome, actual: &Outcome) -> Vec<FieldDiff> {
    let (e, a) = match (expected, actual) {
        (Outcome::Reply(e), Outcome::Reply(a)) => (e, a),
        (Outcome::Error(_), Outcome::Error(_)) => return Vec::new(),
        _ => {
            let render = |o: &Outcome| match o {
                Outcome::Reply(n) => format!("a reply ({})", n.rcode),
                Outcome::Error(err) => format!("no reply: {err}"),
            };
            return vec![FieldDiff {
                field: Field::Outcome,
                expected: render(expected),
                actual: render(actual),
            }];
        }
    };
    let mut diffs = Vec::new();
    let mut scalar = |field: Field, ev: String, av: String| {
        if ev != av {
            diffs.push(FieldDiff {
                field,
                expected: ev,
                actual: av,
            });
        }
    };
    scalar(Field::Rcode, e.rcode.clone(), a.rcode.clone());
    scalar(Field::Opcode, e.opcode.clone(), a.opcode.clone());
    scalar(Field::Flags, e.flags.join(" "), a.flags.join(" "));
    scalar(
        Field::Question,
        e.question.join(" | "),
        a.question.join(" | "),
    );
    match (&e.opt, &a.opt) {
        (Some(eo), Some(ao)) => {
            scalar(
                Field::OptUdpSize,
                eo.udp_size.to_string(),
                ao.udp_size.to_string(),
            );
            scalar(
                Field::OptVersion,
                eo.version.to_string(),
                ao.version.to_string(),
            );
            scalar(Field::OptDo, eo.do_bit.to_string(), ao.do_bit.to_string());
            scalar(Field::OptNsid, eo.nsid.to_string(), ao.nsid.to_string());
            scalar(
                Field::OptEcs,
                format!("{:?}", eo.ecs),
                format!("{:?}", ao.ecs),
            );
            scalar(
                Field::OptOther,
                format!("{:?}", eo.other_options),
                format!("{:?}", ao.other_options),
            );
        }
        (eo, ao) => scalar(
            Field::OptPresent,
            format!("{}", eo.is_some()),
            format!("{}", ao.is_some()),
        ),
    }
    for (field, es, as_) in [
        (Field::Answer, &e.answer, &a.answer),
        (Field::Authority, &e.authority, &a.authority),
        (Field::Additional, &e.additional, &a.additional),
    ] {
        if es != as_ {
            let (ev, av) = lines_diff(es, as_);
            diffs.push(FieldDiff {
                field,
                expected: ev,
                actual: av,
            });
        }
    }
    diffs
}

/// A difference between steerdns and the reference that is intended. Listed
/// in one table in the test, each with its reason; never skipped silently.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KnownDifference {
    /// Query id, or `*` for every query.
    pub(crate) query: &'static str,
    /// The fields that may differ for that query.
    pub(crate) fields: &'static [Field],
    /// Why the difference is intended.
    pub(crate) reason: &'static str,
}

/// The result of comparing a whole capture against the reference.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Unexpected differences, rendered per query. Empty means conformant.
    pub(crate) failures: Vec<String>,
    /// Differences that the known-differences table allows, rendered.
    pub(crate) allowed: Vec<String>,
    /// Table entries that matched no difference (the behaviours now agree).
    pub(crate) stale: Vec<String>,
}

impl Report {
    /// The whole report as text.
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        if !self.allowed.is_empty() {
            s.push_str("Known, intended differences (see KNOWN_DIFFERENCES):\n");
            for a in &self.allowed {
                let _ = writeln!(s, "  {a}");
            }
        }
        if !self.stale.is_empty() {
            s.push_str("Known differences that no longer differ (remove them from the table):\n");
            for a in &self.stale {
                let _ = writeln!(s, "  {a}");
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(
                s,
                "{} queries differ from the reference:",
                self.failures.len()
            );
            for f in &self.failures {
                let _ = writeln!(s, "{f}");
            }
        }
        s
    }
}

fn allowed_by<'t>(
    known: &'t [KnownDifference],
    query: &str,
    field: Field,
) -> Option<&'t KnownDifference> {
    known
        .iter()
        .find(|k| (k.query == query || k.query == "*") && k.fields.contains(&field))
}

/// Compares `actual` against the `expected` reference capture, query by query
/// (matched by id; the query itself must be the same), and applies the
/// known-differences table.
pub(crate) fn compare_all(
    expected: &[Capture],
    actual: &[Capture],
    known: &[KnownDifference],
) -> Report {
    let mut report = Report::default();
    let reference: BTreeMap<&str, &Capture> =
        expected.iter().map(|c| (c.query.id.as_str(), c)).collect();
    let mut used: Vec<(String, Field)> = Vec::new();
    for cap in actual {
        let id = cap.query.id.as_str();
        let Some(reference) = reference.get(id) else {
            report.failures.push(format!(
                "- {id}: not in the reference capture (regenerate the fixture with tests/conformance/regen.sh)"
            ));
            continue;
        };
        if reference.query != cap.query {
            report.failures.push(format!(
                "- {id}: the reference was captured for another query:\n      reference: {}\n      now:       {}\n    (regenerate the fixture with tests/conformance/regen.sh)",
                reference.query.describe(),
                cap.query.describe()
            ));
            continue;
        }
        let mut unexpected = String::new();
        for d in compare(&reference.response, &cap.response) {
            if let Some(k) = allowed_by(known, id, d.field) {
                used.push((k.query.to_owned(), d.field));
                report.allowed.push(format!(
                    "{id} {}: {} (reference {}, steerdns {})",
                    d.field.name(),
                    k.reason,
                    d.expected.trim(),
                    d.actual.trim()
                ));
            } else {
                let _ = write!(
                    unexpected,
                    "\n    {}:\n      expected: {}\n      actual:   {}",
                    d.field.name(),
                    d.expected,
                    d.actual
                );
            }
        }
        if !unexpected.is_empty() {
            report
                .failures
                .push(format!("- {}{unexpected}", cap.query.describe()));
        }
    }
    for k in known {
        for f in k.fields {
            if !used.iter().any(|(q, uf)| q == k.query && uf == f) {
                report
                    .stale
                    .push(format!("{} {}: {}", k.query, f.name(), k.reason));
            }
        }
    }
    report
}

//------------ Sizes ------------

/// Reply sizes of steerdns against the reference.
#[derive(Debug, Default)]
pub(crate) struct SizeReport {
    /// A Markdown table: query, reference size, steerdns size, difference.
    pub(crate) table: String,
    /// Replies larger than the reference's and not listed as known.
    pub(crate) failures: Vec<String>,
    /// Known-larger entries whose reply is no longer larger.
    pub(crate) stale: Vec<String>,
}

/// Compares the size of every reply with the reference's (same query id).
pub(crate) fn compare_sizes(
    expected: &[Capture],
    actual: &[Capture],
    known_larger: &[(&str, &str)],
) -> SizeReport {
    let mut report = SizeReport::default();
    let reference: BTreeMap<&str, &Capture> =
        expected.iter().map(|c| (c.query.id.as_str(), c)).collect();
    report
        .table
        .push_str("| query | reference | steerdns | difference |\n|---|---|---|---|\n");
    for cap in actual {
        let id = cap.query.id.as_str();
        let (Some(Outcome::Reply(e)), Outcome::Reply(a)) =
            (reference.get(id).map(|c| &c.response), &cap.response)
        else {
            continue;
        };
        let diff = a.size as i64 - e.size as i64;
        let _ = writeln!(
            report.table,
            "| {id} | {} | {} | {diff:+} |",
            e.size, a.size
        );
        let known = known_larger.iter().find(|(q, _)| *q == id);
        match (diff > 0, known) {
            (true, None) => report.failures.push(format!(
                "{}: {} octets, reference {}",
                cap.query.describe(),
                a.size,
                e.size
            )),
            (false, Some((q, _))) => report.stale.push((*q).to_owned()),
            _ => {}
        }
    }
    report
}
