//! NetFlow v5, v9 and IPFIX datagrams to events, through `netflow_parser`'s
//! [`AutoScopedParser`]: templates are kept per exporter (address plus v9 source id or IPFIX
//! observation domain), data that arrives before its template waits for it, enterprise
//! fields are kept.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
use netflow_parser::variable_versions::ipfix::Template as IpfixTemplate;
use netflow_parser::variable_versions::ipfix::lookup::{IANAIPFixField, IPFixField};
use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
use netflow_parser::variable_versions::v9::Template as V9Template;
use netflow_parser::{
    AutoScopedParser, DataNumber, FieldValue, IpfixSourceKey, NetflowError, NetflowPacket,
    NetflowParser, PendingFlowsConfig, TtlConfig, V9Field, V9SourceKey,
};
use onewall_model::hash::FxMap;
use onewall_model::{Event, FieldId, Timestamp, Value};

use super::record::{EventBuilder, FlowContext, FlowRecord};
use super::sequence::{SequenceOutcome, SequenceTracker, StreamKey, StreamStats};
use super::templates::{KnownField, KnownTemplates, Read, read_field};
use super::{FlowError, FlowMeters};

/// Seconds between 1900 (NTP) and 1970 (Unix).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

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

/// Per-exporter state learned from options data: the sampling rate and the exporter's boot
/// time (IPFIX `systemInitTimeMilliseconds`).
#[derive(Debug, Clone, Copy, Default)]
struct ExporterOptions {
    sampling: Option<u32>,
    init_ms: Option<i64>,
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

/// The field ids of a protocol's elements, interned once per decoder.
///
/// Records of one template list the same elements in the same order, so the ids of the
/// previous record, by position, answer nearly every lookup with one comparison; the map
/// answers the rest (a new template, or several templates interleaved).
#[derive(Debug)]
struct NameCache<K> {
    /// Keyed by small field enums from a fixed set of names, not chosen by senders, and
    /// looked up once per field of every record: [`FxMap`], not SipHash.
    map: FxMap<K, Option<FieldId>>,
    /// The previous record's elements by position: the element, its id, and its IANA
    /// element number for [`apply`] (0 when it has none).
    last: Vec<(K, Option<FieldId>, u16)>,
}

impl<K> Default for NameCache<K> {
    fn default() -> Self {
        NameCache {
            map: FxMap::default(),
            last: Vec::new(),
        }
    }
}

impl<K: Copy + Eq + std::hash::Hash> NameCache<K> {
    /// The id of `key`, interned by `name` the first time.
    fn id(&mut self, key: K, name: impl FnOnce(K) -> Option<FieldId>) -> Option<FieldId> {
        *self.map.entry(key).or_insert_with(|| name(key))
    }

