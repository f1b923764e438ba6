//! A rectification bulletin (整改通报) across three real nodes: the province 410000 issues it
//! to Zhengzhou (410100) and Kaifeng (410200). Zhengzhou signs, answers "affected" and
//! rectifies with a file; the province returns it once with a reason, Zhengzhou rectifies
//! again and the province accepts. Kaifeng does nothing: past the sign deadline both the
//! province and Kaifeng hold the overdue alert, with the same id. Each node is killed and
//! started again from its data directory during the flow; every step is still there after,
//! and each is in each node's audit log once. The file downloads from the province with the
//! SHA-256 it was sent with; the statistics show Zhengzhou on time with one return and
//! Kaifeng overdue.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use common::{Node, eventually};
use serde_json::{Value, json};

const ZZ: &str = "410100";
const KF: &str = "410200";
const WAIT: Duration = Duration::from_secs(30);
const OVERDUE: &str = "onewall-bulletin-overdue";

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A node's config file, on a fixed HTTP port (children reach it there after a restart).
fn write_config(dir: &Path, name: &str, region: &str, extra: &str) -> PathBuf {
    let port = common::port_for_later();
    let text = common::node_config(&dir.join(name), name, region, extra).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    file
}

fn token_for(node: &Node, region: &str) -> String {
    let body = json!({"name": format!("uplink-{region}"), "role": "collector", "region": region});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

fn uplink(province: &Node, token: &str) -> String {
    format!(
        "[federation]\nparent_url = \"{}\"\ntoken = \"{token}\"\npush_interval_ms = 200\n\
         heartbeat_s = 1\nretry_min_ms = 200\nretry_max_ms = 1000\n\
         [supervise]\ncheck_secs = 1\nattachment_max_mib = 1\nstep_max_mib = 1\n",
        province.http
    )
}

/// Kill a node (no clean stop) and start it again from the same config and data.
fn restart(node: Node, file: &Path) -> Node {
    drop(node);
    Node::start(file)
}

/// The copy of `region` in a bulletin view.
fn copy<'a>(view: &'a Value, region: &str) -> &'a Value {
    view["copies"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["recipient"]["region"] == region))
        .unwrap_or_else(|| panic!("no copy of {region}: {view}"))
}

/// Wait until the node's view of bulletin `id` satisfies `ok`.
fn wait_view(node: &Node, id: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    eventually(WAIT, || {
        let (status, v) = node.get_status(&format!("/api/v1/bulletins/{id}"));
        (status == 200 && ok(&v)).then_some(v)
    })
    .unwrap_or_else(|| {
        panic!(
            "{what}: {}\nstderr:\n{}",
            node.get(&format!("/api/v1/bulletins/{id}")),
            node.stderr()
        )
    })
}

