//! The conformance suite every [`Store`] backend passes.
//!
//! Each check is an async function taking a fresh, empty store and panicking with a message
//! that says what broke. A backend's integration test runs them all with
//! [`conformance_tests!`](crate::conformance_tests), given an async factory that returns a
//! guard (kept alive for the test: a temporary directory, a scratch database) and the store:
//!
//! ```text
//! async fn fresh() -> (tempfile::TempDir, SqliteStore) {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = SqliteStore::open(dir.path()).unwrap();
//!     (dir, store)
//! }
//! onewall_store::conformance_tests!(fresh);
//! ```
//!
//! The checks use fixed times in late November 2026 and ids made for those times, so the
//! data is the same on every run.

mod events;
mod find;
mod records;
mod replay;
mod stats;

use onewall_model::event::names;
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, Event, EventId, Format, Incident, IncidentId,
    IncidentStatus, MatchedField, RegionCode, RuleRef, Severity, Source, TimelineEntry,
    TimelineKind, Timestamp,
};

use crate::{AlertQuery, EventQuery, IncidentQuery, Page, Store, StoreError};

pub use events::*;
pub use find::*;
pub use records::*;
pub use replay::*;
pub use stats::*;

/// One `#[tokio::test]` per conformance check, each on a fresh store from `$factory` (an async
/// fn returning `(guard, store)`). The calling crate needs `tokio` with `macros` and
/// `rt-multi-thread`.
///
/// `conformance_tests!(optional $factory)` is the same for a factory returning
/// `Option<(guard, store)>`: a test whose factory returns `None` (a server that is not
/// configured; the factory says so) ends there.
#[macro_export]
macro_rules! conformance_tests {
    (optional $factory:path) => {
        $crate::conformance_tests!(@checks optional $factory);
    };
    ($factory:path) => {
        $crate::conformance_tests!(@checks required $factory);
    };
    (@checks $mode:ident $factory:path) => {
        $crate::conformance_tests!(@each $mode $factory;
            events_round_trip_every_value_kind,
            duplicate_event_ids_are_ignored,
            search_events_by_time_range,
            search_events_by_text,
            search_events_by_text_in_gbk_records,
            search_events_by_common_field,
            search_events_by_common_field_over_interleaved_batches,
            search_events_by_other_field,
            search_events_by_region,
            search_events_pages_across_days,
            search_events_limit_is_clamped,
            find_events_by_exact_values,
            find_events_by_ranges_and_suffixes,
            find_events_pages_and_time_bounds,
            bad_cursors_are_refused,
            drop_events_before_drops_old_days_only,
            stats_count_everything,
            alerts_write_get_and_ignore_duplicates,
            drop_alerts_before_keeps_recent_ones,
            search_alerts_filters_and_pages,
            incidents_upsert_get_and_replace,
            search_incidents_filters_and_pages,
            update_incident_checks_the_change,
            concurrent_incident_updates_are_atomic,
            incident_evidence_grows_shrinks_and_is_replaced,
            a_batch_of_incident_updates_applies_each_in_order,
            replayed_alerts_are_stored_once,
            stats_event_histogram_in_scope,
            stats_event_top_in_scope,
            stats_event_sources,
            stats_alerts_in_scope,
            stats_incidents_in_scope,
            stats_follow_retention_and_refuse_bad_intervals,
        );
    };
    (@each required $factory:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_guard, store) = $factory().await;
                $crate::conformance::$check(&store).await;
            }
        )*
    };
    (@each optional $factory:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((_guard, store)) = $factory().await else {
                    return;
                };
                $crate::conformance::$check(&store).await;
            }
        )*
    };
}

/// Midnight UTC of the suite's main day, 2026-11-28.
pub fn day0() -> Timestamp {
    // 20,785 days after the epoch.
    Timestamp(20_785 * Timestamp::NANOS_PER_DAY)
}

/// A region code the suite knows is valid.
pub fn region(code: u32) -> RegionCode {
    RegionCode::new(code).unwrap_or(RegionCode::HENAN)
}

/// A syslog-shaped event at `time` (received a second later) with `message` as its raw text.
pub fn event(time: Timestamp, message: &str) -> Event {
    let peer = "192.0.2.7:514".parse().ok();
    let mut e = Event::new(
        time.add_secs(1),
        RegionCode::HENAN,
        Source::new("syslog_udp", peer),
        message.as_bytes(),
    );
    e.time = time;
    e.format = Format::Rfc3164;
    e.fields.insert(names::MESSAGE, message);
    e
}

