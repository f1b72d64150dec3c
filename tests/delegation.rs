//! Zone cuts and referrals (SPEC 5), over the real wire, and the `check` rules for them.
//!
//! An NS RRset below the apex delegates: a query at or below the cut gets a referral
//! (NOERROR, AA clear, the cut's NS RRset in the authority section, glue in the additional
//! section), except DS at the cut, which this zone answers (the DS, or NODATA with the SOA).
//! Glue of name servers below the cut is needed to follow the referral: when it does not
//! fit, the reply is truncated (RFC 9471); addresses of other name servers of this zone go
//! in only as room allows. `check` rejects data below a cut other than glue, steered services
//! at or below a cut and DS away from a cut, and warns about name servers in the zone
//! without an address. The same referrals are compared with Knot in `knot_conformance.rs`.

mod common;

use std::net::SocketAddr;

use common::external::{Stub, Unbound, UnboundOptions};
use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

const ORIGIN: &str = "deleg.test.";

/// `label.deleg.test.`
fn n(label: &str) -> String {
    format!("{label}.{ORIGIN}")
}

const DS_DATA: &str = "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

fn zone() -> Zone {
    let mut z = Zone::new(ORIGIN)
        .minimum("30s")
        .record("@", "NS", &["ns1.deleg.test."])
        .record("ns1", "A", &["127.0.0.1"])
        .record("ns1", "AAAA", &["fd00::1"])
        // In-domain name servers with glue.
        .record("sub", "NS", &["ns.sub.deleg.test.", "ns2.sub.deleg.test."])
        .record("ns.sub", "A", &["127.0.3.1"])
        .record("ns.sub", "AAAA", &["fd00::3:1"])
        .record("ns2.sub", "A", &["127.0.3.2"])
        // A sibling name server (this zone's ns1) and one elsewhere.
        .record("sib", "NS", &["ns1.deleg.test.", "ns.elsewhere.test."])
        .record("ext", "NS", &["ns.elsewhere.test."])
        // A secure delegation: the DS is this zone's.
        .record("secure", "NS", &["ns.secure.deleg.test."])
        .record("secure", "DS", &[DS_DATA])
        .record("ns.secure", "A", &["127.0.3.3"])
        // The cut's own name as its name server: glue at the cut.
        .record("self", "NS", &["self.deleg.test."])
        .record("self", "A", &["127.0.3.4"])
        // A CNAME of this zone into the child.
        .record("tocut", "CNAME", &["www.sub.deleg.test."])
        .record("static", "A", &["127.0.0.30"])
        // 12 in-domain name servers with A and AAAA: the glue needs more than 512 octets.
        .record("*.wild", "TXT", &["\"wild\""]);
    let big: Vec<String> = (1..=12)
        .map(|i| format!("ns{i:02}.big.deleg.test."))
        .collect();
    let big_refs: Vec<&str> = big.iter().map(String::as_str).collect();
    z = z.record("big", "NS", &big_refs);
    for i in 1..=12 {
        z = z
            .record(&format!("ns{i:02}.big"), "A", &[&format!("127.0.4.{i}")])
            .record(&format!("ns{i:02}.big"), "AAAA", &[&format!("fd00::4:{i}")]);
    }
    // 12 sibling name servers (of this zone, outside the cut): their addresses are optional.
    let wide: Vec<String> = (1..=12).map(|i| format!("s{i:02}.deleg.test.")).collect();
    let wide_refs: Vec<&str> = wide.iter().map(String::as_str).collect();
    z = z.record("wide", "NS", &wide_refs);
    for i in 1..=12 {
        z = z
            .record(&format!("s{i:02}"), "A", &[&format!("127.0.5.{i}")])
            .record(&format!("s{i:02}"), "AAAA", &[&format!("fd00::5:{i}")]);
    }
    z
}

/// A section as sorted "name type rdata" lines, lower case, without TTLs.
fn lines(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data).to_ascii_lowercase())
        .collect();
    v.sort();
    v
}

/// Asserts `m` is a referral to `cut` with exactly `ns` in the authority section and
/// `glue` in the additional section (sorted "name type rdata" lines).
fn assert_referral(m: &Message, cut: &str, ns: &[&str], glue: &[&str]) {
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    assert!(
        !m.metadata.authoritative,
        "a referral is not authoritative: {m:?}"
    );
    assert!(!m.metadata.truncation, "{m:?}");
    assert!(m.answers.is_empty(), "{m:?}");
    let mut want_ns: Vec<String> = ns.iter().map(|t| format!("{cut} ns {t}")).collect();
    want_ns.sort();
    assert_eq!(lines(&m.authorities), want_ns, "{m:?}");
    let mut want_glue: Vec<String> = glue.iter().map(|g| g.to_string()).collect();
    want_glue.sort();
    assert_eq!(lines(&m.additionals), want_glue, "{m:?}");
}

