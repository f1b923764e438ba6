//! Assets through the API of the real binary: the Chinese .xlsx registry and the same list as
//! a GBK CSV imported (bad rows named by row and column, good rows listed), region and
//! department scope on lists and exports (contacts masked for callers without `pii`), an
//! unregistered sender showing in the exposure, an alert against a registered host carrying
//! its target, the finding lifecycle over PATCH, an overdue finding raising its alert once,
//! and the book surviving a restart.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/assets")
        .join(path)
}

/// A province node (410000) with `extra` configuration.
fn province(dir: &Path, extra: &str) -> Node {
    let cfg = dir.join("onewall.toml");
    // The registry's district (中原区) is known to the node.
    let extra =
        format!("[[regions]]\ncode = \"410102\"\nparent = \"410100\"\nname = \"中原区\"\n{extra}");
    let text = common::config(&dir.join("data"), &extra)
        .replace("region = \"410100\"", "region = \"410000\"");
    std::fs::write(&cfg, text).unwrap();
    Node::start(&cfg)
}

/// A call with any method, content type and body.
fn call(
    node: &Node,
    token: &str,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> (u16, Value) {
    let a = common::agent();
    let url = node.url(path);
    let auth = format!("Bearer {token}");
    let resp = match (method, body) {
        ("GET", _) => a.get(&url).header("Authorization", &auth).call(),
        ("DELETE", _) => a.delete(&url).header("Authorization", &auth).call(),
        ("PATCH", Some((ct, b))) => a
            .patch(&url)
            .header("Authorization", &auth)
            .header("Content-Type", ct)
            .send(b),
        (_, Some((ct, b))) => a
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", ct)
            .send(b),
        _ => panic!("{method} without a body"),
    };
    let mut resp = resp.unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn import(node: &Node, token: &str, file: &str, ct: &str) -> (u16, Value) {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let name = file.rsplit('/').next().unwrap();
    call(
        node,
        token,
        "POST",
        &format!("/api/v1/assets/import?name={name}"),
        Some((ct, &bytes)),
    )
}

fn token(node: &Node, role: &str, region: &str, department: Option<&str>) -> String {
    let mut body =
        json!({"name": format!("{role}-{region}-{department:?}"), "role": role, "region": region});
    if let Some(d) = department {
        body["department"] = json!(d);
    }
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// The refused rows as `row column: reason` lines.
fn refused(answer: &Value) -> Vec<String> {
    answer["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}: {}",
                r["place"]["row"],
                r["place"]["column"].as_str().unwrap_or(""),
                r["reason"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn the_registry_imports_from_xlsx_and_gbk_csv_and_is_scoped() {
    let dir = tempfile::tempdir().unwrap();
    let node = province(dir.path(), "");
    let admin = node.token.clone().unwrap();

    let (status, a) = import(
        &node,
        &admin,
        "registry/registry_zh.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    );
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["format"], "registry_xlsx", "{a}");
    assert_eq!(a["kind"], "registry");
    let bad = refused(&a);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad[0].starts_with("16 ") && bad[0].contains("419999"),
        "{bad:?}"
    );
    assert!(
        bad[1].starts_with("17 等保级别") && bad[1].contains('6'),
        "{bad:?}"
    );
    let added = a["registry"]["added"].as_u64().unwrap();
    assert!(added >= 10, "{a}");

    // The same list as Excel saves it on a Chinese Windows: nothing new, the same rows refused.
    let (status, b) = import(&node, &admin, "registry/registry_zh_gbk.csv", "text/csv");
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["format"], "registry_csv", "{b}");
    assert_eq!(b["registry"]["added"], 0, "{b}");
    assert_eq!(b["registry"]["unchanged"].as_u64().unwrap(), added, "{b}");
    assert_eq!(refused(&b).len(), 2, "{b}");

    let all = names(&node.get("/api/v1/assets/systems"));
    assert_eq!(all.len() as u64, added);
    assert!(all.contains(&"河南省政务服务网".to_owned()), "{all:?}");
    assert!(
        !all.contains(&"某县教育管理系统".to_owned()),
        "the bad row did not load"
    );
    let summary = node.get("/api/v1/assets/summary");
    assert_eq!(summary["systems"].as_u64().unwrap(), added, "{summary}");
    assert!(summary["by_level"][3].as_u64().unwrap() >= 5, "{summary}");

    // A Zhengzhou analyst sees Zhengzhou and its districts only.
    let city = token(&node, "analyst", "410100", None);
    let (s, zz) = call(&node, &city, "GET", "/api/v1/assets/systems", None);
    assert_eq!(s, 200, "{zz}");
    let zz = names(&zz);
    assert!(zz.contains(&"郑州市城市大脑".to_owned()), "{zz:?}");
    assert!(zz.contains(&"中原区政府门户网站".to_owned()), "{zz:?}");
    assert!(
        !zz.iter()
            .any(|n| n.starts_with("洛阳") || n.starts_with("河南")),
        "{zz:?}"
    );
    // ... and cannot import a row of Luoyang: refused like a bad row, nothing of it loaded.
    let luoyang = "系统名称,区划代码,使用单位,运维单位,联系人,等保级别,IP地址\n\
        洛阳新系统,410300,洛阳市公安局,,,二级,10.43.99.1\n\
        郑州新系统,410100,郑州市大数据管理局,,,二级,10.41.99.1\n";
    let (s, r) = call(
        &node,
        &city,
        "POST",
        "/api/v1/assets/import",
        Some(("text/csv", luoyang.as_bytes())),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["registry"]["added"], 1, "{r}");
    assert!(refused(&r).iter().any(|x| x.contains("洛阳新系统")), "{r}");
    // ... nor scan results for a Luoyang host: the whole file is refused, naming the host.
    let before = node.get("/api/v1/assets/findings");
    let scan = "host,port,cve,cvss,title\n\
        10.41.99.1,443/tcp,CVE-2021-44228,10.0,Log4Shell\n\
        10.43.99.1,443/tcp,CVE-2021-44228,10.0,Log4Shell\n";
    let (s, r) = call(
        &node,
        &city,
        "POST",
        "/api/v1/assets/import",
        Some(("text/csv", scan.as_bytes())),
    );
    assert_eq!(s, 403, "{r}");
    assert!(r.to_string().contains("10.43.99.1"), "{r}");
    assert_eq!(
        node.get("/api/v1/assets/findings"),
        before,
        "nothing imported"
    );

    // A department token sees that department's systems only.
    let dept = token(&node, "analyst", "410000", Some("洛阳市医疗保障局"));
    let (_, d) = call(&node, &dept, "GET", "/api/v1/assets/systems", None);
    assert_eq!(names(&d), ["洛阳市医保结算系统"], "{d}");
    let (_, e) = call(&node, &dept, "GET", "/api/v1/assets/exposure", None);
    assert_eq!(
        e["unknown"],
        json!([]),
        "no unknown hosts for a department: {e}"
    );

    // Exports are scoped, and contacts masked for a caller without pii.
    let (s, _, csv) = common::raw_get(&node, &city, "/api/v1/assets/export?format=csv");
    assert_eq!(s, 200, "{csv}");
    assert!(
        csv.contains("郑州市城市大脑") && !csv.contains("洛阳"),
        "{csv}"
    );
    assert!(!csv.contains("13800000004"), "the phone is masked: {csv}");
    let (_, _, full) = common::raw_get(&node, &admin, "/api/v1/assets/export?format=csv");
    assert!(
        full.contains("13800000004") && full.contains("洛阳"),
        "{full}"
    );
    let (s, x) = call(
        &node,
        &city,
        "GET",
        "/api/v1/assets/export?format=pdf",
        None,
    );
    assert_eq!(s, 400, "{x}");

    // Removing a system is the admin's.
    let id = {
        let list = node.get("/api/v1/assets/systems?q=新系统");
        list["items"][0]["id"].as_str().unwrap().to_owned()
    };
    let path = format!("/api/v1/assets/systems/{id}");
    assert_eq!(call(&node, &city, "DELETE", &path, None).0, 403);
    assert_eq!(call(&node, &admin, "DELETE", &path, None).0, 204);
    assert_eq!(node.get_status(&path).0, 404);
    node.stop();
}

/// One RFC 3164 line over UDP, with `hostname` in its header.
fn syslog_from(node: &Node, hostname: &str, message: &str) {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let line = format!("<38>Dec  7 09:00:00 {hostname} sshd[4242]: {message}");
    sock.send_to(line.as_bytes(), format!("127.0.0.1:{}", node.udp_port()))
        .unwrap();
}

#[test]
fn seen_hosts_targets_findings_and_overdue_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "[assets]\ncheck_secs = 1\n[assets.deadline_days]\ncritical = 0\n";
    let node = province(dir.path(), extra);
    let admin = node.token.clone().unwrap();
    let (s, a) = import(
        &node,
        &admin,
        "registry/registry_zh.xlsx",
        "application/octet-stream",
    );
    assert_eq!(s, 200, "{a}");

    // A registered host under attack: the alert carries its system and who answers for it.
    syslog_from(
        &node,
        "web01",
        "Failed password for root from 203.0.113.9 port 40001 ssh2",
    );
    let alert = eventually(WAIT, || {
        node.get("/api/v1/alerts?limit=100")["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| !a["target"].is_null())
            .cloned()
    })
    .unwrap_or_else(|| panic!("no alert with a target: {}", node.get("/api/v1/alerts")));
    let t = &alert["target"];
    assert_eq!(t["system"], "河南省政务服务网", "{alert}");
    assert_eq!(t["department"], "河南省行政审批和政务信息管理局");
    assert_eq!(t["level"], 3);
    assert_eq!(t["exposure"], "internet");

    // The sender (this machine, not registered) is an unknown host of the node's region.
    let unknown = eventually(WAIT, || {
        let e = node.get("/api/v1/assets/exposure");
        e["unknown"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["address"] == "127.0.0.1")
            .cloned()
    })
    .unwrap_or_else(|| {
        panic!(
            "127.0.0.1 not unknown: {}",
            node.get("/api/v1/assets/exposure")
        )
    });
    assert_eq!(unknown["region"], "410000", "{unknown}");
    assert_eq!(unknown["seen_by"], "log");
    // web01 is registered and sent a line: not silent; the other registered hosts are.
    let e = node.get("/api/v1/assets/exposure");
    let silent: Vec<&str> = e["silent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["address"].as_str().unwrap())
        .collect();
    assert!(!silent.contains(&"web01"), "{e}");

    // Findings: a generic CSV, then the lifecycle over PATCH.
    let (s, f) = import(&node, &admin, "scans/findings.csv", "text/csv");
    assert_eq!(s, 200, "{f}");
    assert_eq!(f["kind"], "scan");
    assert!(f["scan"]["new"].as_u64().unwrap() >= 4, "{f}");
    let list = node.get("/api/v1/assets/findings?cve=CVE-2021-44228");
    let log4shell = &list["items"][0];
    assert_eq!(log4shell["severity"], "critical", "{list}");
    let id = log4shell["id"].as_str().unwrap().to_owned();
    let hosts = node.get("/api/v1/assets/hosts?vulnerable=true");
    let h = hosts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "10.20.1.15")
        .unwrap_or_else(|| panic!("{hosts}"));
    assert!(!h["open_findings"].as_array().unwrap().is_empty(), "{h}");

    let path = format!("/api/v1/assets/findings/{id}");
    let patch = |body: Value| {
        call(
            &node,
            &admin,
            "PATCH",
            &path,
            Some(("application/json", body.to_string().as_bytes())),
        )
    };
    let (s, x) = patch(json!({"status": "fixing", "note": "patching log4j"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("fixing")), "{x}");
    let (s, x) = patch(json!({"status": "fixing"}));
    assert_eq!(s, 409, "already being fixed: {x}");
    let (s, x) =
        patch(json!({"status": "risk_accepted", "reason": " ", "until": "2099-01-01T00:00:00Z"}));
    assert_eq!(s, 409, "a reason is needed: {x}");
    let (s, x) = patch(
        json!({"status": "risk_accepted", "reason": "isolated", "until": "2099-01-01T00:00:00Z"}),
    );
    assert_eq!(
        (s, x["status"].as_str()),
        (200, Some("risk_accepted")),
        "{x}"
    );
    let (s, x) = patch(json!({"status": "open", "note": "no longer isolated"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("open")), "{x}");
    let viewer = token(&node, "viewer", "410000", None);
    let (s, _) = call(
        &node,
        &viewer,
        "PATCH",
        &path,
        Some(("application/json", br#"{"status":"fixing"}"#)),
    );
    assert_eq!(s, 403, "a viewer does not work findings");

    // A critical finding is due at once ([assets.deadline_days] critical = 0): one alert each.
    let overdue = |node: &Node| -> Vec<Value> {
        node.get("/api/v1/alerts?rule_id=onewall-asset-overdue&limit=100")["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    let raised = eventually(WAIT, || {
        let v = overdue(&node);
        v.iter()
            .any(|a| a["matched"].to_string().contains(&id))
            .then_some(v)
    })
    .unwrap_or_else(|| panic!("no overdue alert: {}", node.get("/api/v1/alerts")));
    let a = raised
        .iter()
        .find(|a| a["matched"].to_string().contains(&id))
        .unwrap();
    assert!(
        a["rule"]["title"]
            .as_str()
            .unwrap()
            .starts_with("漏洞整改超期"),
        "{a}"
    );
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["region"], "410000");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        overdue(&node).len(),
        raised.len(),
        "raised once per finding"
    );

    // The book survives a restart.
    let cfg = dir.path().join("onewall.toml");
    node.stop();
    let node = Node::start(&cfg);
    let again = node.get("/api/v1/assets/hosts/10.20.1.15");
    let kept = again["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{again}"))
        .clone();
    assert_eq!(kept["status"], "open");
    assert_eq!(kept["history"].as_array().unwrap().len(), 4, "{kept}");
    assert!(
        node.get("/api/v1/assets/systems")["items"]
            .as_array()
            .unwrap()
            .len()
            >= 10
    );
    let e = node.get("/api/v1/assets/exposure");
    assert!(
        e["unknown"].to_string().contains("127.0.0.1"),
        "seen hosts kept: {e}"
    );
    node.stop();
}
