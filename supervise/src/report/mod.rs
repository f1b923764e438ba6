//! Periodic reports (周报, 月报, 年度安全评价报告) per region and department, from the data:
//! incidents by grade and category, mean time to acknowledge and to resolve, SLA adherence,
//! zero-report punctuality, bulletin response rates, findings fixed on time, silent sources,
//! top attackers and rules, and a score per child region by the formula of
//! `[supervise.score]` ([`score`]). Drill alerts and incidents are left out. Built by a pure
//! function ([`build`]) from what [`Supervision::periodic_report`] gathers from the store, the
//! bulletins, and what the node supplies through [`ReportSources`]. (Helper h3.)

use onewall_model::bus::SourceSeen;
use onewall_model::{Alert, Incident, RegionCode, Timestamp};
use serde::{Deserialize, Serialize};

use crate::bulletin::BulletinView;
use crate::bulletins::BulletinQuery;
use crate::{Result, SuperviseError, Supervision, db};

mod build;
mod kept;
mod render;
mod span;
mod store;

pub use build::{TOP, build, category_zh, score};

/// The kinds of periodic report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Weekly,
    Monthly,
    Annual,
}

impl ReportKind {
    /// `weekly`, `monthly`, `annual`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Weekly => "weekly",
            ReportKind::Monthly => "monthly",
            ReportKind::Annual => "annual",
        }
    }

    /// Parse `weekly`, `monthly`, `annual`.
    pub fn parse(s: &str) -> Option<ReportKind> {
        match s {
            "weekly" => Some(ReportKind::Weekly),
            "monthly" => Some(ReportKind::Monthly),
            "annual" => Some(ReportKind::Annual),
            _ => None,
        }
    }
}

/// The time a report covers: an ISO week (`2026-W49`), a month (`2026-12`) or a year
/// (`2026`), in the reports' offset, as `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub kind: ReportKind,
    pub label: String,
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Span {
    /// The span `label` names (`2026-W49`, `2026-12`, `2026`), checked against `kind`.
    pub fn parse(kind: ReportKind, label: &str, offset: time::UtcOffset) -> Result<Span> {
        span::parse(kind, label, offset)
    }

    /// The last whole span of `kind` ended at or before `now`.
    pub fn last_complete(kind: ReportKind, now: Timestamp, offset: time::UtcOffset) -> Span {
        span::last_complete(kind, now, offset)
    }

    /// The span after this one.
    pub fn next(&self, offset: time::UtcOffset) -> Span {
        span::last_complete(self.kind, span::following(self, offset), offset)
    }
}

/// Whose figures: a region's subtree (the regions' codes resolved), optionally one department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportScope {
    pub region: RegionCode,
    pub department: Option<String>,
    /// The region and every region of its subtree the node knows.
    pub regions: Vec<RegionCode>,
}

/// SLA targets by grade, in seconds to acknowledge (index 0 = Ⅰ ... 3 = Ⅳ); the node's
/// `[sla]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlaTargets {
    pub ack_secs: [Option<i64>; 4],
}

/// One child region's daily zero reports in the span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZeroReportRow {
    pub region: RegionCode,
    pub expected: u32,
    pub on_time: u32,
    pub late: u32,
    pub missing: u32,
}

/// Findings figures of the span (when the node keeps assets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingFigures {
    pub region: RegionCode,
    /// Findings whose deadline fell in the span.
    pub due: u32,
    pub fixed_on_time: u32,
    pub overdue: u32,
}

/// What only the node knows (the daily reports its children sent, `[sla]`, the asset book,
/// the sources it hears).
pub trait ReportSources: Send + Sync {
    /// The SLA targets.
    fn sla(&self) -> SlaTargets;
    /// The daily zero reports of the child regions in `scope` during `span`.
    fn zero_reports(&self, span: &Span, scope: &ReportScope) -> Vec<ZeroReportRow>;
    /// Findings fixed on time per region of `scope` (empty when the node keeps no assets).
    fn findings(&self, span: &Span, scope: &ReportScope) -> Vec<FindingFigures>;
    /// Sources of `scope` silent at the end of the span.
    fn silent_sources(&self, scope: &ReportScope) -> Vec<SourceSeen>;
}

/// Everything a report is computed from.
#[derive(Debug, Clone, Default)]
pub struct ReportData {
    /// Incidents opened in the span (drills included: [`build`] leaves them out).
    pub incidents: Vec<Incident>,
    /// Alerts of the span (drills included: [`build`] leaves them out).
    pub alerts: Vec<Alert>,
    pub sla: SlaTargets,
    pub zero_reports: Vec<ZeroReportRow>,
    /// Bulletins issued in the span by this node (their copies).
    pub bulletins: Vec<BulletinView>,
    pub findings: Vec<FindingFigures>,
    pub silent_sources: Vec<SourceSeen>,
    /// The direct child regions of the scope's region, with names, to score.
    pub children: Vec<(RegionCode, String)>,
    /// The scope region's name.
    pub region_name: String,
}

/// A count by a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub key: String,
    /// A label for people (rule title, region name), when the key is a code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    pub count: u64,
}

