//! Periodic reports on schedule: at `[supervise.reports] time` in its offset, after each week
//! (on Monday), month (on the 1st) and year (on 1 January) ends, the report of the node's
//! region is made, kept, rendered as HTML and .docx and published on the node event bus
//! (`NodeEvent::Supervision(ReportReady)`), where the playbooks send it on (`triggers:
//! [report]`). A node down at that time makes it when it starts; on its first start it makes
//! none for the past (like the daily report). The spans made are noted in
//! `supervise-reports.json` in the data directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use onewall_api::supervise::reports::{download_path, scope_of};
use onewall_model::Timestamp;
use onewall_model::bus::{NodeEvent, NodeEvents, ReadyReport, SupervisionEvent};
use onewall_supervise::Supervision;
use onewall_supervise::report::{ReportKind, ReportSources, Span};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// The file the spans made are noted in.
const MADE_FILE: &str = "supervise-reports.json";

/// How often the schedule is looked at.
const TICK: Duration = Duration::from_secs(30);

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
                    Ok(()) => made.note(&span),
                    Err(e) => {
                        error!(kind = span.kind.as_str(), label = %span.label, error = %e,
                            "periodic report failed; retrying at the next look");
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
                    m.note(&due_span(sup, k, now));
                }
                m
            }
        }
    }

    fn key(span: &Span) -> String {
        format!("{}/{}", span.kind.as_str(), span.label)
    }

    fn due(&self, sup: &Supervision, now: Timestamp) -> Vec<Span> {
        kinds(sup)
            .into_iter()
            .map(|k| due_span(sup, k, now))
            .filter(|s| !self.made.contains(&Self::key(s)))
            .collect()
    }

    fn note(&mut self, span: &Span) {
        self.made.insert(Self::key(span));
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
        title: doc.title.clone(),
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
