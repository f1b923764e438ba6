//! End to end: the real binary on free ports, fed by the real `logger` over UDP and TCP and by
//! NDJSON over HTTP, checked through the API, then restarted and checked again.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Node, eventually, logger};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().expect("items array")
}

/// The events whose raw text contains `needle`.
fn events_with(node: &Node, needle: &str) -> Vec<Value> {
    let q: String = url_encode(needle);
    items(&node.get(&format!("/api/v1/events?q={q}&limit=100"))).clone()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn alerts_titled(node: &Node, words: &[&str]) -> Vec<Value> {
    items(&node.get("/api/v1/alerts?limit=1000"))
        .iter()
        .filter(|a| {
            let t = a["rule"]["title"].as_str().unwrap_or("").to_lowercase();
            words.iter().all(|w| t.contains(w))
        })
        .cloned()
        .collect()
}

#[test]
fn syslog_and_http_to_api_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&dir.path().join("data"), "")).unwrap();
    let node = Node::start(&cfg);

    // RFC 3164 over UDP, three sshd failures from one address: one incident.
    let sent = Instant::now();
    for port in [50001, 50002, 50003] {
        common::sshd_udp(
            &node,
            &["--id=4242"],
            &format!("Failed password for invalid user admin from 203.0.113.7 port {port} ssh2"),
        );
    }
    let first = eventually(WAIT, || {
        let e = events_with(&node, "port 50001 ssh2");
        (!e.is_empty()).then_some(e)
    })
    .unwrap_or_else(|| panic!("UDP event never stored; stderr:\n{}", node.stderr()));
    eprintln!("first UDP event visible after {:?}", sent.elapsed());
    let e = &first[0];
    assert_eq!(e["format"], "rfc3164");
    assert_eq!(e["source"]["collector"], "syslog_udp");
    assert_eq!(e["fields"]["process.name"], "sshd");
    assert_eq!(e["fields"]["process.pid"], 4242);
    assert_eq!(e["fields"]["log.syslog.facility.code"], 4);
    assert_eq!(e["fields"]["log.syslog.severity.code"], 6);
    assert!(
        e["fields"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed password")
    );
    assert!(e["parse_error"].is_null());
    assert_eq!(e["region"], "410100");

    // RFC 5424 over TCP with octet counting: two messages on one connection.
    logger(
        &[
            "-n",
            "127.0.0.1",
            "-P",
            &node.tcp_port(),
            "-T",
            "--octet-count",
            "--rfc5424",
            "-t",
            "sudo",
            "--msgid",
            "E2E",
            "--sd-id",
            "e2e@32473",
            "--sd-param",
            "case=\"sudo\"",
            "-p",
            "authpriv.notice",
        ],
        Some(
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash -i\n\
             bob : TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id\n",
        ),
    );
    // A line that is not syslog, on a plain TCP connection.
    let mut s = std::net::TcpStream::connect(node.tcp.as_deref().unwrap()).unwrap();
    s.write_all(b"hello from a device that speaks no syslog\n")
        .unwrap();
    drop(s);

    // NDJSON over HTTP.
    let ndjson = concat!(
        r#"{"@timestamp":"2026-11-28T01:02:03Z","host":{"name":"app01"},"process":{"name":"useradd"},"message":"new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, shell=/bin/bash, from=/dev/pts/0"}"#,
        "\n",
        r#"{"host":{"name":"app01"},"service":"billing","message":"invoice 42 printed","user":{"name":"carol"}}"#,
        "\n"
    );
    let (status, body) = node.post("/api/v1/ingest", ndjson.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 2);

    // Malformed HTTP bodies: 400 naming the problem, nothing stored.
    let (status, body) = node.post("/api/v1/ingest", b"{\"ok\":1}\n{broken json\n");
    assert_eq!(status, 400, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("line 2"), "{msg}");
    let (status, _) = node.post("/api/v1/ingest", b"");
    assert_eq!(status, 400);

    // Everything arrives with its fields.
    let sudo = eventually(WAIT, || {
        let e = events_with(&node, "COMMAND=/bin/bash -i");
        (!e.is_empty()).then_some(e)
    })
    .expect("TCP RFC 5424 event stored");
    let e = &sudo[0];
    assert_eq!(e["format"], "rfc5424");
    assert_eq!(e["source"]["collector"], "syslog_tcp");
    assert_eq!(e["fields"]["process.name"], "sudo");
    assert_eq!(e["fields"]["log.syslog.msgid"], "E2E");
    assert_eq!(
        e["fields"]["log.syslog.structured_data.e2e@32473.case"],
        "sudo"
    );
    assert_eq!(e["fields"]["log.syslog.version"], 1);
    assert_eq!(
        events_with(&node, "COMMAND=/usr/bin/id").len(),
        1,
        "second frame on the connection"
    );

    let raw = eventually(WAIT, || {
        let e = events_with(&node, "speaks no syslog");
        (!e.is_empty()).then_some(e)
    })
    .expect("non-syslog line kept");
    assert_eq!(raw[0]["format"], "unknown");
    assert!(
        raw[0]["parse_error"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{}",
        raw[0]
    );
    assert_eq!(raw[0]["raw"], "hello from a device that speaks no syslog");

    let http = eventually(WAIT, || {
        let e = events_with(&node, "name=backdoor");
        (!e.is_empty()).then_some(e)
    })
    .expect("HTTP event stored");
    assert_eq!(http[0]["format"], "json");
    assert_eq!(http[0]["source"]["collector"], "http");
    assert_eq!(http[0]["fields"]["host.name"], "app01");
    assert_eq!(http[0]["time"], "2026-11-28T01:02:03Z");
    let carol = node.get("/api/v1/events?filter=user.name:carol&filter=host.name:app01");
    assert_eq!(items(&carol).len(), 1, "{carol}");
    assert_eq!(
        items(&node.get("/api/v1/events?filter=user.name:nobody")).len(),
        0
    );
    assert_eq!(
        events_with(&node, "broken json").len(),
        0,
        "a refused body stores nothing"
    );

    // Alerts from the built-in rules, and incidents.
    let ssh = eventually(WAIT, || {
        let a = alerts_titled(&node, &["ssh", "fail"]);
        (a.len() == 3).then_some(a)
    })
    .unwrap_or_else(|| panic!("3 ssh failure alerts; got {}", node.get("/api/v1/alerts")));
    assert!(
        ssh.iter()
            .all(|a| a["event_ids"].as_array().unwrap().len() == 1)
    );
    let sudo_alerts = eventually(WAIT, || {
        let a = alerts_titled(&node, &["sudo"]);
        (a.len() == 2).then_some(a)
    })
    .unwrap_or_else(|| panic!("2 sudo alerts; got {}", node.get("/api/v1/alerts")));
    assert!(
        sudo_alerts[0]["rule"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().starts_with("attack.t"))
    );
    let user = eventually(WAIT, || {
        let a = alerts_titled(&node, &["user"]);
        (!a.is_empty()).then_some(a)
    })
    .expect("new-user alert from the HTTP event");
    assert_eq!(user[0]["event_ids"][0], http[0]["id"]);

    let incidents = eventually(WAIT, || {
        let v = node.get("/api/v1/incidents?limit=100");
        let ssh_incident = items(&v)
            .iter()
            .find(|i| {
                i["rule_ids"][0] == ssh[0]["rule"]["id"]
                    && i["alert_ids"].as_array().unwrap().len() == 3
            })
            .cloned();
        ssh_incident.map(|i| (v.clone(), i))
    });
    let (all_incidents, ssh_incident) =
        incidents.unwrap_or_else(|| panic!("ssh incident; got {}", node.get("/api/v1/incidents")));
    assert_eq!(ssh_incident["status"], "new");
    let detail = node.get(&format!(
        "/api/v1/incidents/{}",
        ssh_incident["id"].as_str().unwrap()
    ));
    assert_eq!(detail["id"], ssh_incident["id"]);
    assert!(
        detail["timeline"].as_array().unwrap().len() >= 4,
        "created + 3 alerts"
    );
    // Two sudo alerts on the same host within the window: one incident, not two.
    let sudo_incidents: Vec<_> = items(&all_incidents)
        .iter()
        .filter(|i| i["rule_ids"][0] == sudo_alerts[0]["rule"]["id"])
        .collect();
    assert_eq!(sudo_incidents.len(), 1, "{all_incidents}");

    // Metrics.
    let m = node.metrics();
    for name in [
        "onewall_ingest_events_total{source=\"syslog_udp\"} 3",
        "onewall_ingest_events_total{source=\"http\"} 2",
        "onewall_ingest_parse_errors_total{format=\"unknown\",kind=\"no_header\"} 1",
        "onewall_ingest_dropped_total",
        "onewall_rules_alerts_total",
        "onewall_store_events_written_total 8",
        "onewall_pipeline_queue_depth_batches{stage=\"detect\"}",
    ] {
        assert!(m.contains(name), "metrics lack {name:?}:\n{m}");
    }

    // Restart: everything is still there, and nothing is doubled.
    let before_events = node.get("/api/v1/events?limit=1000");
    let before_alerts = node.get("/api/v1/alerts?limit=1000");
    let before_incidents = node.get("/api/v1/incidents?limit=1000");
    assert_eq!(items(&before_events).len(), 8);
    node.stop();
    let node = Node::start(&cfg);
    assert_eq!(node.get("/api/v1/events?limit=1000"), before_events);
    assert_eq!(node.get("/api/v1/alerts?limit=1000"), before_alerts);
    assert_eq!(node.get("/api/v1/incidents?limit=1000"), before_incidents);

    // After the restart a new failure from the same host joins the open incident.
    common::sshd_udp(
        &node,
        &[],
        "Failed password for root from 203.0.113.7 port 50004 ssh2",
    );
    let id = ssh_incident["id"].as_str().unwrap().to_owned();
    eventually(WAIT, || {
        let i = node.get(&format!("/api/v1/incidents/{id}"));
        (i["alert_ids"].as_array().unwrap().len() == 4).then_some(())
    })
    .unwrap_or_else(|| panic!("incident did not grow; {}", node.get("/api/v1/incidents")));
    node.stop();
}

#[test]
fn api_refuses_bad_requests_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&dir.path().join("data"), "")).unwrap();
    let node = Node::start(&cfg);
    let cases = [
        (
            "/api/v1/events?from=yesterday",
            400,
            "from: invalid timestamp",
        ),
        (
            "/api/v1/events?filter=nocolon",
            400,
            "filter: expected FIELD:VALUE",
        ),
        (
            "/api/v1/events?limit=0",
            400,
            "limit: expected a positive integer",
        ),
        (
            "/api/v1/events?colour=red",
            400,
            "unknown query parameter \"colour\"",
        ),
        ("/api/v1/events?cursor=garbage", 400, "cursor"),
        (
            "/api/v1/events?region=999999",
            400,
            "region: 999999 is not a known region",
        ),
        (
            "/api/v1/incidents?status=done",
            400,
            "unknown incident status \"done\"",
        ),
        ("/api/v1/incidents/nope", 400, "incident id"),
        (
            "/api/v1/incidents/01JDZZZZZZZZZZZZZZZZZZZZZZ",
            404,
            "not found",
        ),
        ("/api/v1/nothing-here", 404, "no such endpoint"),
    ];
    for (path, status, needle) in cases {
        let (got, body) = node.get_status(path);
        assert_eq!(got, status, "{path}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{path}: {msg:?} lacks {needle:?}");
    }
    let health = node.get("/healthz");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["node"]["region"], "410100");
    node.stop();
}

