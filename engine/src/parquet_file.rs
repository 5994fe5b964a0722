//! One record batch as a Parquet file whose column chunks are encoded on several threads:
//! what `ArrowWriter::write` does on one, the same bytes in the same order. Encoding is
//! most of the store-first collector's writing thread (bench_parquet.rs); split over two
//! threads it uses the core the receiving thread leaves idle, and the file count stays one
//! file per flush and hour.

use std::fs::File;
use std::io;

use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowWriterOptions,
};
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

/// Threads encoding one file's columns: the writing thread and one more.
pub const ENCODE_THREADS: usize = 2;

/// `batch` into `file` as Parquet with `props` (row groups of at most the properties' row
/// count, lists' parts named as the Arrow schema says, the Arrow schema in the metadata as
/// `ArrowWriter` stores it); the file, flushed, not yet synced.
pub fn write(
    file: File,
    schema: &SchemaRef,
    batch: &RecordBatch,
    props: WriterProperties,
    threads: usize,
) -> io::Result<File> {
    let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_schema_root("schema".to_string());
    let writer = ArrowWriter::try_new_with_options(file, schema.clone(), options)
        .map_err(io::Error::other)?;
    let (mut file_writer, factory) = writer.into_serialized_writer().map_err(io::Error::other)?;
    let (mut offset, mut index) = (0, 0);
    // As ArrowWriter: no rows, no row group.
    while offset < batch.num_rows() {
        let rows = batch.slice(offset, max_rows.min(batch.num_rows() - offset));
        let writers = factory
            .create_column_writers(index)
            .map_err(io::Error::other)?;
        let chunks = encode(writers, leaves(schema, &rows)?, threads)?;
        let mut row_group = file_writer.next_row_group().map_err(io::Error::other)?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut row_group)
                .map_err(io::Error::other)?;
        }
        row_group.close().map_err(io::Error::other)?;
        offset += rows.num_rows();
        index += 1;
    }
    file_writer.into_inner().map_err(io::Error::other)
}

/// Every leaf column of `rows` in schema order (what the column writers are made for),
/// with the bytes of Arrow memory behind it: an estimate of its cost to encode.
fn leaves(schema: &SchemaRef, rows: &RecordBatch) -> io::Result<Vec<(ArrowLeafColumn, usize)>> {
    let mut out = Vec::new();
    for (field, array) in schema.fields().iter().zip(rows.columns()) {
        let parts = compute_leaves(field, array).map_err(io::Error::other)?;
        let weight = array.get_buffer_memory_size() / parts.len().max(1);
        out.extend(parts.into_iter().map(|leaf| (leaf, weight)));
    }
    Ok(out)
}

/// The column chunks, in column order, encoded by `threads` threads, each given columns
/// of about the same weight (the heaviest first to the least loaded).
fn encode(
    writers: Vec<ArrowColumnWriter>,
    leaves: Vec<(ArrowLeafColumn, usize)>,
    threads: usize,
) -> io::Result<Vec<ArrowColumnChunk>> {
    if writers.len() != leaves.len() {
        return Err(io::Error::other(format!(
            "{} column writers for {} leaf columns",
            writers.len(),
            leaves.len()
        )));
    }
    let threads = threads.clamp(1, writers.len().max(1));
    let mut order: Vec<usize> = (0..leaves.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(leaves[i].1));
    let (mut load, mut owner) = (vec![0usize; threads], vec![0usize; leaves.len()]);
    for i in order {
        let least = (0..threads).min_by_key(|&t| load[t]).unwrap_or(0);
        load[least] += leaves[i].1 + 1;
        owner[i] = least;
    }
    let mut jobs: Vec<Vec<_>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, (writer, (leaf, _))) in writers.into_iter().zip(leaves).enumerate() {
        jobs[owner[i]].push((i, writer, leaf));
    }
    let run = |job: Vec<(usize, ArrowColumnWriter, ArrowLeafColumn)>| {
        job.into_iter()
            .map(|(i, mut writer, leaf)| {
                writer.write(&leaf)?;
                Ok((i, writer.close()?))
            })
            .collect::<Result<Vec<_>, ParquetError>>()
    };
    let own = jobs.remove(0);
    let done = std::thread::scope(|s| {
        let others: Vec<_> = jobs
            .into_iter()
            .map(|job| s.spawn(move || run(job)))
            .collect();
        let mut done = run(own);
        for handle in others {
            let more = handle.join().unwrap_or_else(|_| {
                Err(ParquetError::General("an encoding thread panicked".into()))
            });
            done = done.and_then(|mut d| {
                d.extend(more?);
                Ok(d)
            });
        }
        done
    })
    .map_err(io::Error::other)?;
    let mut chunks: Vec<Option<ArrowColumnChunk>> = (0..done.len()).map(|_| None).collect();
    for (i, chunk) in done {
        chunks[i] = Some(chunk);
    }
    Ok(chunks.into_iter().flatten().collect())
}
