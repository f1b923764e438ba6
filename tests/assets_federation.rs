//! Asset roll-ups across levels, two real `onewall` processes on loopback: the province 410000
//! and the city 410100 pushing to it. The city imports a registry and a findings file; within
//! seconds the province's `GET /api/v1/assets/rollup` shows the city's rows — systems by 等保
//! level, open findings by severity, overdue — without holding the city's systems.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn config(data: &Path, name: &str, region: &str, extra: &str) -> String {
    common::node_config(data, name, region, extra)
}

fn start(dir: &Path, file: &str, text: &str) -> Node {
    common::start_with(dir, file, text)
}

/// Three systems of the city: two of 郑州市大数据局 (三级 and 二级, one CII) and one of
/// 郑州市卫健委 (三级).
const REGISTRY_CSV: &str = "\
system,region,department,ops unit,level,cii,exposure,addresses,hostnames
政务云平台,410100,郑州市大数据局,郑州云服务公司,3,yes,internal,10.20.0.0/24,
门户网站,410100,郑州市大数据局,郑州云服务公司,2,no,internet,10.20.1.11,web01
医保结算,410100,郑州市卫健委,河南信息技术公司,3,no,internal,10.30.0.5,his01
";

/// Findings: critical and high on the portal, a medium on the health commission's.
const FINDINGS_CSV: &str = "\
host,port,cve,cvss,title
10.20.1.11,8080/tcp,CVE-2021-44228,10.0,Apache Log4j2 JNDI remote code execution
10.20.1.11,443/tcp,CVE-2022-22965,8.1,Spring4Shell
10.30.0.5,3306/tcp,CVE-2012-2122,5.1,MySQL authentication bypass
";

fn row<'a>(rows: &'a [Value], region: &str, department: &str) -> Option<&'a Value> {
    rows.iter()
        .find(|r| r["region"] == region && r["department"] == department)
}

