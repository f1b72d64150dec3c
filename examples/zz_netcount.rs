fn main() {
    let t = std::time::Instant::now();
    let db = steerdns::geo::GeoDb::open(std::path::Path::new("geoip/geo-whois-asn-country.mmdb")).unwrap();
    println!("open {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let nets = db.networks();
    let v4 = nets.iter().filter(|h| h.network.addr().is_ipv4()).count();
    println!("networks {} (v4 {}) in {:?}", nets.len(), v4, t.elapsed());
    println!("{:?}", &nets[..3]);
    println!("{:?}", nets.iter().find(|h| h.network.addr().is_ipv6()));
}
