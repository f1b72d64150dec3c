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
            let bad_char = |c: &char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            // A "<" anywhere is the likely mistake, even when a space comes first.
            let bad = if name.contains('<') {
                Some('<')
            } else {
                name.chars().find(bad_char)
            };
            if let Some(bad) = bad {
                let hint = match bad {
                    '<' => "; tiers go best first, separated by \">\" (\"a > b\"), and the \
                            regions sharing a tier by \",\""
                        .to_string(),
                    c if c.is_whitespace() || ";|/+&".contains(c) => {
                        "; use \",\" between the regions of one tier and \">\" between tiers \
                         (\"a, b > c\")"
                            .to_string()
                    }
                    _ => "; region names are letters, digits, \"-\", \"_\" and \".\"".to_string(),
                };
                return Err(format!(
                    "region name {name:?} in {text:?} has character {bad:?}{hint}"
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
    fn errors_say_how_to_write_it() {
        let e = parse_tiers("us-east < eu-west").unwrap_err();
        assert!(
            e.contains("'<'") && e.contains("best first, separated by \">\""),
            "{e}"
        );
        let e = parse_tiers("us-east<eu-west").unwrap_err();
        assert!(
            e.contains("'<'") && e.contains("best first, separated by \">\""),
            "{e}"
        );
        let e = parse_tiers("a b > c").unwrap_err();
        assert!(
            e.contains("use \",\" between the regions of one tier"),
            "{e}"
        );
        let e = parse_tiers("a; b").unwrap_err();
        assert!(e.contains("use \",\" between"), "{e}");
        let e = parse_tiers("a*").unwrap_err();
        assert!(e.contains("region names are letters"), "{e}");
    }

    #[test]
    fn rejects() {
        for bad in ["", "a >", "> a", "a,,b", "a > a", "a b", "a;b", "a, > b"] {
            assert!(parse_tiers(bad).is_err(), "{bad:?} should fail");
        }
    }
}
