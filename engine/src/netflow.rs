//! NetFlow v5, v9 and IPFIX datagrams to unidirectional flow records, as Arrow.
//!
//! The wire formats are decoded by the `netflow_parser` crate, scoped per exporter and
//! observation domain (its `AutoScopedParser`, with bounded template caches and field
//! limits). This module adds what a collector needs on top: absolute times from each
//! version's clock fields, sequence gaps per exporter and domain, bounded state for any
//! number of exporters, and counters for everything dropped.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt16Builder, UInt64Builder,
    UInt8Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use netflow_parser::scoped_parser::{
    AutoScopedParser, AutoSourceKey, IpfixSourceKey, SourceRemoval, V9SourceKey,
};
use netflow_parser::variable_versions::ipfix::lookup::{
    IANAIPFixField, IPFixField, ReverseInformationElement,
};
use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
use netflow_parser::{
    FieldValue, NetflowPacket, NetflowParser, ParseResult, TemplateEvent, V9Field,
};

use crate::direct::{Format, Templates};
use crate::pairing::Rec;
use crate::sampling::{scale, Learned, SamplerTable, SamplingField, SamplingFields};

/// Exporters (address, version, domain) whose sequence and clock state is kept; beyond
/// this the least recently heard is forgotten, so a flood of spoofed sources costs memory
/// only up to here.
pub const MAX_EXPORTERS: usize = 4096;
/// Problems kept for the caller to log; older ones are counted, not kept.
const MAX_LOG: usize = 256;
/// Seconds between 1900 (NTP, IPFIX dateTimeMicroseconds) and 1970.
const NTP_UNIX_OFFSET_MS: u64 = 2_208_988_800_000;

/// The fields of one flow record that minewatch keeps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExportRecord {
    pub first_ms: i64,
    pub last_ms: i64,
    pub proto: u8,
    pub src: Option<IpAddr>,
    pub src_port: u16,
    pub dst: Option<IpAddr>,
    pub dst_port: u16,
    pub packets: u64,
    pub bytes: u64,
    pub tcp_flags: u8,
    /// Counts of the reverse direction, from an RFC 5103 biflow record.
    pub rev_packets: Option<u64>,
    pub rev_bytes: Option<u64>,
    /// The exporter's sampling rate N (1 in N packets); packets and bytes are already
    /// scaled by it. 1 for an unsampled exporter.
    pub sampling_rate: f64,
}

/// Counters and sequence state of one exporter's stream (address, version, domain).
#[derive(Clone, Debug, Default)]
pub struct ExporterState {
    pub address: String,
    pub version: u16,
    pub domain: u32,
    pub datagrams: u64,
    pub records: u64,
    /// Records (v5, IPFIX) or datagrams (v9) the sequence numbers say were never received.
    pub missing: u64,
    /// Sequence numbers that went backwards: a restarted exporter or reordering.
    pub resets: u64,
    pub no_template: u64,
    pub malformed: u64,
    pub last_heard_ms: i64,
    /// When it was last heard in this decoder's count of datagrams handled.
    heard: u64,
    next_seq: Option<u32>,
    last_seq: Option<u32>,
    /// IPFIX systemInitTimeMilliseconds, the base of flowStart/EndSysUpTime.
    system_init_ms: Option<i64>,
    /// Samplers and the exporter's own rate, from options records (sampling.rs).
    samplers: SamplerTable,
    /// v9 and IPFIX templates whose data sets are read without the parser (direct/).
    direct: Templates,
}

impl ExporterState {
    /// Samplers this exporter has described.
    pub fn samplers(&self) -> usize {
        self.samplers.len()
    }
}

/// Totals over all exporters since the decoder started.
#[derive(Clone, Debug, Default)]
pub struct DecoderCounters {
    pub datagrams: u64,
    pub bytes: u64,
    pub records: u64,
    pub malformed: u64,
    pub no_template: u64,
    /// Records whose times had to be taken from the export header (no usable clock field).
    pub untimed: u64,
    pub log_dropped: u64,
    /// Datagrams dropped because decoded records were not being taken fast enough.
    pub overflow: u64,
    /// v9 and IPFIX messages read without the parser (direct/).
    pub direct: u64,
}

/// Arrow schema of the decoder's output, one row per unidirectional record.
pub fn export_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("exporter", DataType::Utf8, false),
        Field::new("first_seen", ts.clone(), false),
        Field::new("last_seen", ts, false),
        Field::new("ip_proto", DataType::UInt8, false),
        Field::new("src_ip", DataType::Utf8, false),
        Field::new("src_port", DataType::UInt16, false),
        Field::new("dst_ip", DataType::Utf8, false),
        Field::new("dst_port", DataType::UInt16, false),
        Field::new("packets", DataType::UInt64, false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("tcp_flags", DataType::UInt8, false),
        Field::new("rev_packets", DataType::UInt64, true),
        Field::new("rev_bytes", DataType::UInt64, true),
        Field::new("sampling_rate", DataType::Float64, false),
    ]))
}

#[derive(Default)]
struct ExportBuilder {
    exporter: StringBuilder,
    first: TimestampMicrosecondBuilder,
    last: TimestampMicrosecondBuilder,
    proto: UInt8Builder,
    src: StringBuilder,
    sport: UInt16Builder,
    dst: StringBuilder,
    dport: UInt16Builder,
    packets: UInt64Builder,
    bytes: UInt64Builder,
    flags: UInt8Builder,
    rev_packets: UInt64Builder,
    rev_bytes: UInt64Builder,
    sampling_rate: Float64Builder,
    rows: usize,
}

impl ExportBuilder {
    fn push(&mut self, exporter: &str, r: &ExportRecord) {
        let (Some(src), Some(dst)) = (r.src, r.dst) else {
            return;
        };
        self.exporter.append_value(exporter);
        self.first.append_value(r.first_ms.saturating_mul(1000));
        self.last
            .append_value(r.last_ms.max(r.first_ms).saturating_mul(1000));
        self.proto.append_value(r.proto);
        self.src.append_value(src.to_string());
        self.sport.append_value(r.src_port);
        self.dst.append_value(dst.to_string());
        self.dport.append_value(r.dst_port);
        self.packets.append_value(r.packets);
        self.bytes.append_value(r.bytes);
        self.flags.append_value(r.tcp_flags);
        self.rev_packets.append_option(r.rev_packets);
        self.rev_bytes.append_option(r.rev_bytes);
        self.sampling_rate.append_value(r.sampling_rate.max(1.0));
        self.rows += 1;
    }

    fn finish(&mut self) -> RecordBatch {
        let utc = Some(Arc::<str>::from("UTC"));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.exporter.finish()),
            Arc::new(self.first.finish().with_timezone_opt(utc.clone())),
            Arc::new(self.last.finish().with_timezone_opt(utc)),
            Arc::new(self.proto.finish()),
            Arc::new(self.src.finish()),
            Arc::new(self.sport.finish()),
            Arc::new(self.dst.finish()),
            Arc::new(self.dport.finish()),
            Arc::new(self.packets.finish()),
            Arc::new(self.bytes.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.rev_packets.finish()),
            Arc::new(self.rev_bytes.finish()),
            Arc::new(self.sampling_rate.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(export_schema(), columns).expect("export columns match their schema")
    }
}

/// Where decoded records go: Arrow columns with text addresses (the Python collector,
/// files of datagrams), or numeric records for the store-first collector, which pairs
/// and stores them without ever making text of an address it does not write.
enum Sink {
    Arrow(Box<ExportBuilder>),
    Numeric(Vec<Rec<IpAddr>>),
}

