//! What periodic reports read from the node beyond the store and the supervision book
//! ([`ReportSources`]): the `[sla]` targets, the daily (zero) reports the children sent (the
//! playbooks' report book: on time when received by the day's deadline, the report time plus
//! `grace`), the findings whose deadline fell in the span (the asset book, when `[assets]` is
//! on), and the sources silent at the end of the span (the playbooks' outbox keeps each
//! source's last event).
//!
//! The trait is synchronous; its reads are small SQLite queries and in-memory scans, done in
//! place on a multi-threaded runtime (`block_in_place`), so the runtime's other tasks move on.

use std::sync::Arc;

use onewall_api::reports::ReportDesk;
use onewall_model::bus::SourceSeen;
use onewall_model::{RegionCode, Timestamp};
use onewall_playbooks::Outbox;
use onewall_supervise::report::{
    FindingFigures, ReportScope, ReportSources, SlaTargets, Span, ZeroReportRow,
};

use crate::config::Resolved;

/// The node's report sources.
pub struct NodeSources {
    sla: SlaTargets,
    /// The children's daily reports received, and when each was due.
    desk: Option<ReportDesk>,
    /// The sources' last events.
    outbox: Option<Outbox>,
    /// Hours without events after which a source is silent.
    silent_hours: i64,
    assets: Option<Arc<crate::assets::Assets>>,
}

impl NodeSources {
    /// Over what the node runs: its report desk and outbox when `[playbooks]` is on, its
    /// assets when `[assets]` is.
    pub fn new(
        r: &Resolved,
        desk: Option<&ReportDesk>,
        outbox: Option<Outbox>,
        assets: Option<Arc<crate::assets::Assets>>,
    ) -> NodeSources {
        NodeSources {
            sla: sla_targets(r),
            desk: desk.map(|d| ReportDesk {
                book: d.book.clone(),
                expected: d.expected.clone(),
                schedule: d.schedule,
                grace: d.grace,
            }),
            outbox,
            silent_hours: i64::from(r.config.playbooks.report.silent_hours.max(1)),
            assets,
        }
    }
}

/// The `[sla]` acknowledgement targets by grade, in seconds.
pub fn sla_targets(r: &Resolved) -> SlaTargets {
    let policy = crate::config::access::sla_policy(&r.config.sla);
    let mut t = SlaTargets::default();
    for (slot, minutes) in t.ack_secs.iter_mut().zip(policy.grade_minutes) {
        *slot = Some(minutes * 60);
    }
    t
}

/// Run a blocking read without stalling a multi-threaded runtime's other tasks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Is `region` inside the scope's subtree?
fn in_scope(scope: &ReportScope, region: RegionCode) -> bool {
    scope.regions.contains(&region) || region == scope.region
}

impl ReportSources for NodeSources {
    fn sla(&self) -> SlaTargets {
        self.sla.clone()
    }

    fn zero_reports(&self, span: &Span, scope: &ReportScope) -> Vec<ZeroReportRow> {
        let Some(desk) = &self.desk else {
            return Vec::new();
        };
        let children: Vec<RegionCode> = desk
            .expected
            .iter()
            .copied()
            .filter(|c| *c != scope.region && in_scope(scope, *c))
            .collect();
        if children.is_empty() {
            return Vec::new();
        }
        let now = Timestamp::now();
        blocking(|| zero_report_rows(desk, span, &children, now))
    }

    fn findings(&self, span: &Span, scope: &ReportScope) -> Vec<FindingFigures> {
        let Some(assets) = &self.assets else {
            return Vec::new();
        };
        blocking(|| finding_figures(assets, span, scope))
    }

    fn silent_sources(&self, scope: &ReportScope) -> Vec<SourceSeen> {
        let Some(outbox) = &self.outbox else {
            return Vec::new();
        };
        let sources = match blocking(|| outbox.sources()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "periodic report: the sources' activity is unreadable");
                return Vec::new();
            }
        };
        let cut = Timestamp::now().add_secs(-self.silent_hours * 3600);
        sources
            .into_iter()
            .filter(|s| in_scope(scope, s.region) && s.last_seen < cut)
            .collect()
    }
}

/// Each child's daily reports of the days whose report fell due in the span and whose
/// deadline has passed (and that this node was already expecting): on time, late, missing.
fn zero_report_rows(
    desk: &ReportDesk,
    span: &Span,
    children: &[RegionCode],
    now: Timestamp,
) -> Vec<ZeroReportRow> {
    let since = desk.book.watching_since(now).unwrap_or(now);
    let mut rows: Vec<ZeroReportRow> = children
        .iter()
        .map(|c| ZeroReportRow {
            region: *c,
            expected: 0,
            on_time: 0,
            late: 0,
            missing: 0,
        })
        .collect();
    let grace = desk.grace_secs();
    // The first report due at or after the span's start.
    let mut due = desk.schedule.last_due(span.from);
    if due < span.from {
        due = due.add_secs(86_400);
    }
    while due < span.to {
        let deadline = due.add_secs(grace);
        if deadline <= now && deadline >= since {
            let day = desk.schedule.date_of(due);
            let received = desk.book.day(&day).unwrap_or_default();
            for row in &mut rows {
                row.expected += 1;
                match received.iter().find(|r| r.region == row.region) {
                    Some(r) if r.received_at <= deadline => row.on_time += 1,
                    Some(_) => row.late += 1,
                    None => row.missing += 1,
                }
            }
        }
        due = due.add_secs(86_400);
    }
    rows
}

/// Per region of the scope: the findings whose deadline fell in the span, those fixed by it,
/// those not.
fn finding_figures(
    assets: &crate::assets::Assets,
    span: &Span,
    scope: &ReportScope,
) -> Vec<FindingFigures> {
    let now = Timestamp::now();
    let book = assets.lock_book();
    let mut by_region: std::collections::BTreeMap<RegionCode, FindingFigures> =
        std::collections::BTreeMap::new();
    for f in book.findings() {
        if f.deadline < span.from || f.deadline >= span.to {
            continue;
        }
        let sys = book.system_of(&f.host);
        let region = sys.map_or(assets.region, |s| s.region);
        if !in_scope(scope, region) {
            continue;
        }
        if let Some(dept) = &scope.department
            && sys.is_none_or(|s| &s.department != dept)
        {
            continue;
        }
        let row = by_region.entry(region).or_insert(FindingFigures {
            region,
            due: 0,
            fixed_on_time: 0,
            overdue: 0,
        });
        row.due += 1;
        match f.fixed_at {
            Some(t) if t <= f.deadline => row.fixed_on_time += 1,
            _ if f.deadline <= now => row.overdue += 1,
            // Due later in a span not yet over: neither yet.
            _ => {}
        }
    }
    by_region.into_values().collect()
}
