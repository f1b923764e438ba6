//! A detector document read and checked.
//!
//! Keys of the `anomaly:` map common to every kind: `kind`, `group-by` (a field or a list;
//! absent: one group), `field` (a field or a list, a tuple), `transform`, `learning` (a
//! timespan), `max-groups`, `max-entries`, `suppress` (a timespan: how long a group stays quiet
//! after it fired). The rest are the kind's ([`crate::kind::Kind::parse`]).
//!
//! - `kind`: `volume`, `first_seen`, `rare`, `outlier` or `time_of_day`.
//! - `group-by`: the fields whose values make a group. An event without one of them is in the
//!   group whose value for that field is empty (so "no user" is one group, not none).
//! - `field`: what `first_seen` and `rare` look at (required there), the number `outlier`
//!   sums (required there); a list is a tuple, its values joined by U+001F.
//! - `transform`: `none` (default), `lower` (lowercase), `net24` (an IPv4 address → its /24,
//!   IPv6 → its /64), `net16` (IPv4 → /16, IPv6 → /48), `host` (a URL or `host:port` → the
//!   lowercase host name). A value the transform cannot read (not an address) passes unchanged.
//! - `learning` (default `7d`): event time from the detector's first observation during which
//!   baselines grow and nothing is reported.
//! - `max-groups`, `max-entries`: bounds (default from the node's `[anomaly]` settings).
//! - `suppress` (default `1h`): a group that fired for a reason (a value, a spike) does not
//!   fire again for the same reason within this time.
//!
//! Top-level keys: `title` and `id` (required: a detector's state is kept by its id), `level`
//! (default `medium`), `description`, `tags` (`gbt20986.AB` is added when no `gbt20986.*` tag is
//! given), `logsource` and `detection` (a Sigma detection: the events the detector looks at,
//! compiled by `onewall-rules`). Other Sigma metadata (`author`, `status` ...) is ignored.

use std::net::IpAddr;

use onewall_model::{AnomalyKind, Severity};
use onewall_rules::correlation::parse_timespan;
use onewall_rules::{LoadReport, RuleError, RuleSource};
use serde::Deserialize;
use serde_norway::{Mapping, Value as Yaml};

use crate::kind::Params;

/// The `anomaly:` keys every kind shares (read here; a kind's `parse` skips them).
pub const COMMON_KEYS: &[&str] = &[
    "kind",
    "group-by",
    "field",
    "transform",
    "learning",
    "max-groups",
    "max-entries",
    "suppress",
];

/// The tag every detector carries unless it names another GB/T 20986 category.
pub const DEFAULT_TAG: &str = "gbt20986.AB";

/// How a `field` value is normalised before a kind sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transform {
    #[default]
    None,
    Lower,
    Net24,
    Net16,
    Host,
}

impl Transform {
    pub fn parse(s: &str) -> Result<Transform, String> {
        Ok(match s {
            "none" => Transform::None,
            "lower" => Transform::Lower,
            "net24" => Transform::Net24,
            "net16" => Transform::Net16,
            "host" => Transform::Host,
            other => {
                return Err(format!(
                    "anomaly.transform: unknown transform '{other}' (expected none, lower, \
                     net24, net16, host)"
                ));
            }
        })
    }

    /// Append `value` transformed to `out`.
    pub fn apply(self, value: &str, out: &mut String) {
        match self {
            Transform::None => out.push_str(value),
            Transform::Lower => out.extend(value.chars().flat_map(char::to_lowercase)),
            Transform::Net24 => network(value, 24, 64, out),
            Transform::Net16 => network(value, 16, 48, out),
            Transform::Host => host(value, out),
        }
    }

    /// Append the address `ip` transformed to `out` (no text round trip for typed addresses).
    pub fn apply_ip(self, ip: IpAddr, out: &mut String) {
        use std::fmt::Write;
        match self {
            Transform::Net24 => push_net(ip, 24, 64, out),
            Transform::Net16 => push_net(ip, 16, 48, out),
            _ => match ip {
                IpAddr::V4(a) => push_ipv4(a, out),
                IpAddr::V6(a) => {
                    let _ = write!(out, "{a}");
                }
            },
        }
    }
}

fn network(value: &str, v4: u8, v6: u8, out: &mut String) {
    match value.trim().parse::<IpAddr>() {
        Ok(ip) => push_net(ip, v4, v6, out),
        Err(_) => out.push_str(value),
    }
}

/// Append `n` in decimal (what `write!` does, without the formatting machinery: this runs
/// for every observation of a detector keyed by an address or a port).
pub(crate) fn push_u64(mut n: u64, out: &mut String) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&b| char::from(b)));
}

