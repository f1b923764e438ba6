//! Flow collectors: NetFlow v5, v9 and IPFIX on one UDP socket (default 2055; IPFIX's 4739
//! optionally), sFlow v5 on another (default 6343).
//!
//! - [`NetflowDecoder`] and [`SflowDecoder`] are pure: a datagram and its sender in, one
//!   [`Event`] per flow record (sFlow: per flow sample) out. One decoder per socket task, so
//!   template caches and sequence state need no lock. NetFlow v9/IPFIX templates are kept per
//!   exporter (address plus source id / observation domain), data that arrives before its
//!   template waits for it (up to 5 minutes), templates expire after `template_ttl`, IPFIX
//!   withdrawals are honoured, and an exporter that starts over (sequence back to its start,
//!   or uptime going back) has its templates dropped.
//! - [`run_flow`] is the tokio listener that reads a socket, decodes and sends batches.
//!
//! Every record becomes an event with `format = flow` and ECS-style fields: `source.ip`,
//! `source.port`, `destination.ip`, `destination.port`, `network.transport` (`tcp`, `udp`,
//! `icmp` …, else the number), `network.iana_number`, `network.type`, `network.bytes`,
//! `network.packets` (both multiplied by the sampling rate when sampled; the rate is
//! `flow.sampling_rate`), `event.start`, `event.end`, `event.duration` (ns), `observer.ip`
//! (the exporter: the datagram's sender, or the sFlow agent address), `network.tcp_flags`
//! (number) and `network.tcp_flags_names` (`fin,syn,psh,ack`) for TCP, `event.kind = event`,
//! `event.category = network`, `event.action` (`netflow_flow`, `sflow_flow`),
//! `netflow.exporter.version`, and the record's own fields under their own names:
//! `netflow.<element>` (IPFIX information element or v9 field type in snake case, e.g.
//! `netflow.octet_delta_count`, `netflow.in_bytes`, `netflow.enterprise_9_12235`), `sflow.*`
//! for sFlow. The event time is the flow's end, else the export time. The raw text is a one
//! line summary (`netflow_flow 10.0.0.1:5353 -> 10.0.0.2:53 udp bytes=76 packets=1`).
//!
//! Uptime-relative times (v5 and v9 `first`/`last`, IPFIX `flowStartSysUpTime` with the
//! exporter's `systemInitTimeMilliseconds`) are computed with wrapping 32-bit arithmetic, so
//! softflowd's wrapped values (flows older than the exporter's boot) come out right.
//!
//! A datagram that cannot be read (truncated, unknown version, malformed set, absurd
//! lengths) is kept as one event with its raw bytes and a `parse_error`; its records before
//! the trouble are still events. Nothing panics on any input (`ingest/fuzz`, target
//! `flow_datagram`).
//!
//! Metrics (labels `protocol` = `netflow` | `sflow`, `reason` from a fixed set, never an
//! address): `onewall_ingest_events_total{source}` (one per record),
//! `onewall_ingest_flow_errors_total{protocol,reason}` (`truncated`, `unsupported_version`,
//! `malformed`, `too_large`), `onewall_ingest_flow_no_template_total{protocol}` (data sets
//! held until their template comes), `onewall_ingest_flow_sequence_gaps_total{protocol}`,
//! `onewall_ingest_flow_sequence_lost_total{protocol}` (units skipped: records for v5 and
//! IPFIX, datagrams for v9 and sFlow), `onewall_ingest_flow_late_total{protocol}` and
//! `onewall_ingest_flow_exporter_restarts_total{protocol}`. The per-exporter figures are
//! kept by the decoder ([`NetflowDecoder::streams`]) and each gap or restart is logged (at
//! most every 10 s) with the exporter's address.

mod listen;
mod netflow;
mod record;
mod sequence;
mod sflow;
mod templates;

use std::fmt::Write as _;
use std::net::SocketAddr;

use metrics::Counter;
use onewall_model::{Event, Format, Source, Timestamp};
use tracing::warn;

