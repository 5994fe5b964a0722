//! Column chunks encoded once and written into every full row group: those of the columns
//! a collector writes with the same value in every row (its end reason and its source,
//! and the thirty-six a flow export leaves null). The two text columns cost ~12 ns a record
//! each to encode, as much as two filled columns (`column_costs` in bench_parquet.rs); the
//! null ones little. For a fixed number of rows their bytes are the same every time, so
//! with row groups of a fixed size (`ROW_GROUP_ROWS`) every full row group takes these
//! chunks as they are, byte for byte what encoding them would give; only the last,
//! shorter row group of a file encodes them.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use arrow_array::ArrayRef;
use arrow_schema::SchemaRef;
use bytes::{Bytes, BytesMut};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowWriterOptions};
use parquet::arrow::ArrowWriter;
use parquet::column::page_store::{PageKey, PageStore, PageStoreArgs, PageStoreFactory};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result as ParquetResult};
use parquet::file::properties::WriterProperties;

/// Rows in each row group of a collector's files. Fixed, so that the chunks of
/// same-valued columns repeat; small enough that the last, encoded row group is a small
/// part of a file (a flush is ~262,144 rows under load), large enough for readers (DuckDB's
/// own row groups are 122,880 rows).
pub const ROW_GROUP_ROWS: usize = 65_536;

/// One leaf column's chunk of `SameChunks::rows` rows: its bytes (pages with their
/// headers) and what its writer said of them, offsets from 0.
type Chunk = (Bytes, ColumnCloseResult);

/// The encoded chunks of the same-valued fields of a schema, for `rows` rows.
pub struct SameChunks {
    rows: usize,
    /// Per field of the schema: its leaves' indices, if its chunks are kept.
    fields: Vec<Option<Range<usize>>>,
    /// Per leaf column of the schema: its chunk, if kept.
    leaves: Vec<Option<Chunk>>,
}

impl SameChunks {
    /// The chunks of `columns` (per field of `schema`: the field's `rows`-row array when
    /// every row holds the same value, else None), encoded as a file written with `props`
    /// would encode them. A field whose chunks could not be taken as they are (a dictionary
    /// page first, say) is left to be encoded with each file.
    pub fn encode(
        schema: &SchemaRef,
        columns: &[Option<ArrayRef>],
        rows: usize,
        props: WriterProperties,
    ) -> io::Result<Self> {
        let kept = Arc::new(KeptPages::default());
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_schema_root("schema".to_string())
            .with_page_store_factory(kept.clone());
        let writer = ArrowWriter::try_new_with_options(Vec::new(), schema.clone(), options)
            .map_err(io::Error::other)?;
        let (file_writer, factory) = writer.into_serialized_writer().map_err(io::Error::other)?;
        let descr = file_writer.schema_descr();
        let mut writers: Vec<_> = factory
            .create_column_writers(0)
            .map_err(io::Error::other)?
            .into_iter()
            .map(Some)
            .collect();
        let mut same = SameChunks {
            rows,
            fields: vec![None; schema.fields().len()],
            leaves: vec![None; writers.len()],
        };
        for (i, (field, column)) in schema.fields().iter().zip(columns).enumerate() {
            let Some(array) = column.as_ref().filter(|a| a.len() == rows) else {
                continue;
            };
            let range = leaf_range(descr, i);
            let parts = compute_leaves(field, array).map_err(io::Error::other)?;
            if parts.len() != range.len() {
                continue;
            }
            let mut chunks = Vec::with_capacity(parts.len());
            for (leaf, part) in range.clone().zip(parts) {
                let Some(mut writer) = writers.get_mut(leaf).and_then(Option::take) else {
                    break;
                };
                writer.write(&part).map_err(io::Error::other)?;
                let close = writer.close().map_err(io::Error::other)?.close().clone();
                let bytes = kept.pages_of(leaf);
                // Taken as they are only if they are the whole chunk, from offset 0.
                let whole = close.metadata.dictionary_page_offset().is_none()
                    && close.metadata.data_page_offset() == 0
                    && close.metadata.compressed_size() == bytes.len() as i64
                    && close.rows_written == rows as u64;
                if !whole {
                    break;
                }
                chunks.push((bytes, close));
            }
            if chunks.len() == range.len() {
                for (leaf, chunk) in range.clone().zip(chunks) {
                    same.leaves[leaf] = Some(chunk);
                }
                same.fields[i] = Some(range);
            }
        }
        Ok(same)
    }

    /// The kept chunks if a row group has `rows` rows (else None: encode everything).
    pub fn for_rows(&self, rows: usize) -> Option<&Self> {
        (rows == self.rows && self.fields.iter().any(Option::is_some)).then_some(self)
    }

    /// How many leaf columns field `i` has, if its chunks are kept.
    pub fn kept_leaves(&self, field: usize) -> Option<usize> {
        self.fields.get(field)?.as_ref().map(|r| r.len())
    }

    /// The kept chunk of leaf column `leaf`.
    pub fn chunk(&self, leaf: usize) -> Option<&Chunk> {
        self.leaves.get(leaf)?.as_ref()
    }
}

/// The leaf columns of field `i` (leaves are numbered in schema order, a field's together).
fn leaf_range(descr: &parquet::schema::types::SchemaDescriptor, field: usize) -> Range<usize> {
    let leaves: Vec<usize> = (0..descr.num_columns())
        .filter(|&leaf| descr.get_column_root_idx(leaf) == field)
        .collect();
    match (leaves.first(), leaves.last()) {
        (Some(&first), Some(&last)) => first..last + 1,
        _ => 0..0,
    }
}

