//! sFlow v5 datagrams to events, through `flowparser-sflow`: one event per flow sample. The
//! sampled packet's header (Ethernet, IPv4 or IPv6, then TCP, UDP or SCTP) gives addresses,
//! ports, protocol and flags; the frame length times the sampling rate gives the bytes.
//! Counter samples carry no flow and are not events.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use flowparser_sflow::flow_records::raw_packet_header::RawPacketHeader;
use flowparser_sflow::{
    AddressType, FlowRecord as SflowRecord, SflowError, SflowParser, SflowSample,
};
use onewall_model::{Event, FieldId, Timestamp, Value};

use super::netflow::DatagramReport;
use super::record::{EventBuilder, FlowContext, FlowRecord};
use super::sequence::{SequenceTracker, StreamKey, StreamStats};
use super::{FlowError, FlowMeters};

/// The sequence-key version of sFlow v5 streams (kept apart from NetFlow v5's).
const SFLOW_KEY_VERSION: u16 = 0x5f;

/// The most samples one datagram may announce (a full 64 KiB datagram holds far fewer).
const MAX_SAMPLES: u32 = 4096;

/// Decodes sFlow v5 datagrams into events; one per socket task.
#[derive(Debug)]
pub struct SflowDecoder {
    parser: SflowParser,
    sequences: SequenceTracker,
    meters: FlowMeters,
    names: Option<[FieldId; 14]>,
    build: EventBuilder,
}

const NAMES: [&str; 14] = [
    "sflow.agent_address",
    "sflow.sub_agent_id",
    "sflow.datagram_sequence",
    "sflow.uptime",
    "sflow.sample_sequence",
    "sflow.source_id_type",
    "sflow.source_id_index",
    "sflow.sampling_rate",
    "sflow.sample_pool",
    "sflow.drops",
    "sflow.input",
    "sflow.output",
    "sflow.frame_length",
    "sflow.header_protocol",
];

impl SflowDecoder {
    /// A decoder tracking the sequences of at most `max_agents` agents.
    pub fn new(max_agents: usize) -> Self {
        SflowDecoder {
            parser: SflowParser::builder().with_max_samples(MAX_SAMPLES).build(),
            sequences: SequenceTracker::new(max_agents.max(1)),
            meters: FlowMeters::new("sflow"),
            names: None,
            build: EventBuilder::default(),
        }
    }

    /// The agents heard so far and their sequence figures.
    pub fn streams(&self) -> Vec<(StreamKey, StreamStats)> {
        self.sequences.streams()
    }

    /// Decode one datagram from `peer`, appending an event per flow sample to `out` (and one
    /// keeping the datagram raw when it was malformed).
    pub fn decode(
        &mut self,
        datagram: &[u8],
        peer: SocketAddr,
        received: Timestamp,
        ctx: &FlowContext,
        out: &mut Vec<Event>,
    ) -> DatagramReport {
        let names = *self.names.get_or_insert_with(|| {
            // Interned on the first datagram, long before the interner's cap could be reached.
            #[allow(clippy::expect_used)]
            NAMES.map(|n| FieldId::intern(n).expect("field interner has room"))
        });
        let result = self.parser.parse_bytes(datagram);
        let before = out.len();
        let mut sequence = None;
        for dg in &result.datagrams {
            let agent = match dg.agent_address {
                AddressType::IPv4(a) => IpAddr::V4(a),
                AddressType::IPv6(a) => IpAddr::V6(a),
            };
            let first = out.len();
            for sample in &dg.samples {
                let Some((head, records)) = sample_head(sample) else {
                    continue;
                };
                let mut rec = FlowRecord {
                    sampling_rate: head[3].max(1),
                    packets: Some(1),
                    ..FlowRecord::default()
                };
                self.build.begin();
                let raw = &mut self.build.raw;
                raw.push((names[0], Value::Ip(agent)));
                raw.push((names[1], Value::Int(i64::from(dg.sub_agent_id))));
                raw.push((names[2], Value::Int(i64::from(dg.sequence_number))));
                raw.push((names[3], Value::Int(i64::from(dg.uptime))));
                for (i, v) in head.iter().enumerate() {
                    raw.push((names[4 + i], Value::Int(i64::from(*v))));
                }
                read_records(records, &names, raw, &mut rec);
                out.push(rec.finish(
                    &mut self.build,
                    ctx,
                    received,
                    Some(peer),
                    Some(agent),
                    "sflow_flow",
                    5,
                ));
            }
            let key = StreamKey {
                exporter: SocketAddr::new(agent, peer.port()),
                version: SFLOW_KEY_VERSION,
                domain: dg.sub_agent_id,
            };
            let outcome = self.sequences.observe(
                key,
                dg.sequence_number,
                Some(dg.uptime),
                1,
                (out.len() - first) as u64,
            );
            self.meters.sequence(outcome, 5, key.exporter);
            sequence = Some(outcome);
        }
        let mut report = DatagramReport {
            records: out.len() - before,
            error: None,
            sequence,
        };
        if let Some(e) = result.error {
            let e = classify(&e);
            self.meters.error(&e);
            out.push(super::error_event(datagram, peer, received, ctx, &e));
            report.error = Some(e);
        }
        report
    }
}

