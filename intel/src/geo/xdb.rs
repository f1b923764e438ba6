//! A reader of ip2region's xdb format, structure 2 (IPv4) and 3 (IPv4 or IPv6), as its
//! makers write it:
//!
//! ```text
//! header      256 bytes   u16 structure version (2, 3), u16 index policy, u32 created at,
//!                         u32 first and u32 last segment index entry; from version 3:
//!                         u16 IP version (4, 6), u16 runtime pointer bytes
//! vector index 256×256×8  per first two address bytes: u32 first, u32 last entry of the
//!                         segment index holding those addresses (0, 0: none)
//! region text, then the segment index: sorted entries of start address, end address,
//!                         u16 text length, u32 text offset (IPv4: addresses u32 little-endian,
//!                         14 bytes an entry; IPv6: 16 bytes big-endian each, 38 bytes)
//! ```
//!
//! All integers are little-endian. The region text is UTF-8, `国家|区域|省份|城市|ISP` in the
//! version 2 data (`0` for unknown), or `国家|省份|城市|ISP|代码` in the newer data whose
//! last column is the ISO 3166 country code; both are read (see [`parse_region`]).

use std::cmp::Ordering;
use std::net::IpAddr;
use std::sync::Arc;

use onewall_model::hash::FxMap;

use super::Place;
use crate::IntelError;

const FORMAT: &str = "ip2region xdb";
const HEADER: usize = 256;
const VECTOR_CELL: usize = 8;
const VECTOR_INDEX: usize = 256 * 256 * VECTOR_CELL;