impl Sink {
    fn push(&mut self, from: IpAddr, exporter: &str, r: &ExportRecord) {
        match self {
            Sink::Arrow(b) => b.push(exporter, r),
            Sink::Numeric(v) => {
                let (Some(src), Some(dst)) = (r.src, r.dst) else {
                    return;
                };
                // As the Arrow path and pairing::records_from_batch read it: a rate below
                // 1 is 1, one that is not a number is 1.
                let rate = r.sampling_rate.max(1.0);
                v.push(Rec {
                    exporter: from,
                    first_us: r.first_ms.saturating_mul(1000),
                    last_us: r.last_ms.max(r.first_ms).saturating_mul(1000),
                    proto: r.proto,
                    src,
                    src_port: r.src_port,
                    dst,
                    dst_port: r.dst_port,
                    packets: r.packets,
                    bytes: r.bytes,
                    tcp_flags: r.tcp_flags,
                    reverse: r.rev_packets.zip(r.rev_bytes),
                    sampling_rate: if rate.is_finite() { rate } else { 1.0 },
                })
            }
        }
    }

    fn pending(&self) -> usize {
        match self {
            Sink::Arrow(b) => b.rows,
            Sink::Numeric(v) => v.len(),
        }
    }
}

/// What a template field means to minewatch; everything else is skipped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Slot {
    Src,
    Dst,
    SrcPort,
    DstPort,
    Proto,
    Flags,
    Bytes,
    Packets,
    BytesTotal,
    PacketsTotal,
    StartUptime,
    EndUptime,
    /// Absolute times in milliseconds (the parser turns seconds into milliseconds).
    StartAbs,
    EndAbs,
    /// NTP-epoch times (dateTimeMicroseconds / Nanoseconds).
    StartNtp,
    EndNtp,
    SystemInit,
    RevBytes,
    RevPackets,
    Sampling(SamplingField),
}

pub(crate) fn v9_slot(f: &V9Field) -> Option<Slot> {
    Some(match f {
        V9Field::Ipv4SrcAddr | V9Field::Ipv6SrcAddr => Slot::Src,
        V9Field::Ipv4DstAddr | V9Field::Ipv6DstAddr => Slot::Dst,
        V9Field::L4SrcPort => Slot::SrcPort,
        V9Field::L4DstPort => Slot::DstPort,
        V9Field::Protocol => Slot::Proto,
        V9Field::TcpFlags => Slot::Flags,
        V9Field::InBytes => Slot::Bytes,
        V9Field::InPkts => Slot::Packets,
        V9Field::FirstSwitched => Slot::StartUptime,
        V9Field::LastSwitched => Slot::EndUptime,
        V9Field::FlowStartSeconds | V9Field::FlowStartMilliseconds => Slot::StartAbs,
        V9Field::FlowEndSeconds | V9Field::FlowEndMilliseconds => Slot::EndAbs,
        V9Field::FlowStartMicroseconds | V9Field::FlowStartNanoseconds => Slot::StartNtp,
        V9Field::FlowEndMicroseconds | V9Field::FlowEndNanoseconds => Slot::EndNtp,
        V9Field::SamplingInterval | V9Field::FlowSamplerRandomInterval => {
            Slot::Sampling(SamplingField::Interval)
        }
        V9Field::FlowSamplerId => Slot::Sampling(SamplingField::SamplerId),
        _ => return None,
    })
}

pub(crate) fn ipfix_slot(f: &IPFixField) -> Option<Slot> {
    use IANAIPFixField as I;
    use ReverseInformationElement as R;
    use SamplingField as S;
    let sampling = Slot::Sampling;
    Some(match f {
        IPFixField::IANA(i) => match i {
            I::SourceIpv4address | I::SourceIpv6address => Slot::Src,
            I::DestinationIpv4address | I::DestinationIpv6address => Slot::Dst,
            I::SourceTransportPort => Slot::SrcPort,
            I::DestinationTransportPort => Slot::DstPort,
            I::ProtocolIdentifier => Slot::Proto,
            I::TcpControlBits => Slot::Flags,
            I::OctetDeltaCount => Slot::Bytes,
            I::PacketDeltaCount => Slot::Packets,
            I::OctetTotalCount => Slot::BytesTotal,
            I::PacketTotalCount => Slot::PacketsTotal,
            I::FlowStartSysUpTime => Slot::StartUptime,
            I::FlowEndSysUpTime => Slot::EndUptime,
            I::FlowStartSeconds | I::FlowStartMilliseconds => Slot::StartAbs,
            I::FlowEndSeconds | I::FlowEndMilliseconds => Slot::EndAbs,
            I::FlowStartMicroseconds | I::FlowStartNanoseconds => Slot::StartNtp,
            I::FlowEndMicroseconds | I::FlowEndNanoseconds => Slot::EndNtp,
            I::SystemInitTimeMilliseconds => Slot::SystemInit,
            I::SamplingInterval | I::SamplerRandomInterval => sampling(S::Interval),
            I::SamplerId | I::SelectorId => sampling(S::SamplerId),
            I::SelectorAlgorithm => sampling(S::Algorithm),
            I::SamplingPacketInterval => sampling(S::PacketInterval),
            I::SamplingPacketSpace => sampling(S::PacketSpace),
            I::SamplingTimeInterval => sampling(S::TimeInterval),
            I::SamplingTimeSpace => sampling(S::TimeSpace),
            I::SamplingSize => sampling(S::Size),
            I::SamplingPopulation => sampling(S::Population),
            I::SamplingProbability => sampling(S::Probability),
            I::SamplingFlowInterval => sampling(S::FlowInterval),
            I::SamplingFlowSpacing => sampling(S::FlowSpace),
            _ => return None,
        },
        IPFixField::ReverseInformationElement(r) => match r {
            R::ReverseOctetDeltaCount | R::ReverseOctetTotalCount => Slot::RevBytes,
            R::ReversePacketDeltaCount | R::ReversePacketTotalCount => Slot::RevPackets,
            _ => return None,
        },
        _ => return None,
    })
}

