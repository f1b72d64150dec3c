//! Plans of small configurations written to a temp dir, over a hand-made GeoIP frame.

use super::*;
use crate::config::Config;
use crate::steer::GeoFacts;

const MAIN: &str = "[geoip]\ndatabase = \"geo.mmdb\"\n[server]\nworkers = 1\n";

fn zone(eu: u32, canary: u32, eu_state: &str, extra: &str) -> String {
    format!(
        r#"
origin = "plan.test."
[soa]
mname = "ns1.plan.test."
rname = "hostmaster.plan.test."
serial = 1
[[record]]
name = "@"
type = "NS"
data = ["ns1.plan.test."]
[[record]]
name = "ns1"
type = "A"
data = ["127.0.0.1"]
{extra}
[region.eu]
state = "{eu_state}"
[region.canary]
[region.us]
[map.world]
default = "us"
"continent:EU" = "eu, canary > us"
[service.www]
map = "world"
[service.www.region.eu]
endpoints = ["127.0.1.1"]
weight = {eu}
[service.www.region.canary]
endpoints = ["127.0.1.2"]
weight = {canary}
canary = true
[service.www.region.us]
endpoints = ["127.0.1.3"]
[service.api]
map = "world"
[service.api.region.eu]
endpoints = ["127.0.2.1"]
[service.api.region.us]
endpoints = ["127.0.2.3"]
"#
    )
}

/// Loads a main config and one zone from files in one folder (the same folder every time, so
/// the defaults relative to it, like the state file, are the same on both sides).
fn load(main: &str, zone: &str) -> Config {
    let dir = std::env::temp_dir().join(format!("steerdns-plan-test-{}", std::process::id()));
    let _ = std::fs::create_dir_all(dir.join("zones"));
    let main_path = dir.join(format!("{:x}.toml", fnv(&format!("{main}{zone}"))));
    let zone_dir = dir.join(format!("zones-{:x}", fnv(&format!("{main}{zone}"))));
    std::fs::create_dir_all(&zone_dir).unwrap();
    let main = format!("{main}\n[zones]\ndirectory = \"{}\"\n", zone_dir.display());
    std::fs::write(&main_path, main).unwrap();
    std::fs::write(zone_dir.join("plan.test.toml"), zone).unwrap();
    let cfg = crate::config::load(&main_path, 1).unwrap();
    let _ = std::fs::remove_dir_all(&zone_dir);
    let _ = std::fs::remove_file(&main_path);
    cfg
}

fn frame() -> Frame {
    let b = |s: &str| [s.as_bytes()[0], s.as_bytes()[1]];
    let f = |c: &str, k: &str| GeoFacts {
        country: Some(b(c)),
        continent: Some(b(k)),
        ..GeoFacts::default()
    };
    Frame::new(
        vec![
            ("81.0.0.0/8".parse().unwrap(), f("GB", "EU")),
            ("8.0.0.0/12".parse().unwrap(), f("US", "NA")),
            ("2001:db8::/32".parse().unwrap(), f("DE", "EU")),
        ],
        "test networks",
    )
}

fn plan(before: &Config, after: &Config) -> Plan {
    let frame = frame();
    let hb = HealthTable::new(before.checks.len());
    let ha = HealthTable::new(after.checks.len());
    compute(
        Side {
            config: before,
            health: &hb,
            frame: &frame,
        },
        Side {
            config: after,
            health: &ha,
            frame: &frame,
        },
        crate::reload::restart_warnings(before, after),
        Labels::default(),
        Options::default(),
    )
}

fn key<'p>(plan: &'p Plan, service: &str, key: &str, family: Family) -> &'p KeyPlan {
    plan.zones[0]
        .services
        .iter()
        .find(|s| s.service == service)
        .and_then(|s| s.keys.iter().find(|k| k.key == key && k.family == family))
        .unwrap_or_else(|| panic!("{service} {key} {family:?} in {plan:#?}"))
}

