//! Tier strings (`"a, b > c"`) and geo-map keys: never panic; parsed tiers are non-empty
//! lists of non-empty, distinct names made of the allowed characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steerdns::config::model::MapKey;
use steerdns::config::tiers::parse_tiers;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tiers) = parse_tiers(text) {
        assert!(!tiers.is_empty());
        let mut all: Vec<&str> = Vec::new();
        for tier in &tiers {
            assert!(!tier.is_empty());
            for name in tier {
                assert!(!name.is_empty());
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                );
                assert!(!all.contains(&name.as_str()), "{name} twice in {text:?}");
                all.push(name);
            }
        }
    }
    if let Ok(key) = text.parse::<MapKey>() {
        // The canonical spelling parses back to the same key.
        assert_eq!(key.to_string().parse::<MapKey>(), Ok(key));
    }
});
