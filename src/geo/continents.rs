//! ISO 3166-1 alpha-2 country code → continent code.
//!
//! Used for databases that carry only a country code (the ip-location-db schema, and GeoIP2
//! records whose `continent` is missing). The assignment follows MaxMind's GeoIP2 convention,
//! so a map key `continent:EU` means the same thing whichever database is configured:
//!
//! - `RU` (Russia) and `CY` (Cyprus) are `EU`; `TR` (Türkiye), `AM`, `AZ`, `GE`, `KZ` are
//!   `AS`.
//! - `EG` (Egypt) is `AF`; Central America and the Caribbean (`PA`, `CU`, `TT`, `AW`, ...) and
//!   `GL` (Greenland) are `NA`; `GF` and `FK` are `SA`.
//! - `AQ`, `BV`, `GS`, `HM`, `TF` are `AN`; `TL`, `CX`, `UM` are `OC`; `IO`, `CC` are `AS`.
//!
//! Every one of the 249 assigned ISO 3166-1 alpha-2 codes is in the table, plus four codes that
//! RIR-derived data still carries: `XK` (Kosovo, user-assigned, used by MaxMind and the RIRs)
//! → `EU`, `AN` (Netherlands Antilles, withdrawn in 2010 but still on some registrations) →
//! `NA`, and the region codes of the RIR delegation files `EU` (European Union, exceptionally
//! reserved) → `EU` and `AP` (Asia/Pacific) → `AS`.
//! The table is sorted by country code and searched with a binary search: no allocation, about
//! eight comparisons.

use super::codes::{ContinentCode, CountryCode};

