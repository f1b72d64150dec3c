//! Zone keys: the key file format, key generation, DNSKEY and DS records.
//!
//! A key file is a small TOML file written by `steerdns keygen` with mode 0600:
//!
//! ```toml
//! # steerdns DNSSEC key for gslb.example.test. (keep secret: it signs for the zone)
//! zone = "gslb.example.test."
//! algorithm = 13          # 13 = ECDSAP256SHA256, 15 = ED25519
//! flags = 257             # 257 = key-signing key or CSK (SEP bit set), 256 = zone-signing key
//! key_tag = 12345         # written for people; checked against the key when loaded
//! publish_only = false    # true: in the DNSKEY RRset, but signs nothing (rollover)
//! created = 1764590000    # unix seconds; informative
//! private_key = "MIGHAgEAMBMGByqGSM49..."   # PKCS#8 (RFC 5958), base64
//! ```
//!
//! Every field but `key_tag`, `publish_only` and `created` is required; unknown keys are
//! errors. The private key is a standard PKCS#8 document, so it can be converted with
//! ordinary tools (`base64 -d | openssl pkey -inform DER`). The cryptography (key generation,
//! signing, SHA-256) is ring, the library rustls already uses here; this module only lays out
//! the DNS records around it (RFC 4034 2 and 5, RFC 6605, RFC 8080). Both PKCS#8 forms load:
//! v2 (with the public key, what `keygen` writes) and Ed25519 v1 (no public key, what
//! `openssl genpkey` writes); an ECDSA document must carry its public key (RFC 5915), as
//! OpenSSL's and AWS-LC's do.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde::Deserialize;
use toml::Spanned;

pub use super::algorithm::Algorithm;
use crate::dns::name::Name;
use crate::error::{KeyError, SignError};

/// DNSKEY flags of a zone-signing key (Zone Key bit only).
pub const FLAGS_ZSK: u16 = 256;
/// DNSKEY flags of a key-signing key or CSK (Zone Key and Secure Entry Point bits).
pub const FLAGS_KSK: u16 = 257;

//------------ ZoneKey ------------

/// The private half of a key, as the crypto library holds it.
enum KeyPair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// One DNSSEC key of a zone, ready to sign: read once at load and shared by every query.
pub struct ZoneKey {
    zone: Name,
    algorithm: Algorithm,
    flags: u16,
    publish_only: bool,
    key_tag: u16,
    created: u64,
    /// DNSKEY RDATA: flags, protocol 3, algorithm, public key.
    dnskey: Box<[u8]>,
    /// Identity for the signature cache (from the DNSKEY RDATA, so the same key file read
    /// again after a reload is the same key).
    id: u64,
    pair: KeyPair,
    pkcs8: Box<[u8]>,
}

impl fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the private key.
        f.debug_struct("ZoneKey")
            .field("zone", &self.zone)
            .field("algorithm", &self.algorithm)
            .field("flags", &self.flags)
            .field("key_tag", &self.key_tag)
            .field("publish_only", &self.publish_only)
            .finish_non_exhaustive()
    }
}

/// The key file's fields, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileSchema {
    zone: Spanned<String>,
    algorithm: Spanned<u8>,
    flags: Spanned<u16>,
    #[serde(default)]
    key_tag: Option<Spanned<u16>>,
    #[serde(default)]
    publish_only: bool,
    #[serde(default)]
    created: u64,
    private_key: Spanned<String>,
}

