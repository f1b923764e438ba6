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
    /// Refuse every batch of messages for the children (a federation database that fails).
    refuse: std::sync::atomic::AtomicBool,
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
    fn down_all(&self, msgs: Vec<(RegionCode, SuperviseDown)>) -> anyhow::Result<()> {
        if self.refuse.load(std::sync::atomic::Ordering::Relaxed) {
            anyhow::bail!("database is locked");
        }
        self.downs.lock().expect("lock").extend(msgs);
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
    cfg: SuperviseResolved,
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
            cfg: SuperviseResolved::default(),
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
            cfg: self.cfg.clone(),
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

fn notice(to: To) -> NewBulletin {
    NewBulletin {
        kind: BulletinKind::Notice,
        level: WarningLevel::Yellow,
        title: "关于防范勒索软件攻击的预警通报".into(),
        ..rectification(to, Timestamp::now().add_secs(7200))
    }
}

fn invalid_naming(r: Result<impl std::fmt::Debug, SuperviseError>, field: &str) {
    match r {
        Err(SuperviseError::Invalid(m)) => assert!(m.starts_with(field), "{field}: {m}"),
        other => panic!("{field}: expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn issuing_checks_each_field_and_names_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let province = Node::new(root.path(), PROVINCE, &[ZHENGZHOU], false);
    let (s, admin) = (province.sup(), province.user("admin"));
    let to = |regions: &[u32]| To {
        regions: regions.iter().map(|r| code(*r)).collect(),
        ..To::default()
    };
    let ok = notice(to(&[ZHENGZHOU]));
    let past = Timestamp::now().add_secs(-1);
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                title: " ".into(),
                ..ok.clone()
            },
        )
        .await,
        "title",
    );
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                body: String::new(),
                ..ok.clone()
            },
        )
        .await,
        "body",
    );
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                deadline: past,
                ..ok.clone()
            },
        )
        .await,
        "deadline",
    );
    let late_sign = Some(ok.deadline.add_secs(1));
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                sign_deadline: late_sign,
                ..ok.clone()
            },
        )
        .await,
        "sign_deadline",
    );
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                rectify_deadline: Some(ok.deadline),
                ..ok.clone()
            },
        )
        .await,
        "rectify_deadline",
    );
    let early = NewBulletin {
        kind: BulletinKind::Rectification,
        rectify_deadline: Some(ok.deadline.add_secs(-10)),
        ..ok.clone()
    };
    invalid_naming(s.issue(&admin, early).await, "rectify_deadline");
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                cves: vec!["CVE-24-1".into()],
                ..ok.clone()
            },
        )
        .await,
        "cves[0]",
    );
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                to: To::default(),
                ..ok.clone()
            },
        )
        .await,
        "to",
    );
    // A district of a city is not a child of the province; the province is not its own child.
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                to: to(&[ZHENGZHOU, 410102]),
                ..ok.clone()
            },
        )
        .await,
        "to.regions[1]",
    );
    invalid_naming(
        s.issue(
            &admin,
            NewBulletin {
                to: to(&[PROVINCE]),
                ..ok.clone()
            },
        )
        .await,
        "to.regions[0]",
    );
    // Kaifeng is a child in the tree, though not a federation child here: allowed.
    s.issue(
        &admin,
        NewBulletin {
            to: to(&[KAIFENG]),
            ..ok.clone()
        },
    )
    .await
    .expect("tree child");
    // A user scoped to Zhengzhou cannot address Kaifeng; a department's user issues nothing.
    let narrow = Actor {
        scope: code(ZHENGZHOU),
        ..admin.clone()
    };
    let err = s
        .issue(
            &narrow,
            NewBulletin {
                to: to(&[KAIFENG]),
                ..ok.clone()
            },
        )
        .await
        .expect_err("scope");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
    let dept = Actor {
        department: Some("教育厅".into()),
        ..admin.clone()
    };
    let err = s.issue(&dept, ok.clone()).await.expect_err("department");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
    // Nothing refused was kept, sent or audited.
    assert_eq!(
        s.bulletins(&BulletinQuery::default())
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(province.wire.downs.lock().expect("lock").len(), 1);

    // The API's body, as documented.
    let body = serde_json::json!({
        "title": "t", "level": "red", "kind": "rectification", "body": "b",
        "to": {"regions": ["410100"], "departments": ["教育厅"]},
        "deadline": ok.deadline, "rectify_deadline": ok.deadline.add_secs(60),
    });
    let new: NewBulletin = serde_json::from_value(body).expect("the documented body");
    let v = s.issue(&admin, new).await.expect("issue");
    assert_eq!(v.bulletin.level, WarningLevel::Red);
    let recipients: Vec<String> = v.copies.iter().map(|c| c.recipient.to_string()).collect();
    assert_eq!(recipients, ["410100", "410000/教育厅"]);
    let json = serde_json::to_value(&v).expect("json");
    assert_eq!(json["copies"][0]["state"], "issued");
    assert_eq!(json["issued_here"], true);
    let unknown = serde_json::json!({"title": "t", "level": "red", "kind": "notice", "body": "b",
        "to": {}, "deadline": ok.deadline, "urgent": true});
    assert!(
        serde_json::from_value::<NewBulletin>(unknown).is_err(),
        "unknown fields refused"
    );
}