fn malformed(reason: impl Into<String>) -> IntelError {
    IntelError::MalformedDatabase {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// An opened xdb file.
#[derive(Clone)]
pub struct Xdb {
    bytes: Arc<[u8]>,
    version: u16,
    /// Whether the addresses are IPv6 (16 bytes) or IPv4 (4 bytes).
    v6: bool,
    /// Each region text of the segment index, read once at open, by its offset: a file has
    /// a few thousand distinct texts for hundreds of thousands of ranges.
    places: Arc<FxMap<(usize, usize), Place>>,
}

impl std::fmt::Debug for Xdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Xdb")
            .field("bytes", &self.bytes.len())
            .field("version", &self.version)
            .field("v6", &self.v6)
            .finish()
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

impl Xdb {
    /// Read a file's bytes: the header and the size of the vector index are checked, entries
    /// per lookup.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>) -> Result<Xdb, IntelError> {
        let bytes: Arc<[u8]> = bytes.into();
        if bytes.len() < HEADER + VECTOR_INDEX {
            return Err(malformed(format!(
                "{} bytes, shorter than the header and vector index ({})",
                bytes.len(),
                HEADER + VECTOR_INDEX
            )));
        }
        let version = u16_at(&bytes, 0).unwrap_or_default();
        let v6 = match version {
            2 => false,
            3 => match u16_at(&bytes, 16).unwrap_or_default() {
                4 => false,
                6 => true,
                other => return Err(malformed(format!("IP version {other} (4 or 6)"))),
            },
            other => {
                return Err(malformed(format!(
                    "structure version {other} (2 or 3 is read)"
                )));
            }
        };
        let mut db = Xdb {
            bytes,
            version,
            v6,
            places: Arc::default(),
        };
        let first = u32_at(&db.bytes, 8).unwrap_or_default();
        let last = u32_at(&db.bytes, 12).unwrap_or_default();
        // The last entry's start, or (as some makers write it) just past it.
        if first < HEADER + VECTOR_INDEX
            || last < first
            || !(last - first).is_multiple_of(db.entry_size())
            || last > db.bytes.len()
        {
            return Err(malformed(format!(
                "segment index {first}..{last} is not a whole number of entries inside the file"
            )));
        }
        db.places = Arc::new(db.read_places(first, last));
        Ok(db)
    }

    /// The region texts of the entries from `first` to `last`, each read once. A text that
    /// cannot be read is left out here: a lookup that reaches it says why.
    fn read_places(&self, first: usize, last: usize) -> FxMap<(usize, usize), Place> {
        let size = self.entry_size();
        let ip_len = if self.v6 { 16 } else { 4 };
        let mut places = FxMap::default();
        let mut at = first;
        while at <= last {
            let Some(entry) = self.bytes.get(at..at + size) else {
                break;
            };
            let len = usize::from(u16_at(entry, 2 * ip_len).unwrap_or_default());
            let ptr = u32_at(entry, 2 * ip_len + 2).unwrap_or_default();
            if len > 0 && !places.contains_key(&(ptr, len)) {
                let text = self.bytes.get(ptr..ptr + len).map(std::str::from_utf8);
                if let Some(Ok(text)) = text {
                    places.insert((ptr, len), parse_region(text));
                }
            }
            at += size;
        }
        places
    }

    /// Whether the file holds IPv6 ranges (else IPv4).
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }

    fn entry_size(&self) -> usize {
        if self.v6 { 38 } else { 14 }
    }

    /// The region text of `ip` as the file holds it; `None` when no range covers it (or the
    /// address is of the other IP version).
    pub fn region(&self, ip: IpAddr) -> Result<Option<&str>, IntelError> {
        match self.find(ip)? {
            Some((len, ptr)) => self.text(len, ptr).map(Some),
            None => Ok(None),
        }
    }

    fn text(&self, len: usize, ptr: usize) -> Result<&str, IntelError> {
        let text = self
            .bytes
            .get(ptr..ptr + len)
            .ok_or_else(|| malformed(format!("region text at {ptr} (+{len}) is past the file")))?;
        std::str::from_utf8(text)
            .map_err(|e| malformed(format!("region text at {ptr} is not UTF-8: {e}")))
    }

    /// The region text's length and offset of the range holding `ip`.
    fn find(&self, ip: IpAddr) -> Result<Option<(usize, usize)>, IntelError> {
        let mut buf = [0u8; 16];
        let key: &[u8] = match (super::scope::canonical(ip), self.v6) {
            (IpAddr::V4(v4), false) => {
                buf[..4].copy_from_slice(&v4.octets());
                &buf[..4]
            }
            (IpAddr::V6(v6), true) => {
                buf = v6.octets();
                &buf
            }
            _ => return Ok(None),
        };
        let cell = HEADER + (usize::from(key[0]) * 256 + usize::from(key[1])) * VECTOR_CELL;
        let (Some(first), Some(last)) = (u32_at(&self.bytes, cell), u32_at(&self.bytes, cell + 4))
        else {
            return Ok(None);
        };
        if first == 0 || last == 0 {
            return Ok(None);
        }
        let size = self.entry_size();
        if last < first {
            return Err(malformed(format!(
                "vector index cell at {cell} runs backwards"
            )));
        }
        // The last entry is read only if it is inside the file: makers differ on whether the
        // cell's end is the last entry or just past it.
        let in_file = self.bytes.len().saturating_sub(first) / size;
        let mut high = ((last - first) / size).min(in_file.saturating_sub(1));
        let mut low = 0usize;
        let ip_len = key.len();
        while low <= high {
            let mid = low + (high - low) / 2;
            let at = first + mid * size;
            let entry = self
                .bytes
                .get(at..at + size)
                .ok_or_else(|| malformed(format!("segment entry at {at} is past the file")))?;
            let start = entry.get(..ip_len).unwrap_or_default();
            let end = entry.get(ip_len..2 * ip_len).unwrap_or_default();
            if self.compare(key, start) == Ordering::Less {
                if mid == 0 {
                    return Ok(None);
                }
                high = mid - 1;
            } else if self.compare(key, end) == Ordering::Greater {
                low = mid + 1;
            } else {
                let len = usize::from(u16_at(entry, 2 * ip_len).unwrap_or_default());
                let ptr = u32_at(entry, 2 * ip_len + 2).unwrap_or_default();
                if len == 0 {
                    return Ok(None);
                }
                return Ok(Some((len, ptr)));
            }
        }
        Ok(None)
    }

    /// Compare an address (big-endian) with one stored in an entry: IPv4 ones are stored
    /// little-endian, IPv6 ones big-endian.
    fn compare(&self, ip: &[u8], stored: &[u8]) -> Ordering {
        if self.v6 {
            ip.cmp(stored)
        } else {
            ip.iter().cmp(stored.iter().rev())
        }
    }

    /// What the file says of `ip`: `None` when no range covers it.
    pub fn lookup(&self, ip: IpAddr) -> Result<Option<Place>, IntelError> {
        let Some((len, ptr)) = self.find(ip)? else {
            return Ok(None);
        };
        match self.places.get(&(ptr, len)) {
            Some(place) => Ok(Some(place.clone())),
            None => self.text(len, ptr).map(|t| Some(parse_region(t))),
        }
    }
}

/// Read a region text. Version 2 data: `国家|区域|省份|城市|ISP`; the newer data:
/// `国家|省份|城市|ISP|代码` (told apart by a last column of two capital letters). `0` and
/// empty columns are unknown. Hong Kong, Macao and Taiwan, written as provinces of `中国` in
/// the version 2 data, get their own country codes (HK, MO, TW).
pub fn parse_region(text: &str) -> Place {
    let cols: Vec<&str> = text.split('|').map(str::trim).collect();
    let known = |i: usize| -> Option<&str> {
        cols.get(i)
            .copied()
            .filter(|c| !c.is_empty() && *c != "0" && *c != "内网IP" && *c != "保留")
    };
    let coded = cols.len() == 5
        && cols
            .get(4)
            .is_some_and(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()));
    let (country, province, city, isp, code) = if coded {
        (known(0), known(1), known(2), known(3), known(4))
    } else {
        (known(0), known(2), known(3), known(4), None)
    };
    let code = code
        .map(str::to_owned)
        .or_else(|| super::names::code_of(country?, province).map(str::to_owned));
    Place {
        country_code: code.map(Arc::from),
        country: country.map(Arc::from),
        province: province.map(Arc::from),
        city: city.map(Arc::from),
        isp: isp.map(Arc::from),
        asn: None,
    }
}
