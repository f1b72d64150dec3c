//! The DNSSEC algorithms this server signs with (RFC 8624 3.1: the two it recommends for
//! signing).

use std::fmt;

/// A DNSSEC signing algorithm this server can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA with curve P-256 and SHA-256 (RFC 6605), number 13. The default.
    EcdsaP256Sha256,
    /// Ed25519 (RFC 8080), number 15.
    Ed25519,
}

impl Algorithm {
    /// The IANA algorithm number.
    pub fn number(self) -> u8 {
        match self {
            Self::EcdsaP256Sha256 => 13,
            Self::Ed25519 => 15,
        }
    }

    /// The algorithm of an IANA number, if supported.
    pub fn from_number(number: u8) -> Option<Self> {
        match number {
            13 => Some(Self::EcdsaP256Sha256),
            15 => Some(Self::Ed25519),
            _ => None,
        }
    }

    /// The mnemonic (`ECDSAP256SHA256`, `ED25519`).
    pub fn mnemonic(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Self::Ed25519 => "ED25519",
        }
    }

    /// Parses a mnemonic or number, case-insensitively (`ecdsap256sha256`, `13`, `ed25519`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "ecdsap256sha256" | "13" => Some(Self::EcdsaP256Sha256),
            "ed25519" | "15" => Some(Self::Ed25519),
            _ => None,
        }
    }

    /// Length of a signature in bytes (both are fixed-size).
    pub fn signature_len(self) -> usize {
        64
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}