/// A bulletin to two cities whose messages cannot be queued is neither kept nor sent to
/// either city; issued again once the queue takes them, it goes to both.
#[tokio::test]
async fn a_bulletin_is_sent_to_every_child_node_or_to_none() {
    let root = tempfile::tempdir().expect("tempdir");
    let province = Node::new(root.path(), PROVINCE, &[ZHENGZHOU, KAIFENG], false);
    let (s, admin) = (province.sup(), province.user("admin"));
    let both = notice(To {
        regions: vec![code(ZHENGZHOU), code(KAIFENG)],
        ..To::default()
    });
    let ordering = std::sync::atomic::Ordering::Relaxed;
    province.wire.refuse.store(true, ordering);
    let err = s.issue(&admin, both.clone()).await.expect_err("refused");
    assert!(
        err.to_string().contains("child nodes") && err.to_string().contains("locked"),
        "{err}"
    );
    let kept = s.bulletins(&BulletinQuery::default()).await.expect("list");
    assert!(kept.is_empty(), "{kept:?}");
    assert!(province.wire.downs.lock().expect("lock").is_empty());

    province.wire.refuse.store(false, ordering);
    let v = s.issue(&admin, both).await.expect("issued");
    let downs = province.wire.downs.lock().expect("lock");
    let to: Vec<RegionCode> = downs.iter().map(|(c, _)| *c).collect();
    assert_eq!(to, [code(ZHENGZHOU), code(KAIFENG)]);
    assert!(downs.iter().all(|(_, m)| matches!(m,
        SuperviseDown::Bulletin { bulletin } if bulletin.id == v.bulletin.id)));
}

