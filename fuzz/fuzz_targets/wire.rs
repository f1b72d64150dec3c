//! The query parser, the ECS option parser and DNS Cookie checking, alone: never panic, and
//! what they accept is consistent (ECS: a known family, a prefix within it, no address bits
//! past the prefix; query: the name fits 255 octets and the question lies inside the packet;
//! cookie: the option has a legal length, its check never accepts a cookie that was not made
//! with the secret for that client and address, and a cookie it makes is accepted).
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use steerdns::dns::cookie::{self, CookieSecret, CookieStatus};
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
    let mut qname = [0; 255];
    if let Ok(q) = parse_query(data, &mut qname) {
        assert!(q.qname().len() <= 255);
        assert_eq!(q.qname().last(), Some(&0));
        let question = q.question_bytes();
        assert_eq!(question.len(), q.qname().len() + 4);
        assert!(question[..q.qname().len()].eq_ignore_ascii_case(q.qname()));
        if let Some(e) = q.edns {
            assert!(e.udp_size >= 512);
            if let Some(c) = e.cookie {
                check_cookie(data, c.client(data), c.server(data));
            }
        }
    }
});

/// Cookie checks on a parsed COOKIE option, with a secret, address and time taken from the
/// packet's first octets.
fn check_cookie(data: &[u8], client: &[u8; 8], server: &[u8]) {
    assert!(server.is_empty() || (8..=32).contains(&server.len()));
    let mut key = [0u8; 16];
    for (k, b) in key.iter_mut().zip(data) {
        *k = *b;
    }
    let secret = CookieSecret::from_bytes(key);
    let ip = IpAddr::from([data[0], data[1], data[2], data[3]]);
    let now = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    let checked = cookie::check(&secret, client, server, ip, now);
    assert_eq!(checked.reply[..4], [1, 0, 0, 0]);
    match checked.status {
        CookieStatus::ClientOnly => assert!(server.is_empty()),
        CookieStatus::Valid => {
            // Only a cookie made with this secret for this client and address.
            assert_eq!(server.len(), 16);
            let stamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
            let remade = cookie::server_cookie(&secret, client, ip, stamp);
            if server[1..4] == [0, 0, 0] {
                assert_eq!(remade[..], server[..]);
            }
        }
        CookieStatus::Invalid => assert!(!server.is_empty()),
        CookieStatus::None => panic!("a cookie was present"),
    }
    // A cookie made now is accepted now, and echoed.
    let made = cookie::server_cookie(&secret, client, ip, now);
    let again = cookie::check(&secret, client, &made, ip, now);
    assert_eq!(again.status, CookieStatus::Valid);
    assert_eq!(again.reply, made);
}
