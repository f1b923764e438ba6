//! The node's listeners: bind every configured socket first (a port in use fails the start
//! before anything runs), then run each listener supervised, feeding the pipeline.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onewall_api::health::TaskHealth;
use onewall_ingest::flow::{FlowListener, FlowProtocol, run_flow};
use onewall_ingest::listen::{TlsServerConfig, TlsSettings};
use onewall_model::EventBatch;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, warn};

use crate::config::Resolved;
use crate::supervise::supervise;

/// The sockets of `[syslog]`, `[flow]` and `[http]`, bound.
#[derive(Debug)]
pub struct Bound {
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    tls: Option<TcpListener>,
    /// Name (`netflow`, `ipfix`, `sflow`), protocol, socket.
    flows: Vec<(&'static str, FlowProtocol, UdpSocket)>,
    /// The API's (and HTTP ingest's) listener.
    pub http: TcpListener,
}

/// Bind every configured socket.
pub async fn bind(r: &Resolved) -> anyhow::Result<Bound> {
    let udp = match r.listen.syslog_udp {
        Some(a) => Some(
            UdpSocket::bind(a)
                .await
                .with_context(|| format!("syslog.udp: binding {a}"))?,
        ),
        None => None,
    };
    let tcp = match r.listen.syslog_tcp {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .with_context(|| format!("syslog.tcp: binding {a}"))?,
        ),
        None => None,
    };
    let tls = match r.listen.syslog_tls {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .with_context(|| format!("syslog.tls.listen: binding {a}"))?,
        ),
        None => None,
    };
    let mut flows = Vec::new();
    for (key, protocol, at) in [
        ("flow.netflow", FlowProtocol::Netflow, r.flow.netflow),
        ("flow.ipfix", FlowProtocol::Netflow, r.flow.ipfix),
        ("flow.sflow", FlowProtocol::Sflow, r.flow.sflow),
    ] {
        if let Some(a) = at {
            let sock = UdpSocket::bind(a)
                .await
                .with_context(|| format!("{key}: binding {a}"))?;
            flows.push((&key[5..], protocol, sock));
        }
    }
    let http = TcpListener::bind(r.listen.http)
        .await
        .with_context(|| format!("http.listen: binding {}", r.listen.http))?;
    Ok(Bound {
        udp,
        tcp,
        tls,
        flows,
        http,
    })
}

/// The running listeners.
#[derive(Debug)]
pub struct Listeners {
    /// The listener tasks (and their kernel-drop counters); they end at shutdown.
    pub tasks: Vec<JoinHandle<()>>,
    /// `name address` of each, for the ready line.
    pub announce: Vec<String>,
    /// The syslog TLS settings and where reloaded certificates go.
    pub tls_reload: Option<(TlsSettings, watch::Sender<Arc<TlsServerConfig>>)>,
}

/// What every listener gets.
struct Feed<'a> {
    events: &'a mpsc::Sender<EventBatch>,
    health: &'a TaskHealth,
    shutdown: &'a watch::Receiver<bool>,
}

