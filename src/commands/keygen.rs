//! `steerdns keygen ZONE`: a new DNSSEC key in a file of its own (mode 0600, never over an
//! existing file), and on stdout, in zone-file form, its DNSKEY and the DS for the parent.

use std::path::Path;
use std::process::ExitCode;

use super::output;
use crate::dns::name::Name;
use crate::dnssec::algorithm::Algorithm;
use crate::dnssec::key::{FLAGS_KSK, FLAGS_ZSK, ZoneKey};
use crate::error::AppError;
use crate::state::now_unix;

/// Generates a key for `zone` in `dir` and prints what to publish.
pub fn run(
    zone: &str,
    algorithm: Algorithm,
    zsk: bool,
    publish_only: bool,
    dir: &Path,
) -> Result<ExitCode, AppError> {
    let apex = Name::parse_absolute(zone).map_err(|source| AppError::ZoneName {
        name: zone.to_string(),
        source,
    })?;
    let flags = if zsk { FLAGS_ZSK } else { FLAGS_KSK };
    let key = ZoneKey::generate(&apex, algorithm, flags, publish_only, now_unix())?;
    let path = dir.join(key.file_name());
    key.write_new(&path)?;
    let mut text = format!(
        "; wrote {} (mode 0600): list it in [dnssec] keys of the zone file of {apex}\n",
        path.display()
    );
    if publish_only {
        text.push_str(
            "; publish_only: in the DNSKEY RRset, signs nothing until that line says false\n",
        );
    }
    text.push_str("; DNSKEY, served at the zone apex:\n");
    text.push_str(&format!("{}\n", key.dnskey_text()));
    if key.is_sep() {
        text.push_str("; DS for the parent zone (SHA-256):\n");
        text.push_str(&format!("{}\n", key.ds_text()));
    } else {
        text.push_str("; a zone-signing key: the parent needs no DS for it\n");
    }
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}
