//! A weekly report's figures against what the test sent, on a real node: four events over
//! HTTP and syslog raise four alerts and four incidents of a known rule; the test acknowledges
//! two and resolves one through the API; the weekly report of the current ISO week (events
//! carry the time they are received, so the week they fall in is this one) counts exactly
//! that, and its .docx, read by `python-docx`, holds the same figures in its tables.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

/// The rule of `testdata/rules/response`: fires on `owmarker`.
const RULE: &str = "5f1e9a1c-0000-4000-8000-0000000000a6";

/// The ISO week (`2026-W49`) of now in Beijing time, the reports' default offset.
pub fn this_week() -> String {
    let local = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let (y, w, _) = local.to_iso_week_date();
    format!("{y}-W{w:02}")
}

/// A node of Zhengzhou with the marker rule.
pub fn node(dir: &Path) -> Node {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    let extra = format!("[rules]\ndirs = [\"{}\"]\n", rules.display());
    common::start_with(dir, "node.toml", &common::config(&dir.join("data"), &extra))
}

/// The incidents of the node, by id.
pub fn incidents(node: &Node) -> Vec<Value> {
    node.get("/api/v1/incidents?limit=100")["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// GET with the node's token, the raw answer: status, headers asked for, bytes.
fn raw(node: &Node, path: &str) -> (u16, String, String, Vec<u8>) {
    let mut resp = common::agent()
        .get(&node.url(path))
        .header(
            "Authorization",
            &format!("Bearer {}", node.token.as_deref().unwrap()),
        )
        .call()
        .unwrap();
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (ct, cd) = (h("content-type"), h("content-disposition"));
    let status = resp.status().as_u16();
    let bytes = resp.body_mut().read_to_vec().unwrap();
    (status, ct, cd, bytes)
}

/// Every table of a .docx as rows of cell texts, read by `python-docx`.
pub fn docx_tables(path: &Path) -> Vec<Vec<Vec<String>>> {
    let script = r#"
import docx, json, sys
d = docx.Document(sys.argv[1])
print(json.dumps([[[c.text for c in row.cells] for row in t.rows] for t in d.tables]))
"#;
    // The Debian package (`python3-docx`, which scripts/test installs) is the system
    // interpreter's, which another `python3` first on the PATH may not see.
    let python = if Path::new("/usr/bin/python3").is_file() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(python)
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python-docx could not open the report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the row labelled `label` in any two-column table.
pub fn cell(tables: &[Vec<Vec<String>>], label: &str) -> String {
    tables
        .iter()
        .flatten()
        .find(|row| row.first().is_some_and(|c| c == label))
        .and_then(|row| row.last().cloned())
        .unwrap_or_else(|| panic!("no row {label:?} in {tables:?}"))
}

#[test]
fn a_weekly_reports_figures_are_what_was_sent_and_its_docx_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());

    // Three events over HTTP, each its own host and source: three alerts, three incidents.
    for (host, ip) in [
        ("web-a", "10.9.0.1"),
        ("web-b", "10.9.0.2"),
        ("web-c", "10.9.0.3"),
    ] {
        let body = json!({"message": format!("owmarker login on {host}"), "host": {"name": host}, "source": {"ip": ip}});
        let (status, reply) = node.post("/api/v1/ingest", body.to_string().as_bytes());
        assert_eq!(status, 200, "{reply}");
    }
    // One over syslog (RFC 5424, its own time and zone), from this machine's host name.
    let port = node.udp_port();
    common::logger(
        &[
            "-n",
            "127.0.0.1",
            "-P",
            &port,
            "-d",
            "--rfc5424",
            "-t",
            "sshd",
            "-p",
            "auth.info",
            "owmarker probe from the syslog side",
        ],
        None,
    );
    let incs = eventually(Duration::from_secs(30), || {
        let v = incidents(&node);
        (v.len() == 4).then_some(v)
    })
    .unwrap_or_else(|| {
        panic!(
            "four incidents never came: {:?}\n{}",
            incidents(&node),
            node.stderr()
        )
    });

    // Acknowledge two; resolve one of them.
    let id = |i: usize| incs[i]["id"].as_str().unwrap().to_owned();
    for i in [0, 1] {
        let (s, b) = node.post(&format!("/api/v1/incidents/{}/acknowledge", id(i)), b"{}");
        assert_eq!(s, 200, "{b}");
    }
    std::thread::sleep(Duration::from_millis(1100));
    let (s, b) = node.post(
        &format!("/api/v1/incidents/{}/status", id(0)),
        json!({"status": "resolved"}).to_string().as_bytes(),
    );
    assert_eq!(s, 200, "{b}");

    let week = this_week();
    let path = format!("/api/v1/reports/periodic?kind=weekly&label={week}&format=json");
    let r = node.get(&path);
    assert_eq!(r["span"]["label"], week.as_str(), "{r:#}");
    assert_eq!(r["scope"]["region"], "410100");
    assert_eq!(r["incidents"], 4, "{r:#}");
    assert_eq!(r["alerts"], 4, "{r:#}");
    let graded: u64 = r["incidents_by_grade"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(graded, 4, "every incident counted once by grade: {r:#}");
    assert_eq!(r["top_rules"][0]["key"], RULE);
    assert_eq!(r["top_rules"][0]["count"], 4);
    let attackers: Vec<(String, u64)> = r["top_attackers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    for ip in ["10.9.0.1", "10.9.0.2", "10.9.0.3"] {
        assert!(attackers.contains(&(ip.to_owned(), 1)), "{attackers:?}");
    }
    // Acknowledged within every grade's target (minutes): two of four met the SLA.
    assert_eq!(r["sla_met"], 2, "{r:#}");
    assert_eq!(r["sla_total"], 4, "{r:#}");
    let mtta = r["mtta_secs"].as_f64().expect("two were acknowledged");
    let mttr = r["mttr_secs"].as_f64().expect("one was resolved");
    assert!(mtta >= 0.0 && mttr >= 1.0 && mttr < 120.0, "{mtta} {mttr}");
    assert_eq!(r["drill_alerts_excluded"], 0);
    assert_eq!(r["drill_incidents_excluded"], 0);

    // The .docx: a Word document with a file name, whose tables hold the same figures.
    let (status, ct, cd, bytes) = raw(
        &node,
        &format!("/api/v1/reports/periodic?kind=weekly&label={week}&format=docx"),
    );
    assert_eq!(status, 200);
    assert_eq!(
        ct,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert_eq!(
        cd,
        format!("attachment; filename=\"weekly-410100-{week}.docx\"")
    );
    let file = dir.path().join("weekly.docx");
    std::fs::write(&file, &bytes).unwrap();
    let tables = docx_tables(&file);
    assert_eq!(cell(&tables, "安全事件"), "4");
    assert_eq!(cell(&tables, "告警"), "4");
    assert_eq!(cell(&tables, "SLA 按时确认"), "2");
    assert_eq!(cell(&tables, "SLA 考核事件"), "4");
    assert_eq!(cell(&tables, "平均确认时间（秒）"), format!("{mtta:.1}"));
    assert_eq!(cell(&tables, "平均处置时间（秒）"), format!("{mttr:.1}"));
    assert_eq!(cell(&tables, "排除的演练告警"), "0");
    let rules_row = tables
        .iter()
        .flatten()
        .find(|row| row.get(1).is_some_and(|c| c == RULE))
        .unwrap_or_else(|| panic!("no rule row in {tables:?}"));
    assert_eq!(rules_row.last().unwrap(), "4");
    for ip in ["10.9.0.1", "10.9.0.2", "10.9.0.3"] {
        let row = tables
            .iter()
            .flatten()
            .find(|row| row.get(1).is_some_and(|c| c == ip))
            .unwrap_or_else(|| panic!("no attacker row {ip} in {tables:?}"));
        assert_eq!(row.last().unwrap(), "1");
    }

    // The HTML page is the same report.
    let (status, ct, _, html) = raw(
        &node,
        &format!("/api/v1/reports/periodic?kind=weekly&label={week}&format=html"),
    );
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains(RULE), "{html}");

    // Bad input is named; another department's report is refused to a department's token.
    let (s, b) = node.get_status("/api/v1/reports/periodic?kind=daily");
    assert_eq!(s, 400, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("kind"),
        "{b}"
    );
    let (s, b) = node.get_status("/api/v1/reports/periodic?kind=monthly&label=2026-W49");
    assert_eq!(s, 400, "{b}");
    let (s, b) = node.get_status("/api/v1/reports/periodic?region=110000");
    assert_eq!(s, 400, "a region outside the node's: {b}");
    let body =
        json!({"name": "edu", "role": "analyst", "region": "410100", "department": "教育局"});
    let (s, tok) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(s, 201, "{tok}");
    let edu = tok["token"].as_str().unwrap();
    let (s, b) = node.call_as(
        Some(edu),
        "GET",
        "/api/v1/reports/periodic?department=%E5%8D%AB%E5%81%A5%E5%A7%94",
        None,
    );
    assert_eq!(s, 403, "{b}");
    // Its own department's report holds none of the node's incidents (no system is its).
    let (s, b) = node.call_as(
        Some(edu),
        "GET",
        &format!("/api/v1/reports/periodic?kind=weekly&label={week}"),
        None,
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"]["department"], "教育局");
    assert_eq!(b["incidents"], 0, "{b:#}");
}
