//! Geo-IP lookup: country, province, city and ASN of an address from a database file the
//! operator provides (MaxMind MMDB, ip2region xdb); private and reserved ranges are marked.
//!
//! The readers are pure: they take a file's bytes ([`Mmdb::from_bytes`],
//! [`Xdb::from_bytes`]); the node reads the files named in `[intel.geo]`. [`GeoDb::lookup`]
//! asks the xdb first (the database Chinese deployments keep current for Chinese networks),
//! then fills what it left unknown from the MMDB (typically ASN and names abroad).
//!
//! 境内/境外 ([`GeoInfo::domestic`]): only the mainland (`CN`) is domestic; Hong Kong, Macao
//! and Taiwan are 境外, as the mainland's data-export rules treat them (see [`names::domestic`]).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

pub mod enrich;
pub mod mmdb;
pub mod names;
pub mod scope;
pub mod xdb;

pub use mmdb::Mmdb;
pub use scope::{Scope, scope_of};
pub use xdb::Xdb;

use crate::IntelError;

/// `[intel.geo]`: the database files. Nothing is looked up when neither is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoConfig {
    /// A MaxMind DB file (GeoLite2/GeoIP2 City or Country, or one of the same layout).
    #[serde(default)]
    pub mmdb: Option<PathBuf>,
    /// An ip2region xdb file (IPv4, or IPv6).
    #[serde(default)]
    pub xdb: Option<PathBuf>,
    /// A second ip2region xdb file, for the other IP version: ip2region ships its IPv4 and
    /// IPv6 data as two files.
    #[serde(default)]
    pub xdb_v6: Option<PathBuf>,
}

/// What one database says of an address; every part may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// ISO 3166-1 alpha-2 (`CN`, `US`).
    pub country_code: Option<Arc<str>>,
    /// The country's name (zh-CN where the database has it, else English).
    pub country: Option<Arc<str>>,
    /// The first subdivision: a province (省) in China.
    pub province: Option<Arc<str>>,
    pub city: Option<Arc<str>>,
    /// The network's operator: an ISP, or the AS organisation.
    pub isp: Option<Arc<str>>,
    pub asn: Option<u32>,
}

impl Place {
    /// This, with what it does not know taken from `other`.
    fn or(self, other: Place) -> Place {
        Place {
            country_code: self.country_code.or(other.country_code),
            country: self.country.or(other.country),
            province: self.province.or(other.province),
            city: self.city.or(other.city),
            isp: self.isp.or(other.isp),
            asn: self.asn.or(other.asn),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Place::default()
    }
}

/// What is known of an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoInfo {
    pub place: Place,
    pub scope: Scope,
    /// 境内 (`true`) or 境外 (`false`) from the country code; `None` when the country is not
    /// known (and for private and reserved addresses).
    pub domestic: Option<bool>,
}

/// The operator's geo databases, either or both.
#[derive(Debug, Clone, Default)]
pub struct GeoDb {
    mmdb: Option<Mmdb>,
    /// Asked in order; one answers only addresses of its own IP version.
    xdb: Vec<Xdb>,
}

impl GeoDb {
    pub fn new(mmdb: Option<Mmdb>, xdb: Option<Xdb>) -> GeoDb {
        GeoDb {
            mmdb,
            xdb: xdb.into_iter().collect(),
        }
    }

    /// This, with one more xdb file asked after those it has (ip2region's IPv6 file beside
    /// its IPv4 one).
    pub fn with_xdb(mut self, xdb: Xdb) -> GeoDb {
        self.xdb.push(xdb);
        self
    }

    /// Open databases from their files' bytes.
    pub fn from_bytes(mmdb: Option<Vec<u8>>, xdb: Option<Vec<u8>>) -> Result<GeoDb, IntelError> {
        Ok(GeoDb {
            mmdb: mmdb.map(Mmdb::from_bytes).transpose()?,
            xdb: xdb.map(Xdb::from_bytes).transpose()?.into_iter().collect(),
        })
    }

    /// Whether there is any database to ask.
    pub fn is_empty(&self) -> bool {
        self.mmdb.is_none() && self.xdb.is_empty()
    }

    /// What is known of `ip`. A private or reserved address is answered without a database
    /// (its scope only); a public one is `None` when no database has it. A record a corrupt
    /// file cannot give is treated as absent (see [`GeoDb::try_lookup`] for the reason).
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoInfo> {
        self.try_lookup(ip).unwrap_or(None)
    }

    /// As [`GeoDb::lookup`], with the reason a corrupt file could not answer.
    pub fn try_lookup(&self, ip: IpAddr) -> Result<Option<GeoInfo>, IntelError> {
        let scope = scope_of(ip);
        if scope != Scope::Public {
            return Ok(Some(GeoInfo {
                place: Place::default(),
                scope,
                domestic: None,
            }));
        }
        let mut from_xdb = None;
        for x in &self.xdb {
            from_xdb = x.lookup(ip)?;
            if from_xdb.is_some() {
                break;
            }
        }
        let from_mmdb = match &self.mmdb {
            Some(m) => m.lookup(ip)?,
            None => None,
        };
        let place = match (from_xdb, from_mmdb) {
            (Some(x), Some(m)) => x.or(m),
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => return Ok(None),
        };
        if place.is_empty() {
            return Ok(None);
        }
        let domestic = place.country_code.as_deref().and_then(names::domestic);
        Ok(Some(GeoInfo {
            place,
            scope,
            domestic,
        }))
    }
}
