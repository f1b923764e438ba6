//! Threat intelligence across levels, two real `onewall` processes on loopback: the province
//! 410000 and the city 410100 pushing to it. The province's indicators go down in its
//! answers to the city's pushes as TLP allows (AMBER and GREEN do, RED and AMBER+STRICT for
//! another organisation do not); an event at the city holding the province's AMBER address
//! raises an intel alert there, and the city's sighting appears at the province.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const AMBER_IP: &str = "203.0.113.77";
const GREEN_DOMAIN: &str = "green.example";
const RED_IP: &str = "203.0.113.78";
const STRICT_IP: &str = "203.0.113.79";

fn config(data: &Path, name: &str, region: &str, extra: &str) -> String {
    common::node_config(data, name, region, extra)
}

fn start(dir: &Path, file: &str, text: &str) -> Node {
    common::start_with(dir, file, text)
}

fn add_local(node: &Node, value: &str, kind: &str, tlp: &str) {
    let body = json!({"value": value, "kind": kind, "reason": "province analysis",
                      "tlp": tlp, "confidence": 90, "severity": "high"});
    let (status, reply) = node.post("/api/v1/intel/indicators", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
}

fn values(listing: &Value) -> Vec<String> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let ind = if i["indicator"].is_object() {
                &i["indicator"]
            } else {
                i
            };
            ind["value"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn the_provinces_indicators_reach_the_city_by_tlp_and_the_citys_sightings_reach_the_province() {
    let dir = tempfile::tempdir().unwrap();
    let province = start(
        dir.path(),
        "province.toml",
        &config(
            &dir.path().join("p"),
            "henan",
            "410000",
            "[federation]\nchildren = [\"410100\"]\n",
        ),
    );
    add_local(&province, AMBER_IP, "ip", "AMBER");
    add_local(&province, GREEN_DOMAIN, "domain-tree", "GREEN");
    add_local(&province, RED_IP, "ip", "RED");
    add_local(&province, STRICT_IP, "ip", "AMBER+STRICT");

    let body = json!({"name": "zz-uplink", "role": "collector", "region": "410100"});
    let (status, reply) = province.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    let token = reply["token"].as_str().unwrap();
    let city_extra = format!(
        "[federation]\nparent_url = \"{}\"\ntoken = \"{token}\"\npush_interval_ms = 200\n\
         heartbeat_s = 1\nretry_min_ms = 200\nretry_max_ms = 1000\n",
        province.http
    );
    let city = start(
        dir.path(),
        "city.toml",
        &config(&dir.path().join("c"), "zhengzhou", "410100", &city_extra),
    );

    // The city holds the AMBER and GREEN indicators in its `parent` feed, never the RED one,
    // and not the AMBER+STRICT one (the city is another organisation: its own region).
    let held = eventually(WAIT, || {
        let v = values(&city.get("/api/v1/intel/indicators?feed=parent&limit=100"));
        (v.len() >= 2).then_some(v)
    })
    .unwrap_or_else(|| {
        panic!(
            "the city never held the shared indicators; stderr:\n{}",
            city.stderr()
        )
    });
    assert!(held.contains(&AMBER_IP.to_owned()), "{held:?}");
    assert!(held.contains(&GREEN_DOMAIN.to_owned()), "{held:?}");
    assert!(
        !held.contains(&RED_IP.to_owned()),
        "RED left the province: {held:?}"
    );
    assert!(
        !held.contains(&STRICT_IP.to_owned()),
        "AMBER+STRICT reached another organisation: {held:?}"
    );
    // A few pushes later, still the same: nothing RED arrives on a later page.
    std::thread::sleep(Duration::from_secs(2));
    let later = values(&city.get("/api/v1/intel/indicators?feed=parent&limit=100"));
    assert_eq!(later.len(), held.len(), "{later:?}");

    // An event at the city holding the AMBER address: an intel alert there...
    common::sshd(
        &city,
        &format!("Failed password for root from {AMBER_IP} port 4711 ssh2"),
    );
    let alert = eventually(WAIT, || {
        let all = city.get("/api/v1/alerts?rule_id=intel.ip&limit=50");
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["intel"]["indicator"]["value"] == AMBER_IP)
            .cloned()
    })
    .unwrap_or_else(|| panic!("no intel alert at the city; stderr:\n{}", city.stderr()));
    assert_eq!(alert["intel"]["indicator"]["tlp"], "AMBER");

    // ... and the province sees which city saw it, named by the province's own feed.
    let seen = eventually(WAIT, || {
        let s = province.get("/api/v1/intel/sightings");
        s["items"]
            .as_array()
            .or_else(|| s.as_array())
            .unwrap()
            .iter()
            .find(|x| x["value"] == AMBER_IP && x["region"] == "410100")
            .cloned()
    })
    .unwrap_or_else(|| {
        panic!(
            "no sighting at the province; city stderr:\n{}",
            city.stderr()
        )
    });
    assert!(seen["count"].as_u64().unwrap() >= 1, "{seen}");
    assert_eq!(seen["feed"], "local", "{seen}");

    city.stop();
    province.stop();
}