#[tokio::test]
async fn departments_of_the_issuing_node_sign_and_answer_there() {
    let root = tempfile::tempdir().expect("tempdir");
    let province = Node::new(root.path(), PROVINCE, &[ZHENGZHOU], false);
    let s = province.sup();
    let to = To {
        departments: vec!["教育厅".into(), "卫健委".into()],
        ..To::default()
    };
    let id = s
        .issue(&province.user("admin"), notice(to))
        .await
        .expect("issue")
        .bulletin
        .id;
    assert!(
        province.wire.downs.lock().expect("lock").is_empty(),
        "nothing goes down"
    );
    assert_eq!(
        province.heard.0.lock().expect("lock").as_slice(),
        [format!("received {id}")]
    );
    let edu = Actor {
        department: Some("教育厅".into()),
        ..province.user("li")
    };
    let health = Recipient {
        region: code(PROVINCE),
        department: Some("卫健委".into()),
    };
    let err = s
        .take_step(&edu, id, Some(health.clone()), StepKind::Sign, vec![])
        .await
        .expect_err("other department");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
    let err = s
        .take_step(&province.user("admin"), id, None, StepKind::Sign, vec![])
        .await
        .expect_err("no such copy");
    assert!(matches!(err, SuperviseError::NotFound(_)), "{err}");
    let err = s
        .take_step(
            &edu,
            id,
            None,
            StepKind::Sign,
            vec![Upload {
                name: "a.txt".into(),
                media_type: "text/plain".into(),
                bytes: b"x".to_vec(),
            }],
        )
        .await
        .expect_err("files on a signature");
    invalid_naming(Err::<(), _>(err), "attachments");
    s.take_step(&edu, id, None, StepKind::Sign, vec![])
        .await
        .expect("sign");
    let err = s
        .take_step(&edu, id, None, StepKind::Sign, vec![])
        .await
        .expect_err("twice");
    assert!(matches!(err, SuperviseError::Conflict(_)), "{err}");
    assert_eq!(
        s.pending_bulletins(code(PROVINCE)).await.expect("pending"),
        [id]
    );
    let answer = StepKind::Answer {
        affected: false,
        text: "未使用该产品".into(),
    };
    let v = s
        .take_step(&edu, id, None, answer, vec![])
        .await
        .expect("answer");
    assert!(
        province.wire.ups.lock().expect("lock").is_empty(),
        "nothing goes up"
    );
    assert!(v.copies.iter().any(|c| c.is_done(BulletinKind::Notice)));

    // A department's inbox shows its own copy; "open" leaves out what is done.
    let inbox = |department: &str, open_only: bool| BulletinQuery {
        regions: vec![code(PROVINCE)],
        department: Some(department.into()),
        open_only,
        ..BulletinQuery::default()
    };
    let mine = s.bulletins(&inbox("教育厅", false)).await.expect("list");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].copies.len(), 1);
    assert!(
        s.bulletins(&inbox("教育厅", true))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        s.bulletins(&inbox("卫健委", true))
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        s.bulletins(&inbox("公安厅", false))
            .await
            .expect("list")
            .is_empty()
    );
    let received = BulletinQuery {
        issued_here: Some(false),
        ..BulletinQuery::default()
    };
    assert!(s.bulletins(&received).await.expect("list").is_empty());
    assert_eq!(
        s.pending_bulletins(code(PROVINCE)).await.expect("pending"),
        [id],
        "卫健委 still owes"
    );
    let heard = province.heard.0.lock().expect("lock").clone();
    assert_eq!(
        heard[1..],
        [
            "step sign 410000/教育厅".to_owned(),
            "step answer 410000/教育厅".to_owned()
        ]
    );
}

#[tokio::test]
async fn uploads_past_the_limits_are_refused_naming_the_file() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut province = Node::new(root.path(), PROVINCE, &[], false);
    let cfg = onewall_supervise::SuperviseConfig {
        attachment_max_mib: 1,
        step_max_mib: 2,
        ..Default::default()
    };
    province.cfg = cfg.resolve().expect("config");
    province.start();
    let s = province.sup();
    let to = To {
        departments: vec!["网信办".into()],
        ..To::default()
    };
    let new = rectification(to, Timestamp::now().add_secs(3600));
    let id = s
        .issue(&province.user("admin"), new)
        .await
        .expect("issue")
        .bulletin
        .id;
    let user = Actor {
        department: Some("网信办".into()),
        ..province.user("wang")
    };
    s.take_step(&user, id, None, StepKind::Sign, vec![])
        .await
        .expect("sign");
    let answer = StepKind::Answer {
        affected: true,
        text: String::new(),
    };
    s.take_step(&user, id, None, answer, vec![])
        .await
        .expect("answer");
    let file = |name: &str, n: usize| Upload {
        name: name.into(),
        media_type: String::new(),
        bytes: vec![7; n],
    };
    let rectify = StepKind::Rectify {
        text: "已处置".into(),
        attachments: vec![],
    };
    const MIB: usize = 1024 * 1024;
    let err = s
        .take_step(
            &user,
            id,
            None,
            rectify.clone(),
            vec![file("big.bin", MIB + 1)],
        )
        .await
        .expect_err("too large");
    assert!(
        matches!(&err, SuperviseError::TooLarge(m) if m.contains("big.bin")),
        "{err}"
    );
    let three = vec![file("a.bin", MIB), file("b.bin", MIB - 1), file("c.bin", 2)];
    let err = s
        .take_step(&user, id, None, rectify.clone(), three)
        .await
        .expect_err("total");
    assert!(
        matches!(&err, SuperviseError::TooLarge(m) if m.contains("c.bin")),
        "{err}"
    );
    invalid_naming(
        s.take_step(&user, id, None, rectify.clone(), vec![file("../", 1)])
            .await,
        "attachments[0].name",
    );
    let empty = StepKind::Rectify {
        text: " ".into(),
        attachments: vec![],
    };
    invalid_naming(s.take_step(&user, id, None, empty, vec![]).await, "text");
    let v = s
        .take_step(
            &user,
            id,
            None,
            rectify,
            vec![file("a.bin", MIB), file("b.bin", MIB)],
        )
        .await
        .expect("at the limits");
    let StepKind::Rectify { attachments, .. } = &v.copies[0].steps[2].kind else {
        panic!()
    };
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0].media_type, "application/octet-stream");
    assert_eq!(
        attachments[0].sha256, attachments[1].sha256,
        "same bytes, one file kept"
    );
    let kept: Vec<_> = std::fs::read_dir(province.dir.join("supervise/files"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("name"))
        .collect();
    assert_eq!(
        kept,
        [attachments[0].sha256.clone()],
        "no temporary file left"
    );
}

