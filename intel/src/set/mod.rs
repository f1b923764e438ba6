//! [`IntelSet`]: the indicators of every feed, immutable, matched against event fields.
//!
//! A set is built once per change and swapped whole by whoever holds it (in an `Arc`). Each
//! feed's indicators are one compact part, shared between sets: replacing the ten indicators of
//! the `local` feed reuses the million of a large feed as they are.
//!
//! Matching semantics, per class of field ([`FieldClass`]):
//! - an **address** matches `ip` indicators equal to it and every `cidr` range holding it
//!   (IPv4 and IPv6; an IPv4-mapped IPv6 address is its IPv4 address);
//! - a **domain** matches `domain` indicators equal to it and `domain-tree` indicators equal
//!   to it or to a name it is under at a label boundary;
//! - a **URL** matches `url` indicators equal to it in the compared form (scheme and host in
//!   lower case, no default port, no fragment, `/` for an empty path; see
//!   [`key::normalise_url`]), and its host matches as a domain or an address;
//! - a **hash** matches the hash kinds of its length (32 hex digits MD5, 40 SHA-1, 64 SHA-256
//!   and SM3);
//! - an **email** address matches `email` indicators equal to it.
//!
//! Text is normalised as [`crate::Observable::parse`] normalises indicator values. Only
//! indicators active at the time given match, at their decayed confidence ([`crate::lifetime`]).

mod batch;
mod index;
mod key;
mod matching;
mod part;

use std::net::IpAddr;
use std::sync::Arc;

use onewall_model::{Event, FieldId, IndicatorKind, Timestamp, Value};
use serde::Deserialize;

use self::key::Code;
use self::key::{UrlParts, normalise_name, parse_ip, unhex};
use self::part::FeedPart;
use crate::fields::{FieldClass, MatchFields};
use crate::indicator::canonical_ip;
use crate::lifetime::{FeedPolicy, LifetimeCounts};
use crate::{Indicator, Observable};

/// An indicator of a set: valid with the set that gave it (read it back with
/// [`IntelSet::get`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndicatorHandle {
    part: u32,
    index: u32,
}

/// An indicator a value matched, at its confidence when matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub handle: IndicatorHandle,
    /// 0–100, after decay.
    pub confidence: u8,
}

/// An indicator an event matched: on which field, holding what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHit {
    pub handle: IndicatorHandle,
    /// 0–100, after decay.
    pub confidence: u8,
    pub field: FieldId,
    /// The value the field held (trimmed; an address in its usual text form).
    pub observed: String,
}

/// Which indicators a listing shows: all the conditions given hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorFilter {
    pub kind: Option<IndicatorKind>,
    pub feed: Option<String>,
    /// The value's text starts with this (ASCII case ignored).
    pub prefix: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorPage {
    /// How many indicators the filter selects, on all pages.
    pub total: usize,
    pub indicators: Vec<(IndicatorHandle, Indicator)>,
}

/// The indicators of every feed (see the module's doc).
#[derive(Debug, Clone, Default)]
pub struct IntelSet {
    /// By feed name.
    parts: Vec<Arc<FeedPart>>,
    /// The kind codes any feed holds.
    codes: u32,
    /// The IPv6 range lengths any feed holds (see [`FeedPart::v6_prefixes`]).
    v6_prefixes: [u64; 3],
    /// The label counts of the domain trees any feed holds (see [`FeedPart::tree_labels`]).
    tree_labels: u64,
}

impl IntelSet {
    /// A new set where `feed`'s indicators are `indicators` (whatever their own `feed` says),
    /// under the default policy (no lifetime, no decay); other feeds are shared, not rebuilt.
    pub fn with_feed(&self, feed: &str, indicators: Vec<Indicator>) -> IntelSet {
        self.with_feed_policy(feed, indicators, FeedPolicy::default(), Timestamp::now())
    }

    /// [`IntelSet::with_feed`] under `policy`, the feed loaded at `loaded` (the start of the
    /// lifetime of indicators without `valid_from`: see [`crate::lifetime`]).
    pub fn with_feed_policy(
        &self,
        feed: &str,
        indicators: Vec<Indicator>,
        policy: FeedPolicy,
        loaded: Timestamp,
    ) -> IntelSet {
        let part = Arc::new(FeedPart::build(feed, indicators, policy, loaded));
        let mut parts = self.parts.clone();
        match parts.binary_search_by(|p| p.name.as_str().cmp(feed)) {
            Ok(i) => parts[i] = part,
            Err(i) => parts.insert(i, part),
        }
        IntelSet::of(parts)
    }

