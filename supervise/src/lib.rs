//! onewall supervision (监管): what a level asks of the levels below it and how it checks they
//! did it.
//!
//! - **Bulletins** (安全通报, [`bulletin`], [`bulletins`]): issued to child regions and to
//!   departments of this node's region; each recipient signs (签收), answers (反馈) and, for a
//!   rectification bulletin, submits its rectification (整改) with evidence, which the issuer
//!   reviews (复核: accepted, or returned). Deadlines missed raise alerts on both sides.
//! - **重保 periods** ([`period`]): regions under tighter watch; slot zero reports, SLA factor,
//!   lessons, the 复盘 report at the end ([`review`]).
//! - **Duty** ([`duty`]): shifts per region, who is on duty now, handovers signed by both.
//! - **Drills** ([`drill`]): planned red-team actions, the mark their alerts carry, scoring.
//! - **Reports** ([`report`]): weekly, monthly and annual figures per region and department,
//!   with a score per child region, rendered as HTML and .docx ([`doc`]).
//!
//! [`Supervision`] is the node's service over all of it: state in `supervise.sqlite` ([`db`]),
//! attachments under `supervise/files` in the data directory ([`files`]), steps audited in the
//! node's audit log, messages to other levels through a [`Courier`] the node implements over
//! the federation, events on the node event bus. It knows no HTTP: the API crate serves it.

use std::path::Path;
use std::sync::{Arc, RwLock};

use onewall_model::bus::NodeEvents;
use onewall_model::supervise::{SuperviseDown, SuperviseUp};
use onewall_model::{RegionCode, RegionTree, Timestamp};
use onewall_store::Store;
use onewall_store::audit::{AuditLog, AuditRecord};

mod alert;
pub mod bulletin;
pub mod bulletins;
pub mod config;
pub mod db;
pub mod doc;
pub mod drill;
pub mod duty;
pub mod error;
pub mod files;
pub mod period;
pub mod report;
pub mod review;

pub use config::{SuperviseConfig, SuperviseResolved};
pub use error::SuperviseError;

/// Result of a supervision call.
pub type Result<T> = std::result::Result<T, SuperviseError>;

/// How this node reaches the other levels (implemented by the node over the federation).
/// Both calls queue durably and return; delivery is the federation's.
pub trait Courier: Send + Sync + std::fmt::Debug {
    /// The child regions this node has (`[federation] children`).
    fn children(&self) -> Vec<RegionCode>;
    /// Whether this node has a parent.
    fn has_parent(&self) -> bool;
    /// Queue `msg` for the child node of `child`.
    fn down(&self, child: RegionCode, msg: SuperviseDown) -> anyhow::Result<()>;
    /// Queue each message for its child node, all of them or none. The default queues them
    /// one by one; a courier with a store of its own does it in one transaction.
    fn down_all(&self, msgs: Vec<(RegionCode, SuperviseDown)>) -> anyhow::Result<()> {
        msgs.into_iter()
            .try_for_each(|(child, msg)| self.down(child, msg))
    }
    /// Queue `msg` for the parent (nothing when there is none).
    fn up(&self, msg: SuperviseUp) -> anyhow::Result<()>;
}

/// A courier for a node alone (no parent, no children): tests and single nodes.
#[derive(Debug, Default)]
pub struct NoCourier;

impl Courier for NoCourier {
    fn children(&self) -> Vec<RegionCode> {
        Vec::new()
    }
    fn has_parent(&self) -> bool {
        false
    }
    fn down(&self, _child: RegionCode, _msg: SuperviseDown) -> anyhow::Result<()> {
        Ok(())
    }
    fn up(&self, _msg: SuperviseUp) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Who acts: a user through the API (with the role and scope of their grant), a remote user
/// (a step applied from another level), or the node itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user name (`remote:REGION/USER` for a step from another level, `system` for the
    /// node's own jobs).
    pub name: String,
    /// The grant's role (`responder` ...), empty for remote and system actors.
    pub role: String,
    /// The grant's region subtree (for remote actors: the region they act from).
    pub scope: RegionCode,
    /// The grant's department, when it has one.
    pub department: Option<String>,
    /// The client address, for the audit record.
    pub client: String,
}

impl Actor {
    /// A user of another level, named as timelines name them (`remote:REGION/USER`).
    pub fn remote(region: RegionCode, by: &str) -> Actor {
        Actor {
            name: onewall_model::federation::remote_actor(region, by),
            role: String::new(),
            scope: region,
            department: None,
            client: String::new(),
        }
    }

    /// The node's own jobs.
    pub fn system(region: RegionCode) -> Actor {
        Actor {
            name: "system".into(),
            role: String::new(),
            scope: region,
            department: None,
            client: String::new(),
        }
    }

