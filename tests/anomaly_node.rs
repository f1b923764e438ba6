//! Anomaly detection on the real binary: a detector in a rule pack learns its baseline from
//! events posted to HTTP ingest, keeps it across a restart (the first anomalous event after
//! the restart alerts at once), its alert carries `anomaly.*` through the alerts API and the
//! anomaly API and joins an incident; a flood of new groups stays under `[anomaly]
//! max_groups` with the evictions shown; a reload that leaves a detector unchanged keeps its
//! state while a detector it adds starts learning; bad parameters answer 400 and unknown
//! detectors 404.
//!
//! Event times: a few hours before now, well inside the clock check's bounds (the default
//! retention keeps months), so every event is stored and observed at its own time.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, eventually};
use onewall_model::Timestamp;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const NEW_NET: &str = "anomaly-test-new-network";
const SECOND: &str = "anomaly-test-second";

/// A first_seen detector: a user logging in from a /24 new for them, after an hour of
/// learning.
fn detector(id: &str, title: &str) -> String {
    format!(
        "title: {title}\nid: {id}\nstatus: test\nlevel: medium\nlogsource: {{product: test}}\n\
         detection:\n  selection:\n    event.action: anomaly_test_login\n  condition: selection\n\
         anomaly:\n  kind: first_seen\n  group-by: [user.name]\n  field: source.ip\n  \
         transform: net24\n  learning: 1h\n"
    )
}

fn write_pack(dir: &Path, detectors: &[(&str, &str)]) {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for entry in std::fs::read_dir(&rules).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::fs::write(
        dir.join("pack.yml"),
        "name: anomaly-test\nversion: \"1\"\nrules: [rules]\n",
    )
    .unwrap();
    for (id, title) in detectors {
        std::fs::write(rules.join(format!("{id}.yml")), detector(id, title)).unwrap();
    }
}

fn start(dir: &Path, extra: &str) -> Node {
    let pack = dir.join("pack");
    let text = common::config(
        &dir.join("data"),
        &format!(
            "{extra}\n[rules]\nbuiltin = false\npacks = [\"{}\"]\n",
            pack.display()
        ),
    );
    let file = dir.join("onewall.toml");
    std::fs::write(&file, text).unwrap();
    Node::start(&file)
}

/// A login of `user` from `ip` at `t`.
fn login(user: &str, ip: &str, t: Timestamp) -> Value {
    json!({
        "@timestamp": t.to_rfc3339(),
        "message": format!("login {user} from {ip}"),
        "event": {"action": "anomaly_test_login", "outcome": "success"},
        "user": {"name": user},
        "source": {"ip": ip},
        "host": {"name": "bastion-1"},
    })
}

fn ingest(node: &Node, events: &[Value]) {
    for chunk in events.chunks(500) {
        let body: String = chunk.iter().map(|e| format!("{e}\n")).collect();
        let (status, reply) = node.post("/api/v1/ingest", body.as_bytes());
        assert_eq!(status, 200, "{reply}");
    }
}

/// Two hours of `user` logging in from 10.1.2.x every 5 minutes, ending `end`.
fn learning_logins(user: &str, end: Timestamp) -> Vec<Value> {
    (0..24)
        .map(|i| {
            login(
                user,
                &format!("10.1.2.{}", 10 + i),
                end.add_secs(-(24 - i) * 300),
            )
        })
        .collect()
}

fn detector_of(node: &Node, id: &str) -> Value {
    let (status, d) = node.get_status(&format!("/api/v1/anomaly/detectors/{id}"));
    assert_eq!(status, 200, "{d}");
    d
}

/// Wait until the detector's status satisfies `f`.
fn wait_status(node: &Node, id: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    eventually(WAIT, || {
        let d = detector_of(node, id);
        f(&d["status"]).then_some(d)
    })
    .unwrap_or_else(|| panic!("{id}: {what}; status {}", detector_of(node, id)["status"]))
}