fn alerts_of(node: &Node, rule: &str) -> Vec<Value> {
    node.get(&format!("/api/v1/alerts?rule_id={rule}&limit=100"))["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// How many audit entries of `action` the node's log holds.
fn audited(node: &Node, action: &str) -> usize {
    let log = node.get("/api/v1/audit?limit=1000");
    log["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .filter(|e| e["action"] == action || e["record"]["action"] == action)
        .count()
}

fn get_bytes(node: &Node, path: &str) -> (u16, String, Vec<u8>) {
    let mut resp = common::agent()
        .get(&node.url(path))
        .header(
            "Authorization",
            &format!("Bearer {}", node.token.as_deref().unwrap()),
        )
        .call()
        .unwrap();
    let disposition = resp
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.body_mut().read_to_vec().unwrap();
    (resp.status().as_u16(), disposition, body)
}

#[test]
fn a_rectification_bulletin_is_signed_answered_returned_accepted_and_missed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p_file = write_config(
        d,
        "henan",
        "410000",
        &format!("[federation]\nchildren = [\"{ZZ}\", \"{KF}\"]\n[supervise]\ncheck_secs = 1\n"),
    );
    let mut province = Node::start(&p_file);
    let zz_file = write_config(
        d,
        "zhengzhou",
        ZZ,
        &uplink(&province, &token_for(&province, ZZ)),
    );
    let kf_file = write_config(
        d,
        "kaifeng",
        KF,
        &uplink(&province, &token_for(&province, KF)),
    );
    let mut zz = Node::start(&zz_file);
    let mut kf = Node::start(&kf_file);

    let now = time::OffsetDateTime::now_utc();
    let new = json!({
        "title": "关于某VPN设备远程代码执行漏洞的整改通报",
        "level": "orange",
        "kind": "rectification",
        "body": "请立即排查并升级至修复版本，反馈排查结果并提交整改证明。",
        "cves": ["CVE-2024-3400"],
        "indicators": ["203.0.113.7"],
        "to": {"regions": [ZZ, KF]},
        "sign_deadline": rfc3339(now + time::Duration::seconds(40)),
        "deadline": rfc3339(now + time::Duration::seconds(60)),
        "rectify_deadline": rfc3339(now + time::Duration::seconds(150)),
    });
    let (status, issued) = province.post("/api/v1/bulletins", new.to_string().as_bytes());
    assert_eq!(status, 201, "{issued}");
    let id = issued["bulletin"]["id"].as_str().unwrap().to_owned();
    assert_eq!(issued["issued_here"], true);
    assert_eq!(copy(&issued, ZZ)["state"], "issued", "{issued}");
    assert_eq!(copy(&issued, ZZ)["due"]["kind"], "sign", "{issued}");

    // Both cities receive it, as received (not issued here), with only their own copy.
    for (c, region, other) in [(&zz, ZZ, KF), (&kf, KF, ZZ)] {
        let v = wait_view(c, &id, "the bulletin never reached a city", |v| {
            v["copies"].as_array().is_some_and(|c| !c.is_empty())
        });
        assert_eq!(v["issued_here"], false, "{v}");
        assert_eq!(copy(&v, region)["state"], "issued");
        assert!(!v.to_string().contains(&format!("\"{other}\"")), "{v}");
        let inbox = c.get("/api/v1/bulletins?box=received&open=true");
        assert_eq!(inbox["items"].as_array().unwrap().len(), 1, "{inbox}");
    }

    // Zhengzhou signs; its node is killed and started again; the province has the step.
    let (status, v) = zz.post(&format!("/api/v1/bulletins/{id}/sign"), b"{}");
    assert_eq!(status, 200, "{v}");
    assert_eq!(copy(&v, ZZ)["state"], "signed", "{v}");
    let (status, again) = zz.post(&format!("/api/v1/bulletins/{id}/sign"), b"{}");
    assert_eq!(status, 409, "signing twice: {again}");
    wait_view(
        &province,
        &id,
        "the province never saw the signature",
        |v| copy(v, ZZ)["state"] == "signed",
    );
    zz = restart(zz, &zz_file);
    let v = zz.get(&format!("/api/v1/bulletins/{id}"));
    assert_eq!(copy(&v, ZZ)["state"], "signed", "after the restart: {v}");

    // Kaifeng's node restarts too (it holds its copy after it).
    kf = restart(kf, &kf_file);
    assert_eq!(
        copy(&kf.get(&format!("/api/v1/bulletins/{id}")), KF)["state"],
        "issued"
    );

    // Zhengzhou answers "affected" and rectifies with a file.
    let answer = json!({"affected": true, "text": "发现2台设备受影响，已下线"});
    let (status, v) = zz.post(
        &format!("/api/v1/bulletins/{id}/answer"),
        answer.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(copy(&v, ZZ)["due"]["kind"], "rectify", "{v}");
    let evidence: Vec<u8> = (0..40_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let sha = onewall_supervise::files::sha256_hex(&evidence);
    let rectify = |text: &str| {
        json!({"text": text, "attachments": [{
            "name": "升级截图.png", "media_type": "image/png",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&evidence),
        }]})
        .to_string()
    };
    // Past the limits: a 1.5 MiB file is over attachment_max_mib (the crate's 413), a 3 MiB
    // one over the body's limit (the API's 413); nothing is kept.
    for size in [3 << 19, 3 << 20] {
        let big = json!({"text": "x", "attachments": [{"name": "big.bin",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(vec![7u8; size])}]});
        let (status, reply) = common::post_refused(
            &zz,
            zz.token.as_deref().unwrap(),
            &format!("/api/v1/bulletins/{id}/rectify"),
            "application/json",
            big.to_string().as_bytes(),
        );
        assert_eq!(status, 413, "{size}: {reply}");
    }
    let (status, v) = zz.post(
        &format!("/api/v1/bulletins/{id}/rectify"),
        rectify("已升级至修复版本").as_bytes(),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(copy(&v, ZZ)["state"], "submitted", "{v}");
    // Not base64: refused, naming the file.
    let bad = json!({"text": "x", "attachments": [{"name": "a.txt", "content_base64": "@@@"}]});
    let (status, reply) = zz.post(
        &format!("/api/v1/bulletins/{id}/rectify"),
        bad.to_string().as_bytes(),
    );
    assert_eq!(status, 400, "{reply}");
    assert!(reply.to_string().contains("attachments[0]"), "{reply}");

    // The province has the rectification and the file; it is killed and started again.
    wait_view(&province, &id, "the rectification never arrived", |v| {
        copy(v, ZZ)["state"] == "submitted"
    });
    province = restart(province, &p_file);
    let (status, disposition, bytes) = get_bytes(
        &province,
        &format!("/api/v1/bulletins/{id}/attachments/{sha}"),
    );
    assert_eq!(status, 200);
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(onewall_supervise::files::sha256_hex(&bytes), sha);
    // A city cannot review; the province returns the rectification with a reason.
    let ret = json!({"recipient": {"region": ZZ}, "accepted": false, "reason": "缺少版本号截图"});
    let (status, reply) = zz.post(
        &format!("/api/v1/bulletins/{id}/review"),
        ret.to_string().as_bytes(),
    );
    assert!(status == 403 || status == 409, "{status} {reply}");
    let (status, v) = province.post(
        &format!("/api/v1/bulletins/{id}/review"),
        ret.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(copy(&v, ZZ)["state"], "returned", "{v}");
    assert_eq!(copy(&v, ZZ)["returned"], 1, "{v}");

    // The city sees it returned, rectifies again; the province accepts.
    wait_view(&zz, &id, "the return never reached the city", |v| {
        copy(v, ZZ)["state"] == "returned"
    });
    let (status, v) = zz.post(
        &format!("/api/v1/bulletins/{id}/rectify"),
        rectify("已升级至修复版本，附版本号截图").as_bytes(),
    );
    assert_eq!(status, 200, "{v}");
    wait_view(
        &province,
        &id,
        "the second rectification never arrived",
        |v| copy(v, ZZ)["state"] == "submitted",
    );
    let accept = json!({"recipient": {"region": ZZ}, "accepted": true, "reason": ""});
    let (status, v) = province.post(
        &format!("/api/v1/bulletins/{id}/review"),
        accept.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(copy(&v, ZZ)["state"], "accepted", "{v}");
    assert_eq!(copy(&v, ZZ)["done"], true, "{v}");
    let v = wait_view(&zz, &id, "the acceptance never reached the city", |v| {
        copy(v, ZZ)["state"] == "accepted"
    });
    assert_eq!(copy(&v, ZZ)["returned"], 1, "{v}");
    assert!(
        copy(&v, ZZ)["overdue"].as_array().unwrap().is_empty(),
        "{v}"
    );

    // Kaifeng never signed: past the sign deadline both sides hold the same alert.
    let (p_alert, k_alert) = eventually(Duration::from_secs(60), || {
        let p = alerts_of(&province, OVERDUE);
        let k = alerts_of(&kf, OVERDUE);
        let pk = p.iter().find(|a| a["region"] == KF)?;
        let kk = k.iter().find(|a| a["id"] == pk["id"])?;
        Some((pk.clone(), kk.clone()))
    })
    .unwrap_or_else(|| {
        panic!(
            "no shared overdue alert: province {:?} kaifeng {:?}\n{}",
            alerts_of(&province, OVERDUE),
            alerts_of(&kf, OVERDUE),
            kf.stderr()
        )
    });
    assert_eq!(p_alert["id"], k_alert["id"]);
    assert!(
        alerts_of(&province, OVERDUE)
            .iter()
            .all(|a| a["region"] != ZZ),
        "Zhengzhou was on time"
    );
    let v = wait_view(&province, &id, "Kaifeng's copy never showed overdue", |v| {
        copy(v, KF)["overdue"]
            .as_array()
            .is_some_and(|o| o.iter().any(|k| k == "sign"))
    });
    assert_eq!(copy(&v, KF)["state"], "issued", "{v}");

    // Statistics: Zhengzhou signed, answered and rectified on time with one return; Kaifeng
    // missed its deadlines.
    let stats = province.get("/api/v1/bulletins/stats");
    let row = |region: &str| {
        stats["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["recipient"]["region"] == region)
            .cloned()
            .unwrap_or_else(|| panic!("{stats}"))
    };
    let z = row(ZZ);
    assert_eq!(z["signed_on_time"], 1, "{z}");
    assert_eq!(z["answered_on_time"], 1, "{z}");
    assert_eq!(z["rectified_on_time"], 1, "{z}");
    assert_eq!(z["accepted"], 1, "{z}");
    assert_eq!(z["returned"], 1, "{z}");
    assert_eq!(z["overdue"], 0, "{z}");
    let k = row(KF);
    assert_eq!(k["signed"], 0, "{k}");
    assert!(k["overdue"].as_u64().unwrap() >= 1, "{k}");

    // Every step once in each audit log (the restarts replayed nothing twice).
    for (node, name) in [(&province, "province"), (&zz, "zhengzhou")] {
        assert_eq!(audited(node, "bulletin.sign"), 1, "{name}");
        assert_eq!(audited(node, "bulletin.answer"), 1, "{name}");
        assert_eq!(audited(node, "bulletin.rectify"), 2, "{name}");
    }
    for (node, name) in [
        (&province, "province"),
        (&zz, "zhengzhou"),
        (&kf, "kaifeng"),
    ] {
        assert_eq!(audited(node, "bulletin.issue"), 1, "{name}");
    }
    assert_eq!(audited(&province, "bulletin.review"), 2);
    assert_eq!(audited(&zz, "bulletin.review"), 2);
    assert_eq!(audited(&kf, "bulletin.sign"), 0);
    kf.stop();
    zz.stop();
    province.stop();
}
