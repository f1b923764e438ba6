//! End to end: the binary's syslog TLS listener with required client certificates, fed by
//! `openssl s_client`, a client without a certificate refused and counted, and the
//! certificates reloaded on SIGHUP.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::time::Duration;

use common::peers::{TestPki, octet_counted, s_client};
use common::{Node, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

fn stored(node: &Node, host: &str) -> Vec<String> {
    let v = node.get(&format!("/api/v1/events?filter=host.name:{host}&limit=100"));
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            assert_eq!(e["source"]["collector"], "syslog_tls", "{e}");
            assert_eq!(e["format"], "rfc5424", "{e}");
            e["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn payload(host: &str, messages: &[&str]) -> Vec<u8> {
    let frames: Vec<String> = messages
        .iter()
        .map(|m| format!("<13>1 2026-03-01T10:00:00+08:00 {host} app - - - {m}"))
        .collect();
    octet_counted(&frames)
}

#[test]
fn tls_listener_with_client_certificates_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let old = TestPki::create(&dir.path().join("old"), "old e2e ca");
    let new = TestPki::create(&dir.path().join("new"), "new e2e ca");
    // The node reads its certificates from fixed paths; a reload re-reads them.
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let install = |pki: &TestPki| {
        for f in ["server.pem", "server.key", "ca.pem"] {
            std::fs::copy(pki.path(f), certs.join(f)).unwrap();
        }
    };
    install(&old);
    let config = common::config(
        &dir.path().join("data"),
        &format!(
            "[syslog.tls]\nlisten = \"127.0.0.1:0\"\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\nclient_auth = \"required\"\n",
            certs.join("server.pem").display().to_string(),
            certs.join("server.key").display().to_string(),
            certs.join("ca.pem").display().to_string(),
        ),
    );
    // [syslog.tls] after [store] in the file: TOML tables may come in any order.
    let config_file = dir.path().join("onewall.toml");
    std::fs::write(&config_file, config).unwrap();
    let node = Node::start(&config_file);
    let addr = node.tls.clone().expect("syslog_tls listening line");
    let client = |pki: &TestPki| {
        vec![
            "-cert".to_owned(),
            pki.path("client.pem").display().to_string(),
            "-key".to_owned(),
            pki.path("client.key").display().to_string(),
        ]
    };
    let args = client(&old);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = s_client(
        &addr,
        &old.path("ca.pem"),
        &args,
        &payload("tls-e2e-a", &["first", "second"]),
    );
    assert!(out.success, "{}", out.stderr);
    let got = eventually(WAIT, || {
        let m = stored(&node, "tls-e2e-a");
        (m.len() >= 2).then_some(m)
    })
    .unwrap_or_else(|| panic!("events over TLS not stored; stderr:\n{}", node.stderr()));
    let mut got = got;
    got.sort();
    assert_eq!(got, ["first", "second"]);

    // No client certificate: refused and counted; nothing stored.
    let out = s_client(
        &addr,
        &old.path("ca.pem"),
        &["-tls1_2"],
        &payload("tls-e2e-refused", &["refused"]),
    );
    assert!(!out.success, "a client without a certificate got through");
    let counted = eventually(WAIT, || {
        node.metric(r#"onewall_ingest_dropped_total{reason="tls_handshake"}"#)
            .filter(|v| *v >= 1.0)
    });
    assert!(counted.is_some(), "{}", node.metrics());

    // New certificates in place, then SIGHUP: new handshakes use them.
    install(&new);
    node.signal("HUP");
    let reloaded = eventually(WAIT, || {
        node.stderr()
            .contains("syslog tls certificates reloaded")
            .then_some(())
    });
    assert!(reloaded.is_some(), "{}", node.stderr());
    let args = client(&new);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = s_client(
        &addr,
        &new.path("ca.pem"),
        &args,
        &payload("tls-e2e-b", &["after reload"]),
    );
    assert!(out.success, "{}", out.stderr);
    let got = eventually(WAIT, || {
        let m = stored(&node, "tls-e2e-b");
        (!m.is_empty()).then_some(m)
    });
    assert_eq!(got.unwrap_or_default(), ["after reload"]);
    assert!(stored(&node, "tls-e2e-refused").is_empty());
    assert_eq!(
        node.get("/api/v1/events?filter=host.name:tls-e2e-a&limit=100")["items"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let _: Value = node.get("/healthz");
    node.stop();
}
