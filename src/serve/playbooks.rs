//! The node's playbooks: load them, open the outbox in the data directory, give them the
//! store through [`NodeAccess`], and subscribe them to the node event bus.

use std::path::Path;
use std::sync::Arc;

use onewall_model::bus::NodeEvents;
use onewall_model::{
    Alert, Incident, IncidentId, RegionCode, RegionTree, TimelineEntry, TimelineKind, Timestamp,
};
use onewall_playbooks::{
    NodeAccess, Outbox, PlaybookFeed, Playbooks, Settings, async_trait, load_dir,
};
use onewall_store::{AlertQuery, IncidentQuery, MAX_LIMIT, Store};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::config::PlaybooksResolved;

/// Pages read at most per query when gathering the daily report's data.
const MAX_PAGES: usize = 100;

/// The running playbooks.
#[derive(Debug)]
pub struct Running {
    task: tokio::task::JoinHandle<()>,
    stop: watch::Sender<bool>,
    /// The outbox, for the delivery log.
    pub outbox: Outbox,
}

impl Running {
    /// Stop after the queued signals are handled and the delivery in flight is done (at most
    /// a few seconds more).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .is_err()
        {
            warn!("playbooks did not stop in time; pending deliveries stay in the outbox");
        }
    }
}

/// Start the playbooks: load `dir`, open `outbox.sqlite` under `data_dir`, subscribe to
/// `bus` (through a queue of `cfg.queue` signals).
pub fn start(
    cfg: &PlaybooksResolved,
    data_dir: &Path,
    node_name: &str,
    node_region: RegionCode,
    tree: &RegionTree,
    node: NodeParts,
    bus: &NodeEvents,
) -> anyhow::Result<Running> {
    let NodeParts {
        store,
        assets,
        supervision,
    } = node;
    let mut books = Vec::new();
    if let Some(dir) = &cfg.dir {
        let loaded = load_dir(dir, tree)?;
        for e in &loaded.errors {
            warn!(error = %e, "playbook skipped");
        }
        info!(
            loaded = loaded.playbooks.len(),
            skipped = loaded.errors.len(),
            disabled = loaded.disabled,
            dir = %dir.display(),
            "playbooks loaded"
        );
        books = loaded.playbooks;
    }
    let outbox = Outbox::open(&data_dir.join("outbox.sqlite"))?;
    let settings = Settings {
        node_name: node_name.to_owned(),
        node_region,
        retry: cfg.retry,
        sender: cfg.sender.clone(),
        report: cfg.report.clone(),
    };
    let playbooks = Arc::new(
        Playbooks::new(
            settings,
            books,
            tree.clone(),
            outbox.clone(),
            Arc::new(StoreAccess {
                store,
                assets,
                supervision,
            }),
        )
        .with_bus(bus.clone()),
    );
    let (tx, rx) = mpsc::channel(cfg.queue);
    bus.subscribe(Arc::new(PlaybookFeed(tx)));
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(playbooks.run(rx, stop_rx));
    Ok(Running { task, stop, outbox })
}

/// What the playbooks read of the node: the store, and the assets once they are open.
#[derive(Debug)]
pub struct NodeParts {
    pub store: Arc<dyn Store>,
    pub assets: AssetsSlot,
    /// Who is on duty (`to: [on_duty]`, `mention: on_duty`), once supervision is open.
    pub supervision: SupervisionSlot,
}

/// The node's supervision, set once it is open (after the playbooks start).
pub type SupervisionSlot = Arc<std::sync::OnceLock<Arc<onewall_supervise::Supervision>>>;

/// The node's assets, set once they are open (after the playbooks start).
pub type AssetsSlot = Arc<std::sync::OnceLock<Arc<crate::assets::Assets>>>;

/// The store (and the assets), as the playbooks see them.
#[derive(Debug)]
struct StoreAccess {
    store: Arc<dyn Store>,
    assets: AssetsSlot,
    supervision: SupervisionSlot,
}

#[async_trait]
impl NodeAccess for StoreAccess {
    async fn assign_team(&self, id: IncidentId, team: &str, actor: &str) -> Result<(), String> {
        let team = team.to_owned();
        let actor = actor.to_owned();
        self.store
            .update_incident(
                id,
                Box::new(move |inc| {
                    let now = Timestamp::now();
                    inc.team = Some(team.clone());
                    inc.updated = now;
                    inc.timeline.push(TimelineEntry {
                        at: now,
                        actor,
                        change: TimelineKind::Assigned {
                            assignee: inc.assignee.clone(),
                            team: Some(team),
                        },
                    });
                    Ok(())
                }),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn on_duty(
        &self,
        region: RegionCode,
        at: Timestamp,
    ) -> Vec<onewall_model::supervise::OnDuty> {
        self.supervision
            .get()
            .map(|s| s.on_duty(region, at))
            .unwrap_or_default()
    }

    async fn exposure(&self, at: Timestamp) -> Option<onewall_model::asset::ExposureReport> {
        let assets = self.assets.get()?.clone();
        tokio::task::spawn_blocking(move || assets.exposure_now(at))
            .await
            .ok()
    }

    async fn report_data(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<Incident>, Vec<Alert>), String> {
        let mut incidents = Vec::new();
        // Incidents updated since `from` (most recently updated first), then every open one.
        for open_only in [false, true] {
            let mut cursor = None;
            for _ in 0..MAX_PAGES {
                let page = self
                    .store
                    .search_incidents(IncidentQuery {
                        open_only,
                        limit: MAX_LIMIT,
                        cursor,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                let older = page.items.iter().any(|i| i.updated < from);
                incidents.extend(
                    page.items
                        .into_iter()
                        .filter(|i| open_only || i.updated >= from),
                );
                match page.next_cursor {
                    Some(c) if open_only || !older => cursor = Some(c),
                    _ => break,
                }
            }
        }
        let mut alerts = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .store
                .search_alerts(AlertQuery {
                    from: Some(from),
                    to: Some(to),
                    limit: MAX_LIMIT,
                    cursor,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            alerts.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok((incidents, alerts))
    }
}

/// The response settings the API reads from router extensions: the export bound, the session
/// cookie's `Secure` policy, the node event bus (the workflow handlers publish their changes
/// on it), and the children's daily reports (`desk`).
pub fn api_layers(
    api: axum::Router,
    r: &crate::config::Resolved,
    bus: &NodeEvents,
    desk: Option<&onewall_api::reports::ReportDesk>,
) -> axum::Router {
    let api = api
        .layer(axum::Extension(onewall_api::export::ExportLimit(
            r.config.auth.export_max_rows,
        )))
        .layer(axum::Extension(onewall_api::export::ExportCountBudget(
            std::time::Duration::from_millis(r.config.auth.export_count_ms),
        )))
        .layer(axum::Extension(onewall_api::CookiePolicy {
            secure: r.config.http.secure_cookies,
        }))
        .layer(axum::Extension(bus.clone()));
    match desk {
        Some(desk) => api.layer(axum::Extension(desk.clone())),
        None => api,
    }
}

/// The children's daily reports a parent keeps (`reports.sqlite` in the data directory), when
/// the node runs playbooks.
pub fn report_desk(
    r: &crate::config::Resolved,
) -> anyhow::Result<Option<onewall_api::reports::ReportDesk>> {
    let Some(p) = &r.playbooks else {
        return Ok(None);
    };
    let path = r.config.store.path.join("reports.sqlite");
    Ok(Some(onewall_api::reports::ReportDesk {
        book: onewall_playbooks::ReportBook::open(&path)?,
        expected: p.expect_from.clone(),
        schedule: p.report.schedule,
        grace: p.grace,
    }))
}
