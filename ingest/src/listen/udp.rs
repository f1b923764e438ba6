//! Syslog over UDP: one datagram is one record (RFC 5426).

use std::net::SocketAddr;

use onewall_model::{Event, EventBatch};
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
    shutdown: watch::Receiver<bool>,
) {
    let mut warn_long = Throttle::default();
    let decode = |data: &[u8], peer: SocketAddr, out: &mut Vec<Event>| {
        if data.len() > cfg.max_frame_len {
            count_dropped("frame_too_long");
            if warn_long.ready() {
                warn!(collector = %cfg.collector, len = data.len(), max = cfg.max_frame_len,
                    "datagram longer than the maximum frame, dropped");
            }
            return;
        }
        out.push(parse_syslog(data, &cfg.context(Some(peer))));
    };
    receive_datagrams(socket, &cfg, "syslog udp", tx, shutdown, decode).await;
}

/// The receive loop of every UDP listener (syslog, NetFlow/IPFIX, sFlow). Asks for
/// `cfg.recv_buffer_bytes` of kernel buffer, then until `shutdown` turns true receives each
/// datagram (up to the largest UDP payload) and hands it to `decode`, which appends the events
/// it holds; the events go down `tx` in batches (`cfg`'s size and linger). A receive error
/// (e.g. an ICMP error from an earlier send) is logged, throttled, and the loop goes on.
/// Returns after sending what it holds, or when `tx` is closed. `what` names the listener in
/// the log.
pub(crate) async fn receive_datagrams(
    socket: UdpSocket,
    cfg: &ListenerConfig,
    what: &'static str,
    tx: mpsc::Sender<EventBatch>,
    mut shutdown: watch::Receiver<bool>,
    mut decode: impl FnMut(&[u8], SocketAddr, &mut Vec<Event>),
) {
    let local = socket.local_addr().ok();
    set_recv_buffer(&socket, cfg);
    info!(collector = %cfg.collector, addr = ?local, "{what} listener started");
    let meters = Meters::new(&cfg.collector);
    let mut batcher = Batcher::new(cfg, tx, meters.clone());
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut events = Vec::new();
    let mut warn_recv = Throttle::default();
    let closed = 'receive: loop {
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break batcher.flush().await.is_err(),
            () = batcher.linger_expired() => {
                if batcher.flush().await.is_err() {
                    break true;
                }
            }
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, peer)) => {
                    meters.bytes.increment(n as u64);
                    decode(&buf[..n], peer, &mut events);
                    for event in events.drain(..) {
                        if batcher.push(event).await.is_err() {
                            break 'receive true;
                        }
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
    };
    if closed {
        warn!(collector = %cfg.collector, "event channel closed, {what} listener stopping");
    } else {
        info!(collector = %cfg.collector, addr = ?local, "{what} listener stopped");
    }
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

/// How often [`count_kernel_drops`] reads the kernel's count.
const KERNEL_DROPS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The inode of a socket, by which `/proc/net/udp` names it.
pub fn socket_inode(socket: &impl std::os::fd::AsRawFd) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let fd = socket.as_raw_fd();
    Ok(std::fs::metadata(format!("/proc/self/fd/{fd}"))?.ino())
}

/// The kernel's count of datagrams it dropped for the UDP socket `inode` (its receive buffer
/// was full), from `/proc/net/udp` and `/proc/net/udp6`; `None` when neither lists it.
pub fn kernel_drops(inode: u64) -> Option<u64> {
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .find_map(|table| drops_in(&std::fs::read_to_string(table).ok()?, inode))
}

/// The `drops` column (the last) of the row whose `inode` column (the tenth) is `inode`.
fn drops_in(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        if cols.get(9)?.parse::<u64>().ok()? != inode {
            return None;
        }
        cols.last()?.parse().ok()
    })
}

/// Copy the kernel's drop count of the UDP socket `inode` into
/// `onewall_ingest_udp_kernel_dropped_total{listener}` every second until `shutdown` turns
/// true. `listener` comes from a small fixed set: `syslog`, `netflow`, `ipfix`, `sflow`.
/// Sampling apart from the listener keeps it going while a full channel holds the reader.
pub async fn count_kernel_drops(
    inode: u64,
    listener: &'static str,
    mut shutdown: watch::Receiver<bool>,
) {
    let counter =
        metrics::counter!("onewall_ingest_udp_kernel_dropped_total", "listener" => listener);
    let mut tick = tokio::time::interval(KERNEL_DROPS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut warned = false;
    loop {
        tokio::select! {
            () = shutdown_requested(&mut shutdown) => break,
            _ = tick.tick() => {}
        }
        match kernel_drops(inode) {
            Some(n) => counter.absolute(n),
            None if !warned => {
                warned = true;
                warn!(
                    listener,
                    inode, "the kernel's udp drop count cannot be read; not counted"
                );
            }
            None => {}
        }
    }
    // The last count, so a burst just before shutdown is not missed.
    if let Some(n) = kernel_drops(inode) {
        counter.absolute(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_are_read_from_the_row_of_the_inode() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:D431 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0
  124: 0100007F:D432 00000000:0000 07 00000000:00024000 00:00000000 00000000     0        0 4243 2 0000000000000000 5276
";
        assert_eq!(drops_in(table, 4243), Some(5276));
        assert_eq!(drops_in(table, 4242), Some(0));
        assert_eq!(drops_in(table, 1), None);
        assert_eq!(drops_in("", 1), None);
    }

    /// A real socket whose buffer overflows: the kernel's count read here is the datagrams
    /// sent that were never received.
    #[test]
    fn a_real_overflow_is_counted() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket2::SockRef::from(&rx)
            .set_recv_buffer_size(4096)
            .expect("a small buffer");
        let inode = socket_inode(&rx).expect("inode");
        assert_eq!(kernel_drops(inode), Some(0));
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = rx.local_addr().expect("addr");
        let sent = 2000;
        for _ in 0..sent {
            tx.send_to(&[b'x'; 512], to).expect("send");
        }
        rx.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 1024];
        let mut received = 0;
        while rx.recv_from(&mut buf).is_ok() {
            received += 1;
        }
        let dropped = kernel_drops(inode).expect("the socket is listed");
        assert!(dropped > 0, "a 4 KiB buffer cannot hold {sent} datagrams");
        assert_eq!(dropped + received, sent);
    }
}
