//! The signing state of one zone: its keys, which of them sign what, and the shared caches.
//!
//! Built once per load from the zone's `[dnssec]` table (keys read from their files at
//! load, never per query) and kept in the compiled zone. The caches are not part of it: each
//! snapshot hands its [`SignatureCaches`] on to the next, so a reload keeps every signature
//! whose RRset and key did not change.
//!
//! Who signs what (RFC 6781 3.1):
//!
//! | RRset        | signed by                                                          |
//! |--------------|--------------------------------------------------------------------|
//! | DNSKEY       | active keys with the SEP flag (KSK, CSK); if none, every active key |
//! | anything else| active keys without SEP (ZSK); if none, the active SEP keys (CSK)  |
//!
//! A key marked `publish_only` is in the DNSKEY RRset and signs nothing: that is how a new
//! key is pre-published and an old one kept while caches still hold its signatures. Swapping
//! the roles of two keys is an edit of their files and a reload.

use std::sync::Arc;

use super::cache::SignatureCache;
use super::key::ZoneKey;
use super::sign::Rrset;
use super::wire::rtype;
use crate::dns::name::Name;
use crate::error::{PolicyError, SignError};

/// Default bound of the cache of signatures over zone content (static and steered RRsets,
/// delegation and NODATA proofs): about 300 bytes each, so about 10 MB.
pub const STABLE_CAPACITY: usize = 32_768;

/// Default bound of the cache of signatures over names a client chose (compact NXDOMAIN
/// proofs and wildcard expansions), kept apart so a flood of random names cannot push the
/// zone's own signatures out.
pub const PER_NAME_CAPACITY: usize = 8_192;

/// Which cache a signature goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// RRsets that come from the zone's content (static, steered, delegation and NODATA
    /// proofs at names that exist).
    Stable,
    /// RRsets whose owner is a name the client chose: NXDOMAIN proofs and wildcard
    /// expansions.
    PerName,
}

/// The two signature caches shared by every zone and every snapshot.
#[derive(Debug)]
pub struct SignatureCaches {
    /// Signatures over zone content.
    pub stable: SignatureCache,
    /// Signatures over client-chosen names.
    pub per_name: SignatureCache,
}

impl SignatureCaches {
    /// Caches with the given bounds.
    pub fn new(stable: usize, per_name: usize) -> Self {
        Self {
            stable: SignatureCache::new(stable),
            per_name: SignatureCache::new(per_name),
        }
    }

    /// The cache of a pool.
    pub fn pool(&self, pool: Pool) -> &SignatureCache {
        match pool {
            Pool::Stable => &self.stable,
            Pool::PerName => &self.per_name,
        }
    }

    /// Signs ahead for the next window in both caches (see
    /// [`SignatureCache::refresh_ahead`]); returns the number of signatures made.
    pub fn refresh_ahead(&self, now: u32, budget: usize) -> usize {
        let made = self.stable.refresh_ahead(now, budget);
        made + self
            .per_name
            .refresh_ahead(now, budget.saturating_sub(made))
    }
}

impl Default for SignatureCaches {
    fn default() -> Self {
        Self::new(STABLE_CAPACITY, PER_NAME_CAPACITY)
    }
}

/// The keys of one signed zone and how it signs; see the module documentation.
#[derive(Debug)]
pub struct ZoneSigner {
    keys: Vec<Arc<ZoneKey>>,
    dnskey_signers: Vec<Arc<ZoneKey>>,
    data_signers: Vec<Arc<ZoneKey>>,
    dnskey_rdatas: Vec<Box<[u8]>>,
    dnskey_ttl: u32,
    validity: u32,
}

impl ZoneSigner {
    /// The signing state of `apex` with `keys` (every key of its DNSKEY RRset, active or
    /// `publish_only`), a DNSKEY TTL and the signature validity in seconds.
    pub fn new(
        apex: &Name,
        keys: Vec<Arc<ZoneKey>>,
        dnskey_ttl: u32,
        validity: u32,
    ) -> Result<Self, PolicyError> {
        if keys.is_empty() {
            return Err(PolicyError::NoKeys);
        }
        for (i, k) in keys.iter().enumerate() {
            if k.zone() != apex {
                return Err(PolicyError::WrongZone {
                    tag: k.key_tag(),
                    key_zone: k.zone().clone(),
                    zone: apex.clone(),
                });
            }
            if keys[..i].iter().any(|o| o.id() == k.id()) {
                return Err(PolicyError::Duplicate { tag: k.key_tag() });
            }
        }
        let active: Vec<Arc<ZoneKey>> =
            keys.iter().filter(|k| !k.publish_only()).cloned().collect();
        if active.is_empty() {
            return Err(PolicyError::NoActiveKey);
        }
        let (sep, non_sep): (Vec<_>, Vec<_>) = active.iter().cloned().partition(|k| k.is_sep());
        let dnskey_signers = if sep.is_empty() {
            active.clone()
        } else {
            sep.clone()
        };
        let data_signers = if non_sep.is_empty() { sep } else { non_sep };
        let dnskey_rdatas = keys.iter().map(|k| k.dnskey_rdata().into()).collect();
        Ok(Self {
            keys,
            dnskey_signers,
            data_signers,
            dnskey_rdatas,
            dnskey_ttl,
            validity,
        })
    }

