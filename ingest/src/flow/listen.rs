//! The flow listener: a tokio task that reads one UDP socket, decodes each datagram with its
//! own decoder, and sends the events in batches.

use onewall_model::{EventBatch, Timestamp};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::FlowError;
use super::netflow::{NetflowDecoder, NetflowSettings};
use super::record::FlowContext;
use super::sflow::SflowDecoder;
use crate::listen::{Batcher, ListenerConfig, Meters, Throttle, shutdown_requested};

/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// What a flow socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowProtocol {
    /// NetFlow v5, v9 and IPFIX, told apart by each datagram's version.
    Netflow,
    /// sFlow v5.
    Sflow,
}

impl FlowProtocol {
    /// The collector name: the events' `source.collector` and the metrics' `source` label.
    pub fn collector(self) -> &'static str {
        match self {
            FlowProtocol::Netflow => "netflow",
            FlowProtocol::Sflow => "sflow",
        }
    }
}

/// How a flow listener runs.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowListener {
    /// What the socket receives.
    pub protocol: FlowProtocol,
    /// Region, department, batching and receive buffer (the collector name is the protocol's;
    /// the frame and connection limits do not apply).
    pub listener: ListenerConfig,
    /// Template and exporter bounds (NetFlow/IPFIX).
    pub netflow: NetflowSettings,
}

impl FlowListener {
    /// Defaults for `protocol` in `region`.
    pub fn new(protocol: FlowProtocol, region: onewall_model::RegionCode) -> Self {
        FlowListener {
            protocol,
            listener: ListenerConfig::new(protocol.collector(), region),
            netflow: NetflowSettings::default(),
        }
    }
}

enum Decoder {
    Netflow(Box<NetflowDecoder>),
    Sflow(Box<SflowDecoder>),
}

/// Receive flow datagrams on `socket` until `shutdown` turns true, sending an event per flow
/// record in batches down `tx`. Returns after sending what it holds, or when `tx` is closed.
pub async fn run_flow(
    socket: UdpSocket,
    cfg: FlowListener,
    tx: mpsc::Sender<EventBatch>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), FlowError> {
    let collector = cfg.protocol.collector();
    let mut decoder = match cfg.protocol {
        FlowProtocol::Netflow => Decoder::Netflow(Box::new(NetflowDecoder::new(cfg.netflow)?)),
        FlowProtocol::Sflow => {
            Decoder::Sflow(Box::new(SflowDecoder::new(cfg.netflow.max_exporters)))
        }
    };
    let local = socket.local_addr().ok();
    set_recv_buffer(&socket, &cfg.listener, collector);
    info!(collector, addr = ?local, "flow listener started");
    let ctx = FlowContext {
        collector: onewall_model::Text::shared(collector),
        region: cfg.listener.region,
        department: cfg
            .listener
            .tags
            .department
            .as_deref()
            .map(onewall_model::Text::shared),
    };
    let meters = Meters::new(collector);
    let mut listener = cfg.listener.clone();
    listener.collector = collector.to_owned();
    let mut batcher = Batcher::new(&listener, tx, meters.clone());
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut events = Vec::new();
    let mut warn_recv = Throttle::default();
    loop {
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break,
            () = batcher.linger_expired() => {
                if batcher.flush().await.is_err() {
                    closed(collector);
                    return Ok(());
                }
            }
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, peer)) => {
                    meters.bytes.increment(n as u64);
                    let now = Timestamp::now();
                    match &mut decoder {
                        Decoder::Netflow(d) => d.decode(&buf[..n], peer, now, &ctx, &mut events),
                        Decoder::Sflow(d) => d.decode(&buf[..n], peer, now, &ctx, &mut events),
                    };
                    for event in events.drain(..) {
                        if batcher.push(event).await.is_err() {
                            closed(collector);
                    return Ok(());
                        }
                    }
                }
                Err(e) => {
                    if warn_recv.ready() {
                        warn!(collector, error = %e, "udp receive failed");
                    }
                }
            },
        }
    }
    if batcher.flush().await.is_err() {
        closed(collector);
        return Ok(());
    }
    info!(collector, addr = ?local, "flow listener stopped");
    Ok(())
}

fn closed(collector: &str) {
    warn!(collector, "event channel closed, flow listener stopping");
}

/// Ask for a large receive buffer so bursts wait in the kernel while the channel is full.
fn set_recv_buffer(socket: &UdpSocket, cfg: &ListenerConfig, collector: &str) {
    let sock = socket2::SockRef::from(socket);
    if let Err(e) = sock.set_recv_buffer_size(cfg.recv_buffer_bytes) {
        warn!(collector, error = %e, requested = cfg.recv_buffer_bytes,
            "could not set the udp receive buffer");
    }
}
