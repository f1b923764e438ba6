//! Matching at ingest, in the detect stage after the rules: every event of a batch is checked
//! against the indicator set in use on the configured fields; each hit is an intelligence
//! alert, unless it is folded: the same indicator seen by the same entity (the event's source
//! address, else its host) within `[intel] fold_minutes` of the alert raised for it only
//! counts, in the sightings (`folded`) and `onewall_intel_folded_total`.
//!
//! The folding memory and the sightings are in memory and bounded ([`MAX_FOLDS`],
//! [`MAX_SIGHTINGS`]); the sightings are written to `intel.sqlite` every minute and at
//! shutdown. With no indicators nothing is done per event.

use std::collections::HashMap;
use std::sync::Arc;

use metrics::counter;
use onewall_api::intel::Sighting;
use onewall_intel::alert::{Sighting as Matched, intel_alert};
use onewall_intel::set::EventHit;
use onewall_intel::{Indicator, IntelSet};
use onewall_model::{Alert, Event, RegionCode, Timestamp};

use super::Intel;

/// Indicator and entity pairs remembered for folding at most; past it the old ones are
/// swept, and when none is old enough, all are forgotten.
pub const MAX_FOLDS: usize = 100_000;
/// Sightings (indicator and region) kept at most; new ones past it are counted, not kept.
pub const MAX_SIGHTINGS: usize = 100_000;

/// The folding memory and the sightings.
#[derive(Debug, Default)]
pub struct Book {
    /// (indicator key, entity) → the time of the last alert raised for it.
    folds: HashMap<(String, String), Timestamp>,
    sightings: HashMap<(String, String, RegionCode), Sighting>,
    /// Sightings changed since they were last written.
    pub dirty: bool,
}

impl Book {
    /// The sightings loaded from `intel.sqlite`.
    pub fn with_sightings(all: Vec<Sighting>) -> Book {
        let mut b = Book::default();
        for s in all.into_iter().take(MAX_SIGHTINGS) {
            b.sightings.insert(
                (s.feed.clone(), key_of(&s.value, s.kind.as_str()), s.region),
                s,
            );
        }
        b
    }

    pub fn sightings(&self) -> Vec<Sighting> {
        let mut v: Vec<Sighting> = self.sightings.values().cloned().collect();
        v.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.value.cmp(&b.value)));
        v
    }

    /// Whether a hit of `indicator` (its key) by `entity` at `at` is folded into an alert
    /// raised within `window_ns` before; when not, `at` is remembered as its last alert.
    fn folded(&mut self, indicator: &str, entity: &str, at: Timestamp, window_ns: i64) -> bool {
        if window_ns <= 0 {
            return false;
        }
        let k = (indicator.to_owned(), entity.to_owned());
        if let Some(last) = self.folds.get_mut(&k) {
            if at.0 >= last.0 && at.0 - last.0 < window_ns {
                return true;
            }
            if at.0 > last.0 {
                *last = at;
            }
            return false;
        }
        if self.folds.len() >= MAX_FOLDS {
            self.folds
                .retain(|_, last| at.0.saturating_sub(last.0) < window_ns);
            if self.folds.len() >= MAX_FOLDS {
                counter!("onewall_intel_fold_resets_total").increment(1);
                self.folds.clear();
            }
        }
        self.folds.insert(k, at);
        false
    }

    /// Count a sighting of `indicator` in `region` at `at`.
    fn saw(&mut self, indicator: &Indicator, region: RegionCode, at: Timestamp, folded: bool) {
        let value = indicator.value.text();
        let kind = indicator.value.kind();
        let k = (
            indicator.feed.clone(),
            key_of(&value, kind.as_str()),
            region,
        );
        self.dirty = true;
        if let Some(s) = self.sightings.get_mut(&k) {
            s.count += 1;
            s.folded += u64::from(folded);
            s.first_seen = s.first_seen.min(at);
            s.last_seen = s.last_seen.max(at);
            return;
        }
        if self.sightings.len() >= MAX_SIGHTINGS {
            counter!("onewall_intel_sightings_dropped_total").increment(1);
            return;
        }
        self.sightings.insert(
            k,
            Sighting {
                value,
                kind,
                feed: indicator.feed.clone(),
                region,
                count: 1,
                folded: u64::from(folded),
                first_seen: at,
                last_seen: at,
            },
        );
    }
}

