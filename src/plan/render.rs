//! The plan as text for a person (`steerdns plan` without `--json`).

use std::fmt::Write as _;

use super::{Change, KeyPlan, Plan, RRsetText};

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn rrset(r: &RRsetText) -> String {
    format!("{} {} {} {}", r.owner, r.rtype, r.ttl, r.data.join(" | "))
}

fn change(c: Change) -> &'static str {
    match c {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Changed => "changed",
        Change::Unchanged => "no change",
    }
}

/// A count for a person: `65,536`, or `2.6e12` when it is too long to read.
fn count(x: f64) -> String {
    if x >= 1e9 {
        return format!("{x:.1e}");
    }
    let digits = format!("{x:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The size of a key: exact, or estimated with the number looked at.
fn size(k: &KeyPlan) -> String {
    let unit = k.family.unit();
    if k.exact {
        format!("{} /{unit}s, all looked at", count(k.subnets))
    } else {
        format!(
            "~{} /{unit}s, {} sampled",
            count(k.subnets),
            count(k.sampled as f64)
        )
    }
}

/// Whether nothing changes for the key's subnets.
fn still(k: &KeyPlan) -> bool {
    k.moves.is_empty() && k.shares.iter().all(|s| s.before == s.after)
}

fn key(out: &mut String, k: &KeyPlan) {
    let shares: Vec<String> = k
        .shares
        .iter()
        .map(|s| {
            if (s.before - s.after).abs() < f64::EPSILON {
                format!("{} {}", s.region, pct(s.after))
            } else {
                format!("{} {} -> {}", s.region, pct(s.before), pct(s.after))
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "    {} {} ({}): {}",
        k.key,
        k.family.label(),
        size(k),
        shares.join(", ")
    );
    if k.moves.is_empty() {
        let _ = writeln!(out, "      no subnet moves");
    }
    for m in &k.moves {
        let margin = if k.exact {
            String::new()
        } else {
            format!(" (±{:.1})", m.margin * 100.0)
        };
        let _ = writeln!(
            out,
            "      {}: {} of subnets move {} -> {}{margin}",
            k.key,
            pct(m.share),
            m.from,
            m.to
        );
    }
}

impl Plan {
    /// Lines for a person: per zone the records and services that change, then settings
    /// that need a restart.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "plan: {} against {}", self.after, self.before);
        let _ = writeln!(out, "health: {}", self.health);
        let _ = writeln!(
            out,
            "shares: over each map key's /24s (IPv4) and /56s (IPv6) in {}; up to {} per key \
             and family looked at (all of them when there are fewer, exact); ± is the 95% \
             margin of error (at most ±{:.1} points)",
            self.sampling.source, self.sampling.per_key, self.sampling.max_margin
        );
        let mut quiet = true;
        for z in &self.zones {
            if z.change == Change::Unchanged {
                continue;
            }
            quiet = false;
            let _ = writeln!(out, "zone {}: {}", z.zone, change(z.change));
            if let Some((b, a)) = z.serial {
                let _ = writeln!(out, "  serial {b} -> {a}");
            }
            for r in &z.added {
                let _ = writeln!(out, "  + {}", rrset(r));
            }
            for r in &z.removed {
                let _ = writeln!(out, "  - {}", rrset(r));
            }
            for c in &z.changed {
                let _ = writeln!(out, "  ~ {}", rrset(&c.before));
                let _ = writeln!(out, "    -> {}", rrset(&c.after));
            }
            for s in &z.services {
                let _ = writeln!(out, "  service {}: {}", s.service, change(s.change));
                for k in s.keys.iter().filter(|k| !still(k)) {
                    key(&mut out, k);
                }
                let same: Vec<String> = s
                    .keys
                    .iter()
                    .filter(|k| still(k))
                    .map(|k| format!("{} {}", k.key, k.family.label()))
                    .collect();
                if !same.is_empty() {
                    let _ = writeln!(out, "    no change for {}", same.join(", "));
                }
            }
            if z.services_unchanged > 0 {
                let _ = writeln!(
                    out,
                    "  {} other service(s): steering unchanged",
                    z.services_unchanged
                );
            }
        }
        if quiet {
            let _ = writeln!(out, "no change to records or steering");
        }
        for r in &self.rollouts {
            let what = match (r.change.as_str(), &r.steps_before, &r.steps_after) {
                ("started", _, Some(a)) => format!("starts at step 1 of [{a}]"),
                ("restarted", Some(b), Some(a)) => {
                    format!("steps change [{b}] -> [{a}]: starts again at step 1")
                }
                ("changed", _, _) => format!(
                    "gates or settings change; resumes at step {}",
                    r.step.unwrap_or(1)
                ),
                ("removed", _, _) => {
                    "removed: the canary answers with its configured weight".into()
                }
                (other, _, _) => other.to_string(),
            };
            let _ = writeln!(
                out,
                "rollout {}/{} ({}): {what}",
                r.zone, r.service, r.region
            );
        }
        if self.restart.is_empty() {
            let _ = writeln!(out, "restart: not needed");
        }
        for r in &self.restart {
            let _ = writeln!(out, "restart: {r}");
        }
        for w in &self.warnings {
            let _ = writeln!(out, "check: {w}");
        }
        out
    }
}
