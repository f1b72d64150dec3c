//! Tier strings: `"eu-west, eu-canary > us-east"`.
//!
//! `>` separates tiers (best first); `,` separates the regions that share one tier by
//! weight. Region names are letters, digits, `-`, `_` and `.`.

/// Parses a tier string into tiers of region names.
pub fn parse_tiers(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut tiers = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (index, tier_text) in text.split('>').enumerate() {
        let mut tier = Vec::new();
        for name in tier_text.split(',') {
            let name = name.trim();
            if name.is_empty() {
                return Err(format!(
                    "tier {} of {text:?} has an empty region name (write \"a, b > c\")",
                    index + 1
                ));
            }
            if let Some(bad) = name
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            {
                return Err(format!(
                    "region name {name:?} in {text:?} has character {bad:?}"
                ));
            }
            if seen.contains(&name) {
                return Err(format!("region {name:?} appears twice in {text:?}"));
            }
            seen.push(name);
            tier.push(name.to_string());
        }
        tiers.push(tier);
    }
    Ok(tiers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            parse_tiers("eu-west, eu-canary > us-east").unwrap(),
            vec![
                vec!["eu-west".to_string(), "eu-canary".into()],
                vec!["us-east".into()]
            ]
        );
        assert_eq!(parse_tiers("a").unwrap(), vec![vec!["a".to_string()]]);
    }

    #[test]
    fn rejects() {
        for bad in ["", "a >", "> a", "a,,b", "a > a", "a b", "a;b", "a, > b"] {
            assert!(parse_tiers(bad).is_err(), "{bad:?} should fail");
        }
    }
}