    /// The audit record of this actor doing `action` (`bulletin.sign` ...) on `target`.
    pub fn audit_record(&self, action: &str, target: String, detail: String) -> AuditRecord {
        AuditRecord {
            at: Timestamp::now(),
            actor: self.name.clone(),
            role: self.role.clone(),
            scope: self.scope.to_string(),
            action: action.to_owned(),
            target,
            result: 200,
            client: self.client.clone(),
            detail,
        }
    }
}

/// What the node is: its name and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub region: RegionCode,
}

/// The node's supervision service. Cheap to share (`Arc`); every method takes `&self`.
#[derive(Debug)]
pub struct Supervision {
    pub(crate) db: db::Db,
    pub(crate) files: files::Files,
    pub(crate) node: NodeInfo,
    pub(crate) tree: Arc<RegionTree>,
    pub(crate) cfg: SuperviseResolved,
    pub(crate) courier: Arc<dyn Courier>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) audit: Option<Arc<AuditLog>>,
    pub(crate) bus: NodeEvents,
    /// Periods, shifts and drills in memory for the hot paths (SLA factor, who is on duty,
    /// drill marks), refreshed after every change.
    pub(crate) cache: RwLock<Cache>,
    /// Bumped by every reload of the cache: the detect stage takes a new drill marker only
    /// when it changed (one atomic load a batch).
    pub(crate) cache_generation: std::sync::atomic::AtomicU64,
}

/// What the hot paths read without touching SQLite.
#[derive(Debug, Default, Clone)]
pub struct Cache {
    pub periods: Vec<onewall_model::supervise::ProtectionPeriod>,
    pub shifts: Vec<onewall_model::supervise::Shift>,
    pub drills: Vec<onewall_model::supervise::Drill>,
}

/// What [`Supervision::open`] needs.
#[derive(Debug)]
pub struct Parts {
    pub node: NodeInfo,
    pub tree: Arc<RegionTree>,
    pub cfg: SuperviseResolved,
    pub courier: Arc<dyn Courier>,
    pub store: Arc<dyn Store>,
    /// The node's audit log (none in unit tests).
    pub audit: Option<Arc<AuditLog>>,
    pub bus: NodeEvents,
}

impl Supervision {
    /// Open (or create) `supervise.sqlite` and the attachment folder in `data_dir`, and load
    /// the cache.
    pub fn open(data_dir: &Path, parts: Parts) -> Result<Supervision> {
        let db = db::Db::open(&data_dir.join(db::FILE))?;
        let files = files::Files::open(&data_dir.join(files::DIR))?;
        let s = Supervision {
            db,
            files,
            node: parts.node,
            tree: parts.tree,
            cfg: parts.cfg,
            courier: parts.courier,
            store: parts.store,
            audit: parts.audit,
            bus: parts.bus,
            cache: RwLock::new(Cache::default()),
            cache_generation: std::sync::atomic::AtomicU64::new(0),
        };
        s.reload_cache()?;
        Ok(s)
    }

    /// The node this service runs on.
    pub fn node(&self) -> &NodeInfo {
        &self.node
    }

    /// The resolved `[supervise]` settings.
    pub fn settings(&self) -> &SuperviseResolved {
        &self.cfg
    }

    /// The region tree.
    pub fn tree(&self) -> &RegionTree {
        &self.tree
    }

    /// The store (reports and handovers read incidents and alerts from it).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A copy of the cache.
    pub fn cached(&self) -> Cache {
        self.cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// How many times the cache was reloaded: a reader holding something built from it
    /// (the drill marker) builds it again when this changed.
    pub fn cache_generation(&self) -> u64 {
        self.cache_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Reload periods, shifts and drills into the cache (after every change to them).
    pub fn reload_cache(&self) -> Result<()> {
        let periods = self.db.with(db::periods::all)?;
        let shifts = self.db.with(db::duty::all_shifts)?;
        let drills = self.db.with(db::drills::all)?;
        let mut c = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *c = Cache {
            periods,
            shifts,
            drills,
        };
        self.cache_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Append `record` to the node's audit log (when it has one). A failed append is an error:
    /// a step that cannot be audited is not taken.
    pub(crate) fn audit(&self, record: AuditRecord) -> Result<()> {
        if let Some(log) = &self.audit {
            log.append(record)
                .map_err(|e| SuperviseError::Internal(format!("audit log: {e}")))?;
        }
        Ok(())
    }

    /// Does `region` lie in `scope`'s subtree (or is it `scope`)?
    pub fn covers(&self, scope: RegionCode, region: RegionCode) -> bool {
        self.tree.is_within(region, scope)
    }
}
