//! The retro-hunt: when indicators arrive, the stored history is searched for them.
//!
//! [`retro_hunt`] turns the new indicators into one store query by their kind onto the checked
//! fields of the matching class (addresses and ranges onto address fields, domains and domain
//! trees onto domain fields, hashes onto hash fields, ...; see [`value_query`]), reads the
//! store's pages newest first within a budget of events read and time spent, checks every
//! event found with the same matcher as ingest (an [`IntelSet`] of the new indicators), and
//! makes intel alerts marked `intel.retro: true` at the events' own time. Their ids come from
//! the event and the indicator, so a second hunt raises nothing new: alerts already stored
//! are left out. [`deliver`] stores, publishes and correlates them like the pipeline's.
//!
//! Only the binary's own crates and tokio are used here, so the integration test reads this
//! file as a module of its own.

use std::net::IpAddr;
use std::time::Duration;

use onewall_intel::alert::{Sighting, intel_alert};
use onewall_intel::fields::{FieldClass, MatchFields};
use onewall_intel::{Indicator, IntelSet, Observable};
use onewall_model::bus::{AlertOrigin, NodeEvent, NodeEvents};
use onewall_model::{Alert, Timestamp};
use onewall_store::stats::{StatsKind, StatsQuery};
use onewall_store::{Store, StoreError, ValueQuery};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What one retro-hunt may cost: it stops at whichever comes first, saying so in its receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetroBudget {
    /// Most events the store may return (candidates, before the matcher confirms them).
    pub max_events: u64,
    /// Most time spent.
    pub max_time: Duration,
}

impl Default for RetroBudget {
    fn default() -> Self {
        RetroBudget {
            max_events: 1_000_000,
            max_time: Duration::from_secs(300),
        }
    }
}

/// What a retro-hunt did (shown in the API under its import's id).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetroReceipt {
    /// New indicators searched for.
    pub indicators: usize,
    /// Days of history searched (`[intel] lookback_days`).
    pub days: u32,
    /// Events stored in the part of the history searched (from the stores' counts by the
    /// minute).
    pub events_searched: u64,
    /// Events the store found holding a value searched for (read and checked).
    pub events_read: u64,
    /// Events the matcher confirmed.
    pub hits: u64,
    /// New alerts made (those stored by an earlier hunt left out).
    pub alerts: usize,
    pub elapsed_ms: u64,
    /// True when the budget stopped the hunt before the history's start.
    pub truncated: bool,
    /// How far back the hunt got: the window's start, or where the budget stopped it.
    pub searched_from: Timestamp,
    pub started: Timestamp,
    pub finished: Timestamp,
    /// Why the hunt ended early, when the store failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The first and last address of a range.
fn range_bounds(net: IpAddr, prefix: u8) -> (IpAddr, IpAddr) {
    match net {
        IpAddr::V4(a) => {
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            (net, IpAddr::V4((u32::from(a) | host).into()))
        }
        IpAddr::V6(a) => {
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            (net, IpAddr::V6((u128::from(a) | host).into()))
        }
    }
}

/// The values of the new indicators, by what they are matched as.
#[derive(Debug, Default)]
struct Wanted {
    addresses: Vec<String>,
    ranges: Vec<(IpAddr, IpAddr)>,
    domains: Vec<String>,
    trees: Vec<String>,
    /// What a URL field is searched for: the hosts of URL indicators, the domains and the
    /// addresses (a URL's host matches them; the matcher confirms).
    url_parts: Vec<String>,
    hashes: Vec<String>,
    emails: Vec<String>,
}

impl Wanted {
    fn of(new: &[Indicator]) -> Wanted {
        let mut w = Wanted::default();
        for ind in new {
            match &ind.value {
                Observable::Ip(a) => {
                    w.addresses.push(a.to_string());
                    w.url_parts.push(a.to_string());
                }
                Observable::Cidr(net, prefix) => w.ranges.push(range_bounds(*net, *prefix)),
                Observable::Domain(d) => {
                    w.domains.push(d.clone());
                    w.url_parts.push(d.clone());
                }
                Observable::DomainTree(d) => {
                    w.trees.push(d.clone());
                    w.url_parts.push(d.clone());
                }
                Observable::Url(u) => match url_host(u) {
                    "" => w.url_parts.push(u.clone()),
                    host => w.url_parts.push(host.to_owned()),
                },
                Observable::Md5(h)
                | Observable::Sha1(h)
                | Observable::Sha256(h)
                | Observable::Sm3(h) => w.hashes.push(h.clone()),
                Observable::Email(e) => w.emails.push(e.clone()),
            }
        }
        w
    }
}

/// The host of a URL (`http://user@Host:8080/x` → `Host`, `[2001:db8::1]` → `2001:db8::1`).
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host_port.split(':').next().unwrap_or(host_port),
    }
}