    fn of(parts: Vec<Arc<FeedPart>>) -> IntelSet {
        let codes = parts.iter().fold(0, |c, p| c | p.codes);
        let tree_labels = parts.iter().fold(0, |t, p| t | p.tree_labels);
        let mut v6_prefixes = [0u64; 3];
        for p in &parts {
            for (w, pw) in v6_prefixes.iter_mut().zip(p.v6_prefixes) {
                *w |= pw;
            }
        }
        IntelSet {
            parts,
            codes,
            v6_prefixes,
            tree_labels,
        }
    }

    /// A new set without `feed`.
    pub fn without_feed(&self, feed: &str) -> IntelSet {
        IntelSet::of(
            self.parts
                .iter()
                .filter(|p| p.name != feed)
                .cloned()
                .collect(),
        )
    }

    /// How many indicators, of all feeds.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each feed and how many indicators it holds, by name.
    pub fn feed_counts(&self) -> Vec<(String, usize)> {
        self.parts
            .iter()
            .map(|p| (p.name.clone(), p.len()))
            .collect()
    }

    /// The policy and load time `feed` was set with.
    pub fn feed_policy(&self, feed: &str) -> Option<(FeedPolicy, Timestamp)> {
        self.part(feed).map(|p| (p.policy, p.loaded))
    }

    fn part(&self, feed: &str) -> Option<&FeedPart> {
        self.parts.iter().find(|p| p.name == feed).map(|p| &**p)
    }

    /// The indicator `handle` names, whole; `None` for a handle of another set.
    pub fn try_get(&self, handle: IndicatorHandle) -> Option<Indicator> {
        self.parts.get(handle.part as usize)?.get(handle.index)
    }

    /// The indicator `handle` names, whole. A handle of another set (a mistake) reads as an
    /// indicator of feed `""` on `0.0.0.0`.
    pub fn get(&self, handle: IndicatorHandle) -> Indicator {
        self.try_get(handle)
            .unwrap_or_else(|| Indicator::new(Observable::Ip(IpAddr::from([0, 0, 0, 0])), ""))
    }

    /// The values of `feed`'s indicators, in the order given (for a retro-hunt).
    pub fn values_of(&self, feed: &str) -> Vec<Observable> {
        self.part(feed).map_or_else(Vec::new, |p| {
            (0..p.len() as u32)
                .filter_map(|i| p.observable(i))
                .collect()
        })
    }

    /// Indicators `which` of `feed` (positions in the order its indicators were given),
    /// whole: what a change brought, read back from the set rather than kept twice.
    pub fn feed_indicators(&self, feed: &str, which: &[u32]) -> Vec<Indicator> {
        self.part(feed).map_or_else(Vec::new, |p| {
            which.iter().filter_map(|&i| p.get(i)).collect()
        })
    }

    /// How many indicators are active, decayed, expired and pending at `now`.
    pub fn lifetime_counts(&self, now: Timestamp) -> LifetimeCounts {
        let mut counts = LifetimeCounts::default();
        for p in &self.parts {
            p.lifetime_counts(now, &mut counts);
        }
        counts
    }

    /// [`IntelSet::lifetime_counts`] of one feed.
    pub fn feed_lifetime_counts(&self, feed: &str, now: Timestamp) -> LifetimeCounts {
        let mut counts = LifetimeCounts::default();
        if let Some(p) = self.part(feed) {
            p.lifetime_counts(now, &mut counts);
        }
        counts
    }

    /// The heap bytes the set holds (from its vectors' and tables' capacities; feeds shared
    /// with other sets are counted in each).
    pub fn heap_bytes(&self) -> usize {
        self.parts.iter().map(|p| p.heap_bytes()).sum::<usize>()
            + self.parts.capacity() * std::mem::size_of::<Arc<FeedPart>>()
    }

    /// The indicators `text`, a value of class `class`, matches at `now`.
    pub fn lookup(&self, class: FieldClass, text: &str, now: Timestamp) -> Vec<Hit> {
        let mut out = Vec::new();
        self.lookup_into(class, text, now, &mut out);
        out
    }

    /// [`IntelSet::lookup`] appending to `out` (no allocation when nothing matches).
    pub fn lookup_into(&self, class: FieldClass, text: &str, now: Timestamp, out: &mut Vec<Hit>) {
        self.visit_text(class, text, now, &mut |handle, confidence| {
            out.push(Hit { handle, confidence });
        });
    }