/// Append the IPv4 address `a` as dotted decimal.
pub(crate) fn push_ipv4(a: std::net::Ipv4Addr, out: &mut String) {
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_u64(u64::from(o), out);
    }
}

fn push_net(ip: IpAddr, v4: u8, v6: u8, out: &mut String) {
    use std::fmt::Write;
    let _ = match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(v4)).unwrap_or(0);
            push_ipv4(std::net::Ipv4Addr::from(u32::from(a) & mask), out);
            out.push('/');
            push_u64(u64::from(v4), out);
            Ok(())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(v6)).unwrap_or(0);
            let net = std::net::Ipv6Addr::from(u128::from(a) & mask);
            write!(out, "{net}/{v6}")
        }
    };
}

fn host(value: &str, out: &mut String) {
    let v = value.trim();
    let v = v.split_once("://").map_or(v, |(_, rest)| rest);
    let v = v.split(['/', '?', '#']).next().unwrap_or(v);
    let v = v.rsplit_once('@').map_or(v, |(_, h)| h);
    let v = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if v.matches(':').count() == 1 {
        v.split(':').next().unwrap_or(v)
    } else {
        v
    };
    let v = v.trim_end_matches('.');
    out.extend(v.chars().flat_map(char::to_lowercase));
}

/// One detector as written, checked, with its parameters parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorDoc {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub level: Severity,
    pub tags: Vec<String>,
    /// The file it came from.
    pub path: String,
    pub kind: AnomalyKind,
    pub group_by: Vec<String>,
    pub field: Vec<String>,
    pub learning_secs: i64,
    pub params: Params,
    /// A digest of the whole document: a reload keeps the state of a detector whose id and
    /// digest are unchanged.
    pub digest: u64,
    pub transform: Transform,
    /// `max-groups` and `max-entries` when the document gives them.
    pub max_groups: Option<usize>,
    pub max_entries: Option<usize>,
    pub suppress_secs: i64,
    /// The field read as [`crate::Observation::number`]: `field` for `outlier`, `weight` for
    /// `volume`.
    pub number_field: Option<String>,
    /// The detector's selection as a one-rule Sigma document (`title`, `id`, `level`,
    /// `logsource`, `detection`), for the rules crate to compile.
    pub selection: String,
}

/// Error unless every key of `map` is common or in `own` (naming the first that is not).
pub fn check_keys(map: &Mapping, own: &[&str]) -> Result<(), String> {
    for k in map.keys() {
        let name = k.as_str().unwrap_or("");
        if !COMMON_KEYS.contains(&name) && !own.contains(&name) {
            return Err(format!(
                "anomaly.{}: unknown key{}",
                if name.is_empty() { "?" } else { name },
                if own.is_empty() {
                    String::new()
                } else {
                    format!(" (this kind takes {})", own.join(", "))
                }
            ));
        }
    }
    Ok(())
}

/// The timespan at `key` (`30s`, `10m`, `1h`, `7d`, `2w`), in seconds.
pub fn timespan_key(map: &Mapping, key: &str) -> Result<Option<i64>, String> {
    let Some(v) = map.get(key) else {
        return Ok(None);
    };
    let text = match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => format!("{n}s"),
        _ => {
            return Err(format!(
                "anomaly.{key}: expected a timespan such as 1h or 7d"
            ));
        }
    };
    let secs = parse_timespan(&text).map_err(|e| format!("anomaly.{key}: {e}"))?;
    if secs <= 0 {
        return Err(format!("anomaly.{key}: must be longer than zero"));
    }
    Ok(Some(secs))
}

/// The number at `key`.
pub fn number_key(map: &Mapping, key: &str) -> Result<Option<f64>, String> {
    match map.get(key) {
        None => Ok(None),
        Some(Yaml::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("anomaly.{key}: expected a number")),
        Some(_) => Err(format!("anomaly.{key}: expected a number")),
    }
}

/// A positive whole number at `key`.
fn count_key(map: &Mapping, key: &str) -> Result<Option<usize>, String> {
    match map.get(key) {
        None => Ok(None),
        Some(Yaml::Number(n)) => match n.as_u64() {
            Some(v) if v > 0 => Ok(Some(usize::try_from(v).unwrap_or(usize::MAX))),
            _ => Err(format!("anomaly.{key}: expected a whole number above zero")),
        },
        Some(_) => Err(format!("anomaly.{key}: expected a whole number above zero")),
    }
}

/// A field name or a list of them at `key` of `map` (shown as `what` in errors).
fn fields(map: &Mapping, key: &str) -> Result<Vec<String>, String> {
    match map.get(key) {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::String(s)) if !s.is_empty() => Ok(vec![s.clone()]),
        Some(Yaml::Sequence(items)) if !items.is_empty() => items
            .iter()
            .map(|i| match i {
                Yaml::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(format!("anomaly.{key}: expected field names")),
            })
            .collect(),
        Some(_) => Err(format!(
            "anomaly.{key}: expected a field name or a list of them"
        )),
    }
}

