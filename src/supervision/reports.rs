//! Periodic reports on schedule: at `[supervise.reports] time` in its offset, after each week
//! (on Monday), month (on the 1st) and year (on 1 January) ends, the report of the node's
//! region is made, kept, rendered as HTML and .docx and published on the node event bus
//! (`NodeEvent::Supervision(ReportReady)`), where the playbooks send it on (`triggers:
//! [report]`). A node down at that time makes it when it starts; on its first start it makes
//! none for the past (like the daily report). A drill issued here gets its report the same way
//! once it is over (`kind: drill`). What was made is noted in `supervise-reports.json` in the
//! data directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use onewall_api::supervise::reports::{download_path, scope_of};
use onewall_model::Timestamp;
use onewall_model::bus::{NodeEvent, NodeEvents, ReadyReport, SupervisionEvent};
use onewall_model::id::DrillId;
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
            for span in made.due(&sup, Timestamp::now()) {
                match make(&sup, &*sources, &bus, &span).await {
                    Ok(()) => made.note(&Made::key(&span)),
                    Err(e) => {
                        error!(kind = span.kind.as_str(), label = %span.label, error = %e,
                            "periodic report failed; retrying at the next look");
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
                for k in kinds(sup) {
                    m.note(&Self::key(&due_span(sup, k, now)));
                }
                for d in m.drills_over(sup, now) {
                    m.note(&Self::drill_key(d));
                }
                m
            }
        }
    }

    fn key(span: &Span) -> String {
        format!("{}/{}", span.kind.as_str(), span.label)
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

    fn due(&self, sup: &Supervision, now: Timestamp) -> Vec<Span> {
        kinds(sup)
            .into_iter()
            .map(|k| due_span(sup, k, now))
            .filter(|s| !self.made.contains(&Self::key(s)))
            .collect()
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

/// Make, keep, render and publish the report of `span` for the node's region.
pub async fn make(
    sup: &Supervision,
    sources: &dyn ReportSources,
    bus: &NodeEvents,
    span: &Span,
) -> anyhow::Result<()> {
    let scope = scope_of(sup.tree(), sup.node().region, None);
    let report = sup.periodic_report(span, &scope, sources).await?;
    sup.keep_report(&report).await?;
    let doc = report.to_doc();
    let html = onewall_supervise::doc::html(&doc);
    let docx = onewall_supervise::doc::docx(&doc)?;
    let ready = ReadyReport {
        kind: span.kind.as_str().to_owned(),
        region: scope.region,
        department: None,
        label: span.label.clone(),
        title: report.title(),
        summary: report.summary(),
        html: Arc::new(html),
        docx: Arc::new(docx),
        path: download_path(&report),
    };
    info!(kind = span.kind.as_str(), label = %span.label, region = %scope.region, "periodic report made");
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
