//! Playbooks end to end: the real binary fed by the real `logger`, mailing through a real SMTP
//! server (aiosmtpd, STARTTLS and AUTH) and posting to a webhook receiver that checks
//! signatures. The SMTP server is down when the incident fires and the node restarts before
//! it comes up: the mail still arrives, once. The daily report runs on its schedule.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;
#[path = "../playbooks/tests/peers/mod.rs"]
mod pbpeers;

use std::time::Duration;

use common::{Node, eventually};
use pbpeers::*;
use serde_json::Value;

fn records(hooks: &Peer) -> Vec<Value> {
    hooks
        .files("json")
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

fn mails(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "eml"));
    v
}

/// A playbooks folder in `dir` with one playbook `id` posting to `hooks`' generic receiver;
/// `head` holds its triggers and conditions (YAML lines).
fn webhook_playbook(
    dir: &std::path::Path,
    id: &str,
    head: &str,
    hooks: &Peer,
) -> std::path::PathBuf {
    let books = dir.join("playbooks");
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(
        books.join(format!("{id}.yml")),
        format!(
            "id: {id}\n{head}actions:\n  - webhook: {{ url: \"http://127.0.0.1:{}/generic\", secret: \"{}\" }}\n",
            hooks.port, WEBHOOK_SECRET
        ),
    )
    .unwrap();
    books
}