fn text(doc: &Mapping, key: &str) -> Result<Option<String>, String> {
    match doc.get(key) {
        None | Some(Yaml::Null) => Ok(None),
        Some(Yaml::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key}: expected text")),
    }
}

impl DetectorDoc {
    /// Read one detector document (a mapping with an `anomaly:` key) from `path`.
    pub fn parse(path: &str, doc: &Mapping) -> Result<DetectorDoc, String> {
        let id = text(doc, "id")?
            .filter(|s| !s.trim().is_empty())
            .ok_or("id: a detector needs one (its state is kept by id)")?;
        let title = text(doc, "title")?
            .filter(|s| !s.trim().is_empty())
            .ok_or("title: missing")?;
        let level = match text(doc, "level")? {
            None => Severity::Medium,
            Some(l) => l.parse().map_err(|e| format!("level: {e}"))?,
        };
        let mut tags = match doc.get("tags") {
            None | Some(Yaml::Null) => Vec::new(),
            Some(Yaml::Sequence(items)) => items
                .iter()
                .map(|t| t.as_str().map(str::to_owned).ok_or("tags: expected text"))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err("tags: expected a list".into()),
        };
        if !tags.iter().any(|t| t.starts_with("gbt20986.")) {
            tags.push(DEFAULT_TAG.to_owned());
        }
        let Some(Yaml::Mapping(map)) = doc.get("anomaly") else {
            return Err("anomaly: expected a map with the detector's kind".into());
        };
        let kind_name = map
            .get("kind")
            .and_then(Yaml::as_str)
            .ok_or("anomaly.kind: missing")?;
        let kind = AnomalyKind::parse(kind_name).ok_or_else(|| {
            format!(
                "anomaly.kind: unknown kind '{kind_name}' (expected volume, first_seen, rare, \
                 outlier, time_of_day)"
            )
        })?;
        let group_by = fields(map, "group-by")?;
        let field = fields(map, "field")?;
        let needs_field = matches!(
            kind,
            AnomalyKind::FirstSeen | AnomalyKind::Rare | AnomalyKind::Outlier
        );
        if needs_field && field.is_empty() {
            return Err(format!("anomaly.field: the {kind_name} kind needs one"));
        }
        let transform = match map.get("transform") {
            None => Transform::None,
            Some(v) => Transform::parse(v.as_str().unwrap_or("?"))?,
        };
        let number_field = match kind {
            AnomalyKind::Outlier => field.first().cloned(),
            AnomalyKind::Volume => map.get("weight").and_then(Yaml::as_str).map(str::to_owned),
            _ => None,
        };
        let selection = selection_text(doc, &id, &title)?;
        let canonical = serde_norway::to_string(&Yaml::Mapping(doc.clone())).unwrap_or_default();
        Ok(DetectorDoc {
            description: text(doc, "description")?,
            path: path.to_owned(),
            kind,
            learning_secs: timespan_key(map, "learning")?.unwrap_or(7 * 86_400),
            params: Params::parse(kind, map)?,
            digest: crate::set::stable_hash(canonical.as_bytes()),
            transform,
            max_groups: count_key(map, "max-groups")?,
            max_entries: count_key(map, "max-entries")?,
            suppress_secs: timespan_key(map, "suppress")?.unwrap_or(3600),
            number_field,
            selection,
            id,
            title,
            level,
            tags,
            group_by,
            field,
        })
    }

    /// `max-entries`, or `default`.
    pub fn max_entries_or(&self, default: usize) -> usize {
        self.max_entries.unwrap_or(default)
    }

    /// The parameters with what the document and the node settle filled in: the detector's
    /// learning and the entries bound for the kinds that keep entries.
    pub fn resolved_params(&self, default_max_entries: usize) -> Params {
        let mut params = self.params.clone();
        let max_entries = self.max_entries_or(default_max_entries);
        match &mut params {
            Params::FirstSeen(p) => {
                p.learning_secs = self.learning_secs;
                p.max_entries = max_entries;
            }
            Params::Rare(p) => p.max_entries = max_entries,
            _ => {}
        }
        params
    }
}

/// The one-rule Sigma document of a detector's selection.
fn selection_text(doc: &Mapping, id: &str, title: &str) -> Result<String, String> {
    let Some(detection) = doc.get("detection") else {
        return Err("detection: missing (the events the detector looks at)".into());
    };
    let mut rule = Mapping::new();
    rule.insert("title".into(), title.into());
    rule.insert("id".into(), id.into());
    if let Some(ls) = doc.get("logsource") {
        rule.insert("logsource".into(), ls.clone());
    }
    rule.insert("detection".into(), detection.clone());
    serde_norway::to_string(&Yaml::Mapping(rule)).map_err(|e| format!("detection: {e}"))
}

