//! The canary share cap (SPEC 4, rule 4a) over the wire, on the shipped example: eu-canary is
//! a canary with weight 5 next to eu-west's 95 in `continent:EU`. Draining eu-west must send
//! the canary only its own ~5% of European subnets and the rest to us-east (the next tier);
//! restoring eu-west must put every subnet back exactly where it was.

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::*;
use hickory_proto::rr::RecordType;

const ZONE_FILE: &str = "gslb.example.test.toml";
const EU_WEST: &str = "127.0.0.20";
const CANARY: &str = "127.0.0.21";

fn shipped_zone() -> String {
    std::fs::read_to_string(repo().join("zones").join(ZONE_FILE)).expect("read shipped zone")
}

/// The shipped example, with its zone copied into the daemon's folder so the test can edit it.
fn shipped_daemon() -> Daemon {
    Setup::shipped()
        .config("[zones]\ndirectory = \"zones\"")
        .zone_text(ZONE_FILE, &shipped_zone())
        .start()
}

/// The A answer of www for ECS `subnet/24` (one endpoint per region in Europe; us-east
/// answers its two IPv4 endpoints), sorted and joined; for European subnets, checks that the
/// scope is at least the hashing prefix (the answer depends on the subnet's hash).
fn answer(d: &Daemon, subnet: Ipv4Addr) -> String {
    let (a, scope) = answer_scope(d, subnet);
    if a == EU_WEST || a == CANARY {
        // At least the hashing prefix; longer where a narrower GeoIP network decides.
        assert!(
            scope >= 24,
            "{subnet}/24: weighted answer with scope {scope}"
        );
    }
    a
}

/// The answer as [`answer`] gives it, and its ECS scope.
fn answer_scope(d: &Daemon, subnet: Ipv4Addr) -> (String, u8) {
    let m = d.udp(Query::new("www.gslb.example.test.", RecordType::A).ecs(&subnet.to_string(), 24));
    let mut a = addrs(&m);
    a.sort();
    assert!(!a.is_empty(), "{subnet}/24: no answer");
    (a.join(","), scope_of(&m))
}

#[test]
fn drained_eu_west_sends_the_canary_only_its_share() {
    let d = shipped_daemon();
    // European /24s of 81.0.0.0/10 in the shipped database: the ones answered from the EU
    // tier while everything is up. 4000 of them.
    let mut before = BTreeMap::new();
    for i in 0u32..(1 << 14) {
        let subnet = Ipv4Addr::from((81u32 << 24) | (i << 8));
        let a = answer(&d, subnet);
        if a == EU_WEST || a == CANARY {
            before.insert(subnet, a);
        }
        if before.len() == 4000 {
            break;
        }
    }
    assert_eq!(before.len(), 4000, "4000 European /24s under 81.0.0.0/10");
    let canary_before = before.values().filter(|a| *a == CANARY).count();

    // Drain eu-west.
    let drained = shipped_zone().replace(
        "[region.eu-west]\nstate = \"active\"",
        "[region.eu-west]\nstate = \"drain\"",
    );
    assert_ne!(
        drained,
        shipped_zone(),
        "the shipped zone has [region.eu-west]"
    );
    d.write_zone_text(ZONE_FILE, &drained);
    assert_eq!(d.reload(), Reload::Applied);
    let mut canary = 0;
    for (subnet, was) in &before {
        let (now, scope) = answer_scope(&d, *subnet);
        // Either way the canary cap decided by the subnet's hash: the /24 scope, so no
        // resolver hands this answer to the canary's neighbours.
        assert!(
            scope >= 24,
            "{subnet}/24 while eu-west is drained: scope {scope}"
        );
        if was == CANARY {
            assert_eq!(now, CANARY, "{subnet}/24: the canary keeps its own subnets");
            canary += 1;
        } else {
            assert_eq!(
                now, "127.0.0.10,127.0.0.11",
                "{subnet}/24: not the canary's: us-east (the next tier), never the canary"
            );
        }
    }
    let share = canary as f64 / before.len() as f64;
    println!(
        "eu-west drained: canary answers {canary} of 4000 European /24s ({:.2}%)",
        share * 100.0
    );
    assert!(
        (share - 0.05).abs() <= 0.02,
        "the canary answers {canary} of 4000 subnets ({:.2}%), want 5% +- 2 points",
        share * 100.0
    );
    assert_eq!(canary, canary_before);

    // Restore: every subnet back exactly where it was.
    d.write_zone_text(ZONE_FILE, &shipped_zone());
    assert_eq!(d.reload(), Reload::Applied);
    for (subnet, was) in &before {
        assert_eq!(
            &answer(&d, *subnet),
            was,
            "{subnet}/24 after restoring eu-west"
        );
    }
    // What explain says about a subnet that is not the canary's while drained.
    let other = before.iter().find(|(_, a)| *a == EU_WEST).map(|(s, _)| *s);
    let other = other.expect("an eu-west subnet");
    d.write_zone_text(ZONE_FILE, &drained);
    assert_eq!(d.reload(), Reload::Applied);
    let (code, out, err) = run(
        &[
            "explain",
            "www.gslb.example.test.",
            "--client",
            &format!("{other}/24"),
            "--server",
            &d.metrics.to_string(),
        ],
        d.dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("eu-canary [active, healthy, weight 5, canary"),
        "{out}"
    );
    assert!(out.contains("canary cap in tier 1"), "{out}");
    assert!(out.contains("pick:     us-east (reason failover"), "{out}");
}