    /// The indicators address `a` matches at `now`, appended to `out`.
    pub fn lookup_ip(&self, a: IpAddr, now: Timestamp, out: &mut Vec<Hit>) {
        self.visit_ip(a, now, &mut |handle, confidence| {
            out.push(Hit { handle, confidence });
        });
    }

    /// Check `event`'s `fields` at `now`; append a hit per indicator matched (an indicator
    /// matched on several fields or list items counts once, on the first).
    pub fn match_event(
        &self,
        event: &Event,
        fields: &MatchFields,
        now: Timestamp,
        out: &mut Vec<EventHit>,
    ) {
        if self.parts.is_empty() {
            return;
        }
        let start = out.len();
        let entries = event.fields.entries();
        // The event's checked fields by their position among the checked ones, so that they
        // are matched in the configured order (the first field an indicator matches on is
        // the one its hit names). A name set twice keeps its first value, as lookups do.
        let mut found: [(u32, &Value); MAX_CHECKED] = [(0, &Value::Null); MAX_CHECKED];
        let mut n = 0;
        let mut fits = entries.len() <= SCAN_ENTRIES_UP_TO;
        if fits {
            for (id, v) in entries {
                if let Some(pos) = fields.position(*id) {
                    let Some(slot) = found.get_mut(n) else {
                        fits = false;
                        break;
                    };
                    *slot = (pos as u32, v);
                    n += 1;
                }
            }
        }
        if !fits {
            // Many fields: look up each checked one instead of classing them all.
            for &(id, class) in fields.fields() {
                if let Some(v) = event.fields.get_id(id) {
                    self.match_value(v, class, id, now, start, out);
                }
            }
            return;
        }
        let found = &mut found[..n];
        found.sort_by_key(|(pos, _)| *pos);
        let mut batch = batch::Batch::new();
        let mut last = None;
        let mut gathered = true;
        for &(pos, v) in found.iter() {
            // A name set twice: its first value.
            if last != Some(pos) {
                last = Some(pos);
                if let Some(&(id, class)) = fields.fields().get(pos as usize) {
                    gathered = gathered && batch.add(self, v, class, id).is_some();
                }
            }
        }
        if gathered && batch.run(self, now, start, out) {
            return;
        }
        let mut last = None;
        for &(pos, v) in found.iter() {
            if last != Some(pos) {
                last = Some(pos);
                if let Some(&(id, class)) = fields.fields().get(pos as usize) {
                    self.match_value(v, class, id, now, start, out);
                }
            }
        }
    }

    fn match_value(
        &self,
        v: &Value,
        class: FieldClass,
        field: FieldId,
        now: Timestamp,
        start: usize,
        out: &mut Vec<EventHit>,
    ) {
        let mut hit = |handle: IndicatorHandle, confidence: u8, observed: &dyn Fn() -> String| {
            if !out[start..].iter().any(|h| h.handle == handle) {
                out.push(EventHit {
                    handle,
                    confidence,
                    field,
                    observed: observed(),
                });
            }
        };
        match v {
            Value::Str(s) => {
                let s: &str = s;
                self.visit_text(class, s, now, &mut |h, c| {
                    hit(h, c, &|| s.trim().to_string())
                });
            }
            Value::Ip(a) if matches!(class, FieldClass::Address) => {
                self.visit_ip(*a, now, &mut |h, c| hit(h, c, &|| a.to_string()));
            }
            Value::List(items) => {
                for item in items {
                    self.match_value(item, class, field, now, start, out);
                }
            }
            _ => {}
        }
    }

    fn visit_ip(&self, a: IpAddr, now: Timestamp, f: &mut impl FnMut(IndicatorHandle, u8)) {
        if self.codes & key::ADDRESS_CODES == 0 {
            return;
        }
        let a = canonical_ip(a);
        for (pi, p) in self.parts.iter().enumerate() {
            if p.codes & key::ADDRESS_CODES != 0 {
                p.visit_ip(a, now, &mut |index, c| f(handle(pi, index), c));
            }
        }
    }

    fn visit_name(&self, name: &str, now: Timestamp, f: &mut impl FnMut(IndicatorHandle, u8)) {
        if self.codes & key::DOMAIN_CODES == 0 {
            return;
        }
        let text = normalise_name(name);
        // No indicator is longer than a domain name can be.
        if text.is_empty() || text.len() > 255 {
            return;
        }
        for (pi, p) in self.parts.iter().enumerate() {
            if p.codes & key::DOMAIN_CODES != 0 {
                p.visit_name(&text, now, &mut |index, c| f(handle(pi, index), c));
            }
        }
    }

