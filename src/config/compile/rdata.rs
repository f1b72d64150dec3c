//! Zone-file presentation RDATA to wire bytes (hickory-proto's parser and encoder).

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use crate::dns::name::Name;

/// Encodes presentation-format RDATA to wire bytes (names uncompressed), returning the target
/// name for types that point at one. Relative names in the last field of NS, CNAME, PTR, MX
/// and SRV are made absolute with the zone origin, as in a zone file.
pub(super) fn encode_rdata(
    rtype: RecordType,
    text: &str,
    origin: &Name,
) -> Result<(Vec<u8>, Option<Name>), String> {
    let names_last = matches!(
        rtype,
        RecordType::NS | RecordType::CNAME | RecordType::PTR | RecordType::MX | RecordType::SRV
    );
    let mut text = text.trim().to_string();
    if names_last {
        let (head, last) = match text.rsplit_once(char::is_whitespace) {
            Some((h, l)) => (format!("{h} "), l.to_string()),
            None => (String::new(), text.clone()),
        };
        let abs = Name::parse_relative(&last, origin).map_err(|e| e.to_string())?;
        text = format!("{head}{abs}");
    }
    let rdata = RData::try_from_str(rtype, &text).map_err(|e| e.to_string())?;
    let target = match &rdata {
        RData::CNAME(n) => Some(n.0.to_ascii()),
        RData::NS(n) => Some(n.0.to_ascii()),
        RData::PTR(n) => Some(n.0.to_ascii()),
        RData::MX(mx) => Some(mx.exchange.to_ascii()),
        RData::SRV(srv) => Some(srv.target.to_ascii()),
        _ => None,
    };
    let target = match target {
        Some(t) => Some(Name::parse_absolute(&t).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rdata.emit(&mut enc).map_err(|e| e.to_string())?;
    if buf.len() > 65_535 {
        return Err("record data longer than 65535 bytes".into());
    }
    Ok((buf, target))
}
