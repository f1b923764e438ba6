//! Rule packs on a running node: reload on SIGHUP and through `POST /api/v1/rules/reload`,
//! without dropping or double-matching events that are in flight meanwhile.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);
const STREAM: &str = "0e0e0e0e-0000-4000-8000-00000000000c";
const ALPHA: &str = "0e0e0e0e-0000-4000-8000-00000000000a";
const BETA: &str = "0e0e0e0e-0000-4000-8000-00000000000b";

fn rule(id: &str, word: &str) -> String {
    format!(
        "title: reload test {word}\nid: {id}\nstatus: test\nlevel: medium\n\
         tags: [attack.execution, attack.t1059.001, attack.g0032]\n\
         logsource: {{product: test}}\n\
         detection:\n  selection:\n    message|contains: '{word}'\n  condition: selection\n"
    )
}

fn write_pack(dir: &Path, manifest_extra: &str, rules: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    for entry in std::fs::read_dir(dir.join("rules")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::fs::write(
        dir.join("pack.yml"),
        format!("name: reload-test\nversion: \"1\"\nrules: [rules]\n{manifest_extra}"),
    )
    .unwrap();
    for (id, word) in rules {
        std::fs::write(
            dir.join("rules").join(format!("{word}.yml")),
            rule(id, word),
        )
        .unwrap();
    }
}

fn ingest(node: &Node, messages: &[String]) {
    let body: String = messages
        .iter()
        .map(|m| {
            format!(
                "{}\n",
                serde_json::json!({"message": m, "host": {"name": "reload"}})
            )
        })
        .collect();
    let (status, reply) = node.post("/api/v1/ingest", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

fn alerts_of(node: &Node, rule: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/api/v1/alerts?rule_id={rule}&limit=1000");
    loop {
        let page = node.get(&path);
        out.extend(items(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/alerts?rule_id={rule}&limit=1000&cursor={c}"),
            None => return out,
        }
    }
}

fn loaded_ids(node: &Node) -> Vec<String> {
    let mut ids: Vec<String> = node.get("/api/v1/rules")["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

#[test]
fn packs_reload_on_sighup_and_through_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("pack");
    write_pack(&pack, "", &[(STREAM, "stream"), (ALPHA, "alpha")]);
    let cfg = tmp.path().join("onewall.toml");
    std::fs::write(
        &cfg,
        common::config(
            &tmp.path().join("data"),
            &format!(
                "[rules]\nbuiltin = false\npacks = [\"{}\"]\n",
                pack.display()
            ),
        ),
    )
    .unwrap();
    let node = Node::start(&cfg);
    assert_eq!(loaded_ids(&node), [ALPHA, STREAM]);

    ingest(&node, &["alpha one".into(), "beta one".into()]);
    assert!(eventually(WAIT, || (alerts_of(&node, ALPHA).len() == 1).then_some(())).is_some());

    // A new rule in the pack, then SIGHUP: it loads and fires.
    write_pack(
        &pack,
        "",
        &[(STREAM, "stream"), (ALPHA, "alpha"), (BETA, "beta")],
    );
    node.signal("HUP");
    let loaded = eventually(WAIT, || {
        let ids = loaded_ids(&node);
        (ids.len() == 3).then_some(ids)
    });
    assert_eq!(loaded, Some(vec![ALPHA.into(), BETA.into(), STREAM.into()]));
    ingest(&node, &["beta two".into()]);
    let beta = eventually(WAIT, || {
        let a = alerts_of(&node, BETA);
        (a.len() == 1).then_some(a)
    })
    .expect("one beta alert");
    assert_eq!(beta[0]["rule"]["title"], "reload test beta");
    // The alert reads as an analyst needs it: ATT&CK parsed out of the tags.
    let attack = &beta[0]["rule"]["attack"];
    assert_eq!(
        attack["tactics"],
        serde_json::json!(["execution"]),
        "{}",
        beta[0]
    );
    assert_eq!(attack["techniques"], serde_json::json!(["T1059.001"]));
    assert_eq!(attack["groups"], serde_json::json!(["G0032"]));
    assert_eq!(beta[0]["rule"]["status"], "test");
    assert_eq!(beta[0]["matched"][0]["field"], "message", "{}", beta[0]);

    // The manifest disables alpha; the API reload answers with the load report.
    write_pack(
        &pack,
        &format!("disable: {{ids: [{ALPHA}]}}\n"),
        &[(STREAM, "stream"), (ALPHA, "alpha"), (BETA, "beta")],
    );
    let (status, report) = node.post("/api/v1/rules/reload", b"");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["compiled"], 2, "{report}");
    assert_eq!(report["packs"][0]["disabled"], 1, "{report}");
    assert_eq!(loaded_ids(&node), [BETA, STREAM]);
    // The rules view says where its rules came from: the report of the load in use.
    let view = node.get("/api/v1/rules");
    assert_eq!(view["load"]["packs"], report["packs"], "{view}");
    assert_eq!(view["load"]["compiled"], 2, "{view}");

    // A broken manifest: 422 naming the problem, and the rules in use stay.
    std::fs::write(pack.join("pack.yml"), "name: reload-test\nenabel: {}\n").unwrap();
    let (status, reply) = node.post("/api/v1/rules/reload", b"");
    assert_eq!(status, 422, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("enabel"), "{reply}");
    assert_eq!(loaded_ids(&node), [BETA, STREAM]);
    write_pack(&pack, "", &[(STREAM, "stream"), (BETA, "beta")]);

    // Events keep flowing through reloads (SIGHUP and API, back to back): each is matched
    // exactly once by the stream rule, whichever rule set it met.
    const N: usize = 600;
    std::thread::scope(|s| {
        let node = &node;
        s.spawn(move || {
            for chunk in 0..(N / 50) {
                let batch: Vec<String> = (0..50)
                    .map(|i| format!("stream event {}", chunk * 50 + i))
                    .collect();
                ingest(node, &batch);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        s.spawn(move || {
            for i in 0..6 {
                if i % 2 == 0 {
                    node.signal("HUP");
                } else {
                    let (status, reply) = node.post("/api/v1/rules/reload", b"");
                    assert_eq!(status, 200, "{reply}");
                }
                std::thread::sleep(Duration::from_millis(40));
            }
        });
    });
    let stream = eventually(WAIT, || {
        let a = alerts_of(&node, STREAM);
        (a.len() >= N).then_some(a)
    })
    .unwrap_or_else(|| panic!("{} stream alerts of {N}", alerts_of(&node, STREAM).len()));
    // Let anything late arrive before counting exactly.
    std::thread::sleep(Duration::from_millis(500));
    let stream = if alerts_of(&node, STREAM).len() != stream.len() {
        alerts_of(&node, STREAM)
    } else {
        stream
    };
    assert_eq!(stream.len(), N, "each event matched exactly once");
    let mut events: Vec<String> = stream
        .iter()
        .flat_map(|a| a["event_ids"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect();
    events.sort();
    events.dedup();
    assert_eq!(events.len(), N, "no event alerted twice");
    assert!(node.stderr().contains("SIGHUP: rules reloaded"));
    node.stop();
}

#[test]
fn rules_check_reads_packs_and_placeholders_from_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("pack");
    write_pack(&pack, "disable: {levels: [high]}\n", &[(ALPHA, "alpha")]);
    std::fs::write(
        pack.join("rules").join("expand.yml"),
        "title: expand\nid: 0e0e0e0e-0000-4000-8000-0000000000e0\nlogsource: {product: test}\n\
         detection:\n  selection:\n    host.name|expand: '%admin_hosts%'\n  condition: selection\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(common::binary())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let pack_arg = pack.to_str().unwrap();
    let (ok, out) = run(&["rules", "check", pack_arg]);
    assert!(!ok, "{out}");
    assert!(out.contains("admin_hosts"), "{out}");
    assert!(out.contains("compiled 1 of 2 rules"), "{out}");
    let cfg = tmp.path().join("onewall.toml");
    std::fs::write(
        &cfg,
        common::config(
            &tmp.path().join("data"),
            "[rules.placeholders]\nadmin_hosts = [\"jump-01\", \"jump-02\"]\n",
        ),
    )
    .unwrap();
    let (ok, out) = run(&[
        "rules",
        "check",
        pack_arg,
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("compiled 2 of 2 rules"), "{out}");
}
