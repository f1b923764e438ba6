//! The node's assets: its one [`AssetBook`] (behind a mutex), the seen-host table, the
//! target snapshot the detect thread reads, `assets.sqlite`, and the federation the roll-up
//! goes to. Imports, status changes and removals apply to the book, write what changed in one
//! transaction, and swap the snapshot; the API reaches it through
//! [`onewall_api::assets::AssetsHub`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use onewall_api::ApiError;
use onewall_api::assets::{
    AssetsFuture, AssetsHub, ChildRollupView, ImportAnswer, ImportRequest, RegistryCounts,
    ScanCounts, Scope, api_error,
};
use onewall_assets::book::{AssetBook, HostRecord};
use onewall_assets::error::{Place, Refusal};
use onewall_assets::finding::{Finding, StatusChange};
use onewall_assets::import::{Context, Parsed};
use onewall_assets::registry::{Registry, RegistryMode, System};
use onewall_assets::seen::Seen;
use onewall_model::asset::{AssetRollup, ExposureReport};
use onewall_model::{ErrorCode, RegionCode, RegionTree, Timestamp};
use tracing::{info, warn};

use super::TargetsHandle;
use super::db::{Changes, Db};
use crate::config::assets::AssetsSettings;

/// The node's assets.
#[derive(Debug)]
pub struct Assets {
    pub settings: AssetsSettings,
    pub region: RegionCode,
    tree: Arc<RegionTree>,
    db: Db,
    book: Mutex<AssetBook>,
    seen: Arc<Mutex<Seen>>,
    targets: TargetsHandle,
    federation: Option<Arc<crate::federation::Federation>>,
    /// The roll-up last queued for the parent.
    last_rollup: Mutex<Option<AssetRollup>>,
    /// Woken after a change, so the roll-up goes up without waiting for its period.
    pub changed: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what}");
    ApiError::new(ErrorCode::Internal, what.to_owned())
}

impl Assets {
    /// Open `assets.sqlite` in `data_dir` and load the book from it.
    pub fn open(
        settings: AssetsSettings,
        region: RegionCode,
        tree: Arc<RegionTree>,
        data_dir: &std::path::Path,
        federation: Option<Arc<crate::federation::Federation>>,
    ) -> anyhow::Result<Arc<Assets>> {
        std::fs::create_dir_all(data_dir)?;
        let db = Db::open(data_dir)?;
        let loaded = db.load()?;
        let (systems, hosts, findings) = (
            loaded.systems.len(),
            loaded.hosts.len(),
            loaded.findings.len(),
        );
        let book = AssetBook::new(
            Registry::new(loaded.systems),
            loaded.hosts,
            loaded.findings,
            Timestamp::now(),
        );
        if systems + hosts + findings > 0 {
            info!(systems, hosts, findings, "assets loaded");
        }
        let seen = loaded
            .seen
            .unwrap_or_else(|| Seen::new(settings.config.max_seen));
        let targets = TargetsHandle::new(book.targets());
        Ok(Arc::new(Assets {
            settings,
            region,
            tree,
            db,
            book: Mutex::new(book),
            seen: Arc::new(Mutex::new(seen)),
            targets,
            federation,
            last_rollup: Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        }))
    }

    /// The snapshot handle the detect stage reads.
    pub fn targets(&self) -> TargetsHandle {
        self.targets.clone()
    }

    /// The seen-host table the detect stage notes into.
    pub fn seen(&self) -> Arc<Mutex<Seen>> {
        self.seen.clone()
    }