#[test]
fn incident_mail_survives_a_down_smtp_server_and_a_restart_and_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let hooks = webhooks(&dir.path().join("hooks"));
    let smtp_port = free_port();
    let mail_dir = dir.path().join("mail");
    let books = dir.path().join("playbooks");
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(
        books.join("ssh.yml"),
        format!(
            r#"
id: ssh-incidents
name: 暴力破解事件通知
triggers: [incident_created]
when: {{ region: ["410100"] }}
actions:
  - email:
      to: [soc@example.org]
      subject: "【{{{{incident.grade}}}}级】{{{{incident.title}}}}"
  - webhook: {{ url: "http://127.0.0.1:{p}/generic", secret: "{s}" }}
  - assign: {{ team: 郑州应急组 }}
"#,
            p = hooks.port,
            s = WEBHOOK_SECRET
        ),
    )
    .unwrap();
    // The daily report about 40 seconds from now (UTC), to the same receiver.
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(40);
    std::fs::write(
        books.join("daily.yml"),
        format!(
            "id: daily\ntriggers: [daily_report]\nactions:\n  - webhook: {{ url: \"http://127.0.0.1:{}/generic\", secret: \"{}\" }}\n",
            hooks.port, WEBHOOK_SECRET
        ),
    )
    .unwrap();
    let extra = format!(
        r#"[playbooks]
dir = "{books}"
backoff_secs = 1
backoff_max_secs = 1
max_attempts = 1000
timeout_secs = 5
[playbooks.smtp]
host = "127.0.0.1"
port = {smtp_port}
username = "{user}"
password = "{password}"
from = "一道墙 <onewall@example.org>"
ca_file = "{ca}"
[playbooks.report]
time = "{hh:02}:{mm:02}:{ss:02}"
timezone = "+00:00"
"#,
        books = books.display(),
        user = SMTP_USER,
        password = SMTP_PASSWORD,
        ca = certs.ca.display(),
        hh = at.hour(),
        mm = at.minute(),
        ss = at.second(),
    );
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&dir.path().join("data"), &extra)).unwrap();
    let node = Node::start(&cfg);

    // Three sshd failures from one address: the built-in rule fires, an incident opens.
    for p in [50001, 50002, 50003] {
        common::sshd(
            &node,
            &format!("Failed password for invalid user admin from 203.0.113.7 port {p} ssh2"),
        );
    }
    let wait = Duration::from_secs(20);
    let hook = eventually(wait, || {
        records(&hooks).into_iter().find(|r| {
            r["body"]
                .as_str()
                .unwrap_or("")
                .contains("\"incident_created\"")
        })
    })
    .unwrap_or_else(|| panic!("no incident webhook; stderr:\n{}", node.stderr()));
    assert_eq!(hook["verified"], true, "{hook}");
    let body: Value = serde_json::from_str(hook["body"].as_str().unwrap()).unwrap();
    let incident_id = body["incident"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["incident"]["region"], "410100");
    let title = body["incident"]["title"].as_str().unwrap().to_owned();

    // The SMTP server is down: the mail waits in the outbox. Restart the node meanwhile.
    std::thread::sleep(Duration::from_secs(2));
    assert!(mails(&mail_dir).is_empty());
    node.stop();
    let node = Node::start(&cfg);
    let _smtp = smtp(smtp_port, &mail_dir, &certs);
    let got = eventually(wait, || {
        let m = mails(&mail_dir);
        (!m.is_empty()).then_some(m)
    })
    .unwrap_or_else(|| panic!("mail never arrived; stderr:\n{}", node.stderr()));
    // Give a second delivery every chance to happen (retries are a second apart).
    std::thread::sleep(Duration::from_secs(4));
    let all = mails(&mail_dir);
    assert_eq!(all.len(), 1, "the mail arrived {} times", all.len());
    let m = read_mail(&got[0]);
    assert!(m.subject.starts_with("【"), "{}", m.subject);
    assert!(
        m.subject.ends_with(&format!("级】{title}")),
        "{} / {title}",
        m.subject
    );
    assert!(m.body.contains(&incident_id), "{}", m.body);
    assert_eq!(m.to, "soc@example.org");
    // The incident webhook was not sent again after the restart.
    let incident_hooks = records(&hooks)
        .into_iter()
        .filter(|r| {
            r["body"]
                .as_str()
                .unwrap_or("")
                .contains("\"incident_created\"")
        })
        .count();
    assert_eq!(incident_hooks, 1);

    // The delivery log: the mail done after failed attempts, the webhook done at once.
    let log = node.get("/api/v1/deliveries?playbook=ssh-incidents");
    let items = log["items"].as_array().unwrap();
    let email = items.iter().find(|d| d["action"] == "email").unwrap();
    assert_eq!(email["state"], "done", "{log}");
    assert!(email["attempts"].as_u64().unwrap() >= 2, "{log}");
    assert_eq!(email["target"], "soc@example.org");
    assert_eq!(email["region"], "410100");
    let hook = items.iter().find(|d| d["action"] == "webhook").unwrap();
    assert_eq!(hook["state"], "done", "{log}");
    assert_eq!(hook["attempts"], 1, "{log}");
    let (status, body) = node.get_status("/api/v1/deliveries?state=sent");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("state: expected pending, done, failed or throttled"),
        "{body}"
    );

    // The playbook assigned the incident to its team, on the incident's timeline.
    let inc = node.get(&format!("/api/v1/incidents/{incident_id}"));
    assert_eq!(inc["team"], "郑州应急组", "{inc}");
    assert!(
        inc["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "assigned" && e["actor"] == "playbook:ssh-incidents"),
        "{inc}"
    );

    // The daily report, on schedule: the incident counted, not a zero report.
    let report = eventually(Duration::from_secs(60), || {
        records(&hooks).into_iter().find(|r| {
            r["body"]
                .as_str()
                .unwrap_or("")
                .contains("\"daily_report\"")
        })
    })
    .unwrap_or_else(|| panic!("no daily report; stderr:\n{}", node.stderr()));
    assert_eq!(report["verified"], true);
    let body: Value = serde_json::from_str(report["body"].as_str().unwrap()).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("新增事件: 1"), "{text}");
    assert!(!text.contains("零报告"), "{text}");
    assert_eq!(body["report"]["region"], "410100");
    node.stop();
}

