//! The fast paths of the query parser against the general code they stand in for: the same
//! result for well-formed queries of every shape, for random packets and for mutations of
//! well-formed ones (flipped octets, cut short, counts changed).

use proptest::prelude::*;

use super::*;

/// Well-formed queries of the shapes the parser knows: no OPT, OPT with each option, a
/// TSIG, records in other sections, compressed owners, two OPT records.
fn seeds() -> Vec<Vec<u8>> {
    let question = b"\x06static\x04gslb\x07ExAmPlE\x04test\x00\x00\x01\x00\x01";
    let header = |an: u16, ns: u16, ar: u16| {
        let mut p = vec![0x12, 0x34, 0x01, 0x20, 0, 1];
        for c in [an, ns, ar] {
            p.extend_from_slice(&c.to_be_bytes());
        }
        p.extend_from_slice(question);
        p
    };
    let opt = |options: &[u8]| {
        let mut o = vec![0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0];
        o.extend_from_slice(&(options.len() as u16).to_be_bytes());
        o.extend_from_slice(options);
        o
    };
    let ecs = b"\x00\x08\x00\x07\x00\x01\x18\x00\x51\x02\x45";
    let cookie = b"\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08";
    let nsid = b"\x00\x03\x00\x00";
    let keepalive = b"\x00\x0b\x00\x00";
    let tsig = b"\x03key\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x04abcd";
    let a_record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04";
    let mut seeds = vec![header(0, 0, 0)];
    for options in [
        &[][..],
        &ecs[..],
        &cookie[..],
        &nsid[..],
        &keepalive[..],
        &[&ecs[..], &cookie[..], &nsid[..]].concat(),
        &[&ecs[..], &ecs[..]].concat(),
        b"\x00\x08\x00\x02\x00\x01",
        b"\x00\x0a\x00\x05\x01\x02\x03\x04\x05",
        b"\xff\xff\x00\x01\x00",
    ] {
        let mut p = header(0, 0, 1);
        p.extend_from_slice(&opt(options));
        seeds.push(p);
    }
    let mut p = header(0, 0, 2);
    p.extend_from_slice(&opt(&ecs[..]));
    p.extend_from_slice(tsig);
    seeds.push(p);
    let mut p = header(0, 0, 1);
    p.extend_from_slice(tsig);
    seeds.push(p);
    let mut p = header(1, 0, 1);
    p.extend_from_slice(a_record);
    p.extend_from_slice(&opt(&cookie[..]));
    seeds.push(p);
    let mut p = header(0, 0, 2);
    p.extend_from_slice(&opt(&[]));
    p.extend_from_slice(&opt(&[]));
    seeds.push(p);
    // An OPT record whose owner is a pointer to the root label of the question name.
    let mut p = header(0, 0, 1);
    let root = u8::try_from(12 + question.len() - 5).expect("small");
    p.extend_from_slice(&[0xC0, root]);
    p.extend_from_slice(&opt(&[])[1..]);
    seeds.push(p);
    seeds
}

/// The record sections as the general walk and as the fast path read them, from `at`
/// with the packet's own counts and with every count a fast path takes.
fn assert_same_records(p: &[u8]) {
    if p.len() < 12 {
        return;
    }
    let own = [6, 8, 10].map(|at| u16::from_be_bytes([p[at], p[at + 1]]));
    for at in 12..=p.len() + 1 {
        for counts in [own, [0, 0, 0], [0, 0, 1], [0, 1, 1], [1, 0, 0]] {
            assert_eq!(
                read_records(p, at, counts),
                read_records_general(p, at, counts),
                "at {at}, counts {counts:?}, packet {p:02x?}"
            );
        }
    }
}

#[test]
fn fast_records_equal_the_general_walk_on_well_formed_queries() {
    for p in seeds() {
        assert_same_records(&p);
        // Cut short anywhere.
        for len in 0..p.len() {
            assert_same_records(&p[..len]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn fast_records_equal_the_general_walk_on_mutated_queries(
        seed in 0usize..64,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let seeds = seeds();
        let mut p = seeds[seed % seeds.len()].clone();
        for (at, byte) in flips {
            let at = at % p.len();
            p[at] = byte;
        }
        let cut = p.len() - cut % 4;
        assert_same_records(&p[..cut]);
    }

    #[test]
    fn fast_records_equal_the_general_walk_on_random_packets(
        mut p in proptest::collection::vec(any::<u8>(), 12..80),
        shape in 0u8..3,
    ) {
        // Mostly one record in the additional section, often a root-owned OPT record.
        p[6..12].copy_from_slice(&[0, 0, 0, 0, 0, shape.min(1)]);
        if shape == 2 && p.len() > 15 {
            p[12] = 0;
            p[13..15].copy_from_slice(&rtype::OPT.to_be_bytes());
        }
        assert_same_records(&p);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn copy_lowercase_equals_the_octet_at_a_time(
        from in proptest::collection::vec(any::<u8>(), 0..300),
        len in 0usize..=255,
    ) {
        let len = len.min(from.len());
        let mut to = [0x55; MAX_NAME_LEN];
        copy_lowercase(&from, len, &mut to);
        prop_assert_eq!(&to[..len], &from[..len].to_ascii_lowercase()[..]);
    }
}