impl Book {
    /// Sightings a child region `via` reported (their totals there, each named by the feed
    /// that holds it here: see `share::own_feed`): each replaces what was reported before
    /// for its region.
    pub fn reported(
        &mut self,
        via: RegionCode,
        reports: Vec<onewall_model::intel::SightingReport>,
    ) {
        for r in reports {
            let feed = r.feed.clone();
            let k = (feed.clone(), key_of(&r.value, r.kind.as_str()), r.region);
            if !self.sightings.contains_key(&k) && self.sightings.len() >= MAX_SIGHTINGS {
                counter!("onewall_intel_sightings_dropped_total").increment(1);
                continue;
            }
            tracing::debug!(child = %via, value = %r.value, count = r.count, "intel: sighting reported");
            self.dirty = true;
            self.sightings.insert(
                k,
                Sighting {
                    value: r.value,
                    kind: r.kind,
                    feed,
                    region: r.region,
                    count: r.count,
                    folded: 0,
                    first_seen: r.first_seen,
                    last_seen: r.last_seen,
                },
            );
        }
    }
}

fn key_of(value: &str, kind: &str) -> String {
    format!("{kind}\u{1f}{value}")
}

/// Who saw it: the event's source address, else its host's name or address.
fn entity_of(e: &Event) -> String {
    ["source.ip", "host.name", "host.ip"]
        .iter()
        .find_map(|f| e.fields.get(f).and_then(|v| v.to_text()))
        .map(|t| t.into_owned())
        .unwrap_or_default()
}

/// The detect stage's part: owned by the detect thread.
#[derive(Debug)]
pub struct IntelStage {
    intel: Arc<Intel>,
    hits: Vec<EventHit>,
}

impl IntelStage {
    pub fn new(intel: Arc<Intel>) -> IntelStage {
        IntelStage {
            intel,
            hits: Vec::new(),
        }
    }

    /// Check `batch` against the indicators in use at `now`; alerts go to `alerts`.
    pub fn run(&mut self, batch: &[Event], now: Timestamp, alerts: &mut Vec<Alert>) {
        let set: Arc<IntelSet> = self.intel.current();
        if set.is_empty() {
            return;
        }
        let fields = &self.intel.fields;
        let mut found: Vec<(usize, EventHit)> = Vec::new();
        for (i, e) in batch.iter().enumerate() {
            self.hits.clear();
            set.match_event(e, fields, now, &mut self.hits);
            found.extend(self.hits.drain(..).map(|h| (i, h)));
        }
        if found.is_empty() {
            return;
        }
        let window_ns = i64::from(self.intel.cfg.fold_minutes) * 60 * 1_000_000_000;
        // A panic while the book was held (counted where it happened) leaves it usable.
        let mut book = self
            .intel
            .book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, hit) in found {
            let event = &batch[i];
            let indicator = set.get(hit.handle);
            let key = format!(
                "{}\u{1f}{}",
                indicator.feed,
                key_of(&indicator.value.text(), indicator.value.kind().as_str())
            );
            let folded = book.folded(&key, &entity_of(event), event.time, window_ns);
            book.saw(&indicator, event.region, event.time, folded);
            if folded {
                counter!("onewall_intel_folded_total").increment(1);
                continue;
            }
            counter!("onewall_intel_alerts_total").increment(1);
            alerts.push(intel_alert(
                Matched {
                    indicator: &indicator,
                    confidence: hit.confidence,
                    field: hit.field.name(),
                    observed: &hit.observed,
                },
                event,
                now,
                false,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hit_within_the_window_is_folded_and_one_after_it_is_not() {
        let mut b = Book::default();
        let min = 60 * 1_000_000_000;
        let t0 = Timestamp::from_secs(1_000_000);
        assert!(!b.folded("k", "10.0.0.1", t0, 60 * min));
        assert!(b.folded("k", "10.0.0.1", t0.add_secs(59 * 60), 60 * min));
        assert!(!b.folded("k", "10.0.0.2", t0, 60 * min), "another entity");
        assert!(!b.folded("k", "10.0.0.1", t0.add_secs(61 * 60), 60 * min));
        assert!(
            !b.folded("k", "10.0.0.1", t0.add_secs(62 * 60), 0),
            "no window"
        );
    }

    #[test]
    fn the_folding_memory_stays_bounded() {
        let mut b = Book::default();
        let t = Timestamp::from_secs(1_000_000);
        for i in 0..MAX_FOLDS + 10 {
            b.folded(&i.to_string(), "e", t, 1_000_000_000);
        }
        assert!(b.folds.len() <= MAX_FOLDS);
    }
}