impl ZoneKey {
    /// Generates a new key for `zone`.
    pub fn generate(
        zone: &Name,
        algorithm: Algorithm,
        flags: u16,
        publish_only: bool,
        created: u64,
    ) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
        }
        .map_err(|_| KeyError::Generate { algorithm })?;
        Self::from_pkcs8(
            zone.clone(),
            algorithm,
            flags,
            publish_only,
            created,
            pkcs8.as_ref(),
        )
        .ok_or(KeyError::Generate { algorithm })
    }

    /// Builds a key from its PKCS#8 private key; `None` if the document is not a key of
    /// `algorithm`.
    fn from_pkcs8(
        zone: Name,
        algorithm: Algorithm,
        flags: u16,
        publish_only: bool,
        created: u64,
        pkcs8: &[u8],
    ) -> Option<Self> {
        let (pair, public) = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8,
                    &SystemRandom::new(),
                )
                .ok()?;
                // An uncompressed point 0x04 || X || Y; DNSSEC publishes X || Y (RFC 6605 4).
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return None;
                }
                let public = point[1..].to_vec();
                (KeyPair::Ecdsa(pair), public)
            }
            Algorithm::Ed25519 => {
                // v1 or v2; with a public key in the document, it must match the private one.
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).ok()?;
                let public = pair.public_key().as_ref().to_vec();
                (KeyPair::Ed25519(pair), public)
            }
        };
        let mut dnskey = Vec::with_capacity(4 + public.len());
        dnskey.extend_from_slice(&flags.to_be_bytes());
        dnskey.push(3);
        dnskey.push(algorithm.number());
        dnskey.extend_from_slice(&public);
        let key_tag = key_tag(&dnskey);
        let hash = digest::digest(&digest::SHA256, &dnskey);
        let mut id = [0u8; 8];
        id.copy_from_slice(&hash.as_ref()[..8]);
        Some(Self {
            zone,
            algorithm,
            flags,
            publish_only,
            key_tag,
            created,
            dnskey: dnskey.into(),
            id: u64::from_be_bytes(id),
            pair,
            pkcs8: pkcs8.into(),
        })
    }

    /// Reads a key file (see the module documentation for the format).
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of a key file; `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, KeyError> {
        let line_of = |offset: usize| {
            text.as_bytes()[..offset.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        };
        let invalid = |span: Option<std::ops::Range<usize>>, message: String| KeyError::Invalid {
            path: path.to_path_buf(),
            line: span.map(|s| line_of(s.start)),
            message,
        };
        let schema: KeyFileSchema =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().trim().to_string()))?;
        let zone = Name::parse_absolute(schema.zone.get_ref())
            .map_err(|e| invalid(Some(schema.zone.span()), format!("zone: {e}")))?;
        let number = *schema.algorithm.get_ref();
        let algorithm = Algorithm::from_number(number).ok_or_else(|| {
            invalid(
                Some(schema.algorithm.span()),
                format!("algorithm {number} is not supported (13 = ECDSAP256SHA256, 15 = ED25519)"),
            )
        })?;
        let flags = *schema.flags.get_ref();
        if flags != FLAGS_ZSK && flags != FLAGS_KSK {
            return Err(invalid(
                Some(schema.flags.span()),
                format!("flags {flags}: must be 257 (KSK or CSK) or 256 (ZSK)"),
            ));
        }
        let pkcs8 = BASE64
            .decode(schema.private_key.get_ref().trim())
            .map_err(|e| {
                invalid(
                    Some(schema.private_key.span()),
                    format!("private_key is not base64: {e}"),
                )
            })?;
        let key = Self::from_pkcs8(
            zone,
            algorithm,
            flags,
            schema.publish_only,
            schema.created,
            &pkcs8,
        )
        .ok_or_else(|| {
            invalid(
                Some(schema.private_key.span()),
                format!("private_key is not a PKCS#8 {algorithm} private key"),
            )
        })?;
        if let Some(tag) = &schema.key_tag
            && *tag.get_ref() != key.key_tag
        {
            return Err(invalid(
                Some(tag.span()),
                format!(
                    "key_tag {} does not match the key (its tag is {})",
                    tag.get_ref(),
                    key.key_tag
                ),
            ));
        }
        Ok(key)
    }

    /// The key file's text.
    pub fn to_file_text(&self) -> String {
        let role = if self.is_sep() {
            "257 = key-signing key or CSK (SEP bit set)"
        } else {
            "256 = zone-signing key"
        };
        format!(
            "# steerdns DNSSEC key for {zone} (keep secret: it signs for the zone)\n\
             zone = \"{zone}\"\n\
             algorithm = {alg}          # {mnemonic}\n\
             flags = {flags}             # {role}\n\
             key_tag = {tag}\n\
             publish_only = {publish}    # true: in the DNSKEY RRset, but signs nothing (rollover)\n\
             created = {created}\n\
             private_key = \"{private}\"\n",
            zone = self.zone,
            alg = self.algorithm.number(),
            mnemonic = self.algorithm.mnemonic(),
            flags = self.flags,
            tag = self.key_tag,
            publish = self.publish_only,
            created = self.created,
            private = BASE64.encode(&self.pkcs8),
        )
    }

    /// Writes the key file at `path`, which must not exist yet, readable by its owner only.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let err = |source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
        file.write_all(self.to_file_text().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(err)
    }

    /// The conventional file name, `K<zone>+<alg>+<tag>.private` (as BIND names its files):
    /// `Kgslb.example.test.+013+12345.private`.
    pub fn file_name(&self) -> String {
        format!(
            "K{}+{:03}+{:05}.private",
            self.zone,
            self.algorithm.number(),
            self.key_tag
        )
    }

    /// The zone the key belongs to.
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// DNSKEY flags (256 or 257).
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// Whether the Secure Entry Point bit is set (a KSK or CSK).
    pub fn is_sep(&self) -> bool {
        self.flags & 1 == 1
    }

    /// Whether the key is only published (in the DNSKEY RRset) and never signs.
    pub fn publish_only(&self) -> bool {
        self.publish_only
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        self.key_tag
    }

    /// Identity of the key for caches: equal for the same key read twice.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The DNSKEY RDATA.
    pub fn dnskey_rdata(&self) -> &[u8] {
        &self.dnskey
    }

    /// The public key field of the DNSKEY.
    pub fn public_key(&self) -> &[u8] {
        &self.dnskey[4..]
    }

    /// Signs `data` (the RRSIG's signed data, RFC 4034 3.1.8.1).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let failed = SignError {
            key_tag: self.key_tag,
            algorithm: self.algorithm,
        };
        match &self.pair {
            KeyPair::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| failed),
            KeyPair::Ed25519(pair) => Ok(pair.sign(data).as_ref().to_vec()),
        }
    }

    /// The DS RDATA with a SHA-256 digest (RFC 4509): key tag, algorithm, digest type 2,
    /// SHA-256 over the owner name and the DNSKEY RDATA (RFC 4034 5.1.4).
    pub fn ds_rdata(&self) -> Vec<u8> {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(self.zone.as_wire());
        ctx.update(&self.dnskey);
        let hash = ctx.finish();
        let mut out = Vec::with_capacity(4 + 32);
        out.extend_from_slice(&self.key_tag.to_be_bytes());
        out.push(self.algorithm.number());
        out.push(2);
        out.extend_from_slice(hash.as_ref());
        out
    }

    /// The DNSKEY record in presentation format, without a TTL (the zone's applies), e.g.
    /// `gslb.example.test. IN DNSKEY 257 3 13 <base64>`.
    pub fn dnskey_text(&self) -> String {
        format!(
            "{} IN DNSKEY {} 3 {} {}",
            self.zone,
            self.flags,
            self.algorithm.number(),
            BASE64.encode(self.public_key())
        )
    }

    /// The DS record for the parent zone in presentation format, e.g.
    /// `gslb.example.test. IN DS 12345 13 2 <hex>`.
    pub fn ds_text(&self) -> String {
        let ds = self.ds_rdata();
        let hex: String = ds[4..].iter().map(|b| format!("{b:02X}")).collect();
        format!(
            "{} IN DS {} {} 2 {hex}",
            self.zone,
            self.key_tag,
            self.algorithm.number()
        )
    }
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B; not for algorithm 1).
pub fn key_tag(dnskey_rdata: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for (i, &b) in dnskey_rdata.iter().enumerate() {
        acc += if i & 1 == 0 {
            u32::from(b) << 8
        } else {
            u32::from(b)
        };
    }
    acc += (acc >> 16) & 0xFFFF;
    (acc & 0xFFFF) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Name {
        Name::parse_absolute("gslb.example.test.").unwrap()
    }

    #[test]
    fn key_tag_of_rfc4034_example() {
        // RFC 4034 5.4: the DNSKEY of dskey.example.com has key tag 60485.
        let public = BASE64
            .decode(concat!(
                "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/",
                "2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvx",
                "egXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc",
                "nOf+EPbtG9DMBmADjFDc2w/rljwvFw=="
            ))
            .unwrap();
        let mut rdata = vec![1, 0, 3, 5];
        rdata.extend_from_slice(&public);
        assert_eq!(key_tag(&rdata), 60485);
    }

    #[test]
    fn generated_keys_round_trip_through_their_file() {
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = ZoneKey::generate(&zone(), alg, FLAGS_KSK, false, 1_764_590_000).unwrap();
            let text = key.to_file_text();
            let again = ZoneKey::parse(Path::new("k.private"), &text).unwrap();
            assert_eq!(again.dnskey_rdata(), key.dnskey_rdata());
            assert_eq!(again.key_tag(), key.key_tag());
            assert_eq!(again.id(), key.id());
            assert_eq!(again.algorithm(), alg);
            assert!(again.is_sep());
            assert!(!again.publish_only());
            assert_eq!(
                key.public_key().len(),
                if alg == Algorithm::Ed25519 { 32 } else { 64 }
            );
            assert_eq!(key.sign(b"data").unwrap().len(), alg.signature_len());
            assert!(key.file_name().starts_with("Kgslb.example.test.+0"));
            assert!(key.ds_text().starts_with("gslb.example.test. IN DS "));
        }
    }

    #[test]
    fn signatures_verify_with_the_published_key() {
        use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
        let ec =
            ZoneKey::generate(&zone(), Algorithm::EcdsaP256Sha256, FLAGS_ZSK, false, 0).unwrap();
        let mut point = vec![4];
        point.extend_from_slice(ec.public_key());
        let sig = ec.sign(b"hello").unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(b"hello", &sig)
            .unwrap();
        let ed = ZoneKey::generate(&zone(), Algorithm::Ed25519, FLAGS_ZSK, false, 0).unwrap();
        let sig = ed.sign(b"hello").unwrap();
        UnparsedPublicKey::new(&ED25519, ed.public_key())
            .verify(b"hello", &sig)
            .unwrap();
        assert!(
            UnparsedPublicKey::new(&ED25519, ed.public_key())
                .verify(b"hellO", &sig)
                .is_err()
        );
    }

    /// Key files written by `steerdns keygen` when the cryptography was aws-lc-rs (4fb6c78),
    /// with the DNSKEY that build printed for each: they load with ring, the same key, and
    /// sign so that key verifies.
    #[test]
    fn key_files_written_with_aws_lc_rs_still_load() {
        use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
        let files = [
            (
                "13",
                "17452",
                "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2g7UCG2tLYJsxwdrxW2RPyJvOl4lNd9KK/bPCOm8I8mhRANCAAQitKKREzb/0IIG2Fy4mctXksuiFGwJCJWRgelFSsGSw6qT3QpfeceRCOocC1VLkhhfVfdGNR0YGxuWFmt7T3uJ",
                "IrSikRM2/9CCBthcuJnLV5LLohRsCQiVkYHpRUrBksOqk90KX3nHkQjqHAtVS5IYX1X3RjUdGBsblhZre097iQ==",
            ),
            (
                "15",
                "47260",
                "MFECAQEwBQYDK2VwBCIEIIDq+eEW/w4794do1tGvCohHb9JZl3weaxcm1obJvJ7ngSEAeo69OGIi6bnilk4vdYTVlXuftfdJAMYnc7epkDIRJPA=",
                "eo69OGIi6bnilk4vdYTVlXuftfdJAMYnc7epkDIRJPA=",
            ),
        ];
        for (alg, tag, private, dnskey) in files {
            let text = format!(
                "zone = \"compat.example.test.\"\nalgorithm = {alg}\nflags = 257\n\
                 key_tag = {tag}\ncreated = 1796088929\nprivate_key = \"{private}\"\n"
            );
            let key = ZoneKey::parse(Path::new("old.private"), &text).unwrap();
            assert_eq!(key.key_tag().to_string(), tag);
            assert_eq!(BASE64.encode(key.public_key()), dnskey);
            let sig = key.sign(b"signed data").unwrap();
            if alg == "13" {
                let mut point = vec![4];
                point.extend_from_slice(key.public_key());
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                    .verify(b"signed data", &sig)
                    .unwrap();
            } else {
                UnparsedPublicKey::new(&ED25519, key.public_key())
                    .verify(b"signed data", &sig)
                    .unwrap();
            }
        }
    }

    /// PKCS#8 documents from OpenSSL 3.0 (`openssl genpkey`, the EC one through
    /// `openssl pkcs8 -topk8 -nocrypt -outform DER`): Ed25519 comes as v1, without the public
    /// key, which ring's strict parser refuses; both load.
    #[test]
    fn openssl_private_keys_load() {
        for (alg, private) in [
            (
                13,
                "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgctOzif/GwvkRYKRMMPQv02jXoVvbEPekkFYvDqkiRfehRANCAARnnzdKpYFd8ouZJ8khHRgvohk3vOjnyokVyUDzSJVoNGMGVGYI8X3WsBb6i6qYumV0eyhdOlB29OYaBEYJp0tN",
            ),
            (
                15,
                "MC4CAQAwBQYDK2VwBCIEIEU9OtANI022V+tnw9/hl2EAdFbWy+sgvtRquh34VuQD",
            ),
        ] {
            let text = format!(
                "zone = \"gslb.example.test.\"\nalgorithm = {alg}\nflags = 256\n\
                 private_key = \"{private}\"\n"
            );
            let key = ZoneKey::parse(Path::new("openssl.private"), &text).unwrap();
            assert_eq!(key.algorithm().number(), alg);
            if alg == 15 {
                let der = BASE64.decode(private).unwrap();
                assert!(
                    Ed25519KeyPair::from_pkcs8(&der).is_err(),
                    "v1 needs the lax parser"
                );
            }
            assert_eq!(
                key.sign(b"x").unwrap().len(),
                key.algorithm().signature_len()
            );
        }
    }

    #[test]
    fn bad_key_files_name_the_line() {
        let key = ZoneKey::generate(&zone(), Algorithm::Ed25519, FLAGS_KSK, false, 0).unwrap();
        let good = key.to_file_text();
        let path = Path::new("keys/k.private");
        let cases = [
            (
                good.replace("algorithm = 15", "algorithm = 8"),
                3,
                "not supported",
            ),
            (good.replace("flags = 257", "flags = 385"), 4, "must be 257"),
            (
                good.replace(&format!("key_tag = {}", key.key_tag()), "key_tag = 1"),
                5,
                "does not match",
            ),
            (
                good.replace("private_key = \"", "private_key = \"!"),
                8,
                "not base64",
            ),
            (good.replace("created", "craeted"), 7, "unknown field"),
        ];
        for (text, line, what) in cases {
            let err = ZoneKey::parse(path, &text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("keys/k.private:{line}: ")) && err.contains(what),
                "{err}"
            );
        }
        // An ECDSA document under the Ed25519 number.
        let ec = ZoneKey::generate(&zone(), Algorithm::EcdsaP256Sha256, FLAGS_KSK, false, 0)
            .unwrap()
            .to_file_text()
            .replace("algorithm = 13", "algorithm = 15")
            .replace("key_tag", "# key_tag");
        let err = ZoneKey::parse(path, &ec).unwrap_err().to_string();
        assert!(err.contains("not a PKCS#8 ED25519 private key"), "{err}");
    }

    #[test]
    fn written_file_is_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let key =
            ZoneKey::generate(&zone(), Algorithm::EcdsaP256Sha256, FLAGS_KSK, false, 0).unwrap();
        let path = dir.path().join(key.file_name());
        key.write_new(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(key.write_new(&path), Err(KeyError::Write { .. })));
        assert_eq!(ZoneKey::read(&path).unwrap().id(), key.id());
    }
}
