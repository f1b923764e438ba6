//! Playbooks for supervision against real peers: a scheduled report mailed to whoever is on
//! duty with its HTML as the body and its .docx attached (aiosmtpd), robots mentioning the
//! people on duty by phone and a received bulletin posted to a robot (the webhook receiver
//! that checks each vendor's format), and a mail to nobody when nobody is on duty.

#![allow(clippy::unwrap_used)]

mod peers;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use onewall_model::bus::ReadyReport;
use onewall_model::id::BulletinId;
use onewall_model::supervise::{
    Bulletin, BulletinKind, Deadlines, DutyRole, OnDuty, Recipient, WarningLevel,
};
use onewall_model::{Alert, Incident, IncidentId, RegionCode, RegionTree, Timestamp};
use onewall_playbooks::outbox::DeliveryQuery;
use onewall_playbooks::{
    DeliveryState, NodeAccess, Outbox, Playbooks, ReportSettings, Retry, Schedule, Sender,
    Settings, Signal, SmtpSettings, SmtpTls, playbook,
};
use peers::*;

/// A node whose roster has `on_duty` on duty in Zhengzhou, nobody elsewhere.
#[derive(Debug, Default)]
struct RosterNode {
    on_duty: Vec<OnDuty>,
}

#[async_trait]
impl NodeAccess for RosterNode {
    async fn assign_team(&self, _: IncidentId, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    async fn report_data(
        &self,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<(Vec<Incident>, Vec<Alert>), String> {
        Ok((Vec::new(), Vec::new()))
    }
    async fn on_duty(&self, region: RegionCode, _at: Timestamp) -> Vec<OnDuty> {
        if region == zhengzhou() {
            self.on_duty.clone()
        } else {
            Vec::new()
        }
    }
}

fn zhengzhou() -> RegionCode {
    "410100".parse().unwrap()
}

fn people() -> Vec<OnDuty> {
    vec![
        OnDuty {
            name: "张值班".into(),
            user: None,
            phone: "13800000001".into(),
            email: "zhang@example.org".into(),
            role: DutyRole::Leader,
        },
        OnDuty {
            name: "李值班".into(),
            user: Some("li".into()),
            phone: "13800000002".into(),
            email: "li@example.org".into(),
            role: DutyRole::Member,
        },
    ]
}

fn playbooks(yaml: &[&str], smtp: Option<(u16, &Certs)>, node: RosterNode) -> Arc<Playbooks> {
    let dir = tempfile::tempdir().unwrap().keep();
    let tree = RegionTree::builtin();
    let books = yaml
        .iter()
        .enumerate()
        .map(|(i, y)| {
            playbook::parse(y, &format!("p{i}.yml"), &tree)
                .unwrap()
                .unwrap()
        })
        .collect();
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
        escalate: None,
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
    let outbox = Outbox::open(&dir.join("outbox.sqlite")).unwrap();
    Arc::new(Playbooks::new(
        settings,
        books,
        tree,
        outbox,
        Arc::new(node),
    ))
}

fn ready(kind: &str, label: &str, docx: Vec<u8>) -> ReadyReport {
    ReadyReport {
        kind: kind.into(),
        region: zhengzhou(),
        department: None,
        label: label.into(),
        title: format!("郑州市 网络安全周报 {label}"),
        summary: "事件 3 起（Ⅱ级 1 起），告警 12 条".into(),
        html: Arc::new("<html><body><h1>网络安全周报</h1><table><tr><td>事件</td><td>3</td></tr></table></body></html>".into()),
        docx: Arc::new(docx),
        path: format!("/api/v1/reports/periodic?kind={kind}&label={label}&region=410100&format=docx"),
    }
}

fn log(p: &Playbooks) -> Vec<onewall_playbooks::DeliveryRecord> {
    p.outbox().list(&DeliveryQuery::default()).unwrap()
}

/// The parts of a multipart mail, as Python's `email` package reads them.
fn mail_parts(path: &std::path::Path) -> serde_json::Value {
    let script = r#"
import email, json, sys, hashlib
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
parts = []
for p in m.walk():
    if p.is_multipart():
        continue
    d = {'type': p.get_content_type(), 'filename': p.get_filename()}
    if p.get_content_maintype() == 'text':
        d['text'] = p.get_content()
    else:
        b = p.get_content()
        d['sha256'] = hashlib.sha256(b).hexdigest()
        d['size'] = len(b)
    parts.append(d)
print(json.dumps({'subject': str(m['subject']), 'to': str(m['to']), 'type': m.get_content_type(), 'parts': parts}))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sha256_hex(b: &[u8]) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weekly_report_is_mailed_to_whoever_is_on_duty_with_its_docx_and_robots_mention_them() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = make_certs(tmp.path());
    let port = free_port();
    let _smtp = smtp(port, &tmp.path().join("mail"), &certs);
    let hooks = webhooks(&tmp.path().join("hooks"));
    let base = format!("http://127.0.0.1:{}", hooks.port);
    let yaml = format!(
        r#"
id: weekly-to-duty
triggers: [report]
when: {{ kind: [weekly] }}
actions:
  - email:
      to: [on_duty, soc@example.org]
      subject: "{{{{report.title}}}}"
  - webhook: {{ url: "{base}/dingtalk?access_token=abc", format: dingtalk, secret: "{s}", mention: on_duty }}
  - webhook: {{ url: "{base}/wecom?key={k}", format: wecom, mention: on_duty, text: "{{{{report.title}}}} {{{{report.path}}}}" }}
"#,
        s = WEBHOOK_SECRET,
        k = WECOM_KEY
    );
    let p = playbooks(
        &[&yaml],
        Some((port, &certs)),
        RosterNode { on_duty: people() },
    );
    // Bytes that stand for the document: the mail must carry them unchanged.
    let docx: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    // A monthly report runs nothing (the playbook wants weekly ones).
    p.handle(
        Signal::Ready(Box::new(ready("monthly", "2026-11", docx.clone()))),
        Timestamp::now(),
    )
    .await;
    assert!(log(&p).is_empty(), "{:?}", log(&p));
    p.handle(
        Signal::Ready(Box::new(ready("weekly", "2026-W49", docx.clone()))),
        Timestamp::now(),
    )
    .await;
    assert_eq!(p.deliver_due(Timestamp::now()).await.unwrap(), 3);
    let l = log(&p);
    assert!(l.iter().all(|r| r.state == DeliveryState::Done), "{:#?}", l);
    let mail = l.iter().find(|r| r.action == "email").unwrap();
    assert_eq!(
        mail.target,
        "zhang@example.org, li@example.org, soc@example.org"
    );

    let files = peers_files(&tmp.path().join("mail"), "eml");
    assert_eq!(files.len(), 1);
    let m = mail_parts(&files[0]);
    assert_eq!(m["subject"], "郑州市 网络安全周报 2026-W49");
    let to = m["to"].as_str().unwrap();
    for who in ["zhang@example.org", "li@example.org", "soc@example.org"] {
        assert!(to.contains(who), "{to}");
    }
    assert_eq!(m["type"], "multipart/mixed");
    let parts = m["parts"].as_array().unwrap();
    let part = |t: &str| {
        parts
            .iter()
            .find(|p| p["type"] == t)
            .unwrap_or_else(|| panic!("no {t} part in {parts:#?}"))
    };
    assert!(
        part("text/plain")["text"]
            .as_str()
            .unwrap()
            .contains("事件 3 起"),
        "{parts:#?}"
    );
    assert!(
        part("text/html")["text"]
            .as_str()
            .unwrap()
            .contains("<h1>网络安全周报</h1>")
    );
    let doc = part("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    assert_eq!(doc["filename"], "onewall-weekly-410100-2026-W49.docx");
    assert_eq!(doc["size"], docx.len());
    assert_eq!(doc["sha256"].as_str().unwrap(), sha256_hex(&docx));

    let recs: Vec<serde_json::Value> = hooks
        .files("json")
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect();
    let body = |path: &str| -> serde_json::Value {
        let r = recs
            .iter()
            .find(|r| r["path"] == path)
            .unwrap_or_else(|| panic!("no {path} in {recs:#?}"));
        assert_eq!(r["verified"], true, "{r:#?}");
        serde_json::from_str(r["body"].as_str().unwrap()).unwrap()
    };
    let d = body("/dingtalk");
    assert_eq!(
        d["at"]["atMobiles"],
        serde_json::json!(["13800000001", "13800000002"])
    );
    let text = d["text"]["content"].as_str().unwrap();
    assert!(text.contains("事件 3 起"), "{text}");
    assert!(
        text.contains("/api/v1/reports/periodic?kind=weekly"),
        "{text}"
    );
    assert!(text.contains("@13800000001 @13800000002"), "{text}");
    let w = body("/wecom");
    assert_eq!(
        w["text"]["mentioned_mobile_list"],
        serde_json::json!(["13800000001", "13800000002"])
    );
    assert_eq!(
        w["text"]["content"],
        "郑州市 网络安全周报 2026-W49 /api/v1/reports/periodic?kind=weekly&label=2026-W49&region=410100&format=docx"
    );
}

fn peers_files(dir: &std::path::Path, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

fn bulletin() -> Bulletin {
    let now = Timestamp::now();
    Bulletin {
        id: BulletinId::new(now),
        issuer: "410000".parse().unwrap(),
        issuer_node: "henan".into(),
        title: "关于 CVE-2024-3400 的整改通报".into(),
        level: WarningLevel::Orange,
        kind: BulletinKind::Rectification,
        body: "请立即排查 PAN-OS GlobalProtect".into(),
        cves: vec!["CVE-2024-3400".into()],
        indicators: vec![],
        incidents: vec![],
        deadlines: Deadlines {
            sign: now.add_secs(3_600),
            answer: now.add_secs(86_400),
            rectify: Some(now.add_secs(7 * 86_400)),
        },
        recipients: vec![Recipient {
            region: zhengzhou(),
            department: None,
        }],
        period: None,
        by: "admin".into(),
        issued: now,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_received_bulletin_reaches_the_duty_robot_and_a_mail_to_nobody_on_duty_fails_saying_so() {
    let tmp = tempfile::tempdir().unwrap();
    let hooks = webhooks(&tmp.path().join("hooks"));
    let base = format!("http://127.0.0.1:{}", hooks.port);
    let yaml = format!(
        r#"
id: bulletin-to-duty
triggers: [bulletin]
actions:
  - webhook: {{ url: "{base}/dingtalk?access_token=abc", format: dingtalk, secret: "{s}", mention: on_duty }}
  - email: {{ to: [on_duty] }}
"#,
        s = WEBHOOK_SECRET,
    );
    // Nobody on duty: the robot posts without mentions, the mail has no recipient.
    let p = playbooks(&[&yaml], None, RosterNode::default());
    let b = bulletin();
    p.handle(Signal::Bulletin(Box::new(b.clone())), Timestamp::now())
        .await;
    assert_eq!(p.deliver_due(Timestamp::now()).await.unwrap(), 1);
    let l = log(&p);
    let mail = l.iter().find(|r| r.action == "email").unwrap();
    assert_eq!(mail.state, DeliveryState::Failed);
    assert!(
        mail.last_error
            .as_deref()
            .unwrap_or("")
            .contains("nobody is on duty in region 410100"),
        "{mail:?}"
    );
    let robot = l.iter().find(|r| r.action == "webhook").unwrap();
    assert_eq!(robot.state, DeliveryState::Done, "{robot:?}");
    assert_eq!(robot.subject, format!("bulletin:{}:410100", b.id));
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&hooks.files("json")[0]).unwrap()).unwrap();
    assert_eq!(rec["verified"], true, "{rec:#?}");
    let body: serde_json::Value = serde_json::from_str(rec["body"].as_str().unwrap()).unwrap();
    let text = body["text"]["content"].as_str().unwrap();
    assert!(
        text.starts_with("安全通报【橙色预警】关于 CVE-2024-3400 的整改通报"),
        "{text}"
    );
    assert!(text.contains("整改期限"), "{text}");
    assert!(body.get("at").is_none(), "nobody to mention: {body}");
}

#[test]
fn supervision_playbooks_are_checked() {
    let tree = RegionTree::builtin();
    let err = |y: &str| {
        playbook::parse(y, "p.yml", &tree)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let e = err("id: a\ntriggers: [report]\nwhen: { kind: [daily] }\nactions: [{escalate: {}}]\n");
    assert!(
        e.contains("when.kind: \"daily\" is not one of weekly"),
        "{e}"
    );
    let e = err(
        "id: a\ntriggers: [alert_created]\nwhen: { kind: [weekly] }\nactions: [{escalate: {}}]\n",
    );
    assert!(e.contains("only report playbooks"), "{e}");
    let e = err("id: a\ntriggers: [bulletin]\nwhen: { grade: [I] }\nactions: [{escalate: {}}]\n");
    assert!(e.contains("bulletin playbooks take only region"), "{e}");
    let e = err(
        "id: a\ntriggers: [report]\nactions: [{webhook: {url: 'http://h/x', format: feishu, mention: on_duty}}]\n",
    );
    assert!(e.contains("only dingtalk and wecom robots"), "{e}");
    let e = err(
        "id: a\ntriggers: [report]\nactions: [{webhook: {url: 'http://h/x?access_token=1', format: dingtalk, mention: everyone}}]\n",
    );
    assert!(e.contains("is not \"on_duty\""), "{e}");
    let e = err(
        "id: a\ntriggers: [bulletin]\nactions: [{email: {to: [on_duty], subject: '{{incident.title}}'}}]\n",
    );
    assert!(e.contains("is not a variable of bulletin subjects"), "{e}");
    assert!(
        playbook::parse(
            "id: a\ntriggers: [bulletin]\nactions: [{email: {to: [on_duty, a@example.org], subject: '{{bulletin.level_zh}} {{bulletin.title}}'}}]\n",
            "p.yml",
            &tree
        )
        .unwrap()
        .is_some()
    );
}
