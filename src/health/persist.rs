//! The health state file (`[health] state_file`): endpoint states survive a restart, so a
//! restarted server does not send resolvers back to a region that was down.
//!
//! Format: JSON, `{"version": 1, "endpoints": {"<target key>": "up" | "down", ...}}`, keys
//! sorted: this instance's own verdicts. With `[peers]`, `"agreed"` (same shape, left out when
//! empty) holds the agreed verdicts that differ from the instance's own, so a restart answers
//! as the fleet had agreed until the peers are heard again. Written whole, atomically (write a temporary file beside it, flush, rename over), so
//! a crash leaves either the old or the new file. A missing, unreadable or corrupt file is
//! logged and ignored: health then starts up, as without a file.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::state::Status;
use crate::error::{StateFileError, render_chain};

/// Format version written to and expected in the file.
const VERSION: u32 = 1;

/// Saved endpoint states by target key ([`endpoint_key`]).
pub type SavedStates = HashMap<String, Status>;

/// The one key of a checked endpoint, `"zone/service/region/endpoint"`: stable across reloads
/// and restarts as long as the names are. The state file, the runner (which keeps a check's
/// state across a reload) and `steerdns explain` (which reads saved states) all use it.
pub fn endpoint_key(
    zone: &str,
    service: &str,
    region: &str,
    endpoint: &dyn std::fmt::Display,
) -> String {
    format!("{zone}/{service}/{region}/{endpoint}")
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileBody {
    version: u32,
    endpoints: BTreeMap<String, Status>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    agreed: BTreeMap<String, Status>,
    /// Staged rollouts' progress by `zone/service` (SPEC 4.2), opaque here: the rollout
    /// runner writes and reads it. Left out when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    rollouts: BTreeMap<String, serde_json::Value>,
}

/// One writer of the state file at a time: the health runner writes the endpoint sections,
/// the rollout runner the rollout section, each keeping what the other last wrote.
static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The body of the file as it is (empty when missing or unreadable).
fn current_body(path: &Path) -> FileBody {
    std::fs::read(path)
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok())
        .unwrap_or_default()
}

/// The rollout section of the state file (empty when missing or unreadable).
pub fn load_rollouts(path: &Path) -> BTreeMap<String, serde_json::Value> {
    current_body(path).rollouts
}

/// Writes the rollout section of the state file, keeping the endpoint sections as they are.
pub fn save_rollouts(
    path: &Path,
    rollouts: &BTreeMap<String, serde_json::Value>,
) -> Result<(), StateFileError> {
    let _writing = WRITING.lock().unwrap_or_else(|p| p.into_inner());
    let mut body = current_body(path);
    body.version = VERSION;
    body.rollouts = rollouts.clone();
    write_body(path, &body)
}

/// Everything the state file holds about endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedFile {
    /// This instance's own verdicts.
    pub endpoints: SavedStates,
    /// Agreed verdicts that differed from the own ones (with `[peers]`).
    pub agreed: SavedStates,
}

impl SavedFile {
    /// The verdict answers used for `key`: the agreed one when saved, else the own one.
    pub fn answered(&self, key: &str) -> Option<Status> {
        self.agreed
            .get(key)
            .or_else(|| self.endpoints.get(key))
            .copied()
    }
}

/// Read the state file's own verdicts. `Ok(empty)` when it does not exist.
pub fn try_load(path: &Path) -> Result<SavedStates, StateFileError> {
    try_load_file(path).map(|f| f.endpoints)
}

