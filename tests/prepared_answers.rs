//! Records prepared at load (the negative answers' SOA, `dns::compress::Prepared`, and the
//! static RRsets owned by the question, `RRset::at_question`) give the very bytes the general
//! writer gives: every name of the shipped example zone and names
//! around them (below, wildcard matches, NXDOMAIN, the SOA's own labels, the client's case),
//! every type the zone holds and a few it does not, with and without EDNS, with ECS, over UDP
//! and TCP, answered by the same snapshot with the prepared record and without it.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use common::Query;
use hickory_proto::rr::RecordType;
use steerdns::dns::answer::{QueryContext, Transport, answer};

/// The client's case: every other letter upper-cased.
fn mixed_case(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn prepared_records_equal_the_general_writer() {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("steerdns.toml");
    let prepared = steerdns::reload::build(&config, 1_763_700_000, 1, None).expect("loads");
    let mut general = steerdns::reload::build(&config, 1_763_700_000, 1, None).expect("loads");
    let mut static_sets = 0;
    for zone in &mut general.config.zones {
        assert!(
            zone.negative_soa.is_some(),
            "the example zone's SOA is prepared"
        );
        zone.negative_soa = None;
        for set in zone.nodes.values_mut().flat_map(|n| n.rrsets.iter_mut()) {
            static_sets += usize::from(set.at_question.take().is_some());
        }
    }
    assert!(static_sets >= 5, "{static_sets} RRsets prepared");
    let zone = &prepared.config.zones[0];
    let apex = zone.origin.to_string();
    let mut names: Vec<String> = zone.nodes.keys().map(ToString::to_string).collect();
    names.sort();
    let existing = names.clone();
    for n in &existing {
        names.push(format!("nx.{n}"));
        names.push(format!("a.b.{n}"));
        names.push(mixed_case(n));
    }
    // Labels of the SOA's names (ns1, hostmaster) right above the apex, and deep names.
    for n in [
        "ns1",
        "NS1",
        "hostmaster",
        "a.ns1",
        "x.hostmaster",
        "ns2",
        "mx1",
        "nope",
    ] {
        names.push(format!("{n}.{apex}"));
    }
    names.push(format!("{}{apex}", "l.".repeat(60)));
    names.push(format!("{}{apex}", "l.".repeat(100)));
    let types = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::NS,
        RecordType::CNAME,
        RecordType::SOA,
        RecordType::MX,
        RecordType::TXT,
        RecordType::SRV,
        RecordType::CAA,
        RecordType::DS,
        RecordType::HTTPS,
        RecordType::PTR,
        RecordType::ANY,
        RecordType::Unknown(99),
    ];
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut compared = 0;
    let mut negative = 0;
    for name in &names {
        for &qtype in &types {
            let queries = [
                Query::new(name, qtype),
                Query::new(name, qtype).edns(1232),
                Query::new(name, qtype).ecs("81.2.69.0", 24),
                Query::new(name, qtype).edns(512).nsid(),
            ];
            for q in &queries {
                let packet = q.to_bytes();
                for transport in [Transport::Udp, Transport::Tcp] {
                    let cx = QueryContext {
                        source: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                        transport,
                        rotation: 1,
                        now: 1_764_590_000,
                    };
                    let info_a = answer(&prepared, &packet, &cx, &mut a);
                    let info_b = answer(&general, &packet, &cx, &mut b);
                    assert_eq!(info_a, info_b, "{name} {qtype}");
                    assert_eq!(a, b, "{name} {qtype} {transport:?} {q:?}");
                    compared += 1;
                    let counts = (u16::from_be_bytes([a[6], a[7]]), a[9]);
                    if counts.0 == 0 && counts.1 > 0 {
                        negative += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 8_000, "{compared} answers compared");
    assert!(
        negative > compared / 3,
        "{negative} negative answers of {compared}"
    );
}