/// Read every detector document of `sources` (other documents are skipped). A broken one is
/// reported (path, id when it has one, reason); `report.compiled` is left to the caller.
pub fn read_documents(sources: &[RuleSource]) -> (Vec<DetectorDoc>, LoadReport) {
    let mut docs: Vec<DetectorDoc> = Vec::new();
    let mut report = LoadReport::default();
    let error = |report: &mut LoadReport, path: &str, id: Option<String>, reason: String| {
        report.errors.push(RuleError {
            path: path.to_owned(),
            rule_id: id,
            reason,
        });
    };
    for src in sources.iter().filter(|s| s.may_hold_anomaly()) {
        for doc in serde_norway::Deserializer::from_str(&src.text) {
            let map = match Yaml::deserialize(doc) {
                Ok(Yaml::Mapping(m)) if m.contains_key("anomaly") => m,
                Ok(_) => continue,
                Err(e) => {
                    report.total += 1;
                    error(&mut report, &src.path, None, format!("bad yaml: {e}"));
                    break;
                }
            };
            report.total += 1;
            let id = map.get("id").and_then(Yaml::as_str).map(str::to_owned);
            match DetectorDoc::parse(&src.path, &map) {
                Ok(d) => match docs.iter().find(|o| o.id == d.id) {
                    Some(first) => {
                        let reason =
                            format!("duplicate detector id, first defined in {}", first.path);
                        error(&mut report, &src.path, id, reason);
                    }
                    None => docs.push(d),
                },
                Err(reason) => error(&mut report, &src.path, id, reason),
            }
        }
    }
    (docs, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(t: Transform, v: &str) -> String {
        let mut out = String::new();
        t.apply(v, &mut out);
        out
    }

    #[test]
    fn transforms() {
        assert_eq!(apply(Transform::Net24, "203.0.113.77"), "203.0.113.0/24");
        assert_eq!(apply(Transform::Net16, "203.0.113.77"), "203.0.0.0/16");
        assert_eq!(
            apply(Transform::Net24, "2001:db8:1:2:3::9"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            apply(Transform::Net16, "2001:db8:1:2:3::9"),
            "2001:db8:1::/48"
        );
        assert_eq!(apply(Transform::Net24, "not-an-ip"), "not-an-ip");
        assert_eq!(apply(Transform::Lower, "ZhangSan"), "zhangsan");
        assert_eq!(
            apply(Transform::Host, "https://user@WWW.Example.com:8443/a?b#c"),
            "www.example.com"
        );
        assert_eq!(apply(Transform::Host, "example.org:80"), "example.org");
        assert_eq!(apply(Transform::Host, "[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(apply(Transform::Host, "Example.COM."), "example.com");
        let mut out = String::new();
        Transform::Net24.apply_ip("10.1.2.3".parse().expect("ip"), &mut out);
        assert_eq!(out, "10.1.2.0/24");
        assert!(Transform::parse("net8").expect_err("bad").contains("net8"));
    }

    #[test]
    fn the_digest_follows_the_text_and_the_tag_is_added_once() {
        let doc = |extra: &str| -> DetectorDoc {
            let text = format!(
                "title: t\nid: d\ntags: [{extra}]\ndetection: {{s: {{a: b}}, condition: s}}\n\
                 anomaly: {{kind: first_seen, field: x}}\n"
            );
            let map: Mapping = serde_norway::from_str(&text).expect("yaml");
            DetectorDoc::parse("f.yml", &map).expect("doc")
        };
        let (a, b, c) = (doc("x.y"), doc("x.y"), doc("gbt20986.CA"));
        assert_eq!(a.digest, b.digest);
        assert_ne!(a.digest, c.digest);
        assert_eq!(a.tags, vec!["x.y", DEFAULT_TAG]);
        assert_eq!(c.tags, vec!["gbt20986.CA"]);
        assert_eq!(a.learning_secs, 7 * 86_400);
        assert_eq!(a.suppress_secs, 3_600);
    }
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_are_written_as_display_writes_them() {
        for n in [0u64, 7, 10, 443, 65_535, u64::MAX] {
            let mut out = String::new();
            push_u64(n, &mut out);
            assert_eq!(out, n.to_string());
        }
        for a in ["0.0.0.0", "10.1.2.3", "255.255.255.255", "192.168.100.7"] {
            let ip: std::net::Ipv4Addr = a.parse().expect("ip");
            let mut out = String::new();
            push_ipv4(ip, &mut out);
            assert_eq!(out, a);
        }
    }
}
