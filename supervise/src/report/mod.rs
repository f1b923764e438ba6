//! Periodic reports (周报, 月报, 年度安全评价报告) per region and department, from the data:
//! incidents by grade and category, mean time to acknowledge and to resolve, SLA adherence,
//! zero-report punctuality, bulletin response rates, findings fixed on time, silent sources,
//! top attackers and rules, and a score per child region by the formula of
//! `[supervise.score]` ([`score`]). Drill alerts and incidents are left out. Built by a pure
//! function ([`build`]) from what [`Supervision::periodic_report`] gathers from the store, the
//! bulletins, and what the node supplies through [`ReportSources`].

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
    /// 周报: an ISO week, Monday to Monday.
    Weekly,
    /// 月报: a calendar month.
    Monthly,
    /// 年度安全评价报告: a calendar year.
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
    /// Week, month or year.
    pub kind: ReportKind,
    /// `2026-W49`, `2026-12`, `2026`.
    pub label: String,
    /// The first instant covered.
    pub from: Timestamp,
    /// The first instant not covered.
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
    /// The region whose subtree the figures cover.
    pub region: RegionCode,
    /// One department's figures only, when set.
    pub department: Option<String>,
    /// The region and every region of its subtree the node knows.
    pub regions: Vec<RegionCode>,
}

impl ReportScope {
    /// The scope of `region` (with every region of its subtree `tree` knows, and itself even
    /// when the tree does not hold it), for `department` when given.
    pub fn of(
        tree: &onewall_model::RegionTree,
        region: RegionCode,
        department: Option<String>,
    ) -> ReportScope {
        let mut regions: Vec<RegionCode> = tree
            .iter()
            .map(|r| r.code)
            .filter(|c| tree.is_within(*c, region))
            .collect();
        if !regions.contains(&region) {
            regions.push(region);
        }
        regions.sort();
        ReportScope {
            region,
            department,
            regions,
        }
    }
}

/// SLA targets by grade, in seconds to acknowledge (index 0 = Ⅰ ... 3 = Ⅳ); the node's
/// `[sla]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlaTargets {
    /// Seconds to acknowledge, by grade (`None`: no target).
    pub ack_secs: [Option<i64>; 4],
}

/// One child region's daily zero reports in the span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZeroReportRow {
    /// The child region.
    pub region: RegionCode,
    /// Reports due in the span.
    pub expected: u32,
    /// Sent by their deadline.
    pub on_time: u32,
    /// Sent after it.
    pub late: u32,
    /// Not sent.
    pub missing: u32,
}

/// Findings figures of the span (when the node keeps assets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingFigures {
    /// The region (of the hosts).
    pub region: RegionCode,
    /// Findings whose deadline fell in the span.
    pub due: u32,
    /// Of those, fixed by their deadline.
    pub fixed_on_time: u32,
    /// Of those, still open or fixed late.
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
    /// The node's SLA targets.
    pub sla: SlaTargets,
    /// The child regions' zero reports in the span.
    pub zero_reports: Vec<ZeroReportRow>,
    /// Bulletins issued in the span by this node (their copies).
    pub bulletins: Vec<BulletinView>,
    /// Findings per region.
    pub findings: Vec<FindingFigures>,
    /// Sources silent at the end of the span.
    pub silent_sources: Vec<SourceSeen>,
    /// The direct child regions of the scope's region, with names, to score.
    pub children: Vec<(RegionCode, String)>,
    /// The scope region's name.
    pub region_name: String,
    /// Names of the scope's regions (bulletin recipients below the children, or the scope's
    /// own departments, are named from it).
    pub region_names: std::collections::HashMap<RegionCode, String>,
}

/// A count by a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    /// What is counted (a grade, a category code, an address, a rule id).
    pub key: String,
    /// A label for people (rule title, region name), when the key is a code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// How many.
    pub count: u64,
}

/// A child region's score and its parts (each rate in [0, 1], `None` when it had no data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildScore {
    /// The child region.
    pub region: RegionCode,
    /// Its name.
    pub name: String,
    /// 0–100 by [`score`].
    pub score: f64,
    /// Incidents acknowledged within the SLA.
    pub sla: Option<f64>,
    /// Zero reports sent on time.
    pub zero_report: Option<f64>,
    /// Bulletin steps (sign, answer, rectify) done by their deadlines.
    pub bulletins: Option<f64>,
    /// Findings fixed by their deadlines.
    pub findings: Option<f64>,
    /// Grade Ⅰ and Ⅱ incidents (the penalty's count).
    pub grave_incidents: u64,
}

/// A periodic report's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodicReport {
    /// The time covered.
    pub span: Span,
    /// Whose figures.
    pub scope: ReportScope,
    /// The scope region's name.
    pub region_name: String,
    /// When it was made.
    pub generated: Timestamp,
    /// Incidents opened in the span (drills left out).
    pub incidents: u64,
    /// By grade: `I`..`IV`, then `none` (ungraded), every one listed.
    pub incidents_by_grade: Vec<Count>,
    /// By GB/T 20986 category code (`none`: uncategorised), most first.
    pub incidents_by_category: Vec<Count>,
    /// Mean seconds from creation to the first acknowledged/investigating/resolved status.
    pub mtta_secs: Option<f64>,
    /// Mean seconds from creation to the first resolved/closed status.
    pub mttr_secs: Option<f64>,
    /// Incidents acknowledged within their grade's SLA, of those with a target.
    pub sla_met: u64,
    /// Incidents with an SLA target.
    pub sla_total: u64,
    /// Zero reports per child region.
    pub zero_reports: Vec<ZeroReportRow>,
    /// Bulletins this node issued in the span (to the scope).
    pub bulletins_issued: u64,
    /// Their statistics per recipient.
    #[serde(deserialize_with = "kept::recipient_stats")]
    pub bulletin_stats: Vec<crate::bulletin::RecipientStats>,
    /// Findings per region.
    pub findings: Vec<FindingFigures>,
    /// Sources silent at the end of the span.
    #[serde(deserialize_with = "kept::sources")]
    pub silent_sources: Vec<SourceSeen>,
    /// Alerts of the span (drills left out).
    pub alerts: u64,
    /// The 10 source addresses in most alerts.
    pub top_attackers: Vec<Count>,
    /// The 10 rules with most alerts (label: the rule's title).
    pub top_rules: Vec<Count>,
    /// Each direct child region's score.
    pub scores: Vec<ChildScore>,
    /// Drill alerts left out.
    pub drill_alerts_excluded: u64,
    /// Drill incidents left out.
    pub drill_incidents_excluded: u64,
}

impl Supervision {
    /// The scope for `region` (its subtree resolved from the tree) and `department`.
    pub fn report_scope(&self, region: RegionCode, department: Option<String>) -> ReportScope {
        ReportScope::of(&self.tree, region, department)
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
            region_names: scope
                .regions
                .iter()
                .filter_map(|c| self.tree.get(*c).map(|r| (*c, r.name.clone())))
                .collect(),
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
