//! Federation end to end: three real `onewall` processes on loopback — the province 410000
//! and the cities 410100 and 410200. Each city pushes its alerts and incidents to the
//! province with a collector token the province issued; sshd failures go to the cities with
//! the real `logger` over UDP.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(40);
/// Seen in both cities.
const ATTACKER: &str = "203.0.113.66";
/// Seen in 410100 only.
const LONER: &str = "198.51.100.23";
/// Attacks 410200 while it cannot push.
const LATE: &str = "192.0.2.99";

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

/// A node config on loopback port 0 everywhere (HTTP on `http` when given).
fn config(data: &Path, name: &str, region: &str, http: &str, extra: &str) -> String {
    format!(
        r#"version = 1
[node]
name = "{name}"
region = "{region}"
[syslog]
udp = "127.0.0.1:0"
tcp = "127.0.0.1:0"
[http]
listen = "{http}"
[flow]
netflow = "127.0.0.1:0"
sflow = "127.0.0.1:0"
[store]
path = "{}"
{extra}
"#,
        data.display()
    )
}

fn child_extra(parent: &str, token: &str, push_ms: u64, heartbeat_s: u64) -> String {
    format!(
        "[federation]\nparent_url = \"{parent}\"\ntoken = \"{token}\"\npush_interval_ms = {push_ms}\n\
         heartbeat_s = {heartbeat_s}\nretry_min_ms = 200\nretry_max_ms = 1000\n"
    )
}

fn start(dir: &Path, file: &str, text: &str) -> Node {
    let cfg = dir.join(file);
    std::fs::write(&cfg, text).unwrap();
    Node::start(&cfg)
}

/// Three sshd failures from `ip` to `node` (`host` names the target, for the reader).
fn attack(node: &Node, ip: &str, _host: &str, first_port: u32) {
    for p in first_port..first_port + 3 {
        common::sshd(
            node,
            &format!("Failed password for root from {ip} port {p} ssh2"),
        );
    }
}

fn has_entity(v: &Value, value: &str) -> bool {
    v["entities"]
        .as_array()
        .is_some_and(|es| es.iter().any(|e| e["value"] == value))
}

fn incidents_with(node: &Node, value: &str) -> Vec<Value> {
    items(&node.get("/api/v1/incidents?limit=500"))
        .into_iter()
        .filter(|i| has_entity(i, value))
        .collect()
}

fn alerts_with(node: &Node, value: &str) -> Vec<Value> {
    items(&node.get("/api/v1/alerts?limit=1000"))
        .into_iter()
        .filter(|a| has_entity(a, value))
        .collect()
}

fn ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

