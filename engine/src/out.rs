//! Arrow output: the flow table and the message table handed to Python.
//! The column names and types are the engine half of the DESIGN flow schema;
//! `minewatch.model.schema` mirrors them and must change with them.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float32Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder, UInt16Builder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::bursts::BurstSummary;

/// One finished flow, as the flow table exports it.
#[derive(Clone, Debug, Default)]
pub struct FlowRecord {
    pub flow_id: u64,
    pub conn_id: u64,
    pub first_us: i64,
    pub last_us: i64,
    pub proto: u8,
    pub client_ip: String,
    pub client_port: u16,
    pub server_ip: String,
    pub server_port: u16,
    pub vlan: u16,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub payload_bytes: [u64; 2],
    pub payload_packets: [u32; 2],
    pub tcp_flags: u8,
    pub end_reason: &'static str,
    pub application: Option<&'static str>,
    pub sni: Option<String>,
    pub http_host: Option<String>,
    pub http_method: Option<String>,
    pub http_user_agent: Option<String>,
    pub ja3: Option<String>,
    pub ja4: Option<String>,
    pub alpn: Option<String>,
    pub dns_query: Option<String>,
    pub dns_answers: Option<Vec<String>>,
    pub dns_rcode: Option<u8>,
    /// The name an earlier DNS answer in the same scan gave the server's address.
    pub resolved_name: Option<String>,
    pub first_payload: [Option<u32>; 2],
    pub bursts: BurstSummary,
    pub messages: u32,
    pub messages_truncated: bool,
    pub stream_gaps: u32,
}

fn ts_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    )
}

pub fn flow_schema() -> SchemaRef {
    use DataType::*;
    let s = |n: &str| Field::new(n, Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new("flow_id", UInt64, false),
        Field::new("conn_id", UInt64, false),
        ts_field("first_seen"),
        ts_field("last_seen"),
        Field::new("ip_proto", UInt8, false),
        Field::new("client_ip", Utf8, false),
        Field::new("client_port", UInt16, false),
        Field::new("server_ip", Utf8, false),
        Field::new("server_port", UInt16, false),
        Field::new("vlan", UInt16, false),
        Field::new("c2s_packets", UInt64, false),
        Field::new("s2c_packets", UInt64, false),
        Field::new("c2s_bytes", UInt64, false),
        Field::new("s2c_bytes", UInt64, false),
        Field::new("c2s_payload_bytes", UInt64, false),
        Field::new("s2c_payload_bytes", UInt64, false),
        Field::new("c2s_payload_packets", UInt32, false),
        Field::new("s2c_payload_packets", UInt32, false),
        Field::new("tcp_flags", UInt8, false),
        Field::new("end_reason", Utf8, false),
        s("application"),
        s("sni"),
        s("http_host"),
        s("http_method"),
        s("http_user_agent"),
        s("ja3"),
        s("ja4"),
        s("alpn"),
        s("dns_query"),
        Field::new(
            "dns_answers",
            List(Arc::new(Field::new("item", Utf8, true))),
            true,
        ),
        Field::new("dns_rcode", UInt8, true),
        s("resolved_name"),
        Field::new("c2s_first_payload", UInt32, true),
        Field::new("s2c_first_payload", UInt32, true),
        Field::new("messages", UInt32, false),
        Field::new("messages_truncated", Boolean, false),
        Field::new("stream_gaps", UInt32, false),
        // Payload timing (bursts.rs): nullable, since flow exports carry none of it.
        Field::new("c2s_bursts", UInt32, true),
        Field::new("s2c_bursts", UInt32, true),
        Field::new("s2c_pushes", UInt32, true),
        Field::new("small_answers", UInt32, true),
        Field::new("c2s_burst_mean", Float32, true),
        Field::new("s2c_burst_mean", Float32, true),
        Field::new("c2s_burst_cv", Float32, true),
        Field::new("s2c_burst_cv", Float32, true),
        Field::new("c2s_gap_cv", Float32, true),
        Field::new("s2c_gap_cv", Float32, true),
        Field::new("c2s_gap_peak", Float32, true),
        Field::new("s2c_gap_peak", Float32, true),
    ]))
}