#[test]
fn queries_at_and_below_a_cut_get_referrals_with_glue() {
    let d = Daemon::start(&zone());
    let sub_ns = ["ns.sub.deleg.test.", "ns2.sub.deleg.test."];
    let sub_glue = [
        "ns.sub.deleg.test. a 127.0.3.1",
        "ns.sub.deleg.test. aaaa fd00::3:1",
        "ns2.sub.deleg.test. a 127.0.3.2",
    ];
    let sub = n("sub");
    // At the cut, below it, glue names themselves, any type but DS at the cut.
    for (name, qtype) in [
        (n("sub"), RecordType::A),
        (n("sub"), RecordType::NS),
        (n("sub"), RecordType::SOA),
        (n("sub"), RecordType::ANY),
        (n("x.sub"), RecordType::A),
        (n("a.b.c.sub"), RecordType::TXT),
        (n("ns.sub"), RecordType::A),
        (n("ns.sub"), RecordType::AAAA),
        (n("x.sub"), RecordType::DS),
    ] {
        for m in [
            d.udp(Query::new(&name, qtype).edns(1232)),
            d.tcp(Query::new(&name, qtype)),
            d.udp(Query::new(&name, qtype).edns(1232).dnssec_ok()),
        ] {
            assert_referral(&m, &sub, &sub_ns, &sub_glue);
        }
    }
    // The question is echoed with its case; the referral is the same.
    let m = d.udp(Query::new("wWw.SuB.dElEg.TeSt.", RecordType::A));
    assert_eq!(m.queries[0].name().to_string(), "wWw.SuB.dElEg.TeSt.");
    assert_referral(&m, &sub, &sub_ns, &sub_glue);

    // DS at the cut is this zone's: NODATA with the SOA, or the DS, authoritative.
    let m = d.udp(Query::new(&n("sub"), RecordType::DS));
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative && m.answers.is_empty(), "{m:?}");
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA, "{m:?}");
    assert_eq!(m.authorities[0].ttl, 30, "negative TTL: {m:?}");
    let m = d.udp(Query::new(&n("secure"), RecordType::DS));
    assert!(m.metadata.authoritative, "{m:?}");
    assert_eq!(
        lines(&m.answers),
        [format!(
            "secure.deleg.test. ds {}",
            DS_DATA.to_ascii_lowercase()
        )]
    );
    // Below a secure cut: a referral like any other.
    let m = d.udp(Query::new(&n("www.secure"), RecordType::A));
    assert_referral(
        &m,
        &n("secure"),
        &["ns.secure.deleg.test."],
        &["ns.secure.deleg.test. a 127.0.3.3"],
    );
    // A sibling name server's addresses go in as glue; one outside the zone has none.
    let m = d.udp(Query::new(&n("www.sib"), RecordType::A));
    assert_referral(
        &m,
        &n("sib"),
        &["ns1.deleg.test.", "ns.elsewhere.test."],
        &[
            "ns1.deleg.test. a 127.0.0.1",
            "ns1.deleg.test. aaaa fd00::1",
        ],
    );
    let m = d.udp(Query::new(&n("ext"), RecordType::A));
    assert_referral(&m, &n("ext"), &["ns.elsewhere.test."], &[]);
    // Glue at the cut's own name.
    let m = d.udp(Query::new(&n("self"), RecordType::A));
    assert_referral(
        &m,
        &n("self"),
        &["self.deleg.test."],
        &["self.deleg.test. a 127.0.3.4"],
    );
    // A CNAME of this zone into the child: the CNAME is this zone's answer (AA, it names
    // the first owner), then the referral.
    let m = d.udp(Query::new(&n("tocut"), RecordType::A));
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative, "{m:?}");
    assert_eq!(
        lines(&m.answers),
        ["tocut.deleg.test. cname www.sub.deleg.test."]
    );
    assert_eq!(
        lines(&m.authorities),
        [
            "sub.deleg.test. ns ns.sub.deleg.test.",
            "sub.deleg.test. ns ns2.sub.deleg.test."
        ]
    );
    assert_eq!(lines(&m.additionals), sub_glue);
    // Names beside the cuts are unchanged: answers, NXDOMAIN, wildcards.
    let m = d.udp(Query::new(&n("static"), RecordType::A));
    assert!(
        m.metadata.authoritative && addrs(&m) == ["127.0.0.30"],
        "{m:?}"
    );
    let m = d.udp(Query::new(&n("nope"), RecordType::A));
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(m.metadata.authoritative);
    let m = d.udp(Query::new(&n("x.wild"), RecordType::TXT));
    assert!(m.metadata.authoritative && m.answers.len() == 1, "{m:?}");
    let m = d.udp(Query::new(ORIGIN, RecordType::NS));
    assert!(m.metadata.authoritative, "{m:?}");
    assert_eq!(lines(&m.answers), ["deleg.test. ns ns1.deleg.test."]);
}

