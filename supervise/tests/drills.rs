//! Drills: scenarios parsed with every mistake named, alerts marked (replayed events by their
//! drill fields, live ones by red-team address, region and window), scoring with a missed
//! action, and the service over a real store and audit log: plan, receive (once), start,
//! report, and a restart that keeps it all.

use std::sync::Arc;

use onewall_model::bus::NodeEvents;
use onewall_model::id::DrillId;
use onewall_model::supervise::{
    DRILL_ACTION_FIELD, DRILL_ID_FIELD, Drill, DrillMark, DrillMode, SuperviseDown, SuperviseUp,
};
use onewall_model::{
    Alert, Entity, EntityKind, Event, Incident, IncidentStatus, Region, RegionCode, RegionLevel,
    RegionTree, Severity, Source, TimelineEntry, TimelineKind, Timestamp,
};
use onewall_store::Store;
use onewall_store::audit::{AuditLog, read_log};
use onewall_store::conformance::{alert, incident};
use onewall_store::sqlite::SqliteStore;
use onewall_supervise::drill::{Marker, Scenario, score};
use onewall_supervise::{Actor, Courier, NodeInfo, Parts, SuperviseError, Supervision, doc};

fn code(c: u32) -> RegionCode {
    RegionCode::new(c).expect("code")
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("time")
}

const SCENARIO: &str = r#"
name: 2026 护网演练 第一轮
regions: ["410100"]
start: 2026-12-07T09:00:00+08:00
end: 2026-12-07T18:00:00+08:00
actions:
  - id: brute
    name: SSH 暴力破解
    at_secs: 0
    technique: T1110
    expect: { rules: ["onewall-ssh-brute-force"] }
    events:
      - "<38>Dec  7 09:00:01 web1 sshd[1]: Failed password for root from 10.9.0.5 port 2222 ssh2"
      - { "message": "login failed", "source.ip": "10.9.0.5" }
  - id: webshell
    name: 上传 WebShell
    at_secs: 600
    expect: { tags: ["attack.t1505.003"] }
    events: ["<38>Dec  7 09:10:00 web1 nginx: POST /upload.php"]
  - id: exfil
    name: 数据外传
    at_secs: 1200
    events: ["<38>Dec  7 09:20:00 db1 kernel: outbound 10.9.0.5"]
"#;

fn parse_err(text: &str) -> String {
    match Scenario::parse(text) {
        Err(SuperviseError::Invalid(m)) => m,
        other => panic!("expected a mistake, got {other:?}"),
    }
}

#[test]
fn a_scenario_reads_from_yaml_and_json() {
    let s = Scenario::parse(SCENARIO).expect("yaml");
    assert_eq!(s.name, "2026 护网演练 第一轮");
    assert_eq!(s.mode, DrillMode::Scenario);
    assert_eq!(s.start, ts("2026-12-07T01:00:00Z"));
    assert_eq!(s.actions.len(), 3);
    assert_eq!(s.actions[0].expect.rules, ["onewall-ssh-brute-force"]);
    assert_eq!(s.actions[0].events.len(), 2);
    assert!(s.actions[0].events[1].is_object());
    assert_eq!(s.actions[1].at_secs, 600);

    let json = r#"{"name":"live","regions":["410100"],"start":"2026-12-07T09:00:00+08:00",
        "end":"2026-12-07T18:00:00+08:00","mode":"live","red_team":["10.9.0.0/16","2001:db8::1"],
        "actions":[{"id":"scan","name":"端口扫描","at_secs":60}]}"#;
    let live = Scenario::parse(json).expect("json");
    assert_eq!(live.mode, DrillMode::Live);
    assert_eq!(live.red_team.len(), 2);
}

