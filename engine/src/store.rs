//! Paired flows written as the store's flow files, from Rust: the same files
//! src/minewatch/store (`Store.write_flows`, `layout.write_atomically`) writes from Python,
//! for the store-first collector, which never hands a record to Python.
//!
//! Mirrors store/layout.py exactly: one file per UTC hour the flows start in (hours in
//! the order they first occur, rows in their order), at
//! `flows/date=YYYY-MM-DD/hour=HH/part-<tag>-<16 hex>.parquet`, written as
//! `.part-….parquet.tmp`, synced, renamed, and the folder synced; LZ4_RAW pages, list parts named `element`, the schema
//! version under `minewatch.schema_version` in the Parquet and Arrow metadata. The
//! columns are the stored schema Python hands over (STORED_FLOW_SCHEMA): what a flow
//! export fills is filled, the rest is null, as `sources/flowexport.to_record_schema`,
//! `collect._as_stored` and `store.with_address_numbers` make it.

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::fs::File;
use std::hash::BuildHasher;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::builder::{StringBuilder, UInt32Builder};
use arrow_array::{
    new_null_array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt16Array, UInt64Array, UInt8Array,
};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::pairing::Flow;

/// The Parquet (and Arrow) metadata key of a file's schema version (store/layout.py).
pub const VERSION_KEY: &str = "minewatch.schema_version";
/// What a flow export's flows end with (sources/flowexport.py END_REASON).
const END_REASON: &str = "export";
const HOUR_US: i64 = 3_600_000_000;
/// Columns written without a dictionary (see `encode`).
const PLAIN_COLUMNS: [&str; 8] = [
    "flow_id",
    "conn_id",
    "first_seen",
    "last_seen",
    "c2s_bytes",
    "s2c_bytes",
    "c2s_packets",
    "s2c_packets",
];

/// Columns with min/max statistics: those readers filter on (time ranges, addresses,
/// ports), so that whole files and row groups are skipped.
const FILTERED: [&str; 6] = [
    "first_seen",
    "last_seen",
    "client_ip4",
    "server_ip4",
    "client_port",
    "server_port",
];

/// Flows with their ids, in the order they are written.
pub type Rows<'a> = Vec<(u64, &'a Flow<IpAddr>)>;

/// What every file of one writer shares.
pub struct FlowFiles {
    pub root: PathBuf,
    /// The writer's name in file names (a collector's tag).
    pub tag: String,
    /// The stored schema, with the version in its metadata.
    schema: SchemaRef,
    version: u32,
    /// `source` of every row (the collector's `netflow://host:port`).
    pub source: String,
    /// A column per field with the same value in every row (null for most: what a flow
    /// export leaves empty), sliced for each batch: some forty columns, whose fresh
    /// buffers would cost more than the rest.
    nulls: Mutex<Vec<Option<ArrayRef>>>,
}

impl FlowFiles {
    /// Files of `schema` (STORED_FLOW_SCHEMA) at `version`; an error if the schema has a
    /// column this writer cannot fill and may not leave null, or one of another type.
    pub fn new(
        root: PathBuf,
        tag: String,
        schema: &Schema,
        version: u32,
        source: String,
    ) -> Result<Self, ArrowError> {
        let mut metadata = schema.metadata().clone();
        metadata.insert(VERSION_KEY.to_string(), version.to_string());
        let schema = Arc::new(schema.clone().with_metadata(metadata));
        let nulls = Mutex::new(vec![None; schema.fields().len()]);
        let files = FlowFiles {
            root,
            tag,
            schema,
            version,
            source,
            nulls,
        };
        files.batch(&[(0, &example())])?;
        Ok(files)
    }