/// `(country, continent)` pairs, sorted by country code (a unit test checks the order).
const TABLE: &[([u8; 2], [u8; 2])] = &[
    (*b"AD", *b"EU"),
    (*b"AE", *b"AS"),
    (*b"AF", *b"AS"),
    (*b"AG", *b"NA"),
    (*b"AI", *b"NA"),
    (*b"AL", *b"EU"),
    (*b"AM", *b"AS"),
    (*b"AN", *b"NA"),
    (*b"AO", *b"AF"),
    (*b"AP", *b"AS"),
    (*b"AQ", *b"AN"),
    (*b"AR", *b"SA"),
    (*b"AS", *b"OC"),
    (*b"AT", *b"EU"),
    (*b"AU", *b"OC"),
    (*b"AW", *b"NA"),
    (*b"AX", *b"EU"),
    (*b"AZ", *b"AS"),
    (*b"BA", *b"EU"),
    (*b"BB", *b"NA"),
    (*b"BD", *b"AS"),
    (*b"BE", *b"EU"),
    (*b"BF", *b"AF"),
    (*b"BG", *b"EU"),
    (*b"BH", *b"AS"),
    (*b"BI", *b"AF"),
    (*b"BJ", *b"AF"),
    (*b"BL", *b"NA"),
    (*b"BM", *b"NA"),
    (*b"BN", *b"AS"),
    (*b"BO", *b"SA"),
    (*b"BQ", *b"NA"),
    (*b"BR", *b"SA"),
    (*b"BS", *b"NA"),
    (*b"BT", *b"AS"),
    (*b"BV", *b"AN"),
    (*b"BW", *b"AF"),
    (*b"BY", *b"EU"),
    (*b"BZ", *b"NA"),
    (*b"CA", *b"NA"),
    (*b"CC", *b"AS"),
    (*b"CD", *b"AF"),
    (*b"CF", *b"AF"),
    (*b"CG", *b"AF"),
    (*b"CH", *b"EU"),
    (*b"CI", *b"AF"),
    (*b"CK", *b"OC"),
    (*b"CL", *b"SA"),
    (*b"CM", *b"AF"),
    (*b"CN", *b"AS"),
    (*b"CO", *b"SA"),
    (*b"CR", *b"NA"),
    (*b"CU", *b"NA"),
    (*b"CV", *b"AF"),
    (*b"CW", *b"NA"),
    (*b"CX", *b"OC"),
    (*b"CY", *b"EU"),
    (*b"CZ", *b"EU"),
    (*b"DE", *b"EU"),
    (*b"DJ", *b"AF"),
    (*b"DK", *b"EU"),
    (*b"DM", *b"NA"),
    (*b"DO", *b"NA"),
    (*b"DZ", *b"AF"),
    (*b"EC", *b"SA"),
    (*b"EE", *b"EU"),
    (*b"EG", *b"AF"),
    (*b"EH", *b"AF"),
    (*b"ER", *b"AF"),
    (*b"ES", *b"EU"),
    (*b"ET", *b"AF"),
    (*b"EU", *b"EU"),
    (*b"FI", *b"EU"),
    (*b"FJ", *b"OC"),
    (*b"FK", *b"SA"),
    (*b"FM", *b"OC"),
    (*b"FO", *b"EU"),
    (*b"FR", *b"EU"),
    (*b"GA", *b"AF"),
    (*b"GB", *b"EU"),
    (*b"GD", *b"NA"),
    (*b"GE", *b"AS"),
    (*b"GF", *b"SA"),
    (*b"GG", *b"EU"),
    (*b"GH", *b"AF"),
    (*b"GI", *b"EU"),
    (*b"GL", *b"NA"),
    (*b"GM", *b"AF"),
    (*b"GN", *b"AF"),
    (*b"GP", *b"NA"),
    (*b"GQ", *b"AF"),
    (*b"GR", *b"EU"),
    (*b"GS", *b"AN"),
    (*b"GT", *b"NA"),
    (*b"GU", *b"OC"),
    (*b"GW", *b"AF"),
    (*b"GY", *b"SA"),
    (*b"HK", *b"AS"),
    (*b"HM", *b"AN"),
    (*b"HN", *b"NA"),
    (*b"HR", *b"EU"),
    (*b"HT", *b"NA"),
    (*b"HU", *b"EU"),
    (*b"ID", *b"AS"),
    (*b"IE", *b"EU"),
    (*b"IL", *b"AS"),
    (*b"IM", *b"EU"),
    (*b"IN", *b"AS"),
    (*b"IO", *b"AS"),
    (*b"IQ", *b"AS"),
    (*b"IR", *b"AS"),
    (*b"IS", *b"EU"),
    (*b"IT", *b"EU"),
    (*b"JE", *b"EU"),
    (*b"JM", *b"NA"),
    (*b"JO", *b"AS"),
    (*b"JP", *b"AS"),
    (*b"KE", *b"AF"),
    (*b"KG", *b"AS"),
    (*b"KH", *b"AS"),
    (*b"KI", *b"OC"),
    (*b"KM", *b"AF"),
    (*b"KN", *b"NA"),
    (*b"KP", *b"AS"),
    (*b"KR", *b"AS"),
    (*b"KW", *b"AS"),
    (*b"KY", *b"NA"),
    (*b"KZ", *b"AS"),
    (*b"LA", *b"AS"),
    (*b"LB", *b"AS"),
    (*b"LC", *b"NA"),
    (*b"LI", *b"EU"),
    (*b"LK", *b"AS"),
    (*b"LR", *b"AF"),
    (*b"LS", *b"AF"),
    (*b"LT", *b"EU"),
    (*b"LU", *b"EU"),
    (*b"LV", *b"EU"),
    (*b"LY", *b"AF"),
    (*b"MA", *b"AF"),
    (*b"MC", *b"EU"),
    (*b"MD", *b"EU"),
    (*b"ME", *b"EU"),
    (*b"MF", *b"NA"),
    (*b"MG", *b"AF"),
    (*b"MH", *b"OC"),
    (*b"MK", *b"EU"),
    (*b"ML", *b"AF"),
    (*b"MM", *b"AS"),
    (*b"MN", *b"AS"),
    (*b"MO", *b"AS"),
    (*b"MP", *b"OC"),
    (*b"MQ", *b"NA"),
    (*b"MR", *b"AF"),
    (*b"MS", *b"NA"),
    (*b"MT", *b"EU"),
    (*b"MU", *b"AF"),
    (*b"MV", *b"AS"),
    (*b"MW", *b"AF"),
    (*b"MX", *b"NA"),
    (*b"MY", *b"AS"),
    (*b"MZ", *b"AF"),
    (*b"NA", *b"AF"),
    (*b"NC", *b"OC"),
    (*b"NE", *b"AF"),
    (*b"NF", *b"OC"),
    (*b"NG", *b"AF"),
    (*b"NI", *b"NA"),
    (*b"NL", *b"EU"),
    (*b"NO", *b"EU"),
    (*b"NP", *b"AS"),
    (*b"NR", *b"OC"),
    (*b"NU", *b"OC"),
    (*b"NZ", *b"OC"),
    (*b"OM", *b"AS"),
    (*b"PA", *b"NA"),
    (*b"PE", *b"SA"),
    (*b"PF", *b"OC"),
    (*b"PG", *b"OC"),
    (*b"PH", *b"AS"),
    (*b"PK", *b"AS"),
    (*b"PL", *b"EU"),
    (*b"PM", *b"NA"),
    (*b"PN", *b"OC"),
    (*b"PR", *b"NA"),
    (*b"PS", *b"AS"),
    (*b"PT", *b"EU"),
    (*b"PW", *b"OC"),
    (*b"PY", *b"SA"),
    (*b"QA", *b"AS"),
    (*b"RE", *b"AF"),
    (*b"RO", *b"EU"),
    (*b"RS", *b"EU"),
    (*b"RU", *b"EU"),
    (*b"RW", *b"AF"),
    (*b"SA", *b"AS"),
    (*b"SB", *b"OC"),
    (*b"SC", *b"AF"),
    (*b"SD", *b"AF"),
    (*b"SE", *b"EU"),
    (*b"SG", *b"AS"),
    (*b"SH", *b"AF"),
    (*b"SI", *b"EU"),
    (*b"SJ", *b"EU"),
    (*b"SK", *b"EU"),
    (*b"SL", *b"AF"),
    (*b"SM", *b"EU"),
    (*b"SN", *b"AF"),
    (*b"SO", *b"AF"),
    (*b"SR", *b"SA"),
    (*b"SS", *b"AF"),
    (*b"ST", *b"AF"),
    (*b"SV", *b"NA"),
    (*b"SX", *b"NA"),
    (*b"SY", *b"AS"),
    (*b"SZ", *b"AF"),
    (*b"TC", *b"NA"),
    (*b"TD", *b"AF"),
    (*b"TF", *b"AN"),
    (*b"TG", *b"AF"),
    (*b"TH", *b"AS"),
    (*b"TJ", *b"AS"),
    (*b"TK", *b"OC"),
    (*b"TL", *b"OC"),
    (*b"TM", *b"AS"),
    (*b"TN", *b"AF"),
    (*b"TO", *b"OC"),
    (*b"TR", *b"AS"),
    (*b"TT", *b"NA"),
    (*b"TV", *b"OC"),
    (*b"TW", *b"AS"),
    (*b"TZ", *b"AF"),
    (*b"UA", *b"EU"),
    (*b"UG", *b"AF"),
    (*b"UM", *b"OC"),
    (*b"US", *b"NA"),
    (*b"UY", *b"SA"),
    (*b"UZ", *b"AS"),
    (*b"VA", *b"EU"),
    (*b"VC", *b"NA"),
    (*b"VE", *b"SA"),
    (*b"VG", *b"NA"),
    (*b"VI", *b"NA"),
    (*b"VN", *b"AS"),
    (*b"VU", *b"OC"),
    (*b"WF", *b"OC"),
    (*b"WS", *b"OC"),
    (*b"XK", *b"EU"),
    (*b"YE", *b"AS"),
    (*b"YT", *b"AF"),
    (*b"ZA", *b"AF"),
    (*b"ZM", *b"AF"),
    (*b"ZW", *b"AF"),
];