#[test]
fn the_province_shows_the_citys_asset_roll_up() {
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
    let body = json!({"name": "zz-uplink", "role": "collector", "region": "410100"});
    let (status, reply) = province.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    let token = reply["token"].as_str().unwrap();
    let city_extra = format!(
        "[federation]\nparent_url = \"{}\"\ntoken = \"{token}\"\npush_interval_ms = 200\n\
         heartbeat_s = 1\nretry_min_ms = 200\nretry_max_ms = 1000\n\
         [assets]\nrollup_secs = 1\n[assets.deadline_days]\ncritical = 0\n",
        province.http
    );
    let city = start(
        dir.path(),
        "city.toml",
        &config(&dir.path().join("c"), "zhengzhou", "410100", &city_extra),
    );

    let (status, reply) = city.post(
        "/api/v1/assets/import?name=registry.csv",
        REGISTRY_CSV.as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["registry"]["added"], 3, "{reply}");
    let (status, reply) = city.post(
        "/api/v1/assets/import?name=findings.csv",
        FINDINGS_CSV.as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["scan"]["new"], 3, "{reply}");

    // The province shows the city's figures, received through the uplink.
    let child = eventually(WAIT, || {
        let r = province.get("/api/v1/assets/rollup");
        let children = r["children"].as_array()?.clone();
        children.into_iter().find(|c| {
            c["via"] == "410100"
                && c["rollup"]["rows"]
                    .as_array()
                    .is_some_and(|rows| rows.iter().any(|r| r["open_findings"][3] == 1))
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "the province never showed the city's roll-up: {}\ncity stderr:\n{}",
            province.get("/api/v1/assets/rollup"),
            city.stderr()
        )
    });
    assert_eq!(child["node"], "zhengzhou", "{child}");
    let rows = child["rollup"]["rows"].as_array().unwrap();
    let city_rows = row(rows, "410100", "郑州市大数据局").unwrap_or_else(|| panic!("{child}"));
    // Systems by level: index 0 none, 1–5 一级 … 五级.
    assert_eq!(city_rows["systems_by_level"], json!([0, 0, 1, 1, 0, 0]));
    assert_eq!(city_rows["cii_systems"], 1);
    assert_eq!(city_rows["internet_systems"], 1);
    // Open findings by severity, informational … critical: one high, one critical.
    assert_eq!(city_rows["open_findings"], json!([0, 0, 0, 1, 1]));
    let health = row(rows, "410100", "郑州市卫健委").unwrap_or_else(|| panic!("{child}"));
    assert_eq!(health["systems_by_level"], json!([0, 0, 0, 1, 0, 0]));
    assert_eq!(health["open_findings"], json!([0, 0, 1, 0, 0]));
    // Critical findings are due at once here (`deadline_days.critical = 0`): the Log4Shell
    // finding is overdue; the high and medium ones have weeks left.
    assert_eq!(city_rows["overdue"], 1, "{child}");
    assert_eq!(health["overdue"], 0, "{child}");

    // The city's token cannot report figures for another city: the push is refused whole,
    // naming the region, and the province keeps what it had.
    let foreign = json!({"node": "zhengzhou", "region": "410100", "epoch": "forged",
        "sent": "2026-12-07T09:00:00Z", "outbox_depth": 0, "ack_down": 0,
        "messages": [{"seq": 1, "type": "asset_rollup", "rollup": {
            "region": "410100", "at": "2026-12-07T09:00:00Z",
            "rows": [{"region": "410200", "department": "开封市大数据局",
                      "systems_by_level": [0, 0, 0, 9, 0, 0], "cii_systems": 0,
                      "internet_systems": 0, "hosts": 0, "open_findings": [0, 0, 0, 0, 0],
                      "overdue": 0, "unknown_hosts": 0, "silent_hosts": 0}]}}]});
    let (status, reply) = province.call_as(
        Some(token),
        "POST",
        "/api/v1/federation/push",
        Some(foreign.to_string().as_bytes()),
    );
    assert_eq!(status, 403, "{reply}");
    assert!(reply.to_string().contains("410200"), "{reply}");
    let after = province.get("/api/v1/assets/rollup");
    assert!(!after.to_string().contains("开封市大数据局"), "{after}");

    // The province holds no systems of the city's itself: only the figures.
    let own = province.get("/api/v1/assets/rollup");
    let own_rows = own["own"]["rows"].as_array().map_or(0, Vec::len);
    assert_eq!(own_rows, 0, "{own}");
    let hosts = province.get("/api/v1/assets/hosts");
    assert_eq!(hosts["items"].as_array().map(Vec::len), Some(0), "{hosts}");

    // A newer roll-up replaces the one before: the city's registry grows by one system.
    let more = "system,region,department,level,addresses\n\
                视频会议,410100,郑州市大数据局,1,10.20.2.9\n";
    let (status, reply) = city.post("/api/v1/assets/import?name=more.csv", more.as_bytes());
    assert_eq!(status, 200, "{reply}");
    let grown = eventually(WAIT, || {
        let r = province.get("/api/v1/assets/rollup");
        let c = r["children"].as_array()?.first()?.clone();
        let rows = c["rollup"]["rows"].as_array()?.clone();
        let row = row(&rows, "410100", "郑州市大数据局")?.clone();
        (row["systems_by_level"] == json!([0, 1, 1, 1, 0, 0])).then_some(r)
    })
    .unwrap_or_else(|| panic!("{}", province.get("/api/v1/assets/rollup")));
    assert_eq!(grown["children"].as_array().unwrap().len(), 1, "{grown}");
    city.stop();
    province.stop();
}

/// The district 中原区, which the built-in tree does not hold.
const DISTRICT: &str = "[[regions]]\ncode = \"410102\"\nparent = \"410100\"\nname = \"中原区\"\n";

/// Three levels: a county (district) node under the city under the province. The city passes
/// its county's figures up with its own, so the province sees the district's rows without a
/// link to the county.
#[test]
fn a_county_s_figures_reach_the_province_through_the_city() {
    let dir = tempfile::tempdir().unwrap();
    let province = start(
        dir.path(),
        "province.toml",
        &config(
            &dir.path().join("p"),
            "henan",
            "410000",
            &format!("{DISTRICT}[federation]\nchildren = [\"410100\"]\n"),
        ),
    );
    let token_for = |node: &Node, region: &str| {
        let body =
            json!({"name": format!("uplink-{region}"), "role": "collector", "region": region});
        let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
        assert_eq!(status, 201, "{reply}");
        reply["token"].as_str().unwrap().to_owned()
    };
    let uplink = |parent: &Node, token: &str| {
        format!(
            "parent_url = \"{}\"\ntoken = \"{token}\"\npush_interval_ms = 200\n\
             heartbeat_s = 1\nretry_min_ms = 200\nretry_max_ms = 1000\n\
             [assets]\nrollup_secs = 1\n",
            parent.http
        )
    };
    let city_token = token_for(&province, "410100");
    let city = start(
        dir.path(),
        "city.toml",
        &config(
            &dir.path().join("c"),
            "zhengzhou",
            "410100",
            &format!(
                "{DISTRICT}[federation]\nchildren = [\"410102\"]\n{}",
                uplink(&province, &city_token)
            ),
        ),
    );
    let county_token = token_for(&city, "410102");
    let county = start(
        dir.path(),
        "county.toml",
        &config(
            &dir.path().join("d"),
            "zhongyuan",
            "410102",
            &format!("{DISTRICT}[federation]\n{}", uplink(&city, &county_token)),
        ),
    );
    let registry = "system,region,department,level,cii,addresses\n\
                    区政务网,410102,中原区大数据中心,3,yes,10.40.0.0/24\n\
                    区门户,410102,中原区大数据中心,2,no,10.40.1.8\n";
    let (status, reply) = county.post("/api/v1/assets/import?name=r.csv", registry.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["registry"]["added"], 2, "{reply}");
    let (status, reply) = city.post("/api/v1/assets/import?name=r.csv", REGISTRY_CSV.as_bytes());
    assert_eq!(status, 200, "{reply}");

    // The province's one child (the city) reports the district's row beside its own.
    let rows = eventually(WAIT, || {
        let r = province.get("/api/v1/assets/rollup");
        let c = r["children"].as_array()?.first()?.clone();
        let rows = c["rollup"]["rows"].as_array()?.clone();
        (row(&rows, "410102", "中原区大数据中心").is_some()
            && row(&rows, "410100", "郑州市大数据局").is_some())
        .then_some(rows)
    })
    .unwrap_or_else(|| {
        panic!(
            "the province never showed the county's figures: {}\ncity stderr:\n{}",
            province.get("/api/v1/assets/rollup"),
            city.stderr()
        )
    });
    let district = row(&rows, "410102", "中原区大数据中心").unwrap();
    assert_eq!(
        district["systems_by_level"],
        json!([0, 0, 1, 1, 0, 0]),
        "{district}"
    );
    assert_eq!(district["cii_systems"], 1, "{district}");
    // The city itself holds only its own systems; the county's are figures at both levels.
    let hosts = city.get("/api/v1/assets/systems");
    assert_eq!(hosts["items"].as_array().map(Vec::len), Some(3), "{hosts}");
    county.stop();
    city.stop();
    province.stop();
}