#[test]
fn glue_a_referral_needs_truncates_and_optional_glue_is_left_out() {
    let d = Daemon::start(&zone());
    // 12 in-domain name servers, A and AAAA each: over 512 octets, so over UDP without
    // EDNS the referral cannot be given whole: TC=1, nothing else.
    let q = Query::new(&n("www.big"), RecordType::A);
    let m = d.udp(q.clone());
    assert!(m.metadata.truncation, "{m:?}");
    assert!(m.answers.is_empty() && m.authorities.is_empty() && m.additionals.is_empty());
    // With room (EDNS 1232, or TCP): all 12 NS and all 24 glue RRsets.
    for m in [d.udp(q.clone().edns(1232)), d.tcp(q.clone())] {
        assert!(!m.metadata.truncation && !m.metadata.authoritative, "{m:?}");
        assert_eq!(m.authorities.len(), 12, "{m:?}");
        assert_eq!(m.additionals.len(), 24, "{m:?}");
    }
    // 12 sibling name servers: their addresses are optional, so what does not fit in 512
    // octets is left out whole (A and AAAA RRsets never split) and TC stays clear.
    let q = Query::new(&n("www.wide"), RecordType::A);
    let m = d.udp(q.clone());
    assert!(!m.metadata.truncation, "{m:?}");
    assert_eq!(m.authorities.len(), 12, "{m:?}");
    assert!(
        !m.additionals.is_empty() && m.additionals.len() < 24,
        "{}",
        m.additionals.len()
    );
    let m = d.tcp(q);
    assert_eq!(m.additionals.len(), 24, "{m:?}");
}

/// Runs `steerdns check` on the default main config with `zone` as `zones/z.toml`.
fn check(zone: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("steerdns.toml"), "").unwrap();
    std::fs::write(dir.path().join("zones/z.toml"), zone).unwrap();
    run(&["check", "-c", "steerdns.toml"], dir.path())
}

/// The 1-based line of the `[[record]]` or `[service...]` table that holds the first line
/// containing `needle`.
fn table_line(text: &str, needle: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the zone"));
    (0..=at)
        .rev()
        .find(|&i| lines[i].starts_with('['))
        .expect("a table header above")
        + 1
}

#[test]
fn check_rejects_data_below_a_cut_and_steered_names_there() {
    let zone = Zone::new("cut.test.")
        .record("@", "NS", &["ns1.cut.test."])
        .record("ns1", "A", &["127.0.0.1"])
        .record("sub", "NS", &["ns.sub.cut.test."])
        .record("ns.sub", "A", &["127.0.3.1"])
        .record("sub", "TXT", &["\"at the cut\""])
        .record("sub", "A", &["127.0.3.9"])
        .record("www.sub", "A", &["127.0.3.10"])
        .record("deeper.sub", "NS", &["ns.elsewhere.test."])
        .record("nocut", "DS", &[DS_DATA])
        .record("@", "DS", &[&DS_DATA.replace("12345", "54321")])
        .record("*.wild", "NS", &["ns.elsewhere.test."])
        .regions(&["one"])
        .toml(
            r#"
[service."app.sub"]
geo = { default = "one" }
[service."app.sub".region.one]
endpoints = ["127.0.0.5"]
"#,
        )
        .service("sub", "one", &[("one", &["127.0.0.6"])]);
    let text = zone.to_string();
    let (code, _, err) = check(&text);
    assert_eq!(code, 1, "{err}");
    let expect = [
        (
            table_line(&text, "\"at the cut\""),
            "sub.cut.test. is a zone cut",
        ),
        (
            table_line(&text, "127.0.3.9"),
            "sub.cut.test. is a zone cut",
        ),
        (
            table_line(&text, "127.0.3.10"),
            "below the zone cut at sub.cut.test.",
        ),
        (
            table_line(&text, "name = \"deeper.sub\""),
            "delegation below another is occluded",
        ),
        (
            table_line(&text, "name = \"nocut\""),
            "DS records go only at a zone cut",
        ),
        (
            table_line(&text, "54321 13 2"),
            "belongs in the parent zone",
        ),
        (
            table_line(&text, "name = \"*.wild\""),
            "a wildcard cannot delegate",
        ),
        (
            table_line(&text, "[service.\"app.sub\"]"),
            "service app.sub",
        ),
        (
            table_line(&text, "[service.sub]"),
            "at or below the zone cut",
        ),
    ];
    for (line, what) in expect {
        let place = format!("z.toml:{line}:");
        assert!(
            err.lines().any(|l| l.contains(&place) && l.contains(what)),
            "missing {place} {what} in:\n{err}\nzone:\n{text}"
        );
    }
    // The line of the cut's NS records is named.
    let ns_line = table_line(&text, "ns.sub.cut.test.");
    assert!(err.contains(&format!("line {ns_line}")), "{err}");
    // Glue below the cut is fine.
    assert!(
        !err.lines().any(|l| l.contains("127.0.3.1")
            || l.contains(&format!("z.toml:{}:", table_line(&text, "127.0.3.1")))),
        "{err}"
    );
}

