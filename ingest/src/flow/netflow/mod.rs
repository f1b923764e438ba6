//! NetFlow v5, v9 and IPFIX datagrams to events, through `netflow_parser`'s
//! [`AutoScopedParser`]: templates are kept per exporter (address plus v9 source id or IPFIX
//! observation domain), data that arrives before its template waits for it, enterprise
//! fields are kept.

//!
//! - `header`: the fixed header read before parsing, the set walk, the parser's errors.
//! - `records`: records to events (v5, v9 and IPFIX packets; data sets read from known
//!   templates) and the templates learned on the way.
//! - `mapping`: what the normalised record takes from each element (times, sampling).
//! - `values`: field values as numbers, addresses, times and event values.
//! - `names`: field names (`netflow.<element>`) and element numbers, interned once.

pub(super) mod header;
mod mapping;
mod names;
mod records;
pub(crate) mod values;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use netflow_parser::variable_versions::ipfix::lookup::IPFixField;
use netflow_parser::{
    AutoScopedParser, IpfixSourceKey, NetflowError, NetflowParser, PendingFlowsConfig, TtlConfig,
    V9Field, V9SourceKey,
};
use onewall_model::{Event, FieldId, Timestamp};

use super::record::{EventBuilder, FlowContext, FlowRecord};
use super::sequence::{SequenceOutcome, SequenceTracker, StreamKey, StreamStats};
use super::{FlowError, FlowMeters};
use crate::flow::templates::KnownTemplates;
use header::{Header, classify, data_start, header_len};
use mapping::ExporterOptions;
use names::NameCache;

/// How the NetFlow/IPFIX decoder keeps templates and exporters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetflowSettings {
    /// A template not refreshed for this long is dropped; `None` keeps templates until the
    /// exporter replaces or withdraws them.
    pub template_ttl: Option<Duration>,
    /// The most exporters (export streams) whose templates and sequences are kept.
    pub max_exporters: usize,
}

impl Default for NetflowSettings {
    fn default() -> Self {
        NetflowSettings {
            template_ttl: Some(Duration::from_secs(1800)),
            max_exporters: 10_000,
        }
    }
}

/// Decodes NetFlow v5, v9 and IPFIX datagrams from any number of exporters into events. One
/// per socket task: it owns its template caches and sequence state.
#[derive(Debug)]
pub struct NetflowDecoder {
    parser: AutoScopedParser,
    /// The data templates the parser reported, for datagrams it need not see.
    known: KnownTemplates,
    /// Datagrams whose data sets were read from [`Self::known`] without the parser.
    direct: u64,
    /// Whether data sets may be read from known templates (tests compare with the parser).
    direct_enabled: bool,
    /// The parts of a datagram given to the parser separately.
    scratch: Vec<u8>,
    sequences: SequenceTracker,
    options: HashMap<(SocketAddr, u32), ExporterOptions>,
    v9_names: NameCache<V9Field>,
    ipfix_names: NameCache<IPFixField>,
    v5_names: Option<[FieldId; 13]>,
    build: EventBuilder,
    meters: FlowMeters,
}

/// What one datagram gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatagramReport {
    /// Flow records turned into events.
    pub records: usize,
    /// What was wrong with the datagram, when something was; its records before the trouble
    /// are still events, and the datagram itself is kept as an event with this error.
    pub error: Option<FlowError>,
    /// What its sequence number said.
    pub sequence: Option<SequenceOutcome>,
}

impl NetflowDecoder {
    /// A decoder with these settings.
    pub fn new(settings: NetflowSettings) -> Result<Self, FlowError> {
        let mut builder = NetflowParser::builder()
            .with_pending_flows(PendingFlowsConfig::with_ttl(256, Duration::from_secs(300)));
        if let Some(ttl) = settings.template_ttl {
            builder = builder.with_ttl(TtlConfig::new(ttl));
        }
        let parser = AutoScopedParser::try_with_builder(builder)
            .and_then(|p| p.with_max_sources(settings.max_exporters.max(1)))
            .map_err(|e| FlowError::Config(e.to_string()))?;
        Ok(NetflowDecoder {
            parser,
            known: KnownTemplates::new(settings.template_ttl, settings.max_exporters),
            direct: 0,
            direct_enabled: true,
            scratch: Vec::new(),
            sequences: SequenceTracker::new(settings.max_exporters.max(1)),
            options: HashMap::new(),
            v9_names: NameCache::default(),
            ipfix_names: NameCache::default(),
            v5_names: None,
            build: EventBuilder::default(),
            meters: FlowMeters::new("netflow"),
        })
    }

    /// The export streams heard so far and their sequence figures (gaps, lost, late,
    /// restarts), per exporter.
    pub fn streams(&self) -> Vec<(StreamKey, StreamStats)> {
        self.sequences.streams()
    }

