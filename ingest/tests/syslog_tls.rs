//! Syslog over TLS and TCP against real peers: `rsyslogd` forwarding with octet-counted
//! framing (plain, and TLS with the gtls driver and a client certificate), and
//! `openssl s_client` with and without a client certificate. Every line sent arrives once,
//! parsed.

#[path = "support/peers.rs"]
mod peers;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use onewall_ingest::listen::{ClientAuth, TlsSettings, load_tls};
use onewall_ingest::{ListenerConfig, run_tcp, run_tls};
use onewall_model::event::names;
use onewall_model::{Event, EventBatch, Format, RegionCode, Value};
use peers::{Rsyslogd, TestPki, octet_counted, s_client};
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(30);

struct Running {
    addr: SocketAddr,
    rx: mpsc::Receiver<EventBatch>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// Sends new certificates to a TLS listener.
    certs: Option<watch::Sender<Arc<rustls::ServerConfig>>>,
}

async fn tls(cfg: ListenerConfig, settings: &TlsSettings) -> Running {
    let server = load_tls(settings).expect("test certificates load");
    let (certs, certs_rx) = watch::channel(server);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind tls");
    let addr = listener.local_addr().expect("address");
    let (tx, rx) = mpsc::channel(16);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run_tls(listener, cfg, certs_rx, tx, shutdown));
    Running {
        addr,
        rx,
        stop,
        task,
        certs: Some(certs),
    }
}

async fn tcp(cfg: ListenerConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind tcp");
    let addr = listener.local_addr().expect("address");
    let (tx, rx) = mpsc::channel(16);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run_tcp(listener, cfg, tx, shutdown));
    Running {
        addr,
        rx,
        stop,
        task,
        certs: None,
    }
}

impl Running {
    async fn until(&mut self, events: &mut Vec<Event>, n: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while events.len() < n {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(batch)) => events.extend(batch),
                Ok(None) => panic!("channel closed with {} events", events.len()),
                Err(_) => panic!(
                    "timed out with {} of {n} events: {:?}",
                    events.len(),
                    messages(events)
                ),
            }
        }
    }

    /// Nothing arrives for a moment.
    async fn quiet(&mut self) {
        if let Ok(Some(batch)) =
            tokio::time::timeout(Duration::from_millis(500), self.rx.recv()).await
        {
            panic!("unexpected events: {:?}", messages(&batch));
        }
    }

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

fn config(collector: &str) -> ListenerConfig {
    let mut cfg = ListenerConfig::new(collector, RegionCode::HENAN);
    cfg.batch_linger = Duration::from_millis(20);
    cfg
}

fn settings(pki: &TestPki, client_auth: ClientAuth) -> TlsSettings {
    TlsSettings {
        cert: pki.path("server.pem"),
        key: pki.path("server.key"),
        client_ca: (client_auth != ClientAuth::None).then(|| pki.path("ca.pem")),
        client_auth,
    }
}

fn str_field(e: &Event, name: &str) -> String {
    e.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn messages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| str_field(e, names::MESSAGE))
        .collect()
}

