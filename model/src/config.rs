//! A configuration mistake, shared by every crate's section of the node's configuration file.
//!
//! Each crate checks its own section and returns every mistake it finds as a [`ConfigError`];
//! the binary collects them all and prints one `section.key: reason` line each.

use std::fmt;

/// One mistake in a configuration file: the key it is about (`syslog.tls.cert`,
/// `regions[1]`) and why it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// `KEY: must be greater than 0` for each `(KEY, value)` that is 0.
pub fn require_positive<'a>(
    values: impl IntoIterator<Item = (&'a str, u64)>,
    errors: &mut Vec<ConfigError>,
) {
    for (key, v) in values {
        if v == 0 {
            errors.push(ConfigError::new(key, "must be greater than 0"));
        }
    }
}

/// A UTC offset as a configuration writes it: `+08:00`, `-05:30`, `Z` or `UTC`.
pub fn parse_offset(s: &str) -> Option<time::UtcOffset> {
    let s = s.trim();
    if s == "Z" || s.eq_ignore_ascii_case("utc") {
        return Some(time::UtcOffset::UTC);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1i8, &s[1..]),
        b'-' => (-1i8, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i8 = h.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistake_reads_key_colon_reason() {
        let e = ConfigError::new("store.spool.fsync", "\"x\" is not one of always, interval");
        assert_eq!(
            e.to_string(),
            "store.spool.fsync: \"x\" is not one of always, interval"
        );
    }

    #[test]
    fn every_zero_is_named() {
        let mut errors = Vec::new();
        require_positive([("a.b", 0), ("a.c", 3), ("a.d", 0)], &mut errors);
        let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a.b", "a.d"]);
        assert_eq!(errors[0].reason, "must be greater than 0");
    }

    #[test]
    fn offsets_are_read() {
        assert_eq!(parse_offset("UTC"), Some(time::UtcOffset::UTC));
        assert_eq!(
            parse_offset(" -05:30 "),
            time::UtcOffset::from_hms(-5, -30, 0).ok()
        );
        for bad in ["+8", "Asia/Shanghai", "+08:0", ""] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }
}
