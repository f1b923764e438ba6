//! Finding the events that hold given values ([`crate::Store::find_events`]): one query per
//! page, pruned to the range's day partitions. A common field is compared on its column; the
//! other fields on the parallel arrays of typed text (`s:` strings and `p:` addresses), with
//! every field of the same conditions in one `arrayExists`, so a retro-hunt's thousand values
//! on eight hash fields are sent once, not eight times. Everything here runs on 18.16;
//! servers from 22.3 on get the `OrDefault` address parsers, since their plain ones throw on
//! text that is not an address.

use std::collections::BTreeMap;
use std::net::IpAddr;

use clickhouse::Client;

use super::Culprit;
use super::events::events_page;
use super::records::Conditions;
use super::schema::Features;
use crate::codec::COMMON_COLUMNS;
use crate::cursor::{CursorKind, decode_opt};
use crate::find::{canonical, exact_texts, suffix_text};
use onewall_model::{Event, Timestamp};

use crate::{Page, Result, ValueQuery, effective_limit};

/// What one field is compared with; fields with equal conditions share one clause.
#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Wanted {
    /// Exact texts, lower case, every spelling ([`exact_texts`]).
    texts: Vec<String>,
    /// Address ranges, canonical.
    ranges: Vec<(IpAddr, IpAddr)>,
    /// Suffixes ([`suffix_text`]).
    suffixes: Vec<String>,
    /// Parts, lower case.
    parts: Vec<String>,
}

/// The fields of `q` grouped by what they are compared with.
fn grouped(q: &ValueQuery) -> BTreeMap<Wanted, Vec<String>> {
    let mut by_field: BTreeMap<&str, Wanted> = BTreeMap::new();
    for (f, values) in &q.exact {
        let w = by_field.entry(f).or_default();
        w.texts.extend(values.iter().flat_map(|v| exact_texts(v)));
    }
    for (f, lo, hi) in &q.ip_ranges {
        let w = by_field.entry(f).or_default();
        w.ranges.push((canonical(*lo), canonical(*hi)));
    }
    for (f, suffixes) in &q.suffixes {
        let w = by_field.entry(f).or_default();
        w.suffixes.extend(suffixes.iter().map(|s| suffix_text(s)));
    }
    for (f, parts) in &q.contains {
        let w = by_field.entry(f).or_default();
        w.parts.extend(parts.iter().map(|p| p.to_ascii_lowercase()));
    }
    let mut groups: BTreeMap<Wanted, Vec<String>> = BTreeMap::new();
    for (f, mut w) in by_field {
        w.texts.sort();
        w.texts.dedup();
        w.ranges.sort();
        w.ranges.dedup();
        w.suffixes.sort();
        w.suffixes.dedup();
        w.parts.sort();
        w.parts.dedup();
        groups.entry(w).or_default().push(f.to_owned());
    }
    groups
}

/// The aligned blocks `(network, prefix length)` covering `lo..=hi` exactly.
fn cidr_blocks(lo: u32, hi: u32) -> Vec<(u32, u8)> {
    let mut out = Vec::new();
    let mut at = u64::from(lo);
    let end = u64::from(hi);
    while at <= end {
        // The largest block starting at `at` (aligned) that ends by `end`.
        let mut len = 32u8;
        while len > 0 {
            let size = 1u64 << (32 - u32::from(len - 1));
            if at % size != 0 || at + size - 1 > end {
                break;
            }
            len -= 1;
        }
        out.push((at as u32, len));
        at += 1u64 << (32 - u32::from(len));
    }
    out
}

/// Texts as a regular expression's alternatives, each matched literally.
fn alternatives(texts: &[String]) -> String {
    let escaped: Vec<String> = texts
        .iter()
        .map(|t| {
            let mut e = String::with_capacity(t.len());
            for c in t.chars() {
                if c.is_ascii_punctuation() {
                    e.push('\\');
                }
                e.push(c);
            }
            e
        })
        .collect();
    escaped.join("|")
}

/// 16 bytes for a comparison with `IPv6StringToNum`.
fn fixed16(a: std::net::Ipv6Addr) -> String {
    format!("toFixedString(unhex('{:032X}'), 16)", u128::from(a))
}