    pub fn lock_book(&self) -> MutexGuard<'_, AssetBook> {
        lock(&self.book)
    }

    /// Unknown and silent hosts at `now`.
    pub fn exposure_now(&self, now: Timestamp) -> ExposureReport {
        let book = lock(&self.book);
        let seen = lock(&self.seen);
        seen.report(&book, self.settings.config.silent_hours, now)
    }

    /// After a change: the pipeline's snapshot swapped, the roll-up job woken.
    fn changed(&self, book: &AssetBook) {
        self.targets.replace(book.targets());
        self.changed.notify_one();
    }

    /// Import a file (blocking: on the blocking pool).
    pub fn import_now(&self, req: ImportRequest) -> Result<ImportAnswer, ApiError> {
        let now = Timestamp::now();
        let ctx = Context {
            tree: &self.tree,
            now,
            default_region: self.region,
        };
        let (format, parsed) = onewall_assets::import::read(req.name.as_deref(), &req.bytes, &ctx)
            .map_err(|e| api_error(&e))?;
        let mut book = lock(&self.book);
        let answer = match parsed {
            Parsed::Registry(rows) => {
                let mut refused = rows.refused;
                let (kept, out): (Vec<System>, Vec<System>) = rows
                    .systems
                    .into_iter()
                    .partition(|s| req.scope.holds_system(s));
                for s in out {
                    refused.push(Refusal {
                        place: Place::File,
                        reason: format!(
                            "system {:?}: region {} / department {:?} is outside the importer's scope",
                            s.name, s.region, s.department
                        ),
                    });
                }
                let change = self.apply_registry(&mut book, kept, req.mode, &req.scope, now)?;
                ImportAnswer {
                    format: format.as_str().to_owned(),
                    kind: "registry",
                    registry: Some(RegistryCounts {
                        rows: rows.rows,
                        added: change.added,
                        updated: change.updated,
                        unchanged: change.unchanged,
                        removed: change.removed,
                    }),
                    scan: None,
                    refused,
                }
            }
            Parsed::Scan(scan) => {
                // A scan is applied whole or not at all: one host outside the importer's
                // regions or department refuses the file, naming the hosts.
                let outside: Vec<String> = scan
                    .hosts
                    .iter()
                    .filter_map(|h| h.key())
                    .filter(|k| !req.scope.holds_host(&book, k, self.region))
                    .take(5)
                    .collect();
                if !outside.is_empty() {
                    return Err(ApiError::new(
                        ErrorCode::Forbidden,
                        format!(
                            "{}: host(s) {} belong to systems outside the importer's regions \
                             or department; nothing was imported",
                            format.as_str(),
                            outside.join(", ")
                        ),
                    ));
                }
                let (scanner, at) = (scan.scanner, scan.at);
                let outcome = book.apply_scan(scan, &self.settings.config.deadlines, now);
                let changes = Changes {
                    hosts: outcome
                        .changed_hosts
                        .iter()
                        .filter_map(|k| book.host(k).cloned())
                        .collect(),
                    findings: outcome
                        .changed_findings
                        .iter()
                        .filter_map(|id| book.finding(id).cloned())
                        .collect(),
                    ..Changes::default()
                };
                self.db
                    .write(&changes)
                    .map_err(|e| internal("writing assets.sqlite", e))?;
                ImportAnswer {
                    format: format.as_str().to_owned(),
                    kind: "scan",
                    registry: None,
                    scan: Some(ScanCounts {
                        scanner: scanner.as_str().to_owned(),
                        at,
                        hosts: outcome.hosts,
                        ports: outcome.ports,
                        new: outcome.new,
                        again: outcome.again,
                        reopened: outcome.reopened,
                        fixed: outcome.fixed,
                    }),
                    refused: Vec::new(),
                }
            }
        };
        self.changed(&book);
        info!(
            by = req.by,
            format = answer.format,
            kind = answer.kind,
            refused = answer.refused.len(),
            "assets imported"
        );
        Ok(answer)
    }

    /// Apply registry rows within `scope` (replace: the scope's systems not in the file go;
    /// systems outside it stay) and persist what changed.
    fn apply_registry(
        &self,
        book: &mut AssetBook,
        systems: Vec<System>,
        mode: RegistryMode,
        scope: &Scope,
        now: Timestamp,
    ) -> Result<onewall_assets::registry::RegistryChange, ApiError> {
        let before_systems = book.registry().clone();
        let before_hosts: BTreeMap<String, HostRecord> =
            book.hosts().map(|h| (h.key.clone(), h.clone())).collect();
        let systems = match mode {
            RegistryMode::Merge => systems,
            RegistryMode::Replace => {
                let mut all = systems;
                all.extend(
                    before_systems
                        .systems()
                        .filter(|s| !scope.holds_system(s))
                        .cloned(),
                );
                all
            }
        };
        let change = book.apply_registry(systems, mode, now);
        let changes = diff(&before_systems, &before_hosts, book);
        self.db
            .write(&changes)
            .map_err(|e| internal("writing assets.sqlite", e))?;
        Ok(change)
    }

    /// Change a finding's status and persist it.
    pub fn set_status_now(
        &self,
        id: &str,
        change: StatusChange,
        by: &str,
    ) -> Result<Finding, ApiError> {
        let mut book = lock(&self.book);
        let f = book
            .set_status(id, change, by, Timestamp::now())
            .map_err(|e| api_error(&e))?
            .clone();
        self.db
            .write(&Changes {
                findings: vec![f.clone()],
                ..Changes::default()
            })
            .map_err(|e| internal("writing assets.sqlite", e))?;
        self.changed(&book);
        Ok(f)
    }

    /// Remove one system and persist; false when there is none.
    pub fn delete_system_now(&self, id: &str, by: &str) -> Result<bool, ApiError> {
        let mut book = lock(&self.book);
        if book.remove_system(id, Timestamp::now()).is_none() {
            return Ok(false);
        }
        self.db
            .write(&Changes {
                removed_systems: vec![id.to_owned()],
                ..Changes::default()
            })
            .map_err(|e| internal("writing assets.sqlite", e))?;
        self.changed(&book);
        info!(system = id, by, "asset system removed");
        Ok(true)
    }

    /// This node's roll-up at `now`.
    pub fn rollup_now(&self, now: Timestamp) -> AssetRollup {
        let exposure = self.exposure_now(now);
        let book = lock(&self.book);
        onewall_assets::rollup::rollup(&book, &exposure, self.region, now)
    }

    /// Queue the roll-up for the parent when it differs from the last one queued (the time
    /// it was taken aside): this node's rows plus its children's latest (a city passes its
    /// counties' figures up with its own). No-op without a parent.
    pub fn send_rollup(&self, now: Timestamp) -> anyhow::Result<bool> {
        let Some(fed) = self.federation.as_ref().filter(|f| f.has_parent()) else {
            return Ok(false);
        };
        let r = fed.rollup_with_children(self.rollup_now(now))?;
        {
            let last = lock(&self.last_rollup);
            if last
                .as_ref()
                .is_some_and(|l| l.rows == r.rows && l.region == r.region)
            {
                return Ok(false);
            }
        }
        fed.queue_rollup(r.clone())?;
        *lock(&self.last_rollup) = Some(r);
        Ok(true)
    }

    /// Reopen acceptances past their expiry, mark the open findings past their deadline that
    /// have not been alerted yet, persist both, and answer the marked ones (with the region
    /// of their system, else the node's, and the system's name).
    pub fn take_overdue(
        &self,
        now: Timestamp,
    ) -> anyhow::Result<Vec<(Finding, RegionCode, Option<String>)>> {
        let mut book = lock(&self.book);
        let expired = book.expire(now);
        let marked = book.take_overdue_alerts(now);
        let mut changed: Vec<Finding> = expired
            .iter()
            .filter_map(|id| book.finding(id).cloned())
            .collect();
        changed.extend(marked.iter().cloned());
        self.db.write(&Changes {
            findings: changed,
            ..Changes::default()
        })?;
        if !expired.is_empty() {
            self.changed(&book);
        }
        Ok(marked
            .into_iter()
            .map(|f| {
                let sys = book.system_of(&f.host);
                let region = sys.map_or(self.region, |s| s.region);
                let name = sys.map(|s| s.name.clone());
                (f, region, name)
            })
            .collect())
    }

    /// Write the seen-host table (blocking).
    pub fn save_seen(&self) {
        let body = match serde_json::to_string(&*lock(&self.seen)) {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "serialising the seen hosts");
                return;
            }
        };
        if let Err(e) = self.db.save_seen(&body) {
            warn!(error = %e, "writing the seen hosts to assets.sqlite");
        }
    }
}