    fn visit_text(
        &self,
        class: FieldClass,
        text: &str,
        now: Timestamp,
        f: &mut impl FnMut(IndicatorHandle, u8),
    ) {
        let t = text.trim_ascii();
        match class {
            FieldClass::Address => {
                if let Some(a) = parse_ip(t) {
                    self.visit_ip(a, now, f);
                }
            }
            FieldClass::Domain => self.visit_name(t, now, f),
            FieldClass::Url => self.visit_url_text(t, Portion::All, now, f),
            FieldClass::Hash => {
                if self.codes & key::HASH_CODES == 0 || !matches!(t.len(), 32 | 40 | 64) {
                    return;
                }
                let mut buf = [0u8; 32];
                if let Some(n) = unhex(t, &mut buf) {
                    for (pi, p) in self.parts.iter().enumerate() {
                        p.visit_hash(&buf[..n], now, &mut |index, c| f(handle(pi, index), c));
                    }
                }
            }
            FieldClass::Email => {
                if self.codes & Code::Email.bit() == 0 {
                    return;
                }
                let e = normalise_name(t);
                for (pi, p) in self.parts.iter().enumerate() {
                    p.visit_email(&e, now, &mut |index, c| f(handle(pi, index), c));
                }
            }
        }
    }

    /// The URL `t` (trimmed): the URL itself, then its host as an address or a domain.
    fn visit_url_text(
        &self,
        t: &str,
        portion: Portion,
        now: Timestamp,
        f: &mut impl FnMut(IndicatorHandle, u8),
    ) {
        if t.is_empty() {
            return;
        }
        let parts = UrlParts::parse(t);
        if portion != Portion::Host && self.codes & Code::Url.bit() != 0 {
            let url = parts.normalised();
            for (pi, p) in self.parts.iter().enumerate() {
                p.visit_url(&url, now, &mut |index, c| f(handle(pi, index), c));
            }
        }
        let host = parts.bare_host();
        if portion == Portion::Url || host.is_empty() {
            return;
        }
        match parse_ip(host) {
            Some(a) => self.visit_ip(a, now, f),
            None => self.visit_name(host, now, f),
        }
    }

    /// The handles `filter` selects, feed by feed (by name), in each feed's order.
    pub fn iter_filtered<'a>(
        &'a self,
        filter: &'a IndicatorFilter,
    ) -> impl Iterator<Item = IndicatorHandle> + 'a {
        let prefix = filter.prefix.as_deref().map(str::to_ascii_lowercase);
        self.parts
            .iter()
            .enumerate()
            .filter(|(_, p)| filter.feed.as_ref().is_none_or(|f| *f == p.name))
            .flat_map(move |(pi, p)| {
                let prefix = prefix.clone();
                (0..p.len() as u32).filter_map(move |i| {
                    let kind_ok = filter.kind.is_none_or(|k| p.code(i).kind() == k);
                    let ok = kind_ok
                        && prefix.as_ref().is_none_or(|pre| {
                            p.observable(i).is_some_and(|o| {
                                o.text().to_ascii_lowercase().starts_with(pre.as_str())
                            })
                        });
                    ok.then(|| handle(pi, i))
                })
            })
    }

    /// Indicators `offset..offset + limit` of those `filter` selects, and how many it selects.
    pub fn page(&self, filter: &IndicatorFilter, offset: usize, limit: usize) -> IndicatorPage {
        let mut total = 0;
        let mut indicators = Vec::new();
        for h in self.iter_filtered(filter) {
            if total >= offset && indicators.len() < limit {
                indicators.push((h, self.get(h)));
            }
            total += 1;
        }
        IndicatorPage { total, indicators }
    }
}

/// Which of a URL's probes to make: all, the URL's own, or its host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Portion {
    All,
    Url,
    Host,
}

/// Events of up to this many fields are matched by classing each of their fields; larger ones
/// by looking up each checked field.
const SCAN_ENTRIES_UP_TO: usize = 64;

/// Checked fields an event may hold to be matched in passes ([`batch`]); one holding more
/// is matched value by value.
const MAX_CHECKED: usize = 32;

fn handle(part: usize, index: u32) -> IndicatorHandle {
    IndicatorHandle {
        part: part as u32,
        index,
    }
}