#[tokio::test]
async fn what_other_levels_send_is_refused_when_it_does_not_fit() {
    let root = tempfile::tempdir().expect("tempdir");
    let province = Node::new(root.path(), PROVINCE, &[ZHENGZHOU], false);
    let zz = Node::new(root.path(), ZHENGZHOU, &[], true);
    let to = To {
        regions: vec![code(ZHENGZHOU)],
        ..To::default()
    };
    let new = rectification(to, Timestamp::now().add_secs(3600));
    let id = province
        .sup()
        .issue(&province.user("admin"), new)
        .await
        .expect("issue")
        .bulletin
        .id;
    let (_, SuperviseDown::Bulletin { bulletin }) =
        province.wire.downs.lock().expect("lock")[0].clone()
    else {
        panic!("a bulletin")
    };
    // A bulletin that is not the parent's, or for nobody here, is dropped (not an error).
    let mut forged = (*bulletin).clone();
    forged.issuer = code(KAIFENG);
    zz.sup()
        .receive_bulletin(code(PROVINCE), forged)
        .await
        .expect("dropped");
    let mut elsewhere = (*bulletin).clone();
    elsewhere.recipients = vec![region_copy(KAIFENG)];
    zz.sup()
        .receive_bulletin(code(PROVINCE), elsewhere)
        .await
        .expect("dropped");
    assert!(zz.sup().bulletin(id).await.expect("read").is_none());
    zz.sup()
        .receive_bulletin(code(PROVINCE), *bulletin)
        .await
        .expect("receive");

    let user = zz.user("zhang");
    zz.sup()
        .take_step(&user, id, None, StepKind::Sign, vec![])
        .await
        .expect("sign");
    let answer = StepKind::Answer {
        affected: true,
        text: String::new(),
    };
    zz.sup()
        .take_step(&user, id, None, answer, vec![])
        .await
        .expect("answer");
    let rectify = StepKind::Rectify {
        text: "已整改".into(),
        attachments: vec![],
    };
    let upload = Upload {
        name: "report.txt".into(),
        media_type: "text/plain".into(),
        bytes: b"done".to_vec(),
    };
    zz.sup()
        .take_step(&user, id, None, rectify, vec![upload])
        .await
        .expect("rectify");
    let ups: Vec<_> = zz.wire.ups.lock().expect("lock").drain(..).collect();
    assert_eq!(ups.len(), 3);
    let steps: Vec<_> = ups
        .into_iter()
        .map(|u| match u {
            SuperviseUp::Step { step, files } => (*step, files),
            other => panic!("{other:?}"),
        })
        .collect();
    let p = province.sup();
    // The rectification before its answer: refused by the state, dropped, nothing audited.
    p.receive_step(code(ZHENGZHOU), steps[0].0.clone(), vec![])
        .await
        .expect("sign");
    p.receive_step(code(ZHENGZHOU), steps[2].0.clone(), steps[2].1.clone())
        .await
        .expect("dropped");
    // A step that claims to come from another node, or with bytes that are not its hash.
    p.receive_step(code(KAIFENG), steps[1].0.clone(), vec![])
        .await
        .expect("dropped");
    p.receive_step(code(ZHENGZHOU), steps[1].0.clone(), vec![])
        .await
        .expect("answer");
    let mut tampered = steps[2].1.clone();
    tampered[0].content = "ZXZpbA==".into();
    p.receive_step(code(ZHENGZHOU), steps[2].0.clone(), tampered)
        .await
        .expect("dropped");
    p.receive_step(code(ZHENGZHOU), steps[2].0.clone(), vec![])
        .await
        .expect("dropped, no bytes");
    assert_eq!(
        state_of(p, id, &region_copy(ZHENGZHOU)).await,
        RecipientState::Answered
    );
    let kept = std::fs::read_dir(province.dir.join("supervise/files")).expect("dir");
    assert_eq!(kept.count(), 0, "files of refused steps are not kept");
    p.receive_step(code(ZHENGZHOU), steps[2].0.clone(), steps[2].1.clone())
        .await
        .expect("rectify");
    assert_eq!(
        state_of(p, id, &region_copy(ZHENGZHOU)).await,
        RecipientState::Submitted
    );
    // A review coming up from a child, and a step for a bulletin the parent does not hold.
    let mut review = steps[0].0.clone();
    review.id = onewall_model::id::StepId::now();
    review.kind = StepKind::Review {
        accepted: true,
        reason: String::new(),
    };
    p.receive_step(code(ZHENGZHOU), review, vec![])
        .await
        .expect("dropped");
    let mut stray = steps[0].0.clone();
    stray.id = onewall_model::id::StepId::now();
    stray.bulletin = BulletinId::now();
    p.receive_step(code(ZHENGZHOU), stray, vec![])
        .await
        .expect("dropped");
    assert_eq!(
        state_of(p, id, &region_copy(ZHENGZHOU)).await,
        RecipientState::Submitted
    );
    let audited: usize = province.audited(id).values().sum();
    assert_eq!(
        audited,
        4,
        "issue, sign, answer, rectify: {:?}",
        province.audited(id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signatures_at_once_move_the_copy_once() {
    let root = tempfile::tempdir().expect("tempdir");
    let province = Node::new(root.path(), PROVINCE, &[], false);
    let s = province.sup();
    let to = To {
        departments: vec!["财政厅".into()],
        ..To::default()
    };
    let id = s
        .issue(&province.user("admin"), notice(to))
        .await
        .expect("issue")
        .bulletin
        .id;
    let user = Actor {
        department: Some("财政厅".into()),
        ..province.user("zhao")
    };
    let (a, b) = tokio::join!(
        s.take_step(&user, id, None, StepKind::Sign, vec![]),
        s.take_step(&user, id, None, StepKind::Sign, vec![])
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let v = s.bulletin(id).await.expect("read").expect("held");
    assert_eq!(v.copies[0].steps.len(), 1);
    let audited: usize = province.audited(id).values().sum();
    assert_eq!(audited, 2, "issue and one signature");
}

#[tokio::test]
async fn statistics_keep_to_the_span_and_the_department() {
    let root = tempfile::tempdir().expect("tempdir");
    let province = Node::new(root.path(), PROVINCE, &[], false);
    let s = province.sup();
    let admin = province.user("admin");
    let to = To {
        departments: vec!["教育厅".into(), "卫健委".into()],
        ..To::default()
    };
    let first = s.issue(&admin, notice(to.clone())).await.expect("issue");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = s.issue(&admin, notice(to)).await.expect("issue");
    let edu = Actor {
        department: Some("教育厅".into()),
        ..province.user("li")
    };
    for id in [first.bulletin.id, second.bulletin.id] {
        s.take_step(&edu, id, None, StepKind::Sign, vec![])
            .await
            .expect("sign");
    }
    let all = s
        .bulletin_stats(&BulletinQuery::default(), None, None)
        .await
        .expect("stats");
    let names: Vec<_> = all
        .iter()
        .map(|r| {
            (
                r.recipient.clone().expect("recipient").to_string(),
                r.bulletins,
                r.signed_on_time,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("410000/卫健委".to_owned(), 2, 0),
            ("410000/教育厅".to_owned(), 2, 2)
        ]
    );
    assert!(all.iter().all(|r| r.name == "河南省"));
    let span = s
        .bulletin_stats(
            &BulletinQuery::default(),
            Some(second.bulletin.issued),
            Some(second.bulletin.issued.add_secs(1)),
        )
        .await
        .expect("stats");
    assert!(span.iter().all(|r| r.bulletins == 1), "{span:?}");
    let dept = BulletinQuery {
        department: Some("卫健委".into()),
        ..BulletinQuery::default()
    };
    let mine = s.bulletin_stats(&dept, None, None).await.expect("stats");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].signed, 0);
}