/// Read the whole state file. `Ok(empty)` when it does not exist.
pub fn try_load_file(path: &Path) -> Result<SavedFile, StateFileError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SavedFile::default()),
        Err(source) => {
            return Err(StateFileError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let body: FileBody = serde_json::from_slice(&text).map_err(|source| StateFileError::Parse {
        path: path.to_owned(),
        source,
    })?;
    if body.version != VERSION {
        return Err(StateFileError::Version {
            path: path.to_owned(),
            found: body.version,
        });
    }
    Ok(SavedFile {
        endpoints: body.endpoints.into_iter().collect(),
        agreed: body.agreed.into_iter().collect(),
    })
}

/// Read the state file's own verdicts; on any error log it and return none (never fatal).
pub fn load(path: &Path) -> SavedStates {
    load_file(path).endpoints
}

/// Read the whole state file; on any error log it and return nothing saved (never fatal).
pub fn load_file(path: &Path) -> SavedFile {
    match try_load_file(path) {
        Ok(file) => {
            tracing::info!(path = %path.display(), endpoints = file.endpoints.len(), agreed = file.agreed.len(), "health state file loaded");
            file
        }
        Err(e) => {
            tracing::warn!(error = %render_chain(&e), "ignoring health state file; endpoints start up");
            SavedFile::default()
        }
    }
}

/// Write `states` to `path` atomically: temporary file in the same folder, fsync, rename.
pub fn save(path: &Path, states: &BTreeMap<String, Status>) -> Result<(), StateFileError> {
    save_with_agreed(path, states, &BTreeMap::new())
}

/// Write own verdicts `states` and the `agreed` verdicts that differ from them to `path`,
/// atomically (temporary file in the same folder, fsync, rename).
pub fn save_with_agreed(
    path: &Path,
    states: &BTreeMap<String, Status>,
    agreed: &BTreeMap<String, Status>,
) -> Result<(), StateFileError> {
    let _writing = WRITING.lock().unwrap_or_else(|p| p.into_inner());
    let body = FileBody {
        version: VERSION,
        endpoints: states.clone(),
        agreed: agreed
            .iter()
            .filter(|(k, a)| states.get(*k).is_some_and(|own| own != *a))
            .map(|(k, a)| (k.clone(), *a))
            .collect(),
        rollouts: current_body(path).rollouts,
    };
    write_body(path, &body)
}

/// Writes `body` to `path` atomically (temporary file beside it, fsync, rename).
fn write_body(path: &Path, body: &FileBody) -> Result<(), StateFileError> {
    let err = |source| StateFileError::Write {
        path: path.to_owned(),
        source,
    };
    let mut text = serde_json::to_vec_pretty(&body).map_err(|e| err(std::io::Error::other(e)))?;
    text.push(b'\n');
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    let tmp = dir.join(name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: do not leave a half-written temporary file behind.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir();
        assert!(dir.is_ok());
        let Ok(dir) = dir else { return };
        let path = dir.path().join("steerdns.health");
        let mut states = BTreeMap::new();
        states.insert("z/www/eu/127.0.0.20".to_owned(), Status::Down);
        states.insert("z/www/us/::1".to_owned(), Status::Up);
        assert!(save(&path, &states).is_ok());
        let loaded = try_load(&path);
        assert!(loaded.is_ok());
        let loaded = loaded.unwrap_or_default();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded.get("z/www/eu/127.0.0.20"), Some(&Status::Down));
        assert_eq!(loaded.get("z/www/us/::1"), Some(&Status::Up));
        assert!(!dir.path().join("steerdns.health.tmp").exists());
    }

    #[test]
    fn agreed_verdicts_that_differ_are_kept() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let path = dir.path().join("steerdns.health");
        let mut own = BTreeMap::new();
        own.insert("z/www/eu/127.0.0.20".to_owned(), Status::Down);
        own.insert("z/www/us/127.0.0.10".to_owned(), Status::Up);
        let mut agreed = BTreeMap::new();
        agreed.insert("z/www/eu/127.0.0.20".to_owned(), Status::Up); // outvoted
        agreed.insert("z/www/us/127.0.0.10".to_owned(), Status::Up); // same: not written
        agreed.insert("z/gone".to_owned(), Status::Down); // not an endpoint: not written
        assert!(save_with_agreed(&path, &own, &agreed).is_ok());
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text.matches("127.0.0.20").count(), 2, "{text}");
        assert!(!text.contains("z/gone"), "{text}");
        let file = try_load_file(&path).unwrap_or_default();
        assert_eq!(file.agreed.len(), 1);
        assert_eq!(file.answered("z/www/eu/127.0.0.20"), Some(Status::Up));
        assert_eq!(file.answered("z/www/us/127.0.0.10"), Some(Status::Up));
        assert_eq!(file.answered("z/none"), None);
        // Without agreed entries the file is the version 1 format as before.
        assert!(save(&path, &own).is_ok());
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.contains("agreed"), "{text}");
    }

    #[test]
    fn both_writers_keep_each_others_sections() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let path = dir.path().join("steerdns.health");
        let mut own = BTreeMap::new();
        own.insert("z/www/eu/127.0.0.20".to_owned(), Status::Down);
        assert!(save(&path, &own).is_ok());
        let mut rollouts = BTreeMap::new();
        rollouts.insert("z/www".to_owned(), serde_json::json!({"step": 2}));
        assert!(save_rollouts(&path, &rollouts).is_ok());
        assert_eq!(try_load(&path).unwrap_or_default().len(), 1);
        own.insert("z/www/us/127.0.0.10".to_owned(), Status::Up);
        assert!(save(&path, &own).is_ok());
        assert_eq!(load_rollouts(&path), rollouts);
        assert_eq!(try_load(&path).unwrap_or_default().len(), 2);
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir();
        let Ok(dir) = dir else { return };
        let loaded = try_load(&dir.path().join("nope"));
        assert!(matches!(loaded, Ok(ref s) if s.is_empty()));
    }

    #[test]
    fn corrupt_file_is_an_error_and_load_ignores_it() {
        let dir = tempfile::tempdir();
        let Ok(dir) = dir else { return };
        let path = dir.path().join("bad");
        assert!(std::fs::write(&path, b"{not json").is_ok());
        assert!(matches!(try_load(&path), Err(StateFileError::Parse { .. })));
        assert!(load(&path).is_empty());

        assert!(std::fs::write(&path, br#"{"version":9,"endpoints":{}}"#).is_ok());
        assert!(matches!(
            try_load(&path),
            Err(StateFileError::Version { found: 9, .. })
        ));

        assert!(std::fs::write(&path, br#"{"version":1,"endpoints":{"k":"sideways"}}"#).is_ok());
        assert!(matches!(try_load(&path), Err(StateFileError::Parse { .. })));
    }

    #[test]
    fn write_into_missing_folder_fails_cleanly() {
        let dir = tempfile::tempdir();
        let Ok(dir) = dir else { return };
        let path = dir.path().join("no/such/dir/state");
        assert!(matches!(
            save(&path, &BTreeMap::new()),
            Err(StateFileError::Write { .. })
        ));
    }
}