fn as_ip(v: &FieldValue) -> Option<IpAddr> {
    match v {
        FieldValue::Ip4Addr(a) => Some(IpAddr::V4(*a)),
        FieldValue::Ip6Addr(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

fn as_num(v: &FieldValue) -> Option<u64> {
    match v {
        FieldValue::TcpControlBits(bits, _) => Some(u64::from(u16::from(*bits))),
        FieldValue::ProtocolType(_) => v.as_u8().map(u64::from),
        _ => v.as_u64(),
    }
}

fn as_float(v: &FieldValue) -> Option<f64> {
    match v {
        FieldValue::Float64(x) => Some(*x),
        _ => as_num(v).map(|n| n as f64),
    }
}

/// A record's fields as the template gave them, before its times are made absolute.
#[derive(Default)]
pub(crate) struct RawRecord {
    rec: ExportRecord,
    start_uptime: Option<u64>,
    end_uptime: Option<u64>,
    start_abs: Option<u64>,
    end_abs: Option<u64>,
    bytes_total: Option<u64>,
    packets_total: Option<u64>,
    has_bytes: bool,
    has_packets: bool,
    system_init: Option<u64>,
    sampling: SamplingFields,
}

impl RawRecord {
    pub(crate) fn set(&mut self, slot: Slot, v: &FieldValue) {
        match slot {
            Slot::Src => self.rec.src = as_ip(v),
            Slot::Dst => self.rec.dst = as_ip(v),
            Slot::Sampling(field) => self.sampling.set(field, as_num(v), as_float(v)),
            _ => self.set_number(slot, as_num(v)),
        }
    }

    /// What `set` does with a value that is a number `n` (None: not one).
    pub(crate) fn set_number(&mut self, slot: Slot, n: Option<u64>) {
        let r = &mut self.rec;
        match slot {
            Slot::Src => r.src = None,
            Slot::Dst => r.dst = None,
            Slot::SrcPort => r.src_port = n.unwrap_or(0) as u16,
            Slot::DstPort => r.dst_port = n.unwrap_or(0) as u16,
            Slot::Proto => r.proto = n.unwrap_or(0) as u8,
            Slot::Flags => r.tcp_flags = n.unwrap_or(0) as u8,
            Slot::Bytes => {
                r.bytes = n.unwrap_or(0);
                self.has_bytes = true;
            }
            Slot::Packets => {
                r.packets = n.unwrap_or(0);
                self.has_packets = true;
            }
            Slot::BytesTotal => self.bytes_total = n,
            Slot::PacketsTotal => self.packets_total = n,
            Slot::StartUptime => self.start_uptime = n,
            Slot::EndUptime => self.end_uptime = n,
            Slot::StartAbs => self.start_abs = n,
            Slot::EndAbs => self.end_abs = n,
            Slot::StartNtp => self.start_abs = n.map(|ms| ms.saturating_sub(NTP_UNIX_OFFSET_MS)),
            Slot::EndNtp => self.end_abs = n.map(|ms| ms.saturating_sub(NTP_UNIX_OFFSET_MS)),
            Slot::SystemInit => self.system_init = n,
            Slot::RevBytes => r.rev_bytes = n,
            Slot::RevPackets => r.rev_packets = n,
            Slot::Sampling(field) => self.sampling.set(field, n, n.map(|n| n as f64)),
        }
    }

    /// What `set` does with an address.
    pub(crate) fn set_address(&mut self, slot: Slot, a: IpAddr) {
        match slot {
            Slot::Src => self.rec.src = Some(a),
            Slot::Dst => self.rec.dst = Some(a),
            Slot::Sampling(field) => self.sampling.set(field, None, None),
            _ => self.set_number(slot, None),
        }
    }

    /// The record with absolute times: `uptime` turns an uptime field into wall time
    /// (v9: back from the header's sysUpTime; IPFIX: from systemInitTimeMilliseconds),
    /// None when the exporter has not said when it started.
    fn finish(
        mut self,
        uptime: &dyn Fn(u64) -> Option<i64>,
        export_ms: i64,
        untimed: &mut u64,
    ) -> ExportRecord {
        if !self.has_bytes {
            self.rec.bytes = self.bytes_total.unwrap_or(0);
        }
        if !self.has_packets {
            self.rec.packets = self.packets_total.unwrap_or(0);
        }
        let clock = |abs: Option<u64>, up: Option<u64>| -> Option<i64> {
            abs.map(|ms| ms.min(i64::MAX as u64) as i64)
                .or_else(|| uptime(up?))
        };
        match (
            clock(self.start_abs, self.start_uptime),
            clock(self.end_abs, self.end_uptime),
        ) {
            (Some(a), Some(b)) => (self.rec.first_ms, self.rec.last_ms) = (a, b),
            (Some(a), None) | (None, Some(a)) => (self.rec.first_ms, self.rec.last_ms) = (a, a),
            (None, None) => {
                *untimed += 1;
                (self.rec.first_ms, self.rec.last_ms) = (export_ms, export_ms);
            }
        }
        self.rec
    }
}

/// A record time in uptime milliseconds made absolute, tolerant of the 2^32 wrap: a
/// record is always from before its header.
fn uptime_to_abs(unix_ms: i64, sys_up_time: u32, at: u32) -> i64 {
    unix_ms - i64::from(sys_up_time.wrapping_sub(at))
}

/// Scale a record's counts by its sampling rate and keep the rate.
fn apply_rate(rec: &mut ExportRecord, rate: f64) {
    rec.packets = scale(rec.packets, rate);
    rec.bytes = scale(rec.bytes, rate);
    rec.rev_packets = rec.rev_packets.map(|n| scale(n, rate));
    rec.rev_bytes = rec.rev_bytes.map(|n| scale(n, rate));
    rec.sampling_rate = rate;
}

/// Sampling problems met in one datagram, and what was learnt.
#[derive(Default)]
struct SamplingTally {
    malformed: u64,
    full: u64,
}

impl SamplingTally {
    fn learn(&mut self, table: &mut SamplerTable, fields: &SamplingFields) {
        match table.learn(fields) {
            Learned::Malformed => self.malformed += 1,
            Learned::Full => self.full += 1,
            Learned::Rate | Learned::Nothing => {}
        }
    }
}

/// What every data record of one v9 or IPFIX message shares.
struct Message<'a> {
    from: SocketAddr,
    exporter: &'a str,
    /// v9: the header's UNIX seconds; IPFIX: its export time; in milliseconds.
    export_ms: i64,
    /// v9: the header's sysUpTime (unused for IPFIX).
    sys_up_time: u32,
    table: &'a SamplerTable,
}

/// The exporter of a v9 or IPFIX message (its address, and source id or observation
/// domain, as the parser scopes templates); None for anything else.
fn template_key(from: SocketAddr, data: &[u8]) -> Option<ExporterKey> {
    let (version, at) = match data.get(..2)? {
        [0, 9] => (9, 16),
        [0, 10] => (10, 12),
        _ => return None,
    };
    let domain = data.get(at..at + 4)?;
    Some(ExporterKey {
        addr: from,
        version,
        domain: u32::from_be_bytes([domain[0], domain[1], domain[2], domain[3]]),
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ExporterKey {
    addr: SocketAddr,
    version: u16,
    domain: u32,
}

/// Decodes datagrams from any number of exporters into unidirectional records.
pub struct Decoder {
    parser: AutoScopedParser,
    exporters: HashMap<ExporterKey, ExporterState>,
    sink: Sink,
    pub counters: DecoderCounters,
    log: VecDeque<String>,
    /// Whether v9 and IPFIX data sets may be read without the parser (direct/); off
    /// only to compare the two.
    pub read_directly: bool,
    /// The rate N (1 in N) of records whose exporter announces none: no v5 header
    /// interval, no sampling fields or options (nfcapd's `-s N`). Routers often sample
    /// without exporting their sampler options; an announced rate, 1 included, wins.
    pub unannounced_rate: f64,
    /// Templates the parser has evicted, and how many of them this decoder has seen.
    evictions: Arc<AtomicU64>,
    evictions_seen: u64,
    /// A count of exporter state lookups: orders exporters heard in one millisecond.
    heard: u64,
    /// The empty copy of a datagram read directly that the parser is shown (its memory
    /// kept from one datagram to the next).
    touch: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub fn new() -> Self {
        // The parser evicting a template is counted: the exporter whose datagram it was
        // reading is read only by the parser from then on (direct/).
        let evictions = Arc::new(AtomicU64::new(0));
        let counted = evictions.clone();
        let builder = NetflowParser::builder()
            .with_cache_size(512)
            .with_max_field_count(512)
            .with_max_error_sample_size(64)
            .on_template_event(move |event| {
                if matches!(event, TemplateEvent::Evicted { .. }) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            });
        let parser = AutoScopedParser::try_with_builder(builder)
            .and_then(|p| p.with_max_sources(MAX_EXPORTERS))
            .expect("the parser configuration is valid");
        Decoder {
            parser,
            exporters: HashMap::new(),
            sink: Sink::Arrow(Box::default()),
            counters: DecoderCounters::default(),
            log: VecDeque::new(),
            read_directly: true,
            unannounced_rate: 1.0,
            evictions,
            evictions_seen: 0,
            heard: 0,
            touch: Vec::new(),
        }
    }

    /// The parser's reading of a datagram from `from`, keeping direct reads (direct/)
    /// in step with its caches: an exporter whose templates it forgets (a source it
    /// drops for another) is forgotten here too, and one of whose templates it evicts is
    /// left to it.
    fn parse(&mut self, from: SocketAddr, data: &[u8]) -> ParseResult {
        let mut removed = Vec::new();
        let mut reporter = |r: &SourceRemoval<AutoSourceKey>| {
            removed.push(r.source.clone());
            Ok(())
        };
        let result = self
            .parser
            .parse_from_source_with_reporter(from, data, &mut reporter);
        for source in removed {
            let (addr, version, domain) = match source {
                AutoSourceKey::Ipfix(k) => (k.addr, 10, k.observation_domain_id),
                AutoSourceKey::V9(k) => (k.addr, 9, k.source_id),
                _ => continue,
            };
            let key = ExporterKey {
                addr,
                version,
                domain,
            };
            if let Some(st) = self.exporters.get_mut(&key) {
                st.direct = Templates::new(Format::of(key.version));
            }
        }
        let evictions = self.evictions.load(Ordering::Relaxed);
        if evictions != self.evictions_seen {
            self.evictions_seen = evictions;
            if let Some(st) = template_key(from, data).and_then(|k| self.exporters.get_mut(&k)) {
                st.direct.switch_off();
            }
        }
        result
    }

    /// Records decoded and not yet taken.
    pub fn pending(&self) -> usize {
        self.sink.pending()
    }

    /// The records decoded since the last call, as one Arrow batch.
    pub fn take(&mut self) -> RecordBatch {
        match &mut self.sink {
            Sink::Arrow(b) => b.finish(),
            Sink::Numeric(_) => ExportBuilder::default().finish(),
        }
    }

    /// A decoder whose records are taken as numbers (`take_numeric`), not Arrow.
    pub fn numeric() -> Self {
        Decoder {
            sink: Sink::Numeric(Vec::new()),
            ..Self::new()
        }
    }

    /// Memory for the next numeric records (a batch's, taken and emptied): kept if larger
    /// than what the decoder has, so batches reuse memory instead of faulting in fresh.
    pub fn give_back(&mut self, mut memory: Vec<Rec<IpAddr>>) {
        if let Sink::Numeric(v) = &mut self.sink {
            if memory.capacity() > v.capacity() {
                memory.clear();
                memory.append(v);
                *v = memory;
            }
        }
    }

    /// The records decoded since the last call, as numbers (empty for an Arrow decoder).
    pub fn take_numeric(&mut self) -> Vec<Rec<IpAddr>> {
        match &mut self.sink {
            Sink::Numeric(v) => std::mem::take(v),
            Sink::Arrow(_) => Vec::new(),
        }
    }

    /// Problems seen since the last call (malformed datagrams, sequence gaps), at most
    /// MAX_LOG of them; `counters.log_dropped` counts the rest.
    pub fn drain_log(&mut self) -> Vec<String> {
        self.log.drain(..).collect()
    }

    pub fn exporters(&self) -> impl Iterator<Item = &ExporterState> {
        self.exporters.values()
    }

    fn note(&mut self, message: String) {
        if self.log.len() >= MAX_LOG {
            self.counters.log_dropped += 1;
        } else {
            self.log.push_back(message);
        }
    }

    fn state(&mut self, key: ExporterKey, now_ms: i64) -> &mut ExporterState {
        if !self.exporters.contains_key(&key) && self.exporters.len() >= MAX_EXPORTERS {
            // Forget the exporter heard from longest ago (of two heard in the same
            // millisecond, the earlier: the choice must not depend on the map's order).
            if let Some(oldest) = self
                .exporters
                .iter()
                .min_by_key(|(_, s)| (s.last_heard_ms, s.heard))
                .map(|(k, _)| *k)
            {
                self.exporters.remove(&oldest);
                // The parser forgets its templates too: templates read directly are then
                // never ones it has but this decoder no longer counts (direct/).
                let (addr, id) = (oldest.addr, oldest.domain);
                match oldest.version {
                    9 => drop(self.parser.remove_v9_source(&V9SourceKey {
                        addr,
                        source_id: id,
                    })),
                    10 => drop(self.parser.remove_ipfix_source(&IpfixSourceKey {
                        addr,
                        observation_domain_id: id,
                    })),
                    _ => {}
                }
            }
        }
        let st = self.exporters.entry(key).or_insert_with(|| ExporterState {
            address: key.addr.ip().to_string(),
            version: key.version,
            domain: key.domain,
            direct: Templates::new(Format::of(key.version)),
            ..Default::default()
        });
        st.last_heard_ms = now_ms;
        self.heard += 1;
        st.heard = self.heard;
        st
    }

    /// Check a header's sequence number against the one expected, then expect `next`.
    /// `also` are steps from the previous header's number that some exporters use instead
    /// (softflowd's IPFIX counts this message's flow records, not the last one's).
    fn sequence(
        &mut self,
        key: ExporterKey,
        now_ms: i64,
        seq: u32,
        next: Option<u32>,
        also: &[u32],
    ) {
        let st = self.state(key, now_ms);
        let mut gap = None;
        let conventional = st
            .last_seq
            .is_some_and(|last| also.contains(&seq.wrapping_sub(last)));
        if let (Some(expected), false) = (st.next_seq, conventional) {
            let ahead = seq.wrapping_sub(expected);
            if ahead != 0 {
                if ahead < 1 << 31 {
                    st.missing += u64::from(ahead);
                    gap = Some(format!(
                        "{} (NetFlow v{}, domain {}): sequence jumped by {ahead}: records lost on the way",
                        st.address, st.version, st.domain
                    ));
                } else {
                    st.resets += 1;
                }
            }
        }
        st.next_seq = next;
        st.last_seq = Some(seq);
        if let Some(message) = gap {
            self.note(message);
        }
    }

    /// Decode one datagram from `from`, received at `now_ms` (wall clock).
    pub fn feed(&mut self, from: SocketAddr, data: &[u8], now_ms: i64) {
        self.counters.datagrams += 1;
        self.counters.bytes += data.len() as u64;
        // The exporter of a v9 or IPFIX message the parser is about to read, if what the
        // parser accepts from it may be learnt for reading its data sets directly.
        let mut learn = None;
        if let Some(key) = template_key(from, data) {
            if self.read_directly && self.read_direct(key, data, now_ms) {
                self.counters.direct += 1;
                return;
            }
            let may_learn = match self.exporters.get_mut(&key) {
                Some(st) => st.direct.before_parser(data),
                None => {
                    // No state made for what may be a bad datagram, unless it defines
                    // templates, which must be counted from the first.
                    let mut fresh = Templates::new(Format::of(key.version));
                    let learn = fresh.before_parser(data);
                    if fresh.counted_any() {
                        self.state(key, now_ms).direct = fresh;
                    }
                    learn
                }
            };
            learn = may_learn.then_some(key);
        }
        let result = self.parse(from, data);
        if let Some(err) = &result.error {
            self.counters.malformed += 1;
            let version = if data.len() >= 2 {
                u16::from_be_bytes([data[0], data[1]])
            } else {
                0
            };
            let key = ExporterKey {
                addr: from,
                version,
                domain: 0,
            };
            if matches!(version, 5 | 9 | 10) {
                self.state(key, now_ms).malformed += 1;
            }
            // The parser's message may quote the input; keep the reason, not the bytes.
            let text = err.to_string();
            let text: String = text
                .split(" { ")
                .next()
                .unwrap_or("")
                .chars()
                .take(160)
                .collect();
            self.note(format!(
                "{}: malformed datagram of {} bytes dropped: {text}",
                from.ip(),
                data.len()
            ));
        }
        for packet in result.packets {
            match packet {
                NetflowPacket::V5(v5) => self.v5(from, now_ms, &v5),
                NetflowPacket::V9(p) => {
                    if let Some(key) = learn {
                        let direct = &mut self.state(key, now_ms).direct;
                        p.flowsets.iter().for_each(|s| direct.learn_v9(&s.body));
                    }
                    self.v9(from, now_ms, p)
                }
                NetflowPacket::IPFix(p) => {
                    if let Some(key) = learn {
                        let direct = &mut self.state(key, now_ms).direct;
                        p.flowsets.iter().for_each(|s| direct.learn_ipfix(&s.body));
                    }
                    self.ipfix(from, now_ms, p)
                }
                _ => {}
            }
        }
    }

    fn v5(&mut self, from: SocketAddr, now_ms: i64, p: &netflow_parser::static_versions::v5::V5) {
        let h = &p.header;
        let key = ExporterKey {
            addr: from,
            version: 5,
            domain: u32::from(h.engine_type) << 8 | u32::from(h.engine_id),
        };
        let count = p.flowsets.len() as u32;
        self.sequence(
            key,
            now_ms,
            h.flow_sequence,
            Some(h.flow_sequence.wrapping_add(count)),
            &[],
        );
        let unix_ms = i64::from(h.unix_secs) * 1000 + i64::from(h.unix_nsecs / 1_000_000);
        // Sampling: the low 14 bits are the interval (the top two, the mode, are read by
        // no one for N, as nfcapd does); 0 announces nothing, 1 announces unsampled.
        let interval = h.sampling_interval & 0x3fff;
        let rate = if interval == 0 {
            self.unannounced_rate
        } else {
            f64::from(interval)
        };
        let exporter = from.ip().to_string();
        for f in &p.flowsets {
            let rec = ExportRecord {
                first_ms: uptime_to_abs(unix_ms, h.sys_up_time, f.first),
                last_ms: uptime_to_abs(unix_ms, h.sys_up_time, f.last),
                proto: f.protocol_number,
                src: Some(IpAddr::V4(f.src_addr)),
                src_port: f.src_port,
                dst: Some(IpAddr::V4(f.dst_addr)),
                dst_port: f.dst_port,
                packets: scale(u64::from(f.d_pkts), rate),
                bytes: scale(u64::from(f.d_octets), rate),
                tcp_flags: f.tcp_flags,
                rev_packets: None,
                rev_bytes: None,
                sampling_rate: rate,
            };
            self.sink.push(from.ip(), &exporter, &rec);
        }
        self.counted(key, now_ms, p.flowsets.len() as u64, 0);
    }

    /// Put an exporter's sampler table back after a datagram and count its problems.
    fn sampled(&mut self, key: ExporterKey, now_ms: i64, table: SamplerTable, t: SamplingTally) {
        self.counters.malformed += t.malformed;
        let st = self.state(key, now_ms);
        st.samplers = table;
        st.malformed += t.malformed;
        let who = format!(
            "{} (NetFlow v{}, domain {})",
            st.address, st.version, st.domain
        );
        if t.malformed > 0 {
            self.note(format!(
                "{who}: {} sampling fields out of range (rate capped or ignored)",
                t.malformed
            ));
        }
        if t.full > 0 {
            self.note(format!(
                "{who}: more than {} samplers described; {} ignored",
                crate::sampling::MAX_SAMPLERS,
                t.full
            ));
        }
    }

    fn counted(&mut self, key: ExporterKey, now_ms: i64, records: u64, no_template: u64) {
        self.counters.records += records;
        self.counters.no_template += no_template;
        let st = self.state(key, now_ms);
        st.datagrams += 1;
        st.records += records;
        st.no_template += no_template;
    }

    fn v9(&mut self, from: SocketAddr, now_ms: i64, p: netflow_parser::variable_versions::v9::V9) {
        let h = p.header;
        let key = ExporterKey {
            addr: from,
            version: 9,
            domain: h.source_id,
        };
        // v9 counts export packets, not records.
        self.sequence(
            key,
            now_ms,
            h.sequence_number,
            Some(h.sequence_number.wrapping_add(1)),
            &[],
        );
        let unix_ms = i64::from(h.unix_secs) * 1000;
        let exporter = from.ip().to_string();
        let (mut records, mut no_template) = (0, 0);
        let mut table = std::mem::take(&mut self.state(key, now_ms).samplers);
        let mut tally = SamplingTally::default();
        for set in p.flowsets {
            match set.body {
                V9Body::Data(data) => {
                    for fields in &data.fields {
                        let mut raw = RawRecord::default();
                        for (f, v) in fields {
                            if let Some(slot) = v9_slot(f) {
                                raw.set(slot, v);
                            }
                        }
                        let at = Message {
                            from,
                            exporter: &exporter,
                            export_ms: unix_ms,
                            sys_up_time: h.sys_up_time,
                            table: &table,
                        };
                        self.v9_record(&at, raw, &mut tally);
                        records += 1;
                    }
                }
                V9Body::OptionsData(opts) => {
                    // Sampler options: scoped to the system (or an interface), keyed by
                    // the sampler id when there is one.
                    for record in &opts.fields {
                        let mut raw = RawRecord::default();
                        for (f, v) in &record.options_fields {
                            if let Some(slot @ Slot::Sampling(_)) = v9_slot(f) {
                                raw.set(slot, v);
                            }
                        }
                        tally.learn(&mut table, &raw.sampling);
                    }
                }
                V9Body::NoTemplate(info) => {
                    no_template += 1;
                    self.note(format!(
                        "{} (NetFlow v9, source {}): data for unknown template {} dropped",
                        from.ip(),
                        h.source_id,
                        info.template_id
                    ));
                }
                _ => {}
            }
        }
        self.sampled(key, now_ms, table, tally);
        self.counted(key, now_ms, records, no_template);
    }

    /// One IPFIX data record to the sink: times made absolute (uptimes from the
    /// systemInitTimeMilliseconds of this record or one before it), sampling applied.
    fn ipfix_record(
        &mut self,
        at: &Message<'_>,
        raw: RawRecord,
        system_init: &mut Option<i64>,
        tally: &mut SamplingTally,
    ) {
        if let Some(init) = raw.system_init {
            *system_init = Some(init as i64);
        }
        let (base, export_ms) = (*system_init, at.export_ms);
        // flowStart/EndSysUpTime are 32-bit and wrap (an exporter reading a file reports
        // times before its own start that way): a record cannot end after the message
        // that carries it.
        let uptime = |up: u64| {
            let at = base?.saturating_add(up.min(u64::from(u32::MAX)) as i64);
            Some(if at > export_ms + 60_000 {
                at - (1i64 << 32)
            } else {
                at
            })
        };
        let rate = at.table.rate_of(&raw.sampling, self.unannounced_rate);
        tally.malformed += u64::from(rate.malformed);
        let mut rec = raw.finish(&uptime, export_ms, &mut self.counters.untimed);
        apply_rate(&mut rec, rate.value);
        self.sink.push(at.from.ip(), at.exporter, &rec);
    }

    /// One NetFlow v9 data record to the sink: uptimes made absolute from the header's,
    /// sampling applied.
    fn v9_record(&mut self, at: &Message<'_>, raw: RawRecord, tally: &mut SamplingTally) {
        let (unix_ms, sys_up_time) = (at.export_ms, at.sys_up_time);
        let uptime = |up: u64| Some(uptime_to_abs(unix_ms, sys_up_time, up as u32));
        let rate = at.table.rate_of(&raw.sampling, self.unannounced_rate);
        tally.malformed += u64::from(rate.malformed);
        let mut rec = raw.finish(&uptime, unix_ms, &mut self.counters.untimed);
        apply_rate(&mut rec, rate.value);
        self.sink.push(at.from.ip(), at.exporter, &rec);
    }

    /// A v9 or IPFIX message of data sets only, read without the parser when its
    /// templates allow (direct/), with what `v9` or `ipfix` would do with it: false,
    /// with nothing done, sends it to the parser.
    fn read_direct(&mut self, key: ExporterKey, data: &[u8], now_ms: i64) -> bool {
        let Some(plan) = self.exporters.get(&key).and_then(|st| st.direct.plan(data)) else {
            return false;
        };
        // The parser sees the header and an empty set for each data set, so that its least
        // recently heard exporter and least recently used templates, the ones it drops
        // for new ones, are what they would be had it read everything.
        let mut touch = std::mem::take(&mut self.touch);
        plan.empty_copy(data, &mut touch);
        drop(self.parse(key.addr, &touch));
        self.touch = touch;
        let be32 =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let v9 = key.version == 9;
        // v9: sysUpTime, UNIX seconds, packet sequence; IPFIX: export time, record sequence.
        let (sys_up_time, export_time, seq) = if v9 {
            (be32(4), be32(8), be32(12))
        } else {
            (0, be32(4), be32(8))
        };
        if v9 {
            self.sequence(key, now_ms, seq, Some(seq.wrapping_add(1)), &[]);
        }
        let exporter = key.addr.ip().to_string();
        let st = self.state(key, now_ms);
        let mut system_init = st.system_init_ms;
        let table = std::mem::take(&mut st.samplers);
        let mut tally = SamplingTally::default();
        let at = Message {
            from: key.addr,
            exporter: &exporter,
            export_ms: i64::from(export_time) * 1000,
            sys_up_time,
            table: &table,
        };
        let mut records = 0u64;
        plan.read(&mut |raw| {
            if v9 {
                self.v9_record(&at, raw, &mut tally);
            } else {
                self.ipfix_record(&at, raw, &mut system_init, &mut tally);
            }
            records += 1;
        });
        if !v9 {
            let n = records as u32;
            self.sequence(key, now_ms, seq, Some(seq.wrapping_add(n)), &[n, n]);
            self.state(key, now_ms).system_init_ms = system_init;
        }
        self.sampled(key, now_ms, table, tally);
        self.counted(key, now_ms, records, 0);
        true
    }

    fn ipfix(
        &mut self,
        from: SocketAddr,
        now_ms: i64,
        p: netflow_parser::variable_versions::ipfix::IPFix,
    ) {
        let h = p.header;
        let key = ExporterKey {
            addr: from,
            version: 10,
            domain: h.observation_domain_id,
        };
        let export_ms = i64::from(h.export_time) * 1000;
        let exporter = from.ip().to_string();
        let mut system_init = self.state(key, now_ms).system_init_ms;
        let mut table = std::mem::take(&mut self.state(key, now_ms).samplers);
        let mut tally = SamplingTally::default();
        let (mut records, mut data_records, mut no_template) = (0u64, 0u64, 0u64);
        let mut seq_known = true;
        for set in p.flowsets {
            match set.body {
                IpfixBody::Data(data) => {
                    for fields in &data.fields {
                        let mut raw = RawRecord::default();
                        for (f, v) in fields {
                            if let Some(slot) = ipfix_slot(f) {
                                raw.set(slot, v);
                            }
                        }
                        let at = Message {
                            from,
                            exporter: &exporter,
                            export_ms,
                            sys_up_time: 0,
                            table: &table,
                        };
                        self.ipfix_record(&at, raw, &mut system_init, &mut tally);
                        records += 1;
                        data_records += 1;
                    }
                }
                IpfixBody::OptionsData(opts) => {
                    // softflowd and others send systemInitTimeMilliseconds as an option;
                    // samplers and selectors come as options too (their id a scope field).
                    for fields in &opts.fields {
                        let mut raw = RawRecord::default();
                        for (f, v) in fields {
                            match ipfix_slot(f) {
                                Some(Slot::SystemInit) => {
                                    system_init = as_num(v).map(|ms| ms as i64)
                                }
                                Some(slot @ Slot::Sampling(_)) => raw.set(slot, v),
                                _ => {}
                            }
                        }
                        tally.learn(&mut table, &raw.sampling);
                        data_records += 1;
                    }
                }
                IpfixBody::V9Data(data) => data_records += data.fields.len() as u64,
                IpfixBody::V9OptionsData(opts) => data_records += opts.fields.len() as u64,
                IpfixBody::NoTemplate(info) => {
                    no_template += 1;
                    seq_known = false; // its record count is unknown
                    self.note(format!(
                        "{} (IPFIX, domain {}): data for unknown template {} dropped",
                        from.ip(),
                        h.observation_domain_id,
                        info.template_id
                    ));
                }
                _ => {}
            }
        }
        // IPFIX counts data records sent before this message (RFC 7011 3.1).
        let next = seq_known.then(|| h.sequence_number.wrapping_add(data_records as u32));
        let also = if seq_known {
            vec![records as u32, data_records as u32]
        } else {
            vec![]
        };
        self.sequence(key, now_ms, h.sequence_number, next, &also);
        self.state(key, now_ms).system_init_ms = system_init;
        self.sampled(key, now_ms, table, tally);
        self.counted(key, now_ms, records, no_template);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v5_datagram(seq: u32, records: &[(u32, u32, u16, u16, u32, u32)]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&5u16.to_be_bytes());
        d.extend_from_slice(&(records.len() as u16).to_be_bytes());
        d.extend_from_slice(&100_000u32.to_be_bytes()); // uptime 100 s
        d.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        d.extend_from_slice(&0u32.to_be_bytes());
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 0]);
        for &(src, dst, sport, dport, first, last) in records {
            d.extend_from_slice(&src.to_be_bytes());
            d.extend_from_slice(&dst.to_be_bytes());
            d.extend_from_slice(&[0; 4]); // next hop
            d.extend_from_slice(&[0; 4]); // interfaces
            d.extend_from_slice(&7u32.to_be_bytes()); // packets
            d.extend_from_slice(&700u32.to_be_bytes()); // bytes
            d.extend_from_slice(&first.to_be_bytes());
            d.extend_from_slice(&last.to_be_bytes());
            d.extend_from_slice(&sport.to_be_bytes());
            d.extend_from_slice(&dport.to_be_bytes());
            d.extend_from_slice(&[0, 0x1b, 6, 0]); // pad, flags, proto, tos
            d.extend_from_slice(&[0; 8]);
        }
        d
    }

    fn addr() -> SocketAddr {
        "127.0.0.1:9995".parse().unwrap()
    }

    #[test]
    fn v5_times_are_absolute_and_gaps_counted() {
        let mut dec = Decoder::new();
        dec.feed(
            addr(),
            &v5_datagram(0, &[(0x0a000001, 0x0a000002, 40000, 3333, 40_000, 90_000)]),
            0,
        );
        // Sequence says one record went missing between the two datagrams.
        dec.feed(
            addr(),
            &v5_datagram(2, &[(0x0a000002, 0x0a000001, 3333, 40000, 41_000, 91_000)]),
            0,
        );
        let b = dec.take();
        assert_eq!(b.num_rows(), 2);
        let first = b
            .column(1)
            .as_any()
            .downcast_ref::<arrow_array::TimestampMicrosecondArray>()
            .unwrap();
        // Export at 1_700_000_000 s with uptime 100 s: uptime 40 s is 60 s before export.
        assert_eq!(first.value(0), (1_700_000_000_000i64 - 60_000) * 1000);
        let st: Vec<_> = dec.exporters().collect();
        assert_eq!(st[0].missing, 1);
        assert_eq!(st[0].records, 2);
        assert_eq!(dec.drain_log().len(), 1);
    }

    #[test]
    fn hostile_datagrams_are_counted_not_fatal() {
        let mut dec = Decoder::new();
        let good = v5_datagram(0, &[(1, 2, 3, 4, 5, 6)]);
        let mut inputs: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 9],
            vec![0, 10, 0xff, 0xff],
            vec![0, 5, 0xff, 0xff],
        ];
        for cut in 0..good.len() {
            inputs.push(good[..cut].to_vec());
        }
        // v9 header claiming many records, then a flowset longer than the datagram.
        inputs.push([&[0, 9, 0xff, 0xff][..], &[0; 16], &[1, 0, 0xff, 0xff]].concat());
        for d in &inputs {
            dec.feed(addr(), d, 0);
        }
        assert!(dec.counters.malformed > 0);
        assert_eq!(dec.counters.datagrams, inputs.len() as u64);
        assert!(dec.drain_log().len() <= MAX_LOG);
    }

    #[test]
    fn exporter_state_is_bounded() {
        let mut dec = Decoder::new();
        for i in 0..(MAX_EXPORTERS as u32 + 100) {
            let from = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)), 2055);
            dec.feed(from, &v5_datagram(0, &[(1, 2, 3, 4, 5, 6)]), i64::from(i));
        }
        assert!(dec.exporters.len() <= MAX_EXPORTERS);
    }

    // Hand-built v9 and IPFIX messages with sampler options.

    /// A set (IPFIX) or flowset (v9): id, length, body padded to 4 bytes.
    fn set(id: u16, body: &[u8]) -> Vec<u8> {
        let mut b = body.to_vec();
        while b.len() % 4 != 0 {
            b.push(0);
        }
        [
            &id.to_be_bytes()[..],
            &((b.len() + 4) as u16).to_be_bytes(),
            &b,
        ]
        .concat()
    }

    fn fields(spec: &[(u16, u16)]) -> Vec<u8> {
        spec.iter()
            .flat_map(|&(t, l)| [t.to_be_bytes(), l.to_be_bytes()].concat())
            .collect()
    }

    fn v9_message(domain: u32, seq: u32, sets: &[Vec<u8>]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&9u16.to_be_bytes());
        d.extend_from_slice(&(sets.len() as u16).to_be_bytes());
        d.extend_from_slice(&100_000u32.to_be_bytes());
        d.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&domain.to_be_bytes());
        for s in sets {
            d.extend_from_slice(s);
        }
        d
    }

    fn ipfix_message(domain: u32, seq: u32, sets: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = sets.concat();
        let mut d = Vec::new();
        d.extend_from_slice(&10u16.to_be_bytes());
        d.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
        d.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&domain.to_be_bytes());
        d.extend_from_slice(&body);
        d
    }

    /// Data template 256: addresses, ports, protocol, packets, bytes, and a sampler id of
    /// `id_len` bytes under field `id_field` (0: none).
    fn flow_template(id_field: u16, id_len: u16) -> Vec<u8> {
        let mut spec = vec![(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4)];
        if id_field != 0 {
            spec.push((id_field, id_len));
        }
        [
            &256u16.to_be_bytes()[..],
            &(spec.len() as u16).to_be_bytes(),
            &fields(&spec),
        ]
        .concat()
    }

    /// One flow record of `flow_template`: 10 packets, 1000 bytes.
    fn flow(sport: u16, sampler: Option<&[u8]>) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&0x0a00_0001u32.to_be_bytes());
        r.extend_from_slice(&0x0a00_0002u32.to_be_bytes());
        r.extend_from_slice(&sport.to_be_bytes());
        r.extend_from_slice(&3333u16.to_be_bytes());
        r.push(6);
        r.extend_from_slice(&10u32.to_be_bytes());
        r.extend_from_slice(&1000u32.to_be_bytes());
        if let Some(id) = sampler {
            r.extend_from_slice(id);
        }
        r
    }

    /// v9 options template 300 (Cisco): scope System (4 bytes), then option fields.
    fn v9_options_template(options: &[(u16, u16)]) -> Vec<u8> {
        let scope = fields(&[(1, 4)]);
        let opts = fields(options);
        let mut body = 300u16.to_be_bytes().to_vec();
        body.extend_from_slice(&(scope.len() as u16).to_be_bytes());
        body.extend_from_slice(&(opts.len() as u16).to_be_bytes());
        body.extend_from_slice(&scope);
        body.extend_from_slice(&opts);
        set(1, &body)
    }

    /// IPFIX options template 300: `scope` scope fields, then the rest.
    fn ipfix_options_template(spec: &[(u16, u16)], scope: u16) -> Vec<u8> {
        let mut body = 300u16.to_be_bytes().to_vec();
        body.extend_from_slice(&(spec.len() as u16).to_be_bytes());
        body.extend_from_slice(&scope.to_be_bytes());
        body.extend_from_slice(&fields(spec));
        set(3, &body)
    }

    /// (source port, packets, bytes, sampling rate) of each decoded record.
    fn decoded(dec: &mut Decoder) -> Vec<(u16, u64, u64, f64)> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float64Type, UInt16Type, UInt64Type};
        let b = dec.take();
        let col = |n: &str| b.column_by_name(n).unwrap().clone();
        let (sport, packets) = (col("src_port"), col("packets"));
        let (bytes, rate) = (col("bytes"), col("sampling_rate"));
        (0..b.num_rows())
            .map(|i| {
                (
                    sport.as_primitive::<UInt16Type>().value(i),
                    packets.as_primitive::<UInt64Type>().value(i),
                    bytes.as_primitive::<UInt64Type>().value(i),
                    rate.as_primitive::<Float64Type>().value(i),
                )
            })
            .collect()
    }

    #[test]
    fn v9_records_take_the_rate_of_the_sampler_they_name() {
        let mut dec = Decoder::new();
        // FLOW_SAMPLER_ID (1 byte), FLOW_SAMPLER_MODE (1), FLOW_SAMPLER_RANDOM_INTERVAL (4).
        let opts = v9_options_template(&[(48, 1), (49, 1), (50, 4)]);
        let sampler = |id: u8, n: u32| [&[0, 0, 0, 0][..], &[id, 2], &n.to_be_bytes()].concat();
        let options = set(300, &[sampler(1, 10), sampler(2, 100)].concat());
        let template = set(0, &flow_template(48, 1));
        let data = set(
            256,
            &[
                flow(1, Some(&[1])),
                flow(2, Some(&[2])),
                flow(3, Some(&[7])),
            ]
            .concat(),
        );
        dec.feed(
            addr(),
            &v9_message(1, 0, &[opts, options, template, data]),
            0,
        );
        assert_eq!(
            decoded(&mut dec),
            vec![
                (1, 100, 10_000, 10.0),
                (2, 1000, 100_000, 100.0),
                (3, 10, 1000, 1.0)
            ]
        );
        assert_eq!(dec.exporters().next().unwrap().samplers(), 2);
    }

    #[test]
    fn unannounced_rate_scales_only_what_announces_nothing() {
        // v5: a header with no sampling bits takes the collector's assumed rate; one that
        // announces 1 in 5 keeps its own.
        let mut dec = Decoder::new();
        dec.unannounced_rate = 20.0;
        let record = [(0x0a000001, 0x0a000002, 1, 3333, 40_000, 90_000)];
        dec.feed(addr(), &v5_datagram(0, &record), 0);
        // The header's low 14 bits say N whatever its mode bits; 0 says nothing.
        for (seq, field) in [(1u32, 0x4000u16 | 5), (2, 5), (3, 0x4001), (4, 0x8000)] {
            let mut announced = v5_datagram(seq, &record);
            announced[22..24].copy_from_slice(&field.to_be_bytes());
            dec.feed(addr(), &announced, 0);
        }
        assert_eq!(
            decoded(&mut dec),
            vec![
                (1, 140, 14_000, 20.0),
                (1, 35, 3500, 5.0),
                (1, 35, 3500, 5.0),
                (1, 7, 700, 1.0),
                (1, 140, 14_000, 20.0)
            ]
        );
        // v9, read by the parser and then directly: records of an exporter that sends
        // no sampler options take the assumed rate; one naming its sampler, that one's.
        for direct in [true, false] {
            let mut dec = Decoder::new();
            dec.read_directly = direct;
            dec.unannounced_rate = 20.0;
            let template = set(0, &flow_template(0, 0));
            let data = set(256, &flow(1, None));
            dec.feed(addr(), &v9_message(0, 1, &[template, data.clone()]), 0);
            dec.feed(addr(), &v9_message(0, 2, &[data]), 0);
            assert_eq!(
                decoded(&mut dec),
                vec![(1, 200, 20_000, 20.0), (1, 200, 20_000, 20.0)]
            );
            assert_eq!(dec.counters.direct, u64::from(direct));
        }
        let mut dec = Decoder::new();
        dec.unannounced_rate = 20.0;
        let opts = v9_options_template(&[(48, 1), (49, 1), (50, 4)]);
        let sampler = [&[0, 0, 0, 0][..], &[1, 2], &10u32.to_be_bytes()].concat();
        let message = [
            opts,
            set(300, &sampler),
            set(0, &flow_template(48, 1)),
            set(256, &flow(1, Some(&[1]))),
        ];
        dec.feed(addr(), &v9_message(1, 0, &message), 0);
        assert_eq!(decoded(&mut dec), vec![(1, 100, 10_000, 10.0)]);
    }

    #[test]
    fn v9_exporter_rate_is_per_source_id() {
        let mut dec = Decoder::new();
        let opts = v9_options_template(&[(34, 4), (35, 1)]);
        let options = set(
            300,
            &[&[0, 0, 0, 0][..], &50u32.to_be_bytes(), &[1]].concat(),
        );
        let template = set(0, &flow_template(0, 0));
        let data = set(256, &flow(1, None));
        dec.feed(
            addr(),
            &v9_message(1, 0, &[opts, options, template.clone(), data.clone()]),
            0,
        );
        // Source id 2 of the same router said nothing about sampling.
        dec.feed(addr(), &v9_message(2, 0, &[template, data.clone()]), 0);
        // Later messages of source 1 keep its rate.
        dec.feed(addr(), &v9_message(1, 1, &[data]), 0);
        let rates: Vec<f64> = decoded(&mut dec).iter().map(|r| r.3).collect();
        assert_eq!(rates, vec![50.0, 1.0, 50.0]);
    }

    #[test]
    fn ipfix_selector_options_scale_the_records_naming_them() {
        let mut dec = Decoder::new();
        // Scope selectorId (8); selectorAlgorithm 1 (systematic count-based),
        // samplingPacketInterval 1, samplingPacketSpace 99: 1 in 100.
        let opts = ipfix_options_template(&[(302, 8), (304, 2), (305, 4), (306, 4)], 1);
        let selector = [
            &5u64.to_be_bytes()[..],
            &1u16.to_be_bytes(),
            &1u32.to_be_bytes(),
            &99u32.to_be_bytes(),
        ]
        .concat();
        let options = set(300, &selector);
        let template = set(2, &flow_template(302, 8));
        let data = set(
            256,
            &[
                flow(1, Some(&5u64.to_be_bytes())),
                flow(2, Some(&6u64.to_be_bytes())),
            ]
            .concat(),
        );
        dec.feed(
            addr(),
            &ipfix_message(7, 0, &[opts, options, template, data]),
            0,
        );
        // Selector 6 is unknown; the only selector described is the exporter's: 1 in 100.
        assert_eq!(
            decoded(&mut dec),
            vec![(1, 1000, 100_000, 100.0), (2, 1000, 100_000, 100.0)]
        );
        assert_eq!(dec.counters.malformed, 0);
    }

    #[test]
    fn ipfix_domain_rate_and_a_records_own_fields() {
        let mut dec = Decoder::new();
        // Scope observationDomainId (149), samplerRandomInterval 20: the domain's rate.
        let opts = ipfix_options_template(&[(149, 4), (50, 4)], 1);
        let options = set(
            300,
            &[&7u32.to_be_bytes()[..], &20u32.to_be_bytes()].concat(),
        );
        // A template whose records carry samplingInterval (34) themselves.
        let template = set(2, &flow_template(34, 4));
        let data = set(
            256,
            &[
                flow(1, Some(&0u32.to_be_bytes())),
                flow(2, Some(&4u32.to_be_bytes())),
            ]
            .concat(),
        );
        dec.feed(addr(), &ipfix_message(7, 0, &[opts, options]), 0);
        dec.feed(addr(), &ipfix_message(7, 1, &[template]), 0);
        dec.feed(addr(), &ipfix_message(7, 2, &[data]), 0);
        let rates: Vec<f64> = decoded(&mut dec).iter().map(|r| r.3).collect();
        // samplingInterval 0 in a record means unsampled; 4 means 1 in 4.
        assert_eq!(rates, vec![1.0, 4.0]);
    }

    #[test]
    fn hostile_sampling_values_are_capped_counted_and_bounded() {
        let mut dec = Decoder::new();
        let opts = v9_options_template(&[(48, 4), (50, 4)]);
        let sampler =
            |id: u32, n: u32| [&[0, 0, 0, 0][..], &id.to_be_bytes(), &n.to_be_bytes()].concat();
        // Sampler 1 claims 1 in 4 billion; then far more samplers than are kept.
        let mut many = sampler(1, u32::MAX);
        for id in 2..(crate::sampling::MAX_SAMPLERS as u32 + 50) {
            many.extend_from_slice(&sampler(id, 0));
        }
        let template = set(0, &flow_template(48, 4));
        let data = set(
            256,
            &[
                flow(1, Some(&1u32.to_be_bytes())),
                flow(2, Some(&2u32.to_be_bytes())),
            ]
            .concat(),
        );
        dec.feed(
            addr(),
            &v9_message(1, 0, &[opts, set(300, &many), template, data]),
            0,
        );
        let got = decoded(&mut dec);
        assert_eq!(got[0].3, crate::sampling::MAX_RATE);
        assert_eq!(got[1].3, 1.0, "an interval of 0 is 1");
        let st = dec.exporters().next().unwrap();
        assert!(st.samplers() <= crate::sampling::MAX_SAMPLERS);
        assert!(st.malformed >= 1);
        assert!(dec.counters.malformed >= 1);
        assert!(dec.drain_log().iter().any(|m| m.contains("samplers")));
    }
}