#[test]
fn check_warns_about_name_servers_without_glue() {
    let zone = Zone::new("lame.test.")
        .record("@", "NS", &["ns1.lame.test."])
        .record("ns1", "A", &["127.0.0.1"])
        .record("sub", "NS", &["ns.sub.lame.test.", "ns1.lame.test."])
        .record("sib", "NS", &["nowhere.lame.test.", "ns.elsewhere.test."]);
    let text = zone.to_string();
    let (code, out, err) = check(&text);
    assert_eq!(code, 0, "a warning, not an error: {out}{err}");
    let sub_line = table_line(&text, "ns.sub.lame.test.");
    let sib_line = table_line(&text, "nowhere.lame.test.");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert!(
        warnings
            .iter()
            .any(|l| l.contains(&format!("z.toml:{sub_line}:"))
                && l.contains("ns.sub.lame.test. is below the cut but has no A or AAAA")),
        "{err}"
    );
    assert!(
        warnings
            .iter()
            .any(|l| l.contains(&format!("z.toml:{sib_line}:"))
                && l.contains("nowhere.lame.test. is in this zone but has no A or AAAA")),
        "{err}"
    );
    // Name servers with an address, or outside the zone, are fine.
    assert_eq!(warnings.len(), 2, "{err}");
}

//------------ DNSSEC: referrals a validator accepts -----------------------------------------

/// A CSK for `zone` and its file name beside the daemon's config.
fn csk(zone: &str) -> (String, String, String) {
    use steerdns::dnssec::key::{Algorithm, FLAGS_KSK, ZoneKey};
    let origin = steerdns::dns::name::Name::parse_absolute(zone).unwrap();
    let key = ZoneKey::generate(&origin, Algorithm::EcdsaP256Sha256, FLAGS_KSK, false, 0).unwrap();
    (key.file_name(), key.to_file_text(), key.ds_text())
}

/// A daemon serving `zone` signed with the key (file name, text), on `listen` when given.
fn signed(zone: Zone, key: &(String, String, String), listen: Option<SocketAddr>) -> Daemon {
    let zone = zone.toml(&format!("[dnssec]\nkeys = [{:?}]\n", key.0));
    let mut setup = Setup::new().file(&key.0, key.1.as_bytes()).zone(&zone);
    if let Some(addr) = listen {
        setup = setup.listen(addr);
    }
    setup.start()
}

/// The types of the records of a section, in order, RRSIGs as `RRSIG(covered)`.
fn types(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    use hickory_proto::dnssec::rdata::DNSSECRData;
    use hickory_proto::rr::RData;
    records
        .iter()
        .map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
                format!("RRSIG({})", sig.input().type_covered)
            }
            _ => r.record_type().to_string(),
        })
        .collect()
}

