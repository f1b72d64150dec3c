//! What the database says about one address.

use ipnet::IpNet;
use serde::Serialize;

use super::codes::{ContinentCode, CountryCode};

//------------ GeoHit ----------------------------------------------------------------------------

/// What the database says about one address.
///
/// `network` is the database network that contains the address: every address in it gets the
/// same record, so it bounds the ECS scope of any answer that depends on this hit. It is in the
/// family of the looked-up address (an IPv4 address in an IPv6 database reports e.g.
/// `81.2.69.0/24`, not `::81.2.69.0/120`; an IPv4-mapped IPv6 address `::ffff:a.b.c.d` is looked
/// up as IPv4 and reports `::ffff:…/(prefix + 96)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeoHit {
    /// ISO 3166-1 alpha-2 country (GeoIP2: `country`, else `registered_country`).
    pub country: Option<CountryCode>,
    /// Continent (from the record, else derived from the country).
    pub continent: Option<ContinentCode>,
    /// ISO 3166-2 subdivision codes, most general first (`["GB-ENG"]`, `["US-CA"]`); empty
    /// (no allocation) when the record has none.
    pub subdivisions: Vec<String>,
    /// The database network containing the address.
    #[serde(serialize_with = "serialize_display")]
    pub network: IpNet,
}

impl GeoHit {
    /// A hit with no data, covering `network`.
    pub fn empty(network: IpNet) -> Self {
        Self {
            country: None,
            continent: None,
            subdivisions: Vec::new(),
            network,
        }
    }

    /// Whether the hit carries no location at all.
    pub fn is_empty(&self) -> bool {
        self.country.is_none() && self.continent.is_none() && self.subdivisions.is_empty()
    }
}

fn serialize_display<S: serde::Serializer>(net: &IpNet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(net)
}