    /// The rows of `flows` (ids from `first_id` on) by the UTC hour they start in: hours
    /// in the order they first occur, rows in their order (as Python's `pc.unique` and
    /// `filter` leave them).
    pub fn by_hour(flows: &[Flow<IpAddr>], first_id: u64) -> Vec<(i64, Rows<'_>)> {
        let mut hours: Vec<(i64, Rows<'_>)> = Vec::new();
        // A batch spans few hours, mostly one after another: the last hour, else a look
        // along the few, is cheaper than a hash map.
        let mut slot = 0;
        for (i, f) in flows.iter().enumerate() {
            // Truncating, as Arrow's integer `divide` does.
            let hour = f.first_us / HOUR_US;
            if hours.get(slot).is_none_or(|h| h.0 != hour) {
                slot = match hours.iter().position(|h| h.0 == hour) {
                    Some(at) => at,
                    None => {
                        hours.push((hour, Vec::with_capacity(flows.len())));
                        hours.len() - 1
                    }
                };
            }
            hours[slot].1.push((first_id + i as u64, f));
        }
        hours
    }

    /// One Arrow batch of the stored schema.
    pub fn batch(&self, rows: &[(u64, &Flow<IpAddr>)]) -> Result<RecordBatch, ArrowError> {
        let mut nulls = self.nulls.lock().unwrap_or_else(|e| e.into_inner());
        let mut built = Columns::of(rows);
        let columns = self
            .schema
            .fields()
            .iter()
            .zip(nulls.iter_mut())
            .map(|(field, held)| {
                built.take(field.name()).unwrap_or_else(|| {
                    let n = rows.len();
                    if held.as_ref().is_none_or(|a| a.len() < n) {
                        *held = Some(self.same_in_every_row(field, n));
                    }
                    held.as_ref()
                        .map_or_else(|| self.same_in_every_row(field, n), |a| a.slice(0, n))
                })
            })
            .collect();
        RecordBatch::try_new(self.schema.clone(), columns)
    }

    /// `n` rows of a column whose value is the same in every row: the end reason, the
    /// source, or null for what a flow export leaves empty.
    fn same_in_every_row(&self, field: &Field, n: usize) -> ArrayRef {
        let text = |value: &str| {
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(value, n))) as ArrayRef
        };
        match field.name().as_str() {
            "end_reason" => text(END_REASON),
            "source" => text(&self.source),
            _ => new_null_array(field.data_type(), n),
        }
    }

    /// Write `flows` (ids from `first_id` on): one file per hour; the files written.
    pub fn write(&self, flows: &[Flow<IpAddr>], first_id: u64) -> io::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for (hour, rows) in Self::by_hour(flows, first_id) {
            let batch = self.batch(&rows).map_err(io::Error::other)?;
            written.push(self.write_atomically(&batch, &flow_folder(&self.root, hour))?);
        }
        Ok(written)
    }

    /// `batch` as a new Parquet file in `folder` (made if missing), under a temporary name
    /// first; the final path (store/layout.py `write_atomically`).
    pub fn write_atomically(&self, batch: &RecordBatch, folder: &Path) -> io::Result<PathBuf> {
        std::fs::create_dir_all(folder)?;
        let name = format!("part-{}-{:016x}.parquet", self.tag, unique());
        let temporary = folder.join(format!(".{name}.tmp"));
        let result = self.encode(batch, &temporary);
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
        let last = folder.join(name);
        std::fs::rename(&temporary, &last)?;
        sync_folder(folder);
        Ok(last)
    }

    fn encode(&self, batch: &RecordBatch, path: &Path) -> io::Result<()> {
        self.encode_with(batch, path, self.properties().build())
    }

    pub(crate) fn properties(&self) -> parquet::file::properties::WriterPropertiesBuilder {
        let props = WriterProperties::builder()
            // lz4: reading back is what detection waits on (store/__init__.py); pyarrow's
            // "lz4" is LZ4_RAW (the Hadoop-framed LZ4 is deprecated).
            .set_compression(Compression::LZ4_RAW)
            // Lists as the Parquet spec names their parts (`element`), as pyarrow writes.
            .set_coerce_types(true)
            .set_dictionary_enabled(false)
            // Statistics per column chunk (no page index) only on the columns readers
            // filter on (FILTERED): the rest cost ~10% of encoding and skip nothing.
            .set_statistics_enabled(EnabledStatistics::None)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                VERSION_KEY.to_string(),
                self.version.to_string(),
            )]));
        // Columns nearly unique per row gain nothing from a dictionary, which pyarrow
        // tries on every column and drops past 1 MB: encoding them plainly halves the cost
        // of encoding (the same values; only the encoding in the file differs).
        let props = PLAIN_COLUMNS.iter().fold(props, |p, name| {
            p.set_column_dictionary_enabled(ColumnPath::from(*name), false)
        });
        FILTERED.iter().fold(props, |p, name| {
            p.set_column_statistics_enabled(ColumnPath::from(*name), EnabledStatistics::Chunk)
        })
    }

    pub(crate) fn encode_with(
        &self,
        batch: &RecordBatch,
        path: &Path,
        props: WriterProperties,
    ) -> io::Result<()> {
        let file = File::create(path)?;
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_schema_root("schema".to_string());
        let mut writer = ArrowWriter::try_new_with_options(file, self.schema.clone(), options)
            .map_err(io::Error::other)?;
        writer.write(batch).map_err(io::Error::other)?;
        let file = writer.into_inner().map_err(io::Error::other)?;
        // On disk before it has its name: a power cut leaves no torn file.
        file.sync_all()
    }
}

