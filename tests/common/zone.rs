//! A builder for zone files (`zones/<origin>.toml`, SPEC §3), so a test states only what its
//! zone is about: the origin, the static records it asks for, and the steering tables.
//!
//! ```text
//! Zone::new("wire.test.")            origin = "wire.test."
//!     .ttl(300)                      ttl = 300
//!     .serial(7)                     [soa] mname = "ns1.wire.test.", rname = "hostmaster.wire.test.",
//!     .minimum("30s")                      serial = 7, minimum = "30s"
//!     .record("ns1", "A", &["127.0.0.1"])   [[record]] name = "ns1" type = "A" data = ["127.0.0.1"]
//!     .regions(&["one", "two"])      [region.one] [region.two]
//!     .service("www", "one > two", &[("one", &["127.0.1.1"]), ("two", &["127.0.2.1"])])
//!                                    [service.www] geo = { default = "one > two" },
//!                                    [service.www.region.one] endpoints = ["127.0.1.1"], ...
//!     .toml("[service.www]\n...")    maps, services, checks, other regions: TOML as written
//! ```

use std::fmt;

/// A zone file under construction. `Display` renders the TOML.
#[derive(Clone, Debug)]
pub struct Zone {
    origin: String,
    ttl: Option<u32>,
    serial: String,
    minimum: Option<String>,
    records: String,
    tables: String,
}

/// A TOML string literal for `s`.
fn quoted(s: &str) -> String {
    toml::Value::from(s).to_string()
}

impl Zone {
    /// A zone for `origin` (absolute, e.g. `"wire.test."`) with an SOA of
    /// `ns1.<origin>` / `hostmaster.<origin>`, serial 1, and no records.
    pub fn new(origin: &str) -> Self {
        assert!(origin.ends_with('.'), "origin {origin:?} must be absolute");
        Self {
            origin: origin.to_owned(),
            ttl: None,
            serial: "1".to_owned(),
            minimum: None,
            records: String::new(),
            tables: String::new(),
        }
    }

    /// The zone's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The file name under `zones/`: the origin without its final dot, then `.toml`.
    pub fn file_name(&self) -> String {
        format!("{}toml", self.origin)
    }

    /// The default TTL of static records (`ttl`).
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The SOA serial.
    pub fn serial(mut self, serial: u64) -> Self {
        self.serial = serial.to_string();
        self
    }

    /// The SOA `minimum` (negative-caching TTL), e.g. `"30s"`.
    pub fn minimum(mut self, minimum: &str) -> Self {
        self.minimum = Some(minimum.to_owned());
        self
    }

    /// A static RRset: owner (relative, `@` or absolute), type, and RDATA in presentation
    /// format, each element one record (TXT strings keep their quotes: `"\"hello\""`).
    pub fn record(self, name: &str, rtype: &str, data: &[&str]) -> Self {
        self.rrset(name, rtype, None, data)
    }

    /// A static RRset with its own TTL.
    pub fn record_ttl(self, name: &str, rtype: &str, ttl: u32, data: &[&str]) -> Self {
        self.rrset(name, rtype, Some(ttl), data)
    }

    fn rrset(mut self, name: &str, rtype: &str, ttl: Option<u32>, data: &[&str]) -> Self {
        let data: Vec<String> = data.iter().map(|d| quoted(d)).collect();
        self.records.push_str(&format!(
            "\n[[record]]\nname = {}\ntype = {}\n",
            quoted(name),
            quoted(rtype)
        ));
        if let Some(ttl) = ttl {
            self.records.push_str(&format!("ttl = {ttl}\n"));
        }
        self.records
            .push_str(&format!("data = [{}]\n", data.join(", ")));
        self
    }

    /// Regions with no settings of their own (`[region.<name>]` each): state active,
    /// no canary.
    pub fn regions(mut self, names: &[&str]) -> Self {
        for name in names {
            self.tables.push_str(&format!("\n[region.{name}]"));
        }
        self.tables.push('\n');
        self
    }

    /// A steered service with an inline map `{ default = "<tiers>" }` (e.g. `"one > two"`)
    /// and the endpoints of each of its regions, which must be declared ([`Zone::regions`]).
    /// Other settings (ttl, check, weights, net: keys): write the service with [`Zone::toml`].
    pub fn service(mut self, name: &str, tiers: &str, regions: &[(&str, &[&str])]) -> Self {
        self.tables.push_str(&format!(
            "\n[service.{name}]\ngeo = {{ default = {} }}\n",
            quoted(tiers)
        ));
        for (region, endpoints) in regions {
            let endpoints: Vec<String> = endpoints.iter().map(|e| quoted(e)).collect();
            self.tables.push_str(&format!(
                "[service.{name}.region.{region}]\nendpoints = [{}]\n",
                endpoints.join(", ")
            ));
        }
        self
    }

    /// TOML tables appended as written: `[region.*]`, `[map.*]`, `[service.*]`, `[check.*]`.
    pub fn toml(mut self, tables: &str) -> Self {
        self.tables.push('\n');
        self.tables.push_str(tables);
        self
    }
}

/// How a `[check.web]` HTTP check (`GET /healthz`) probes: every `interval`, each probe
/// given `timeout`, up after `rise` passes and down after `fall` failures.
#[derive(Clone, Copy, Debug)]
pub struct HttpCheck {
    pub interval: &'static str,
    pub timeout: &'static str,
    pub rise: u32,
    pub fall: u32,
}

impl Zone {
    /// `www` steered `primary > backup` (one endpoint each, ttl 5), both checked by
    /// `[check.web]` over HTTP on `port`: the failover zone the failover, fleet and
    /// status-page tests share.
    pub fn failover_www(
        origin: &str,
        port: u16,
        check: HttpCheck,
        primary: &str,
        backup: &str,
    ) -> Self {
        let HttpCheck {
            interval,
            timeout,
            rise,
            fall,
        } = check;
        Zone::new(origin).toml(&format!(
            r#"
[check.web]
kind = "http"
path = "/healthz"
port = {port}
interval = "{interval}"
timeout = "{timeout}"
rise = {rise}
fall = {fall}
[region.primary]
[region.backup]
[service.www]
geo = {{ default = "primary > backup" }}
check = "web"
ttl = 5
[service.www.region.primary]
endpoints = ["{primary}"]
[service.www.region.backup]
endpoints = ["{backup}"]
"#
        ))
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        writeln!(f, "origin = {}", quoted(o))?;
        if let Some(ttl) = self.ttl {
            writeln!(f, "ttl = {ttl}")?;
        }
        writeln!(f, "[soa]")?;
        writeln!(f, "mname = {}", quoted(&format!("ns1.{o}")))?;
        writeln!(f, "rname = {}", quoted(&format!("hostmaster.{o}")))?;
        writeln!(f, "serial = {}", self.serial)?;
        if let Some(minimum) = &self.minimum {
            writeln!(f, "minimum = {}", quoted(minimum))?;
        }
        f.write_str(&self.records)?;
        writeln!(f, "{}", self.tables)
    }
}
