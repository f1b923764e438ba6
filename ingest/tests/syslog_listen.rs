//! The syslog listeners on real sockets on 127.0.0.1, fed by util-linux `logger`.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use onewall_ingest::{ListenerConfig, run_tcp, run_udp};
use onewall_model::event::names;
use onewall_model::{Event, EventBatch, Format, RegionCode, Timestamp, Value};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

/// A listener running on a port of 127.0.0.1, and its channel.
struct Running {
    addr: SocketAddr,
    rx: mpsc::Receiver<EventBatch>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn config(collector: &str) -> ListenerConfig {
    let mut cfg = ListenerConfig::new(collector, RegionCode::HENAN);
    // `logger` writes RFC 3164 times in the local zone; it runs with TZ=UTC below.
    cfg.timezone = time::UtcOffset::UTC;
    cfg
}

async fn udp(cfg: ListenerConfig) -> Running {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
    let addr = socket.local_addr().expect("udp address");
    let (tx, rx) = mpsc::channel(16);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run_udp(socket, cfg, tx, shutdown));
    Running {
        addr,
        rx,
        stop,
        task,
    }
}

async fn tcp(cfg: ListenerConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind tcp");
    let addr = listener.local_addr().expect("tcp address");
    let (tx, rx) = mpsc::channel(16);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run_tcp(listener, cfg, tx, shutdown));
    Running {
        addr,
        rx,
        stop,
        task,
    }
}

impl Running {
    /// Receive until `done` says the events so far are enough, or fail after a while.
    async fn until(&mut self, events: &mut Vec<Event>, done: impl Fn(&[Event]) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(events) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(batch)) => events.extend(batch),
                Ok(None) => panic!("channel closed with {} events", events.len()),
                Err(_) => panic!(
                    "timed out with {} events: {:?}",
                    events.len(),
                    messages(events)
                ),
            }
        }
    }

    /// Stop the listener and return every event it still sends before it ends.
    async fn stop(mut self) -> Vec<Event> {
        self.stop.send(true).expect("listener is running");
        let mut rest = Vec::new();
        while let Ok(Some(batch)) = tokio::time::timeout(WAIT, self.rx.recv()).await {
            rest.extend(batch);
        }
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("listener returns after shutdown")
            .expect("listener task ends cleanly");
        rest
    }
}

fn messages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| str_field(e, names::MESSAGE))
        .collect()
}