/// The sample header fields of a flow sample (plain or expanded), in [`NAMES`] order from
/// `sflow.sample_sequence_number`, and its records; `None` for other samples.
fn sample_head(sample: &SflowSample) -> Option<([u32; 8], &[SflowRecord])> {
    Some(match sample {
        SflowSample::Flow(s) => (
            [
                s.sequence_number,
                s.source_id_type,
                s.source_id_index,
                s.sampling_rate,
                s.sample_pool,
                s.drops,
                s.input,
                s.output,
            ],
            &s.records,
        ),
        SflowSample::ExpandedFlow(s) => (
            [
                s.sequence_number,
                s.source_id_type,
                s.source_id_index,
                s.sampling_rate,
                s.sample_pool,
                s.drops,
                s.input_value,
                s.output_value,
            ],
            &s.records,
        ),
        _ => return None,
    })
}

/// What a flow sample's records say: the sampled packet's header (read by us), else the
/// sampled IPv4/IPv6 summary.
fn read_records(
    records: &[SflowRecord],
    names: &[FieldId; 14],
    raw: &mut Vec<(FieldId, Value)>,
    rec: &mut FlowRecord,
) {
    for r in records {
        match r {
            SflowRecord::RawPacketHeader(h) => {
                raw.push((names[12], Value::Int(i64::from(h.frame_length))));
                raw.push((names[13], Value::Int(i64::from(h.header_protocol))));
                apply_header(h, rec);
            }
            SflowRecord::SampledIpv4(s) if rec.src_ip.is_none() => {
                rec.src_ip = Some(IpAddr::V4(s.src_ip));
                rec.dst_ip = Some(IpAddr::V4(s.dst_ip));
                rec.protocol = u8::try_from(s.protocol).ok();
                rec.src_port = u16::try_from(s.src_port).ok();
                rec.dst_port = u16::try_from(s.dst_port).ok();
                rec.tcp_flags = u16::try_from(s.tcp_flags).ok();
                rec.bytes = Some(u64::from(s.length));
            }
            SflowRecord::SampledIpv6(s) if rec.src_ip.is_none() => {
                rec.src_ip = Some(IpAddr::V6(s.src_ip));
                rec.dst_ip = Some(IpAddr::V6(s.dst_ip));
                rec.protocol = u8::try_from(s.protocol).ok();
                rec.src_port = u16::try_from(s.src_port).ok();
                rec.dst_port = u16::try_from(s.dst_port).ok();
                rec.tcp_flags = u16::try_from(s.tcp_flags).ok();
                rec.bytes = Some(u64::from(s.length));
            }
            _ => {}
        }
    }
}

fn classify(e: &SflowError) -> FlowError {
    match e {
        SflowError::Incomplete {
            available, context, ..
        } => FlowError::Truncated {
            what: format!("sflow {context:?}"),
            len: *available,
        },
        SflowError::UnsupportedVersion { version } => {
            FlowError::UnsupportedVersion(u16::try_from(*version).unwrap_or(u16::MAX))
        }
        SflowError::TooManySamples { .. } => FlowError::TooLarge(e.to_string()),
        other => FlowError::Malformed(other.to_string()),
    }
}

