//! Record data: presentation format (zone TOML `data` strings) to wire form, at load time.
//!
//! The one place that uses hickory-proto's RDATA parsers. Each [`Rdata`] keeps the
//! uncompressed wire form (what a DNSSEC signature covers) and the offsets of the names in
//! it that a response may compress: the RDATA names of NS, CNAME, PTR, MX and SOA, the
//! types RFC 1035 defines with names (RFC 3597 4). The names of later types (SRV, NAPTR,
//! SVCB, HTTPS...) are never compressed (RFC 2782, RFC 3597 4, RFC 9460 2.2).

use std::str::FromStr;

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::codes::rtype;
use super::name::{Name, NameError};

/// Record data in uncompressed wire form, with where its compressible names start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rdata {
    bytes: Box<[u8]>,
    /// Offsets in `bytes` of compressible names (SOA has two; others at most one).
    names: [u16; 2],
    name_count: u8,
}

impl Rdata {
    /// RDATA with no compressible name.
    pub fn plain(bytes: impl Into<Box<[u8]>>) -> Self {
        Self {
            bytes: bytes.into(),
            names: [0; 2],
            name_count: 0,
        }
    }

    /// RDATA that is one compressible name (NS, CNAME, PTR).
    pub fn name(name: &Name) -> Self {
        Self {
            bytes: name.as_wire().into(),
            names: [0; 2],
            name_count: 1,
        }
    }

    /// SOA RDATA (RFC 1035 3.3.13): both names compressible.
    pub fn soa(mname: &Name, rname: &Name, numbers: [u32; 5]) -> Self {
        let mut bytes = Vec::with_capacity(mname.as_wire().len() + rname.as_wire().len() + 20);
        bytes.extend_from_slice(mname.as_wire());
        bytes.extend_from_slice(rname.as_wire());
        for v in numbers {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        Self {
            bytes: bytes.into(),
            names: [0, mname.as_wire().len() as u16],
            name_count: 2,
        }
    }

    /// The uncompressed wire form.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Offsets of the compressible names in [`bytes`](Self::bytes), ascending.
    pub fn names(&self) -> &[u16] {
        &self.names[..usize::from(self.name_count)]
    }
}

/// The uncompressed wire form (what DNSSEC signs, RFC 4034 6.2).
impl AsRef<[u8]> for Rdata {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Why a record's data was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdataError {
    /// A name in the data is malformed.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The presentation format does not parse for this type.
    #[error("{0}")]
    Syntax(String),
    /// Longer than RDLENGTH can say.
    #[error("record data longer than 65535 bytes")]
    TooLong,
}

/// One record's data, encoded, and the name it points at (for CNAME chasing and additional
/// data) for CNAME, NS, PTR, MX and SRV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The data.
    pub rdata: Rdata,
    /// The target name, lower-cased.
    pub target: Option<Name>,
}

/// A type mnemonic (`A`, `mx`, `TYPE65000`), as its code.
pub fn parse_type(text: &str) -> Option<u16> {
    let upper = text.to_ascii_uppercase();
    if let Some(number) = upper.strip_prefix("TYPE") {
        return number.parse().ok();
    }
    RecordType::from_str(&upper).ok().map(u16::from)
}

/// The mnemonic of a type code (`TYPEn` for types without one, RFC 3597 5).
pub fn type_name(code: u16) -> String {
    match RecordType::from(code) {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        t => t.to_string(),
    }
}

/// Wire-form RDATA of type `code` in presentation format (`10 mx1.example.test.`), for
/// people (`steerdns plan`); the RFC 3597 form (`\# 4 7f000001`) when it cannot be decoded.
pub fn presentation(code: u16, bytes: &[u8]) -> String {
    use hickory_proto::serialize::binary::{BinDecoder, Restrict};
    if code == rtype::TXT
        && let Some(text) = txt_presentation(bytes)
    {
        return text;
    }
    let decoded = u16::try_from(bytes.len()).ok().and_then(|len| {
        let mut decoder = BinDecoder::new(bytes);
        RData::read(&mut decoder, RecordType::from(code), Restrict::new(len)).ok()
    });
    match decoded {
        Some(rdata) => rdata.to_string(),
        None => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("\\# {} {hex}", bytes.len())
        }
    }
}

/// TXT RDATA as quoted character-strings (`"v=spf1 -all" "second"`); `None` when the
/// lengths do not add up.
fn txt_presentation(mut bytes: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let (chunk, tail) = rest.split_at_checked(usize::from(len))?;
        let mut part = String::from("\"");
        for &b in chunk {
            match b {
                b'"' | b'\\' => {
                    part.push('\\');
                    part.push(char::from(b));
                }
                0x20..=0x7e => part.push(char::from(b)),
                _ => part.push_str(&format!("\\{b:03}")),
            }
        }
        part.push('"');
        parts.push(part);
        bytes = tail;
    }
    Some(parts.join(" "))
}

