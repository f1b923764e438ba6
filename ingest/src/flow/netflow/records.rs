//! Records to events: parsed v5, v9 and IPFIX packets, and data sets read straight from
//! known templates; the templates the parser reports are learned here.

use std::net::{IpAddr, SocketAddr};

use netflow_parser::NetflowPacket;
use netflow_parser::static_versions::v5::V5;
use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
use netflow_parser::variable_versions::ipfix::IPFix;
use netflow_parser::variable_versions::ipfix::Template as IpfixTemplate;
use netflow_parser::variable_versions::ipfix::lookup::IPFixField;
use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
use netflow_parser::variable_versions::v9::Template as V9Template;
use netflow_parser::variable_versions::v9::V9;
use onewall_model::{Event, Timestamp, Value};

use super::NetflowDecoder;
use super::header::{Header, Sets};
use super::mapping::{Times, apply, iana_element, learn_option};
use super::names::{ipfix_element, ipfix_name, v5_names, v9_element, v9_name};
use super::values::{FieldRead, to_value};
use crate::flow::FlowError;
use crate::flow::record::{FlowContext, FlowRecord};
use crate::flow::templates::{KnownField, read_field};

impl NetflowDecoder {
    /// Events of the data sets of `message` from offset `at`, every one with a known
    /// template, read from their bytes as the parser would; returns the data records. A
    /// record that does not read whole ends its set, as in the parser.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn known_events(
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
            while body.len() >= min_len && in_set < crate::flow::templates::MAX_RECORDS_PER_SET {
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

    /// Events of one parsed packet; returns its data records (the IPFIX sequence unit).
    pub(super) fn packet_events(
        &mut self,
        packet: &NetflowPacket,
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> u32 {
        match packet {
            NetflowPacket::V5(v5) => self.v5_events(v5, peer, received, ctx, out),
            NetflowPacket::V9(v9) => self.v9_events(v9, peer, received, ctx, out),
            NetflowPacket::IPFix(ipfix) => self.ipfix_events(ipfix, peer, received, ctx, out),
            // NetFlow v7 (Catalyst switches) is parsed by the library but not exported by
            // anything we collect from; its datagrams are counted, not turned into events.
            _ => {
                self.meters.error(&FlowError::UnsupportedVersion(7));
                0
            }
        }
    }

    /// Events of a NetFlow v5 packet: one per record, every record a flow.
    fn v5_events(
        &mut self,
        v5: &V5,
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> u32 {
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

    /// Events of a NetFlow v9 packet's data records; its templates and options are learned.
    fn v9_events(
        &mut self,
        v9: &V9,
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> u32 {
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
                            let (id, element) = self.v9_names.get(pos, *f, v9_name, v9_element);
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

    /// Events of an IPFIX message's data records; its templates, withdrawals and options are
    /// learned. Options records count as data records (the IPFIX sequence unit).
    fn ipfix_events(
        &mut self,
        ipfix: &IPFix,
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> u32 {
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
}