#[test]
fn every_mistake_in_a_scenario_is_named() {
    let base = SCENARIO.to_owned();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        ("name: [".into(), "YAML"),
        ("{\"name\": 1,}".into(), "JSON"),
        (base.replace("technique: T1110", "techniqe: T1110"), "unknown field `techniqe`"),
        (base.replace("id: webshell", "id: brute"), "actions[1] (`brute`): the id is used"),
        (base.replace("end: 2026-12-07T18:00", "end: 2026-12-07T08:00"), "`start`"),
        (base.replace("at_secs: 1200", "at_secs: 32400"), "actions[2] (`exfil`): `at_secs` 32400"),
        (base.replace("    at_secs: 600\n", "    at_secs: 600\n    region: \"410200\"\n"), "`region` 410200"),
        (base.replace("regions: [\"410100\"]", "regions: []"), "`regions` is empty"),
        (base.replace("start: 2026-12-07T09:00:00+08:00", "start: tomorrow"), "tomorrow"),
        (base.replace("regions: [\"410100\"]", "regions: [\"12\"]"), "regions"),
        (
            base.replace("    events: [\"<38>Dec  7 09:20:00 db1 kernel: outbound 10.9.0.5\"]\n", ""),
            "actions[2] (`exfil`): no `events`",
        ),
        (base.replace("events: [\"<38>Dec  7 09:10:00 web1 nginx: POST /upload.php\"]", "events: [42]"), "events[0] is neither"),
        (base.replace("actions:", "mode: live\nred_team: [\"10.9.0.0/16\"]\nactions:"), "a live drill replays no events"),
        (base.replace("actions:", "red_team: [\"10.9.0.0/40\"]\nactions:"), "red_team[0]: `10.9.0.0/40`"),
        (
            r#"{"name":"x","regions":["410100"],"start":"2026-12-07T09:00:00Z","end":"2026-12-07T10:00:00Z","mode":"live","actions":[{"id":"a","name":"b"}]}"#.into(),
            "needs `red_team`",
        ),
        (
            r#"{"name":"x","regions":["410100"],"start":"2026-12-07T09:00:00Z","end":"2026-12-07T10:00:00Z","actions":[]}"#.into(),
            "`actions` is empty",
        ),
    ];
    for (text, want) in cases {
        assert!(
            Scenario::parse(&text).is_err(),
            "accepted, wanted {want:?}: {text}"
        );
        let m = parse_err(&text);
        assert!(m.contains(want), "wanted {want:?} in: {m}");
        assert!(m.starts_with("drill scenario: "), "{m}");
    }
    // A YAML mistake names its line.
    let m = parse_err("name: x\nregions: [\"410100\"\nstart: 1\n");
    assert!(m.contains("line"), "{m}");
}

fn drill_of(s: Scenario) -> Drill {
    Drill {
        id: DrillId::new(s.start),
        name: s.name,
        regions: s.regions,
        start: s.start,
        end: s.end,
        mode: s.mode,
        red_team: s.red_team,
        actions: s.actions,
        issuer: code(410000),
        by: "admin".into(),
        created: s.start,
        started: None,
    }
}

fn event(fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(
        ts("2026-12-07T01:00:01Z"),
        code(410100),
        Source::new("replay", None),
        b"x",
    );
    for (k, v) in fields {
        e.fields.insert(k, *v);
    }
    e
}

fn alert_at(at: Timestamp, rule: &str, region: u32, ip: &str) -> Alert {
    let mut a = alert(at, rule, Severity::High, code(region));
    a.created = at;
    a.entities = vec![Entity::new(EntityKind::SourceIp, ip)];
    a.rule.tags = vec!["attack.T1505.003".into()];
    a
}

