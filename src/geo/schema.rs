//! The two record schemas steerdns reads, and how a record becomes a [`GeoHit`].
//!
//! ```text
//!  GeoIP2 / GeoLite2 / DB-IP                    ip-location-db
//!  { "country": {"iso_code": "GB"},             { "country_code": "GB" }
//!    "registered_country": {"iso_code": "GB"},          │
//!    "continent": {"code": "EU"},                        │ continent from the
//!    "subdivisions": [{"iso_code": "ENG"}] }             │ country table
//!        │                                               ▼
//!        └──────────────────────────► GeoHit { country, continent, subdivisions, network }
//! ```
//!
//! Records are decoded into small structs that borrow their strings from the database buffer,
//! so a lookup allocates nothing unless the record has subdivisions. Fields other than the
//! ones above are skipped without being decoded.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::codes::{ContinentCode, CountryCode};
use super::hit::GeoHit;

/// The record layout of a database, detected when it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// GeoIP2 / GeoLite2 / DB-IP: `country.iso_code` (falling back to
    /// `registered_country.iso_code`), `continent.code`, `subdivisions[].iso_code`.
    GeoIp2,
    /// ip-location-db: `country_code` only; the continent is derived from the country.
    CountryCode,
}

impl Schema {
    /// A short description for people (`steerdns geoip`, logs).
    pub fn describe(self) -> &'static str {
        match self {
            Self::GeoIp2 => "GeoIP2 (country.iso_code, continent.code, subdivisions)",
            Self::CountryCode => "ip-location-db (country_code; continent derived from country)",
        }
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

//------------ Detection -------------------------------------------------------------------------

/// Which schema keys one record has; decoded without touching the values.
#[derive(Deserialize)]
pub(super) struct Probe {
    country: Option<IgnoredAny>,
    registered_country: Option<IgnoredAny>,
    continent: Option<IgnoredAny>,
    country_code: Option<IgnoredAny>,
}

impl Probe {
    /// The schema this record says, if any.
    pub(super) fn schema(&self) -> Option<Schema> {
        if self.country.is_some() || self.registered_country.is_some() || self.continent.is_some() {
            Some(Schema::GeoIp2)
        } else if self.country_code.is_some() {
            Some(Schema::CountryCode)
        } else {
            None
        }
    }
}

/// The schema a `database_type` names, for databases without records to probe.
pub(super) fn schema_from_database_type(database_type: &str) -> Option<Schema> {
    let t = database_type.to_ascii_lowercase();
    if ["geoip2", "geolite2", "dbip", "db-ip", "geoip-"]
        .iter()
        .any(|p| t.contains(p))
    {
        Some(Schema::GeoIp2)
    } else {
        None
    }
}

//------------ Records ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct ContinentField<'a> {
    #[serde(borrow)]
    code: Option<&'a str>,
}

/// The parts of a GeoIP2 record steerdns uses.
#[derive(Deserialize)]
pub(super) struct Geoip2Record<'a> {
    #[serde(borrow)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow)]
    registered_country: Option<IsoCode<'a>>,
    #[serde(borrow)]
    continent: Option<ContinentField<'a>>,
    #[serde(borrow)]
    subdivisions: Option<Vec<IsoCode<'a>>>,
}

/// An ip-location-db record.
#[derive(Deserialize)]
pub(super) struct CountryCodeRecord<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
}

fn country(field: Option<&IsoCode<'_>>) -> Option<CountryCode> {
    field
        .and_then(|f| f.iso_code)
        .and_then(|s| CountryCode::parse(s).ok())
}

impl Geoip2Record<'_> {
    /// Fills `hit` from the record. `country` falls back to `registered_country`; `continent`
    /// falls back to the country's; subdivisions become `"GB-ENG"` and need a country.
    pub(super) fn fill(&self, hit: &mut GeoHit) {
        let own_country = country(self.country.as_ref());
        hit.country = own_country.or_else(|| country(self.registered_country.as_ref()));
        hit.continent = self
            .continent
            .as_ref()
            .and_then(|c| c.code)
            .and_then(|s| ContinentCode::parse(s).ok())
            .or_else(|| hit.country.and_then(CountryCode::continent));
        if let (Some(cc), Some(subs)) = (own_country, &self.subdivisions) {
            hit.subdivisions = subs
                .iter()
                .filter_map(|s| s.iso_code)
                .filter(|code| {
                    (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
                })
                .map(|code| format!("{cc}-{}", code.to_ascii_uppercase()))
                .collect();
        }
    }
}

impl CountryCodeRecord<'_> {
    /// Fills `hit` from the record; the continent comes from the country table.
    pub(super) fn fill(&self, hit: &mut GeoHit) {
        hit.country = self.country_code.and_then(|s| CountryCode::parse(s).ok());
        hit.continent = hit.country.and_then(CountryCode::continent);
    }
}

//------------ RawJson ---------------------------------------------------------------------------

/// Any database value as JSON, for `steerdns geoip`. Unlike deserializing straight into
/// `serde_json::Value` this accepts every MaxMind DB type: bytes become a lower-case hex string,
/// integers beyond `u64` a decimal string, non-finite floats `null`.
pub(super) struct RawJson(pub(super) serde_json::Value);

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawJsonVisitor).map(RawJson)
    }
}

struct RawJsonVisitor;

impl<'de> Visitor<'de> for RawJsonVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MaxMind DB value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u128<E>(self, v: u128) -> Result<Self::Value, E> {
        Ok(match u64::try_from(v) {
            Ok(small) => small.into(),
            Err(_) => v.to_string().into(),
        })
    }
    fn visit_i128<E>(self, v: i128) -> Result<Self::Value, E> {
        Ok(match i64::try_from(v) {
            Ok(small) => small.into(),
            Err(_) => v.to_string().into(),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(v.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(RawJson(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some((key, RawJson(v))) = map.next_entry::<String, RawJson>()? {
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}
