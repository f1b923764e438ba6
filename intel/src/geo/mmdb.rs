//! A reader of the MaxMind DB format (version 2, as GeoLite2/GeoIP2 and many other vendors
//! ship it): the metadata after the `\xAB\xCD\xEFMaxMind.com` marker, the binary search tree
//! (24-, 28- or 32-bit records) and the data section's typed values.
//!
//! Nothing is decoded whole: a lookup walks the tree to the address's record, then follows
//! the few paths it needs (`country.iso_code`, `subdivisions[0].names.zh-CN` ...) through
//! the maps, skipping what it does not read. Every read is bounds-checked and nesting is
//! bounded, so a corrupt or hostile file gives an [`IntelError`], never a panic, and costs
//! at most linear work in its size per lookup.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use onewall_model::hash::FxMap;

use super::Place;
use crate::IntelError;

const FORMAT: &str = "MaxMind DB";
/// What precedes the metadata; the last one in the file counts.
const MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";
/// The metadata is within this many bytes of the end (the format's bound).
const METADATA_MAX: usize = 128 * 1024;
/// Records read lately are kept, by offset, up to this many (then forgotten all at once): a
/// database has far fewer records than networks, and traffic repeats networks.
const RECORD_CACHE: usize = 16_384;
/// Maps and arrays nested deeper than this are refused.
const MAX_DEPTH: u32 = 64;

fn malformed(reason: impl Into<String>) -> IntelError {
    IntelError::MalformedDatabase {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// An opened MaxMind DB file.
#[derive(Clone)]
pub struct Mmdb {
    bytes: Arc<[u8]>,
    node_count: usize,
    record_size: usize,
    ip_version: u16,
    /// Where the data section starts and ends (the metadata marker).
    data: (usize, usize),
    /// The node an IPv4 address starts from: 96 zero bits down an IPv6 tree.
    ipv4_start: usize,
    database_type: String,
    /// Places read lately, by record offset (shared by clones).
    recent: Arc<Mutex<FxMap<usize, Place>>>,
}

impl std::fmt::Debug for Mmdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mmdb")
            .field("bytes", &self.bytes.len())
            .field("node_count", &self.node_count)
            .field("record_size", &self.record_size)
            .field("ip_version", &self.ip_version)
            .field("database_type", &self.database_type)
            .finish()
    }
}

