//! Geo-IP enrichment in the detect stage: the databases `[intel.geo]` names, read at startup
//! (the enrichment itself, pure, is `onewall_intel::geo::enrich`).

use std::path::Path;

use anyhow::Context;
pub use onewall_intel::geo::enrich::GeoEnrich;
use onewall_intel::geo::{GeoConfig, GeoDb, Mmdb, Xdb};

/// Open the databases `[intel.geo]` names; `None` when it names none. A file that cannot
/// be read, or is not of its format, fails with the key, the path and the reason.
pub fn open(cfg: &GeoConfig) -> anyhow::Result<Option<GeoEnrich>> {
    fn read(key: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
        std::fs::read(path).with_context(|| format!("{key}: reading {}", path.display()))
    }
    let mmdb = match &cfg.mmdb {
        Some(p) => Some(
            Mmdb::from_bytes(read("intel.geo.mmdb", p)?)
                .with_context(|| format!("intel.geo.mmdb: {}", p.display()))?,
        ),
        None => None,
    };
    let xdb = match &cfg.xdb {
        Some(p) => Some(
            Xdb::from_bytes(read("intel.geo.xdb", p)?)
                .with_context(|| format!("intel.geo.xdb: {}", p.display()))?,
        ),
        None => None,
    };
    let mut db = GeoDb::new(mmdb, xdb);
    if let Some(p) = &cfg.xdb_v6 {
        db = db.with_xdb(
            Xdb::from_bytes(read("intel.geo.xdb_v6", p)?)
                .with_context(|| format!("intel.geo.xdb_v6: {}", p.display()))?,
        );
    }
    if db.is_empty() {
        return Ok(None);
    }
    Ok(Some(GeoEnrich::new(db)?))
}
