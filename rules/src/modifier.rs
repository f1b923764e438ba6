//! Value modifiers beyond the anchors: value transformations (`windash`, `base64`,
//! `base64offset`, `utf16le`/`utf16be`/`utf16`/`wide`) and typed comparisons (`re`, `cidr`,
//! `lt`/`lte`/`gt`/`gte`, date parts), as the Sigma specification defines them.

use std::net::IpAddr;

use onewall_model::Value;

/// The dash characters `windash` tries at each option position: hyphen-minus, slash, en dash,
/// em dash and horizontal bar.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Most option positions `windash` expands in one value (5^n variants).
const WINDASH_MAX_POSITIONS: usize = 4;

/// `windash`: every combination of dash variants at each position where an option starts
/// (a `-` or `/` at the start or after a non-word character, followed by a word character,
/// like pySigma's `\B[-/]\b`).
pub(crate) fn windash(value: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = value.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            matches!(chars[i], '-' | '/')
                && (i == 0 || !word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&c| word(c))
        })
        .collect();
    if positions.len() > WINDASH_MAX_POSITIONS {
        return Err(format!(
            "windash value '{value}' has {} option dashes, at most {WINDASH_MAX_POSITIONS} are expanded",
            positions.len()
        ));
    }
    let mut out = vec![chars];
    for &p in &positions {
        out = out
            .into_iter()
            .flat_map(|v| {
                DASHES.iter().map(move |&d| {
                    let mut v = v.clone();
                    v[p] = d;
                    v
                })
            })
            .collect();
    }
    Ok(out.into_iter().map(|v| v.into_iter().collect()).collect())
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64offset`: the three encodings of `bytes` at offsets 0, 1 and 2 of a base64 stream,
/// with the characters that depend on the unknown neighbours trimmed (as pySigma does: start
/// offsets 0, 2, 3; the end trimmed by 0, 3 or 2 characters by `(len + shift) % 3`).
pub(crate) fn base64offset(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|shift| {
            let mut padded = vec![b' '; shift];
            padded.extend_from_slice(bytes);
            let enc = base64(&padded);
            let end = enc.len().saturating_sub(END[(bytes.len() + shift) % 3]);
            enc.get(START[shift]..end).unwrap_or_default().to_owned()
        })
        .collect()
}

/// UTF-16 encodings for `utf16le`/`wide`, `utf16be` and `utf16` (little endian with a BOM).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Utf16 {
    Le,
    Be,
    Bom,
}

pub(crate) fn utf16(text: &str, kind: Utf16) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    if let Utf16::Bom = kind {
        out.extend_from_slice(&[0xff, 0xfe]);
    }
    for unit in text.encode_utf16() {
        match kind {
            Utf16::Be => out.extend_from_slice(&unit.to_be_bytes()),
            Utf16::Le | Utf16::Bom => out.extend_from_slice(&unit.to_le_bytes()),
        }
    }
    out
}

/// A `cidr` network, v4 or v6.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("cidr value '{text}' is not an address/prefix"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("cidr value '{text}' has a bad prefix length"))?
        };
        Ok(Cidr { addr, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            (_, ip) => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Does a scalar event value (an address, or text that parses as one) fall in the network?
    pub(crate) fn matches(&self, value: &Value) -> bool {
        match value {
            Value::Ip(ip) => self.contains(*ip),
            Value::Str(s) => s.trim().parse().is_ok_and(|ip| self.contains(ip)),
            _ => false,
        }
    }
}

/// A numeric comparison: `lt`, `lte`, `gt`, `gte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CmpOp {
    pub(crate) fn parse(m: &str) -> Option<CmpOp> {
        Some(match m {
            "lt" => CmpOp::Lt,
            "lte" => CmpOp::Lte,
            "gt" => CmpOp::Gt,
            "gte" => CmpOp::Gte,
            _ => return None,
        })
    }

    pub(crate) fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CmpOp::Lt => left < right,
            CmpOp::Lte => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Gte => left >= right,
        }
    }
}

/// The number in a scalar event value: ints, floats and text that parses as a number.
pub(crate) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A date part for `minute hour day week month year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl DatePart {
    pub(crate) fn parse(m: &str) -> Option<DatePart> {
        Some(match m {
            "minute" => DatePart::Minute,
            "hour" => DatePart::Hour,
            "day" => DatePart::Day,
            "week" => DatePart::Week,
            "month" => DatePart::Month,
            "year" => DatePart::Year,
            _ => return None,
        })
    }

    /// The part of an RFC 3339 (or `YYYY-MM-DD HH:MM`) timestamp in UTC as written.
    pub(crate) fn of(self, value: &Value) -> Option<i64> {
        let text = match value {
            Value::Time(t) => t.to_rfc3339(),
            Value::Str(s) => s.to_string(),
            _ => return None,
        };
        let b = text.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            std::str::from_utf8(b.get(r)?).ok()?.parse().ok()
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        Some(match self {
            DatePart::Year => y,
            DatePart::Month => mo,
            DatePart::Day => d,
            DatePart::Hour => num(11..13)?,
            DatePart::Minute => num(14..16)?,
            DatePart::Week => iso_week(y, mo, d)?,
        })
    }
}

/// ISO 8601 week number of a date.
fn iso_week(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days_before = |y: i64, m: i64| {
        const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        CUM[(m - 1) as usize] + i64::from(leap && m > 2)
    };
    let ordinal = days_before(y, m) + d;
    // Day of week, Monday = 1 (Zeller-like via days since 1970-01-01, a Thursday).
    let days = days_from_civil(y, m, d);
    let weekday = (days + 3).rem_euclid(7) + 1;
    let week = (ordinal - weekday + 10) / 7;
    let weeks_in = |y: i64| {
        let jan1 = (days_from_civil(y, 1, 1) + 3).rem_euclid(7) + 1;
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if jan1 == 4 || (leap && jan1 == 3) {
            53
        } else {
            52
        }
    };
    Some(if week < 1 {
        weeks_in(y - 1)
    } else if week > weeks_in(y) {
        1
    } else {
        week
    })
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn base64offset_follows_the_spec_example() {
        // The specification's example: `/bin/bash` → L2Jpbi9iYXNo, 9iaW4vYmFza, vYmluL2Jhc2
        assert_eq!(
            base64offset(b"/bin/bash"),
            ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }

    #[test]
    fn windash_expands_option_dashes_only() {
        let v = windash("foo.exe -a x-y").expect("expands");
        assert_eq!(v.len(), 5);
        assert!(v.contains(&"foo.exe /a x-y".to_owned()));
        assert!(v.contains(&"foo.exe \u{2015}a x-y".to_owned()));
    }

    #[test]
    fn cidr_v4_and_v6() {
        let n = Cidr::parse("10.0.0.0/8").expect("v4");
        assert!(n.contains("10.2.3.4".parse().expect("ip")));
        assert!(!n.contains("11.0.0.1".parse().expect("ip")));
        let n = Cidr::parse("fe80::/10").expect("v6");
        assert!(n.contains("fe80::1".parse().expect("ip")));
        assert!(!n.contains("::1".parse().expect("ip")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains("1.2.3.4".parse().expect("ip"))
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn iso_weeks() {
        assert_eq!(iso_week(2024, 1, 1), Some(1));
        assert_eq!(iso_week(2021, 1, 3), Some(53));
        assert_eq!(iso_week(2026, 11, 28), Some(48));
    }
}