impl Mmdb {
    /// Read a file's bytes: the metadata is checked (format version 2, record size, node
    /// count within the file) and the IPv4 start node found; records are read per lookup.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>) -> Result<Mmdb, IntelError> {
        let bytes: Arc<[u8]> = bytes.into();
        let marker = find_marker(&bytes)
            .ok_or_else(|| malformed("no metadata marker in the last 128 KiB"))?;
        let meta = Decoder {
            data: bytes.get(marker + MARKER.len()..).unwrap_or_default(),
        };
        let [major, record_size, ip_version, node_count, database_type] = meta.pick(
            0,
            [
                "binary_format_major_version",
                "record_size",
                "ip_version",
                "node_count",
                "database_type",
            ],
        )?;
        let uint = |at: Option<usize>, key: &str| -> Result<u64, IntelError> {
            at.map(|at| meta.uint(at))
                .transpose()?
                .flatten()
                .ok_or_else(|| malformed(format!("metadata has no {key}")))
        };
        let major = uint(major, "binary_format_major_version")?;
        if major != 2 {
            return Err(malformed(format!("format version {major} (2 is read)")));
        }
        let record_size = uint(record_size, "record_size")?;
        if !matches!(record_size, 24 | 28 | 32) {
            return Err(malformed(format!(
                "record size {record_size} (24, 28 or 32)"
            )));
        }
        let ip_version = uint(ip_version, "ip_version")?;
        if !matches!(ip_version, 4 | 6) {
            return Err(malformed(format!("ip_version {ip_version} (4 or 6)")));
        }
        let node_count = usize::try_from(uint(node_count, "node_count")?)
            .map_err(|_| malformed("node count out of range"))?;
        let record_size = record_size as usize;
        let tree = node_count
            .checked_mul(record_size / 4)
            .filter(|t| t.saturating_add(16) <= marker)
            .ok_or_else(|| {
                malformed(format!(
                    "search tree of {node_count} nodes does not fit the {} bytes before the metadata",
                    marker
                ))
            })?;
        let database_type = meta
            .text(database_type)?
            .as_deref()
            .unwrap_or_default()
            .to_owned();
        let mut db = Mmdb {
            bytes,
            node_count,
            record_size,
            ip_version: ip_version as u16,
            data: (tree + 16, marker),
            ipv4_start: 0,
            database_type,
            recent: Arc::default(),
        };
        if db.ip_version == 6 {
            let mut node = 0;
            for _ in 0..96 {
                if node >= db.node_count {
                    break;
                }
                node = db.record(node, 0)?;
            }
            db.ipv4_start = node;
        }
        Ok(db)
    }

    /// The metadata's `database_type` (`GeoLite2-City`, `GeoLite2-ASN` ...).
    pub fn database_type(&self) -> &str {
        &self.database_type
    }

    /// What the database says of `ip`: `None` when no record covers it.
    ///
    /// Read from a GeoIP2/GeoLite2 City, Country, ASN or ISP record (names in zh-CN, else in
    /// English), or from the flat layout some vendors write (`province` and `city` as text):
    /// the country code from `country`, else `registered_country`; the operator from `isp`,
    /// else `autonomous_system_organization`, else `organization`.
    pub fn lookup(&self, ip: IpAddr) -> Result<Option<Place>, IntelError> {
        let Some(at) = self.find(ip)? else {
            return Ok(None);
        };
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(place) = recent.get(&at) {
            return Ok(Some(place.clone()));
        }
        let place = self.place(at)?;
        if recent.len() >= RECORD_CACHE {
            recent.clear();
        }
        recent.insert(at, place.clone());
        Ok(Some(place))
    }

    /// The place the record at `at` describes.
    fn place(&self, at: usize) -> Result<Place, IntelError> {
        let d = self.decoder();
        let [
            country,
            registered,
            subdivisions,
            city,
            asn,
            as_org,
            isp,
            org,
            province,
        ] = d.pick(
            at,
            [
                "country",
                "registered_country",
                "subdivisions",
                "city",
                "autonomous_system_number",
                "autonomous_system_organization",
                "isp",
                "organization",
                "province",
            ],
        )?;
        let code_and_name = |v: Option<usize>| -> Result<_, IntelError> {
            let Some(v) = v else {
                return Ok((None, None));
            };
            let [code, names] = d.pick(v, ["iso_code", "names"])?;
            Ok((d.text(code)?, d.name(names)?))
        };
        let (mut country_code, country) = code_and_name(country)?;
        if country_code.is_none() {
            country_code = code_and_name(registered)?.0;
        }
        let first_subdivision = match subdivisions {
            Some(s) => d.index(s, 0)?,
            None => None,
        };
        let province = match d.named(first_subdivision)? {
            Some(p) => Some(p),
            None => d.text(province)?,
        };
        let city = match d.named(city)? {
            Some(c) => Some(c),
            None => d.text(city)?,
        };
        let isp = match d.text(isp)? {
            Some(i) => Some(i),
            None => match d.text(as_org)? {
                Some(o) => Some(o),
                None => d.text(org)?,
            },
        };
        let asn = match asn {
            Some(v) => d.uint(v)?.and_then(|n| u32::try_from(n).ok()),
            None => None,
        };
        Ok(Place {
            country_code,
            country,
            province,
            city,
            isp,
            asn,
        })
    }

    fn decoder(&self) -> Decoder<'_> {
        Decoder {
            data: self.bytes.get(self.data.0..self.data.1).unwrap_or_default(),
        }
    }

    /// The data section offset of `ip`'s record.
    fn find(&self, ip: IpAddr) -> Result<Option<usize>, IntelError> {
        let (bits, start): (u128, u32) = match super::scope::canonical(ip) {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
            IpAddr::V6(v6) if self.ip_version == 6 => (u128::from(v6), 128),
            IpAddr::V6(_) => return Ok(None),
        };
        let mut node = if start == 32 { self.ipv4_start } else { 0 };
        for i in 0..start {
            if node >= self.node_count {
                break;
            }
            let bit = ((bits >> (127 - i)) & 1) as usize;
            node = self.record(node, bit)?;
        }
        if node == self.node_count {
            return Ok(None);
        }
        if node < self.node_count {
            return Err(malformed("the search tree is deeper than an address"));
        }
        let offset = node - self.node_count;
        let Some(offset) = offset
            .checked_sub(16)
            .filter(|o| *o < self.data.1 - self.data.0)
        else {
            return Err(malformed(format!(
                "record pointer {node} is outside the data section"
            )));
        };
        Ok(Some(offset))
    }

    /// Record `side` (0 left, 1 right) of `node`.
    fn record(&self, node: usize, side: usize) -> Result<usize, IntelError> {
        let width = self.record_size / 4;
        let at = node * width;
        let b = self
            .bytes
            .get(at..at + width)
            .ok_or_else(|| malformed(format!("node {node} is past the file")))?;
        let be = |s: &[u8]| s.iter().fold(0usize, |n, &x| n << 8 | usize::from(x));
        Ok(match (self.record_size, side) {
            (24, 0) => be(&b[0..3]),
            (24, _) => be(&b[3..6]),
            (28, 0) => (usize::from(b[3] & 0xf0) << 20) | be(&b[0..3]),
            (28, _) => (usize::from(b[3] & 0x0f) << 24) | be(&b[4..7]),
            (_, 0) => be(&b[0..4]),
            (_, _) => be(&b[4..8]),
        })
    }
}