/// The store query finding the events that may hold one of `new` on `fields` (the matcher
/// then decides): each indicator's value on the fields of the class that matches its kind.
/// `None` when no checked field can hold any of them.
pub fn value_query(new: &[Indicator], fields: &MatchFields) -> Option<ValueQuery> {
    let w = Wanted::of(new);
    let mut q = ValueQuery::default();
    let mut exact = |name: &str, values: &[String]| {
        if !values.is_empty() {
            q.exact.push((name.to_owned(), values.to_vec()));
        }
    };
    let mut ranges = Vec::new();
    let mut suffixes = Vec::new();
    let mut contains = Vec::new();
    for &(id, class) in fields.fields() {
        let name = id.name();
        match class {
            FieldClass::Address => {
                exact(name, &w.addresses);
                ranges.extend(w.ranges.iter().map(|&(lo, hi)| (name.to_owned(), lo, hi)));
            }
            FieldClass::Domain => {
                exact(name, &w.domains);
                if !w.trees.is_empty() {
                    suffixes.push((name.to_owned(), w.trees.clone()));
                }
            }
            // A URL matches by its whole text or its host: every match holds a part.
            FieldClass::Url if !w.url_parts.is_empty() => {
                contains.push((name.to_owned(), w.url_parts.clone()));
            }
            FieldClass::Url => {}
            FieldClass::Hash => exact(name, &w.hashes),
            FieldClass::Email => exact(name, &w.emails),
        }
    }
    q.ip_ranges = ranges;
    q.suffixes = suffixes;
    q.contains = contains;
    (!q.is_empty()).then_some(q)
}

/// The matcher of the new indicators alone, each feed's under its name.
fn set_of(new: &[Indicator]) -> IntelSet {
    let mut by_feed: Vec<(&str, Vec<Indicator>)> = Vec::new();
    for ind in new {
        match by_feed.iter_mut().find(|(f, _)| *f == ind.feed) {
            Some((_, v)) => v.push(ind.clone()),
            None => by_feed.push((&ind.feed, vec![ind.clone()])),
        }
    }
    by_feed
        .into_iter()
        .fold(IntelSet::default(), |set, (feed, inds)| {
            set.with_feed(feed, inds)
        })
}

/// Search the last `lookback_days` of `store` (before `now`) for the `new` indicators on
/// `fields`, within `budget`; the new alerts (newest event first) and the receipt. A store
/// failure ends the hunt with what was found so far, the error in the receipt.
pub async fn retro_hunt(
    store: &dyn Store,
    new: &[Indicator],
    fields: &MatchFields,
    lookback_days: u32,
    budget: RetroBudget,
    now: Timestamp,
) -> (Vec<Alert>, RetroReceipt) {
    let clock = Instant::now();
    let from = now.add_secs(-i64::from(lookback_days) * 86_400);
    let mut receipt = RetroReceipt {
        indicators: new.len(),
        days: lookback_days,
        events_searched: 0,
        events_read: 0,
        hits: 0,
        alerts: 0,
        elapsed_ms: 0,
        truncated: false,
        searched_from: from,
        started: now,
        finished: now,
        error: None,
    };
    let mut alerts = Vec::new();
    if let Some(mut q) = value_query(new, fields) {
        q.from = Some(from);
        q.to = Some(now);
        q.limit = onewall_store::MAX_LIMIT;
        let set = set_of(new);
        let hunt = Hunt {
            store,
            set: &set,
            fields,
            budget,
            clock,
        };
        if let Err(e) = hunt.run(q, &mut alerts, &mut receipt).await {
            tracing::warn!(error = %e, "retro-hunt stopped by a store failure");
            receipt.error = Some(e.to_string());
        }
        alerts = unseen(store, alerts).await;
    }
    receipt.alerts = alerts.len();
    receipt.events_searched = events_between(store, receipt.searched_from, now).await;
    receipt.elapsed_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    receipt.finished = Timestamp(
        now.0
            .saturating_add(i64::try_from(clock.elapsed().as_nanos()).unwrap_or(i64::MAX)),
    );
    (alerts, receipt)
}

/// What a hunt reads with and checks against.
struct Hunt<'a> {
    store: &'a dyn Store,
    set: &'a IntelSet,
    fields: &'a MatchFields,
    budget: RetroBudget,
    clock: Instant,
}

/// How much history one store search covers: a day, so the budget is checked between days
/// (a day holding no hit is one search) and no read holds the store for the whole window.
const WINDOW_SECS: i64 = 86_400;