/// An alert of `rule` at `time`.
pub fn alert(time: Timestamp, rule: &str, severity: Severity, region: RegionCode) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::new(time),
        time,
        created: time.add_secs(2),
        rule: RuleRef {
            id: rule.to_owned(),
            title: format!("rule {rule}"),
            level: severity,
            status: Some("test".to_owned()),
            tags: vec!["attack.t1110.001".to_owned()],
        },
        severity,
        event_ids: vec![EventId::new(time), EventId::new(time)],
        entities: vec![Entity::new(EntityKind::SourceIp, "10.0.0.1")],
        region,
        matched: vec![MatchedField {
            field: "event.action".to_owned(),
            value: "login".to_owned(),
            selection: Some("selection".to_owned()),
        }],
        drill: None,
    }
}

/// A new incident last updated at `updated`, seen from an hour before.
pub fn incident(updated: Timestamp, severity: Severity, region: RegionCode) -> Incident {
    let first = updated.add_secs(-3600);
    Incident {
        targets: Vec::new(),
        id: IncidentId::new(first),
        title: "brute force against web01".to_owned(),
        status: IncidentStatus::New,
        severity,
        group_key: format!("ssh-brute:{}", updated.0),
        region,
        regions: vec![region],
        assignee: None,
        team: Some("soc".to_owned()),
        entities: vec![Entity::new(EntityKind::Host, "web01")],
        alert_ids: vec![AlertId::new(first)],
        rule_ids: vec!["ssh-brute".to_owned()],
        first_seen: first,
        last_seen: updated,
        created: first,
        updated,
        parent: None,
        children: Vec::new(),
        classification: Default::default(),
        timeline: vec![TimelineEntry {
            at: first,
            actor: "correlator".to_owned(),
            change: TimelineKind::Created,
        }],
        drill: None,
    }
}

/// Refuse to loop forever on a backend whose cursors never end.
const MAX_PAGES: usize = 10_000;

/// Every event a query finds, following cursors; also the number of pages read.
pub async fn all_events(store: &dyn Store, mut q: EventQuery) -> (Vec<Event>, usize) {
    let mut out = Vec::new();
    for pages in 1..=MAX_PAGES {
        let Page { items, next_cursor } = store
            .search_events(q.clone())
            .await
            .unwrap_or_else(|e| panic!("search_events {q:?}: {e}"));
        assert!(
            items.len() <= crate::effective_limit(q.limit),
            "a page holds at most the limit"
        );
        out.extend(items);
        match next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return (out, pages),
        }
    }
    panic!("search_events never stopped returning cursors")
}

/// Every alert a query finds, following cursors.
pub async fn all_alerts(store: &dyn Store, mut q: AlertQuery) -> Vec<Alert> {
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = store
            .search_alerts(q.clone())
            .await
            .unwrap_or_else(|e| panic!("search_alerts {q:?}: {e}"));
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
    panic!("search_alerts never stopped returning cursors")
}

/// Every incident a query finds, following cursors.
pub async fn all_incidents(store: &dyn Store, mut q: IncidentQuery) -> Vec<Incident> {
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = store
            .search_incidents(q.clone())
            .await
            .unwrap_or_else(|e| panic!("search_incidents {q:?}: {e}"));
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
    panic!("search_incidents never stopped returning cursors")
}

/// Events as the store must order them: time, then id, descending.
pub fn newest_first(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| std::cmp::Reverse((e.time, e.id)));
    events
}

/// The ids of some events, to compare orders with readable failures.
pub fn event_ids(events: &[Event]) -> Vec<EventId> {
    events.iter().map(|e| e.id).collect()
}

/// Assert that `res` is an [`StoreError::InvalidQuery`] about a cursor.
pub fn assert_invalid_cursor<T: std::fmt::Debug>(what: &str, res: crate::Result<T>) {
    match res {
        Err(StoreError::InvalidQuery(m)) if m.starts_with("invalid cursor") => {}
        other => panic!("{what}: expected an invalid cursor error, got {other:?}"),
    }
}

/// Write events, panicking with the backend's error.
pub async fn write(store: &dyn Store, events: Vec<Event>) {
    store
        .write_events(events)
        .await
        .unwrap_or_else(|e| panic!("write_events: {e}"));
}