/// Every expected message exactly once, and nothing else.
fn assert_once(events: &[Event], expected: &[String]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in messages(events) {
        *seen.entry(m).or_default() += 1;
    }
    for m in expected {
        assert_eq!(seen.get(m), Some(&1), "{m:?} in {seen:?}");
    }
    assert_eq!(events.len(), expected.len(), "{:?}", messages(events));
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_forwards_octet_counted_over_tcp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = tcp(config("syslog_tcp")).await;
    let port = l.addr.port();
    let work = dir.path().to_owned();
    let rsyslog = blocking(move || {
        Rsyslogd::start(
            &work,
            "",
            &format!(r#"port="{port}" template="RSYSLOG_TraditionalForwardFormat""#),
        )
    })
    .await;
    let n = 100;
    let expected: Vec<String> = (0..n).map(|k| format!("rsyslog tcp line {k}")).collect();
    let lines: Vec<String> = expected
        .iter()
        .map(|m| format!("<38>Mar  1 10:00:00 web01 sshd[42]: {m}"))
        .collect();
    let rs = blocking(move || {
        rsyslog.send_lines(&lines);
        rsyslog
    })
    .await;
    let mut events = Vec::new();
    l.until(&mut events, n).await;
    blocking(move || rs.stop()).await;
    events.extend(l.stop().await);
    assert_once(&events, &expected);
    for e in &events {
        assert_eq!(e.format, Format::Rfc3164, "{}", e.raw_text());
        assert_eq!(e.parse_error, None);
        assert_eq!(e.source.collector.as_ref(), "syslog_tcp");
        assert_eq!(str_field(e, names::PROCESS_NAME), "sshd");
        assert_eq!(str_field(e, names::HOST_NAME), "web01");
        assert_eq!(e.get(names::SYSLOG_PRIORITY), Some(&Value::Int(38)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_forwards_over_tls_with_gtls_and_a_client_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki_dir = dir.path().join("pki");
    let pki = blocking(move || TestPki::create(&pki_dir, "onewall test ca")).await;
    let mut l = tls(config("syslog_tls"), &settings(&pki, ClientAuth::Required)).await;
    let port = l.addr.port();
    let globals = format!(
        r#"DefaultNetstreamDriverCAFile="{}" DefaultNetstreamDriverCertFile="{}" DefaultNetstreamDriverKeyFile="{}""#,
        pki.path("ca.pem").display(),
        pki.path("client.pem").display(),
        pki.path("client.key").display()
    );
    let forward = format!(
        r#"port="{port}" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost" template="RSYSLOG_SyslogProtocol23Format""#
    );
    let work = dir.path().join("rsyslog");
    let rsyslog = blocking(move || Rsyslogd::start(&work, &globals, &forward)).await;
    let n = 100;
    let expected: Vec<String> = (0..n).map(|k| format!("rsyslog tls line {k}")).collect();
    let lines: Vec<String> = expected
        .iter()
        .map(|m| format!("<86>Mar  1 10:00:00 db01 sudo: {m}"))
        .collect();
    let rs = blocking(move || {
        rsyslog.send_lines(&lines);
        rsyslog
    })
    .await;
    let mut events = Vec::new();
    l.until(&mut events, n).await;
    blocking(move || rs.stop()).await;
    events.extend(l.stop().await);
    // rsyslog's RFC 5424 template writes its `msg` property, which keeps the space that
    // followed the RFC 3164 tag's colon.
    let expected: Vec<String> = expected.iter().map(|m| format!(" {m}")).collect();
    assert_once(&events, &expected);
    for e in &events {
        assert_eq!(e.format, Format::Rfc5424, "{}", e.raw_text());
        assert_eq!(e.parse_error, None);
        assert_eq!(e.source.collector.as_ref(), "syslog_tls");
        assert_eq!(str_field(e, names::PROCESS_NAME), "sudo");
        assert_eq!(str_field(e, names::HOST_NAME), "db01");
        assert_eq!(e.get(names::SYSLOG_PRIORITY), Some(&Value::Int(86)));
    }
}

fn frames(tag: &str, n: usize) -> (Vec<String>, Vec<u8>) {
    let expected: Vec<String> = (0..n).map(|k| format!("{tag} {k}")).collect();
    let frames: Vec<String> = expected
        .iter()
        .map(|m| format!("<13>1 2026-03-01T10:00:00+08:00 fw01 app - - - {m}"))
        .collect();
    (expected, octet_counted(&frames))
}

/// `openssl s_client` over TLS 1.2 and 1.3 with a client certificate is read; without one it
/// is refused, and the listener carries on with the next client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_with_and_without_a_client_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki_dir = dir.path().join("pki");
    let pki = blocking(move || TestPki::create(&pki_dir, "onewall test ca")).await;
    let mut l = tls(config("syslog_tls"), &settings(&pki, ClientAuth::Required)).await;
    let addr = l.addr.to_string();
    let ca = pki.path("ca.pem");
    let (cert, key) = (
        pki.path("client.pem").display().to_string(),
        pki.path("client.key").display().to_string(),
    );
    let mut all = Vec::new();
    let mut events = Vec::new();
    for version in ["-tls1_2", "-tls1_3"] {
        let (expected, payload) = frames(&format!("s_client {version}"), 20);
        let (a, c, cert, key) = (addr.clone(), ca.clone(), cert.clone(), key.clone());
        let out =
            blocking(move || s_client(&a, &c, &[version, "-cert", &cert, "-key", &key], &payload))
                .await;
        assert!(out.success, "{version}: {}", out.stderr);
        all.extend(expected);
        l.until(&mut events, all.len()).await;

        // No certificate: refused. Over TLS 1.2 the handshake itself fails; over 1.3 the
        // client may think it finished, but nothing it sends is taken.
        let (_, payload) = frames("no certificate", 5);
        let (a, c) = (addr.clone(), ca.clone());
        let out = blocking(move || s_client(&a, &c, &[version], &payload)).await;
        if version == "-tls1_2" {
            assert!(!out.success, "a client without a certificate got through");
        }
        l.quiet().await;
    }
    events.extend(l.stop().await);
    assert_once(&events, &all);
    for e in &events {
        assert_eq!(e.format, Format::Rfc5424);
        assert_eq!(str_field(e, names::HOST_NAME), "fw01");
    }
}

/// Optional client authentication takes clients with and without a certificate; a reload
/// swaps the server certificate for new handshakes while an open connection carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_client_auth_and_reload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old_dir, new_dir) = (dir.path().join("old"), dir.path().join("new"));
    let (old, new) = blocking(move || {
        (
            TestPki::create(&old_dir, "old test ca"),
            TestPki::create(&new_dir, "new test ca"),
        )
    })
    .await;
    let mut l = tls(config("syslog_tls"), &settings(&old, ClientAuth::Optional)).await;
    let addr = l.addr.to_string();

    // An open connection from before the reload, written to after it.
    let connector = {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(old.path("ca.pem")).expect("ca");
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.expect("ca pem")).expect("ca cert");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(cfg))
    };
    let tcp = tokio::net::TcpStream::connect(l.addr)
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut open = connector
        .connect(name, tcp)
        .await
        .expect("handshake before reload");

    let (mut expected, payload) = frames("no client cert", 3);
    let (a, c) = (addr.clone(), old.path("ca.pem"));
    let out = blocking(move || s_client(&a, &c, &[], &payload)).await;
    assert!(out.success, "{}", out.stderr);
    let mut events = Vec::new();
    l.until(&mut events, expected.len()).await;

    let reloaded = load_tls(&settings(&new, ClientAuth::Optional)).expect("new certificates");
    l.certs
        .as_ref()
        .expect("tls listener")
        .send(reloaded)
        .expect("listener holds the receiver");

    // New handshakes present the new certificate: the old CA no longer verifies it.
    let (_, payload) = frames("old ca", 1);
    let (a, c) = (addr.clone(), old.path("ca.pem"));
    let out = blocking(move || s_client(&a, &c, &["-tls1_2"], &payload)).await;
    assert!(!out.success, "the old certificate is still served");
    let (more, payload) = frames("after reload", 3);
    let (a, c) = (addr.clone(), new.path("ca.pem"));
    let (cert, key) = (new.path("client.pem"), new.path("client.key"));
    let out = blocking(move || {
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        s_client(&a, &c, &["-cert", &cert, "-key", &key], &payload)
    })
    .await;
    assert!(out.success, "{}", out.stderr);
    expected.extend(more);
    l.until(&mut events, expected.len()).await;

    // The connection opened before the reload still works.
    use tokio::io::AsyncWriteExt;
    let (kept, payload) = frames("kept open", 2);
    open.write_all(&payload)
        .await
        .expect("write on the old connection");
    open.shutdown().await.expect("close");
    expected.extend(kept);
    l.until(&mut events, expected.len()).await;
    events.extend(l.stop().await);
    assert_once(&events, &expected);
}

