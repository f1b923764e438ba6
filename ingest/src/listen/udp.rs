//! Syslog over UDP: one datagram is one record (RFC 5426).

use onewall_model::EventBatch;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::{Batcher, ListenerConfig, Meters, Throttle, count_dropped, shutdown_requested};
use crate::parse::parse_syslog;

/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// Receive syslog datagrams on `socket` until `shutdown` turns true, sending parsed events in
/// batches down `tx`. Returns after sending what it holds, or when `tx` is closed.
pub async fn run_udp(
    socket: UdpSocket,
    cfg: ListenerConfig,
    tx: mpsc::Sender<EventBatch>,
    mut shutdown: watch::Receiver<bool>,
) {
    let local = socket.local_addr().ok();
    set_recv_buffer(&socket, &cfg);
    info!(collector = %cfg.collector, addr = ?local, "syslog udp listener started");
    let meters = Meters::new(&cfg.collector);
    let mut batcher = Batcher::new(&cfg, tx, meters.clone());
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut warn_long = Throttle::default();
    let mut warn_recv = Throttle::default();
    loop {
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break,
            () = batcher.linger_expired() => {
                if batcher.flush().await.is_err() {
                    return closed(&cfg);
                }
            }
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, peer)) => {
                    meters.bytes.increment(n as u64);
                    if n > cfg.max_frame_len {
                        count_dropped("frame_too_long");
                        if warn_long.ready() {
                            warn!(collector = %cfg.collector, len = n, max = cfg.max_frame_len,
                                "datagram longer than the maximum frame, dropped");
                        }
                        continue;
                    }
                    let ctx = cfg.context(Some(peer));
                    if batcher.push(parse_syslog(&buf[..n], &ctx)).await.is_err() {
                        return closed(&cfg);
                    }
                }
                // E.g. an ICMP error from an earlier send; the socket is still good.
                Err(e) => {
                    if warn_recv.ready() {
                        warn!(collector = %cfg.collector, error = %e, "udp receive failed");
                    }
                }
            },
        }
    }
    if batcher.flush().await.is_err() {
        return closed(&cfg);
    }
    info!(collector = %cfg.collector, addr = ?local, "syslog udp listener stopped");
}

fn closed(cfg: &ListenerConfig) {
    warn!(collector = %cfg.collector, "event channel closed, udp listener stopping");
}

/// Ask for a large receive buffer so bursts wait in the kernel while the channel is full.
fn set_recv_buffer(socket: &UdpSocket, cfg: &ListenerConfig) {
    let sock = socket2::SockRef::from(socket);
    if let Err(e) = sock.set_recv_buffer_size(cfg.recv_buffer_bytes) {
        warn!(collector = %cfg.collector, error = %e, requested = cfg.recv_buffer_bytes,
            "could not set the udp receive buffer");
        return;
    }
    match sock.recv_buffer_size() {
        // Linux reports twice what it grants (the other half is its bookkeeping).
        Ok(granted) if granted < cfg.recv_buffer_bytes => warn!(
            collector = %cfg.collector, requested = cfg.recv_buffer_bytes, granted,
            "udp receive buffer smaller than asked; raise net.core.rmem_max to absorb bursts"
        ),
        Ok(granted) => info!(collector = %cfg.collector, granted, "udp receive buffer set"),
        Err(e) => {
            warn!(collector = %cfg.collector, error = %e, "could not read the udp receive buffer")
        }
    }
}
