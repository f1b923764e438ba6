//! Bulletins across three real supervision services (a province and two cities), each with
//! its own `supervise.sqlite`, attachment folder, store and audit log in a temporary
//! directory, wired to each other through a recording courier: the province issues a
//! rectification bulletin, one city signs, answers and rectifies (returned once, then
//! accepted), the other misses its deadlines and both sides raise the same overdue alert.
//! Every node is restarted (reopened from its directory) between steps, every message is
//! delivered twice, and each step is audited once per node.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use onewall_model::bus::{Delivery, NodeEvent, NodeEvents, Subscriber, SupervisionEvent};
use onewall_model::id::BulletinId;
use onewall_model::supervise::{
    BulletinKind, Recipient, RecipientState, StepKind, SuperviseDown, SuperviseUp, WarningLevel,
};
use onewall_model::{RegionCode, RegionTree, Severity, Timestamp};
use onewall_store::audit::AuditLog;
use onewall_store::sqlite::SqliteStore;
use onewall_supervise::bulletins::{BulletinQuery, NewBulletin, OVERDUE_RULE_ID, To, Upload};
use onewall_supervise::{
    Actor, Courier, NodeInfo, Parts, SuperviseError, SuperviseResolved, Supervision,
};

const PROVINCE: u32 = 410000;
const ZHENGZHOU: u32 = 410100;
const KAIFENG: u32 = 410200;

fn code(c: u32) -> RegionCode {
    RegionCode::new(c).expect("code")
}

/// A courier that keeps what it is asked to send, for the test to deliver.
#[derive(Debug, Default)]
struct Wire {
    children: Vec<RegionCode>,
    parent: bool,
    downs: Mutex<Vec<(RegionCode, SuperviseDown)>>,
    ups: Mutex<Vec<SuperviseUp>>,
}

impl Courier for Wire {
    fn children(&self) -> Vec<RegionCode> {
        self.children.clone()
    }
    fn has_parent(&self) -> bool {
        self.parent
    }
    fn down(&self, child: RegionCode, msg: SuperviseDown) -> anyhow::Result<()> {
        self.downs.lock().expect("lock").push((child, msg));
        Ok(())
    }
    fn up(&self, msg: SuperviseUp) -> anyhow::Result<()> {
        self.ups.lock().expect("lock").push(msg);
        Ok(())
    }
}

/// What the node's bus carried.
#[derive(Debug, Default)]
struct Heard(Mutex<Vec<String>>);

impl Subscriber for Heard {
    fn deliver(&self, event: Arc<NodeEvent>) -> Delivery<'_> {
        Box::pin(async move {
            if let NodeEvent::Supervision(e) = &*event {
                let what = match &**e {
                    SupervisionEvent::BulletinReceived { bulletin } => {
                        format!("received {}", bulletin.id)
                    }
                    SupervisionEvent::BulletinStep { step, .. } => {
                        format!("step {} {}", step.kind.name(), step.recipient)
                    }
                    SupervisionEvent::ReportReady(_) => "report".into(),
                };
                self.0.lock().expect("lock").push(what);
            }
        })
    }
}

/// One node: its directory, courier and bus, and the service while it runs.
struct Node {
    dir: PathBuf,
    region: RegionCode,
    wire: Arc<Wire>,
    heard: Arc<Heard>,
    sup: Option<Supervision>,
}

impl Node {
    fn new(root: &Path, region: u32, children: &[u32], parent: bool) -> Node {
        let mut n = Node {
            dir: root.join(region.to_string()),
            region: code(region),
            wire: Arc::new(Wire {
                children: children.iter().map(|c| code(*c)).collect(),
                parent,
                ..Wire::default()
            }),
            heard: Arc::new(Heard::default()),
            sup: None,
        };
        n.start();
        n
    }

    /// Open (again) from the directory: a restart.
    fn start(&mut self) {
        self.sup = None;
        let bus = NodeEvents::new();
        bus.subscribe(self.heard.clone());
        let store = SqliteStore::open(&self.dir.join("store")).expect("store");
        let audit = AuditLog::open(&self.dir).expect("audit log");
        let parts = Parts {
            node: NodeInfo {
                name: format!("node-{}", self.region),
                region: self.region,
            },
            tree: Arc::new(RegionTree::builtin()),
            cfg: SuperviseResolved::default(),
            courier: self.wire.clone(),
            store: Arc::new(store),
            audit: Some(Arc::new(audit)),
            bus,
        };
        self.sup = Some(Supervision::open(&self.dir, parts).expect("open"));
    }