pub fn message_schema() -> SchemaRef {
    use DataType::*;
    Arc::new(Schema::new(vec![
        Field::new("conn_id", UInt64, false),
        Field::new("index", UInt32, false),
        ts_field("ts"),
        Field::new("direction", UInt8, false),
        Field::new("kind", UInt8, false),
        Field::new("data", Binary, false),
        Field::new("truncated", Boolean, false),
    ]))
}

fn ts_builder() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

/// Accumulates finished flows into Arrow arrays.
pub struct FlowBuilder {
    rows: Vec<FlowRecord>,
}

impl Default for FlowBuilder {
    fn default() -> Self {
        FlowBuilder { rows: Vec::new() }
    }
}

impl FlowBuilder {
    pub fn push(&mut self, r: FlowRecord) {
        self.rows.push(r);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Build a batch of everything pushed so far and start again.
    pub fn finish(&mut self) -> RecordBatch {
        let rows = std::mem::take(&mut self.rows);
        let n = rows.len();
        let (mut fid, mut cid) = (
            UInt64Builder::with_capacity(n),
            UInt64Builder::with_capacity(n),
        );
        let (mut first, mut last) = (ts_builder(), ts_builder());
        let mut proto = UInt8Builder::with_capacity(n);
        let (mut cip, mut sip) = (StringBuilder::new(), StringBuilder::new());
        let (mut cport, mut sport, mut vlan) = (
            UInt16Builder::new(),
            UInt16Builder::new(),
            UInt16Builder::new(),
        );
        let mut u64s: Vec<UInt64Builder> =
            (0..6).map(|_| UInt64Builder::with_capacity(n)).collect();
        let mut u32s: Vec<UInt32Builder> =
            (0..2).map(|_| UInt32Builder::with_capacity(n)).collect();
        let mut flags = UInt8Builder::new();
        let mut end = StringBuilder::new();
        let mut strs: Vec<StringBuilder> = (0..9).map(|_| StringBuilder::new()).collect();
        let mut answers = ListBuilder::new(StringBuilder::new());
        let mut rcode = UInt8Builder::new();
        let mut resolved = StringBuilder::new();
        let (mut fp0, mut fp1) = (UInt32Builder::new(), UInt32Builder::new());
        let mut msgs = UInt32Builder::new();
        let mut trunc = BooleanBuilder::new();
        let mut gaps = UInt32Builder::new();
        let mut burst_u32s: Vec<UInt32Builder> =
            (0..4).map(|_| UInt32Builder::with_capacity(n)).collect();
        let mut burst_f32s: Vec<Float32Builder> =
            (0..8).map(|_| Float32Builder::with_capacity(n)).collect();
        for r in rows {
            fid.append_value(r.flow_id);
            cid.append_value(r.conn_id);
            first.append_value(r.first_us);
            last.append_value(r.last_us);
            proto.append_value(r.proto);
            cip.append_value(&r.client_ip);
            cport.append_value(r.client_port);
            sip.append_value(&r.server_ip);
            sport.append_value(r.server_port);
            vlan.append_value(r.vlan);
            for (i, v) in [
                r.packets[0],
                r.packets[1],
                r.bytes[0],
                r.bytes[1],
                r.payload_bytes[0],
                r.payload_bytes[1],
            ]
            .into_iter()
            .enumerate()
            {
                u64s[i].append_value(v);
            }
            u32s[0].append_value(r.payload_packets[0]);
            u32s[1].append_value(r.payload_packets[1]);
            flags.append_value(r.tcp_flags);
            end.append_value(r.end_reason);
            let texts = [
                r.application.map(str::to_string),
                r.sni,
                r.http_host,
                r.http_method,
                r.http_user_agent,
                r.ja3,
                r.ja4,
                r.alpn,
                r.dns_query,
            ];
            for (b, v) in strs.iter_mut().zip(texts) {
                b.append_option(v);
            }
            match r.dns_answers {
                Some(list) => {
                    for a in list {
                        answers.values().append_value(a);
                    }
                    answers.append(true);
                }
                None => answers.append(false),
            }
            rcode.append_option(r.dns_rcode);
            resolved.append_option(r.resolved_name);
            fp0.append_option(r.first_payload[0]);
            fp1.append_option(r.first_payload[1]);
            msgs.append_value(r.messages);
            trunc.append_value(r.messages_truncated);
            gaps.append_value(r.stream_gaps);
            let b = r.bursts;
            for (builder, v) in
                burst_u32s
                    .iter_mut()
                    .zip([b.count[0], b.count[1], b.pushes, b.small_answers])
            {
                builder.append_value(v);
            }
            let floats = [
                b.size_mean[0],
                b.size_mean[1],
                b.size_cv[0],
                b.size_cv[1],
                b.gap_cv[0],
                b.gap_cv[1],
                b.gap_peak[0],
                b.gap_peak[1],
            ];
            for (builder, v) in burst_f32s.iter_mut().zip(floats) {
                builder.append_option(v);
            }
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(fid.finish()),
            Arc::new(cid.finish()),
            Arc::new(first.finish()),
            Arc::new(last.finish()),
            Arc::new(proto.finish()),
            Arc::new(cip.finish()),
            Arc::new(cport.finish()),
            Arc::new(sip.finish()),
            Arc::new(sport.finish()),
            Arc::new(vlan.finish()),
        ];
        cols.extend(u64s.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        cols.extend(u32s.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        cols.push(Arc::new(flags.finish()));
        cols.push(Arc::new(end.finish()));
        cols.extend(strs.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        cols.push(Arc::new(answers.finish()));
        cols.push(Arc::new(rcode.finish()));
        cols.push(Arc::new(resolved.finish()));
        cols.push(Arc::new(fp0.finish()));
        cols.push(Arc::new(fp1.finish()));
        cols.push(Arc::new(msgs.finish()));
        cols.push(Arc::new(trunc.finish()));
        cols.push(Arc::new(gaps.finish()));
        cols.extend(
            burst_u32s
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        cols.extend(
            burst_f32s
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        RecordBatch::try_new(flow_schema(), cols).expect("flow batch matches its schema")
    }
}

/// Accumulates cut messages into Arrow arrays.
pub struct MessageBuilder {
    conn: UInt64Builder,
    index: UInt32Builder,
    ts: TimestampMicrosecondBuilder,
    dir: UInt8Builder,
    kind: UInt8Builder,
    data: BinaryBuilder,
    truncated: BooleanBuilder,
    rows: usize,
}

impl Default for MessageBuilder {
    fn default() -> Self {
        MessageBuilder {
            conn: UInt64Builder::new(),
            index: UInt32Builder::new(),
            ts: ts_builder(),
            dir: UInt8Builder::new(),
            kind: UInt8Builder::new(),
            data: BinaryBuilder::new(),
            truncated: BooleanBuilder::new(),
            rows: 0,
        }
    }
}

impl MessageBuilder {
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        conn_id: u64,
        index: u32,
        ts_us: i64,
        direction: u8,
        kind: u8,
        data: &[u8],
        truncated: bool,
    ) {
        self.conn.append_value(conn_id);
        self.index.append_value(index);
        self.ts.append_value(ts_us);
        self.dir.append_value(direction);
        self.kind.append_value(kind);
        self.data.append_value(data);
        self.truncated.append_value(truncated);
        self.rows += 1;
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn finish(&mut self) -> RecordBatch {
        self.rows = 0;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.conn.finish()),
            Arc::new(self.index.finish()),
            Arc::new(self.ts.finish()),
            Arc::new(self.dir.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.data.finish()),
            Arc::new(self.truncated.finish()),
        ];
        RecordBatch::try_new(message_schema(), cols).expect("message batch matches its schema")
    }
}
