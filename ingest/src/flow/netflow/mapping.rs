//! What the normalised flow record takes from each element, by IANA element number: ports,
//! addresses, counters, times (resolved to epoch milliseconds) and the sampling rate, and
//! what an exporter's options data says for all its records.

use netflow_parser::FieldValue;
use netflow_parser::variable_versions::ipfix::lookup::IANAIPFixField;

use super::values::{FieldRead, epoch_ms, number};
use crate::flow::record::FlowRecord;

/// Per-exporter state learned from options data: the sampling rate and the exporter's boot
/// time (IPFIX `systemInitTimeMilliseconds`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ExporterOptions {
    sampling: Option<u32>,
    init_ms: Option<i64>,
}

/// The time fields of a v9 or IPFIX record, before they are resolved to epoch milliseconds.
#[derive(Debug, Default)]
pub(super) struct Times {
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
    pub(super) fn settle(
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

/// Take what the normalised record needs from one field, by its IANA element id (NetFlow v9
/// field types 1–127 are the same numbers).
pub(super) fn apply(element: u16, v: &impl FieldRead, rec: &mut FlowRecord, t: &mut Times) {
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
pub(super) fn iana_element(e: IANAIPFixField) -> u16 {
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
pub(super) fn learn_option(opts: &mut ExporterOptions, element: u16, v: &FieldValue) {
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