/// The columns a flow export fills, built in one pass over the rows (a pass per column
/// would read every flow twenty times).
struct Columns {
    id_values: Vec<u64>,
    ids: Option<ArrayRef>,
    first: Vec<i64>,
    last: Vec<i64>,
    proto: Vec<u8>,
    flags: Vec<u8>,
    client_port: Vec<u16>,
    server_port: Vec<u16>,
    counts: [Vec<u64>; 4],
    rate: Vec<f64>,
    client: StringBuilder,
    server: StringBuilder,
    client_ip4: UInt32Builder,
    server_ip4: UInt32Builder,
    client_ip6: StringBuilder,
    server_ip6: StringBuilder,
}

impl Columns {
    fn of(rows: &[(u64, &Flow<IpAddr>)]) -> Self {
        let n = rows.len();
        let mut c = Columns {
            id_values: Vec::with_capacity(n),
            ids: None,
            first: Vec::with_capacity(n),
            last: Vec::with_capacity(n),
            proto: Vec::with_capacity(n),
            flags: Vec::with_capacity(n),
            client_port: Vec::with_capacity(n),
            server_port: Vec::with_capacity(n),
            counts: std::array::from_fn(|_| Vec::with_capacity(n)),
            rate: Vec::with_capacity(n),
            client: StringBuilder::with_capacity(n, n * 14),
            server: StringBuilder::with_capacity(n, n * 14),
            client_ip4: UInt32Builder::with_capacity(n),
            server_ip4: UInt32Builder::with_capacity(n),
            client_ip6: StringBuilder::new(),
            server_ip6: StringBuilder::new(),
        };
        let mut dotted = [0u8; 15];
        for &(id, f) in rows {
            c.id_values.push(id);
            c.first.push(f.first_us);
            c.last.push(f.last_us);
            c.proto.push(f.proto);
            c.flags.push(f.tcp_flags);
            c.client_port.push(f.client_port);
            c.server_port.push(f.server_port);
            let counts = [f.c2s_packets, f.s2c_packets, f.c2s_bytes, f.s2c_bytes];
            for (column, value) in c.counts.iter_mut().zip(counts) {
                column.push(value);
            }
            c.rate.push(f.sampling_rate);
            address(
                f.client,
                &mut c.client,
                &mut c.client_ip4,
                &mut c.client_ip6,
                &mut dotted,
            );
            address(
                f.server,
                &mut c.server,
                &mut c.server_ip4,
                &mut c.server_ip6,
                &mut dotted,
            );
        }
        c
    }

