//! DNS Cookies (RFC 7873) with server cookies as RFC 9018 makes them.
//!
//! A client sends an 8-octet client cookie, and from its second query on the server cookie it
//! was given. The server cookie is 16 octets:
//!
//! ```text
//!   version (1) = 1 | reserved (3) = 0 | timestamp (4, unix seconds) | hash (8)
//!   hash = SipHash-2-4(key = server secret,
//!                      client cookie | version | reserved | timestamp | client address)
//! ```
//!
//! so it proves that the client received an answer at its address before, and instances that
//! share the secret (`[server] cookie_secret_file`) recognise each other's cookies. A cookie is
//! valid for an hour after its timestamp (five minutes of clock skew allowed the other way);
//! one older than half an hour is replaced by a fresh one in the reply (RFC 9018 4.3). The
//! hash is computed by the `siphasher` crate; nothing here is hand-written cryptography.
//!
//! Pure: the secret, the time and the client address are passed in.

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// Octets of a server cookie made here.
pub const SERVER_COOKIE_LEN: usize = 16;

/// How long a server cookie is accepted after its timestamp (RFC 9018 4.3).
const MAX_AGE: i64 = 3600;
/// How far in the future a timestamp may be (clock skew between instances).
const MAX_AHEAD: i64 = 300;
/// Cookies older than this are replaced in the reply.
const RENEW_AFTER: i64 = 1800;

/// The 16-octet server secret (the SipHash key). `Debug` does not show it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CookieSecret([u8; 16]);

impl std::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSecret(<redacted>)")
    }
}

/// Why a cookie secret's text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CookieSecretError {
    /// Not 32 hexadecimal digits.
    #[error("must be 32 hexadecimal digits (16 bytes), found {0} characters")]
    Length(usize),
    /// A character that is not a hexadecimal digit.
    #[error("must be hexadecimal digits only, found {0:?}")]
    NotHex(char),
}

impl CookieSecret {
    /// A secret from its 16 octets.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Parses 32 hexadecimal digits (white space around them is ignored).
    pub fn from_hex(text: &str) -> Result<Self, CookieSecretError> {
        let text = text.trim();
        if text.len() != 32 {
            return Err(CookieSecretError::Length(text.chars().count()));
        }
        let mut out = [0u8; 16];
        let digits: Vec<u8> = text
            .chars()
            .map(|c| {
                c.to_digit(16)
                    .map(|d| d as u8)
                    .ok_or(CookieSecretError::NotHex(c))
            })
            .collect::<Result<_, _>>()?;
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = pair[0] << 4 | pair[1];
        }
        Ok(Self(out))
    }
}

/// What a query's COOKIE option proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CookieStatus {
    /// No COOKIE option.
    #[default]
    None,
    /// A client cookie only (a first contact).
    ClientOnly,
    /// A server cookie this server (or one sharing its secret) made for this client and
    /// address, within its lifetime: the client has proved its address.
    Valid,
    /// A server cookie that is not ours, not for this address, or expired.
    Invalid,
}

/// The outcome of checking a query's cookie: its status and the server cookie to send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieCheck {
    /// What the query's cookie proves.
    pub status: CookieStatus,
    /// The server cookie for the reply: the client's own when valid and fresh, else a new one.
    pub reply: [u8; SERVER_COOKIE_LEN],
}