/// What changed in `book` since `systems` and `hosts` were taken.
fn diff(systems: &Registry, hosts: &BTreeMap<String, HostRecord>, book: &AssetBook) -> Changes {
    let mut ch = Changes::default();
    for s in book.registry().systems() {
        if systems.get(&s.id) != Some(s) {
            ch.systems.push(s.clone());
        }
    }
    for s in systems.systems() {
        if book.registry().get(&s.id).is_none() {
            ch.removed_systems.push(s.id.clone());
        }
    }
    for h in book.hosts() {
        if hosts.get(&h.key) != Some(h) {
            ch.hosts.push(h.clone());
        }
    }
    for key in hosts.keys() {
        if book.host(key).is_none() {
            ch.removed_hosts.push(key.clone());
        }
    }
    ch
}

/// The API's view: the hub on an `Arc`, its blocking work on the blocking pool.
#[derive(Debug)]
pub struct Hub(pub Arc<Assets>);

impl Hub {
    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Assets) -> Result<T, ApiError> + Send + 'static,
    ) -> AssetsFuture<'_, T> {
        let assets = self.0.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&assets))
                .await
                .map_err(|e| internal("assets task", e))?
        })
    }
}

impl AssetsHub for Hub {
    fn node_region(&self) -> RegionCode {
        self.0.region
    }

    fn book(&self) -> MutexGuard<'_, AssetBook> {
        self.0.lock_book()
    }

    fn exposure(&self, now: Timestamp) -> ExposureReport {
        self.0.exposure_now(now)
    }

    fn import(&self, req: ImportRequest) -> AssetsFuture<'_, ImportAnswer> {
        self.blocking(move |a| a.import_now(req))
    }

    fn set_status(
        &self,
        id: String,
        change: StatusChange,
        by: String,
    ) -> AssetsFuture<'_, Finding> {
        self.blocking(move |a| a.set_status_now(&id, change, &by))
    }

    fn delete_system(&self, id: String, by: String) -> AssetsFuture<'_, bool> {
        self.blocking(move |a| a.delete_system_now(&id, &by))
    }

    fn rollup(&self) -> AssetsFuture<'_, (AssetRollup, Vec<ChildRollupView>)> {
        self.blocking(|a| {
            let own = a.rollup_now(Timestamp::now());
            let children = match &a.federation {
                Some(fed) => fed
                    .child_rollups()
                    .map_err(|e| internal("reading the children's roll-ups", e))?
                    .into_iter()
                    .map(|c| ChildRollupView {
                        node: c.node,
                        via: c.via,
                        received: c.received,
                        rollup: c.rollup,
                    })
                    .collect(),
                None => Vec::new(),
            };
            Ok((own, children))
        })
    }
}