/// Addresses, ports, protocol, flags and length from a sampled packet's header.
fn apply_header(h: &RawPacketHeader, rec: &mut FlowRecord) {
    // The frame's length on the wire, less what the agent stripped (e.g. the FCS).
    rec.bytes = Some(u64::from(h.frame_length.saturating_sub(h.stripped)));
    let b = h.header.as_slice();
    let l3 = match h.header_protocol {
        // Ethernet, with up to two VLAN tags.
        1 => {
            let mut at = 12;
            let mut ethertype = be16(b, at);
            while matches!(ethertype, Some(0x8100 | 0x88a8)) {
                at += 4;
                ethertype = be16(b, at);
            }
            match ethertype {
                Some(0x0800) => b.get(at + 2..).map(|p| (4, p)),
                Some(0x86dd) => b.get(at + 2..).map(|p| (6, p)),
                _ => None,
            }
        }
        11 => Some((4, b)),
        12 => Some((6, b)),
        _ => None,
    };
    let Some((ip_version, p)) = l3 else { return };
    let (proto, l4, first_fragment) = if ip_version == 4 {
        if p.len() < 20 || p[0] >> 4 != 4 {
            return;
        }
        let ihl = usize::from(p[0] & 0x0f) * 4;
        rec.src_ip = Some(IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15])));
        rec.dst_ip = Some(IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19])));
        let offset = be16(p, 6).unwrap_or(0) & 0x1fff;
        (p[9], p.get(ihl..), offset == 0)
    } else {
        if p.len() < 40 || p[0] >> 4 != 6 {
            return;
        }
        let addr = |at: usize| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&p[at..at + 16]);
            IpAddr::V6(Ipv6Addr::from(a))
        };
        rec.src_ip = Some(addr(8));
        rec.dst_ip = Some(addr(24));
        (p[6], p.get(40..), true)
    };
    rec.protocol = Some(proto);
    let Some(l4) = l4.filter(|_| first_fragment) else {
        return;
    };
    if matches!(proto, 6 | 17 | 132) {
        rec.src_port = be16(l4, 0);
        rec.dst_port = be16(l4, 2);
    }
    if proto == 6
        && let (Some(&hi), Some(&lo)) = (l4.get(12), l4.get(13))
    {
        rec.tcp_flags = Some((u16::from(hi & 1) << 8) | u16::from(lo));
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(proto: u32, header: Vec<u8>) -> RawPacketHeader {
        RawPacketHeader {
            header_protocol: proto,
            frame_length: 64,
            stripped: 4,
            header_length: header.len() as u32,
            header,
        }
    }

    #[test]
    fn reads_an_ipv4_tcp_header() {
        // From the pmacct sFlow capture: 127.0.0.1:53242 -> 127.0.0.1:8099, SYN.
        let h = header(
            11,
            vec![
                69, 0, 0, 60, 39, 5, 64, 0, 64, 6, 21, 181, 127, 0, 0, 1, 127, 0, 0, 1, 207, 250,
                31, 163, 230, 175, 138, 250, 0, 0, 0, 0, 160, 2, 255, 215,
            ],
        );
        let mut rec = FlowRecord::default();
        apply_header(&h, &mut rec);
        assert_eq!(rec.src_port, Some(53242));
        assert_eq!(rec.dst_port, Some(8099));
        assert_eq!(rec.protocol, Some(6));
        assert_eq!(rec.tcp_flags, Some(0x02));
        assert_eq!(rec.bytes, Some(60));
    }

    #[test]
    fn reads_ethernet_with_a_vlan_tag_and_survives_short_headers() {
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x81, 0x00, 0, 5, 0x08, 0x00]);
        eth.extend_from_slice(&[
            69, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 4, 0,
        ]);
        let mut rec = FlowRecord::default();
        apply_header(&header(1, eth.clone()), &mut rec);
        assert_eq!(rec.src_ip, Some("10.0.0.1".parse().expect("ip")));
        assert_eq!((rec.src_port, rec.dst_port), (Some(53), Some(1024)));
        for cut in 0..eth.len() {
            let mut rec = FlowRecord::default();
            apply_header(&header(1, eth[..cut].to_vec()), &mut rec);
        }
    }
}
