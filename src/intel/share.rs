//! Indicators and sightings across levels, over the federation's push and reply
//! (`onewall_federation::intel`): a parent shares what TLP lets go to each child, a child
//! holds what it read in the `parent` feed and reports its sightings up.
//!
//! - **Parent**: the shared set is every indicator in use and not expired, in the set's
//!   order, as `SharedIndicator` (the valid-until a feed's lifetime gives is written out, so a
//!   child expires it when the parent would). Its version changes whenever the set does
//!   (the node's start time plus the set's generation), so a child that holds an older
//!   version reads the new one from its start. The list is made once per version and kind
//!   of child (same organisation or not) and kept while the version lasts.
//! - **Child**: pages accumulate until the whole version is read, then replace the `parent`
//!   feed (kept in `intel.sqlite` like any feed; its new indicators get their retro-hunt and
//!   receipt like a pull's). What the parent no longer shares is gone from it then.
//! - **Sightings** go up every [`REPORT_EVERY`]: those whose count changed since the last
//!   report, with their totals; a parent keeps each child region's totals as reported
//!   (merged into its own sightings, so a city reports its counties' too).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onewall_federation::{Federation, IntelExchange};
use onewall_intel::set::IndicatorFilter;
use onewall_intel::{Indicator, IntelSet};
use onewall_model::intel::{IntelPage, IntelSync, SharedIndicator, SightingReport, may_share_down};
use onewall_model::{RegionCode, Timestamp};
use tokio::sync::watch;
use tracing::{info, warn};

use super::Intel;

/// The feed a child holds its parent's shared indicators in.
pub const PARENT_FEED: &str = onewall_intel::config::PARENT_FEED;

/// How often a child reports its changed sightings to its parent.
pub const REPORT_EVERY: Duration = Duration::from_secs(5);

/// The node's side of the federation's intelligence exchange.
#[derive(Debug)]
pub struct Share {
    intel: Arc<Intel>,
    /// Stands for this run of the node in the shared set's versions.
    started: u64,
    /// The shared lists made, by (version, same organisation).
    lists: Mutex<Vec<SharedList>>,
    /// Child: the version being read and what was read of it.
    reading: Mutex<Reading>,
}

/// A shared list: its version, whether for a child of this organisation, the indicators.
type SharedList = (u64, bool, Arc<Vec<SharedIndicator>>);

#[derive(Debug, Default)]
struct Reading {
    sync: IntelSync,
    staged: Vec<Indicator>,
}

impl Share {
    pub fn new(intel: Arc<Intel>) -> Arc<Share> {
        // Microseconds of the start, shifted so that a set's generations (one per change)
        // never reach the next start's versions.
        let started = (Timestamp::now().nanos() / 1_000).max(1) as u64;
        Arc::new(Share {
            intel,
            started: started << 8,
            lists: Mutex::new(Vec::new()),
            reading: Mutex::new(Reading::default()),
        })
    }

    fn version(&self) -> u64 {
        self.started.wrapping_add(self.intel.generation())
    }

    /// The shared list of `version` for a child of the same organisation or not.
    fn list(&self, version: u64, same: bool) -> Arc<Vec<SharedIndicator>> {
        let mut lists = match self.lists.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        if let Some((_, _, l)) = lists.iter().find(|(v, s, _)| *v == version && *s == same) {
            return l.clone();
        }
        let list = Arc::new(shared_list(&self.intel.current(), same, Timestamp::now()));
        lists.retain(|(v, _, _)| *v == version);
        lists.push((version, same, list.clone()));
        list
    }

    /// Child: the whole version has been read; it replaces the `parent` feed.
    fn swap_in(&self, indicators: Vec<Indicator>) {
        let intel = self.intel.clone();
        tokio::spawn(async move {
            let got = indicators.len();
            match intel.replace(PARENT_FEED, indicators).await {
                Ok(new) => {
                    info!(
                        indicators = got,
                        new = new.len(),
                        "intel: the parent's shared indicators are in use"
                    );
                    if !new.is_empty() {
                        let receipt = super::hub::Receipt::new(PARENT_FEED, got, &new, &[]);
                        intel.after_change(receipt, new).await;
                    }
                }
                Err(e) => {
                    warn!(error = %format!("{e:#}"), "intel: the parent's shared indicators were not kept")
                }
            }
        });
    }
}

/// Every indicator of `set` in use at `now` that TLP lets go to a child (`same`: of this
/// node's organisation), with the valid-until its feed's lifetime gives written out.
fn shared_list(set: &IntelSet, same: bool, now: Timestamp) -> Vec<SharedIndicator> {
    let filter = IndicatorFilter::default();
    let mut out = Vec::new();
    for h in set.iter_filtered(&filter) {
        let Some(ind) = set.try_get(h) else { continue };
        if !may_share_down(ind.tlp, same) {
            continue;
        }
        let mut shared = ind.to_shared();
        if shared.valid_until.is_none()
            && let Some((policy, loaded)) = set.feed_policy(&ind.feed)
            && let Some(life) = policy.lifetime
        {
            let start = ind.valid_from.unwrap_or(loaded);
            shared.valid_until = Some(start.add_secs(life.as_secs() as i64));
        }
        if shared.valid_until.is_some_and(|u| u <= now) {
            continue;
        }
        out.push(shared);
    }
    out
}