#[test]
fn weight_change_moves_about_five_percent_to_the_canary() {
    let before = load(MAIN, &zone(95, 5, "active", ""));
    let after = load(MAIN, &zone(90, 10, "active", ""));
    let p = plan(&before, &after);
    let z = &p.zones[0];
    assert_eq!(z.change, Change::Changed);
    assert_eq!(z.services.len(), 1, "only www changes");
    assert_eq!(z.services_unchanged, 1);
    for family in Family::BOTH {
        let k = key(&p, "www", "continent:EU", family);
        assert!(!k.exact);
        assert_eq!(k.sampled, SAMPLES_PER_KEY);
        assert_eq!(k.moves.len(), 1, "{k:?}");
        let m = &k.moves[0];
        assert_eq!((m.from.as_str(), m.to.as_str()), ("eu", "canary"));
        // The canary's share goes from 5% to 10%: 5% of the subnets move, within the margin.
        assert!((m.share - 0.05).abs() < 0.01, "{m:?}");
        assert!(m.margin > 0.0 && m.margin < 0.01);
        let canary = k.shares.iter().find(|s| s.region == "canary").unwrap();
        assert!((canary.before - 0.05).abs() < 0.01 && (canary.after - 0.10).abs() < 0.01);
    }
    // The default key (US): nothing moves, every subnet of 8.0.0.0/12 is us, exactly? No:
    // 4096 /24s, fewer than the sample size: taken whole.
    let d = key(&p, "www", "default", Family::Ipv4);
    assert!(d.exact);
    assert_eq!(d.subnets, 4096.0);
    assert!(d.moves.is_empty());
    let text = p.render_text();
    assert!(
        text.contains("continent:EU: 5.") || text.contains("continent:EU: 4."),
        "{text}"
    );
    assert!(text.contains("of subnets move eu -> canary"), "{text}");
    // JSON round trip.
    let json = serde_json::to_string(&PlanOutcome::Computed(p.clone())).unwrap();
    let back: PlanOutcome = serde_json::from_str(&json).unwrap();
    assert_eq!(back, PlanOutcome::Computed(p));
}

#[test]
fn drain_moves_the_drained_region_whole_share() {
    let before = load(MAIN, &zone(95, 5, "active", ""));
    let after = load(MAIN, &zone(95, 5, "drain", ""));
    let p = plan(&before, &after);
    // www: eu's 95% goes to us (the canary keeps its 5%, rule 4a); api: eu's 100% to us.
    let k = key(&p, "www", "continent:EU", Family::Ipv4);
    let eu = k.shares.iter().find(|s| s.region == "eu").unwrap();
    assert_eq!(eu.after, 0.0);
    assert_eq!(k.moves.len(), 1);
    assert_eq!(
        (k.moves[0].from.as_str(), k.moves[0].to.as_str()),
        ("eu", "us")
    );
    assert_eq!(k.moves[0].share, eu.before);
    assert!((eu.before - 0.95).abs() < 0.01);
    let k = key(&p, "api", "continent:EU", Family::Ipv6);
    assert_eq!(k.moves.len(), 1);
    assert_eq!(k.moves[0].share, 1.0);
}

#[test]
fn records_services_and_restart_settings() {
    let before = load(MAIN, &zone(95, 5, "active", ""));
    let extra = "[[record]]\nname = \"new\"\ntype = \"TXT\"\ndata = [\"\\\"hello\\\"\"]\n";
    let after = load(
        &format!("{MAIN}[health]\nstate_file = \"other.health\"\n")
            .replace("workers = 1", "workers = 2"),
        &zone(95, 5, "active", extra).replace("data = [\"127.0.0.1\"]", "data = [\"127.0.0.9\"]"),
    );
    let p = plan(&before, &after);
    let z = &p.zones[0];
    assert_eq!(z.added.len(), 1);
    assert_eq!(z.added[0].owner, "new.plan.test.");
    assert_eq!(z.added[0].data, ["\"hello\""]);
    assert_eq!(z.changed.len(), 1);
    assert_eq!(z.changed[0].before.data, ["127.0.0.1"]);
    assert_eq!(z.changed[0].after.data, ["127.0.0.9"]);
    assert!(z.removed.is_empty());
    assert!(z.services.is_empty());
    assert_eq!(z.services_unchanged, 2);
    assert_eq!(p.restart.len(), 2, "{:?}", p.restart);
    let text = p.render_text();
    assert!(
        text.contains("+ new.plan.test. TXT 300 \"hello\""),
        "{text}"
    );
    assert!(
        text.contains("restart: [server] workers changed from 1 to 2"),
        "{text}"
    );

    // Nothing at all.
    let same = plan(&before, &load(MAIN, &zone(95, 5, "active", "")));
    assert_eq!(same.zones[0].change, Change::Unchanged);
    assert!(
        same.render_text()
            .contains("no change to records or steering")
    );
}