    /// The column of the stored schema called `name` (taken out), for these rows; None
    /// for a column with one value in every row (FlowFiles::same_in_every_row).
    fn take(&mut self, name: &str) -> Option<ArrayRef> {
        let utc = |v: &mut Vec<i64>| {
            Arc::new(TimestampMicrosecondArray::from(std::mem::take(v)).with_timezone("UTC"))
                as ArrayRef
        };
        let u64s = |v: &mut Vec<u64>| Arc::new(UInt64Array::from(std::mem::take(v))) as ArrayRef;
        Some(match name {
            // Both the same ids: one buffer.
            "flow_id" | "conn_id" => Arc::clone(self.ids.get_or_insert_with(|| {
                Arc::new(UInt64Array::from(std::mem::take(&mut self.id_values))) as ArrayRef
            })),
            "first_seen" => utc(&mut self.first),
            "last_seen" => utc(&mut self.last),
            "ip_proto" => Arc::new(UInt8Array::from(std::mem::take(&mut self.proto))),
            "tcp_flags" => Arc::new(UInt8Array::from(std::mem::take(&mut self.flags))),
            "client_ip" => Arc::new(self.client.finish()),
            "server_ip" => Arc::new(self.server.finish()),
            "client_port" => Arc::new(UInt16Array::from(std::mem::take(&mut self.client_port))),
            "server_port" => Arc::new(UInt16Array::from(std::mem::take(&mut self.server_port))),
            "c2s_packets" => u64s(&mut self.counts[0]),
            "s2c_packets" => u64s(&mut self.counts[1]),
            "c2s_bytes" => u64s(&mut self.counts[2]),
            "s2c_bytes" => u64s(&mut self.counts[3]),
            "sampling_rate" => Arc::new(Float64Array::from(std::mem::take(&mut self.rate))),
            // The store's second form of each address: IPv4 as a number, IPv6 as text.
            "client_ip4" => Arc::new(self.client_ip4.finish()),
            "server_ip4" => Arc::new(self.server_ip4.finish()),
            "client_ip6" => Arc::new(self.client_ip6.finish()),
            "server_ip6" => Arc::new(self.server_ip6.finish()),
            _ => return None,
        })
    }
}

/// One address in its three columns: text, IPv4 as a number, IPv6 as text. IPv4 text is
/// made by table (std's formatter costs more than the rest of a row), IPv6 as std writes
/// it (RFC 5952, as the decoder's text path does).
fn address(
    a: IpAddr,
    text: &mut StringBuilder,
    ip4: &mut UInt32Builder,
    ip6: &mut StringBuilder,
    dotted: &mut [u8; 15],
) {
    match a {
        IpAddr::V4(v4) => {
            let n = dotted_quad(v4.octets(), dotted);
            // Digits and dots only: always UTF-8.
            text.append_value(std::str::from_utf8(&dotted[..n]).unwrap_or_default());
            ip4.append_value(u32::from(v4));
            ip6.append_null();
        }
        IpAddr::V6(_) => {
            let _ = write!(text, "{a}");
            text.append_value("");
            ip4.append_null();
            let _ = write!(ip6, "{a}");
            ip6.append_value("");
        }
    }
}