/// The continent of `country`, or `None` for a code that is not in the table (unassigned or
/// private-use codes such as `ZZ`).
pub fn continent_of(country: CountryCode) -> Option<ContinentCode> {
    let key = country.as_bytes();
    TABLE
        .binary_search_by(|(code, _)| code.cmp(key))
        .ok()
        .and_then(|i| TABLE.get(i))
        .and_then(|(_, continent)| ContinentCode::from_bytes(*continent))
}

impl CountryCode {
    /// The continent this country belongs to, per MaxMind's assignment (see this module's
    /// table); `None` for a code not in the table.
    pub fn continent(self) -> Option<ContinentCode> {
        continent_of(self)
    }

    /// Whether the code is an assigned ISO 3166-1 code or one of the extra codes the
    /// continent table knows (`XK`, `AN`, `EU`, `AP`).
    pub fn is_known(self) -> bool {
        self.continent().is_some()
    }
}

/// Every country code in the table, in order (the 249 ISO codes plus `AN`, `AP`, `EU`, `XK`).
pub fn known_countries() -> impl Iterator<Item = CountryCode> {
    TABLE
        .iter()
        .filter_map(|(code, _)| CountryCode::from_bytes(*code))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 249 officially assigned ISO 3166-1 alpha-2 codes, typed independently of `TABLE`
    /// so a typo in either list shows up.
    const ISO_3166_1: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF \
        BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR \
        CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE \
        GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR \
        IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA \
        MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL \
        NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC \
        SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
        TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

    fn cc(s: &str) -> CountryCode {
        CountryCode::parse(s).expect("valid test code")
    }

    fn continent(s: &str) -> Option<String> {
        continent_of(cc(s)).map(|c| c.to_string())
    }

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn every_assigned_code_has_a_continent() {
        let iso: Vec<&str> = ISO_3166_1.split_whitespace().collect();
        assert_eq!(iso.len(), 249);
        for code in &iso {
            assert!(continent(code).is_some(), "{code} has no continent");
        }
        // The table holds exactly the ISO codes plus the four extras.
        let mut extras: Vec<String> = known_countries()
            .map(|c| c.to_string())
            .filter(|c| !iso.contains(&c.as_str()))
            .collect();
        extras.sort();
        assert_eq!(extras, ["AN", "AP", "EU", "XK"]);
        assert_eq!(TABLE.len(), 253);
    }

    #[test]
    fn every_continent_value_is_valid() {
        for (code, cont) in TABLE {
            assert!(
                ContinentCode::from_bytes(*cont).is_some(),
                "{code:?} maps to invalid continent {cont:?}"
            );
        }
    }

    #[test]
    fn maxmind_conventions() {
        let cases = [
            ("RU", "EU"),
            ("TR", "AS"),
            ("CY", "EU"),
            ("EG", "AF"),
            ("AQ", "AN"),
            ("GS", "AN"),
            ("TF", "AN"),
            ("GB", "EU"),
            ("KR", "AS"),
            ("JP", "AS"),
            ("US", "NA"),
            ("PA", "NA"),
            ("TT", "NA"),
            ("GL", "NA"),
            ("BR", "SA"),
            ("GF", "SA"),
            ("FK", "SA"),
            ("AU", "OC"),
            ("TL", "OC"),
            ("CX", "OC"),
            ("UM", "OC"),
            ("IO", "AS"),
            ("KZ", "AS"),
            ("GE", "AS"),
            ("ZA", "AF"),
            ("XK", "EU"),
            ("EU", "EU"),
        ];
        for (country, expected) in cases {
            assert_eq!(continent(country).as_deref(), Some(expected), "{country}");
        }
    }

    #[test]
    fn unknown_codes_have_no_continent() {
        for code in ["ZZ", "AA", "XX", "QZ", "UK"] {
            assert_eq!(continent(code), None, "{code}");
        }
    }
}
