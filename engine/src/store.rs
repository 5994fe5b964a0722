//! Paired flows written as the store's flow files, from Rust: the same files
//! src/minewatch/store (`Store.write_flows`, `layout.write_atomically`) writes from Python,
//! for the store-first collector, which never hands a record to Python.
//!
//! Mirrors store/layout.py: one file per UTC hour the flows start in (hours in the order
//! they first occur, rows in their order), at
//! `flows/date=YYYY-MM-DD/hour=HH/part-<tag>-<16 hex>.parquet`, written as
//! `.part-….parquet.tmp`, synced, renamed, and the folder synced; list parts named
//! `element`, the schema version under `minewatch.schema_version` in the Parquet and Arrow
//! metadata. Only the pages are encoded otherwise (see `properties`). The
//! columns are the stored schema Python hands over (STORED_FLOW_SCHEMA): what a flow
//! export fills is filled, the rest is null, as `sources/flowexport.to_record_schema`,
//! `collect._as_stored` and `store.with_address_numbers` make it.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::BuildHasher;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::{new_null_array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};
use parquet::basic::{Compression, Encoding};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::pairing::Flow;
use crate::same_chunks::{SameChunks, ROW_GROUP_ROWS};

/// The Parquet (and Arrow) metadata key of a file's schema version (store/layout.py).
pub const VERSION_KEY: &str = "minewatch.schema_version";
/// What a flow export's flows end with (sources/flowexport.py END_REASON).
const END_REASON: &str = "export";
const HOUR_US: i64 = 3_600_000_000;
/// Integer columns written as DELTA_BINARY_PACKED (see `properties`): ids that count up,
/// times, ports, counters and IPv4 numbers shrink to their differences' bits.
pub(crate) const DELTA_COLUMNS: [&str; 14] = [
    "flow_id",
    "conn_id",
    "first_seen",
    "last_seen",
    "ip_proto",
    "tcp_flags",
    "client_port",
    "server_port",
    "c2s_packets",
    "s2c_packets",
    "c2s_bytes",
    "s2c_bytes",
    "client_ip4",
    "server_ip4",
];

/// Text with the same value in nearly every row, written as DELTA_BYTE_ARRAY: each value
/// is "all of the one before" (a few bits) instead of its bytes.
const REPEATED_TEXT: [&str; 2] = ["end_reason", "source"];

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
    /// `source` of every row (the collector's `netflow://host:port`). Fixed: `same`
    /// holds its chunks.
    source: String,
    /// A column per field with the same value in every row (null for most: what a flow
    /// export leaves empty), sliced for each batch: some forty columns, whose fresh
    /// buffers would cost more than the rest.
    nulls: Mutex<Vec<Option<ArrayRef>>>,
    /// Threads encoding a file's columns (parquet_file.rs).
    pub encode_threads: usize,
    /// The chunks of the columns with the same value in every row, encoded once for every
    /// full row group (same_chunks.rs).
    same: Option<SameChunks>,
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
        let mut files = FlowFiles {
            root,
            tag,
            schema,
            version,
            source,
            nulls,
            encode_threads: crate::parquet_file::ENCODE_THREADS,
            same: None,
        };
        files.batch(&[(0, &example())])?;
        files.same = Some(
            files
                .encode_same()
                .map_err(|e| ArrowError::ExternalError(e.into()))?,
        );
        Ok(files)
    }

    /// The chunks of every column this writer fills with one value in every row (what
    /// `batch` takes from `same_in_every_row`), for a row group of `ROW_GROUP_ROWS` rows.
    fn encode_same(&self) -> io::Result<SameChunks> {
        let example = example();
        let mut built = crate::store_columns::Columns::of(&[(0, &example)]);
        let mut columns = Vec::with_capacity(self.schema.fields().len());
        for field in self.schema.fields() {
            let filled = built.take(field.name()).map_err(io::Error::other)?;
            columns.push(
                filled
                    .is_none()
                    .then(|| self.same_in_every_row(field, ROW_GROUP_ROWS)),
            );
        }
        SameChunks::encode(
            &self.schema,
            &columns,
            ROW_GROUP_ROWS,
            self.properties().build(),
        )
    }

    /// The chunks `encode` splices into full row groups (None before they are encoded).
    #[cfg(test)]
    pub(crate) fn same_chunks(&self) -> Option<&SameChunks> {
        self.same.as_ref()
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
        let mut built = crate::store_columns::Columns::of(rows);
        let columns = self
            .schema
            .fields()
            .iter()
            .zip(nulls.iter_mut())
            .map(|(field, held)| {
                Ok(built.take(field.name())?.unwrap_or_else(|| {
                    let n = rows.len();
                    if held.as_ref().is_none_or(|a| a.len() < n) {
                        *held = Some(self.same_in_every_row(field, n));
                    }
                    held.as_ref()
                        .map_or_else(|| self.same_in_every_row(field, n), |a| a.slice(0, n))
                }))
            })
            .collect::<Result<_, ArrowError>>()?;
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
    /// first; the final path (store/layout.py `write_atomically`). `batch` must be one
    /// `batch` made: its full row groups take the same-valued columns' chunks as encoded
    /// once, whatever those columns hold.
    pub(crate) fn write_atomically(
        &self,
        batch: &RecordBatch,
        folder: &Path,
    ) -> io::Result<PathBuf> {
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
        let props = self.properties().build();
        self.encode_with(batch, path, props, self.same.as_ref())
            .map(|_| ())
    }

    pub(crate) fn properties(&self) -> parquet::file::properties::WriterPropertiesBuilder {
        // Measured in bench_parquet.rs (`parquet_settings`): LZ4 (lz4_flex) over plain pages
        // was a third of encoding; delta encodings of the integer and repeated text
        // columns leave the files as small with no compression at all (48.6 bytes a record
        // against 48.3), for 197 ns a record of CPU instead of 276. Pages are left
        // uncompressed, which every reader reads fastest; pyarrow's writer (the Python
        // path) keeps its LZ4 and dictionaries: readers do not care which.
        let props = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            // A fixed size, so that full row groups take the same-valued columns' chunks
            // as encoded once (same_chunks.rs).
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            // Lists as the Parquet spec names their parts (`element`), as pyarrow writes.
            .set_coerce_types(true)
            .set_dictionary_enabled(false)
            // The sampling rate is one value per exporter: a dictionary of one.
            .set_column_dictionary_enabled(ColumnPath::from("sampling_rate"), true)
            // Statistics per column chunk (no page index) only on the columns readers
            // filter on (FILTERED): the rest cost ~10% of encoding and skip nothing.
            .set_statistics_enabled(EnabledStatistics::None)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                VERSION_KEY.to_string(),
                self.version.to_string(),
            )]));
        let props = DELTA_COLUMNS.iter().fold(props, |p, name| {
            p.set_column_encoding(ColumnPath::from(*name), Encoding::DELTA_BINARY_PACKED)
        });
        let props = REPEATED_TEXT.iter().fold(props, |p, name| {
            p.set_column_encoding(ColumnPath::from(*name), Encoding::DELTA_BYTE_ARRAY)
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
        same: Option<&SameChunks>,
    ) -> io::Result<usize> {
        let file = File::create(path)?;
        let threads = self.encode_threads;
        let (file, spliced) =
            crate::parquet_file::write(file, &self.schema, batch, props, threads, same)?;
        // On disk before it has its name: a power cut leaves no torn file.
        file.sync_all()?;
        Ok(spliced)
    }
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
    fn names_do_not_repeat() {
        let names: std::collections::HashSet<u64> = (0..1000).map(|_| unique()).collect();
        assert_eq!(names.len(), 1000);
    }
}
