//! The response writer alone: name compression, whole RRsets, size limits and truncation.
//!
//! Input: two octets of size limit, then operations of four octets each: section and
//! overflow rule, record type (A, NS, CNAME, MX, SOA, SRV), owner and target names drawn from
//! a small pool of labels (so names share suffixes and compress), and the RRset size. The
//! operations are written in section order; the writer's result is decoded by hickory-proto
//! (an independent parser) and must hold exactly the sets the writer accepted, every name
//! equal to what was written (ignoring case), within the limit, TC set exactly when a set
//! that truncates did not fit.
#![no_main]

use hickory_proto::op::Message;
use libfuzzer_sys::fuzz_target;
use steerdns::dns::name::Name;
use steerdns::dns::rdata::{self, Rdata};
use steerdns::dns::wire::{Header, Overflow, Owner, ResponseWriter, Section, rtype};

const LABELS: [&str; 8] = ["a", "B", "mx", "ns1", "example", "TEST", "x-y", "c0"];

/// A name of 1 to 4 labels picked by the bits of `seed`, under "test." most of the time.
fn pick_name(seed: u8, extra: u8) -> String {
    let count = 1 + usize::from(seed & 3);
    let mut labels: Vec<&str> = (0..count)
        .map(|i| LABELS[usize::from((extra >> i) ^ (seed >> (i + 2))) & 7])
        .collect();
    if seed & 0x80 == 0 {
        labels.push("test");
    }
    labels.join(".") + "."
}

struct Expected {
    section: usize,
    line: String,
}

fuzz_target!(|data: &[u8]| {
    let Some((limit, ops)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limit = usize::from(u16::from_be_bytes(*limit)).max(64);
    let question: &[u8] = b"\x03Ns1\x07example\x04test\x00\x00\x02\x00\x01";
    let origin = Name::parse_absolute("example.test.").expect("origin");
    let mut ops: Vec<[u8; 4]> = ops
        .chunks_exact(4)
        .take(64)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    ops.sort_by_key(|op| op[0] % 3);
    let mut buf = Vec::new();
    let header = Header {
        id: 1,
        opcode: 0,
        rd: false,
        cd: false,
    };
    let mut w = ResponseWriter::new(&mut buf, header, Some(question), limit);
    let mut expected: Vec<Expected> = Vec::new();
    let mut truncated = false;
    for [kind, typ, names, size] in ops {
        let section = match kind % 3 {
            0 => Section::Answer,
            1 => Section::Authority,
            _ => Section::Additional,
        };
        let overflow = if kind & 0x80 != 0 {
            Overflow::Omit
        } else {
            Overflow::Truncate
        };
        let owner_text = pick_name(names, size);
        let owner_name = Name::parse_absolute(&owner_text).expect("pool names are valid");
        let owner = if names & 0x40 != 0 {
            Owner::Question
        } else {
            Owner::Name(owner_name.as_wire())
        };
        let owner_shown = if names & 0x40 != 0 {
            "ns1.example.test.".to_owned()
        } else {
            owner_text.to_ascii_lowercase()
        };
        let (code, texts): (u16, Vec<String>) = {
            let n = 1 + usize::from(size >> 6);
            let target = |i: usize| pick_name(typ.wrapping_add(i as u8 * 37), size ^ i as u8);
            match typ % 6 {
                0 => (
                    rtype::A,
                    (0..n).map(|i| format!("192.0.2.{}", i + 1)).collect(),
                ),
                1 => (rtype::NS, (0..n).map(target).collect()),
                2 => (rtype::CNAME, vec![target(0)]),
                3 => (
                    rtype::MX,
                    (0..n).map(|i| format!("{} {}", i * 10, target(i))).collect(),
                ),
                4 => (rtype::SOA, vec![]),
                _ => (
                    rtype::SRV,
                    (0..n).map(|i| format!("0 5 {} {}", i + 1, target(i))).collect(),
                ),
            }
        };
        let rdatas: Vec<Rdata> = if code == rtype::SOA {
            let m = Name::parse_absolute(&pick_name(typ, size)).expect("name");
            let r = Name::parse_absolute(&pick_name(size, typ)).expect("name");
            vec![Rdata::soa(&m, &r, [1, 2, 3, 4, 5])]
        } else {
            texts
                .iter()
                .map(|t| rdata::encode(code, t, &origin).expect("valid data").rdata)
                .collect()
        };
        let fitted = w.push_rrset(section, overflow, owner, code, 300, &rdatas);
        if fitted {
            for rd in &rdatas {
                expected.push(Expected {
                    section: section as usize,
                    line: format!("{owner_shown} {code} {}", hex(rd.bytes())),
                });
            }
        } else if w.is_truncated() && !truncated {
            assert_eq!(overflow, Overflow::Truncate, "an omitted set truncated");
            truncated = true;
            expected.clear();
        }
        assert_eq!(w.is_truncated(), truncated);
    }
    w.finish(None);
    assert!(buf.len() <= limit, "over the limit");
    assert_eq!(buf[2] & 0x02 != 0, truncated, "TC");
    let msg = Message::from_vec(&buf)
        .unwrap_or_else(|e| panic!("writer output does not parse: {e}\n{buf:02x?}"));
    let mut got = Vec::new();
    for (section, records) in [&msg.answers, &msg.authorities, &msg.additionals]
        .into_iter()
        .enumerate()
    {
        for r in records {
            // Re-encode the decoded RDATA uncompressed, lower-cased, to compare bytes.
            let mut bytes = Vec::new();
            let mut enc = hickory_proto::serialize::binary::BinEncoder::new(&mut bytes);
            enc.set_name_encoding(hickory_proto::serialize::binary::NameEncoding::Uncompressed);
            hickory_proto::serialize::binary::BinEncodable::emit(&r.data, &mut enc)
                .expect("re-encode");
            got.push((
                section,
                format!(
                    "{} {} {}",
                    r.name.to_ascii().to_ascii_lowercase(),
                    u16::from(r.record_type()),
                    hex(&bytes)
                ),
            ));
        }
    }
    let want: Vec<(usize, String)> = expected.into_iter().map(|e| (e.section, e.line)).collect();
    assert_eq!(got, want, "records differ\n{buf:02x?}");
});

/// Hex of the octets, ASCII letters folded to lower case first (names compare
/// case-insensitively; other data is folded alike on both sides).
fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{:02x}", x.to_ascii_lowercase()))
        .collect()
}