/// The RFC 9018 hash of `client | head | address`, where `head` is version, reserved and
/// timestamp as sent (8 octets).
fn hash(secret: &CookieSecret, client: &[u8; 8], head: &[u8], ip: IpAddr) -> [u8; 8] {
    let mut h = SipHasher24::new_with_key(&secret.0);
    h.write(client);
    h.write(head);
    match ip.to_canonical() {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    h.finish().to_le_bytes()
}

/// A new server cookie for `client` at address `ip`, stamped `now` (unix seconds, modulo
/// 2^32).
pub fn server_cookie(
    secret: &CookieSecret,
    client: &[u8; 8],
    ip: IpAddr,
    now: u32,
) -> [u8; SERVER_COOKIE_LEN] {
    let mut out = [0u8; SERVER_COOKIE_LEN];
    out[0] = 1; // version
    out[4..8].copy_from_slice(&now.to_be_bytes());
    let h = hash(secret, client, &out[..8], ip);
    out[8..].copy_from_slice(&h);
    out
}

/// Checks a query's cookie (client cookie and the server cookie it carried, possibly empty)
/// from address `ip` at time `now`.
pub fn check(
    secret: &CookieSecret,
    client: &[u8; 8],
    server: &[u8],
    ip: IpAddr,
    now: u32,
) -> CookieCheck {
    let fresh = || server_cookie(secret, client, ip, now);
    if server.is_empty() {
        return CookieCheck {
            status: CookieStatus::ClientOnly,
            reply: fresh(),
        };
    }
    let invalid = CookieCheck {
        status: CookieStatus::Invalid,
        reply: fresh(),
    };
    // Ours are 16 octets of version 1; the reserved octets are hashed as sent.
    if server.len() != SERVER_COOKIE_LEN || server[0] != 1 {
        return invalid;
    }
    let stamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
    // Serial number arithmetic (RFC 1982): the age across the 2^32 wrap.
    let age = i64::from(now.wrapping_sub(stamp) as i32);
    if !(-MAX_AHEAD..=MAX_AGE).contains(&age) {
        return invalid;
    }
    if hash(secret, client, &server[..8], ip) != server[8..] {
        return invalid;
    }
    let reply = if age > RENEW_AFTER || server[1..4] != [0, 0, 0] {
        fresh()
    } else {
        server.try_into().expect("length checked above")
    };
    CookieCheck {
        status: CookieStatus::Valid,
        reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn secret(s: &str) -> CookieSecret {
        CookieSecret::from_hex(s).unwrap()
    }

    fn client(s: &str) -> [u8; 8] {
        hex(s).try_into().unwrap()
    }

    // RFC 9018 Appendix A.1: learning a new server cookie.
    #[test]
    fn rfc9018_a1_new_cookie() {
        let got = server_cookie(
            &secret("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            &client("2464c4abcf10c957"),
            "198.51.100.100".parse().unwrap(),
            1_559_731_985,
        );
        assert_eq!(got.to_vec(), hex("010000005cf79f111f8130c3eee29480"));
    }

    // A.2: the same client 40 minutes later: its cookie is valid but renewed.
    #[test]
    fn rfc9018_a2_renewed_cookie() {
        let c = check(
            &secret("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            &client("2464c4abcf10c957"),
            &hex("010000005cf79f111f8130c3eee29480"),
            "198.51.100.100".parse().unwrap(),
            1_559_734_385,
        );
        assert_eq!(c.status, CookieStatus::Valid);
        assert_eq!(c.reply.to_vec(), hex("010000005cf7a871d4a564a1442aca77"));
    }

    // A.3: another client, whose cookie (reserved octets set: they are part of the hash)
    // is almost two hours old: not accepted, and replaced by the vector's fresh cookie.
    #[test]
    fn rfc9018_a3_reserved_octets_and_age() {
        let s = secret("e5e973e5a6b2a43f48e7dc849e37bfcf");
        let c = client("fc93fc62807ddb86");
        let held = hex("01abcdef5cf78f71a314227b6679ebf5");
        let ip: IpAddr = "203.0.113.203".parse().unwrap();
        let late = check(&s, &c, &held, ip, 1_559_734_700);
        assert_eq!(late.status, CookieStatus::Invalid);
        assert_eq!(late.reply.to_vec(), hex("010000005cf7a9acf73a7810aca2381e"));
        // Within its hour (stamped 1559727985) the hash holds, reserved octets included;
        // the reply is a fresh cookie with them cleared.
        let soon = check(&s, &c, &held, ip, 1_559_727_985 + 10);
        assert_eq!(soon.status, CookieStatus::Valid);
        assert_eq!(soon.reply[..4], [1, 0, 0, 0]);
    }

    // A.4: an IPv6 client after the secret was rolled over: the old cookie is not valid with
    // the new secret, and the new secret makes the vector's cookie.
    #[test]
    fn rfc9018_a4_ipv6_and_rollover() {
        let ip: IpAddr = "2001:db8:220:1:59de:d0f4:8769:82b8".parse().unwrap();
        let c = client("22681ab97d52c298");
        let old = hex("010000005cf7c57926556bd0934c72f8");
        let at = 1_559_741_961;
        let with_old = check(
            &secret("dd3bdf9344b678b185a6f5cb60fca715"),
            &c,
            &old,
            ip,
            at,
        );
        assert_eq!(with_old.status, CookieStatus::Valid);
        let with_new = check(
            &secret("445536bcd2513298075a5d379663c962"),
            &c,
            &old,
            ip,
            at,
        );
        assert_eq!(with_new.status, CookieStatus::Invalid);
        assert_eq!(
            with_new.reply.to_vec(),
            hex("010000005cf7c609a6bb79d16625507a")
        );
    }

    #[test]
    fn lifetime_address_and_length() {
        let s = secret("e5e973e5a6b2a43f48e7dc849e37bfcf");
        let c = client("2464c4abcf10c957");
        let ip: IpAddr = "198.51.100.100".parse().unwrap();
        let now = 1_559_731_985u32;
        let made = server_cookie(&s, &c, ip, now);
        let at = |t: u32| check(&s, &c, &made, ip, t).status;
        assert_eq!(at(now), CookieStatus::Valid);
        assert_eq!(at(now + 3600), CookieStatus::Valid);
        assert_eq!(at(now + 3601), CookieStatus::Invalid);
        assert_eq!(at(now - 300), CookieStatus::Valid);
        assert_eq!(at(now - 301), CookieStatus::Invalid);
        // Fresh cookies are echoed as they came; older than half an hour, renewed.
        assert_eq!(check(&s, &c, &made, ip, now + 1800).reply, made);
        assert_ne!(check(&s, &c, &made, ip, now + 1801).reply, made);
        // Across the 2^32 wrap of the timestamp.
        let late = server_cookie(&s, &c, ip, u32::MAX - 10);
        assert_eq!(check(&s, &c, &late, ip, 100).status, CookieStatus::Valid);
        // Another address, another client cookie, a truncated or other-version cookie.
        let other: IpAddr = "198.51.100.101".parse().unwrap();
        assert_eq!(
            check(&s, &c, &made, other, now).status,
            CookieStatus::Invalid
        );
        let c2 = client("2464c4abcf10c958");
        assert_eq!(check(&s, &c2, &made, ip, now).status, CookieStatus::Invalid);
        assert_eq!(
            check(&s, &c, &made[..8], ip, now).status,
            CookieStatus::Invalid
        );
        let mut v2 = made;
        v2[0] = 2;
        assert_eq!(check(&s, &c, &v2, ip, now).status, CookieStatus::Invalid);
        assert_eq!(check(&s, &c, &[], ip, now).status, CookieStatus::ClientOnly);
        // An IPv4 client seen as an IPv4-mapped IPv6 address is the same client.
        let mapped: IpAddr = "::ffff:198.51.100.100".parse().unwrap();
        assert_eq!(
            check(&s, &c, &made, mapped, now).status,
            CookieStatus::Valid
        );
    }

    #[test]
    fn secrets_from_hex() {
        assert!(CookieSecret::from_hex(" e5e973e5a6b2a43f48e7dc849e37bfcf\n").is_ok());
        assert_eq!(
            CookieSecret::from_hex("e5e9"),
            Err(CookieSecretError::Length(4))
        );
        assert_eq!(
            CookieSecret::from_hex("g5e973e5a6b2a43f48e7dc849e37bfcf"),
            Err(CookieSecretError::NotHex('g'))
        );
        assert_eq!(
            format!("{:?}", secret("e5e973e5a6b2a43f48e7dc849e37bfcf")),
            "CookieSecret(<redacted>)"
        );
    }
}