impl IntelExchange for Share {
    fn page_for(&self, sync: IntelSync, same: bool, limit: usize) -> Option<IntelPage> {
        let version = self.version();
        let from = if sync.version == version {
            sync.next
        } else {
            0
        };
        let list = self.list(version, same);
        let total = list.len() as u64;
        if sync.version == version && from >= total {
            return None;
        }
        let indicators = list
            .iter()
            .skip(from as usize)
            .take(limit)
            .cloned()
            .collect();
        Some(IntelPage {
            version,
            from,
            total,
            indicators,
        })
    }

    fn sync(&self) -> IntelSync {
        match self.reading.lock() {
            Ok(r) => r.sync,
            Err(p) => p.into_inner().sync,
        }
    }

    fn received(&self, page: IntelPage) {
        let mut r = match self.reading.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        if page.from == 0 {
            r.sync = IntelSync {
                version: page.version,
                next: 0,
            };
            r.staged.clear();
        } else if page.version != r.sync.version || page.from != r.sync.next {
            // Out of step (a page lost in a failed push): read the version again.
            r.sync = IntelSync::default();
            r.staged.clear();
            return;
        }
        r.sync.next = page.from + page.indicators.len() as u64;
        for s in page.indicators {
            let value = s.value.clone();
            match Indicator::from_shared(s, PARENT_FEED) {
                Ok(i) => r.staged.push(i),
                Err(e) => {
                    warn!(%value, error = %e, "intel: a shared indicator from the parent does not read")
                }
            }
        }
        if r.sync.next >= page.total {
            let all = std::mem::take(&mut r.staged);
            drop(r);
            self.swap_in(all);
        }
    }

    fn sightings(&self, via: RegionCode, mut reports: Vec<SightingReport>) {
        // Named before the book is locked: the detect stage takes that lock every batch.
        let set = self.intel.current();
        for r in &mut reports {
            if r.feed == PARENT_FEED
                && let Some(feed) = own_feed(&set, r)
            {
                r.feed = feed;
            }
        }
        if let Ok(mut book) = self.intel.book.lock() {
            book.reported(via, reports);
        }
    }
}

/// The feed of this node's set holding a reported indicator (a child holds what this node
/// shared in its `parent` feed), if one does: looked up by value where its kind is one an
/// event field matches, else (a range) found by a scan.
fn own_feed(set: &IntelSet, r: &SightingReport) -> Option<String> {
    use onewall_intel::fields::FieldClass;
    use onewall_model::IndicatorKind as K;
    let same =
        |i: &Indicator| i.value.kind() == r.kind && i.value.text().eq_ignore_ascii_case(&r.value);
    let class = match r.kind {
        K::Ip => Some(FieldClass::Address),
        K::Domain | K::DomainTree => Some(FieldClass::Domain),
        K::Url => Some(FieldClass::Url),
        K::Md5 | K::Sha1 | K::Sha256 | K::Sm3 => Some(FieldClass::Hash),
        K::Email => Some(FieldClass::Email),
        K::Cidr => None,
    };
    let looked_up = class.and_then(|c| {
        set.lookup(c, &r.value, Timestamp::now())
            .into_iter()
            .filter_map(|h| set.try_get(h.handle))
            .find(same)
    });
    let found = looked_up.or_else(|| {
        let filter = IndicatorFilter {
            kind: Some(r.kind),
            feed: None,
            prefix: Some(r.value.clone()),
        };
        set.iter_filtered(&filter)
            .filter_map(|h| set.try_get(h))
            .find(same)
    });
    found.map(|i| i.feed)
}

/// Child: report the sightings that changed since the last report, every [`REPORT_EVERY`],
/// until shutdown.
pub fn start_reports(
    intel: Arc<Intel>,
    federation: Arc<Federation>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sent: std::collections::HashMap<(String, String, RegionCode), u64> =
            std::collections::HashMap::new();
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => break,
                _ = tokio::time::sleep(REPORT_EVERY) => {}
            }
            let all = match intel.book.lock() {
                Ok(b) => b.sightings(),
                Err(_) => continue,
            };
            let changed: Vec<SightingReport> = all
                .into_iter()
                .filter(|s| {
                    let k = (s.kind.as_str().to_owned(), s.value.clone(), s.region);
                    sent.insert(k, s.count) != Some(s.count)
                })
                .map(|s| SightingReport {
                    value: s.value,
                    kind: s.kind,
                    feed: s.feed,
                    region: s.region,
                    count: s.count,
                    first_seen: s.first_seen,
                    last_seen: s.last_seen,
                })
                .collect();
            federation.report_sightings(changed).await;
        }
    })
}