    /// Every key of the zone, in the order listed.
    pub fn keys(&self) -> &[Arc<ZoneKey>] {
        &self.keys
    }

    /// Signature validity in seconds.
    pub fn validity(&self) -> u32 {
        self.validity
    }

    /// The DNSKEY RRset at the apex (every key, `publish_only` ones too).
    pub fn dnskey_rrset<'a>(&'a self, apex: &'a [u8]) -> Rrset<'a, Box<[u8]>> {
        Rrset {
            owner: apex,
            rtype: rtype::DNSKEY,
            ttl: self.dnskey_ttl,
            rdatas: &self.dnskey_rdatas,
        }
    }

    /// The keys that sign an RRset of type `t`.
    pub fn signers(&self, t: u16) -> &[Arc<ZoneKey>] {
        if t == rtype::DNSKEY {
            &self.dnskey_signers
        } else {
            &self.data_signers
        }
    }

    /// Calls `f` with the RRSIG RDATA of `set` by each key that signs it, valid at `now`
    /// (unix seconds), from the cache of `pool` in `caches` (computed and cached on a miss).
    pub fn for_each_rrsig<R: AsRef<[u8]>>(
        &self,
        caches: &SignatureCaches,
        set: &Rrset<'_, R>,
        pool: Pool,
        now: u32,
        mut f: impl FnMut(&[u8]),
    ) -> Result<(), SignError> {
        let cache = caches.pool(pool);
        for key in self.signers(set.rtype) {
            let rrsig = cache.get_or_sign(key, set, now, self.validity)?;
            f(&rrsig);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::key::{Algorithm, FLAGS_KSK, FLAGS_ZSK};

    fn apex() -> Name {
        Name::parse_absolute("gslb.example.test.").unwrap()
    }

    fn key(flags: u16, publish_only: bool) -> Arc<ZoneKey> {
        Arc::new(
            ZoneKey::generate(&apex(), Algorithm::EcdsaP256Sha256, flags, publish_only, 0).unwrap(),
        )
    }

    fn signer(keys: Vec<Arc<ZoneKey>>) -> Result<ZoneSigner, PolicyError> {
        ZoneSigner::new(&apex(), keys, 300, 7 * 86_400)
    }

    fn tags(keys: &[Arc<ZoneKey>]) -> Vec<u16> {
        keys.iter().map(|k| k.key_tag()).collect()
    }

    #[test]
    fn roles() {
        let csk = key(FLAGS_KSK, false);
        let s = signer(vec![csk.clone()]).unwrap();
        assert_eq!(tags(s.signers(rtype::DNSKEY)), [csk.key_tag()]);
        assert_eq!(tags(s.signers(1)), [csk.key_tag()]);

        let ksk = key(FLAGS_KSK, false);
        let zsk = key(FLAGS_ZSK, false);
        let next = key(FLAGS_ZSK, true);
        let s = signer(vec![ksk.clone(), zsk.clone(), next.clone()]).unwrap();
        assert_eq!(tags(s.signers(rtype::DNSKEY)), [ksk.key_tag()]);
        assert_eq!(tags(s.signers(1)), [zsk.key_tag()]);
        assert_eq!(s.dnskey_rrset(apex().as_wire()).rdatas.len(), 3);

        // Only a ZSK: it signs everything.
        let s = signer(vec![zsk.clone()]).unwrap();
        assert_eq!(tags(s.signers(rtype::DNSKEY)), [zsk.key_tag()]);
    }

    #[test]
    fn refuses_unusable_key_sets() {
        assert!(matches!(signer(vec![]), Err(PolicyError::NoKeys)));
        assert!(matches!(
            signer(vec![key(FLAGS_KSK, true)]),
            Err(PolicyError::NoActiveKey)
        ));
        let k = key(FLAGS_KSK, false);
        assert!(matches!(
            signer(vec![k.clone(), k]),
            Err(PolicyError::Duplicate { .. })
        ));
        let other = Name::parse_absolute("other.test.").unwrap();
        let foreign =
            Arc::new(ZoneKey::generate(&other, Algorithm::Ed25519, FLAGS_KSK, false, 0).unwrap());
        let err = signer(vec![foreign]).unwrap_err().to_string();
        assert!(
            err.contains("is for zone other.test., not gslb.example.test."),
            "{err}"
        );
    }
}