fn str_field(e: &Event, name: &str) -> String {
    e.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Run `logger` with `args`, feeding it `stdin` when given; it must succeed.
async fn logger(args: Vec<String>, stdin: Option<String>) {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("logger")
            .args(&args)
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("logger (util-linux) is installed");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write to logger");
        }
        drop(input);
        let out = child.wait_with_output().expect("logger runs");
        assert!(
            out.status.success(),
            "logger {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
    .await
    .expect("logger task");
}

fn target(addr: SocketAddr) -> Vec<String> {
    vec![
        "-n".into(),
        addr.ip().to_string(),
        "-P".into(),
        addr.port().to_string(),
    ]
}

/// How often each message was seen.
fn tally(events: &[Event]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for m in messages(events) {
        *seen.entry(m).or_default() += 1;
    }
    seen
}

fn near_now(t: Timestamp) -> bool {
    (t.secs() - Timestamp::now().secs()).abs() <= 120
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_rfc3164_from_logger() {
    let mut l = udp(config("syslog_udp")).await;
    let mut args = target(l.addr);
    args.extend(["-d", "--rfc3164", "-t", "sshd", "-p", "auth.warning"].map(String::from));
    args.push("Failed password for root from 203.0.113.9 port 4242 ssh2 udp-1".into());
    logger(args, None).await;
    let mut events = Vec::new();
    l.until(&mut events, |ev| !ev.is_empty()).await;
    events.extend(l.stop().await);
    assert_eq!(events.len(), 1, "{:?}", messages(&events));
    let e = &events[0];
    assert_eq!(e.format, Format::Rfc3164);
    assert_eq!(e.parse_error, None);
    assert_eq!(e.source.collector.as_ref(), "syslog_udp");
    assert_eq!(e.source.peer.map(|p| p.ip()), Some(l_ip()));
    assert_eq!(e.region, RegionCode::HENAN);
    assert_eq!(str_field(e, names::PROCESS_NAME), "sshd");
    assert_eq!(
        str_field(e, names::MESSAGE),
        "Failed password for root from 203.0.113.9 port 4242 ssh2 udp-1"
    );
    assert!(!str_field(e, names::HOST_NAME).is_empty());
    // auth.warning = 4 * 8 + 4
    assert_eq!(e.get(names::SYSLOG_PRIORITY), Some(&Value::Int(36)));
    assert_eq!(e.get(names::SYSLOG_FACILITY), Some(&Value::Int(4)));
    assert_eq!(e.get(names::SYSLOG_SEVERITY), Some(&Value::Int(4)));
    // The record's own time, read in the configured zone, is within the second it was sent.
    assert!(
        (e.time.secs() - e.received.secs()).abs() <= 2,
        "{} vs {}",
        e.time,
        e.received
    );
}

fn l_ip() -> std::net::IpAddr {
    std::net::Ipv4Addr::LOCALHOST.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_rfc5424_octet_counted_from_logger() {
    let mut l = tcp(config("syslog_tcp")).await;
    let mut args = target(l.addr);
    args.extend(
        [
            "-T",
            "--octet-count",
            "--rfc5424",
            "-t",
            "app",
            "--msgid",
            "LOGIN",
            "--sd-id",
            "audit@32473",
            "--sd-param",
            "user=\"alice\"",
            "--sd-param",
            "src=\"203.0.113.7\"",
        ]
        .map(String::from),
    );
    args.push("tcp octet-counted 5424".into());
    logger(args, None).await;
    let mut events = Vec::new();
    l.until(&mut events, |ev| !ev.is_empty()).await;
    events.extend(l.stop().await);
    assert_eq!(events.len(), 1, "{:?}", messages(&events));
    let e = &events[0];
    assert_eq!(e.format, Format::Rfc5424, "{}", e.raw_text());
    assert_eq!(e.parse_error, None);
    assert_eq!(e.source.collector.as_ref(), "syslog_tcp");
    assert_eq!(str_field(e, names::MESSAGE), "tcp octet-counted 5424");
    assert_eq!(str_field(e, names::PROCESS_NAME), "app");
    assert_eq!(str_field(e, names::SYSLOG_MSGID), "LOGIN");
    assert_eq!(e.get(names::SYSLOG_VERSION), Some(&Value::Int(1)));
    let sd = |p: &str| str_field(e, &format!("{}.audit@32473.{p}", names::SYSLOG_SD_PREFIX));
    assert_eq!(sd("user"), "alice");
    assert_eq!(sd("src"), "203.0.113.7");
    assert!(near_now(e.time), "{}", e.time);
}

/// Many messages through one connection each way: octet-counted RFC 5424 and LF-framed
/// RFC 3164, each arriving exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_many_messages_in_one_connection() {
    let mut cfg = config("syslog_tcp");
    cfg.batch_size = 16;
    let mut l = tcp(cfg).await;
    let n = 200;
    let octet: String = (0..n).map(|k| format!("octet message {k}\n")).collect();
    let mut args = target(l.addr);
    args.extend(["-T", "--octet-count", "--rfc5424", "-t", "multi"].map(String::from));
    logger(args, Some(octet)).await;
    let lf: String = (0..n).map(|k| format!("lf message {k}\n")).collect();
    let mut args = target(l.addr);
    args.extend(["-T", "--rfc3164", "-t", "multi"].map(String::from));
    logger(args, Some(lf)).await;

    let mut events = Vec::new();
    l.until(&mut events, |ev| ev.len() >= 2 * n).await;
    events.extend(l.stop().await);
    let seen = tally(&events);
    for k in 0..n {
        for kind in ["octet", "lf"] {
            let m = format!("{kind} message {k}");
            assert_eq!(seen.get(&m), Some(&1), "{m}");
        }
    }
    assert_eq!(events.len(), 2 * n);
    for e in &events {
        assert_eq!(e.parse_error, None, "{}", e.raw_text());
        assert_eq!(str_field(e, names::PROCESS_NAME), "multi");
        let expected = if str_field(e, names::MESSAGE).starts_with("octet") {
            Format::Rfc5424
        } else {
            Format::Rfc3164
        };
        assert_eq!(e.format, expected, "{}", e.raw_text());
    }
}

/// With a batch that never fills, an event still arrives: the linger sends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_event_is_sent_after_the_linger() {
    let mut cfg = config("syslog_udp");
    cfg.batch_size = 10_000;
    let mut l = udp(cfg).await;
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("client socket");
    sock.send_to(b"<13>1 - h app - - - lonely", l.addr)
        .expect("send");
    let started = std::time::Instant::now();
    let mut events = Vec::new();
    l.until(&mut events, |ev| !ev.is_empty()).await;
    assert!(started.elapsed() < WAIT);
    assert_eq!(messages(&events), ["lonely"]);
    assert!(l.stop().await.is_empty());
}

/// Shutdown sends what the listener holds, even when the batch is neither full nor old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_the_batch() {
    let mut cfg = config("syslog_tcp");
    cfg.batch_linger = Duration::from_secs(3600);
    let mut l = tcp(cfg).await;
    let mut client = std::net::TcpStream::connect(l.addr).expect("connect");
    client
        .write_all(b"<13>Mar 15 11:59:58 h app: held until shutdown\n")
        .expect("write");
    // Nothing comes while the batch lingers.
    let early = tokio::time::timeout(Duration::from_millis(300), l.rx.recv()).await;
    assert!(early.is_err(), "sent before the linger or shutdown");
    let events = l.stop().await;
    assert_eq!(messages(&events), ["held until shutdown"]);
    drop(client);
}

