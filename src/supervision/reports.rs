//! Periodic reports on schedule: at `[supervise.reports] time` in its offset, after each week
//! (on Monday), month (on the 1st) and year (on 1 January) ends, the report of the node's
//! region is made, kept, rendered as HTML and .docx and published on the node event bus
//! (`NodeEvent::Supervision(ReportReady)`), where the playbooks send it on (`triggers:
//! [report]`); so is the report of each department of `[supervise.reports] departments`. A
//! node down at that time makes it when it starts; on its first start it makes none for the
//! past (like the daily report). A drill issued here gets its report the same way once it is
//! over (`kind: drill`), and a 重保 period declared here its 复盘 once it has ended (`kind:
//! period_review`). What was made is noted in `supervise-reports.json` in the data directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use onewall_api::supervise::reports::download_path;
use onewall_model::Timestamp;
use onewall_model::bus::{NodeEvent, NodeEvents, ReadyReport, SupervisionEvent};
use onewall_model::id::{DrillId, PeriodId};
use onewall_supervise::Supervision;
use onewall_supervise::drill::drill_end;
use onewall_supervise::report::{ReportKind, ReportSources, Span};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// The file the spans made are noted in.
const MADE_FILE: &str = "supervise-reports.json";

/// How often the schedule is looked at.
const TICK: Duration = Duration::from_secs(5);