#[test]
fn broken_rule_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("broken.yml"),
        "title: broken\ndetection:\n  sel:\n    a: b\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("good.yml"),
        "title: Invoice printed\nid: 7d4c3a2e-0000-4000-8000-000000000001\nlevel: low\nlogsource:\n  product: test\ndetection:\n  sel:\n    message|contains: invoice\n  condition: sel\n",
    )
    .unwrap();
    let cfg = dir.path().join("onewall.toml");
    let extra = format!("[rules]\ndirs = [\"{}\"]\n", rules.display());
    std::fs::write(&cfg, common::config(&dir.path().join("data"), &extra)).unwrap();
    let node = Node::start(&cfg);
    let stderr = node.stderr();
    assert!(
        stderr.contains("broken.yml"),
        "startup log names the file:\n{stderr}"
    );
    let view = node.get("/api/v1/rules");
    let errors = view["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{view}");
    assert!(errors[0].as_str().unwrap().contains("broken.yml"));
    assert!(
        errors[0].as_str().unwrap().contains("condition"),
        "{}",
        errors[0]
    );
    // The good rule in the same directory runs.
    let (status, _) = node.post("/api/v1/ingest", br#"{"message":"invoice 7 printed"}"#);
    assert_eq!(status, 200);
    eventually(WAIT, || {
        let a = alerts_titled(&node, &["invoice printed"]);
        (a.len() == 1).then_some(())
    })
    .expect("the good rule fires");
    node.stop();
}

#[test]
fn check_config_names_every_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "version = 1\n[node]\nregion = \"123\"\n[syslog]\nudp = \"nowhere\"\ntimezone = \"+8\"\n[http]\nlisten = \"127.0.0.1:8080\"\nport = 1\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::binary())
        .args(["check-config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "http.port: unknown key",
        "node.region:",
        "syslog.udp:",
        "syslog.timezone:",
        "4 configuration error(s)",
    ] {
        assert!(err.contains(needle), "{needle:?} missing in:\n{err}");
    }
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "version = 1\n").unwrap();
    let out = std::process::Command::new(common::binary())
        .arg("check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