/// `octets` as dotted-quad text into `out`; its length.
fn dotted_quad(octets: [u8; 4], out: &mut [u8; 15]) -> usize {
    let mut n = 0;
    for (i, o) in octets.into_iter().enumerate() {
        if i > 0 {
            out[n] = b'.';
            n += 1;
        }
        if o >= 100 {
            out[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            out[n] = b'0' + o / 10 % 10;
            n += 1;
        }
        out[n] = b'0' + o % 10;
        n += 1;
    }
    n
}

/// A flow for checking the schema at the start.
fn example() -> Flow<IpAddr> {
    let zero = IpAddr::from([0u8, 0, 0, 0]);
    Flow {
        exporter: zero,
        first_us: 0,
        last_us: 0,
        proto: 0,
        client: zero,
        client_port: 0,
        server: zero,
        server_port: 0,
        c2s_packets: 0,
        s2c_packets: 0,
        c2s_bytes: 0,
        s2c_bytes: 0,
        tcp_flags: 0,
        sampling_rate: 1.0,
    }
}

/// The partition of flows that start in this hour since 1970 (UTC).
pub fn flow_folder(root: &Path, hour: i64) -> PathBuf {
    let (year, month, day) = civil_from_days((hour * 3600).div_euclid(86_400));
    let h = (hour * 3600).rem_euclid(86_400) / 3600;
    root.join("flows")
        .join(format!("date={year:04}-{month:02}-{day:02}"))
        .join(format!("hour={h:02}"))
}

/// Year, month, day of a day since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// 64 bits no other file name of this or another writer has (Python takes 64 bits of a
/// uuid4): the process's random hasher keys over the clock and a counter.
fn unique() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    RandomState::new().hash_one((
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::process::id(),
    ))
}

/// The rename itself on disk (where the platform can open a folder).
fn sync_folder(folder: &Path) {
    if let Ok(f) = File::open(folder) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, TimeUnit};

    /// The columns of STORED_FLOW_SCHEMA this writer fills, and two it leaves null.
    pub(crate) fn stored_schema() -> Schema {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let mut fields = vec![
            Field::new("flow_id", DataType::UInt64, false),
            Field::new("conn_id", DataType::UInt64, false),
            Field::new("first_seen", ts.clone(), false),
            Field::new("last_seen", ts, false),
            Field::new("ip_proto", DataType::UInt8, false),
            Field::new("client_ip", DataType::Utf8, false),
            Field::new("client_port", DataType::UInt16, false),
            Field::new("server_ip", DataType::Utf8, false),
            Field::new("server_port", DataType::UInt16, false),
            Field::new("vlan", DataType::UInt16, true),
        ];
        for name in ["c2s_packets", "s2c_packets", "c2s_bytes", "s2c_bytes"] {
            fields.push(Field::new(name, DataType::UInt64, false));
        }
        fields.extend([
            Field::new("tcp_flags", DataType::UInt8, false),
            Field::new("end_reason", DataType::Utf8, false),
            Field::new("sni", DataType::Utf8, true),
            Field::new("sampling_rate", DataType::Float64, true),
            Field::new("source", DataType::Utf8, true),
            Field::new("client_ip4", DataType::UInt32, true),
            Field::new("server_ip4", DataType::UInt32, true),
            Field::new("client_ip6", DataType::Utf8, true),
            Field::new("server_ip6", DataType::Utf8, true),
        ]);
        Schema::new(fields)
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn folders_by_hour() {
        let hour = 1_764_007_200 / 3600 + 5; // 2025-11-24T18:00Z + 5 h
        let f = flow_folder(Path::new("/s"), hour);
        assert_eq!(f, PathBuf::from("/s/flows/date=2025-11-24/hour=23"));
        let f = flow_folder(Path::new("/s"), hour + 1);
        assert_eq!(f, PathBuf::from("/s/flows/date=2025-11-25/hour=00"));
    }

    #[test]
    fn dotted_quads_are_what_std_writes() {
        let mut out = [0u8; 15];
        for v in [
            0u32,
            1,
            0x0a00_0009,
            0x0a00_000a,
            0x6464_6464,
            0xffff_ffff,
            0xc0a8_0001,
        ] {
            let ip = std::net::Ipv4Addr::from(v);
            let n = dotted_quad(ip.octets(), &mut out);
            assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), ip.to_string());
        }
    }

    #[test]
    fn names_do_not_repeat() {
        let names: std::collections::HashSet<u64> = (0..1000).map(|_| unique()).collect();
        assert_eq!(names.len(), 1000);
    }
}
