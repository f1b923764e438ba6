//! Syslog over UDP under attack: a datagram that once panicked a parser (and with it the
//! listener), and a burst that overflows the socket's buffer in the kernel.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{Node, config, eventually};
use serde_json::Value;

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().expect("items")
}

/// A node on free ports; `syslog` is added to its `[syslog]` section.
fn start(syslog: &str) -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("onewall.toml");
    let text = config(&dir.path().join("data"), "").replacen(
        "[syslog]\n",
        &format!("[syslog]\n{syslog}\n"),
        1,
    );
    std::fs::write(&file, text).unwrap();
    let node = Node::start(&file);
    (dir, node)
}

/// A web access line whose time zone is `éaé` (five bytes, three characters) panicked the web
/// parser inside the UDP listener: the socket closed and every later datagram was lost while
/// `/healthz` said ok. Now both lines are stored, nothing panicked, and the node is healthy.
#[test]
fn a_zone_that_is_not_ascii_does_not_stop_udp_intake() {
    let (_dir, node) = start("");
    let to = node.udp.clone().expect("udp listener");
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let bad: &[u8] = b"<14>Dec  6 12:00:00 web nginx: 1.2.3.4 - - [25/Aug/2019:23:59:51 \xc3\xa9a\xc3\xa9] \"GET /before HTTP/1.1\" 200 1";
    tx.send_to(bad, &to).unwrap();
    // Sent after the first was read: the listener handles them in order.
    std::thread::sleep(Duration::from_millis(200));
    let good = b"<14>Dec  6 12:00:01 web nginx: 5.6.7.8 - - [25/Aug/2019:23:59:52 +0000] \"GET /after HTTP/1.1\" 200 2";
    tx.send_to(good, &to).unwrap();

    let after = eventually(Duration::from_secs(20), || {
        let found = node.get("/api/v1/events?q=after&limit=10");
        items(&found).first().cloned()
    })
    .expect("the ordinary line after the bad one is stored");
    assert_eq!(after["fields"]["url.original"], "/after");
    let before = node.get("/api/v1/events?q=before&limit=10");
    let before = items(&before).first().expect("the bad line is stored too");
    assert_eq!(before["fields"]["url.original"], "/before");

    let (status, health) = node.get_status("/healthz");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok", "nothing panicked: {health}");
    assert_eq!(
        node.metric("onewall_task_panics_total{task=\"syslog_udp\"}"),
        Some(0.0)
    );
    node.stop();
}

/// The `drops` column of the row of `/proc/net/udp` whose local port is `port`.
fn kernel_drops_of_port(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    let want = format!(":{port:04X}");
    table.lines().skip(1).find_map(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        cols.get(1)?
            .ends_with(&want)
            .then(|| cols.last()?.parse().ok())
            .flatten()
    })
}

/// A burst far larger than a small receive buffer: the kernel drops part of it, and the
/// node's metric says exactly how many, as the kernel counts them.
#[test]
fn datagrams_the_kernel_drops_are_counted() {
    // 4 KiB (the kernel grants twice that): room for a handful of these datagrams.
    let (_dir, small) = start("udp_recv_buffer_bytes = 4096");
    let to = small.udp.clone().expect("udp listener");
    let port: u16 = small.udp_port().parse().unwrap();
    assert_eq!(kernel_drops_of_port(port), Some(0));
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let line = format!(
        "<38>Mar 15 11:58:00 web01 sshd[7]: Failed password for root from 10.9.8.7 port 22 ssh2 {}",
        "x".repeat(900)
    );
    for _ in 0..20_000 {
        tx.send_to(line.as_bytes(), &to).unwrap();
    }
    let series = "onewall_ingest_udp_kernel_dropped_total{listener=\"syslog\"}";
    let (kernel, counted) = eventually(Duration::from_secs(20), || {
        let kernel = kernel_drops_of_port(port)?;
        let counted = small.metric(series)?;
        (kernel > 0 && counted == kernel as f64).then_some((kernel, counted))
    })
    .unwrap_or_else(|| {
        panic!(
            "kernel {:?}, metric {:?}",
            kernel_drops_of_port(port),
            small.metric(series)
        )
    });
    assert!(kernel > 0 && kernel < 20_000, "{kernel} of 20000 dropped");
    assert_eq!(counted, kernel as f64);
    small.stop();
}
