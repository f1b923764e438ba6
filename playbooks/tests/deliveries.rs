//! Playbooks against real peers: mail through an SMTP server with STARTTLS and AUTH
//! (aiosmtpd), and webhooks checked by a receiver that verifies each format's signature.

#![allow(clippy::unwrap_used)]

mod peers;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, Incident, IncidentId, IncidentStatus, RegionCode,
    RegionTree, RuleRef, Severity, Timestamp,
};
use onewall_playbooks::outbox::DeliveryQuery;
use onewall_playbooks::{
    DeliveryState, EscalateSettings, NodeAccess, Outbox, Playbooks, ReportSettings, Retry,
    Schedule, Sender, Settings, Signal, SmtpSettings, SmtpTls, playbook,
};
use peers::*;

#[derive(Debug, Default)]
struct FakeNode {
    assigned: Mutex<Vec<(IncidentId, String, String)>>,
    incidents: Vec<Incident>,
    alerts: Vec<Alert>,
}

#[async_trait]
impl NodeAccess for FakeNode {
    async fn assign_team(&self, id: IncidentId, team: &str, actor: &str) -> Result<(), String> {
        self.assigned
            .lock()
            .unwrap()
            .push((id, team.into(), actor.into()));
        Ok(())
    }
    async fn report_data(
        &self,
        _from: Timestamp,
        _to: Timestamp,
    ) -> Result<(Vec<Incident>, Vec<Alert>), String> {
        Ok((self.incidents.clone(), self.alerts.clone()))
    }
}

fn zhengzhou() -> RegionCode {
    "410100".parse().unwrap()
}

fn alert(n: u128, tags: &[&str]) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(n),
        time: Timestamp::now(),
        created: Timestamp::now(),
        rule: RuleRef {
            id: "ssh-brute".into(),
            title: "SSH 暴力破解".into(),
            level: Severity::High,
            status: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        },
        severity: Severity::High,
        event_ids: vec![],
        entities: vec![Entity::new(EntityKind::SourceIp, "10.9.9.9")],
        region: zhengzhou(),
        matched: vec![],
        drill: None,
    }
}

fn incident(n: u128) -> Incident {
    let t = Timestamp::now();
    Incident {
        targets: Vec::new(),
        id: IncidentId::from_u128(n),
        title: "SSH 暴力破解 on web01".into(),
        status: IncidentStatus::New,
        severity: Severity::High,
        group_key: format!("g{n}"),
        region: zhengzhou(),
        regions: vec![zhengzhou()],
        assignee: None,
        team: None,
        entities: vec![Entity::new(EntityKind::Host, "web01")],
        alert_ids: vec![AlertId::from_u128(n)],
        rule_ids: vec!["ssh-brute".into()],
        first_seen: t,
        last_seen: t,
        created: t,
        updated: t,
        parent: None,
        children: vec![],
        classification: Default::default(),
        timeline: vec![],
        drill: None,
    }
}

struct Setup {
    playbooks: Arc<Playbooks>,
    node: Arc<FakeNode>,
    _dir: tempfile::TempDir,
}

fn setup(
    yaml: &[&str],
    smtp: Option<(u16, &Certs)>,
    escalate: Option<String>,
    node: FakeNode,
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let tree = RegionTree::builtin();
    let mut books = Vec::new();
    for (i, y) in yaml.iter().enumerate() {
        books.push(
            playbook::parse(y, &format!("p{i}.yml"), &tree)
                .unwrap()
                .unwrap(),
        );
    }
    let sender = Sender {
        smtp: smtp.map(|(port, certs)| SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::StartTls,
            username: SMTP_USER.into(),
            password: SMTP_PASSWORD.into(),
            from: "一道墙 <onewall@example.org>".parse().unwrap(),
            ca_file: Some(certs.ca.clone()),
        }),
        escalate: escalate.map(|url| EscalateSettings {
            url,
            token: "parent-token".into(),
        }),
        report_to: None,
        timeout: Duration::from_secs(10),
    };
    let settings = Settings {
        node_name: "zz-node".into(),
        node_region: zhengzhou(),
        retry: Retry {
            max_attempts: 3,
            base_secs: 1,
            max_secs: 1,
        },
        sender,
        report: ReportSettings {
            schedule: Schedule::parse("08:00", time::UtcOffset::from_hms(8, 0, 0).unwrap())
                .unwrap(),
            regions: vec![zhengzhou()],
            silent_hours: 24,
            top_rules: 5,
        },
    };
    let outbox = Outbox::open(&dir.path().join("outbox.sqlite")).unwrap();
    let node = Arc::new(node);
    let playbooks = Arc::new(Playbooks::new(settings, books, tree, outbox, node.clone()));
    Setup {
        playbooks,
        node,
        _dir: dir,
    }
}

