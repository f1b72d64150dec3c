//! GeoIP (placeholder until the GeoIP module lands).
use std::path::Path;
use std::sync::Arc;

use crate::steer::GeoLookup;

/// Opens a database for steering.
pub fn open_lookup(path: &Path) -> Result<Arc<dyn GeoLookup>, String> {
    Err(format!(
        "{}: GeoIP support is not built yet",
        path.display()
    ))
}