/// The start of the last metadata marker, within the last 128 KiB.
fn find_marker(bytes: &[u8]) -> Option<usize> {
    let from = bytes.len().saturating_sub(METADATA_MAX);
    let tail = bytes.get(from..)?;
    tail.windows(MARKER.len())
        .rposition(|w| w == MARKER)
        .map(|p| from + p)
}

/// A value's control information: its type, its size (for a pointer: the target) and where
/// its payload starts.
#[derive(Debug, Clone, Copy)]
struct Head {
    kind: u8,
    size: usize,
    at: usize,
}

const POINTER: u8 = 1;
const STRING: u8 = 2;
const DOUBLE: u8 = 3;
const MAP: u8 = 7;
const ARRAY: u8 = 11;
const BOOLEAN: u8 = 14;
const FLOAT: u8 = 15;

/// Reads values of a data section (or of the metadata, whose pointers are relative to it).
struct Decoder<'a> {
    data: &'a [u8],
}

impl Decoder<'_> {
    fn byte(&self, at: usize) -> Result<u8, IntelError> {
        self.data
            .get(at)
            .copied()
            .ok_or_else(|| malformed(format!("value at {at} is past the data section")))
    }

    fn be(&self, at: usize, n: usize) -> Result<usize, IntelError> {
        let b = self
            .data
            .get(at..at + n)
            .ok_or_else(|| malformed(format!("value at {at} is cut short")))?;
        Ok(b.iter().fold(0usize, |v, &x| v << 8 | usize::from(x)))
    }

    /// The control byte(s) at `at`.
    fn head(&self, at: usize) -> Result<Head, IntelError> {
        let c = self.byte(at)?;
        let mut next = at + 1;
        let mut kind = c >> 5;
        if kind == POINTER {
            let v = usize::from(c & 7);
            let (ptr, n) = match (c >> 3) & 3 {
                0 => ((v << 8) | self.be(next, 1)?, 1),
                1 => (((v << 16) | self.be(next, 2)?) + 2048, 2),
                2 => (((v << 24) | self.be(next, 3)?) + 526_336, 3),
                _ => (self.be(next, 4)?, 4),
            };
            return Ok(Head {
                kind,
                size: ptr,
                at: next + n,
            });
        }
        if kind == 0 {
            let ext = self.byte(next)?;
            next += 1;
            kind = ext
                .checked_add(7)
                .filter(|k| (8..=15).contains(k))
                .ok_or_else(|| malformed(format!("unknown extended type {ext} at {at}")))?;
        }
        let size = match c & 0x1f {
            s @ 0..=28 => usize::from(s),
            29 => 29 + self.be(next, 1)?,
            30 => 285 + self.be(next, 2)?,
            _ => 65_821 + self.be(next, 3)?,
        };
        let extra = match c & 0x1f {
            29 => 1,
            30 => 2,
            31 => 3,
            _ => 0,
        };
        Ok(Head {
            kind,
            size,
            at: next + extra,
        })
    }

    /// The value at `at`, a pointer followed (once: a pointer to a pointer is refused).
    fn resolve(&self, at: usize) -> Result<Head, IntelError> {
        let h = self.head(at)?;
        if h.kind != POINTER {
            return Ok(h);
        }
        let target = self.head(h.size)?;
        if target.kind == POINTER {
            return Err(malformed(format!("pointer at {at} points to a pointer")));
        }
        Ok(target)
    }

    /// Where the value after the one at `at` starts (a pointer is not followed).
    fn skip(&self, at: usize, depth: u32) -> Result<usize, IntelError> {
        if depth > MAX_DEPTH {
            return Err(malformed(format!("values nest deeper than {MAX_DEPTH}")));
        }
        let h = self.head(at)?;
        let end = match h.kind {
            POINTER | BOOLEAN => h.at,
            MAP => {
                let mut pos = h.at;
                for _ in 0..h.size {
                    pos = self.skip(pos, depth + 1)?;
                    pos = self.skip(pos, depth + 1)?;
                }
                pos
            }
            ARRAY => {
                let mut pos = h.at;
                for _ in 0..h.size {
                    pos = self.skip(pos, depth + 1)?;
                }
                pos
            }
            DOUBLE if h.size != 8 => return Err(malformed(format!("double of {} bytes", h.size))),
            FLOAT if h.size != 4 => return Err(malformed(format!("float of {} bytes", h.size))),
            _ => {
                h.at.checked_add(h.size)
                    .ok_or_else(|| malformed("size overflow"))?
            }
        };
        if end > self.data.len() {
            return Err(malformed(format!(
                "value at {at} runs past the data section"
            )));
        }
        Ok(end)
    }

    /// Where the values under `keys` of the map at `at` are, in one pass over the map;
    /// `None` for a key it does not have (all `None` when it is not a map).
    fn pick<const N: usize>(
        &self,
        at: usize,
        keys: [&str; N],
    ) -> Result<[Option<usize>; N], IntelError> {
        let mut found = [None; N];
        let h = self.resolve(at)?;
        if h.kind != MAP {
            return Ok(found);
        }
        let mut pos = h.at;
        for _ in 0..h.size {
            let k = self.head(pos)?;
            // A key is a string, or a pointer to one; the value follows the key (or the
            // pointer).
            let (k, value) = if k.kind == POINTER {
                (self.head(k.size)?, k.at)
            } else {
                (k, k.at.saturating_add(k.size))
            };
            if k.kind != STRING {
                return Err(malformed(format!("map key at {pos} is not a string")));
            }
            let name = self.data.get(k.at..k.at.saturating_add(k.size));
            if let Some(i) = keys.iter().position(|key| Some(key.as_bytes()) == name) {
                found[i] = Some(value);
            }
            pos = self.skip(value, 0)?;
        }
        Ok(found)
    }

    /// Where element `i` of the array at `at` is.
    fn index(&self, at: usize, i: usize) -> Result<Option<usize>, IntelError> {
        let h = self.resolve(at)?;
        if h.kind != ARRAY || i >= h.size {
            return Ok(None);
        }
        let mut pos = h.at;
        for _ in 0..i {
            pos = self.skip(pos, 0)?;
        }
        Ok(Some(pos))
    }

    /// The non-empty string at `at`, shared.
    fn text(&self, at: Option<usize>) -> Result<Option<Arc<str>>, IntelError> {
        let Some(at) = at else {
            return Ok(None);
        };
        Ok(self.str(at)?.filter(|s| !s.is_empty()).map(Arc::from))
    }

    /// The zh-CN name, else the English one, of a `names` map.
    fn name(&self, names: Option<usize>) -> Result<Option<Arc<str>>, IntelError> {
        let Some(names) = names else {
            return Ok(None);
        };
        let [zh, en] = self.pick(names, ["zh-CN", "en"])?;
        match self.text(zh)? {
            Some(n) => Ok(Some(n)),
            None => self.text(en),
        }
    }

    /// The name of a record part with `names` (a city, a subdivision); `None` when it has
    /// none (or is not a map).
    fn named(&self, part: Option<usize>) -> Result<Option<Arc<str>>, IntelError> {
        let Some(part) = part else {
            return Ok(None);
        };
        let [names] = self.pick(part, ["names"])?;
        self.name(names)
    }

    /// The string at `at`; `None` when the value is of another type.
    fn str(&self, at: usize) -> Result<Option<&str>, IntelError> {
        let h = self.resolve(at)?;
        if h.kind != STRING {
            return Ok(None);
        }
        let b = self
            .data
            .get(h.at..h.at.saturating_add(h.size))
            .ok_or_else(|| malformed(format!("string at {at} runs past the data section")))?;
        std::str::from_utf8(b)
            .map(Some)
            .map_err(|e| malformed(format!("string at {at} is not UTF-8: {e}")))
    }

    /// The unsigned (or non-negative int32) number at `at`, when it fits 64 bits.
    fn uint(&self, at: usize) -> Result<Option<u64>, IntelError> {
        let h = self.resolve(at)?;
        let max = match h.kind {
            5 => 2,
            6 | 8 => 4,
            9 => 8,
            10 => 16,
            _ => return Ok(None),
        };
        if h.size > max {
            return Err(malformed(format!("integer of {} bytes at {at}", h.size)));
        }
        let b = self
            .data
            .get(h.at..h.at + h.size)
            .ok_or_else(|| malformed(format!("integer at {at} runs past the data section")))?;
        let v = b.iter().fold(0u128, |v, &x| v << 8 | u128::from(x));
        if h.kind == 8 && h.size == 4 && v & 0x8000_0000 != 0 {
            return Ok(None);
        }
        Ok(u64::try_from(v).ok())
    }
}
