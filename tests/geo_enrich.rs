//! Geo-IP enrichment end to end: the real binary with `[intel.geo]` naming an ip2region xdb
//! and a MaxMind DB the test writes, fed sshd lines by the real `logger`; the stored events
//! carry the `source.geo.*` and `source.as.*` fields, and a Sigma rule on them fires. A
//! database that is not of its format stops the node at startup, naming the key and path, and
//! fails `onewall check-config`.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;
#[path = "../intel/tests/geo_support/mod.rs"]
mod geo_support;

use std::process::Command;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

/// Fires on a login failure from outside the border (境外).
const RULE: &str = "title: login failure from abroad\n\
id: 6e0d4c52-1a8b-4f0e-9d3c-7b2a5f8e9c01\nstatus: test\nlevel: high\n\
logsource: {product: test}\n\
detection:\n  selection:\n    source.geo.domestic: false\n    message|contains: 'Failed password'\n  condition: selection\n";

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

/// The stored event whose raw text holds `needle`, once it is there.
fn event_with(node: &Node, needle: &str) -> Value {
    eventually(WAIT, || {
        items(&node.get(&format!("/api/v1/events?q={needle}&limit=10")))
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no stored event with {needle}"))
}

#[test]
fn syslog_events_get_geo_fields_before_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let xdb = dir.path().join("ip2region.xdb");
    std::fs::write(&xdb, geo_support::xdb(&geo_support::v4_segments(), false)).unwrap();
    let xdb_v6 = dir.path().join("ip2region_v6.xdb");
    std::fs::write(&xdb_v6, geo_support::xdb(&geo_support::v6_segments(), true)).unwrap();
    let mmdb = dir.path().join("city.mmdb");
    geo_support::mmdb(&mmdb);
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("abroad.yml"), RULE).unwrap();
    let extra = format!(
        "[rules]\ndirs = [\"{}\"]\n[intel.geo]\nxdb = \"{}\"\nxdb_v6 = \"{}\"\nmmdb = \"{}\"\n",
        rules.display(),
        xdb.display(),
        xdb_v6.display(),
        mmdb.display()
    );
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&dir.path().join("data"), &extra)).unwrap();
    let node = Node::start(&cfg);

    common::sshd(
        &node,
        "Failed password for root from 1.2.3.4 port 50100 ssh2 geohenan",
    );
    common::sshd(
        &node,
        "Failed password for root from 8.8.8.8 port 50101 ssh2 geoabroad",
    );
    common::sshd(
        &node,
        "Failed password for root from 192.168.7.7 port 50102 ssh2 geoprivate",
    );
    common::sshd(
        &node,
        "Failed password for root from 9.9.9.9 port 50103 ssh2 geounknown",
    );

    common::sshd(
        &node,
        "Failed password for root from 2400:3200::77 port 50104 ssh2 geohangzhou",
    );

    let henan = event_with(&node, "geohenan");
    let f = &henan["fields"];
    assert_eq!(f["source.ip"], "1.2.3.4", "{henan}");
    assert_eq!(f["source.geo.country_iso_code"], "CN", "{henan}");
    assert_eq!(f["source.geo.country_name"], "中国");
    assert_eq!(f["source.geo.region_name"], "河南省");
    assert_eq!(f["source.geo.city_name"], "郑州市");
    assert_eq!(f["source.as.organization.name"], "电信");
    // The ASN only the MaxMind DB has.
    assert_eq!(f["source.as.number"], 4134);
    assert_eq!(f["source.geo.scope"], "public");
    assert_eq!(f["source.geo.domestic"], true);

    let hangzhou = event_with(&node, "geohangzhou");
    let f = &hangzhou["fields"];
    assert_eq!(f["source.geo.region_name"], "浙江省", "{hangzhou}");
    assert_eq!(f["source.geo.city_name"], "杭州市", "{hangzhou}");
    assert_eq!(f["source.as.number"], 37963, "{hangzhou}");

    let abroad = event_with(&node, "geoabroad");
    let f = &abroad["fields"];
    assert_eq!(f["source.geo.country_iso_code"], "US", "{abroad}");
    assert_eq!(f["source.as.number"], 15169);
    assert_eq!(f["source.geo.domestic"], false);

    let private = event_with(&node, "geoprivate");
    let f = &private["fields"];
    assert_eq!(f["source.geo.scope"], "private", "{private}");
    assert!(f.get("source.geo.country_iso_code").is_none(), "{private}");
    assert!(f.get("source.geo.domestic").is_none(), "{private}");

    let unknown = event_with(&node, "geounknown");
    let f = &unknown["fields"];
    assert_eq!(f["source.geo.scope"], "public", "{unknown}");
    assert!(f.get("source.geo.country_name").is_none(), "{unknown}");

    // The rule saw the enriched fields: one alert, for the address abroad.
    let alerts = eventually(WAIT, || {
        let a = items(
            &node.get("/api/v1/alerts?rule_id=6e0d4c52-1a8b-4f0e-9d3c-7b2a5f8e9c01&limit=100"),
        );
        (!a.is_empty()).then_some(a)
    })
    .expect("an alert from the rule on source.geo.domestic");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let text = alerts[0].to_string();
    assert!(text.contains("8.8.8.8"), "{text}");
    assert!(
        node.metric("onewall_intel_geo_addresses_total")
            .unwrap_or(0.0)
            >= 5.0
    );
    node.stop();
}

#[test]
fn a_corrupt_database_stops_the_node_at_startup_naming_key_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let xdb = dir.path().join("broken.xdb");
    std::fs::write(&xdb, b"not an xdb file").unwrap();
    let cfg = dir.path().join("onewall.toml");
    let extra = format!("[intel.geo]\nxdb = \"{}\"\n", xdb.display());
    std::fs::write(&cfg, common::config(&dir.path().join("data"), &extra)).unwrap();
    let out = Command::new(common::binary())
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("intel.geo.xdb"), "{err}");
    assert!(err.contains(&xdb.display().to_string()), "{err}");
    assert!(
        err.contains("ip2region xdb database is malformed: 15 bytes"),
        "{err}"
    );
    // check-config reads the databases too.
    let out = Command::new(common::binary())
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("intel.geo.xdb") && err.contains("malformed"),
        "{err}"
    );

    let missing = dir.path().join("missing.mmdb");
    let extra = format!("[intel.geo]\nmmdb = \"{}\"\n", missing.display());
    std::fs::write(&cfg, common::config(&dir.path().join("data"), &extra)).unwrap();
    let out = Command::new(common::binary())
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("intel.geo.mmdb: reading"), "{err}");
    assert!(err.contains("missing.mmdb"), "{err}");
}