/// Incident changes made through the API run `incident_changed` playbooks as the pipeline's
/// do: an analyst resolves an incident and the playbook conditioned on `status: [resolved]`
/// posts its webhook, once; the earlier lifecycle steps do not match it.
#[test]
fn an_incident_resolved_through_the_api_fires_its_playbook() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = webhooks(&dir.path().join("hooks"));
    let books = webhook_playbook(
        dir.path(),
        "resolved",
        "triggers: [incident_changed]\nwhen: { status: [resolved] }\n",
        &hooks,
    );
    let extra = format!("[playbooks]\ndir = \"{}\"\n", books.display());
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&dir.path().join("data"), &extra)).unwrap();
    let node = Node::start(&cfg);
    for p in [50001, 50002, 50003] {
        common::sshd(
            &node,
            &format!("Failed password for invalid user admin from 203.0.113.9 port {p} ssh2"),
        );
    }
    let wait = Duration::from_secs(20);
    let id = eventually(wait, || {
        let list = node.get("/api/v1/incidents");
        Some(
            list["items"].as_array()?.first()?["id"]
                .as_str()?
                .to_owned(),
        )
    })
    .unwrap_or_else(|| panic!("no incident; stderr:\n{}", node.stderr()));
    let (status, reply) = node.post(
        "/api/v1/tokens",
        br#"{"name":"analyst-zz","role":"analyst","region":"410100"}"#,
    );
    assert_eq!(status, 201, "{reply}");
    let analyst = reply["token"].as_str().unwrap().to_owned();
    let changed = |hooks: &Peer| -> Vec<Value> {
        records(hooks)
            .into_iter()
            .filter(|r| {
                r["body"]
                    .as_str()
                    .unwrap_or("")
                    .contains("\"incident_changed\"")
            })
            .collect()
    };
    for (path, body) in [
        ("acknowledge", "{}"),
        ("status", r#"{"status":"investigating"}"#),
        ("comment", r#"{"text":"查明: 扫描器"}"#),
    ] {
        let (s, b) = node.call_as(
            Some(&analyst),
            "POST",
            &format!("/api/v1/incidents/{id}/{path}"),
            Some(body.as_bytes()),
        );
        assert_eq!(s, 200, "{path}: {b}");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(changed(&hooks).is_empty(), "{:?}", changed(&hooks));
    let (s, b) = node.call_as(
        Some(&analyst),
        "POST",
        &format!("/api/v1/incidents/{id}/status"),
        Some(br#"{"status":"resolved"}"#),
    );
    assert_eq!(s, 200, "{b}");
    let hook = eventually(wait, || changed(&hooks).into_iter().next())
        .unwrap_or_else(|| panic!("no webhook on resolve; stderr:\n{}", node.stderr()));
    assert_eq!(hook["verified"], true, "{hook}");
    let body: Value = serde_json::from_str(hook["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["incident"]["id"], id.as_str(), "{body}");
    assert_eq!(body["incident"]["status"], "resolved", "{body}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(changed(&hooks).len(), 1);
    node.stop();
}

/// An incident left unacknowledged past its SLA (one minute here) raises the breach alert, and
/// a playbook on that rule hears of it: the responder is told, once.
#[test]
fn an_sla_breach_fires_its_playbook_once() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = webhooks(&dir.path().join("hooks"));
    let books = webhook_playbook(
        dir.path(),
        "breach",
        "triggers: [alert_created]\nwhen: { rule: [onewall-sla-breach] }\n",
        &hooks,
    );
    let extra = format!(
        "[playbooks]\ndir = \"{}\"\n[sla]\ngrade_1_minutes = 1\ngrade_2_minutes = 1\n\
         grade_3_minutes = 1\ngrade_4_minutes = 1\ncii_minutes = 1\ncheck_secs = 1\n",
        books.display()
    );
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&dir.path().join("data"), &extra)).unwrap();
    let node = Node::start(&cfg);
    common::sshd(
        &node,
        "Failed password for invalid user admin from 203.0.113.10 port 50010 ssh2",
    );
    let id = eventually(Duration::from_secs(20), || {
        let list = node.get("/api/v1/incidents");
        Some(
            list["items"].as_array()?.first()?["id"]
                .as_str()?
                .to_owned(),
        )
    })
    .unwrap_or_else(|| panic!("no incident; stderr:\n{}", node.stderr()));
    let breaches = |hooks: &Peer| -> Vec<Value> {
        records(hooks)
            .into_iter()
            .filter(|r| {
                r["body"]
                    .as_str()
                    .unwrap_or("")
                    .contains("onewall-sla-breach")
            })
            .collect()
    };
    // Not before the minute is up.
    std::thread::sleep(Duration::from_secs(5));
    assert!(breaches(&hooks).is_empty());
    let hook = eventually(Duration::from_secs(90), || {
        breaches(&hooks).into_iter().next()
    })
    .unwrap_or_else(|| panic!("no webhook on the breach; stderr:\n{}", node.stderr()));
    assert_eq!(hook["verified"], true, "{hook}");
    let body: Value = serde_json::from_str(hook["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["alert"]["rule"]["id"], "onewall-sla-breach", "{body}");
    assert!(body.to_string().contains(&id), "{body}");
    // The check runs every second; the breach is told once.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(breaches(&hooks).len(), 1);
    node.stop();
}