#[test]
fn replayed_events_and_live_red_team_alerts_are_marked() {
    let replay = drill_of(Scenario::parse(SCENARIO).expect("scenario"));
    let live = drill_of(
        Scenario::parse(
            r#"{"name":"live","regions":["410100"],"start":"2026-12-08T09:00:00+08:00",
            "end":"2026-12-08T18:00:00+08:00","mode":"live","red_team":["10.9.0.0/16"],
            "actions":[{"id":"scan","name":"扫描","at_secs":0},
                       {"id":"shell","name":"WebShell","at_secs":3600,"expect":{"tags":["attack.t1505.003"]}}]}"#,
        )
        .expect("live"),
    );
    let m = Marker::new(vec![replay.clone(), live.clone()]);
    assert!(!m.is_empty() && Marker::default().is_empty());

    let a = alert_at(
        ts("2026-12-07T01:00:05Z"),
        "onewall-ssh-brute-force",
        410100,
        "10.9.0.5",
    );
    let id = replay.id.to_string();
    let marked = event(&[(DRILL_ID_FIELD, &id), (DRILL_ACTION_FIELD, "brute")]);
    let plain = event(&[("message", "x")]);
    assert_eq!(
        m.mark(&a, &[&plain, &marked]),
        Some(DrillMark {
            drill: replay.id,
            action: Some("brute".into())
        })
    );
    // A drill id this node does not hold marks nothing; nor does an alert with no drill
    // fields outside every live drill.
    let stranger = event(&[(DRILL_ID_FIELD, "01ARZ3NDEKTSV4RRFFQ69G5FAV")]);
    assert_eq!(m.mark(&a, &[&stranger]), None);
    assert_eq!(m.mark(&a, &[&plain]), None);

    // Live: in the window, in the region (a county of it), naming a red-team address.
    let in_live = |at: &str, region: u32, ip: &str| alert_at(ts(at), "any", region, ip);
    let early = in_live("2026-12-08T01:30:00Z", 410102, "10.9.3.3");
    assert_eq!(
        m.mark(&early, &[]),
        Some(DrillMark {
            drill: live.id,
            action: Some("scan".into())
        })
    );
    // After the second action, an alert meeting its `expect` is that action's.
    let later = in_live("2026-12-08T02:30:00Z", 410100, "10.9.3.3");
    assert_eq!(
        m.mark(&later, &[]),
        Some(DrillMark {
            drill: live.id,
            action: Some("shell".into())
        })
    );
    assert_eq!(
        m.mark(&in_live("2026-12-08T01:30:00Z", 410200, "10.9.3.3"), &[]),
        None,
        "region"
    );
    assert_eq!(
        m.mark(&in_live("2026-12-08T11:00:00Z", 410100, "10.9.3.3"), &[]),
        None,
        "window"
    );
    assert_eq!(
        m.mark(&in_live("2026-12-08T01:30:00Z", 410100, "10.8.0.1"), &[]),
        None,
        "address"
    );
    // The address may be in the events rather than the alert's entities.
    let mut no_entities = in_live("2026-12-08T01:30:00Z", 410100, "10.8.0.1");
    no_entities.entities.clear();
    let ev = event(&[("source.ip", "10.9.0.7")]);
    assert_eq!(m.mark(&no_entities, &[&ev]).map(|d| d.drill), Some(live.id));
}

fn acknowledged(mut i: Incident, at: Timestamp) -> Incident {
    i.timeline.push(TimelineEntry {
        at,
        actor: "duty".into(),
        change: TimelineKind::StatusChanged {
            from: IncidentStatus::New,
            to: IncidentStatus::Acknowledged,
        },
    });
    i.status = IncidentStatus::Acknowledged;
    i
}

fn marked(a: Alert, drill: DrillId, action: &str) -> Alert {
    let mut a = a;
    a.drill = Some(DrillMark {
        drill,
        action: Some(action.into()),
    });
    a
}

