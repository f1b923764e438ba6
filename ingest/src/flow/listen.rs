//! The flow listener: a tokio task that reads one UDP socket, decodes each datagram with its
//! own decoder, and sends the events in batches.

use std::net::SocketAddr;

use onewall_model::{Event, EventBatch, Timestamp};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::FlowError;
use super::netflow::{NetflowDecoder, NetflowSettings};
use super::record::FlowContext;
use super::sflow::SflowDecoder;
use crate::listen::{ListenerConfig, receive_datagrams};

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
    shutdown: watch::Receiver<bool>,
) -> Result<(), FlowError> {
    let collector = cfg.protocol.collector();
    let mut decoder = match cfg.protocol {
        FlowProtocol::Netflow => Decoder::Netflow(Box::new(NetflowDecoder::new(cfg.netflow)?)),
        FlowProtocol::Sflow => {
            Decoder::Sflow(Box::new(SflowDecoder::new(cfg.netflow.max_exporters)))
        }
    };
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
    let mut listener = cfg.listener;
    listener.collector = collector.to_owned();
    let decode = |data: &[u8], peer: SocketAddr, out: &mut Vec<Event>| {
        let now = Timestamp::now();
        match &mut decoder {
            Decoder::Netflow(d) => d.decode(data, peer, now, &ctx, out),
            Decoder::Sflow(d) => d.decode(data, peer, now, &ctx, out),
        };
    };
    receive_datagrams(socket, &listener, "flow", tx, shutdown, decode).await;
    Ok(())
}
