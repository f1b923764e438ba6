//! Geo-IP lookup: country, province, city and ASN of an address from a database file the
//! operator provides (MaxMind MMDB, ip2region xdb); private and reserved ranges are marked.

use std::path::PathBuf;

use serde::Deserialize;

/// `[intel.geo]`: the database files. Nothing is looked up when neither is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoConfig {
    /// A MaxMind DB file (GeoLite2/GeoIP2 City or Country, or one of the same layout).
    #[serde(default)]
    pub mmdb: Option<PathBuf>,
    /// An ip2region xdb file.
    #[serde(default)]
    pub xdb: Option<PathBuf>,
}