#[test]
fn scoring_times_each_action_and_names_the_missed_one() {
    let mut d = drill_of(Scenario::parse(SCENARIO).expect("scenario"));
    let started = ts("2026-12-07T01:05:00Z");
    d.started = Some(started);
    let a1 = marked(
        alert_at(
            started.add_secs(30),
            "onewall-ssh-brute-force",
            410100,
            "10.9.0.5",
        ),
        d.id,
        "brute",
    );
    let a1b = marked(
        alert_at(
            started.add_secs(90),
            "onewall-ssh-brute-force",
            410100,
            "10.9.0.5",
        ),
        d.id,
        "brute",
    );
    let a2 = marked(
        alert_at(
            started.add_secs(600 + 120),
            "webshell-upload",
            410100,
            "10.9.0.5",
        ),
        d.id,
        "webshell",
    );
    let real = alert_at(
        started.add_secs(40),
        "onewall-ssh-brute-force",
        410100,
        "10.9.0.5",
    );
    let mut inc = acknowledged(
        incident(started.add_secs(3600), Severity::High, code(410100)),
        started.add_secs(330),
    );
    inc.alert_ids = vec![a1b.id];
    // An incident of a real alert, acknowledged earlier, is not the drill's response.
    let mut other = acknowledged(
        incident(started.add_secs(3600), Severity::High, code(410100)),
        started.add_secs(50),
    );
    other.alert_ids = vec![real.id];
    let alerts = vec![a1, a1b, a2, real];
    let incidents = vec![inc, other];

    // Before the end, the undetected action is still open.
    let during = score(&d, &alerts, &incidents, ts("2026-12-07T05:00:00Z"));
    assert_eq!((during.detected, during.missed), (2, 0));
    assert!(!during.actions[2].missed);

    let r = score(&d, &alerts, &incidents, ts("2026-12-07T12:00:00Z"));
    let brute = &r.actions[0];
    assert_eq!(brute.executed, started);
    assert_eq!(
        (brute.detect_secs, brute.respond_secs, brute.alerts),
        (Some(30), Some(330), 2)
    );
    assert!(brute.expected_matched && !brute.missed);
    let shell = &r.actions[1];
    assert_eq!((shell.detect_secs, shell.respond_secs), (Some(120), None));
    assert!(shell.expected_matched, "its tag matches case-insensitively");
    let exfil = &r.actions[2];
    assert!(exfil.missed && exfil.detected.is_none() && exfil.alerts == 0);
    assert_eq!((r.detected, r.missed), (2, 1));
    assert_eq!(r.mean_detect_secs, Some(75.0));
    assert_eq!(r.mean_respond_secs, Some(330.0));
    assert_eq!(r.score, 66.7);

    let html = doc::html(&r.to_doc());
    assert!(html.contains("<td>exfil</td><td>数据外传</td>"), "{html}");
    assert!(html.contains("<td>未发现</td>"));
    assert!(doc::docx(&r.to_doc()).expect("docx").starts_with(b"PK"));
}

/// A city node with one county child; what it sends down is recorded.
#[derive(Debug, Default)]
struct OneChild {
    sent: std::sync::Mutex<Vec<(RegionCode, SuperviseDown)>>,
}