/// A signed parent with an insecure delegation (`open`, no DS: the NSEC at the cut proves
/// it) and a secure one (`locked`, the DS of the child's key), each child a steerdns of its
/// own on port 53 (glue has no port). On the wire the referrals carry the NS RRset unsigned
/// and the NSEC or the DS with their RRSIGs; through a validating Unbound whose only trust
/// anchor is the parent's DS, the unsigned child's answer is insecure (NOERROR, AD clear:
/// not bogus) and the signed child's is secure (AD).
#[test]
fn signed_referrals_validate_through_unbound() {
    let Some(open_addr) = free_port_53() else {
        eprintln!("\n**** SKIPPED: port 53 cannot be bound here (not root) ****\n");
        assert!(
            !common::external::external_required(),
            "port 53 is needed (CI runs as root)"
        );
        return;
    };
    let open_ip = open_addr.ip().to_string();
    let open = Setup::new()
        .listen(open_addr)
        .zone(
            &Zone::new("open.par.test.")
                .record("@", "NS", &["ns.open.par.test."])
                .record("ns", "A", &[&open_ip])
                .record("www", "A", &["127.0.9.2"]),
        )
        .start();
    let locked_addr = free_port_53().expect("a second port 53");
    let locked_ip = locked_addr.ip().to_string();
    let child_key = csk("locked.par.test.");
    let locked = signed(
        Zone::new("locked.par.test.")
            .record("@", "NS", &["ns.locked.par.test."])
            .record("ns", "A", &[&locked_ip])
            .record("www", "A", &["127.0.9.3"]),
        &child_key,
        Some(locked_addr),
    );
    // The child's DS, as the parent publishes it: "<tag> <alg> <digest type> <hex>".
    let child_ds = child_key
        .2
        .split(" DS ")
        .nth(1)
        .expect("DS text")
        .to_string();
    let parent_key = csk("par.test.");
    let parent = signed(
        Zone::new("par.test.")
            .record("@", "NS", &["ns1.par.test."])
            .record("ns1", "A", &["127.0.0.1"])
            .record("static", "A", &["127.0.9.1"])
            .record("open", "NS", &["ns.open.par.test."])
            .record("ns.open", "A", &[&open_ip])
            .record("locked", "NS", &["ns.locked.par.test."])
            .record("ns.locked", "A", &[&locked_ip])
            .record("locked", "DS", &[&child_ds]),
        &parent_key,
        None,
    );

    // On the wire, with DO: the NS RRset is not signed (the child's data); the NSEC proving
    // there is no DS, or the DS, is, with the parent's key.
    let m = parent.udp(Query::new("www.open.par.test.", RecordType::A).dnssec_ok());
    assert!(!m.metadata.authoritative && m.answers.is_empty(), "{m:?}");
    assert_eq!(
        types(&m.authorities),
        ["NS", "NSEC", "RRSIG(NSEC)"],
        "{m:?}"
    );
    assert_eq!(m.authorities[1].name.to_string(), "open.par.test.");
    let m = parent.udp(Query::new("www.locked.par.test.", RecordType::A).dnssec_ok());
    assert_eq!(types(&m.authorities), ["NS", "DS", "RRSIG(DS)"], "{m:?}");
    // Without DO, a plain referral.
    let m = parent.udp(Query::new("www.locked.par.test.", RecordType::A).edns(1232));
    assert_eq!(types(&m.authorities), ["NS"], "{m:?}");
    // DS at the cut, asked directly: the parent's signed answer, or its signed denial.
    let m = parent.udp(Query::new("locked.par.test.", RecordType::DS).dnssec_ok());
    assert!(m.metadata.authoritative, "{m:?}");
    assert_eq!(types(&m.answers), ["DS", "RRSIG(DS)"], "{m:?}");
    let m = parent.udp(Query::new("open.par.test.", RecordType::DS).dnssec_ok());
    assert!(m.metadata.authoritative && m.answers.is_empty(), "{m:?}");
    assert_eq!(
        types(&m.authorities),
        ["SOA", "RRSIG(SOA)", "NSEC", "RRSIG(NSEC)"],
        "{m:?}"
    );

    let anchor = parent_key.2.clone();
    let Some(unbound) = Unbound::start_with(
        &[Stub::new("par.test.", parent.addr)],
        &UnboundOptions {
            ecs: false,
            trust_anchors: vec![anchor],
            ..UnboundOptions::default()
        },
    ) else {
        return;
    };
    let ask = |name: &str| udp(unbound.addr, &Query::new(name, RecordType::A).dnssec_ok());
    let m = ask("static.par.test.");
    assert!(
        m.metadata.authentic_data && addrs(&m) == ["127.0.9.1"],
        "the parent validates: {m:?}\n{}",
        unbound.log()
    );
    let m = ask("www.open.par.test.");
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "an insecure delegation is not bogus: {m:?}\n{}",
        unbound.log()
    );
    assert_eq!(addrs(&m), ["127.0.9.2"], "{m:?}");
    assert!(!m.metadata.authentic_data, "{m:?}");
    let m = ask("www.locked.par.test.");
    assert!(
        m.metadata.authentic_data && addrs(&m) == ["127.0.9.3"],
        "the signed child validates through the parent's DS: {m:?}\n{}",
        unbound.log()
    );
    drop((open, locked));
}
