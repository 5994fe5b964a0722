//! One record batch as a Parquet file whose column chunks are encoded on several threads:
//! what `ArrowWriter::write` does on one, the same bytes in the same order. Encoding is
//! most of the store-first collector's writing thread (bench_parquet.rs); split over two
//! threads it uses the core the receiving thread leaves idle, and the file count stays one
//! file per flush and hour.

use std::fs::File;
use std::io;
use std::sync::Mutex;

use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowWriterOptions,
};
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::same_chunks::SameChunks;

/// Threads encoding one file's columns: the writing thread and one more.
pub const ENCODE_THREADS: usize = 2;

/// `batch` into `file` as Parquet with `props` (row groups of at most the properties' row
/// count, lists' parts named as the Arrow schema says, the Arrow schema in the metadata as
/// `ArrowWriter` stores it); the file, flushed, not yet synced, and how many column chunks
/// were spliced from `same`. A row group of as many
/// rows as `same` was encoded for takes its chunks instead of encoding those columns
/// (`same` must have been encoded with the same schema and properties, and `batch` must
/// hold the same values in those columns).
pub fn write(
    file: File,
    schema: &SchemaRef,
    batch: &RecordBatch,
    props: WriterProperties,
    threads: usize,
    same: Option<&SameChunks>,
) -> io::Result<(File, usize)> {
    let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_schema_root("schema".to_string());
    let writer = ArrowWriter::try_new_with_options(file, schema.clone(), options)
        .map_err(io::Error::other)?;
    let (mut file_writer, factory) = writer.into_serialized_writer().map_err(io::Error::other)?;
    let (mut offset, mut index, mut spliced) = (0, 0, 0);
    // As ArrowWriter: no rows, no row group.
    while offset < batch.num_rows() {
        let rows = batch.slice(offset, max_rows.min(batch.num_rows() - offset));
        let writers = factory
            .create_column_writers(index)
            .map_err(io::Error::other)?;
        let kept = same.and_then(|s| s.for_rows(rows.num_rows()));
        let chunks = encode(writers, leaves(schema, &rows, kept)?, threads)?;
        let mut row_group = file_writer.next_row_group().map_err(io::Error::other)?;
        for (leaf, chunk) in chunks.into_iter().enumerate() {
            match (chunk, kept.and_then(|k| k.chunk(leaf))) {
                (Some(chunk), _) => chunk.append_to_row_group(&mut row_group),
                (None, Some((bytes, close))) => {
                    spliced += 1;
                    row_group.append_column(bytes, close.clone())
                }
                (None, None) => Err(ParquetError::General(format!("no chunk for leaf {leaf}"))),
            }
            .map_err(io::Error::other)?;
        }
        row_group.close().map_err(io::Error::other)?;
        offset += rows.num_rows();
        index += 1;
    }
    Ok((file_writer.into_inner().map_err(io::Error::other)?, spliced))
}

/// Every leaf column of `rows` in schema order (what the column writers are made for),
/// with the bytes of Arrow memory behind it: an estimate of its cost to encode; None for
/// the leaves whose chunks are `kept`.
fn leaves(schema: &SchemaRef, rows: &RecordBatch, kept: Option<&SameChunks>) -> io::Result<Leaves> {
    let mut out = Vec::new();
    for (i, (field, array)) in schema.fields().iter().zip(rows.columns()).enumerate() {
        if let Some(n) = kept.and_then(|k| k.kept_leaves(i)) {
            out.extend(std::iter::repeat_with(|| None).take(n));
            continue;
        }
        let parts = compute_leaves(field, array).map_err(io::Error::other)?;
        let weight = array.get_buffer_memory_size() / parts.len().max(1);
        out.extend(parts.into_iter().map(|leaf| Some((leaf, weight))));
    }
    Ok(out)
}

/// Leaf columns to encode, in column order, each with its weight (None: not encoded).
type Leaves = Vec<Option<(ArrowLeafColumn, usize)>>;