impl Courier for OneChild {
    fn children(&self) -> Vec<RegionCode> {
        vec![code(410102), code(410105)]
    }
    fn has_parent(&self) -> bool {
        true
    }
    fn down(&self, child: RegionCode, msg: SuperviseDown) -> anyhow::Result<()> {
        self.sent.lock().expect("lock").push((child, msg));
        Ok(())
    }
    fn up(&self, _msg: SuperviseUp) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Henan's cities and two counties of Zhengzhou.
fn tree() -> RegionTree {
    let mut t = RegionTree::builtin();
    for (c, name) in [(410102, "中原区"), (410105, "金水区")] {
        t.add(Region {
            code: code(c),
            parent: Some(code(410100)),
            level: RegionLevel::County,
            name: name.into(),
            name_en: None,
        })
        .expect("county");
    }
    t
}

fn open(dir: &std::path::Path, store: Arc<dyn Store>, courier: Arc<OneChild>) -> Supervision {
    Supervision::open(
        dir,
        Parts {
            node: NodeInfo {
                name: "zhengzhou".into(),
                region: code(410100),
            },
            tree: Arc::new(tree()),
            cfg: Default::default(),
            courier,
            store,
            audit: Some(Arc::new(AuditLog::open(&dir.join("audit")).expect("audit"))),
            bus: NodeEvents::new(),
        },
    )
    .expect("open")
}

#[tokio::test]
async fn a_drill_is_planned_started_reported_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("store")).expect("store"));
    let courier = Arc::new(OneChild::default());
    let sup = open(dir.path(), store.clone(), courier.clone());
    let actor = Actor {
        name: "lead".into(),
        role: "admin".into(),
        scope: code(410100),
        department: None,
        client: "127.0.0.1".into(),
    };
    let now = Timestamp::now();
    let text = SCENARIO
        .replace(
            "2026-12-07T09:00:00+08:00",
            &now.add_secs(-600).to_rfc3339(),
        )
        .replace(
            "2026-12-07T18:00:00+08:00",
            &now.add_secs(7200).to_rfc3339(),
        )
        .replace("regions: [\"410100\"]", "regions: [\"410102\"]");
    let d = sup
        .plan_drill(&actor, Scenario::parse(&text).expect("scenario"))
        .await
        .expect("plan");
    assert_eq!(sup.drills(), vec![d.clone()]);
    assert_eq!(sup.drill(d.id), Some(d.clone()));
    // Sent to the county it covers, not to the other child.
    let sent: Vec<RegionCode> = courier
        .sent
        .lock()
        .expect("lock")
        .iter()
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(sent, [code(410102)]);
    // Outside the actor's scope, it is refused.
    let mut other = Scenario::parse(&text).expect("scenario");
    other.regions = vec![code(410200)];
    assert!(matches!(
        sup.plan_drill(&actor, other).await,
        Err(SuperviseError::Forbidden(_))
    ));

    let started = now.add_secs(-60);
    let s = sup.start_drill(&actor, d.id, started).await.expect("start");
    assert_eq!(s.started, Some(started));
    assert!(matches!(
        sup.start_drill(&actor, d.id, now).await,
        Err(SuperviseError::Conflict(_))
    ));
    assert!(
        sup.marker()
            .mark(&alert_at(now, "x", 410102, "1.1.1.1"), &[])
            .is_none()
    );

    // A drill from the parent, delivered twice, is kept once.
    let mut from_parent = d.clone();
    from_parent.id = DrillId::new(now.add_secs(1));
    from_parent.by = "province-admin".into();
    sup.receive_drill(code(410000), from_parent.clone())
        .await
        .expect("receive");
    sup.receive_drill(code(410000), from_parent.clone())
        .await
        .expect("receive again");
    assert_eq!(sup.drills().len(), 2);

    let a1 = marked(
        alert_at(
            started.add_secs(20),
            "onewall-ssh-brute-force",
            410102,
            "10.9.0.5",
        ),
        d.id,
        "brute",
    );
    let other_drill = marked(
        alert_at(started.add_secs(25), "x", 410102, "10.9.0.5"),
        from_parent.id,
        "brute",
    );
    let real = alert_at(
        started.add_secs(21),
        "onewall-ssh-brute-force",
        410102,
        "10.9.0.5",
    );
    let mut inc = acknowledged(
        incident(now, Severity::High, code(410102)),
        started.add_secs(200),
    );
    inc.alert_ids = vec![a1.id];
    inc.drill = Some(d.id);
    inc.last_seen = started.add_secs(20);
    store
        .write_alerts(vec![a1, other_drill, real])
        .await
        .expect("alerts");
    store.upsert_incidents(vec![inc]).await.expect("incident");

    drop(sup);
    let sup = open(dir.path(), store, courier);
    assert_eq!(
        sup.drill(d.id).and_then(|d| d.started),
        Some(started),
        "kept across a restart"
    );
    let r = sup.drill_report(d.id, now).await.expect("report");
    assert_eq!(r.actions[0].alerts, 1, "only alerts marked with this drill");
    assert_eq!(
        (r.actions[0].detect_secs, r.actions[0].respond_secs),
        (Some(20), Some(200))
    );
    assert_eq!((r.detected, r.missed), (1, 0), "the window is still open");
    assert!(matches!(
        sup.drill_report(DrillId::new(now), now).await,
        Err(SuperviseError::NotFound(_))
    ));

    let log = read_log(&dir.path().join("audit"), 0, 100).expect("audit log");
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.record.action.as_str(), e.record.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("drill.plan", "lead"),
            ("drill.start", "lead"),
            ("drill.plan", "remote:410000/province-admin"),
        ]
    );
}
