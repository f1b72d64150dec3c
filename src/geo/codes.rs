//! Country and continent codes: small `Copy` newtypes over two upper-case ASCII letters.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A code that is not a valid country or continent code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not two ASCII letters.
    #[error("{0:?} is not a country code (two letters, ISO 3166-1 alpha-2)")]
    Country(String),
    /// Not one of AF AN AS EU NA OC SA.
    #[error("{0:?} is not a continent code (one of AF AN AS EU NA OC SA)")]
    Continent(String),
}

/// Two ASCII letters, upper-cased; `None` for anything else.
fn two_letters(input: &str) -> Option<[u8; 2]> {
    match input.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

//------------ CountryCode -----------------------------------------------------------------------

/// An ISO 3166-1 alpha-2 country code such as `GB`, always upper case.
///
/// Parsing accepts any two ASCII letters in any case (`"gb"` → `GB`), because databases and
/// RIR data carry user-assigned and withdrawn codes too (`XK`, `AN`, `EU`, `AP`); use
/// [`CountryCode::continent`] or [`CountryCode::is_known`] to tell whether the code is one
/// steerdns knows.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses two ASCII letters, case-insensitively.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        two_letters(input)
            .map(Self)
            .ok_or_else(|| CodeError::Country(input.to_owned()))
    }

    /// From two bytes, if both are ASCII letters (upper-cased).
    pub fn from_bytes(bytes: [u8; 2]) -> Option<Self> {
        let [a, b] = bytes;
        (a.is_ascii_alphabetic() && b.is_ascii_alphabetic())
            .then(|| Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
    }

    /// The two upper-case letters.
    pub fn as_bytes(&self) -> &[u8; 2] {
        &self.0
    }

    /// The code as a `&str` (`"GB"`).
    pub fn as_str(&self) -> &str {
        // Invariant: both bytes are ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

//------------ ContinentCode ---------------------------------------------------------------------

/// A continent code as MaxMind uses them: `AF` Africa, `AN` Antarctica, `AS` Asia, `EU` Europe,
/// `NA` North America, `OC` Oceania, `SA` South America. Always upper case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContinentCode([u8; 2]);

impl ContinentCode {
    /// Africa.
    pub const AF: Self = Self(*b"AF");
    /// Antarctica.
    pub const AN: Self = Self(*b"AN");
    /// Asia.
    pub const AS: Self = Self(*b"AS");
    /// Europe.
    pub const EU: Self = Self(*b"EU");
    /// North America (with Central America and the Caribbean).
    pub const NA: Self = Self(*b"NA");
    /// Oceania.
    pub const OC: Self = Self(*b"OC");
    /// South America.
    pub const SA: Self = Self(*b"SA");

    /// All seven continents.
    pub const ALL: [Self; 7] = [
        Self::AF,
        Self::AN,
        Self::AS,
        Self::EU,
        Self::NA,
        Self::OC,
        Self::SA,
    ];

    /// Parses one of the seven codes, case-insensitively.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        two_letters(input)
            .and_then(Self::from_bytes)
            .ok_or_else(|| CodeError::Continent(input.to_owned()))
    }

    /// From two bytes, if they spell one of the seven codes (case-insensitive).
    pub fn from_bytes(bytes: [u8; 2]) -> Option<Self> {
        let upper = [bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase()];
        Self::ALL.into_iter().find(|c| c.0 == upper)
    }

    /// The two upper-case letters.
    pub fn as_bytes(&self) -> &[u8; 2] {
        &self.0
    }

    /// The code as a `&str` (`"EU"`).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The English name (`"Europe"`).
    pub fn name(self) -> &'static str {
        match &self.0 {
            b"AF" => "Africa",
            b"AN" => "Antarctica",
            b"AS" => "Asia",
            b"EU" => "Europe",
            b"NA" => "North America",
            b"OC" => "Oceania",
            _ => "South America",
        }
    }
}

impl fmt::Display for ContinentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ContinentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContinentCode({})", self.as_str())
    }
}

impl FromStr for ContinentCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ContinentCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_parse_is_case_insensitive_and_upper_cases() {
        for input in ["gb", "GB", "Gb", "gB"] {
            let code: CountryCode = input.parse().expect("valid");
            assert_eq!(code.to_string(), "GB");
            assert_eq!(code.as_bytes(), b"GB");
        }
        assert_eq!(
            format!("{:?}", CountryCode::parse("kr")),
            "Ok(CountryCode(KR))"
        );
    }

    #[test]
    fn country_parse_rejects_bad_input() {
        for input in ["", "G", "GBR", "G1", "12", " GB", "GB ", "É1", "ÉÉ", "g-"] {
            let err = CountryCode::parse(input).expect_err(input);
            assert!(err.to_string().contains("is not a country code"), "{err}");
        }
        assert_eq!(CountryCode::from_bytes(*b"1A"), None);
        assert_eq!(
            CountryCode::from_bytes(*b"us").map(|c| c.to_string()),
            Some("US".to_owned())
        );
    }

    #[test]
    fn country_knows_its_continent() {
        let gb = CountryCode::parse("gb").expect("valid");
        assert_eq!(gb.continent(), Some(ContinentCode::EU));
        assert!(gb.is_known());
        let zz = CountryCode::parse("zz").expect("two letters parse");
        assert_eq!(zz.continent(), None);
        assert!(!zz.is_known());
    }

    #[test]
    fn continent_parse() {
        for c in ContinentCode::ALL {
            assert_eq!(ContinentCode::parse(c.as_str()), Ok(c));
            assert_eq!(ContinentCode::parse(&c.as_str().to_lowercase()), Ok(c));
        }
        assert_eq!("eu".parse::<ContinentCode>(), Ok(ContinentCode::EU));
        assert_eq!(ContinentCode::EU.name(), "Europe");
        assert_eq!(ContinentCode::SA.name(), "South America");
        for bad in ["", "E", "EUR", "XX", "GB", "e1"] {
            let err = ContinentCode::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("AF AN AS EU NA OC SA"), "{err}");
        }
    }

    #[test]
    fn codes_serialize_as_strings() {
        let gb = CountryCode::parse("gb").expect("valid");
        assert_eq!(serde_json::to_string(&gb).expect("json"), "\"GB\"");
        assert_eq!(
            serde_json::to_string(&ContinentCode::OC).expect("json"),
            "\"OC\""
        );
    }
}