/// Run the syslog and flow listeners of `bound`, sending batches to `events`.
pub fn start(
    r: &Resolved,
    bound: Bound,
    events: &mpsc::Sender<EventBatch>,
    health: &TaskHealth,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<(Listeners, TcpListener)> {
    let feed = Feed {
        events,
        health,
        shutdown,
    };
    let mut out = Listeners {
        tasks: Vec::new(),
        announce: Vec::new(),
        tls_reload: None,
    };
    if let Some(sock) = bound.udp {
        out.announce
            .push(format!("syslog_udp {}", sock.local_addr()?));
        let sock = sock.into_std()?;
        count_udp_drops(&sock, "syslog", shutdown, &mut out.tasks);
        let (cfg, tx, stop) = (
            listener_config(r, "syslog_udp"),
            events.clone(),
            shutdown.clone(),
        );
        out.tasks.push(feed.supervised("syslog_udp", move || {
            let sock = udp_clone(&sock)?;
            Ok(onewall_ingest::listen::run_udp(
                sock,
                cfg.clone(),
                tx.clone(),
                stop.clone(),
            ))
        }));
    }
    if let Some(sock) = bound.tcp {
        out.announce
            .push(format!("syslog_tcp {}", sock.local_addr()?));
        let sock = sock.into_std()?;
        let (cfg, tx, stop) = (
            listener_config(r, "syslog_tcp"),
            events.clone(),
            shutdown.clone(),
        );
        out.tasks.push(feed.supervised("syslog_tcp", move || {
            let sock = tcp_clone(&sock)?;
            Ok(onewall_ingest::listen::run_tcp(
                sock,
                cfg.clone(),
                tx.clone(),
                stop.clone(),
            ))
        }));
    }
    if let (Some(sock), Some(settings)) = (bound.tls, r.listen.tls.clone()) {
        let certs = onewall_ingest::listen::load_tls(&settings)
            .map_err(|e| anyhow::anyhow!("syslog.tls: {e}"))?;
        let (certs_tx, certs_rx) = watch::channel(certs);
        out.announce
            .push(format!("syslog_tls {}", sock.local_addr()?));
        let sock = sock.into_std()?;
        let (cfg, tx, stop) = (
            listener_config(r, "syslog_tls"),
            events.clone(),
            shutdown.clone(),
        );
        out.tasks.push(feed.supervised("syslog_tls", move || {
            let sock = tcp_clone(&sock)?;
            Ok(onewall_ingest::listen::run_tls(
                sock,
                cfg.clone(),
                certs_rx.clone(),
                tx.clone(),
                stop.clone(),
            ))
        }));
        out.tls_reload = Some((settings, certs_tx));
    }
    for (name, protocol, sock) in bound.flows {
        start_flow(r, &feed, name, protocol, sock, &mut out)?;
    }
    Ok((out, bound.http))
}

/// Run one flow collector.
fn start_flow(
    r: &Resolved,
    feed: &Feed<'_>,
    name: &'static str,
    protocol: FlowProtocol,
    sock: UdpSocket,
    out: &mut Listeners,
) -> anyhow::Result<()> {
    out.announce.push(format!("{name} {}", sock.local_addr()?));
    let mut flow = FlowListener::new(protocol, r.flow.region);
    flow.listener.batch_size = r.config.pipeline.batch_size;
    flow.listener.batch_linger = Duration::from_millis(r.config.pipeline.batch_linger_ms);
    flow.listener.tags.department = r.flow.department.clone();
    flow.netflow = r.flow.settings;
    let sock = sock.into_std()?;
    count_udp_drops(&sock, name, feed.shutdown, &mut out.tasks);
    let (tx, stop) = (feed.events.clone(), feed.shutdown.clone());
    out.tasks.push(feed.supervised(name, move || {
        let sock = udp_clone(&sock)?;
        let (flow, tx, stop) = (flow.clone(), tx.clone(), stop.clone());
        Ok(async move {
            if let Err(e) = run_flow(sock, flow, tx, stop).await {
                error!(collector = name, error = %e, "flow listener failed");
            }
        })
    }));
    Ok(())
}

impl Feed<'_> {
    /// Run a listener supervised: a panic is counted, shown by /healthz, and the listener
    /// starts again on the same socket.
    fn supervised<F, Fut>(&self, name: &'static str, make: F) -> JoinHandle<()>
    where
        F: FnMut() -> std::io::Result<Fut> + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(supervise(
            name,
            self.health.clone(),
            self.shutdown.clone(),
            make,
        ))
    }
}

/// A syslog listener's settings.
fn listener_config(r: &Resolved, collector: &str) -> onewall_ingest::listen::ListenerConfig {
    onewall_ingest::listen::ListenerConfig {
        timezone: r.listen.syslog_source.timezone,
        max_frame_len: r.config.syslog.max_frame_bytes,
        max_connections: r.config.syslog.max_connections,
        max_connections_per_peer: r.config.syslog.max_connections_per_peer,
        frame_timeout: match r.config.syslog.frame_timeout_secs {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        },
        batch_size: r.config.pipeline.batch_size,
        batch_linger: Duration::from_millis(r.config.pipeline.batch_linger_ms),
        idle_timeout: match r.config.syslog.idle_timeout_secs {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        },
        tags: r.listen.syslog_source.tags.clone(),
        recv_buffer_bytes: r.config.syslog.udp_recv_buffer_bytes,
        ..onewall_ingest::listen::ListenerConfig::new(collector, r.listen.syslog_source.region)
    }
}

/// A tokio socket on a duplicate of `sock`'s descriptor: a listener that panicked starts
/// again on the same bound socket.
fn udp_clone(sock: &std::net::UdpSocket) -> std::io::Result<UdpSocket> {
    let dup = sock.try_clone()?;
    dup.set_nonblocking(true)?;
    UdpSocket::from_std(dup)
}

/// Like [`udp_clone`], for a TCP listening socket.
fn tcp_clone(sock: &std::net::TcpListener) -> std::io::Result<TcpListener> {
    let dup = sock.try_clone()?;
    dup.set_nonblocking(true)?;
    TcpListener::from_std(dup)
}

/// Count what the kernel drops for the UDP socket `sock` (`listener`: `syslog`, `netflow`,
/// `ipfix`, `sflow`), where `/proc/net/udp` can tell.
fn count_udp_drops(
    sock: &std::net::UdpSocket,
    listener: &'static str,
    shutdown: &watch::Receiver<bool>,
    tasks: &mut Vec<JoinHandle<()>>,
) {
    match onewall_ingest::listen::socket_inode(sock) {
        Ok(inode) => tasks.push(tokio::spawn(onewall_ingest::listen::count_kernel_drops(
            inode,
            listener,
            shutdown.clone(),
        ))),
        Err(e) => warn!(listener, error = %e, "udp socket inode unknown; kernel drops not counted"),
    }
}