    /// The id and element number of `key`, the `pos`-th field of its record. `name` interns
    /// its name, `element` gives its number; both run once per element per decoder.
    #[inline]
    fn get(
        &mut self,
        pos: usize,
        key: K,
        name: impl FnOnce(K) -> Option<FieldId>,
        element: impl FnOnce(K) -> u16,
    ) -> (Option<FieldId>, u16) {
        if let Some(&(k, id, el)) = self.last.get(pos)
            && k == key
        {
            return (id, el);
        }
        let id = *self.map.entry(key).or_insert_with(|| name(key));
        let el = element(key);
        if pos < self.last.len() {
            self.last[pos] = (key, id, el);
        } else if pos == self.last.len() {
            self.last.push((key, id, el));
        }
        (id, el)
    }
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
            for id in super::templates::ipfix_withdrawals(message) {
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

    /// Events of the data sets of `message` from offset `at`, every one with a known
    /// template, read from their bytes as the parser would; returns the data records. A
    /// record that does not read whole ends its set, as in the parser.
    #[allow(clippy::too_many_arguments)]
    fn known_events(
        &mut self,
        message: &[u8],
        start: usize,
        header: &Header,
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> u32 {
        let stream = (peer, header.version, header.domain);
        let export_ms = i64::from(header.export_secs) * 1000;
        let opts = self
            .options
            .get(&(peer, header.domain))
            .copied()
            .unwrap_or_default();
        let mut n = 0;
        for (at, id, len) in Sets::new(message, start) {
            let Some(template) = self.known.get(stream, id) else {
                break;
            };
            let (fields, min_len, distinct) = (
                std::sync::Arc::clone(&template.fields),
                template.min_len,
                template.distinct,
            );
            let mut body = &message[at + 4..at + len];
            let mut in_set = 0;
            while body.len() >= min_len && in_set < super::templates::MAX_RECORDS_PER_SET {
                let mut rec = FlowRecord {
                    export_ms: Some(export_ms),
                    ..FlowRecord::default()
                };
                let mut times = Times::default();
                self.build.begin_direct(fields.len());
                let mut rest = body;
                let mut whole = true;
                for f in fields.iter() {
                    let Some((v, r)) = read_field(rest, f.data_type, f.length) else {
                        whole = false;
                        break;
                    };
                    rest = r;
                    if f.element != 0 {
                        apply(f.element, &v, &mut rec, &mut times);
                    }
                    if let Some(id) = f.id {
                        self.build.push_direct(id, v.value(), distinct);
                    }
                }
                if !whole || rest.len() == body.len() {
                    break;
                }
                body = rest;
                n += 1;
                in_set += 1;
                let uptime = header.uptime.unwrap_or(0);
                times.settle(&mut rec, header.version, export_ms, uptime, opts);
                out.push(self.flow_event(rec, ctx, received, peer, header.version));
            }
        }
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

    /// Remember a v9 data template the parser reported.
    fn learn_v9(&mut self, stream: (SocketAddr, u16, u32), t: &V9Template) {
        let fields = t
            .fields
            .iter()
            .map(|f| KnownField {
                data_type: f.field_type.into(),
                length: f.field_length,
                id: self.v9_names.id(f.field_type, v9_name),
                element: v9_element(f.field_type),
            })
            .collect();
        self.known.learn(stream, t.template_id, fields);
    }

    /// Remember an IPFIX data template the parser reported, or follow its withdrawal (no
    /// fields; template id 2 withdraws them all).
    fn learn_ipfix(&mut self, stream: (SocketAddr, u16, u32), t: &IpfixTemplate) {
        if t.fields.is_empty() && t.template_id == 2 {
            self.known.forget_stream(stream);
            return;
        }
        let fields = t
            .fields
            .iter()
            .map(|f| KnownField {
                data_type: f.field_type.into(),
                length: f.field_length,
                id: self.ipfix_names.id(f.field_type, ipfix_name),
                element: ipfix_element(f.field_type),
            })
            .collect();
        self.known.learn(stream, t.template_id, fields);
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
        out.push(super::error_event(datagram, peer, received, ctx, &error));
        DatagramReport {
            records: 0,
            error: Some(error),
            sequence: None,
        }
    }

    /// Events of one parsed packet; returns its data records (the IPFIX sequence unit).
    fn packet_events(
        &mut self,
        packet: &NetflowPacket,
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> u32 {
        match packet {
            NetflowPacket::V5(v5) => {
                let h = &v5.header;
                let export_ms = i64::from(h.unix_secs) * 1000 + i64::from(h.unix_nsecs / 1_000_000);
                let rate = u32::from(h.sampling_interval & 0x3fff).max(1);
                let names = *self.v5_names.get_or_insert_with(v5_names);
                for f in &v5.flowsets {
                    let age = |t: u32| i64::from(h.sys_up_time.wrapping_sub(t) as i32);
                    let rec = FlowRecord {
                        src_ip: Some(IpAddr::V4(f.src_addr)),
                        dst_ip: Some(IpAddr::V4(f.dst_addr)),
                        src_port: Some(f.src_port),
                        dst_port: Some(f.dst_port),
                        protocol: Some(f.protocol_number),
                        bytes: Some(u64::from(f.d_octets)),
                        packets: Some(u64::from(f.d_pkts)),
                        start_ms: Some(export_ms - age(f.first)),
                        end_ms: Some(export_ms - age(f.last)),
                        export_ms: Some(export_ms),
                        tcp_flags: Some(u16::from(f.tcp_flags)),
                        sampling_rate: rate,
                    };
                    self.build.begin();
                    self.build.raw.extend([
                        (names[0], Value::Ip(IpAddr::V4(f.next_hop))),
                        (names[1], Value::Int(i64::from(f.input))),
                        (names[2], Value::Int(i64::from(f.output))),
                        (names[3], Value::Int(i64::from(f.d_octets))),
                        (names[4], Value::Int(i64::from(f.d_pkts))),
                        (names[5], Value::Int(i64::from(f.first))),
                        (names[6], Value::Int(i64::from(f.last))),
                        (names[7], Value::Int(i64::from(f.tos))),
                        (names[8], Value::Int(i64::from(f.src_as))),
                        (names[9], Value::Int(i64::from(f.dst_as))),
                        (names[10], Value::Int(i64::from(f.src_mask))),
                        (names[11], Value::Int(i64::from(f.dst_mask))),
                        (names[12], Value::Int(i64::from(h.sys_up_time))),
                    ]);
                    out.push(self.flow_event(rec, ctx, received, peer, 5));
                }
                v5.flowsets.len() as u32
            }
            NetflowPacket::V9(v9) => {
                let h = &v9.header;
                let export_ms = i64::from(h.unix_secs) * 1000;
                let scope = (peer, h.source_id);
                let stream = (peer, 9, h.source_id);
                let mut n = 0;
                for fs in &v9.flowsets {
                    match &fs.body {
                        V9Body::Template(ts) => {
                            for t in &ts.templates {
                                self.learn_v9(stream, t);
                            }
                        }
                        V9Body::OptionsTemplate(ts) => {
                            for t in &ts.templates {
                                self.known.forget(stream, t.template_id);
                            }
                        }
                        V9Body::OptionsData(od) => {
                            for rec in &od.fields {
                                let opts = self.options.entry(scope).or_default();
                                for (f, v) in &rec.options_fields {
                                    learn_option(opts, u16::from(*f), v);
                                }
                            }
                        }
                        V9Body::Data(d) => {
                            let opts = self.options.get(&scope).copied().unwrap_or_default();
                            for record in &d.fields {
                                n += 1;
                                let mut rec = FlowRecord {
                                    export_ms: Some(export_ms),
                                    ..FlowRecord::default()
                                };
                                let mut times = Times::default();
                                self.build.begin();
                                for (pos, (f, v)) in record.iter().enumerate() {
                                    let (id, element) =
                                        self.v9_names.get(pos, *f, v9_name, v9_element);
                                    if element != 0 {
                                        apply(element, v, &mut rec, &mut times);
                                    }
                                    if let Some(id) = id {
                                        self.build.raw.push((id, to_value(v)));
                                    }
                                }
                                times.settle(&mut rec, 9, export_ms, h.sys_up_time, opts);
                                out.push(self.flow_event(rec, ctx, received, peer, 9));
                            }
                        }
                        V9Body::NoTemplate(_) => self.meters.no_template.increment(1),
                        _ => {}
                    }
                }
                n
            }
            NetflowPacket::IPFix(ipfix) => {
                let h = &ipfix.header;
                let export_ms = i64::from(h.export_time) * 1000;
                let scope = (peer, h.observation_domain_id);
                let stream = (peer, 10, h.observation_domain_id);
                let mut n = 0;
                for fs in &ipfix.flowsets {
                    match &fs.body {
                        IpfixBody::Template(t) => self.learn_ipfix(stream, t),
                        IpfixBody::Templates(ts) => {
                            for t in ts {
                                self.learn_ipfix(stream, t);
                            }
                        }
                        IpfixBody::V9Template(t) => self.known.forget(stream, t.template_id),
                        IpfixBody::V9Templates(ts) => {
                            for t in ts {
                                self.known.forget(stream, t.template_id);
                            }
                        }
                        IpfixBody::OptionsTemplate(t) => self.known.forget(stream, t.template_id),
                        IpfixBody::OptionsTemplates(ts) => {
                            for t in ts {
                                self.known.forget(stream, t.template_id);
                            }
                        }
                        IpfixBody::V9OptionsTemplate(t) => self.known.forget(stream, t.template_id),
                        IpfixBody::V9OptionsTemplates(ts) => {
                            for t in ts {
                                self.known.forget(stream, t.template_id);
                            }
                        }
                        IpfixBody::OptionsData(od) => {
                            for rec in &od.fields {
                                n += 1;
                                let opts = self.options.entry(scope).or_default();
                                for (f, v) in rec {
                                    if let IPFixField::IANA(e) = f {
                                        learn_option(opts, iana_element(*e), v);
                                    }
                                }
                            }
                        }
                        IpfixBody::Data(d) => {
                            let opts = self.options.get(&scope).copied().unwrap_or_default();
                            for record in &d.fields {
                                n += 1;
                                let mut rec = FlowRecord {
                                    export_ms: Some(export_ms),
                                    ..FlowRecord::default()
                                };
                                let mut times = Times::default();
                                self.build.begin();
                                for (pos, (f, v)) in record.iter().enumerate() {
                                    let (id, element) =
                                        self.ipfix_names.get(pos, *f, ipfix_name, ipfix_element);
                                    if element != 0 {
                                        apply(element, v, &mut rec, &mut times);
                                    }
                                    if let Some(id) = id {
                                        self.build.raw.push((id, to_value(v)));
                                    }
                                }
                                times.settle(&mut rec, 10, export_ms, 0, opts);
                                out.push(self.flow_event(rec, ctx, received, peer, 10));
                            }
                        }
                        IpfixBody::NoTemplate(_) => self.meters.no_template.increment(1),
                        _ => {}
                    }
                }
                n
            }
            // NetFlow v7 (Catalyst switches) is parsed by the library but not exported by
            // anything we collect from; its datagrams are counted, not turned into events.
            _ => {
                self.meters.error(&FlowError::UnsupportedVersion(7));
                0
            }
        }
    }
}

/// The fixed header's length: 20 bytes for v9, 16 for IPFIX.
fn header_len(version: u16) -> usize {
    if version == 9 { 20 } else { 16 }
}

/// Where the data sets of a v9 or IPFIX message start, when it is template and options
/// template sets (or none) followed by data sets only; `None` for anything else (a template
/// after data, a reserved set id, no data), which the parser takes whole.
fn data_start(header: &Header, message: &[u8]) -> Option<usize> {
    let template = match header.version {
        9 => |id: u16| id <= 1,
        10 => |id: u16| id == 2 || id == 3,
        _ => return None,
    };
    let mut start = None;
    for (at, id, len) in Sets::new(message, header_len(header.version)) {
        if len < 4 {
            return None;
        }
        if id >= 256 {
            start.get_or_insert(at);
        } else if !(template(id) && start.is_none()) {
            return None;
        }
    }
    start
}

/// The fixed header fields the sequence accounting needs, read before the datagram is parsed.
#[derive(Debug, Clone, Copy)]
struct Header {
    version: u16,
    /// The message's length: the datagram's, or IPFIX's own length field.
    length: usize,
    /// The export time (v5, v9 `unix_secs`; IPFIX `export_time`).
    export_secs: u32,
    count: u32,
    seq: u32,
    uptime: Option<u32>,
    domain: u32,
}

impl Header {
    fn peek(d: &[u8]) -> Result<Header, FlowError> {
        let u16_at = |i: usize| d.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let u32_at = |i: usize| {
            d.get(i..i + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let version = u16_at(0).ok_or_else(|| FlowError::Truncated {
            what: "netflow version".to_owned(),
            len: d.len(),
        })?;
        let truncated = |what: &str| FlowError::Truncated {
            what: what.to_owned(),
            len: d.len(),
        };
        match version {
            5 => Ok(Header {
                version,
                length: d.len(),
                export_secs: u32_at(8).ok_or_else(|| truncated("netflow v5 header"))?,
                count: u32::from(u16_at(2).ok_or_else(|| truncated("netflow v5 header"))?),
                uptime: Some(u32_at(4).ok_or_else(|| truncated("netflow v5 header"))?),
                seq: u32_at(16).ok_or_else(|| truncated("netflow v5 header"))?,
                domain: 0,
            }),
            9 => Ok(Header {
                version,
                length: d.len(),
                export_secs: u32_at(8).ok_or_else(|| truncated("netflow v9 header"))?,
                count: u32::from(u16_at(2).ok_or_else(|| truncated("netflow v9 header"))?),
                uptime: Some(u32_at(4).ok_or_else(|| truncated("netflow v9 header"))?),
                seq: u32_at(12).ok_or_else(|| truncated("netflow v9 header"))?,
                domain: u32_at(16).ok_or_else(|| truncated("netflow v9 header"))?,
            })
            .and_then(|h| check_sets(d, 20, "netflow v9 flowset").map(|()| h)),
            10 => {
                let length = usize::from(u16_at(2).unwrap_or(0));
                let header = Header {
                    version,
                    length,
                    export_secs: u32_at(4).ok_or_else(|| truncated("ipfix header"))?,
                    count: 0,
                    uptime: None,
                    seq: u32_at(8).ok_or_else(|| truncated("ipfix header"))?,
                    domain: u32_at(12).ok_or_else(|| truncated("ipfix header"))?,
                };
                if length > d.len() {
                    return Err(truncated(&format!("ipfix message of {length} bytes")));
                }
                if length < 16 {
                    return Err(FlowError::Malformed(format!(
                        "ipfix message length {length} is shorter than its header"
                    )));
                }
                check_sets(&d[..length], 16, "ipfix set")?;
                Ok(header)
            }
            v => Err(FlowError::UnsupportedVersion(v)),
        }
    }
}

/// The set headers (IPFIX sets, v9 flowsets) of a message from an offset: `(offset, id,
/// announced length)` while a 4-byte header fits. A set announcing less than its own header
/// is the last one given (the walk cannot go on from it); whether a set ends inside the
/// message is for the caller to check.
pub(super) struct Sets<'a> {
    message: &'a [u8],
    at: usize,
}

impl<'a> Sets<'a> {
    pub(super) fn new(message: &'a [u8], at: usize) -> Self {
        Sets { message, at }
    }
}

impl Iterator for Sets<'_> {
    type Item = (usize, u16, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let (m, at) = (self.message, self.at);
        let h = m.get(at..at.checked_add(4)?)?;
        let id = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        self.at = if len < 4 { m.len() } else { at + len };
        Some((at, id, len))
    }
}

/// Walk the sets (IPFIX) or flowsets (v9) from `at`: each must announce at least its own
/// 4-byte header and end inside the message. The parser skips such sets silently; here they
/// are an error the datagram is kept with.
fn check_sets(msg: &[u8], at: usize, what: &str) -> Result<(), FlowError> {
    for (at, id, len) in Sets::new(msg, at) {
        if len < 4 || at + len > msg.len() {
            return Err(FlowError::Malformed(format!(
                "{what} {id} at offset {at} announces {len} bytes; the message has {} after it",
                msg.len() - at
            )));
        }
    }
    Ok(())
}

/// The time fields of a v9 or IPFIX record, before they are resolved to epoch milliseconds.
#[derive(Debug, Default)]
struct Times {
    start_up: Option<u32>,
    end_up: Option<u32>,
    start_abs: Option<i64>,
    end_abs: Option<i64>,
    start_delta_us: Option<u64>,
    end_delta_us: Option<u64>,
    init_ms: Option<i64>,
    sampling: Option<u32>,
}

impl Times {
    /// Resolve the record's times and sampling rate as exported by `version` (9: relative to
    /// the header's `sys_up_time`; 10: IPFIX, which has none), with what the stream's options
    /// data said (the IPFIX init time, the sampling rate).
    #[inline]
    fn settle(
        &mut self,
        rec: &mut FlowRecord,
        version: u16,
        export_ms: i64,
        sys_up_time: u32,
        opts: ExporterOptions,
    ) {
        if version == 9 {
            self.resolve_uptime(rec, export_ms, sys_up_time);
        } else {
            self.init_ms = self.init_ms.or(opts.init_ms);
            self.resolve_ipfix(rec, export_ms);
        }
        rec.sampling_rate = self.sampling.or(opts.sampling).unwrap_or(1);
    }

    /// NetFlow v9: uptime-relative switched times, or absolute ones when the template has them.
    fn resolve_uptime(&self, rec: &mut FlowRecord, export_ms: i64, sys_up_time: u32) {
        let age = |t: u32| i64::from(sys_up_time.wrapping_sub(t) as i32);
        rec.start_ms = self.start_abs.or(self.start_up.map(|t| export_ms - age(t)));
        rec.end_ms = self.end_abs.or(self.end_up.map(|t| export_ms - age(t)));
    }

    /// IPFIX: absolute times, else uptime relative to the exporter's init time, else a delta
    /// before the export time.
    fn resolve_ipfix(&self, rec: &mut FlowRecord, export_ms: i64) {
        let from_uptime = |t: u32| {
            self.init_ms.map(|init| {
                let unsigned = init + i64::from(t);
                // An uptime past the export time by more than a day was a negative offset
                // written unsigned (softflowd does this for flows read from a capture file).
                if unsigned > export_ms + 86_400_000 {
                    init + i64::from(t as i32)
                } else {
                    unsigned
                }
            })
        };
        let from_delta = |us: u64| export_ms - i64::try_from(us / 1000).unwrap_or(i64::MAX);
        rec.start_ms = self
            .start_abs
            .or_else(|| self.start_up.and_then(from_uptime))
            .or_else(|| self.start_delta_us.map(from_delta));
        rec.end_ms = self
            .end_abs
            .or_else(|| self.end_up.and_then(from_uptime))
            .or_else(|| self.end_delta_us.map(from_delta));
    }
}

/// A field's value as the decoder reads it: from the parser ([`FieldValue`]) or from a known
/// template ([`Read`]); both give the same answers for the same bytes.
pub(crate) trait FieldRead {
    /// As a number: integers, durations in milliseconds, protocol and flag values.
    fn number(&self) -> Option<u64>;
    fn ip(&self) -> Option<IpAddr>;
    /// As an absolute time in Unix milliseconds.
    fn epoch_ms(&self) -> Option<i64>;
    /// As an event value, losing nothing.
    fn value(&self) -> Value;
}

impl FieldRead for FieldValue {
    fn number(&self) -> Option<u64> {
        number(self)
    }
    fn ip(&self) -> Option<IpAddr> {
        ip(self)
    }
    fn epoch_ms(&self) -> Option<i64> {
        epoch_ms(self)
    }
    fn value(&self) -> Value {
        to_value(self)
    }
}

impl FieldRead for Read {
    #[inline]
    fn number(&self) -> Option<u64> {
        match self {
            Read::Number(n) | Read::Millis(n) => Some(*n),
            Read::Ip(_) => None,
            Read::Other(v) => number(v),
        }
    }
    #[inline]
    fn ip(&self) -> Option<IpAddr> {
        match self {
            Read::Ip(a) => Some(*a),
            Read::Other(v) => ip(v),
            _ => None,
        }
    }
    #[inline]
    fn epoch_ms(&self) -> Option<i64> {
        match self {
            Read::Number(n) | Read::Millis(n) => i64::try_from(*n).ok(),
            Read::Ip(_) => None,
            Read::Other(v) => epoch_ms(v),
        }
    }
    #[inline]
    fn value(&self) -> Value {
        match self {
            Read::Number(n) => {
                i64::try_from(*n).map_or_else(|_| Value::str(n.to_string()), Value::Int)
            }
            Read::Millis(ms) => Value::Int(i64::try_from(*ms).unwrap_or(i64::MAX)),
            Read::Ip(a) => Value::Ip(*a),
            Read::Other(v) => to_value(v),
        }
    }
}

/// Take what the normalised record needs from one field, by its IANA element id (NetFlow v9
/// field types 1–127 are the same numbers).
fn apply(element: u16, v: &impl FieldRead, rec: &mut FlowRecord, t: &mut Times) {
    match element {
        1 => rec.bytes = v.number(),
        2 => rec.packets = v.number(),
        85 if rec.bytes.is_none() => rec.bytes = v.number(),
        86 if rec.packets.is_none() => rec.packets = v.number(),
        4 => rec.protocol = v.number().and_then(|n| u8::try_from(n).ok()),
        6 => rec.tcp_flags = v.number().and_then(|n| u16::try_from(n).ok()),
        7 => rec.src_port = v.number().and_then(|n| u16::try_from(n).ok()),
        11 => rec.dst_port = v.number().and_then(|n| u16::try_from(n).ok()),
        8 | 27 => rec.src_ip = v.ip().or(rec.src_ip),
        12 | 28 => rec.dst_ip = v.ip().or(rec.dst_ip),
        21 => t.end_up = v.number().map(|n| n as u32),
        22 => t.start_up = v.number().map(|n| n as u32),
        150 | 152 | 154 | 156 => t.start_abs = v.epoch_ms(),
        151 | 153 | 155 | 157 => t.end_abs = v.epoch_ms(),
        158 => t.start_delta_us = v.number(),
        159 => t.end_delta_us = v.number(),
        160 => t.init_ms = v.epoch_ms(),
        34 | 50 | 305 => {
            t.sampling = v
                .number()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
        }
        _ => {}
    }
}

/// The element id of the IANA elements [`apply`] and [`learn_option`] read; 0 for the others.
/// (Element 0 is reserved, so 0 never names one of them.)
fn iana_element(e: IANAIPFixField) -> u16 {
    use IANAIPFixField as F;
    match e {
        F::OctetDeltaCount => 1,
        F::PacketDeltaCount => 2,
        F::ProtocolIdentifier => 4,
        F::TcpControlBits => 6,
        F::SourceTransportPort => 7,
        F::SourceIpv4address => 8,
        F::DestinationTransportPort => 11,
        F::DestinationIpv4address => 12,
        F::FlowEndSysUpTime => 21,
        F::FlowStartSysUpTime => 22,
        F::SourceIpv6address => 27,
        F::DestinationIpv6address => 28,
        F::SamplingInterval => 34,
        F::SamplerRandomInterval => 50,
        F::OctetTotalCount => 85,
        F::PacketTotalCount => 86,
        F::FlowStartSeconds => 150,
        F::FlowEndSeconds => 151,
        F::FlowStartMilliseconds => 152,
        F::FlowEndMilliseconds => 153,
        F::FlowStartMicroseconds => 154,
        F::FlowEndMicroseconds => 155,
        F::FlowStartNanoseconds => 156,
        F::FlowEndNanoseconds => 157,
        F::FlowStartDeltaMicroseconds => 158,
        F::FlowEndDeltaMicroseconds => 159,
        F::SystemInitTimeMilliseconds => 160,
        F::SamplingPacketInterval => 305,
        _ => 0,
    }
}

/// Remember an exporter-wide option (options data records).
fn learn_option(opts: &mut ExporterOptions, element: u16, v: &FieldValue) {
    match element {
        34 | 50 | 305 => {
            if let Some(n) = number(v)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
            {
                opts.sampling = Some(n);
            }
        }
        160 => opts.init_ms = epoch_ms(v).or(opts.init_ms),
        _ => {}
    }
}

fn number(v: &FieldValue) -> Option<u64> {
    match v {
        FieldValue::DataNumber(n) => n.as_u64(),
        FieldValue::Duration(d) => u64::try_from(d.as_duration().as_millis()).ok(),
        FieldValue::ProtocolType(p) => Some(u64::from(u8::from(*p))),
        FieldValue::TcpControlBits(b, _) => Some(u64::from(u16::from(*b))),
        _ => None,
    }
}

fn ip(v: &FieldValue) -> Option<IpAddr> {
    match v {
        FieldValue::Ip4Addr(a) => Some(IpAddr::V4(*a)),
        FieldValue::Ip6Addr(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

/// An absolute time field as Unix milliseconds (NTP-based ones shifted from 1900).
fn epoch_ms(v: &FieldValue) -> Option<i64> {
    use netflow_parser::variable_versions::field_value::DurationValue;
    match v {
        FieldValue::Duration(d) => {
            let dur = d.as_duration();
            let ms = match d {
                DurationValue::MicrosNtp { .. } | DurationValue::NanosNtp { .. } => dur
                    .checked_sub(Duration::from_secs(NTP_UNIX_OFFSET))?
                    .as_millis(),
                _ => dur.as_millis(),
            };
            i64::try_from(ms).ok()
        }
        FieldValue::DataNumber(n) => n.as_u64().and_then(|n| i64::try_from(n).ok()),
        _ => None,
    }
}

/// A field value as an event value, losing nothing: numbers too large for an integer and raw
/// bytes become text.
pub(crate) fn to_value(v: &FieldValue) -> Value {
    match v {
        FieldValue::DataNumber(n) => data_number(n),
        FieldValue::Float64(f) => Value::Float(*f),
        FieldValue::Duration(d) => {
            Value::Int(i64::try_from(d.as_duration().as_millis()).unwrap_or(i64::MAX))
        }
        FieldValue::Ip4Addr(a) => Value::Ip(IpAddr::V4(*a)),
        FieldValue::Ip6Addr(a) => Value::Ip(IpAddr::V6(*a)),
        FieldValue::MacAddr(b) => Value::str(super::mac(b)),
        FieldValue::String(s) => Value::str(s.value.as_str()),
        FieldValue::Vec(b) => Value::str(super::hex(b)),
        FieldValue::ProtocolType(p) => Value::Int(i64::from(u8::from(*p))),
        FieldValue::TcpControlBits(b, _) => Value::Int(i64::from(u16::from(*b))),
        // Enumerated elements keep their wire value, as exported.
        FieldValue::FlowEndReason(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::ForwardingStatus(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::FragmentFlags(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::FirewallEvent(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::IsMulticast(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::MplsLabelExp(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::MplsTopLabelType(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::NatEvent(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::NatOriginatingAddressRealm(x) => Value::Int(i64::from(u8::from(*x))),
        FieldValue::Ipv4Options(x) => Value::Int(i64::from(u32::from(*x))),
        FieldValue::Ipv6ExtensionHeaders(x) => Value::Int(i64::from(u32::from(*x))),
        FieldValue::TcpOptions(x) => {
            let n = u64::from(*x);
            i64::try_from(n).map_or_else(|_| Value::str(n.to_string()), Value::Int)
        }
        other => Value::str(inner_debug(other)),
    }
}

fn data_number(n: &DataNumber) -> Value {
    match n {
        DataNumber::U8(x) => Value::Int(i64::from(*x)),
        DataNumber::I8(x) => Value::Int(i64::from(*x)),
        DataNumber::U16(x) => Value::Int(i64::from(*x)),
        DataNumber::I16(x) => Value::Int(i64::from(*x)),
        DataNumber::U24(x) | DataNumber::U32(x) => Value::Int(i64::from(*x)),
        DataNumber::I24(x) | DataNumber::I32(x) => Value::Int(i64::from(*x)),
        DataNumber::U64(x) => {
            i64::try_from(*x).map_or_else(|_| Value::str(x.to_string()), Value::Int)
        }
        DataNumber::I64(x) => Value::Int(*x),
        DataNumber::U128(x) => {
            i64::try_from(*x).map_or_else(|_| Value::str(x.to_string()), Value::Int)
        }
        DataNumber::I128(x) => {
            i64::try_from(*x).map_or_else(|_| Value::str(x.to_string()), Value::Int)
        }
        DataNumber::Vec(b) => Value::str(super::hex(b)),
    }
}

/// `FlowEndReason(IdleTimeout)` → `IdleTimeout`.
fn inner_debug(v: &FieldValue) -> String {
    let s = format!("{v:?}");
    match (s.find('('), s.ends_with(')')) {
        (Some(i), true) => s[i + 1..s.len() - 1].to_owned(),
        _ => s,
    }
}

fn v9_name(f: V9Field) -> Option<FieldId> {
    FieldId::intern(&format!("netflow.{}", snake(&format!("{f:?}"))))
}

fn ipfix_name(f: IPFixField) -> Option<FieldId> {
    let name = match f {
        IPFixField::IANA(e) => snake(&format!("{e:?}")),
        IPFixField::Enterprise {
            enterprise_number,
            field_number,
        } => format!("enterprise_{enterprise_number}_{field_number}"),
        other => snake(&format!("{other:?}")),
    };
    FieldId::intern(&format!("netflow.{name}"))
}

/// The element number [`apply`] reads a v9 field by (the v9 field types it reads are the
/// IANA numbers); 0 for the fields it does not read.
fn v9_element(f: V9Field) -> u16 {
    let n = u16::from(f);
    if iana_element(IANAIPFixField::from(n)) == n {
        n
    } else {
        0
    }
}

/// The IANA element number [`apply`] reads an IPFIX field by; 0 for enterprise fields.
fn ipfix_element(f: IPFixField) -> u16 {
    match f {
        IPFixField::IANA(e) => iana_element(e),
        _ => 0,
    }
}

/// `SourceIpv4address` → `source_ipv4address`, `Cisco(AppName)` → `cisco_app_name`,
/// `Unknown(300)` → `unknown_300`.
pub(crate) fn snake(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len() + 8);
    let mut prev_lower = false;
    for c in debug.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = true;
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

fn v5_names() -> [FieldId; 13] {
    const NAMES: [&str; 13] = [
        "netflow.next_hop",
        "netflow.input",
        "netflow.output",
        "netflow.d_octets",
        "netflow.d_pkts",
        "netflow.first",
        "netflow.last",
        "netflow.tos",
        "netflow.src_as",
        "netflow.dst_as",
        "netflow.src_mask",
        "netflow.dst_mask",
        "netflow.sys_up_time",
    ];
    // Interned on the first v5 datagram, long before the interner's cap could be reached.
    #[allow(clippy::expect_used)]
    NAMES.map(|n| FieldId::intern(n).expect("field interner has room"))
}

/// The kind of a parser error, for the metric and the event's error text.
fn classify(e: &NetflowError) -> FlowError {
    match e {
        NetflowError::Incomplete { available, context } => FlowError::Truncated {
            what: context.clone(),
            len: *available,
        },
        NetflowError::UnsupportedVersion { version, .. } => FlowError::UnsupportedVersion(*version),
        NetflowError::FilteredVersion { version } => FlowError::UnsupportedVersion(*version),
        NetflowError::DecodedOutputLimitExceeded { .. } => FlowError::TooLarge(e.to_string()),
        other => FlowError::Malformed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        assert_eq!(snake("SourceIpv4address"), "source_ipv4address");
        assert_eq!(snake("Ipv4SrcAddr"), "ipv4_src_addr");
        assert_eq!(snake("Unknown(300)"), "unknown_300");
        assert_eq!(snake("Cisco(AppName)"), "cisco_app_name");
        assert_eq!(snake("InBytes"), "in_bytes");
    }

    /// Every export in the shared corpus gives the same events whether its data datagrams
    /// are read from the known templates or by the parser.
    #[test]
    fn known_templates_read_what_the_parser_reads() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus/flows/dgrams");
        let ctx = FlowContext {
            collector: "netflow".into(),
            region: onewall_model::RegionCode::HENAN,
            department: None,
        };
        let peer: SocketAddr = "192.0.2.7:2055".parse().expect("addr");
        let received = Timestamp::from_secs(1_700_000_000);
        for exporter in [
            "softflowd_v9",
            "softflowd_v10",
            "pmacct_ipfix",
            "nfreplay_v9",
        ] {
            let dir = root.join(exporter);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("entry").path())
                .collect();
            files.sort();
            let settings = NetflowSettings::default();
            let mut direct = NetflowDecoder::new(settings).expect("decoder");
            let mut parsed = NetflowDecoder::new(settings).expect("decoder");
            parsed.direct_enabled = false;
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for f in &files {
                let d = std::fs::read(f).expect("datagram");
                let ra = direct.decode(&d, peer, received, &ctx, &mut a);
                let rb = parsed.decode(&d, peer, received, &ctx, &mut b);
                assert_eq!(ra, rb, "{exporter} {}", f.display());
            }
            assert!(
                direct.direct > 0 && parsed.direct == 0,
                "{exporter}: {} datagrams read directly",
                direct.direct
            );
            assert!(!a.is_empty());
            assert_eq!(a.len(), b.len(), "{exporter}");
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.fields, y.fields, "{exporter}");
                assert_eq!((x.time, &x.raw), (y.time, &y.raw), "{exporter}");
            }
        }
    }

    /// An IPFIX message: header (sequence `seq`) and the given sets.
    fn ipfix(seq: u32, sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut m = vec![0, 10, 0, 0];
        m.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&7u32.to_be_bytes());
        for (id, body) in sets {
            m.extend_from_slice(&id.to_be_bytes());
            m.extend_from_slice(&u16::try_from(body.len() + 4).expect("set").to_be_bytes());
            m.extend_from_slice(body);
        }
        let len = u16::try_from(m.len()).expect("message");
        m[2..4].copy_from_slice(&len.to_be_bytes());
        m
    }

    /// A data set holds at most as many records as the parser reads from one; both paths stop
    /// at the same place.
    #[test]
    fn a_set_gives_no_more_records_than_the_parser_reads() {
        let ctx = FlowContext {
            collector: "netflow".into(),
            region: onewall_model::RegionCode::HENAN,
            department: None,
        };
        let peer: SocketAddr = "192.0.2.9:4739".parse().expect("addr");
        // Template 300: protocolIdentifier (4), one byte.
        let template = ipfix(0, &[(2, vec![1, 44, 0, 1, 0, 4, 0, 1])]);
        let data = ipfix(1, &[(300, vec![6; 3000])]);
        let mut counts = Vec::new();
        for direct in [true, false] {
            let mut d = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
            d.direct_enabled = direct;
            let mut out = Vec::new();
            d.decode(&template, peer, Timestamp::now(), &ctx, &mut out);
            let r = d.decode(&data, peer, Timestamp::now(), &ctx, &mut out);
            assert_eq!(r.error, None);
            assert_eq!(d.direct, u64::from(direct));
            counts.push(r.records);
        }
        assert_eq!(
            counts,
            vec![super::super::templates::MAX_RECORDS_PER_SET; 2]
        );
    }

    #[test]
    fn header_peek_names_what_is_short() {
        let e = Header::peek(&[0, 9, 0, 1]).expect_err("short");
        assert!(e.to_string().contains("netflow v9 header"), "{e}");
        assert!(matches!(
            Header::peek(&[0, 77]),
            Err(FlowError::UnsupportedVersion(77))
        ));
        assert!(matches!(
            Header::peek(&[0]),
            Err(FlowError::Truncated { .. })
        ));
    }
}
