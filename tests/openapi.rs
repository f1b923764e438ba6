//! The OpenAPI document against a running node: `schemathesis` (PyPI, installed by
//! `scripts/test`) generates requests for every operation, authenticated with the admin
//! token, and no answer may be a 5xx. The live stream (`GET /api/v1/stream`), an answer that
//! does not end, is left out.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::process::Command;

use common::Node;

#[test]
fn schemathesis_finds_no_server_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    // Schemathesis' workers can pause longer than the node keeps an idle keep-alive
    // connection (10 s) while they generate cases on a busy machine; a request sent as the
    // node closes that connection fails in the client ("closed connection without
    // response"), which is no answer of the node's. Keep idle connections here.
    let text = common::config(&dir.path().join("data"), "").replacen(
        "[http]\n",
        "[http]\nheader_timeout_secs = 600\nidle_timeout_secs = 600\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let node = Node::start(&cfg);
    let doc = node.get("/api/v1/openapi.json");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let token = node.token.clone().expect("admin token");
    let out = Command::new("schemathesis")
        .args(["run", &node.url("/api/v1/openapi.json")])
        .args(["--url", &node.http])
        .args(["--checks", "not_a_server_error"])
        .args(["--max-examples", "30"])
        // The live stream never ends (tests/stream.rs covers it); a request to it would only
        // time out.
        .args(["--exclude-path", "/api/v1/stream"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .expect("run schemathesis (scripts/test installs it from PyPI)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}\nnode:\n{}", node.stderr());
    node.stop();
}