    /// Decode one datagram from `peer`, appending an event per flow record to `out` (and one
    /// event keeping the datagram raw when it was malformed).
    pub fn decode(
        &mut self,
        datagram: &[u8],
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> DatagramReport {
        let header = match Header::peek(datagram) {
            Ok(h) => h,
            Err(e) => return self.reject(datagram, peer, received, ctx, e, out),
        };
        let key = StreamKey {
            exporter: peer,
            version: header.version,
            domain: header.domain,
        };
        let increment = match header.version {
            5 => Some(header.count),
            9 => Some(1),
            _ => None,
        };
        if self
            .sequences
            .is_restart(&key, header.seq, header.uptime, increment)
        {
            self.forget_exporter(peer, &header);
        }
        let before = out.len();
        let message = &datagram[..header.length];
        let stream = (peer, header.version, header.domain);
        let mut data_records = 0u32;
        let mut error = None;
        match self
            .direct_enabled
            .then(|| data_start(&header, message))
            .flatten()
        {
            // Templates first (or none), then data sets only: the parser reads the templates,
            // and the data sets are read from them when every one is known.
            Some(start) => {
                let hl = header_len(header.version);
                if start > hl {
                    data_records += self.parse_part(
                        &header,
                        message,
                        hl..start,
                        peer,
                        received,
                        ctx,
                        out,
                        &mut error,
                    );
                }
                if self.known.covers(stream, message, start) {
                    self.direct += 1;
                    data_records +=
                        self.known_events(message, start, &header, peer, received, ctx, out);
                } else {
                    data_records += self.parse_part(
                        &header,
                        message,
                        start..message.len(),
                        peer,
                        received,
                        ctx,
                        out,
                        &mut error,
                    );
                }
            }
            None => {
                let result = self.parser.parse_from_source(peer, datagram);
                data_records +=
                    self.parsed_events(&result, &header, message, peer, received, ctx, out);
                error = result.error;
            }
        }
        let records = out.len() - before;
        let increment = increment.unwrap_or(data_records);
        let outcome =
            self.sequences
                .observe(key, header.seq, header.uptime, increment, records as u64);
        self.meters.sequence(outcome, header.version, peer);
        let mut report = DatagramReport {
            records,
            error: None,
            sequence: Some(outcome),
        };
        if let Some(e) = error {
            let e = classify(&e);
            let kept = self.reject(datagram, peer, received, ctx, e, out);
            report.error = kept.error;
        }
        report
    }

    /// Drop what the decoder knows of an exporter that started over.
    fn forget_exporter(&mut self, peer: SocketAddr, header: &Header) {
        match header.version {
            9 => {
                self.parser.remove_v9_source(&V9SourceKey {
                    addr: peer,
                    source_id: header.domain,
                });
            }
            10 => {
                self.parser.remove_ipfix_source(&IpfixSourceKey {
                    addr: peer,
                    observation_domain_id: header.domain,
                });
            }
            _ => {}
        }
        self.known
            .forget_stream((peer, header.version, header.domain));
        self.options.remove(&(peer, header.domain));
    }

    /// Events of what the parser made of (part of) a datagram; returns its data records.
    /// `message` is what it was given: its templates and withdrawals are learned here.
    #[allow(clippy::too_many_arguments)]
    fn parsed_events(
        &mut self,
        result: &netflow_parser::ParseResult,
        header: &Header,
        message: &[u8],
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> u32 {
        if header.version == 10 {
            // The parser acts on withdrawals without reporting them.
            let stream = (peer, header.version, header.domain);
            for id in crate::flow::templates::ipfix_withdrawals(message) {
                match id {
                    2 => self.known.forget_stream(stream),
                    id => self.known.forget(stream, id),
                }
            }
        }
        let mut n = 0;
        for packet in &result.packets {
            n += self.packet_events(packet, peer, received, ctx, out);
        }
        n
    }

    /// Give the parser the header of `message` and its sets in `sets` (a byte range after
    /// the header), as a message of its own; returns its data records and keeps its error.
    #[allow(clippy::too_many_arguments)]
    fn parse_part(
        &mut self,
        header: &Header,
        message: &[u8],
        sets: std::ops::Range<usize>,
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
        error: &mut Option<NetflowError>,
    ) -> u32 {
        let hl = header_len(header.version);
        let mut part = std::mem::take(&mut self.scratch);
        part.clear();
        part.extend_from_slice(&message[..hl]);
        part.extend_from_slice(&message[sets]);
        if header.version == 10 {
            // The IPFIX header carries the message length; a part is shorter than the whole.
            let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
            part[2..4].copy_from_slice(&len.to_be_bytes());
        }
        let result = self.parser.parse_from_source(peer, &part);
        let n = self.parsed_events(&result, header, &part, peer, received, ctx, out);
        if error.is_none() {
            *error = result.error;
        }
        self.scratch = part;
        n
    }

    /// The event of a v9 (`version` 9) or IPFIX (10) record whose times are settled.
    #[inline]
    fn flow_event(
        &mut self,
        rec: FlowRecord,
        ctx: &FlowContext,
        received: Timestamp,
        peer: SocketAddr,
        version: u16,
    ) -> Event {
        let observer = Some(peer.ip());
        rec.finish(
            &mut self.build,
            ctx,
            received,
            Some(peer),
            observer,
            "netflow_flow",
            version,
        )
    }

    /// Keep a datagram that could not be (fully) read as an event with its error, and count it.
    fn reject(
        &mut self,
        datagram: &[u8],
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        error: FlowError,
        out: &mut Vec<Event>,
    ) -> DatagramReport {
        self.meters.error(&error);
        out.push(crate::flow::error_event(
            datagram, peer, received, ctx, &error,
        ));
        DatagramReport {
            records: 0,
            error: Some(error),
            sequence: None,
        }
    }
}

#[cfg(test)]
mod tests;
