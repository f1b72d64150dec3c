//! DNS code points used by the answer path: record types, classes, response codes.

/// Record type codes used by the answer path.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Domain name pointer.
    pub const PTR: u16 = 12;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Mail exchange.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// Delegation signer.
    pub const DS: u16 = 43;
    /// EDNS pseudo-record.
    pub const OPT: u16 = 41;
    /// Transaction signature (RFC 8945).
    pub const TSIG: u16 = 250;
    /// Incremental zone transfer.
    pub const IXFR: u16 = 251;
    /// Zone transfer.
    pub const AXFR: u16 = 252;
    /// Any type.
    pub const ANY: u16 = 255;
}

/// Class codes.
pub mod class {
    /// Internet.
    pub const IN: u16 = 1;
    /// CHAOS.
    pub const CH: u16 = 3;
    /// Any class.
    pub const ANY: u16 = 255;
}

/// Response codes (the low 4 bits go in the header, the rest in the OPT record).
pub mod rcode {
    /// No error.
    pub const NOERROR: u16 = 0;
    /// Format error.
    pub const FORMERR: u16 = 1;
    /// Server failure.
    pub const SERVFAIL: u16 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u16 = 3;
    /// Not implemented.
    pub const NOTIMP: u16 = 4;
    /// Refused.
    pub const REFUSED: u16 = 5;
    /// Not authoritative; with TSIG, not authorized (RFC 8945 5.2).
    pub const NOTAUTH: u16 = 9;
    /// Bad EDNS version.
    pub const BADVERS: u16 = 16;
    /// Bad or missing server cookie (RFC 7873 8).
    pub const BADCOOKIE: u16 = 23;
}
