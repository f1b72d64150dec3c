//! The query packets the benchmarks send: shared by `benches/hotpath.rs` and
//! `examples/answer_loop.rs` (included with `#[path]`; not a bench target of its own).

/// A query with RD clear, EDNS (1232) and, when given, an ECS option.
pub fn query(name: &str, qtype: u16, ecs: Option<([u8; 4], u8)>) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    match ecs {
        None => p.extend_from_slice(&[0, 0]),
        Some((addr, prefix)) => {
            let n = (prefix as usize).div_ceil(8);
            let rdlen = 4 + 4 + n;
            p.extend_from_slice(&(rdlen as u16).to_be_bytes());
            p.extend_from_slice(&[0, 8]);
            p.extend_from_slice(&((4 + n) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 1, prefix, 0]);
            p.extend_from_slice(&addr[..n]);
        }
    }
    p
}