/// The condition that the text `x` holds a value of `w` (`x` is an SQL expression, used
/// several times: the server computes it once).
fn text_condition(cond: &mut Conditions, features: Features, x: &str, w: &Wanted) -> String {
    let (ip4, ip6) = if features.ip_or_default {
        ("IPv4StringToNumOrDefault", "IPv6StringToNumOrDefault")
    } else {
        ("IPv4StringToNum", "IPv6StringToNum")
    };
    let mut any = Vec::new();
    if !w.texts.is_empty() {
        let list: Vec<&str> = w.texts.iter().map(|t| cond.bind(t)).collect();
        any.push(format!("lower({x}) IN ({})", list.join(", ")));
    }
    // Only text shaped like an address is parsed (18.16's parsers read a prefix). An
    // IPv4-mapped address is IPv4 (its prefix cut off), never in an IPv6 range. IPv4 ranges
    // are cut into aligned blocks, one `IN` per block length, so a hundred ranges are a few
    // set look-ups, not a hundred comparisons the server must analyse.
    let mut blocks: BTreeMap<u8, Vec<u32>> = BTreeMap::new();
    let mapped = format!("match(lower({x}), '^::ffff:[0-9.]+$')");
    for &(lo, hi) in &w.ranges {
        match (lo, hi) {
            (IpAddr::V4(l), IpAddr::V4(h)) => {
                for (net, len) in cidr_blocks(u32::from(l), u32::from(h)) {
                    blocks.entry(len).or_default().push(net);
                }
            }
            (IpAddr::V6(l), IpAddr::V6(h)) => any.push(format!(
                "(match({x}, '^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$') AND NOT {mapped} \
                 AND {ip6}({x}) BETWEEN {} AND {})",
                fixed16(l),
                fixed16(h)
            )),
            _ => {}
        }
    }
    if !blocks.is_empty() {
        let v4 = format!("{ip4}(replaceRegexpOne(lower({x}), '^::ffff:', ''))");
        let sets: Vec<String> = blocks
            .iter()
            .map(|(len, nets)| {
                let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
                let list: Vec<String> = nets.iter().map(u32::to_string).collect();
                format!("bitAnd({v4}, {mask}) IN ({})", list.join(", "))
            })
            .collect();
        any.push(format!(
            "(match(lower({x}), '^(::ffff:|)[0-9.]+$') AND ({}))",
            sets.join(" OR ")
        ));
    }
    // Suffixes and parts are one regular expression each (RE2, compiled once a query).
    if !w.suffixes.is_empty() {
        let p = cond.bind(&format!(
            "(?i)(?:^|\\.)(?:{})\\.?$",
            alternatives(&w.suffixes)
        ));
        any.push(format!("match({x}, {p})"));
    }
    if !w.parts.is_empty() {
        let p = cond.bind(&format!("(?i)(?:{})", alternatives(&w.parts)));
        any.push(format!("match({x}, {p})"));
    }
    if any.is_empty() {
        "0".to_owned()
    } else {
        format!("({})", any.join(" OR "))
    }
}

/// The query's conditions, joined by `OR`.
fn conditions(cond: &mut Conditions, features: Features, q: &ValueQuery) -> String {
    let mut any = Vec::new();
    for (w, fields) in grouped(q) {
        let mut others = Vec::new();
        for f in fields {
            match COMMON_COLUMNS.iter().find(|(n, _)| *n == f) {
                Some((_, col)) => {
                    let c = text_condition(cond, features, &format!("assumeNotNull({col})"), &w);
                    any.push(format!("(isNotNull({col}) AND {c})"));
                }
                None => others.push(f),
            }
        }
        if !others.is_empty() {
            let names: Vec<&str> = others.iter().map(|n| cond.bind(n)).collect();
            let c = text_condition(cond, features, "substring(v, 3)", &w);
            any.push(format!(
                "arrayExists((n, v) -> n IN ({}) AND substring(v, 1, 2) IN ('s:', 'p:') AND {c}, \
                 field_names, field_values)",
                names.join(", ")
            ));
        }
    }
    format!("({})", any.join(" OR "))
}

/// One page of the events holding any of `q`'s values, newest first.
pub(super) async fn find_events(
    client: &Client,
    culprit: &Culprit,
    features: Features,
    q: &ValueQuery,
) -> Result<Page<Event>> {
    q.check()?;
    let limit = effective_limit(q.limit);
    let cursor = decode_opt(CursorKind::Event, q.cursor.as_deref())?;
    if q.is_empty() || matches!((q.from, q.to), (Some(f), Some(t)) if f >= t) {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let mut cond = Conditions::default();
    cond.range("time", q.from.map(|t| t.0), q.to.map(|t| t.0));
    cond.after("time", cursor);
    if let Some(from) = q.from {
        cond.push(format!("day >= {}", from.yyyymmdd()));
    }
    let mut hi = q.to.map(|t| Timestamp(t.0.saturating_sub(1)).yyyymmdd());
    if let Some(c) = cursor {
        let day = Timestamp(c.key).yyyymmdd();
        hi = Some(hi.map_or(day, |h| h.min(day)));
    }
    if let Some(hi) = hi {
        cond.push(format!("day <= {hi}"));
    }
    let any = conditions(&mut cond, features, q);
    cond.push(any);
    events_page(client, culprit, &cond, limit, "finding events by value").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_the_same_values_share_one_clause() {
        let values = vec!["ABC".to_owned(), "10.0.0.1".to_owned()];
        let q = ValueQuery {
            exact: vec![
                ("file.hash.md5".into(), values.clone()),
                ("process.hash.md5".into(), values.clone()),
                ("source.ip".into(), values),
            ],
            ..ValueQuery::default()
        };
        let g = grouped(&q);
        assert_eq!(g.len(), 1);
        let (w, fields) = g.iter().next().expect("one group");
        assert_eq!(fields.len(), 3);
        assert_eq!(w.texts, vec!["10.0.0.1", "::ffff:10.0.0.1", "abc"]);
        let mut cond = Conditions::default();
        let sql = conditions(&mut cond, Features::for_version("18.16.1"), &q);
        assert_eq!(sql.matches("arrayExists").count(), 1, "{sql}");
        assert!(sql.contains("lower(assumeNotNull(source_ip)) IN"), "{sql}");
    }

    #[test]
    fn ranges_are_cut_into_aligned_blocks() {
        assert_eq!(
            cidr_blocks(0x0a00_0000, 0x0aff_ffff),
            vec![(0x0a00_0000, 8)]
        );
        assert_eq!(cidr_blocks(0, u32::MAX), vec![(0, 0)]);
        assert_eq!(cidr_blocks(5, 5), vec![(5, 32)]);
        assert_eq!(cidr_blocks(1, 6), vec![(1, 32), (2, 31), (4, 31), (6, 32)]);
        assert_eq!(alternatives(&["a.b".into(), "c+d".into()]), "a\\.b|c\\+d");
    }
}