/// Framing trouble on a raw connection is recovered from; good frames around it arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_recovers_from_bad_frames() {
    let mut cfg = config("syslog_tcp");
    cfg.max_frame_len = 64;
    let mut l = tcp(cfg).await;
    let mut client = std::net::TcpStream::connect(l.addr).expect("connect");
    let mut stream = Vec::new();
    stream.extend_from_slice(b"21 <13>1 - h a - - - one");
    stream.extend_from_slice(format!("{}\n", "x".repeat(100)).as_bytes());
    stream.extend_from_slice(b"200 ");
    stream.extend_from_slice(&[b'y'; 200]);
    stream.extend_from_slice(b"12x <13>Mar 15 11:59:58 h a: two\n");
    stream.extend_from_slice(b"<13>Mar 15 11:59:58 h a: three");
    // Written in small pieces, so frames straddle reads.
    for piece in stream.chunks(7) {
        client.write_all(piece).expect("write");
    }
    drop(client);
    let mut events = Vec::new();
    l.until(&mut events, |ev| ev.len() >= 3).await;
    events.extend(l.stop().await);
    let msgs = messages(&events);
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[0], "one");
    // The line after a bad count is read as it came, digits and all: not syslog.
    assert_eq!(events[1].format, Format::Unknown);
    assert_eq!(msgs[1], "12x <13>Mar 15 11:59:58 h a: two");
    assert_eq!(msgs[2], "three");
}

/// Past the connection cap, a new connection is closed at once; the open one keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_refuses_connections_past_the_cap() {
    use std::io::Read;
    let mut cfg = config("syslog_tcp");
    cfg.max_connections = 1;
    let mut l = tcp(cfg).await;
    let mut first = std::net::TcpStream::connect(l.addr).expect("connect first");
    first
        .write_all(b"<13>1 - h a - - - first\n")
        .expect("write");
    let mut events = Vec::new();
    l.until(&mut events, |ev| !ev.is_empty()).await;
    let mut second = std::net::TcpStream::connect(l.addr).expect("connect second");
    second.set_read_timeout(Some(WAIT)).expect("read timeout");
    let mut byte = [0u8; 1];
    let closed = match second.read(&mut byte) {
        Ok(0) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    };
    assert!(
        closed,
        "the second connection should be closed by the listener"
    );
    first
        .write_all(b"<13>1 - h a - - - still here\n")
        .expect("write");
    l.until(&mut events, |ev| ev.len() >= 2).await;
    drop(first);
    events.extend(l.stop().await);
    assert_eq!(messages(&events), ["first", "still here"]);
}

/// A connection that ends inside an octet-counted frame: the part that arrived is kept, with
/// the error on the event; an oversize frame before it is discarded and the stream goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_keeps_a_frame_cut_short_with_its_error() {
    let mut cfg = config("syslog_tcp");
    cfg.max_frame_len = 64;
    let mut l = tcp(cfg).await;
    let mut client = std::net::TcpStream::connect(l.addr).expect("connect");
    let mut stream = Vec::new();
    stream.extend_from_slice(b"100 ");
    stream.extend_from_slice(&[b'z'; 100]);
    stream.extend_from_slice(b"23 <13>1 - h a - - - whole");
    stream.extend_from_slice(b"60 <13>1 - h a - - - cut short");
    client.write_all(&stream).expect("write");
    drop(client);
    let mut events = Vec::new();
    l.until(&mut events, |ev| ev.len() >= 2).await;
    events.extend(l.stop().await);
    assert_eq!(messages(&events), ["whole", "cut short"]);
    assert_eq!(events[0].parse_error, None);
    assert_eq!(
        events[1].parse_error.as_deref(),
        Some("octet count 60 but the stream ended after 27 bytes of the frame")
    );
}

/// The listener's source tags reach every event: the department as `organization.name`, and
/// a GBK sender's Chinese text read as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_tags_reach_every_event() {
    let mut cfg = config("syslog_udp");
    cfg.tags.department = Some("public-security".into());
    cfg.tags.charset = onewall_ingest::parse::Charset::Gb18030;
    let mut l = udp(cfg).await;
    let text = "<13>Mar 15 11:59:58 fw01 app: 用户登录失败";
    let (gbk, _, lossy) = encoding_rs::GBK.encode(text);
    assert!(!lossy);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("client socket");
    sock.send_to(&gbk, l.addr).expect("send");
    let mut events = Vec::new();
    l.until(&mut events, |ev| !ev.is_empty()).await;
    events.extend(l.stop().await);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(str_field(e, "organization.name"), "public-security");
    assert_eq!(str_field(e, names::MESSAGE), "用户登录失败");
    assert_eq!(&*e.raw, &*gbk);
}