/// Encodes presentation-format RDATA of type `rtype` to wire form. A relative name in the
/// last field of NS, CNAME, PTR, MX and SRV is made absolute with `origin`, as in a zone
/// file.
pub fn encode(code: u16, text: &str, origin: &Name) -> Result<Encoded, RdataError> {
    let names_last = matches!(
        code,
        rtype::NS | rtype::CNAME | rtype::PTR | rtype::MX | rtype::SRV
    );
    let mut text = text.trim().to_string();
    if names_last {
        let (head, last) = match text.rsplit_once(char::is_whitespace) {
            Some((h, l)) => (format!("{h} "), l.to_string()),
            None => (String::new(), text.clone()),
        };
        let abs = Name::parse_relative(&last, origin)?;
        text = format!("{head}{abs}");
    }
    let rdata = RData::try_from_str(RecordType::from(code), &text)
        .map_err(|e| RdataError::Syntax(e.to_string()))?;
    let target = match &rdata {
        RData::CNAME(n) => Some(n.0.to_ascii()),
        RData::NS(n) => Some(n.0.to_ascii()),
        RData::PTR(n) => Some(n.0.to_ascii()),
        RData::MX(mx) => Some(mx.exchange.to_ascii()),
        RData::SRV(srv) => Some(srv.target.to_ascii()),
        _ => None,
    };
    let target = target.map(|t| Name::parse_absolute(&t)).transpose()?;
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rdata
        .emit(&mut enc)
        .map_err(|e| RdataError::Syntax(e.to_string()))?;
    if buf.len() > 65_535 {
        return Err(RdataError::TooLong);
    }
    // Where the compressible name starts (RFC 3597 4: the types of RFC 1035).
    let name_at = match code {
        rtype::NS | rtype::CNAME | rtype::PTR => Some(0),
        rtype::MX => Some(2),
        _ => None,
    };
    let rdata = Rdata {
        bytes: buf.into(),
        names: [name_at.unwrap_or(0), 0],
        name_count: u8::from(name_at.is_some()),
    };
    Ok(Encoded { rdata, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Name {
        Name::parse_absolute("example.test.").unwrap()
    }

    #[test]
    fn names_and_their_places() {
        let mx = encode(rtype::MX, "10 mail", &origin()).unwrap();
        assert_eq!(mx.rdata.bytes(), b"\x00\x0a\x04mail\x07example\x04test\x00");
        assert_eq!(mx.rdata.names(), &[2]);
        assert_eq!(mx.target.unwrap().to_string(), "mail.example.test.");
        let ns = encode(rtype::NS, "ns1.other.", &origin()).unwrap();
        assert_eq!(ns.rdata.names(), &[0]);
        assert_eq!(ns.rdata.bytes(), b"\x03ns1\x05other\x00");
        // SRV targets are never compressed (RFC 2782).
        let srv = encode(rtype::SRV, "0 5 5060 sip", &origin()).unwrap();
        assert!(srv.rdata.names().is_empty());
        assert_eq!(srv.target.unwrap().to_string(), "sip.example.test.");
        let a = encode(rtype::A, "192.0.2.1", &origin()).unwrap();
        assert_eq!(a.rdata.bytes(), &[192, 0, 2, 1]);
        assert!(a.rdata.names().is_empty() && a.target.is_none());
    }

    #[test]
    fn soa_has_two_names() {
        let m = Name::parse_absolute("ns1.example.test.").unwrap();
        let r = Name::parse_absolute("hostmaster.example.test.").unwrap();
        let soa = Rdata::soa(&m, &r, [1, 2, 3, 4, 5]);
        assert_eq!(soa.names(), &[0, m.as_wire().len() as u16]);
        assert_eq!(
            soa.bytes().len(),
            m.as_wire().len() + r.as_wire().len() + 20
        );
    }

    #[test]
    fn errors_and_types() {
        assert!(matches!(
            encode(rtype::A, "not an address", &origin()),
            Err(RdataError::Syntax(_))
        ));
        assert!(matches!(
            encode(rtype::CNAME, "a..b.", &origin()),
            Err(RdataError::Name(_))
        ));
        assert_eq!(parse_type("mx"), Some(rtype::MX));
        assert_eq!(parse_type("TYPE65000"), Some(65000));
        assert_eq!(type_name(rtype::AAAA), "AAAA");
        assert_eq!(type_name(65000), "TYPE65000");
    }
}
