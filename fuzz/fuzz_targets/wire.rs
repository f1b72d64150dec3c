//! The query parser and the ECS option parser, alone: never panic, and what they accept is
//! consistent (ECS: a known family, a prefix within it, no address bits past the prefix;
//! query: the name fits 255 octets and the question lies inside the packet).
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use steerdns::dns::wire::{parse_ecs, parse_query};

fuzz_target!(|data: &[u8]| {
    if let Ok(ecs) = parse_ecs(data) {
        let bits: u32 = match ecs.addr {
            IpAddr::V4(a) => {
                assert!(ecs.source_prefix <= 32);
                u32::from(a)
                    .checked_shl(u32::from(ecs.source_prefix))
                    .unwrap_or(0)
            }
            IpAddr::V6(a) => {
                assert!(ecs.source_prefix <= 128);
                let rest = u128::from(a)
                    .checked_shl(u32::from(ecs.source_prefix))
                    .unwrap_or(0);
                u32::from(rest != 0)
            }
        };
        assert_eq!(bits, 0, "address bits past the prefix: {ecs:?}");
        assert_eq!(data.len(), 4 + usize::from(ecs.source_prefix).div_ceil(8));
    }
    if let Ok(q) = parse_query(data) {
        assert!(q.qname().len() <= 255);
        assert_eq!(q.qname().last(), Some(&0));
        let question = q.question_bytes();
        assert_eq!(question.len(), q.qname().len() + 4);
        assert!(question[..q.qname().len()].eq_ignore_ascii_case(q.qname()));
        if let Some(e) = q.edns {
            assert!(e.udp_size >= 512);
        }
    }
});