pub use listen::{FlowListener, FlowProtocol, run_flow};
pub use netflow::{DatagramReport, NetflowDecoder, NetflowSettings};
pub use record::{FlowContext, transport_name};
pub use sequence::{SequenceOutcome, SequenceTracker, StreamKey, StreamStats};
pub use sflow::SflowDecoder;

use crate::listen::Throttle;

/// The default NetFlow v5/v9/IPFIX port.
pub const DEFAULT_NETFLOW_PORT: u16 = 2055;
/// IPFIX's registered port.
pub const DEFAULT_IPFIX_PORT: u16 = 4739;
/// The default sFlow port.
pub const DEFAULT_SFLOW_PORT: u16 = 6343;

/// What was wrong with a datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// The datagram ends before what it announces.
    #[error("truncated: {what} needs more than the {len} bytes there are")]
    Truncated {
        /// What was being read.
        what: String,
        /// The bytes there were.
        len: usize,
    },
    /// A version this collector does not read.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u16),
    /// A field, set or record that does not hold together.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Decoding would exceed the per-datagram output bound (absurd counts or lengths).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The decoder's settings are not usable.
    #[error("flow decoder settings: {0}")]
    Config(String),
}

impl FlowError {
    /// The metric label of this kind of error.
    pub fn reason(&self) -> &'static str {
        match self {
            FlowError::Truncated { .. } => "truncated",
            FlowError::UnsupportedVersion(_) => "unsupported_version",
            FlowError::Malformed(_) => "malformed",
            FlowError::TooLarge(_) => "too_large",
            FlowError::Config(_) => "config",
        }
    }
}

/// The event that keeps a datagram which could not be read.
fn error_event(
    datagram: &[u8],
    peer: SocketAddr,
    received: Timestamp,
    ctx: &FlowContext,
    error: &FlowError,
) -> Event {
    let mut event = Event::new(
        received,
        ctx.region,
        Source {
            collector: ctx.collector.clone(),
            peer: Some(peer),
        },
        datagram,
    );
    event.format = Format::Flow;
    event.parse_error = Some(format!("{}: {error}", ctx.collector).into());
    event
}

/// Counters of one flow protocol.
#[derive(Debug)]
struct FlowMeters {
    protocol: &'static str,
    no_template: Counter,
    gaps: Counter,
    lost: Counter,
    late: Counter,
    restarts: Counter,
    warn: Throttle,
}

impl FlowMeters {
    fn new(protocol: &'static str) -> Self {
        let c = |name: &'static str| metrics::counter!(name, "protocol" => protocol);
        FlowMeters {
            protocol,
            no_template: c("onewall_ingest_flow_no_template_total"),
            gaps: c("onewall_ingest_flow_sequence_gaps_total"),
            lost: c("onewall_ingest_flow_sequence_lost_total"),
            late: c("onewall_ingest_flow_late_total"),
            restarts: c("onewall_ingest_flow_exporter_restarts_total"),
            warn: Default::default(),
        }
    }

    fn error(&self, e: &FlowError) {
        metrics::counter!("onewall_ingest_flow_errors_total",
            "protocol" => self.protocol, "reason" => e.reason())
        .increment(1);
    }

    fn sequence(&mut self, outcome: SequenceOutcome, version: u16, exporter: SocketAddr) {
        match outcome {
            SequenceOutcome::First | SequenceOutcome::InOrder => {}
            SequenceOutcome::Late => self.late.increment(1),
            SequenceOutcome::Gap(n) => {
                self.gaps.increment(1);
                self.lost.increment(n);
                if self.ready() {
                    warn!(protocol = self.protocol, version, %exporter, lost = n,
                        "flow export sequence gap: records or datagrams lost on the way");
                }
            }
            SequenceOutcome::Restart => {
                self.restarts.increment(1);
                if self.ready() {
                    warn!(protocol = self.protocol, version, %exporter,
                        "flow exporter restarted: its templates were dropped");
                }
            }
        }
    }

    fn ready(&mut self) -> bool {
        self.warn.ready()
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn mac(b: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5]
    )
}