fn log(p: &Playbooks) -> Vec<onewall_playbooks::DeliveryRecord> {
    p.outbox().list(&DeliveryQuery::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_mail_goes_through_starttls_and_auth_with_a_chinese_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = make_certs(tmp.path());
    let port = free_port();
    let _smtp = smtp(port, &tmp.path().join("mail"), &certs);
    let s = setup(
        &[r#"
id: mail-soc
triggers: [incident_created]
actions:
  - email:
      to: [soc@example.org, 值班 <duty@example.org>]
      subject: "【{{incident.grade}}级 {{incident.grade_zh}}】{{incident.title}}"
      body: "{{summary}}\n处置: {{node.name}}"
"#],
        Some((port, &certs)),
        None,
        FakeNode::default(),
    );
    let inc = incident(1);
    s.playbooks
        .handle(
            Signal::Incident {
                incident: Box::new(inc.clone()),
                alerts: vec![alert(1, &[])],
                created: true,
            },
            Timestamp::now(),
        )
        .await;
    // The same incident signalled again (a replay) is queued once.
    s.playbooks
        .handle(
            Signal::Incident {
                incident: Box::new(inc.clone()),
                alerts: vec![alert(1, &[])],
                created: true,
            },
            Timestamp::now(),
        )
        .await;
    assert_eq!(s.playbooks.deliver_due(Timestamp::now()).await.unwrap(), 1);
    let l = log(&s.playbooks);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].state, DeliveryState::Done, "{:?}", l[0].last_error);
    let mail_dir = tmp.path().join("mail");
    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let m = read_mail(&files[0]);
    assert_eq!(m.subject, "【Ⅱ级 重大】SSH 暴力破解 on web01");
    assert_eq!(m.from, "一道墙 <onewall@example.org>");
    assert!(
        m.to.contains("soc@example.org") && m.to.contains("duty@example.org"),
        "{}",
        m.to
    );
    assert_eq!(m.content_type, "text/plain");
    assert!(m.body.contains(&format!("编号: {}", inc.id)), "{}", m.body);
    assert!(m.body.contains("地区: 410100 郑州市"), "{}", m.body);
    assert!(m.body.contains("处置: zz-node"), "{}", m.body);
    let env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(files[0].with_extension("json")).unwrap()).unwrap();
    assert_eq!(env["tls"], true, "mail went over STARTTLS");
    assert_eq!(env["auth"], true, "mail was sent authenticated");
    assert_eq!(env["mail_from"], "onewall@example.org");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_and_robots_are_signed_as_their_receivers_check() {
    let tmp = tempfile::tempdir().unwrap();
    let hooks = webhooks(&tmp.path().join("hooks"));
    let base = format!("http://127.0.0.1:{}", hooks.port);
    let yaml = format!(
        r#"
id: hooks
triggers: [alert_created]
when: {{ tags: [attack.credential_access] }}
actions:
  - webhook: {{ url: "{base}/generic", secret: "{s}" }}
  - webhook: {{ url: "{base}/dingtalk?access_token=abc", format: dingtalk, secret: "{s}", text: "钉钉 {{{{title}}}}" }}
  - webhook: {{ url: "{base}/wecom?key={k}", format: wecom, text: "企业微信 {{{{alert.rule.title}}}}" }}
  - webhook: {{ url: "{base}/feishu", format: feishu, secret: "{s}", text: "飞书 {{{{title}}}}" }}
  - webhook: {{ url: "{base}/dingtalk?access_token=abc", format: dingtalk, secret: "wrong", text: "x" }}
  - escalate: {{}}
"#,
        s = WEBHOOK_SECRET,
        k = WECOM_KEY
    );
    let s = setup(
        &[&yaml],
        None,
        Some(format!("{base}/escalate")),
        FakeNode::default(),
    );
    // An alert without the tag runs nothing.
    s.playbooks
        .handle(
            Signal::Alerts(vec![alert(1, &["attack.t1110"])]),
            Timestamp::now(),
        )
        .await;
    assert!(log(&s.playbooks).is_empty());
    s.playbooks
        .handle(
            Signal::Alerts(vec![alert(2, &["attack.credential_access"])]),
            Timestamp::now(),
        )
        .await;
    assert_eq!(s.playbooks.deliver_due(Timestamp::now()).await.unwrap(), 6);
    let l = log(&s.playbooks);
    let state = |i: usize| {
        l.iter()
            .find(|r| r.id == l.iter().map(|r| r.id).min().unwrap() + i as i64)
            .unwrap()
    };
    for i in [0, 1, 2, 3, 5] {
        assert_eq!(state(i).state, DeliveryState::Done, "{:?}", state(i));
    }
    // The wrong secret is refused by the robot (errcode in a 200 answer): retried, not done.
    assert_eq!(state(4).state, DeliveryState::Pending);
    assert!(
        state(4)
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("sign not match"),
        "{:?}",
        state(4)
    );
    // The log never shows a robot's key.
    assert!(
        l.iter()
            .all(|r| !r.target.contains(WECOM_KEY) && !r.target.contains("access_token"))
    );

    let recs: Vec<serde_json::Value> = hooks
        .files("json")
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert_eq!(recs.len(), 6);
    let by_path = |p: &str, ok: bool| {
        recs.iter()
            .find(|r| r["path"] == p && r["verified"] == ok)
            .unwrap_or_else(|| panic!("no {p} verified={ok} in {recs:#?}"))
    };
    let g = by_path("/generic", true);
    let body: serde_json::Value = serde_json::from_str(g["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["kind"], "alert_created");
    assert_eq!(body["playbook"], "hooks");
    assert_eq!(body["alert"]["rule"]["id"], "ssh-brute");
    let d = by_path("/dingtalk", true);
    let body: serde_json::Value = serde_json::from_str(d["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["text"]["content"], "钉钉 SSH 暴力破解");
    let w = by_path("/wecom", true);
    let body: serde_json::Value = serde_json::from_str(w["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["text"]["content"], "企业微信 SSH 暴力破解");
    let f = by_path("/feishu", true);
    let body: serde_json::Value = serde_json::from_str(f["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["content"]["text"], "飞书 SSH 暴力破解");
    by_path("/dingtalk", false);
    let e = by_path("/escalate", true);
    let body: serde_json::Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["node"]["name"], "zz-node");
    assert_eq!(body["alert"]["id"], AlertId::from_u128(2).to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_back_off_then_give_up_and_throttling_holds_per_key() {
    let tmp = tempfile::tempdir().unwrap();
    let hooks = webhooks(&tmp.path().join("hooks"));
    let base = format!("http://127.0.0.1:{}", hooks.port);
    let s = setup(
        &[
            &format!(
                "id: failing\ntriggers: [incident_created]\nactions: [{{webhook: {{url: '{base}/fail'}}}}]\n"
            ),
            &format!(
                "id: once\ntriggers: [incident_created, incident_changed]\nthrottle: {{ key: '{{{{incident.region}}}}', seconds: 3600 }}\nactions:\n  - webhook: {{url: '{base}/generic', secret: '{WEBHOOK_SECRET}'}}\n  - assign: {{team: 郑州应急组}}\n"
            ),
        ],
        None,
        None,
        FakeNode::default(),
    );
    for n in 1..=2 {
        s.playbooks
            .handle(
                Signal::Incident {
                    incident: Box::new(incident(n)),
                    alerts: vec![],
                    created: true,
                },
                Timestamp::now(),
            )
            .await;
    }
    // Two incidents in one region: the throttled playbook ran once.
    let assigned = s.node.assigned.lock().unwrap().clone();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].1, "郑州应急组");
    assert_eq!(assigned[0].2, "playbook:once");
    let throttled = s
        .playbooks
        .outbox()
        .list(&DeliveryQuery {
            state: Some(DeliveryState::Throttled),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0].playbook, "once");
    // The failing webhook: three attempts a second apart (base 1 s), then failed.
    let t0 = Timestamp::now();
    let mut attempts = 0;
    for i in 0..3 {
        attempts += s.playbooks.deliver_due(t0.add_secs(i * 2)).await.unwrap();
    }
    // 2 failing + 1 generic on the first pass; then the 2 failing twice more.
    assert_eq!(attempts, 3 + 2 + 2);
    let failed = s
        .playbooks
        .outbox()
        .list(&DeliveryQuery {
            state: Some(DeliveryState::Failed),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|r| r.attempts == 3));
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("HTTP 503"),
        "{:?}",
        failed[0]
    );
    assert_eq!(s.playbooks.deliver_due(t0.add_secs(100)).await.unwrap(), 0);
    let fails = hooks.files("json").len();
    assert_eq!(fails, 2 * 3 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_report_goes_out_by_mail_and_webhook_and_says_zero_on_a_quiet_day() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = make_certs(tmp.path());
    let port = free_port();
    let _smtp = smtp(port, &tmp.path().join("mail"), &certs);
    let hooks = webhooks(&tmp.path().join("hooks"));
    let yaml = format!(
        r#"
id: daily
triggers: [daily_report]
when: {{ region: ["410000"] }}
actions:
  - email: {{ to: [leader@example.org], subject: "{{{{report.region_name}}}} {{{{title}}}}", body: "{{{{report.text}}}}" }}
  - webhook: {{ url: "http://127.0.0.1:{p}/generic", secret: "{s}" }}
"#,
        p = hooks.port,
        s = WEBHOOK_SECRET
    );
    let s = setup(&[&yaml], Some((port, &certs)), None, FakeNode::default());
    let due = Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    assert_eq!(s.playbooks.run_report(due).await.unwrap(), 1);
    // The same report again (a restart at the same time) is not sent twice.
    s.playbooks.run_report(due).await.unwrap();
    assert_eq!(s.playbooks.deliver_due(Timestamp::now()).await.unwrap(), 2);
    let l = log(&s.playbooks);
    assert!(l.iter().all(|r| r.state == DeliveryState::Done), "{l:?}");
    let mails = std::fs::read_dir(tmp.path().join("mail"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect::<Vec<_>>();
    assert_eq!(mails.len(), 1);
    let m = read_mail(&mails[0]);
    assert_eq!(m.subject, "郑州市 【日报】郑州市(410100) 2026-11-28 零报告");
    assert!(m.body.contains("零报告 — no incidents"), "{}", m.body);
    assert!(
        m.body
            .contains("统计时段: 2026-11-27 08:00 — 2026-11-28 08:00"),
        "{}",
        m.body
    );
    let recs = hooks.files("json");
    assert_eq!(recs.len(), 1);
    let rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&recs[0]).unwrap()).unwrap();
    assert_eq!(rec["verified"], true);
    let body: serde_json::Value = serde_json::from_str(rec["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["kind"], "daily_report");
    assert_eq!(body["report"]["region"], "410100");
    assert!(body["text"].as_str().unwrap().contains("零报告"));
}

/// What the receiver's `/redirect`, `/internal` and `/leak` answers carry.
const SECRET_MARKER: &str = "internal-secret-7f3a9c";

/// Regression: a webhook answered 302 to a loopback address; the redirect was followed and
/// what the address answered showed in the delivery log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_follow_no_redirect_and_never_keep_the_receivers_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let hooks = webhooks(&tmp.path().join("hooks"));
    let base = format!("http://127.0.0.1:{}", hooks.port);
    let s = setup(
        &[
            &format!(
                "id: moved\ntriggers: [incident_created]\nactions: [{{webhook: {{url: '{base}/redirect'}}}}]\n"
            ),
            &format!(
                "id: leaky\ntriggers: [incident_created]\nactions: [{{webhook: {{url: '{base}/leak'}}}}]\n"
            ),
        ],
        None,
        None,
        FakeNode::default(),
    );
    s.playbooks
        .handle(
            Signal::Incident {
                incident: Box::new(incident(1)),
                alerts: vec![],
                created: true,
            },
            Timestamp::now(),
        )
        .await;
    let t0 = Timestamp::now();
    for i in 0..3 {
        s.playbooks.deliver_due(t0.add_secs(i * 2)).await.unwrap();
    }
    let l = log(&s.playbooks);
    assert_eq!(l.len(), 2, "{l:?}");
    let of = |p: &str| l.iter().find(|r| r.playbook == p).unwrap();
    let moved = of("moved");
    assert_eq!(moved.state, DeliveryState::Failed, "{moved:?}");
    let e = moved.last_error.as_deref().unwrap();
    assert!(
        e.contains("302") && e.contains("redirects are not followed"),
        "{e}"
    );
    let leaky = of("leaky");
    assert_eq!(leaky.state, DeliveryState::Failed, "{leaky:?}");
    assert!(
        leaky.last_error.as_deref().unwrap().contains("HTTP 500"),
        "{leaky:?}"
    );
    // Nothing a receiver answered is kept where API readers see it.
    for r in &l {
        let e = r.last_error.as_deref().unwrap_or("");
        assert!(!e.contains(SECRET_MARKER) && !e.contains("FORGED"), "{r:?}");
    }
    // The receiver saw three posts to each, and the address redirected to never.
    let paths: Vec<String> = hooks
        .files("json")
        .iter()
        .map(|f| {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            v["path"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(paths.iter().filter(|p| *p == "/redirect").count(), 3);
    assert_eq!(paths.iter().filter(|p| *p == "/leak").count(), 3);
    assert!(!paths.iter().any(|p| p == "/internal"), "{paths:?}");
}
