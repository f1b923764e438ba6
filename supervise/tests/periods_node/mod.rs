//! Supervision services of a province and its cities for the period and duty tests: each
//! with its own data directory, a real embedded store and audit log, and a courier that
//! records what it is asked to send so the test delivers it (or not) between the services.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use onewall_model::bus::NodeEvents;
use onewall_model::supervise::{SuperviseDown, SuperviseUp};
use onewall_model::{RegionCode, RegionTree, Timestamp};
use onewall_store::audit::{AuditEntry, AuditLog};
use onewall_store::{SqliteStore, Store};
use onewall_supervise::{Actor, Courier, NodeInfo, Parts, SuperviseConfig, Supervision};

pub fn code(n: u32) -> RegionCode {
    RegionCode::new(n).expect("region code")
}

pub const HENAN: u32 = 410000;
pub const ZHENGZHOU: u32 = 410100;
pub const LUOYANG: u32 = 410300;

/// What a node asked its courier to send.
#[derive(Debug, Default)]
pub struct Recorder {
    pub children: Vec<RegionCode>,
    pub parent: bool,
    pub down: Mutex<Vec<(RegionCode, SuperviseDown)>>,
    pub up: Mutex<Vec<SuperviseUp>>,
}

impl Courier for Recorder {
    fn children(&self) -> Vec<RegionCode> {
        self.children.clone()
    }
    fn has_parent(&self) -> bool {
        self.parent
    }
    fn down(&self, child: RegionCode, msg: SuperviseDown) -> anyhow::Result<()> {
        self.down.lock().expect("lock").push((child, msg));
        Ok(())
    }
    fn up(&self, msg: SuperviseUp) -> anyhow::Result<()> {
        self.up.lock().expect("lock").push(msg);
        Ok(())
    }
}

impl Recorder {
    pub fn ups(&self) -> usize {
        self.up.lock().expect("lock").len()
    }
}

/// One node: its service and what it is made of, kept so it can be restarted.
pub struct Node {
    pub name: String,
    pub region: RegionCode,
    pub dir: PathBuf,
    pub courier: Arc<Recorder>,
    pub store: Arc<SqliteStore>,
    pub audit: Arc<AuditLog>,
    pub sup: Supervision,
}

fn open(
    name: &str,
    region: RegionCode,
    dir: &std::path::Path,
    courier: Arc<Recorder>,
    store: Arc<SqliteStore>,
) -> (Arc<AuditLog>, Supervision) {
    let audit = Arc::new(AuditLog::open(dir).expect("audit log"));
    let cfg = SuperviseConfig::default().resolve().expect("config");
    let sup = Supervision::open(
        dir,
        Parts {
            node: NodeInfo {
                name: name.to_owned(),
                region,
            },
            tree: Arc::new(RegionTree::builtin()),
            cfg,
            courier,
            store: store as Arc<dyn Store>,
            audit: Some(audit.clone()),
            bus: NodeEvents::new(),
        },
    )
    .expect("open supervision");
    (audit, sup)
}

impl Node {
    pub fn new(
        root: &std::path::Path,
        name: &str,
        region: u32,
        children: &[u32],
        parent: bool,
    ) -> Node {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let region = code(region);
        let courier = Arc::new(Recorder {
            children: children.iter().map(|&c| code(c)).collect(),
            parent,
            ..Recorder::default()
        });
        let store = Arc::new(SqliteStore::open(&dir.join("store")).expect("store"));
        let (audit, sup) = open(name, region, &dir, courier.clone(), store.clone());
        Node {
            name: name.to_owned(),
            region,
            dir,
            courier,
            store,
            audit,
            sup,
        }
    }

    /// Reopen the service and its audit log from the same directory, as a restarted node
    /// does (the store is kept: it is not what is under test).
    pub fn restart(&mut self) {
        let (audit, sup) = open(
            &self.name,
            self.region,
            &self.dir,
            self.courier.clone(),
            self.store.clone(),
        );
        self.audit = audit;
        self.sup = sup;
    }

    pub fn user(&self, name: &str) -> Actor {
        Actor {
            name: name.to_owned(),
            role: "admin".to_owned(),
            scope: self.region,
            department: None,
            client: "127.0.0.1".to_owned(),
        }
    }

    /// The audit entries of `action`.
    pub fn audited(&self, action: &str) -> Vec<AuditEntry> {
        self.audit
            .entries(0, 10_000)
            .expect("audit entries")
            .into_iter()
            .filter(|e| e.record.action == action)
            .collect()
    }
}

/// Deliver what `parent` queued for `child` (down), and what `child` queued up, as the
/// federation would; answers how many messages went each way. Each message is applied once
/// per call (and may be delivered again by the test to check idempotence).
pub async fn pump(parent: &Node, child: &Node) -> (usize, usize) {
    let downs: Vec<SuperviseDown> = {
        let mut q = parent.courier.down.lock().expect("lock");
        let (mine, rest): (Vec<_>, Vec<_>) = q.drain(..).partition(|(c, _)| *c == child.region);
        *q = rest;
        mine.into_iter().map(|(_, m)| m).collect()
    };
    for m in &downs {
        deliver_down(parent.region, child, m.clone()).await;
    }
    let ups: Vec<SuperviseUp> = child.courier.up.lock().expect("lock").drain(..).collect();
    for m in &ups {
        deliver_up(child.region, parent, m.clone()).await;
    }
    (downs.len(), ups.len())
}

pub async fn deliver_down(from: RegionCode, to: &Node, m: SuperviseDown) {
    match m {
        SuperviseDown::Period { period } => to
            .sup
            .receive_period(from, *period)
            .await
            .expect("receive period"),
        SuperviseDown::Bulletin { bulletin } => to
            .sup
            .receive_bulletin(from, *bulletin)
            .await
            .expect("receive bulletin"),
        other => panic!("not a period or duty message: {other:?}"),
    }
}

pub async fn deliver_up(from: RegionCode, to: &Node, m: SuperviseUp) {
    match m {
        SuperviseUp::SlotReport { report } => to
            .sup
            .receive_slot_report(from, *report)
            .await
            .expect("receive slot report"),
        SuperviseUp::Lesson { lesson } => to
            .sup
            .receive_lesson(from, *lesson)
            .await
            .expect("receive lesson"),
        SuperviseUp::Roster { region, shifts } => to
            .sup
            .receive_roster(from, region, shifts)
            .await
            .expect("receive roster"),
        SuperviseUp::Step { step, files } => to
            .sup
            .receive_step(from, *step, files)
            .await
            .expect("receive step"),
    }
}

/// Now, on a whole minute (so slot arithmetic in the tests reads plainly).
pub fn minute_now() -> Timestamp {
    Timestamp::from_secs(Timestamp::now().secs() / 60 * 60)
}