/// Every page a column writer stores, kept per leaf column so that its bytes can be
/// written again (the writer's own store hands them out once).
#[derive(Debug, Default)]
struct KeptPages(Arc<Mutex<HashMap<usize, Vec<Bytes>>>>);

impl KeptPages {
    /// The pages of leaf `leaf` in the order written, as one buffer.
    fn pages_of(&self, leaf: usize) -> Bytes {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let pages = kept.get(&leaf).map(Vec::as_slice).unwrap_or_default();
        let mut all = BytesMut::with_capacity(pages.iter().map(Bytes::len).sum());
        for page in pages {
            all.extend_from_slice(page);
        }
        all.freeze()
    }
}

impl PageStoreFactory for KeptPages {
    fn create(&self, args: &PageStoreArgs<'_>) -> ParquetResult<Box<dyn PageStore>> {
        Ok(Box::new(KeepingStore {
            leaf: args.column_index(),
            kept: self.0.clone(),
            pages: Vec::new(),
        }))
    }
}

/// One column writer's store: its pages, and a copy of each (they are reference
/// counted) kept for `KeptPages`.
struct KeepingStore {
    leaf: usize,
    kept: Arc<Mutex<HashMap<usize, Vec<Bytes>>>>,
    pages: Vec<Bytes>,
}

impl PageStore for KeepingStore {
    fn put(&mut self, value: Bytes) -> ParquetResult<PageKey> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.entry(self.leaf).or_default().push(value.clone());
        self.pages.push(value);
        Ok(PageKey::new(self.pages.len() as u64 - 1))
    }

    fn take(&mut self, key: PageKey) -> ParquetResult<Bytes> {
        self.pages
            .get_mut(key.get() as usize)
            .map(std::mem::take)
            .ok_or_else(|| ParquetError::General(format!("no page {}", key.get())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files written with the kept chunks spliced in are byte for byte the files written
    /// by encoding every column: full row groups, a shorter last one, a file of exactly one
    /// row group and one shorter than a row group, on one thread and on two.
    #[test]
    fn spliced_files_are_the_encoded_files() {
        let (dir, mut files) = crate::bench_stages::temporary_files("same");
        std::fs::create_dir_all(&dir).unwrap();
        let flows = crate::bench_stages::one_way_flows(2 * ROW_GROUP_ROWS + 123);
        let same = files.same_chunks().expect("chunks encoded");
        // The test schema's same-valued columns: end_reason, source, vlan and sni (null);
        // the real one's (MW_STORED_SCHEMA, see `temporary_files`) are 38.
        let kept = (0..files_fields(&files))
            .filter(|&i| same.kept_leaves(i).is_some())
            .count();
        let real = std::env::var_os("MW_STORED_SCHEMA").is_some();
        assert_eq!(kept, if real { 38 } else { 4 });
        // Every leaf of the same-valued fields is spliced into each full row group.
        let leaves: usize = (0..files_fields(&files))
            .filter_map(|i| same.kept_leaves(i))
            .sum();
        for threads in [1, 2] {
            files.encode_threads = threads;
            for n in [flows.len(), ROW_GROUP_ROWS, 100] {
                let rows: Vec<_> = (0..n as u64).zip(flows.iter()).collect();
                let batch = files.batch(&rows).unwrap();
                let (spliced, encoded) = (dir.join("spliced"), dir.join("encoded"));
                let props = || files.properties().build();
                let taken = files
                    .encode_with(&batch, &spliced, props(), files.same_chunks())
                    .unwrap();
                assert_eq!(taken, leaves * (n / ROW_GROUP_ROWS));
                assert_eq!(
                    files.encode_with(&batch, &encoded, props(), None).unwrap(),
                    0
                );
                let (a, b) = (
                    std::fs::read(&spliced).unwrap(),
                    std::fs::read(&encoded).unwrap(),
                );
                assert!(a == b, "{n} rows, {threads} threads: the files differ");
                let reader =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                        std::fs::File::open(&spliced).unwrap(),
                    )
                    .unwrap();
                assert_eq!(
                    reader.metadata().num_row_groups(),
                    n.div_ceil(ROW_GROUP_ROWS)
                );
                let mut offset = 0;
                for read in reader.build().unwrap() {
                    let read = read.unwrap();
                    assert_eq!(
                        read.columns(),
                        batch.slice(offset, read.num_rows()).columns()
                    );
                    offset += read.num_rows();
                }
                assert_eq!(offset, n);
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    fn files_fields(files: &crate::store::FlowFiles) -> usize {
        files.batch(&[]).unwrap().num_columns()
    }

    /// A field whose array is not of the rows asked for is not kept; nor is anything when
    /// there is no same-valued field.
    #[test]
    fn only_whole_same_valued_fields_are_kept() {
        let schema = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("a", arrow_schema::DataType::Utf8, true),
            arrow_schema::Field::new("b", arrow_schema::DataType::UInt64, true),
        ]));
        let null = |n| arrow_array::new_null_array(&arrow_schema::DataType::Utf8, n);
        let props = || {
            WriterProperties::builder()
                .set_dictionary_enabled(false)
                .build()
        };
        let same = SameChunks::encode(&schema, &[Some(null(10)), None], 10, props()).unwrap();
        assert_eq!((same.kept_leaves(0), same.kept_leaves(1)), (Some(1), None));
        assert!(same.for_rows(10).is_some() && same.for_rows(11).is_none());
        let same = SameChunks::encode(&schema, &[Some(null(9)), None], 10, props()).unwrap();
        assert!(same.kept_leaves(0).is_none() && same.for_rows(10).is_none());
    }
}
