use steerdns::geo::GeoDb;
#[test]
fn scratch() {
    let bytes = std::fs::read("geoip/geo-whois-asn-country.mmdb").unwrap();
    let r = maxminddb::Reader::from_source(bytes).unwrap();
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    let mut n = 0;
    for item in r.networks(Default::default()).unwrap() {
        let item = item.unwrap();
        let v: Option<std::collections::BTreeMap<String, String>> = item.decode().unwrap();
        if let Some(v) = v { for (k, val) in v { *codes.entry(format!("{k}={val}")).or_default() += 1; } }
        n += 1;
    }
    eprintln!("{n} networks");
    for (c, k) in &codes {
        let cc = c.split('=').nth(1).unwrap();
        let known = steerdns::geo::CountryCode::parse(cc).map(|c| c.is_known()).unwrap_or(false);
        if !known { eprintln!("UNKNOWN {c} {k}"); }
    }
    eprintln!("{} distinct", codes.len());
    let _ = GeoDb::open;
}
