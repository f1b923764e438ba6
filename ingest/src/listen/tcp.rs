//! Syslog over TCP, framed per RFC 6587 (octet counting or LF), one task per connection. The
//! TLS listener ([`super::tls`]) shares the accept loop and the connection reader.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use onewall_model::EventBatch;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::tls::TlsAcceptor;
use super::{
    Batcher, Closed, ListenerConfig, Meters, PeerSlot, PeerSlots, Throttle, connection_failed,
    count_dropped, count_frame_error, count_tcp_refused, shutdown_requested,
};
use crate::error::FrameError;
use crate::framing::FrameDecoder;
use crate::parse::parse_syslog;

/// How much room to make in a connection's buffer before each read.
const READ_CHUNK: usize = 16 * 1024;

/// Accept syslog connections on `listener` until `shutdown` turns true, sending parsed events
/// in batches down `tx`. Returns once every connection has sent what it holds.
pub async fn run_tcp(
    listener: TcpListener,
    cfg: ListenerConfig,
    tx: mpsc::Sender<EventBatch>,
    shutdown: watch::Receiver<bool>,
) {
    accept_loop(listener, cfg, None, tx, shutdown).await;
}

/// The accept loop of the TCP and TLS listeners: a slot per connection, a task per connection.
pub(super) async fn accept_loop(
    listener: TcpListener,
    cfg: ListenerConfig,
    tls: Option<TlsAcceptor>,
    tx: mpsc::Sender<EventBatch>,
    mut shutdown: watch::Receiver<bool>,
) {
    let local = listener.local_addr().ok();
    let kind = if tls.is_some() { "tls" } else { "tcp" };
    info!(collector = %cfg.collector, addr = ?local, max_connections = cfg.max_connections,
        "syslog {kind} listener started");
    let cfg = Arc::new(cfg);
    let meters = Meters::new(&cfg.collector);
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    let peers = PeerSlots::new(cfg.max_connections_per_peer);
    let mut connections = JoinSet::new();
    let mut warn_refused = Throttle::default();
    let mut warn_peer = Throttle::default();
    let warn_handshake = Arc::new(Mutex::new(Throttle::default()));
    loop {
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    connection_failed(&cfg.collector, &e);
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match Arc::clone(&slots).try_acquire_owned() {
                    Ok(permit) => {
                        let Some(peer_slot) = peers.take(peer.ip()) else {
                            count_tcp_refused("per_peer");
                            if warn_peer.ready() {
                                warn!(collector = %cfg.collector, %peer,
                                    max = cfg.max_connections_per_peer,
                                    "too many syslog connections from one address, refusing new ones");
                            }
                            drop(stream);
                            continue;
                        };
                        let conn = Connection {
                            cfg: Arc::clone(&cfg),
                            meters: meters.clone(),
                            peer,
                            _permit: permit,
                            _peer_slot: peer_slot,
                        };
                        let tx = tx.clone();
                        let shutdown = shutdown.clone();
                        match &tls {
                            None => {
                                connections.spawn(conn.run(stream, tx, shutdown));
                            }
                            Some(acceptor) => {
                                let acceptor = acceptor.clone();
                                let warn = Arc::clone(&warn_handshake);
                                connections.spawn(async move {
                                    if let Some(stream) = acceptor.handshake(stream, peer, &warn).await {
                                        conn.run(stream, tx, shutdown).await;
                                    }
                                });
                            }
                        }
                    }
                    Err(_) => {
                        count_dropped("too_many_connections");
                        count_tcp_refused("cap");
                        if warn_refused.ready() {
                            warn!(collector = %cfg.collector, max = cfg.max_connections,
                                "too many syslog connections, refusing new ones");
                        }
                        drop(stream);
                    }
                },
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    warn!(collector = %cfg.collector, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(tx);
    while let Some(done) = connections.join_next().await {
        if let Err(e) = done {
            connection_failed(&cfg.collector, &e);
        }
    }
    info!(collector = %cfg.collector, addr = ?local, "syslog {kind} listener stopped");
}

/// The earlier of two deadlines.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Resolves at `deadline`, or never when there is none.
async fn idle_expired(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Framing trouble on one connection: a throttle for its warnings, and the error of a frame
/// cut short, kept for the event made of it.
#[derive(Debug, Default)]
struct FrameTrouble {
    warn: Throttle,
    cut: Option<FrameError>,
}

/// One accepted connection; holds its slot until it ends.
pub(super) struct Connection {
    cfg: Arc<ListenerConfig>,
    meters: Meters,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    _peer_slot: PeerSlot,
}

impl Connection {
    async fn run<S: AsyncRead + Unpin>(
        self,
        mut stream: S,
        tx: mpsc::Sender<EventBatch>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let cfg = &*self.cfg;
        self.meters.connections.increment(1.0);
        debug!(collector = %cfg.collector, peer = %self.peer, "syslog connection opened");
        let mut batcher = Batcher::new(cfg, tx, self.meters.clone());
        let mut decoder = FrameDecoder::new(cfg.max_frame_len);
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        let mut trouble = FrameTrouble::default();
        // Progress is a completed frame: bytes that never make one (a sender trickling a
        // byte now and then) do not keep the connection open.
        let idle_deadline = || cfg.idle_timeout.map(|t| Instant::now() + t);
        let mut idle_at = idle_deadline();
        // Since when the buffer has held an incomplete frame with no frame completed.
        let mut partial_since: Option<Instant> = None;
        let result: Result<(), Closed> = async {
            loop {
                buf.reserve(READ_CHUNK);
                tokio::select! {
                    biased;
                    () = shutdown_requested(&mut shutdown) => break,
                    () = batcher.linger_expired() => batcher.flush().await?,
                    () = idle_expired(earliest(
                        idle_at,
                        partial_since.zip(cfg.frame_timeout).map(|(at, t)| at + t),
                    )) => {
                        count_tcp_refused("timeout");
                        debug!(collector = %cfg.collector, peer = %self.peer,
                            idle = ?cfg.idle_timeout, frame = ?cfg.frame_timeout,
                            partial = partial_since.is_some(),
                            "syslog connection made no progress in time, closing it");
                        while let Some(item) = decoder.decode_eof(&mut buf) {
                            self.take(item, &mut batcher, &mut trouble).await?;
                        }
                        break;
                    }
                    read = stream.read_buf(&mut buf) => match read {
                        Ok(0) => {
                            while let Some(item) = decoder.decode_eof(&mut buf) {
                                self.take(item, &mut batcher, &mut trouble).await?;
                            }
                            break;
                        }
                        Ok(n) => {
                            self.meters.bytes.increment(n as u64);
                            let mut completed = false;
                            while let Some(item) = decoder.decode(&mut buf) {
                                completed = true;
                                self.take(item, &mut batcher, &mut trouble).await?;
                            }
                            if completed {
                                idle_at = idle_deadline();
                            }
                            partial_since = match (buf.is_empty(), partial_since) {
                                (true, _) => None,
                                (false, Some(at)) if !completed => Some(at),
                                (false, _) => Some(Instant::now()),
                            };
                        }
                        Err(e) => {
                            debug!(collector = %cfg.collector, peer = %self.peer, error = %e,
                                "syslog connection read failed");
                            break;
                        }
                    },
                }
            }
            batcher.flush().await
        }
        .await;
        if result.is_err() {
            warn!(collector = %cfg.collector, "event channel closed, dropping a syslog connection");
        }
        self.meters.connections.decrement(1.0);
        debug!(collector = %cfg.collector, peer = %self.peer, "syslog connection closed");
    }

    /// Parse a frame into the batch, or count what the decoder recovered from.
    async fn take(
        &self,
        item: Result<bytes::Bytes, FrameError>,
        batcher: &mut Batcher,
        trouble: &mut FrameTrouble,
    ) -> Result<(), Closed> {
        match item {
            Ok(frame) => {
                let ctx = self.cfg.context(Some(self.peer));
                let mut event = parse_syslog(&frame, &ctx);
                if let Some(cut) = trouble.cut.take()
                    && event.parse_error.is_none()
                {
                    event.parse_error = Some(cut.to_string().into());
                }
                batcher.push(event).await
            }
            Err(e) => {
                if e.is_drop() {
                    count_dropped(e.reason());
                } else {
                    count_frame_error(e.reason());
                }
                if matches!(e, FrameError::Truncated { .. }) {
                    trouble.cut = Some(e.clone());
                }
                if trouble.warn.ready() {
                    warn!(collector = %self.cfg.collector, peer = %self.peer, error = %e,
                        "syslog framing trouble");
                }
                Ok(())
            }
        }
    }
}
