//! A periodic report from a real store filled with known incidents and alerts: every figure
//! checked exactly (drills left out and counted), bulletin responses from the real bulletin
//! book, child scores by the documented formula, the .docx read back by python-docx with the
//! same figures in its tables, and kept reports read back whole.

use std::process::Command;
use std::sync::Arc;

use onewall_model::asset::{AlertTarget, Exposure};
use onewall_model::bus::{NodeEvents, SourceSeen};
use onewall_model::id::{DrillId, StepId};
use onewall_model::supervise::{
    BulletinKind, Recipient, Step, StepKind, SuperviseDown, SuperviseUp, WarningLevel,
};
use onewall_model::{
    Alert, Entity, EntityKind, Grade, Incident, IncidentStatus, RegionCode, RegionTree, Severity,
    TimelineEntry, TimelineKind, Timestamp,
};
use onewall_store::Store;
use onewall_store::conformance::{alert, incident};
use onewall_store::sqlite::SqliteStore;
use onewall_supervise::bulletins::{NewBulletin, To};
use onewall_supervise::report::{
    FindingFigures, ReportKind, ReportScope, ReportSources, SlaTargets, Span, ZeroReportRow,
};
use onewall_supervise::{Actor, Courier, NodeInfo, Parts, SuperviseResolved, Supervision, doc};

fn code(c: u32) -> RegionCode {
    RegionCode::new(c).expect("code")
}

/// A province node with two child nodes whose messages are taken and dropped.
#[derive(Debug)]
struct TwoChildren;

