//! Pairing of text records: Arrow batches of the export schema (Python's `Pairer`).

use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt16Builder, UInt64Builder,
    UInt8Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, TimestampMicrosecondType, UInt16Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::shared::{emit_alone, pair_into, Both, Flow, FlowSink, Rec, Scratch};

#[derive(Clone, Debug, PartialEq)]
pub struct OneWay {
    pub exporter: String,
    pub first_us: i64,
    pub last_us: i64,
    pub proto: u8,
    pub src: String,
    pub src_port: u16,
    pub dst: String,
    pub dst_port: u16,
    pub packets: u64,
    pub bytes: u64,
    pub tcp_flags: u8,
    pub reverse: Option<(u64, u64)>,
    /// 1 in N packets sampled (counts already scaled); 1 unsampled.
    pub sampling_rate: f64,
}

impl<'a> Rec<&'a str> {
    fn of(r: &'a OneWay) -> Self {
        Rec {
            exporter: &r.exporter,
            first_us: r.first_us,
            last_us: r.last_us,
            proto: r.proto,
            src: &r.src,
            src_port: r.src_port,
            dst: &r.dst,
            dst_port: r.dst_port,
            packets: r.packets,
            bytes: r.bytes,
            tcp_flags: r.tcp_flags,
            reverse: r.reverse,
            sampling_rate: r.sampling_rate,
        }
    }

    fn owned(&self) -> OneWay {
        OneWay {
            exporter: self.exporter.to_string(),
            first_us: self.first_us,
            last_us: self.last_us,
            proto: self.proto,
            src: self.src.to_string(),
            src_port: self.src_port,
            dst: self.dst.to_string(),
            dst_port: self.dst_port,
            packets: self.packets,
            bytes: self.bytes,
            tcp_flags: self.tcp_flags,
            reverse: self.reverse,
            sampling_rate: self.sampling_rate,
        }
    }
}

/// Output schema: the two-way columns of the flow record that a flow export can fill.
pub fn paired_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("exporter", DataType::Utf8, false),
        Field::new("first_seen", ts.clone(), false),
        Field::new("last_seen", ts, false),
        Field::new("ip_proto", DataType::UInt8, false),
        Field::new("client_ip", DataType::Utf8, false),
        Field::new("client_port", DataType::UInt16, false),
        Field::new("server_ip", DataType::Utf8, false),
        Field::new("server_port", DataType::UInt16, false),
        Field::new("c2s_packets", DataType::UInt64, false),
        Field::new("s2c_packets", DataType::UInt64, false),
        Field::new("c2s_bytes", DataType::UInt64, false),
        Field::new("s2c_bytes", DataType::UInt64, false),
        Field::new("tcp_flags", DataType::UInt8, false),
        Field::new("sampling_rate", DataType::Float64, false),
    ]))
}

#[derive(Default)]
struct PairedBuilder {
    exporter: StringBuilder,
    first: TimestampMicrosecondBuilder,
    last: TimestampMicrosecondBuilder,
    proto: UInt8Builder,
    client: StringBuilder,
    client_port: UInt16Builder,
    server: StringBuilder,
    server_port: UInt16Builder,
    c2s_packets: UInt64Builder,
    s2c_packets: UInt64Builder,
    c2s_bytes: UInt64Builder,
    s2c_bytes: UInt64Builder,
    flags: UInt8Builder,
    sampling_rate: Float64Builder,
}

impl FlowSink<&str> for PairedBuilder {
    fn flow(&mut self, f: Flow<&str>) {
        self.exporter.append_value(f.exporter);
        self.first.append_value(f.first_us);
        self.last.append_value(f.last_us);
        self.proto.append_value(f.proto);
        self.client.append_value(f.client);
        self.client_port.append_value(f.client_port);
        self.server.append_value(f.server);
        self.server_port.append_value(f.server_port);
        self.c2s_packets.append_value(f.c2s_packets);
        self.s2c_packets.append_value(f.s2c_packets);
        self.c2s_bytes.append_value(f.c2s_bytes);
        self.s2c_bytes.append_value(f.s2c_bytes);
        self.flags.append_value(f.tcp_flags);
        self.sampling_rate.append_value(f.sampling_rate);
    }
}

