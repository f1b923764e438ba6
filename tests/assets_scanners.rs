//! Scanner results through a real node's API: `nmap -sV` against services this test starts
//! on loopback, `POST /api/v1/assets/import` of its XML, and `GET /api/v1/assets/hosts` shows
//! the ports with product and version; an `oscap xccdf eval` result (SCAP Security Guide
//! Debian content, on a directory standing for a Debian 11 machine) lands as a baseline
//! finding, and after the failing condition is fixed the re-scan marks it fixed; the same
//! for a Greenbone report and its re-scan; a broken Greenbone file answers 400 naming the
//! element and changes nothing.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Node;
use serde_json::Value;

const SSG_DS: &str = "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml";
const PROFILE: &str = "xccdf_org.ssgproject.content_profile_anssi_np_nt28_minimal";
const RULE_PASSWD: &str = "xccdf_org.ssgproject.content_rule_file_permissions_etc_passwd";

fn scans(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/assets/scans")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The scanner's path, or a failure naming the Debian package that has it.
fn need(binary: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let path = Path::new(dir).join(binary);
        if path.exists() {
            return path;
        }
    }
    panic!("{binary} is not installed: apt-get install {package}");
}

/// A loopback listener answering each connection with `reply` (after the request's header
/// when `http`).
fn serve(reply: &'static [u8], http: bool) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                if http {
                    let mut reader = BufReader::new(&stream);
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                }
                let _ = stream.write_all(reply);
                if !http {
                    let mut buf = [0u8; 256];
                    let _ = std::io::Read::read(&mut stream, &mut buf);
                }
            });
        }
    });
    port
}

/// `POST /api/v1/assets/import?name=…`, 200 expected; the answer.
fn import(node: &Node, name: &str, bytes: &[u8]) -> Value {
    let (status, body) = node.post(&format!("/api/v1/assets/import?name={name}"), bytes);
    assert_eq!(status, 200, "import {name}: {body}");
    body
}