/// A client that opens a connection and says nothing is closed after the idle timeout; what
/// it sent before is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut cfg = config("syslog_tcp");
    cfg.idle_timeout = Some(Duration::from_millis(300));
    let mut l = tcp(cfg).await;
    let mut client = tokio::net::TcpStream::connect(l.addr)
        .await
        .expect("connect");
    client
        .write_all(b"<13>1 - h app - - - before idle\n<13>1 - h app - - - partial")
        .await
        .expect("write");
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(WAIT, client.read(&mut byte))
        .await
        .expect("the listener closes an idle connection");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    let mut events = Vec::new();
    l.until(&mut events, 2).await;
    events.extend(l.stop().await);
    assert_eq!(messages(&events), ["before idle", "partial"]);
}

/// Certificate mistakes name the file at fault.
#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.pem");
    let e = load_tls(&TlsSettings {
        cert: missing.clone(),
        key: missing.clone(),
        client_ca: None,
        client_auth: ClientAuth::None,
    })
    .expect_err("no such file");
    assert!(e.to_string().contains("missing.pem"), "{e}");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not pem\n").expect("write");
    let e = load_tls(&TlsSettings {
        cert: junk.clone(),
        key: junk,
        client_ca: None,
        client_auth: ClientAuth::None,
    })
    .expect_err("no certificate");
    assert!(e.to_string().contains("junk.pem"), "{e}");
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
}
