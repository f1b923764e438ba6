//! The parent's push path through the real binary: a province node takes pushes of 500 alerts
//! from two cities over HTTP (decode, scope check, store, the gate, the correlator for
//! attackers seen in both). Prints the median time per push and alerts/s.
//!
//! `cargo bench --bench federation` runs the full size (`ONEWALL_FED_PUSHES`, default 60);
//! under `cargo test --benches` it runs a few pushes as a smoke test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use onewall_model::federation::{PushReply, PushRequest, Up, UpMessage};
use onewall_model::{Alert, AlertId, Entity, EntityKind, RuleRef, Severity, Timestamp};

const PER_PUSH: usize = 500;

fn alert(region: &str, i: usize) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::now(),
        time: Timestamp::now(),
        created: Timestamp::now(),
        rule: RuleRef {
            id: "ssh-fail".into(),
            title: "SSH authentication failure".into(),
            level: Severity::Medium,
            status: Some("stable".into()),
            tags: vec!["attack.credential_access".into(), "attack.t1110".into()],
        },
        severity: Severity::Medium,
        event_ids: vec![],
        entities: vec![
            Entity {
                kind: EntityKind::SourceIp,
                // 2000 attackers; each city sees all of them over the run.
                value: format!("198.18.{}.{}", (i / 250) % 8, i % 250),
            },
            Entity {
                kind: EntityKind::Host,
                value: format!("web{:02}", i % 40),
            },
        ],
        region: region.parse().unwrap(),
        matched: vec![],
        drill: None,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let pushes: usize = if full {
        std::env::var("ONEWALL_FED_PUSHES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60)
    } else {
        4
    };
    let bin = env!("CARGO_BIN_EXE_onewall");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("province.toml");
    std::fs::write(
        &cfg,
        format!(
            "version = 1\n[node]\nname = \"bench-province\"\nregion = \"410000\"\n\
             [syslog]\nudp = \"127.0.0.1:0\"\ntcp = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
             [flow]\nnetflow = \"127.0.0.1:0\"\nsflow = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let token = |region: &str| {
        let out = Command::new(bin)
            .args(["tokens", "create", "--name", region, "--role", "collector"])
            .args(["--region", region, "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let tokens = [("410100", token("410100")), ("410200", token("410200"))];
    let mut child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(&cfg)
        .env("ONEWALL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut http = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("onewall listening http ") {
            http = a.to_owned();
        }
        if line.starts_with("onewall ready") {
            break;
        }
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let url = format!("{http}/api/v1/federation/push");
    let mut seqs = [0u64; 2];
    let mut times = Vec::with_capacity(pushes);
    for p in 0..pushes {
        let which = p % 2;
        let (region, token) = &tokens[which];
        let messages = (0..PER_PUSH)
            .map(|i| {
                seqs[which] += 1;
                UpMessage {
                    seq: seqs[which],
                    body: Up::Alert {
                        alert: Box::new(alert(region, (p / 2) * PER_PUSH + i)),
                    },
                }
            })
            .collect();
        let req = PushRequest {
            organisation: None,
            intel: None,
            node: format!("bench-{region}"),
            region: region.parse().unwrap(),
            epoch: "bench".into(),
            sent: Timestamp::now(),
            outbox_depth: 0,
            oldest_queued: None,
            ack_down: 0,
            messages,
        };
        let body = serde_json::to_vec(&req).unwrap();
        let started = Instant::now();
        let mut resp = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .send(&body[..])
            .unwrap();
        let text = resp.body_mut().read_to_string().unwrap();
        times.push(started.elapsed());
        assert_eq!(resp.status().as_u16(), 200, "{text}");
        let reply: PushReply = serde_json::from_str(&text).unwrap();
        assert_eq!(reply.acked_up, seqs[which]);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "federation push ({PER_PUSH} alerts, {pushes} pushes from two cities): median {:.1} ms per push, {:.0} alerts/s; fastest {:.1} ms, slowest {:.1} ms",
        median.as_secs_f64() * 1e3,
        PER_PUSH as f64 / median.as_secs_f64(),
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}