impl Hunt<'_> {
    /// Search `q`'s time range a day at a time from the newest, until the history or the
    /// budget ends, matching each event found.
    async fn run(
        &self,
        q: ValueQuery,
        alerts: &mut Vec<Alert>,
        receipt: &mut RetroReceipt,
    ) -> Result<(), StoreError> {
        let (Some(from), Some(to)) = (q.from, q.to) else {
            return Ok(());
        };
        receipt.searched_from = to;
        let mut top = to;
        while top > from {
            let bottom = Timestamp(top.add_secs(-WINDOW_SECS).0.max(from.0));
            let window = ValueQuery {
                from: Some(bottom),
                to: Some(top),
                cursor: None,
                ..q.clone()
            };
            if !self.window(window, alerts, receipt).await? {
                receipt.truncated = true;
                return Ok(());
            }
            receipt.searched_from = bottom;
            top = bottom;
        }
        Ok(())
    }

    /// Read one window's pages; `false` when the budget ran out first.
    async fn window(
        &self,
        mut q: ValueQuery,
        alerts: &mut Vec<Alert>,
        receipt: &mut RetroReceipt,
    ) -> Result<bool, StoreError> {
        let mut hits = Vec::new();
        loop {
            let budget = self.budget;
            if receipt.events_read >= budget.max_events || self.clock.elapsed() >= budget.max_time {
                return Ok(false);
            }
            let left =
                usize::try_from(budget.max_events - receipt.events_read).unwrap_or(usize::MAX);
            q.limit = onewall_store::MAX_LIMIT.min(left).max(1);
            let page = self.store.find_events(q.clone()).await?;
            for event in &page.items {
                receipt.events_read += 1;
                receipt.searched_from = event.time;
                hits.clear();
                self.set
                    .match_event(event, self.fields, receipt.started, &mut hits);
                if !hits.is_empty() {
                    receipt.hits += 1;
                }
                for hit in &hits {
                    let indicator = self.set.get(hit.handle);
                    let sighting = Sighting {
                        indicator: &indicator,
                        confidence: hit.confidence,
                        field: hit.field.name(),
                        observed: &hit.observed,
                    };
                    alerts.push(intel_alert(sighting, event, receipt.started, true));
                }
            }
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => return Ok(true),
            }
        }
    }
}

/// The alerts not stored yet (a hunt run again finds the same events and makes the same ids).
async fn unseen(store: &dyn Store, alerts: Vec<Alert>) -> Vec<Alert> {
    let mut out = Vec::with_capacity(alerts.len());
    for a in alerts {
        match store.get_alert(a.id).await {
            Ok(Some(_)) => {}
            // Unknown, or the store cannot say: kept (writing it again is harmless).
            _ => out.push(a),
        }
    }
    out
}

/// Events stored with times in `[from, to)`, from the stores' counts (0 when they fail).
async fn events_between(store: &dyn Store, from: Timestamp, to: Timestamp) -> u64 {
    if from >= to {
        return 0;
    }
    // Whole days from the start, so a month is well under the histogram's bucket limit.
    let q = StatsQuery::new(StatsKind::Events, from, to);
    match store.stats_histogram(q, 86_400).await {
        Ok(h) => h.buckets.iter().sum(),
        Err(e) => {
            tracing::warn!(error = %e, "retro-hunt: counting the events searched failed");
            0
        }
    }
}

/// Deliver a retro-hunt's alerts like the pipeline's: store them, publish them on the node
/// event bus (origin [`AlertOrigin::RetroHunt`]: playbooks, the federation uplink and the live
/// stream hear of them), then hand them to the correlator through `correlator` (the
/// pipeline's channel of stored alerts, see [`correlator_feed`]) so they join incidents.
pub async fn deliver(
    store: &dyn Store,
    bus: &NodeEvents,
    correlator: Option<&mpsc::Sender<Vec<Alert>>>,
    alerts: Vec<Alert>,
) -> Result<(), StoreError> {
    if alerts.is_empty() {
        return Ok(());
    }
    store.write_alerts(alerts.clone()).await?;
    bus.publish(NodeEvent::AlertsStored {
        alerts: alerts.clone(),
        origin: AlertOrigin::RetroHunt,
    })
    .await;
    if let Some(tx) = correlator
        && tx.send(alerts).await.is_err()
    {
        tracing::warn!("retro-hunt alerts not correlated: the pipeline has stopped");
    }
    Ok(())
}

/// The pipeline's channel of stored alerts for the correlator (`Wiring::remote`), fed by
/// both the federation (`remote`, the alerts its gate releases) and the retro-hunt: the
/// returned sender is the retro-hunt's, the receiver goes to the pipeline. The forwarding
/// task ends when the federation's sender is dropped.
pub fn correlator_feed(
    mut remote: mpsc::Receiver<Vec<Alert>>,
) -> (mpsc::Sender<Vec<Alert>>, mpsc::Receiver<Vec<Alert>>) {
    let (tx, rx) = mpsc::channel(64);
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(alerts) = remote.recv().await {
            if forward.send(alerts).await.is_err() {
                return;
            }
        }
    });
    (tx, rx)
}