impl PairedBuilder {
    fn finish(&mut self) -> RecordBatch {
        let utc = Some(Arc::<str>::from("UTC"));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.exporter.finish()),
            Arc::new(self.first.finish().with_timezone_opt(utc.clone())),
            Arc::new(self.last.finish().with_timezone_opt(utc)),
            Arc::new(self.proto.finish()),
            Arc::new(self.client.finish()),
            Arc::new(self.client_port.finish()),
            Arc::new(self.server.finish()),
            Arc::new(self.server_port.finish()),
            Arc::new(self.c2s_packets.finish()),
            Arc::new(self.s2c_packets.finish()),
            Arc::new(self.c2s_bytes.finish()),
            Arc::new(self.s2c_bytes.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.sampling_rate.finish()),
        ];
        RecordBatch::try_new(paired_schema(), columns).expect("paired columns match their schema")
    }
}

/// Pairing of text records (Arrow batches of the export schema, from Python).
pub struct Pairer {
    held: Vec<OneWay>,
    max_held: usize,
}

impl Pairer {
    pub fn new(max_held: usize) -> Self {
        Pairer {
            held: Vec::new(),
            max_held,
        }
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Pair the held records and these; what is left alone from these is held (up to
    /// `max_held`), the rest goes out.
    pub fn push(&mut self, fresh: &[Rec<&str>]) -> RecordBatch {
        // Fresh first, then the held (the numeric pairer's order: both pair alike).
        let older = std::mem::take(&mut self.held);
        let held: Vec<Rec<&str>> = older.iter().map(Rec::of).collect();
        let records = Both { fresh, held: &held };
        let mut out = PairedBuilder::default();
        let keep = pair_into(
            records,
            None,
            self.max_held,
            &mut out,
            &mut Scratch::default(),
        );
        self.held = keep.into_iter().map(|(i, _)| fresh[i].owned()).collect();
        out.finish()
    }

    /// Everything still held, alone.
    pub fn flush(&mut self) -> RecordBatch {
        let mut out = PairedBuilder::default();
        for r in std::mem::take(&mut self.held) {
            let r = Rec::of(&r);
            emit_alone(&mut out, &r, r.sent_by_lower());
        }
        out.finish()
    }
}

/// One-way records borrowed from an Arrow batch of the export schema
/// (netflow::export_schema; `exporter` and `rev_*` may be absent, text must be Utf8).
fn text_at(a: &arrow_array::StringArray, i: usize) -> &str {
    if a.is_null(i) {
        ""
    } else {
        a.value(i)
    }
}

pub fn records_from_batch(batch: &RecordBatch) -> Result<Vec<Rec<&str>>, String> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| format!("no column {name}"))
    };
    let text = |name: &str| -> Result<&arrow_array::StringArray, String> {
        col(name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| format!("column {name} is not text"))
    };
    let ts = |name: &str| -> Result<Vec<i64>, String> {
        let c = arrow_cast::cast(
            col(name)?,
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )
        .map_err(|e| e.to_string())?;
        let a = c.as_primitive::<TimestampMicrosecondType>();
        Ok((0..a.len())
            .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
            .collect())
    };
    macro_rules! numbers {
        ($name:expr, $t:ty, $dt:expr) => {{
            let c = arrow_cast::cast(col($name)?, &$dt).map_err(|e| e.to_string())?;
            let a = c.as_primitive::<$t>();
            (0..a.len())
                .map(|i| if a.is_null(i) { None } else { Some(a.value(i)) })
                .collect::<Vec<_>>()
        }};
    }
    let n = batch.num_rows();
    let exporter = match batch.column_by_name("exporter") {
        Some(_) => Some(text("exporter")?),
        None => None,
    };
    let (src, dst) = (text("src_ip")?, text("dst_ip")?);
    let (first, last) = (ts("first_seen")?, ts("last_seen")?);
    let proto = numbers!("ip_proto", UInt8Type, DataType::UInt8);
    let sport = numbers!("src_port", UInt16Type, DataType::UInt16);
    let dport = numbers!("dst_port", UInt16Type, DataType::UInt16);
    let packets = numbers!("packets", UInt64Type, DataType::UInt64);
    let bytes = numbers!("bytes", UInt64Type, DataType::UInt64);
    let flags = numbers!("tcp_flags", UInt8Type, DataType::UInt8);
    let has_rev = batch.column_by_name("rev_packets").is_some()
        && batch.column_by_name("rev_bytes").is_some();
    let (rev_p, rev_b) = if has_rev {
        (
            numbers!("rev_packets", UInt64Type, DataType::UInt64),
            numbers!("rev_bytes", UInt64Type, DataType::UInt64),
        )
    } else {
        (vec![None; n], vec![None; n])
    };
    // Sources that cannot know (CSV of one-way records) have no column: unsampled.
    let rates = match batch.column_by_name("sampling_rate") {
        Some(_) => numbers!("sampling_rate", Float64Type, DataType::Float64),
        None => vec![None; n],
    };
    Ok((0..n)
        .map(|i| Rec {
            exporter: exporter.map_or("", |e| text_at(e, i)),
            first_us: first[i],
            last_us: last[i],
            proto: proto[i].unwrap_or(0),
            src: text_at(src, i),
            src_port: sport[i].unwrap_or(0),
            dst: text_at(dst, i),
            dst_port: dport[i].unwrap_or(0),
            packets: packets[i].unwrap_or(0),
            bytes: bytes[i].unwrap_or(0),
            tcp_flags: flags[i].unwrap_or(0),
            reverse: rev_p[i].zip(rev_b[i]),
            sampling_rate: rates[i].filter(|r| r.is_finite()).unwrap_or(1.0).max(1.0),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(src: &str, sport: u16, dst: &str, dport: u16, first: i64, packets: u64) -> OneWay {
        OneWay {
            exporter: "e".into(),
            first_us: first,
            last_us: first + 10,
            proto: 6,
            src: src.into(),
            src_port: sport,
            dst: dst.into(),
            dst_port: dport,
            packets,
            bytes: packets * 100,
            tcp_flags: 0x12,
            reverse: None,
            sampling_rate: 1.0,
        }
    }

    fn push(p: &mut Pairer, records: Vec<OneWay>) -> RecordBatch {
        let recs: Vec<Rec<&str>> = records.iter().map(Rec::of).collect();
        p.push(&recs)
    }

    fn column_u64(b: &RecordBatch, name: &str) -> Vec<u64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<UInt64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn directions_pair_and_the_client_is_the_ephemeral_port() {
        let mut p = Pairer::new(0);
        let b = push(
            &mut p,
            vec![
                rec("10.0.0.2", 3333, "10.0.0.1", 40000, 5, 3),
                rec("10.0.0.1", 40000, "10.0.0.2", 3333, 1, 7),
            ],
        );
        assert_eq!(b.num_rows(), 1);
        assert_eq!(
            b.column_by_name("client_ip")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            "10.0.0.1"
        );
        assert_eq!(column_u64(&b, "c2s_packets"), vec![7]);
        assert_eq!(column_u64(&b, "s2c_packets"), vec![3]);
    }

    #[test]
    fn a_lone_record_waits_one_batch_then_goes_alone() {
        let mut p = Pairer::new(10);
        assert_eq!(
            push(&mut p, vec![rec("10.0.0.1", 40000, "10.0.0.2", 3333, 1, 7)]).num_rows(),
            0
        );
        assert_eq!(p.held(), 1);
        let b = push(&mut p, vec![rec("10.0.0.2", 3333, "10.0.0.1", 40000, 2, 3)]);
        assert_eq!((b.num_rows(), p.held()), (1, 0));
        assert_eq!(
            push(&mut p, vec![rec("10.0.0.9", 50000, "10.0.0.2", 443, 1, 1)]).num_rows(),
            0
        );
        assert_eq!(push(&mut p, vec![]).num_rows(), 1, "held once, then alone");
        assert_eq!(p.flush().num_rows(), 0);
    }

    #[test]
    fn repeated_exports_pair_first_with_first() {
        let mut p = Pairer::new(0);
        let b = push(
            &mut p,
            vec![
                rec("10.0.0.1", 40000, "10.0.0.2", 3333, 1, 1),
                rec("10.0.0.1", 40000, "10.0.0.2", 3333, 100, 2),
                rec("10.0.0.2", 3333, "10.0.0.1", 40000, 101, 20),
                rec("10.0.0.2", 3333, "10.0.0.1", 40000, 2, 10),
            ],
        );
        let mut pairs: Vec<_> = column_u64(&b, "c2s_packets")
            .into_iter()
            .zip(column_u64(&b, "s2c_packets"))
            .collect();
        pairs.sort();
        assert_eq!(pairs, vec![(1, 10), (2, 20)]);
    }

    #[test]
    fn more_lone_records_than_may_be_held_all_go_on() {
        let mut p = Pairer::new(1);
        let b = push(
            &mut p,
            vec![
                rec("10.0.0.1", 40000, "10.0.0.2", 3333, 1, 1),
                rec("10.0.0.3", 40000, "10.0.0.2", 3333, 1, 1),
            ],
        );
        assert_eq!((b.num_rows(), p.held()), (2, 0));
    }
}