fn make_token(node: &Node, role: &str, region: &str) -> String {
    let body = json!({"name": format!("{role}-{region}"), "role": role, "region": region});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

fn one_incident_of(node: &Node, value: &str) -> Value {
    eventually(WAIT, || {
        let i = incidents_with(node, value);
        (!i.is_empty()).then(|| i[0].clone())
    })
    .unwrap_or_else(|| panic!("no incident about {value}; stderr:\n{}", node.stderr()))
}

#[test]
fn province_links_both_cities_dispatches_hears_closure_and_misses_nothing_after_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let province = start(
        d,
        "province.toml",
        &config(
            &d.join("province"),
            "henan-soc",
            "410000",
            "127.0.0.1:0",
            "[federation]\nchildren = [\"410100\", \"410200\", \"410300\"]\nmin_regions = 2\n",
        ),
    );
    let zz_token = make_token(&province, "collector", "410100");
    let kf_token = make_token(&province, "collector", "410200");
    let zz_cfg = config(
        &d.join("zz"),
        "zhengzhou-soc",
        "410100",
        "127.0.0.1:0",
        &child_extra(&province.http, &zz_token, 200, 1),
    );
    let kf_fast = config(
        &d.join("kf"),
        "kaifeng-soc",
        "410200",
        "127.0.0.1:0",
        &child_extra(&province.http, &kf_token, 200, 1),
    );
    let zz = start(d, "zz.toml", &zz_cfg);
    let kf = start(d, "kf.toml", &kf_fast);

    // A token of one city cannot push for the other: 403 naming the region.
    let (status, reply) = province.call_as(
        Some(&zz_token),
        "POST",
        "/api/v1/federation/push",
        Some(
            json!({"node": "x", "region": "410200", "sent": "2026-11-28T00:00:00Z",
                   "outbox_depth": 0, "ack_down": 0, "messages": []})
            .to_string()
            .as_bytes(),
        ),
    );
    assert_eq!(status, 403, "{reply}");
    assert!(reply.to_string().contains("410200"), "{reply}");

    attack(&zz, ATTACKER, "web-zz", 41000);
    attack(&kf, ATTACKER, "web-kf", 42000);
    attack(&zz, LONER, "db-zz", 43000);

    // Each city opens its own incident.
    let zz_incident = one_incident_of(&zz, ATTACKER);
    let kf_incident = one_incident_of(&kf, ATTACKER);
    let zz_id = zz_incident["id"].as_str().unwrap().to_owned();
    let kf_id = kf_incident["id"].as_str().unwrap().to_owned();

    // The province opens one incident over both regions, linking both city incidents.
    let parent = eventually(WAIT, || {
        let found = incidents_with(&province, ATTACKER);
        let inc = found.first()?;
        let full = province.get(&format!("/api/v1/incidents/{}", inc["id"].as_str()?));
        let linked: BTreeSet<String> = full["remote_children"]
            .as_array()?
            .iter()
            .map(|c| c["incident"].as_str().unwrap().to_owned())
            .collect();
        (linked.contains(&zz_id) && linked.contains(&kf_id)).then_some(full)
    })
    .unwrap_or_else(|| {
        let full: Vec<Value> = incidents_with(&province, ATTACKER)
            .iter()
            .map(|i| province.get(&format!("/api/v1/incidents/{}", i["id"].as_str().unwrap())))
            .collect();
        panic!(
            "no province incident linking both cities ({zz_id} and {kf_id}): {full:?}\n\
             zhengzhou's: {:?}\nkaifeng's: {:?}\nstderr:\n{}",
            incidents_with(&zz, ATTACKER),
            incidents_with(&kf, ATTACKER),
            province.stderr()
        )
    });
    let pid = parent["id"].as_str().unwrap().to_owned();
    let regions: BTreeSet<&str> = parent["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(regions, BTreeSet::from(["410100", "410200"]));
    // It belongs to the province, not to either city.
    assert_eq!(parent["region"], "410000", "{parent}");
    let children = parent["remote_children"].as_array().unwrap();
    assert!(
        children
            .iter()
            .any(|c| c["region"] == "410100" && c["node"] == "zhengzhou-soc")
    );
    assert_eq!(incidents_with(&province, ATTACKER).len(), 1, "exactly one");

    // The loner's alerts reached the province and are searchable, but open nothing there.
    eventually(WAIT, || {
        (alerts_with(&province, LONER).len() >= 3).then_some(())
    })
    .expect("the loner's alerts at the province");
    assert!(
        !incidents_with(&zz, LONER).is_empty(),
        "the city has its own incident"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        incidents_with(&province, LONER).is_empty(),
        "one region alone opens no province incident"
    );

    // Dispatch to 410100: a viewer may not, an unknown child is refused, a responder may.
    let viewer = make_token(&province, "viewer", "410000");
    let path = format!("/api/v1/incidents/{pid}/dispatch");
    let body =
        json!({"region": "410100", "note": "block 203.0.113.66 at the edge", "team": "zz-soc"});
    let (status, _) = province.call_as(
        Some(&viewer),
        "POST",
        &path,
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(status, 403);
    let (status, reply) = province.post(
        &path,
        json!({"region": "410500", "note": "x"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 400, "{reply}");
    assert!(reply.to_string().contains("410500"), "{reply}");
    let responder = make_token(&province, "responder", "410000");
    let (status, reply) = province.call_as(
        Some(&responder),
        "POST",
        &path,
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(status, 201, "{reply}");

    // The city's incident is linked to it, with the dispatch on its timeline.
    let linked = eventually(WAIT, || {
        let inc = zz.get(&format!("/api/v1/incidents/{zz_id}"));
        (inc["remote_parent"]["incident"] == pid.as_str()).then_some(inc)
    })
    .unwrap_or_else(|| panic!("the city incident was not linked; stderr:\n{}", zz.stderr()));
    assert_eq!(linked["remote_parent"]["region"], "410000");
    assert_eq!(linked["team"], "zz-soc");
    assert!(
        linked["timeline"].as_array().unwrap().iter().any(|e| {
            e["actor"].as_str().unwrap().starts_with("remote:410000/")
                && e["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("dispatched by 410000"))
        }),
        "{linked}"
    );

    // The province comments; the comment lands on the city's incident.
    let (status, reply) = province.post(
        &format!("/api/v1/incidents/{pid}/comment"),
        json!({"text": "the edge ACL is ready"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    eventually(WAIT, || {
        let inc = zz.get(&format!("/api/v1/incidents/{zz_id}"));
        inc["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["text"] == "the edge ACL is ready")
            .then_some(())
    })
    .expect("the province's comment reached the city");

    // The province acknowledges; the city's incident follows, and the province hears it.
    let (status, reply) = province.post(&format!("/api/v1/incidents/{pid}/acknowledge"), b"");
    assert_eq!(status, 200, "{reply}");
    eventually(WAIT, || {
        let inc = zz.get(&format!("/api/v1/incidents/{zz_id}"));
        (inc["status"] == "acknowledged").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the city did not follow the acknowledgement: {}",
            zz.get(&format!("/api/v1/incidents/{zz_id}"))
        )
    });
    eventually(WAIT, || {
        let inc = province.get(&format!("/api/v1/incidents/{pid}"));
        (inc["dispatches"][0]["status"] == "acknowledged").then_some(())
    })
    .expect("the province hears the city's status");

    // The city closes its incident; the province sees it.
    let (status, reply) = zz.post(
        &format!("/api/v1/incidents/{zz_id}/status"),
        json!({"status": "closed", "reason": "blocked at the edge"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    let seen = eventually(WAIT, || {
        let inc = province.get(&format!("/api/v1/incidents/{pid}"));
        let d = inc["dispatches"].as_array()?.first()?.clone();
        (d["status"] == "closed" && inc["status"] == "closed").then_some(inc)
    })
    .unwrap_or_else(|| {
        panic!(
            "the province did not see the closure: {}\nstderr:\n{}",
            province.get(&format!("/api/v1/incidents/{pid}")),
            province.stderr()
        )
    });
    assert!(
        seen["timeline"].as_array().unwrap().iter().any(|e| {
            e["actor"].as_str().unwrap().starts_with("remote:410100/")
                && e["text"].as_str().is_some_and(|t| t.contains("closed"))
        }),
        "the closure is on the province's timeline: {seen}"
    );
    // The city's own change is not echoed back to it.
    let zz_now = zz.get(&format!("/api/v1/incidents/{zz_id}"));
    assert_eq!(zz_now["status"], "closed");

    // Health: both cities seen, 410300 expected but never seen.
    let health = province.get("/api/v1/federation/children");
    let by_region: HashMap<String, Value> = items(&health)
        .into_iter()
        .map(|c| (c["region"].as_str().unwrap().to_owned(), c))
        .collect();
    assert_eq!(by_region["410100"]["node"], "zhengzhou-soc");
    assert_eq!(by_region["410100"]["state"], "seen");
    assert!(by_region["410100"]["alerts_received"].as_u64().unwrap() >= 6);
    assert!(by_region["410100"]["last_seq"].as_u64().unwrap() > 0);
    assert_eq!(by_region["410300"]["state"], "never_seen");
    // The overview's children panel says the same.
    let overview = province.get("/api/v1/stats/overview");
    let children = overview["federation"]["children"].as_array().unwrap();
    let state_of = |code: &str| {
        children
            .iter()
            .find(|c| c["region"] == code)
            .map(|c| c["state"].clone())
    };
    assert_eq!(state_of("410100"), Some(json!("ok")), "{overview}");
    assert_eq!(state_of("410300"), Some(json!("never")), "{overview}");

    // The outage: 410200 comes back with pushes held back, has alerts queued, is stopped for
    // 60 seconds, and returns pushing: every alert arrives at the province, once.
    kf.stop();
    let kf_slow = config(
        &d.join("kf"),
        "kaifeng-soc",
        "410200",
        "127.0.0.1:0",
        &child_extra(&province.http, &kf_token, 3_600_000, 3_600),
    );
    let kf = start(d, "kf.toml", &kf_slow);
    attack(&kf, LATE, "mail-kf", 44000);
    let status = eventually(WAIT, || {
        let s = kf.get("/api/v1/federation/status");
        (s["outbox_depth"].as_u64()? >= 3).then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "alerts not queued: {}\nstderr:\n{}",
            kf.get("/api/v1/federation/status"),
            kf.stderr()
        )
    });
    assert!(status["oldest_queued"].is_string(), "{status}");
    let kf_alerts: BTreeSet<String> = ids(&items(&kf.get("/api/v1/alerts?limit=1000")))
        .into_iter()
        .collect();
    assert!(alerts_with(&province, LATE).is_empty(), "held back so far");
    kf.stop();
    std::thread::sleep(Duration::from_secs(60));
    let health = province.get("/api/v1/federation/children");
    let kf_health = items(&health)
        .into_iter()
        .find(|c| c["region"] == "410200")
        .unwrap();
    assert!(
        kf_health["lag_seconds"].as_f64().unwrap() >= 55.0,
        "a silent child lags: {kf_health}"
    );
    let kf = start(d, "kf.toml", &kf_fast);
    let at_province = eventually(WAIT, || {
        let all: Vec<Value> = items(&province.get("/api/v1/alerts?limit=1000&region=410200"));
        let got: BTreeSet<String> = ids(&all).into_iter().collect();
        kf_alerts.is_subset(&got).then_some(all)
    })
    .unwrap_or_else(|| panic!("alerts missing after the outage; stderr:\n{}", kf.stderr()));
    let listed = ids(&at_province);
    let unique: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(listed.len(), unique.len(), "each alert once");
    assert_eq!(
        unique, kf_alerts,
        "the province holds exactly the city's alerts"
    );
    eventually(WAIT, || {
        let s = kf.get("/api/v1/federation/status");
        (s["outbox_depth"] == 0 && s["last_success"].is_string()).then_some(())
    })
    .expect("the outbox drains");
    drop(zz);
}

#[test]
fn a_child_retries_while_its_parent_is_down_and_delivers_later() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The parent's port, chosen now, used once it starts.
    let port = common::port_for_later();
    let parent_cfg = d.join("province.toml");
    let parent_data = d.join("province");
    std::fs::write(
        &parent_cfg,
        config(
            &parent_data,
            "henan-soc",
            "410000",
            &format!("127.0.0.1:{port}"),
            "",
        ),
    )
    .unwrap();
    // The child's token (and one to read with), made with the CLI in the parent's data
    // directory before it starts.
    let cli_token = |name: &str, role: &str, region: &str| {
        let out = Command::new(common::binary())
            .args(["tokens", "create", "--name", name, "--role", role])
            .args(["--region", region, "--config"])
            .arg(&parent_cfg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let token = cli_token("zz-uplink", "collector", "410100");
    let admin = cli_token("reader", "admin", "410000");

    let zz = start(
        d,
        "zz.toml",
        &config(
            &d.join("zz"),
            "zhengzhou-soc",
            "410100",
            "127.0.0.1:0",
            &child_extra(&format!("http://127.0.0.1:{port}"), &token, 100, 1),
        ),
    );
    attack(&zz, ATTACKER, "web-zz", 45000);
    let status = eventually(WAIT, || {
        let s = zz.get("/api/v1/federation/status");
        (s["outbox_depth"].as_u64()? >= 3 && s["last_error"].as_str()?.contains("127.0.0.1"))
            .then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "no failed push recorded: {}",
            zz.get("/api/v1/federation/status")
        )
    });
    assert!(status["last_success"].is_null(), "{status}");
    let sent: BTreeSet<String> = ids(&items(&zz.get("/api/v1/alerts?limit=1000")))
        .into_iter()
        .collect();

    let mut province = Node::start(&parent_cfg);
    province.token = Some(admin);
    let got = eventually(WAIT, || {
        let got: BTreeSet<String> = ids(&items(&province.get("/api/v1/alerts?limit=1000")))
            .into_iter()
            .collect();
        sent.is_subset(&got).then_some(got)
    })
    .unwrap_or_else(|| panic!("not delivered after the parent came up; {}", zz.stderr()));
    assert_eq!(got, sent);
    eventually(WAIT, || {
        let s = zz.get("/api/v1/federation/status");
        (s["outbox_depth"] == 0 && s["last_error"] == "").then_some(())
    })
    .expect("the outbox drains and the error clears");
    // One region alone: stored at the parent, no incident there.
    assert!(incidents_with(&province, ATTACKER).is_empty());
}

/// Three levels: a county (410102) under the city 410100 under the province, beside the city
/// 410200. The county's alerts reach the province through its city, under their own region;
/// they count for the city that relayed them, so an attacker seen in the county and its own
/// city is one region at the province, and only the second city makes it a province incident.
/// The province is not told the county exists (it places it by its digits).
#[test]
fn a_city_relays_its_countys_alerts_to_the_province() {
    const RELAYED: &str = "203.0.113.77";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let county_region = "[[regions]]\ncode = \"410102\"\nparent = \"410100\"\nname = \"中原区\"\nlevel = \"county\"\n";
    let province = start(
        d,
        "province.toml",
        &config(
            &d.join("province"),
            "henan-soc",
            "410000",
            "127.0.0.1:0",
            "[federation]\nmin_regions = 2\n",
        ),
    );
    let zz_token = make_token(&province, "collector", "410100");
    let kf_token = make_token(&province, "collector", "410200");
    let zz = start(
        d,
        "zz.toml",
        &config(
            &d.join("zz"),
            "zhengzhou-soc",
            "410100",
            "127.0.0.1:0",
            &format!(
                "{}{county_region}",
                child_extra(&province.http, &zz_token, 100, 1)
            ),
        ),
    );
    let county_token = make_token(&zz, "collector", "410102");
    let county = start(
        d,
        "county.toml",
        &config(
            &d.join("county"),
            "zhongyuan-soc",
            "410102",
            "127.0.0.1:0",
            &format!(
                "{}{county_region}",
                child_extra(&zz.http, &county_token, 100, 1)
            ),
        ),
    );

    attack(&county, RELAYED, "web-zy", 46000);
    attack(&zz, RELAYED, "web-zz", 47000);
    let county_alerts = eventually(WAIT, || {
        let got = ids(&alerts_with(&county, RELAYED));
        (got.len() >= 3).then_some(got)
    })
    .unwrap_or_else(|| panic!("no alerts at the county: {}", county.stderr()));
    assert_eq!(county_alerts.len(), 3);
    // The county's three alerts and the city's own three reach the province; the county's
    // keep their region.
    let at_province = eventually(WAIT, || {
        let got = alerts_with(&province, RELAYED);
        (got.len() >= 6).then_some(got)
    })
    .unwrap_or_else(|| {
        panic!(
            "relayed alerts missing at the province: {:?}\ncity:\n{}",
            ids(&alerts_with(&province, RELAYED)),
            zz.stderr()
        )
    });
    assert_eq!(at_province.len(), 6, "{at_province:?}");
    let from_county: BTreeSet<String> = at_province
        .iter()
        .filter(|a| a["region"] == "410102")
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        from_county,
        county_alerts.iter().cloned().collect::<BTreeSet<_>>()
    );
    assert!(
        zz.metric("onewall_federation_relayed_total").unwrap_or(0.0) >= 3.0,
        "{}",
        zz.metrics()
    );
    // County and city are one child region at the province: no incident yet. The province
    // lists its direct children only.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(incidents_with(&province, RELAYED).is_empty());
    let children = province.get("/api/v1/federation/children");
    let by_region: HashMap<String, Value> = items(&children)
        .into_iter()
        .map(|c| (c["region"].as_str().unwrap().to_owned(), c))
        .collect();
    assert!(!by_region.contains_key("410102"), "{children}");
    assert!(
        by_region["410100"]["alerts_received"].as_u64().unwrap() >= 6,
        "{children}"
    );

    // The other city sees the attacker too: now a province incident holding the county's
    // alerts.
    let kf = start(
        d,
        "kf.toml",
        &config(
            &d.join("kf"),
            "kaifeng-soc",
            "410200",
            "127.0.0.1:0",
            &child_extra(&province.http, &kf_token, 100, 1),
        ),
    );
    attack(&kf, RELAYED, "web-kf", 48000);
    let inc = eventually(WAIT, || {
        let found = incidents_with(&province, RELAYED);
        let inc = found.first()?;
        let held: BTreeSet<String> = inc["alert_ids"]
            .as_array()?
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        from_county.is_subset(&held).then(|| inc.clone())
    })
    .unwrap_or_else(|| {
        panic!(
            "no province incident with the county's alerts: {:?}\n{}",
            incidents_with(&province, RELAYED),
            province.stderr()
        )
    });
    let regions: BTreeSet<&str> = inc["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert!(
        regions.contains("410102") && regions.contains("410200"),
        "{inc}"
    );
    drop(kf);
}