impl Courier for TwoChildren {
    fn children(&self) -> Vec<RegionCode> {
        vec![code(410100), code(410200)]
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

struct Sources;

impl ReportSources for Sources {
    fn sla(&self) -> SlaTargets {
        SlaTargets {
            ack_secs: [Some(1800), Some(1800), Some(14_400), Some(86_400)],
        }
    }
    fn zero_reports(&self, _span: &Span, _scope: &ReportScope) -> Vec<ZeroReportRow> {
        vec![
            ZeroReportRow {
                region: code(410100),
                expected: 7,
                on_time: 7,
                late: 0,
                missing: 0,
            },
            ZeroReportRow {
                region: code(410200),
                expected: 7,
                on_time: 5,
                late: 1,
                missing: 1,
            },
        ]
    }
    fn findings(&self, _span: &Span, _scope: &ReportScope) -> Vec<FindingFigures> {
        vec![FindingFigures {
            region: code(410100),
            due: 4,
            fixed_on_time: 3,
            overdue: 1,
        }]
    }
    fn silent_sources(&self, _scope: &ReportScope) -> Vec<SourceSeen> {
        vec![SourceSeen {
            key: "syslog_udp 10.1.2.3".into(),
            region: code(410200),
            last_seen: Timestamp::from_secs(1_764_000_000),
        }]
    }
}

fn changed(at: Timestamp, from: IncidentStatus, to: IncidentStatus) -> TimelineEntry {
    TimelineEntry {
        at,
        actor: "duty".into(),
        change: TimelineKind::StatusChanged { from, to },
    }
}

/// An incident created at `created` in `region`, graded, categorised, and moved through
/// `steps` (seconds after creation, new status).
fn inc(
    created: Timestamp,
    region: u32,
    grade: Option<Grade>,
    category: Option<&str>,
    steps: &[(i64, IncidentStatus)],
) -> Incident {
    let mut i = incident(created.add_secs(100_000), Severity::Low, code(region));
    i.created = created;
    i.first_seen = created;
    i.last_seen = created.add_secs(60);
    i.updated = created.add_secs(60);
    i.classification.grade = grade;
    i.classification.category = category.map(str::to_owned);
    if let Some(g) = grade {
        i.severity = g.severity();
    }
    let mut from = IncidentStatus::New;
    for (s, to) in steps {
        i.timeline.push(changed(created.add_secs(*s), from, *to));
        from = *to;
    }
    i.status = from;
    i
}

fn alert_from(at: Timestamp, rule: &str, ip: &str, region: u32) -> Alert {
    let mut a = alert(at, rule, Severity::High, code(region));
    a.entities = vec![
        Entity::new(EntityKind::SourceIp, ip),
        Entity::new(EntityKind::Host, "web01"),
    ];
    a
}

fn target(dept: &str) -> AlertTarget {
    AlertTarget {
        value: "10.1.1.1".into(),
        host: None,
        system_id: "edu-portal".into(),
        system: "教育门户".into(),
        region: code(410100),
        department: dept.into(),
        ops_unit: String::new(),
        level: Some(3),
        cii: false,
        exposure: Exposure::Internet,
        open_cves: Vec::new(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    sup: Supervision,
    span: Span,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("store")).expect("store"));
    let cfg = SuperviseResolved::default();
    // The week being reported is the current one (bulletins are issued now).
    let span = Span::last_complete(
        ReportKind::Weekly,
        Timestamp::now().add_secs(7 * 86_400),
        cfg.offset,
    );
    let t0 = span.from.add_secs(3600);
    let day = 86_400;
    let mut edu = inc(
        t0,
        410100,
        Some(Grade::II),
        Some("NA"),
        &[
            (600, IncidentStatus::Acknowledged),
            (3600, IncidentStatus::Resolved),
        ],
    );
    edu.targets = vec![target("教育局")];
    let mut drill = inc(
        t0,
        410100,
        Some(Grade::I),
        Some("NA"),
        &[(60, IncidentStatus::Acknowledged)],
    );
    drill.drill = Some(DrillId::new(t0));
    let mut before = inc(span.from.add_secs(-day), 410100, Some(Grade::I), None, &[]);
    before.last_seen = t0;
    before.updated = t0;
    let incidents = vec![
        edu,
        inc(
            t0.add_secs(day),
            410100,
            Some(Grade::IV),
            Some("MP"),
            &[(7200, IncidentStatus::Acknowledged)],
        ),
        inc(
            t0.add_secs(2 * day),
            410200,
            Some(Grade::III),
            None,
            &[
                (18_000, IncidentStatus::Investigating),
                (36_000, IncidentStatus::Closed),
            ],
        ),
        inc(t0.add_secs(3 * day), 410200, None, None, &[]),
        drill,
        before,
    ];
    store.upsert_incidents(incidents).await.expect("incidents");

    let mut alerts = Vec::new();
    for k in 0..3 {
        let mut a = alert_from(t0.add_secs(k * 60), "ssh-brute", "10.0.0.1", 410100);
        if k == 0 {
            a.target = Some(target("教育局"));
        }
        alerts.push(a);
    }
    for k in 0..2 {
        alerts.push(alert_from(
            t0.add_secs(day + k),
            "web-sqli",
            "203.0.113.9",
            410200,
        ));
    }
    for k in 0..2 {
        let mut a = alert_from(t0.add_secs(k), "drill-rule", "10.9.0.5", 410100);
        a.drill = Some(onewall_model::supervise::DrillMark {
            drill: DrillId::new(t0),
            action: None,
        });
        alerts.push(a);
    }
    alerts.push(alert_from(
        span.to.add_secs(10),
        "ssh-brute",
        "10.0.0.1",
        410100,
    ));
    store.write_alerts(alerts).await.expect("alerts");

    let sup = Supervision::open(
        dir.path(),
        Parts {
            node: NodeInfo {
                name: "province".into(),
                region: code(410000),
            },
            tree: Arc::new(RegionTree::builtin()),
            cfg,
            courier: Arc::new(TwoChildren),
            store,
            audit: None,
            bus: NodeEvents::new(),
        },
    )
    .expect("open");
    let actor = Actor {
        name: "admin".into(),
        role: "admin".into(),
        scope: code(410000),
        department: None,
        client: "127.0.0.1".into(),
    };
    let now = Timestamp::now();
    let view = sup
        .issue(
            &actor,
            NewBulletin {
                title: "关于排查某漏洞的通报".into(),
                level: WarningLevel::Orange,
                kind: BulletinKind::Rectification,
                body: "请排查".into(),
                cves: vec![],
                indicators: vec![],
                incidents: vec![],
                to: To {
                    regions: vec![code(410100), code(410200)],
                    ..To::default()
                },
                deadline: now.add_secs(3 * day),
                sign_deadline: None,
                rectify_deadline: None,
            },
        )
        .await
        .expect("issue");
    let sign = Step {
        id: StepId::new(now),
        bulletin: view.bulletin.id,
        recipient: Recipient {
            region: code(410100),
            department: None,
        },
        kind: StepKind::Sign,
        by: "zz".into(),
        node_region: code(410100),
        at: now,
    };
    sup.receive_step(code(410100), sign, vec![])
        .await
        .expect("sign");
    Fixture {
        _dir: dir,
        sup,
        span,
    }
}

#[tokio::test]
async fn a_weekly_report_holds_exactly_what_the_store_holds() {
    let f = fixture().await;
    let scope = f.sup.report_scope(code(410000), None);
    let r = f
        .sup
        .periodic_report(&f.span, &scope, &Sources)
        .await
        .expect("report");

    assert_eq!(r.incidents, 4);
    let grades: Vec<(&str, u64)> = r
        .incidents_by_grade
        .iter()
        .map(|c| (c.key.as_str(), c.count))
        .collect();
    assert_eq!(
        grades,
        [("I", 0), ("II", 1), ("III", 1), ("IV", 1), ("none", 1)]
    );
    let cats: Vec<(&str, &str, u64)> = r
        .incidents_by_category
        .iter()
        .map(|c| (c.key.as_str(), c.label.as_str(), c.count))
        .collect();
    assert_eq!(
        cats,
        [
            ("none", "未分类", 2),
            ("MP", "恶意程序事件", 1),
            ("NA", "网络攻击事件", 1)
        ]
    );
    // Acknowledged after 600, 7200 and 18000 s; resolved or closed after 3600 and 36000 s.
    assert_eq!(r.mtta_secs, Some(8600.0));
    assert_eq!(r.mttr_secs, Some(19_800.0));
    // Ⅱ in 600 s of 1800: met; Ⅳ in 7200 of 86400: met; Ⅲ in 18000 of 14400: not; the
    // ungraded one (Ⅳ by its severity) never acknowledged: not.
    assert_eq!((r.sla_met, r.sla_total), (2, 4));
    assert_eq!(r.alerts, 5);
    assert_eq!(
        (r.drill_alerts_excluded, r.drill_incidents_excluded),
        (2, 1)
    );
    let top: Vec<(&str, u64)> = r
        .top_attackers
        .iter()
        .map(|c| (c.key.as_str(), c.count))
        .collect();
    assert_eq!(top, [("10.0.0.1", 3), ("203.0.113.9", 2)]);
    let rules: Vec<(&str, &str, u64)> = r
        .top_rules
        .iter()
        .map(|c| (c.key.as_str(), c.label.as_str(), c.count))
        .collect();
    assert_eq!(
        rules,
        [
            ("ssh-brute", "rule ssh-brute", 3),
            ("web-sqli", "rule web-sqli", 2)
        ]
    );
    assert_eq!(r.bulletins_issued, 1);
    let signed: Vec<(u32, u32, u32)> = r
        .bulletin_stats
        .iter()
        .map(|s| {
            (
                s.recipient.as_ref().expect("recipient").region.get(),
                s.bulletins,
                s.signed_on_time,
            )
        })
        .collect();
    assert_eq!(signed, [(410100, 1, 1), (410200, 1, 0)]);
    assert_eq!(r.zero_reports.len(), 2);
    assert_eq!(r.silent_sources.len(), 1);

    // 郑州: SLA 2/2, zero reports 7/7, bulletins 1 of 2 steps due on time, findings 3/4:
    // 30 + 20 + 15 + 15 = 80, less 2 for its grade Ⅱ incident.
    let zz = r
        .scores
        .iter()
        .find(|s| s.region == code(410100))
        .expect("410100");
    assert_eq!(
        (zz.sla, zz.zero_report, zz.bulletins, zz.findings),
        (Some(1.0), Some(1.0), Some(0.5), Some(0.75))
    );
    assert_eq!((zz.score, zz.grave_incidents), (78.0, 1));
    // 开封: SLA 0/2, zero reports 5/7, bulletins 0/2, no findings: 20 × 5/7 of 80 → 17.9.
    let kf = r
        .scores
        .iter()
        .find(|s| s.region == code(410200))
        .expect("410200");
    assert_eq!(
        (kf.sla, kf.bulletins, kf.findings),
        (Some(0.0), Some(0.0), None)
    );
    assert_eq!(kf.score, 17.9);
    // A city with no data in the week has nothing held against it.
    let ly = r
        .scores
        .iter()
        .find(|s| s.region == code(410300))
        .expect("410300");
    assert_eq!(ly.score, 100.0);

    let summary = r.summary();
    assert!(
        summary.contains("安全事件 4 起（Ⅰ级 0，Ⅱ级 1）"),
        "{summary}"
    );

    check_docx(&r);
}

#[tokio::test]
async fn a_department_report_keeps_the_departments_incidents_and_alerts() {
    let f = fixture().await;
    let scope = f.sup.report_scope(code(410000), Some("教育局".into()));
    let r = f
        .sup
        .periodic_report(&f.span, &scope, &Sources)
        .await
        .expect("report");
    assert_eq!((r.incidents, r.alerts), (1, 1));
    assert_eq!(r.mtta_secs, Some(600.0));
    assert!(r.title().contains("教育局"), "{}", r.title());
    // No bulletin went to the department.
    assert_eq!(r.bulletins_issued, 0);
}

#[tokio::test]
async fn kept_reports_read_back_whole_and_replace_their_label() {
    let f = fixture().await;
    let scope = f.sup.report_scope(code(410000), None);
    let r = f
        .sup
        .periodic_report(&f.span, &scope, &Sources)
        .await
        .expect("report");
    assert!(f.sup.keep_report(&r).await.expect("keep"));
    assert!(!f.sup.keep_report(&r).await.expect("keep again"));
    let other = f.sup.report_scope(code(410100), None);
    let r2 = f
        .sup
        .periodic_report(&f.span, &other, &Sources)
        .await
        .expect("city report");
    assert!(f.sup.keep_report(&r2).await.expect("keep city"));
    let all = f.sup.kept_reports(&[], 10).await.expect("kept");
    assert_eq!(all.len(), 2);
    assert!(all.contains(&r) && all.contains(&r2));
    let city = f
        .sup
        .kept_reports(&[code(410100)], 10)
        .await
        .expect("kept city");
    assert_eq!(city, vec![r2.clone()]);
    assert_eq!(r2.incidents, 2);
    assert!(
        r2.scores
            .iter()
            .all(|s| f.sup.tree().parent(s.region) == Some(code(410100)))
    );
}

/// The .docx opened by python-docx: the tables hold the report's figures.
fn check_docx(r: &onewall_supervise::report::PeriodicReport) {
    let bytes = doc::docx(&r.to_doc()).expect("docx");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("weekly.docx");
    std::fs::write(&path, bytes).expect("write");
    // Each table as one line: its cells by row, `|` between cells and `;` between rows.
    let script = r#"
import sys, docx
d = docx.Document(sys.argv[1])
for t in d.tables:
    print(";".join("|".join(c.text for c in row.cells) for row in t.rows))
"#;
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("Debian's python3 with python3-docx (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables = String::from_utf8(out.stdout).expect("utf-8");
    let find = |head: &str| {
        tables
            .lines()
            .find(|l| l.starts_with(head))
            .unwrap_or_else(|| panic!("no table starting {head}: {tables}"))
            .to_owned()
    };
    assert!(find("安全事件|").starts_with("安全事件|4;告警|5;"));
    assert_eq!(
        find("级别|"),
        "级别|名称|数量;I|Ⅰ级（特别重大）|0;II|Ⅱ级（重大）|1;III|Ⅲ级（较大）|1;IV|Ⅳ级（一般）|1;none|未定级|1"
    );
    assert_eq!(
        find("类别|"),
        "类别|名称|数量;none|未分类|2;MP|恶意程序事件|1;NA|网络攻击事件|1"
    );
    assert_eq!(
        find("指标|"),
        "指标|数值;平均确认时间（秒）|8600.0;平均处置时间（秒）|19800.0;SLA 按时确认|2;SLA 考核事件|4;SLA 达标率|50.0%"
    );
    assert_eq!(
        find("排名|源地址|"),
        "排名|源地址|告警数;1|10.0.0.1|3;2|203.0.113.9|2"
    );
    assert_eq!(
        find("排名|规则|"),
        "排名|规则|名称|告警数;1|ssh-brute|rule ssh-brute|3;2|web-sqli|rule web-sqli|2"
    );
    assert!(
        find("地区|应报|").contains(";开封市（410200）|7|5|1|1"),
        "{tables}"
    );
    let scores = find("地区|名称|得分|");
    assert!(
        scores.contains(";410100|郑州市|78.0|100.0%|100.0%|50.0%|75.0%|1"),
        "{scores}"
    );
    assert!(
        scores.contains(";410200|开封市|17.9|0.0%|71.4%|0.0%|—|0"),
        "{scores}"
    );
    assert!(
        find("接收单位|").contains(";郑州市|1|1|1|0|0|0|0|0|0|0"),
        "{tables}"
    );
}