    fn sup(&self) -> &Supervision {
        self.sup.as_ref().expect("running")
    }

    /// The audit actions of bulletin `id`, with their actors, counted.
    fn audited(&self, id: BulletinId) -> BTreeMap<(String, String), usize> {
        let log = AuditLog::open(&self.dir).expect("audit log");
        let mut out = BTreeMap::new();
        for e in log.entries(0, 10_000).expect("entries") {
            if e.record.target == format!("bulletin {id}") {
                *out.entry((e.record.action, e.record.actor)).or_default() += 1;
            }
        }
        out
    }

    fn user(&self, name: &str) -> Actor {
        Actor {
            name: name.into(),
            role: "responder".into(),
            scope: self.region,
            department: None,
            client: "127.0.0.1".into(),
        }
    }
}

/// Deliver every message queued so far, twice (a redelivery must change nothing), and
/// answer how many there were.
async fn pump(province: &Node, cities: &[&Node]) -> usize {
    let downs: Vec<_> = province
        .wire
        .downs
        .lock()
        .expect("lock")
        .drain(..)
        .collect();
    let mut n = downs.len();
    for _ in 0..2 {
        for (child, msg) in &downs {
            let city = cities.iter().find(|c| c.region == *child).expect("a child");
            match msg.clone() {
                SuperviseDown::Bulletin { bulletin } => city
                    .sup()
                    .receive_bulletin(province.region, *bulletin)
                    .await
                    .expect("receive bulletin"),
                SuperviseDown::Step { step } => city
                    .sup()
                    .receive_step(province.region, *step, Vec::new())
                    .await
                    .expect("receive review"),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    for city in cities {
        let ups: Vec<_> = city.wire.ups.lock().expect("lock").drain(..).collect();
        n += ups.len();
        for _ in 0..2 {
            for msg in &ups {
                let SuperviseUp::Step { step, files } = msg.clone() else {
                    panic!("unexpected {msg:?}");
                };
                province
                    .sup()
                    .receive_step(city.region, *step, files)
                    .await
                    .expect("receive step");
            }
        }
    }
    n
}

fn rectification(to: To, deadline: Timestamp) -> NewBulletin {
    NewBulletin {
        title: "关于限期整改 PAN-OS 漏洞的通报".into(),
        level: WarningLevel::Orange,
        kind: BulletinKind::Rectification,
        body: "经监测发现，辖区内存在未修补的 PAN-OS 设备，请于期限内完成整改并报送整改材料。"
            .into(),
        cves: vec!["CVE-2024-3400".into()],
        indicators: vec!["198.51.100.7".into()],
        incidents: vec![],
        to,
        deadline,
        sign_deadline: None,
        rectify_deadline: None,
    }
}

async fn state_of(s: &Supervision, id: BulletinId, r: &Recipient) -> RecipientState {
    let v = s.bulletin(id).await.expect("read").expect("held");
    v.copy(r).expect("copy").state
}

fn region_copy(c: u32) -> Recipient {
    Recipient {
        region: code(c),
        department: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rectification_bulletin_across_three_nodes() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut province = Node::new(root.path(), PROVINCE, &[ZHENGZHOU, KAIFENG], false);
    let mut zz = Node::new(root.path(), ZHENGZHOU, &[], true);
    let mut kf = Node::new(root.path(), KAIFENG, &[], true);
    let now = Timestamp::now();
    let deadline = now.add_secs(3600);

    let view = province
        .sup()
        .issue(
            &province.user("admin"),
            rectification(
                To {
                    regions: vec![code(ZHENGZHOU), code(KAIFENG)],
                    ..To::default()
                },
                deadline,
            ),
        )
        .await
        .expect("issue");
    let id = view.bulletin.id;
    assert!(view.issued_here);
    assert_eq!(view.copies.len(), 2);
    assert_eq!(
        view.bulletin.deadlines.sign, deadline,
        "24 h sign default capped by the deadline"
    );
    assert_eq!(view.bulletin.deadlines.rectify, Some(deadline));
    {
        // Each child gets the bulletin naming only its own recipient.
        let downs = province.wire.downs.lock().expect("lock");
        assert_eq!(downs.len(), 2);
        for (child, msg) in downs.iter() {
            let SuperviseDown::Bulletin { bulletin } = msg else {
                panic!("{msg:?}")
            };
            assert_eq!(bulletin.recipients, vec![region_copy(child.get())]);
        }
    }
    assert_eq!(pump(&province, &[&zz, &kf]).await, 2);
    zz.start();
    kf.start();
    let got = zz
        .sup()
        .bulletin(id)
        .await
        .expect("read")
        .expect("received");
    assert!(!got.issued_here);
    assert_eq!(got.copies.len(), 1);
    assert_eq!(
        zz.heard.0.lock().expect("lock").as_slice(),
        [format!("received {id}")]
    );

    // Zhengzhou: sign, answer affected, rectify with evidence.
    let zz_user = zz.user("zhang");
    let v = zz
        .sup()
        .take_step(&zz_user, id, None, StepKind::Sign, vec![])
        .await
        .expect("sign");
    assert_eq!(v.copies[0].state, RecipientState::Signed);
    let answer = StepKind::Answer {
        affected: true,
        text: "2 台设备受影响".into(),
    };
    zz.sup()
        .take_step(&zz_user, id, None, answer, vec![])
        .await
        .expect("answer");
    let evidence = b"%PDF-1.4 upgrade report".to_vec();
    let upload = Upload {
        name: "C:\\reports\\升级报告.pdf".into(),
        media_type: "application/pdf".into(),
        bytes: evidence.clone(),
    };
    let rectify = StepKind::Rectify {
        text: "已升级至 11.1.2-h3".into(),
        attachments: vec![],
    };
    let v = zz
        .sup()
        .take_step(&zz_user, id, None, rectify.clone(), vec![upload.clone()])
        .await
        .expect("rectify");
    let StepKind::Rectify { attachments, .. } = &v.copies[0].steps[2].kind else {
        panic!("not a rectification")
    };
    assert_eq!(
        attachments[0].name, "升级报告.pdf",
        "the file's name without directories"
    );
    let sha = attachments[0].sha256.clone();
    assert_eq!(sha, onewall_supervise::files::sha256_hex(&evidence));
    assert_eq!(pump(&province, &[&zz, &kf]).await, 3);
    province.start();
    assert_eq!(
        state_of(province.sup(), id, &region_copy(ZHENGZHOU)).await,
        RecipientState::Submitted
    );
    let (a, bytes) = province
        .sup()
        .attachment(id, &sha)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        (a.media_type.as_str(), bytes),
        ("application/pdf", evidence.clone())
    );
    assert!(
        province
            .sup()
            .attachment(id, "../../etc/passwd")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        province
            .sup()
            .attachment(id, &"0".repeat(64))
            .await
            .expect("read")
            .is_none()
    );

    // The city may not review; the province returns it once, with its reason.
    let err = zz
        .sup()
        .take_step(
            &zz_user,
            id,
            Some(region_copy(ZHENGZHOU)),
            StepKind::Review {
                accepted: true,
                reason: String::new(),
            },
            vec![],
        )
        .await
        .expect_err("only the issuer reviews");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
    let admin = province.user("admin");
    let back = StepKind::Review {
        accepted: false,
        reason: "缺少版本截图".into(),
    };
    let v = province
        .sup()
        .take_step(&admin, id, Some(region_copy(ZHENGZHOU)), back, vec![])
        .await
        .expect("return");
    assert_eq!(v.copy(&region_copy(ZHENGZHOU)).expect("copy").returned, 1);
    assert_eq!(pump(&province, &[&zz, &kf]).await, 1);
    zz.start();
    assert_eq!(
        state_of(zz.sup(), id, &region_copy(ZHENGZHOU)).await,
        RecipientState::Returned
    );
    zz.sup()
        .take_step(&zz_user, id, None, rectify, vec![upload])
        .await
        .expect("again");
    pump(&province, &[&zz, &kf]).await;
    let ok = StepKind::Review {
        accepted: true,
        reason: String::new(),
    };
    province
        .sup()
        .take_step(&admin, id, Some(region_copy(ZHENGZHOU)), ok, vec![])
        .await
        .expect("accept");
    pump(&province, &[&zz, &kf]).await;
    for n in [&mut province, &mut zz, &mut kf] {
        n.start();
    }
    assert_eq!(
        state_of(province.sup(), id, &region_copy(ZHENGZHOU)).await,
        RecipientState::Accepted
    );
    assert_eq!(
        state_of(zz.sup(), id, &region_copy(ZHENGZHOU)).await,
        RecipientState::Accepted
    );
    assert_eq!(
        state_of(kf.sup(), id, &region_copy(KAIFENG)).await,
        RecipientState::Issued
    );

    // Kaifeng never signs: past the deadline both sides raise the same alerts, once.
    let later = deadline.add_secs(60);
    let at_province = province
        .sup()
        .check_bulletin_deadlines(later)
        .await
        .expect("check");
    let at_kaifeng = kf
        .sup()
        .check_bulletin_deadlines(later)
        .await
        .expect("check");
    let at_zz = zz
        .sup()
        .check_bulletin_deadlines(later)
        .await
        .expect("check");
    assert!(at_zz.is_empty(), "Zhengzhou met every deadline: {at_zz:?}");
    assert_eq!(at_province.len(), 2, "sign and answer: {at_province:?}");
    let ids = |a: &[onewall_model::Alert]| a.iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(ids(&at_province), ids(&at_kaifeng));
    for a in &at_province {
        assert_eq!(a.rule.id, OVERDUE_RULE_ID);
        assert_eq!(a.region, code(KAIFENG));
        assert_eq!(a.severity, Severity::High, "orange is high");
        assert!(a.rule.title.contains("通报逾期未"), "{}", a.rule.title);
    }
    province.start();
    kf.start();
    assert!(
        province
            .sup()
            .check_bulletin_deadlines(later.add_secs(60))
            .await
            .expect("check")
            .is_empty()
    );
    assert!(
        kf.sup()
            .check_bulletin_deadlines(later.add_secs(60))
            .await
            .expect("check")
            .is_empty()
    );
    let kf_copy = kf.sup().bulletin(id).await.expect("read").expect("held");
    assert_eq!(kf_copy.copies[0].overdue.len(), 2);

    // Every step once in each audit log, with its actor as named where it was taken.
    let one = |action: &str, actor: &str| ((action.to_owned(), actor.to_owned()), 1usize);
    let two = |action: &str, actor: &str| ((action.to_owned(), actor.to_owned()), 2usize);
    let at_p: BTreeMap<_, _> = [
        one("bulletin.issue", "admin"),
        one("bulletin.sign", "remote:410100/zhang"),
        one("bulletin.answer", "remote:410100/zhang"),
        two("bulletin.rectify", "remote:410100/zhang"),
        two("bulletin.review", "admin"),
    ]
    .into_iter()
    .collect();
    assert_eq!(province.audited(id), at_p);
    let at_c: BTreeMap<_, _> = [
        one("bulletin.issue", "remote:410000/admin"),
        one("bulletin.sign", "zhang"),
        one("bulletin.answer", "zhang"),
        two("bulletin.rectify", "zhang"),
        two("bulletin.review", "remote:410000/admin"),
    ]
    .into_iter()
    .collect();
    assert_eq!(zz.audited(id), at_c);
    assert_eq!(kf.audited(id).len(), 1, "Kaifeng only received it");

    // Statistics at the issuer.
    let stats = province
        .sup()
        .bulletin_stats(&BulletinQuery::default(), None, None)
        .await
        .expect("stats");
    assert_eq!(stats.len(), 2);
    let zzs = &stats[0];
    assert_eq!(zzs.recipient, Some(region_copy(ZHENGZHOU)));
    assert_eq!(zzs.name, "郑州市");
    assert_eq!(
        (
            zzs.signed_on_time,
            zzs.answered_on_time,
            zzs.rectified_on_time,
            zzs.accepted,
            zzs.returned,
            zzs.overdue
        ),
        (1, 1, 1, 1, 1, 0)
    );
    let kfs = &stats[1];
    assert_eq!((kfs.bulletins, kfs.signed, kfs.overdue), (1, 0, 2));
}