/// A child region's score and its parts (each rate in [0, 1], `None` when it had no data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildScore {
    pub region: RegionCode,
    pub name: String,
    pub score: f64,
    pub sla: Option<f64>,
    pub zero_report: Option<f64>,
    pub bulletins: Option<f64>,
    pub findings: Option<f64>,
    /// Grade Ⅰ and Ⅱ incidents (the penalty's count).
    pub grave_incidents: u64,
}

/// A periodic report's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodicReport {
    pub span: Span,
    pub scope: ReportScope,
    pub region_name: String,
    pub generated: Timestamp,
    pub incidents: u64,
    pub incidents_by_grade: Vec<Count>,
    pub incidents_by_category: Vec<Count>,
    pub mtta_secs: Option<f64>,
    pub mttr_secs: Option<f64>,
    /// Incidents acknowledged within their grade's SLA, of those with a target.
    pub sla_met: u64,
    pub sla_total: u64,
    pub zero_reports: Vec<ZeroReportRow>,
    pub bulletins_issued: u64,
    #[serde(deserialize_with = "kept::recipient_stats")]
    pub bulletin_stats: Vec<crate::bulletin::RecipientStats>,
    pub findings: Vec<FindingFigures>,
    #[serde(deserialize_with = "kept::sources")]
    pub silent_sources: Vec<SourceSeen>,
    pub alerts: u64,
    pub top_attackers: Vec<Count>,
    pub top_rules: Vec<Count>,
    pub scores: Vec<ChildScore>,
    /// Drill alerts and incidents left out.
    pub drill_alerts_excluded: u64,
    pub drill_incidents_excluded: u64,
}

impl Supervision {
    /// The scope for `region` (its subtree resolved from the tree) and `department`.
    pub fn report_scope(&self, region: RegionCode, department: Option<String>) -> ReportScope {
        let mut regions: Vec<RegionCode> = self
            .tree
            .iter()
            .map(|r| r.code)
            .filter(|c| self.tree.is_within(*c, region))
            .collect();
        if regions.is_empty() {
            regions.push(region);
        }
        regions.sort();
        ReportScope {
            region,
            department,
            regions,
        }
    }

    /// The report of `span` for `scope`: incidents and alerts from the store, bulletins from
    /// the book, the rest from `sources`.
    ///
    /// Every page of alerts timed in the span and of incidents seen since its start is read
    /// (incidents are then kept when created in it); alerts keep only what the report counts
    /// (their event ids, matched fields and enrichment are dropped as they are read). A
    /// department scope keeps the incidents and alerts whose registered targets (`targets`,
    /// `target`) are the department's: an alert on no registered system belongs to no
    /// department.
    pub async fn periodic_report(
        &self,
        span: &Span,
        scope: &ReportScope,
        sources: &dyn ReportSources,
    ) -> Result<PeriodicReport> {
        let scope = if scope.regions.is_empty() {
            self.report_scope(scope.region, scope.department.clone())
        } else {
            scope.clone()
        };
        let alerts = store::alerts(self.store.as_ref(), span, &scope).await?;
        let incidents = store::incidents(self.store.as_ref(), span, &scope).await?;
        let bulletins = self
            .bulletins(&BulletinQuery {
                issued_here: Some(true),
                regions: vec![scope.region],
                department: scope.department.clone(),
                open_only: false,
                limit: usize::MAX,
            })
            .await?
            .into_iter()
            .filter(|v| span.from <= v.bulletin.issued && v.bulletin.issued < span.to)
            .collect();
        let data = ReportData {
            incidents,
            alerts,
            sla: sources.sla(),
            zero_reports: sources.zero_reports(span, &scope),
            bulletins,
            findings: sources.findings(span, &scope),
            silent_sources: sources.silent_sources(&scope),
            children: self
                .tree
                .children(scope.region)
                .map(|r| (r.code, r.name.clone()))
                .collect(),
            region_name: self
                .tree
                .get(scope.region)
                .map(|r| r.name.clone())
                .unwrap_or_default(),
        };
        Ok(build(
            span,
            &scope,
            &data,
            &self.cfg.config.score,
            Timestamp::now(),
        ))
    }

    /// Keep a report made on schedule (replacing one of the same kind, region, department and
    /// label); answers false when it was kept already.
    pub async fn keep_report(&self, report: &PeriodicReport) -> Result<bool> {
        let body = serde_json::to_string(report)
            .map_err(|e| SuperviseError::Internal(format!("keeping a report: {e}")))?;
        let k = db::reports::Kept {
            kind: report.span.kind.as_str().to_owned(),
            region: report.scope.region.get(),
            department: report.scope.department.clone().unwrap_or_default(),
            label: report.span.label.clone(),
            made: report.generated.millis(),
            body,
        };
        self.db.call(move |c| db::reports::put(c, &k)).await
    }

    /// The reports kept, newest first (of `regions` when not empty).
    pub async fn kept_reports(
        &self,
        regions: &[RegionCode],
        limit: usize,
    ) -> Result<Vec<PeriodicReport>> {
        let codes: Vec<u32> = regions.iter().map(|r| r.get()).collect();
        let limit = if limit == 0 { 100 } else { limit };
        let rows = self
            .db
            .call(move |c| db::reports::list(c, &codes, limit))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for k in rows {
            match serde_json::from_str(&k.body) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(
                    kind = %k.kind, label = %k.label, error = %e,
                    "supervise.sqlite: a kept report does not read"
                ),
            }
        }
        Ok(out)
    }
}