fn anomaly_alerts(node: &Node, query: &str) -> Vec<Value> {
    let (status, page) = node.get_status(&format!("/api/v1/anomaly/alerts?{query}"));
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_learned_detector_keeps_its_baseline_across_a_restart_and_its_alert_joins_an_incident() {
    let tmp = tempfile::tempdir().unwrap();
    write_pack(
        &tmp.path().join("pack"),
        &[(NEW_NET, "User logged in from a new network")],
    );
    let node = start(tmp.path(), "");
    let now = Timestamp::now();
    let list = node.get("/api/v1/anomaly/detectors");
    assert_eq!(list["enabled"], true, "{list}");
    assert_eq!(list["calendar"]["utc_offset_secs"], 8 * 3600, "{list}");
    let d = &list["detectors"][0];
    assert_eq!(d["id"], NEW_NET, "{list}");
    assert_eq!(d["kind"], "first_seen", "{list}");
    assert_eq!(d["status"]["learning"], true, "{list}");

    // Learning: two hours of logins from one /24, then one more from it after the hour.
    let mut events = learning_logins("zhangsan", now.add_secs(-3 * 3600));
    events.push(login("zhangsan", "10.1.2.200", now.add_secs(-2 * 3600)));
    ingest(&node, &events);
    let d = wait_status(&node, NEW_NET, "learned 25 events", |s| {
        s["observed"].as_u64() >= Some(25) && s["learning"] == false
    });
    assert_eq!(d["status"]["groups"], 1, "{d}");
    assert_eq!(
        d["status"]["alerts"], 0,
        "a known network is not an anomaly: {d}"
    );
    assert!(anomaly_alerts(&node, &format!("detector={NEW_NET}")).is_empty());
    node.stop();
    let snapshot = tmp.path().join("data").join("anomaly.snapshot");
    assert!(snapshot.is_file(), "the snapshot is written at stop");

    // After the restart the baseline is there: a new network alerts at once.
    let node = start(tmp.path(), "");
    let d = detector_of(&node, NEW_NET);
    assert_eq!(
        d["status"]["learning"], false,
        "restored, not relearning: {d}"
    );
    assert_eq!(d["status"]["groups"], 1, "{d}");
    ingest(
        &node,
        &[login("zhangsan", "203.0.113.7", now.add_secs(-3600))],
    );
    let alerts = eventually(WAIT, || {
        let a = anomaly_alerts(&node, &format!("detector={NEW_NET}"));
        (!a.is_empty()).then_some(a)
    })
    .unwrap_or_else(|| panic!("no anomaly alert after the restart; {}", node.stderr()));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["anomaly"]["detector"], NEW_NET, "{a}");
    assert_eq!(a["anomaly"]["kind"], "first_seen", "{a}");
    assert!(
        a["anomaly"]["explanation"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{a}"
    );
    assert!(
        a["anomaly"]["observed"]
            .as_str()
            .is_some_and(|s| s.contains("203.0.113")),
        "{a}"
    );

    // The same alert through the alerts API, the detector's recent list and its kind.
    let id = a["id"].as_str().unwrap().to_owned();
    let got = node.get(&format!("/api/v1/alerts/{id}"));
    assert_eq!(got["anomaly"]["detector"], NEW_NET, "{got}");
    let d = detector_of(&node, NEW_NET);
    assert_eq!(d["recent"][0]["id"], id.as_str(), "{d}");
    assert_eq!(anomaly_alerts(&node, "kind=first_seen").len(), 1);
    assert!(anomaly_alerts(&node, "kind=volume").is_empty());
    let incident = eventually(WAIT, || {
        let all = node.get("/api/v1/incidents?limit=100");
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| {
                i["alert_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == id.as_str())
            })
            .cloned()
    });
    assert!(incident.is_some(), "the anomaly alert joins an incident");
    let metrics = node.metrics();
    assert!(
        metrics.contains(&format!(
            "onewall_anomaly_alerts_total{{detector=\"{NEW_NET}\"}} 1"
        )),
        "{metrics}"
    );
    node.stop();
}

#[test]
fn a_flood_of_new_groups_stays_under_max_groups_and_the_evictions_show() {
    let tmp = tempfile::tempdir().unwrap();
    write_pack(
        &tmp.path().join("pack"),
        &[(NEW_NET, "User logged in from a new network")],
    );
    let node = start(tmp.path(), "[anomaly]\nmax_groups = 50\n");
    let now = Timestamp::now();
    let events: Vec<Value> = (0..400)
        .map(|i| login(&format!("user{i}"), "10.9.9.9", now.add_secs(-7200 + i)))
        .collect();
    ingest(&node, &events);
    let d = wait_status(&node, NEW_NET, "observed the flood", |s| {
        s["observed"].as_u64() >= Some(400)
    });
    let s = &d["status"];
    assert!(s["groups"].as_u64().unwrap() <= 50, "{s}");
    assert_eq!(s["max_groups"], 50, "{s}");
    assert!(
        s["counters"]["groups_evicted"].as_u64().unwrap() >= 350,
        "{s}"
    );
    let metrics = node.metrics();
    assert!(
        metrics.contains(
            "onewall_anomaly_evictions_total{detector=\"anomaly-test-new-network\",what=\"groups\"}"
        ),
        "{metrics}"
    );
    node.stop();
}

#[test]
fn a_reload_keeps_unchanged_detectors_and_the_api_refuses_mistakes() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("pack");
    write_pack(&pack, &[(NEW_NET, "User logged in from a new network")]);
    let node = start(tmp.path(), "");
    let now = Timestamp::now();
    let mut events = learning_logins("lisi", now.add_secs(-5 * 3600));
    events.push(login("lisi", "10.1.2.201", now.add_secs(-4 * 3600)));
    ingest(&node, &events);
    wait_status(&node, NEW_NET, "learned", |s| {
        s["observed"].as_u64() >= Some(25) && s["learning"] == false
    });

    // A reload adding a second detector: the first keeps its state, the second learns.
    write_pack(
        &pack,
        &[
            (NEW_NET, "User logged in from a new network"),
            (SECOND, "Second detector"),
        ],
    );
    let (status, report) = node.post("/api/v1/rules/reload", b"");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["detectors"], 2, "{report}");
    ingest(
        &node,
        &[login("lisi", "198.51.100.4", now.add_secs(-3 * 3600))],
    );
    let alerts = eventually(WAIT, || {
        let a = anomaly_alerts(&node, &format!("detector={NEW_NET}"));
        (!a.is_empty()).then_some(a)
    })
    .unwrap_or_else(|| {
        panic!(
            "the unchanged detector lost its baseline; {}",
            node.stderr()
        )
    });
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let second = wait_status(&node, SECOND, "observed its first event", |s| {
        s["observed"].as_u64() >= Some(1)
    });
    assert_eq!(second["status"]["learning"], true, "{second}");
    assert!(anomaly_alerts(&node, &format!("detector={SECOND}")).is_empty());

    // Mistakes: an unknown detector, a bad kind or time.
    let (status, e) = node.get_status("/api/v1/anomaly/detectors/no-such-detector");
    assert_eq!(status, 404, "{e}");
    for (q, says) in [
        ("kind=spike", "kind"),
        ("since=yesterday", "since"),
        ("limit=0", "limit"),
        ("colour=red", "colour"),
    ] {
        let (status, e) = node.get_status(&format!("/api/v1/anomaly/alerts?{q}"));
        assert_eq!(status, 400, "{q}: {e}");
        assert!(e.to_string().contains(says), "{q}: {e}");
    }
    node.stop();
}