/// Run the schedule until `shutdown`.
pub fn start(
    sup: Arc<Supervision>,
    sources: Arc<dyn ReportSources>,
    bus: NodeEvents,
    data_dir: &Path,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let path = data_dir.join(MADE_FILE);
    tokio::spawn(async move {
        let mut made = Made::open(path, &sup, Timestamp::now());
        loop {
            for (span, department) in made.due(&sup, Timestamp::now()) {
                match make(&sup, &*sources, &bus, &span, department.as_deref()).await {
                    Ok(()) => made.note(&Made::key(&span, department.as_deref())),
                    Err(e) => {
                        error!(kind = span.kind.as_str(), label = %span.label, ?department, error = %e,
                            "periodic report failed; retrying at the next look");
                    }
                }
            }
            for period in made.periods_over(&sup, Timestamp::now()) {
                match make_review(&sup, &bus, period).await {
                    Ok(()) => made.note(&Made::period_key(period)),
                    Err(e) => {
                        error!(%period, error = %e, "period review failed; retrying at the next look");
                    }
                }
            }
            for drill in made.drills_over(&sup, Timestamp::now()) {
                match make_drill(&sup, &bus, drill).await {
                    Ok(()) => made.note(&Made::drill_key(drill)),
                    Err(e) => {
                        error!(drill = %drill, error = %e, "drill report failed; retrying at the next look");
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    })
}

/// The kinds made on schedule.
fn kinds(sup: &Supervision) -> Vec<ReportKind> {
    let c = &sup.settings().config.reports;
    [
        (c.weekly, ReportKind::Weekly),
        (c.monthly, ReportKind::Monthly),
        (c.annual, ReportKind::Annual),
    ]
    .into_iter()
    .filter_map(|(on, k)| on.then_some(k))
    .collect()
}

/// The last span of `kind` whose report is due at `now`: the span that ended at least the
/// report's time of day before `now`.
pub fn due_span(sup: &Supervision, kind: ReportKind, now: Timestamp) -> Span {
    let s = sup.settings();
    let lag = i64::from(s.report_minute) * 60;
    Span::last_complete(kind, now.add_secs(-lag), s.offset)
}

/// The spans made, as `kind/label`.
struct Made {
    path: PathBuf,
    made: BTreeSet<String>,
}

impl Made {
    /// Read the spans made; on the first start, the spans due now count as made.
    fn open(path: PathBuf, sup: &Supervision, now: Timestamp) -> Made {
        let read = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<BTreeSet<String>>(&b).ok());
        match read {
            Some(made) => Made { path, made },
            None => {
                let mut m = Made {
                    path,
                    made: BTreeSet::new(),
                };
                for (span, department) in m.due(sup, now) {
                    m.note(&Self::key(&span, department.as_deref()));
                }
                for d in m.drills_over(sup, now) {
                    m.note(&Self::drill_key(d));
                }
                for p in m.periods_over(sup, now) {
                    m.note(&Self::period_key(p));
                }
                m
            }
        }
    }

    /// `kind/label`, and `/department` for a department's report.
    fn key(span: &Span, department: Option<&str>) -> String {
        match department {
            Some(d) => format!("{}/{}/{d}", span.kind.as_str(), span.label),
            None => format!("{}/{}", span.kind.as_str(), span.label),
        }
    }

    fn period_key(id: PeriodId) -> String {
        format!("period/{id}")
    }

    /// Periods declared here that have ended and have had no 复盘 yet.
    fn periods_over(&self, sup: &Supervision, now: Timestamp) -> Vec<PeriodId> {
        sup.periods(None)
            .into_iter()
            .filter(|p| p.issuer == sup.node().region && p.ends() <= now)
            .map(|p| p.id)
            .filter(|id| !self.made.contains(&Self::period_key(*id)))
            .collect()
    }

    fn drill_key(id: DrillId) -> String {
        format!("drill/{id}")
    }

    /// Drills issued here that are over and have had no report yet.
    fn drills_over(&self, sup: &Supervision, now: Timestamp) -> Vec<DrillId> {
        sup.drills()
            .into_iter()
            .filter(|d| d.issuer == sup.node().region && drill_end(d) <= now)
            .map(|d| d.id)
            .filter(|id| !self.made.contains(&Self::drill_key(*id)))
            .collect()
    }

    /// The reports due and not made: each kind's last span, for the region and for each
    /// configured department.
    fn due(&self, sup: &Supervision, now: Timestamp) -> Vec<(Span, Option<String>)> {
        let departments = &sup.settings().config.reports.departments;
        let mut out = Vec::new();
        for k in kinds(sup) {
            let span = due_span(sup, k, now);
            for d in std::iter::once(None).chain(departments.iter().map(Some)) {
                if !self.made.contains(&Self::key(&span, d.map(String::as_str))) {
                    out.push((span.clone(), d.cloned()));
                }
            }
        }
        out
    }

    fn note(&mut self, key: &str) {
        self.made.insert(key.to_owned());
        let write = || -> std::io::Result<()> {
            let tmp = self.path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec(&self.made)?)?;
            std::fs::rename(&tmp, &self.path)
        };
        if let Err(e) = write() {
            warn!(file = %self.path.display(), error = %e, "periodic reports: cannot note a report made; it may be made again");
        }
    }
}

/// Make, keep, render and publish the report of `span` for the node's region (or one of its
/// departments).
pub async fn make(
    sup: &Supervision,
    sources: &dyn ReportSources,
    bus: &NodeEvents,
    span: &Span,
    department: Option<&str>,
) -> anyhow::Result<()> {
    let scope = sup.report_scope(sup.node().region, department.map(str::to_owned));
    let report = sup.periodic_report(span, &scope, sources).await?;
    sup.keep_report(&report).await?;
    let doc = report.to_doc();
    let html = onewall_supervise::doc::html(&doc);
    let docx = onewall_supervise::doc::docx(&doc)?;
    let ready = ReadyReport {
        kind: span.kind.as_str().to_owned(),
        region: scope.region,
        department: scope.department.clone(),
        label: span.label.clone(),
        title: report.title(),
        summary: report.summary(),
        html: Arc::new(html),
        docx: Arc::new(docx),
        path: download_path(&report),
    };
    info!(kind = span.kind.as_str(), label = %span.label, region = %scope.region, ?department, "periodic report made");
    bus.publish(NodeEvent::Supervision(Box::new(
        SupervisionEvent::ReportReady(Box::new(ready)),
    )))
    .await;
    Ok(())
}

/// Make the report of a drill that is over and publish it (`kind: drill`, labelled with the
/// drill's name).
pub async fn make_drill(sup: &Supervision, bus: &NodeEvents, id: DrillId) -> anyhow::Result<()> {
    let report = sup.drill_report(id, Timestamp::now()).await?;
    let doc = report.to_doc();
    let ready = ReadyReport {
        kind: "drill".to_owned(),
        region: sup.node().region,
        department: None,
        label: report.drill.name.clone(),
        title: doc.title.clone(),
        summary: format!(
            "{}：计划动作 {} 项，发现 {} 项，未发现 {} 项，得分 {:.1}",
            report.drill.name,
            report.actions.len(),
            report.detected,
            report.missed,
            report.score
        ),
        html: Arc::new(onewall_supervise::doc::html(&doc)),
        docx: Arc::new(onewall_supervise::doc::docx(&doc)?),
        path: format!("/api/v1/drills/{id}/report?format=docx"),
    };
    info!(drill = %id, "drill report made");
    bus.publish(NodeEvent::Supervision(Box::new(
        SupervisionEvent::ReportReady(Box::new(ready)),
    )))
    .await;
    Ok(())
}

/// Make the 复盘 of a period that has ended and publish it (`kind: period_review`, labelled
/// with the period's name).
pub async fn make_review(sup: &Supervision, bus: &NodeEvents, id: PeriodId) -> anyhow::Result<()> {
    let review = sup.period_review(id).await?;
    let doc = review.to_doc();
    let missing = review.slots.iter().filter(|s| s.missing).count();
    let late = review.slots.iter().filter(|s| s.late).count();
    let ready = ReadyReport {
        kind: "period_review".to_owned(),
        region: sup.node().region,
        department: None,
        label: review.period.name.clone(),
        title: doc.title.clone(),
        summary: format!(
            "{} 重保结束：事件 {} 起，漏报 {} 个时段，迟报 {} 个时段，通报 {} 份，经验教训 {} 条",
            review.period.name,
            review.incidents,
            missing,
            late,
            review.bulletins.len(),
            review.lessons.len()
        ),
        html: Arc::new(onewall_supervise::doc::html(&doc)),
        docx: Arc::new(onewall_supervise::doc::docx(&doc)?),
        path: format!("/api/v1/periods/{id}/review?format=docx"),
    };
    info!(period = %id, "period review made");
    bus.publish(NodeEvent::Supervision(Box::new(
        SupervisionEvent::ReportReady(Box::new(ready)),
    )))
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use onewall_model::bus::{Delivery, Subscriber};
    use onewall_model::{RegionCode, RegionTree};
    use onewall_store::{SqliteStore, Store};
    use onewall_supervise::period::NewPeriod;
    use onewall_supervise::{Actor, NoCourier, NodeInfo, Parts, SuperviseConfig};

    use super::*;

    /// Hears the reports the schedule publishes.
    #[derive(Debug, Default)]
    struct Heard(Mutex<Vec<(String, Option<String>, String)>>);

    impl Subscriber for Heard {
        fn deliver(&self, event: Arc<NodeEvent>) -> Delivery<'_> {
            Box::pin(async move {
                if let NodeEvent::Supervision(e) = &*event
                    && let SupervisionEvent::ReportReady(r) = &**e
                {
                    let mut heard = self.0.lock().unwrap_or_else(|p| p.into_inner());
                    heard.push((r.kind.clone(), r.department.clone(), r.label.clone()));
                }
            })
        }
    }

    fn open(dir: &Path, departments: &[&str], bus: NodeEvents) -> Supervision {
        let mut cfg = SuperviseConfig::default();
        cfg.reports.departments = departments.iter().map(|d| (*d).to_owned()).collect();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("store")).expect("store"));
        Supervision::open(
            dir,
            Parts {
                node: NodeInfo {
                    name: "province".into(),
                    region: RegionCode::HENAN,
                },
                tree: Arc::new(RegionTree::builtin()),
                cfg: cfg.resolve().expect("config"),
                courier: Arc::new(NoCourier),
                store,
                audit: None,
                bus,
            },
        )
        .expect("supervision")
    }

    #[test]
    fn each_configured_department_gets_its_own_report_and_is_made_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sup = open(dir.path(), &["教育厅", "卫健委"], NodeEvents::new());
        let now = Timestamp::now();
        let mut made = Made {
            path: dir.path().join(MADE_FILE),
            made: BTreeSet::new(),
        };
        let due = made.due(&sup, now);
        // Weekly, monthly and annual, each for the region and the two departments.
        assert_eq!(due.len(), 9, "{due:?}");
        let weekly: Vec<_> = due
            .iter()
            .filter(|(s, _)| s.kind == ReportKind::Weekly)
            .map(|(_, d)| d.clone())
            .collect();
        assert_eq!(
            weekly,
            [None, Some("教育厅".to_owned()), Some("卫健委".to_owned())]
        );
        let (span, dept) = &due[1];
        made.note(&Made::key(span, dept.as_deref()));
        assert_eq!(
            made.due(&sup, now).len(),
            8,
            "the one made is not due again"
        );
        // A restart reads what was made.
        let again = Made::open(dir.path().join(MADE_FILE), &sup, now);
        assert_eq!(again.due(&sup, now).len(), 8);
    }

    #[tokio::test]
    async fn a_period_declared_here_gets_its_review_once_it_has_ended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bus = NodeEvents::new();
        let heard = Arc::new(Heard::default());
        bus.subscribe(heard.clone());
        let sup = open(dir.path(), &[], bus.clone());
        let now = Timestamp::now();
        let period = sup
            .declare_period(
                &Actor::system(RegionCode::HENAN),
                NewPeriod {
                    name: "两会".into(),
                    regions: vec![RegionCode::HENAN],
                    start: now.add_secs(-3600),
                    end: now.add_secs(60),
                    sla_factor: None,
                    report_every_mins: None,
                    grace_mins: None,
                },
            )
            .await
            .expect("declared");
        let made = Made::open(dir.path().join(MADE_FILE), &sup, now);
        assert!(made.periods_over(&sup, now).is_empty(), "running still");
        let after = now.add_secs(61);
        assert_eq!(made.periods_over(&sup, after), [period.id]);
        make_review(&sup, &bus, period.id).await.expect("review");
        let heard = heard.0.lock().expect("heard").clone();
        assert_eq!(
            heard,
            [("period_review".to_owned(), None, "两会".to_owned())]
        );
    }
}