/// The column chunks, in column order, encoded by `threads` threads, each given columns
/// of about the same weight (the heaviest first to the least loaded); None where there
/// was no leaf to encode.
fn encode(
    writers: Vec<ArrowColumnWriter>,
    leaves: Leaves,
    threads: usize,
) -> io::Result<Vec<Option<ArrowColumnChunk>>> {
    if writers.len() != leaves.len() {
        return Err(io::Error::other(format!(
            "{} column writers for {} leaf columns",
            writers.len(),
            leaves.len()
        )));
    }
    let count = leaves.len();
    let weight = |i: usize| leaves[i].as_ref().map_or(0, |l| l.1);
    let threads = threads.clamp(1, count.max(1));
    let mut order: Vec<usize> = (0..count).filter(|&i| leaves[i].is_some()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weight(i)));
    let (mut load, mut owner) = (vec![0usize; threads], vec![0usize; count]);
    for i in order {
        let least = (0..threads).min_by_key(|&t| load[t]).unwrap_or(0);
        load[least] += weight(i) + 1;
        owner[i] = least;
    }
    let mut jobs: Vec<Job> = (0..threads).map(|_| Vec::new()).collect();
    for (i, (writer, leaf)) in writers.into_iter().zip(leaves).enumerate() {
        if let Some((leaf, _)) = leaf {
            jobs[owner[i]].push((i, writer, leaf));
        }
    }
    let run = |job: Option<Job>| {
        job.unwrap_or_default()
            .into_iter()
            .map(|(i, mut writer, leaf)| {
                writer.write(&leaf)?;
                Ok((i, writer.close()?))
            })
            .collect::<Result<Vec<_>, ParquetError>>()
    };
    let joined = |done: Result<Vec<_>, ParquetError>, more: Result<Vec<_>, ParquetError>| {
        let mut done = done?;
        done.extend(more?);
        Ok(done)
    };
    let own = jobs.remove(0);
    // Each other job in a slot its thread takes it from; a job whose thread could not be
    // started (or had not started yet) is taken and run by this thread instead.
    let slots: Vec<Mutex<Option<Job>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let take = |slot: &Mutex<Option<Job>>| slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    let done = std::thread::scope(|s| {
        let others: Vec<_> = slots
            .iter()
            .filter_map(|slot| {
                std::thread::Builder::new()
                    .name("minewatch-encode".into())
                    .spawn_scoped(s, move || run(take(slot)))
                    .ok()
            })
            .collect();
        let mut done = run(Some(own));
        for slot in &slots {
            if let Some(job) = take(slot) {
                done = joined(done, run(Some(job)));
            }
        }
        for handle in others {
            let more = handle.join().unwrap_or_else(|_| {
                Err(ParquetError::General("an encoding thread panicked".into()))
            });
            done = joined(done, more);
        }
        done
    });
    let mut chunks: Vec<Option<ArrowColumnChunk>> = (0..count).map(|_| None).collect();
    for (i, chunk) in done.map_err(io::Error::other)? {
        chunks[i] = Some(chunk);
    }
    Ok(chunks)
}

/// Columns one thread encodes: (column index, its writer, its values).
type Job = Vec<(usize, ArrowColumnWriter, ArrowLeafColumn)>;

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Written on one thread by ArrowWriter and on three by `write`: the same rows, row
    /// groups and metadata.
    #[test]
    fn threads_write_what_one_writer_writes() {
        let (dir, files) = crate::bench_stages::temporary_files("pqfile");
        std::fs::create_dir_all(&dir).unwrap();
        let flows = crate::bench_stages::one_way_flows(2_520);
        let rows: Vec<_> = (0..flows.len() as u64).zip(flows.iter()).collect();
        let batch = files.batch(&rows).unwrap();
        let props = || {
            files
                .properties()
                .set_max_row_group_row_count(Some(1_000))
                .build()
        };
        let read = |path: &std::path::Path| {
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
            let metadata = reader.metadata().clone();
            let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
            (metadata, batches)
        };
        let one = dir.join("one.parquet");
        let mut writer =
            ArrowWriter::try_new_with_options(File::create(&one).unwrap(), batch.schema(), {
                ArrowWriterOptions::new()
                    .with_properties(props())
                    .with_schema_root("schema".to_string())
            })
            .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let three = dir.join("three.parquet");
        write(
            File::create(&three).unwrap(),
            &batch.schema(),
            &batch,
            props(),
            3,
            None,
        )
        .unwrap();
        let (meta_one, rows_one) = read(&one);
        let (meta_three, rows_three) = read(&three);
        assert_eq!(meta_three.num_row_groups(), 3);
        assert_eq!(meta_one.num_row_groups(), meta_three.num_row_groups());
        assert_eq!(
            meta_one.file_metadata().key_value_metadata(),
            meta_three.file_metadata().key_value_metadata()
        );
        assert_eq!(rows_one, rows_three);
        assert_eq!(
            rows_three.iter().map(|b| b.num_rows()).sum::<usize>(),
            2_520
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