#[test]
fn health_is_part_of_the_plan() {
    // The same files; eu's endpoint is down before (as a daemon's live health would say)
    // and up after (carried over, or a new check starting up).
    let checked = zone(95, 5, "active", "[check.web]\nkind = \"tcp\"\nport = 9\n").replace(
        "[service.www]\nmap = \"world\"",
        "[service.www]\nmap = \"world\"\ncheck = \"web\"",
    );
    let cfg = load(MAIN, &checked);
    let eu = cfg.checks.iter().find(|c| c.region == "eu").unwrap().slot;
    let frame = frame();
    let before = HealthTable::new(cfg.checks.len());
    before.set(eu, crate::health::Status::Down);
    let after = HealthTable::new(cfg.checks.len());
    let side = |health| Side {
        config: &cfg,
        health,
        frame: &frame,
    };
    let p = compute(
        side(&before),
        side(&after),
        vec![],
        Labels::default(),
        Options::default(),
    );
    let k = key(&p, "www", "continent:EU", Family::Ipv4);
    assert_eq!(k.moves.len(), 1);
    assert_eq!(
        (k.moves[0].from.as_str(), k.moves[0].to.as_str()),
        ("us", "eu")
    );
    assert!((k.moves[0].share - 0.95).abs() < 0.01);
    // Equal health on both sides: nothing to sample.
    let p = compute(
        side(&after),
        side(&after),
        vec![],
        Labels::default(),
        Options::default(),
    );
    assert_eq!(p.zones[0].change, Change::Unchanged);
    assert_eq!(p.zones[0].services_unchanged, 2);
}

#[test]
fn rollouts_started_restarted_changed_and_removed_are_listed() {
    let with = |steps: &str, interval: &str| {
        format!(
            "[service.www.rollout]\nregion = \"canary\"\nsteps = [{steps}]\ngate_interval = \"{interval}\"\n"
        )
    };
    let none = load(MAIN, &zone(95, 5, "active", ""));
    let ramp = load(
        MAIN,
        &zone(95, 5, "active", &with("\"1% 10m\", \"100%\"", "30s")),
    );
    let p = plan(&none, &ramp);
    assert_eq!(p.rollouts.len(), 1);
    assert_eq!(
        (p.rollouts[0].change.as_str(), p.rollouts[0].step),
        ("started", Some(1))
    );
    assert!(
        p.render_text()
            .contains("rollout plan.test/www (canary): starts at step 1 of [1% 10m, 100%]"),
        "{}",
        p.render_text()
    );
    // The same rollout: nothing listed.
    assert!(plan(&ramp, &ramp).rollouts.is_empty());
    let other_steps = load(
        MAIN,
        &zone(95, 5, "active", &with("\"2% 10m\", \"100%\"", "30s")),
    );
    assert_eq!(plan(&ramp, &other_steps).rollouts[0].change, "restarted");
    let other_interval = load(
        MAIN,
        &zone(95, 5, "active", &with("\"1% 10m\", \"100%\"", "1m")),
    );
    assert_eq!(plan(&ramp, &other_interval).rollouts[0].change, "changed");
    let p = plan(&ramp, &none);
    assert_eq!(
        (p.rollouts[0].change.as_str(), p.rollouts[0].step),
        ("removed", None)
    );
}