/// `oscap xccdf eval` of the passwd permission rule against `root` (a Debian 11 machine's
/// files, `OSCAP_PROBE_ROOT`) whose `/etc/passwd` has `mode`; the results file.
fn oscap(root: &Path, mode: u32) -> Vec<u8> {
    let oscap = need("oscap", "openscap-scanner");
    assert!(
        Path::new(SSG_DS).exists(),
        "{SSG_DS} is missing: apt-get install ssg-debian"
    );
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("debian_version"), "11.6\n").unwrap();
    std::fs::write(etc.join("hostname"), "web01\n").unwrap();
    std::fs::write(etc.join("passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    std::fs::set_permissions(etc.join("passwd"), std::fs::Permissions::from_mode(mode)).unwrap();
    let results = root.join("results.xml");
    let out = Command::new(oscap)
        .env("OSCAP_PROBE_ROOT", root)
        .args([
            "xccdf",
            "eval",
            "--profile",
            PROFILE,
            "--rule",
            RULE_PASSWD,
            "--results",
        ])
        .arg(&results)
        .arg(SSG_DS)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "oscap: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(results).unwrap()
}

/// The findings of `query` (`/api/v1/assets/findings?…`).
fn findings(node: &Node, query: &str) -> Vec<Value> {
    node.get(&format!("/api/v1/assets/findings?{query}"))["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn scanner_results_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("onewall.toml");
    std::fs::write(&file, common::config(&dir.path().join("data"), "")).unwrap();
    let node = Node::start(&file);

    // Nmap against two loopback services.
    let nmap = need("nmap", "nmap");
    let ssh = serve(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", false);
    let web = serve(
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        true,
    );
    let out = Command::new(nmap)
        .args(["-sV", "-Pn", "-n", "--version-light", "-p"])
        .arg(format!("{ssh},{web}"))
        .args(["-oX", "-", "127.0.0.1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nmap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = import(&node, "scan.xml", &out.stdout);
    assert_eq!(answer["format"], "nmap", "{answer}");
    assert_eq!(answer["kind"], "scan");
    assert_eq!(answer["scan"]["hosts"], 1, "{answer}");
    assert_eq!(answer["scan"]["ports"], 2, "{answer}");
    let hosts = node.get("/api/v1/assets/hosts?q=127.0.0.1");
    let host = hosts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "127.0.0.1")
        .unwrap_or_else(|| panic!("127.0.0.1 listed: {hosts}"));
    let port = |p: u16| {
        host["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["port"] == p)
            .unwrap_or_else(|| panic!("port {p} on {host}"))
            .clone()
    };
    assert_eq!(port(ssh)["product"], "OpenSSH", "{host}");
    assert!(
        port(ssh)["version"]
            .as_str()
            .unwrap()
            .starts_with("9.2p1 Debian 2"),
        "{host}"
    );
    assert_eq!(port(web)["product"], "nginx", "{host}");
    assert_eq!(port(web)["version"], "1.22.1", "{host}");

    // OpenSCAP: the failed rule is an open baseline finding; fixed on the machine, the
    // re-scan marks it fixed.
    let root = tempfile::tempdir().unwrap();
    let answer = import(&node, "results.xml", &oscap(root.path(), 0o666));
    assert_eq!(answer["format"], "xccdf", "{answer}");
    assert_eq!(answer["scan"]["new"], 1, "{answer}");
    let host = node.get("/api/v1/assets/hosts/web01");
    let open: Vec<&str> = host["open_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(open, [RULE_PASSWD], "{host}");
    assert_eq!(
        host["open_findings"][0]["title"],
        "Verify Permissions on passwd File"
    );
    assert_eq!(host["open_findings"][0]["kind"], "baseline");
    let answer = import(&node, "results.xml", &oscap(root.path(), 0o644));
    assert_eq!(
        (
            answer["scan"]["new"].as_u64(),
            answer["scan"]["fixed"].as_u64()
        ),
        (Some(0), Some(1)),
        "{answer}"
    );
    let baseline = findings(&node, "host=web01");
    assert_eq!(baseline.len(), 1, "{baseline:?}");
    assert_eq!(baseline[0]["status"], "fixed", "{baseline:?}");

    // Greenbone: Log4Shell open, then gone from the re-scan and fixed.
    let answer = import(&node, "report.xml", &scans("greenbone-report.xml"));
    assert_eq!(answer["format"], "greenbone", "{answer}");
    assert_eq!(answer["scan"]["new"], 3, "{answer}");
    let log4shell = findings(&node, "cve=CVE-2021-44228");
    assert_eq!(log4shell.len(), 1, "{log4shell:?}");
    assert_eq!(log4shell[0]["status"], "open");
    assert_eq!(log4shell[0]["host"], "10.20.1.15");
    assert_eq!(log4shell[0]["severity"], "critical");
    let vulnerable = node.get("/api/v1/assets/hosts?vulnerable=true");
    assert!(
        vulnerable["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["key"] == "10.20.1.15"),
        "{vulnerable}"
    );

    // A broken file: 400 naming the element, and nothing of it applied.
    let before = findings(&node, "limit=500");
    let (status, body) = node.post(
        "/api/v1/assets/import?name=broken.xml",
        &scans("greenbone-broken.xml"),
    );
    assert_eq!(status, 400, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("results/result[2]") && text.contains("10.20.1.316"),
        "{text}"
    );
    assert_eq!(
        findings(&node, "limit=500"),
        before,
        "a refused file changes nothing"
    );

    let answer = import(&node, "rescan.xml", &scans("greenbone-rescan.xml"));
    assert_eq!(
        (
            answer["scan"]["again"].as_u64(),
            answer["scan"]["fixed"].as_u64()
        ),
        (Some(2), Some(1)),
        "{answer}"
    );
    let log4shell = findings(&node, "cve=CVE-2021-44228");
    assert_eq!(log4shell[0]["status"], "fixed", "{log4shell:?}");
    node.stop();
}
