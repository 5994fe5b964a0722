//! The store's Parquet writer settings measured against each other on the same flows
//! (`cargo test --release --lib -- --ignored parquet_settings --nocapture`): CPU per
//! record of encode + fsync, and file size. What store.rs uses came from here; a
//! setting's cost depends on the others, so each is measured against store.rs's own.

use crate::store::FlowFiles;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

#[test]
#[ignore]
fn parquet_settings() {
    let n = 262_144 * 2;
    let (dir, files) = crate::bench_stages::temporary_files("pq");
    let cpu = crate::bench_stages::cpu_ns;
    let flows = crate::bench_stages::one_way_flows(n);
    let mut batches = Vec::new();
    for chunk in flows.chunks(262_144) {
        for (_, rows) in FlowFiles::by_hour(chunk, 0) {
            batches.push(files.batch(&rows).unwrap());
        }
    }
    let ours = || files.properties();
    let encoded = |p: WriterPropertiesBuilder, columns: &[&str], e: Encoding| {
        columns
            .iter()
            .fold(p, |p, c| p.set_column_encoding(ColumnPath::from(*c), e))
    };
    let addresses = ["client_ip", "server_ip"];
    // What store.rs wrote before: plain pages, LZ4 on every column, no dictionary.
    let before = || {
        encoded(ours(), &crate::store::DELTA_COLUMNS, Encoding::PLAIN)
            .set_column_encoding(ColumnPath::from("end_reason"), Encoding::PLAIN)
            .set_column_encoding(ColumnPath::from("source"), Encoding::PLAIN)
            .set_column_dictionary_enabled(ColumnPath::from("sampling_rate"), false)
            .set_compression(Compression::LZ4_RAW)
    };
    let variants: Vec<(&str, WriterProperties)> = vec![
        ("store.rs: delta encodings, uncompressed", ours().build()),
        ("before: plain, LZ4 on every column", before().build()),
        (
            "before, uncompressed",
            before().set_compression(Compression::UNCOMPRESSED).build(),
        ),
        (
            "before, statistics on every column",
            before()
                .set_statistics_enabled(EnabledStatistics::Chunk)
                .build(),
        ),
        (
            "store.rs with LZ4 on every column",
            ours().set_compression(Compression::LZ4_RAW).build(),
        ),
        (
            "store.rs with addresses as DELTA_BYTE_ARRAY",
            encoded(ours(), &addresses, Encoding::DELTA_BYTE_ARRAY).build(),
        ),
        (
            "store.rs with addresses as DELTA_LENGTH_BYTE_ARRAY",
            encoded(ours(), &addresses, Encoding::DELTA_LENGTH_BYTE_ARRAY).build(),
        ),
        (
            "store.rs with LZ4 on the addresses",
            addresses
                .iter()
                .fold(ours(), |p, c| {
                    p.set_column_compression(ColumnPath::from(*c), Compression::LZ4_RAW)
                })
                .build(),
        ),
        (
            "store.rs, write batch 64k rows",
            ours().set_write_batch_size(65_536).build(),
        ),
        (
            "store.rs, 8 MB pages",
            ours()
                .set_data_page_size_limit(8 << 20)
                .set_data_page_row_count_limit(usize::MAX)
                .build(),
        ),
    ];
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = files;
    let mut runs: Vec<(String, WriterProperties, usize, bool)> = variants
        .into_iter()
        .map(|(name, props)| (format!("{name}, 1 thread"), props, 1, false))
        .collect();
    runs.insert(
        1,
        (
            "store.rs on 2 threads".into(),
            files.properties().build(),
            2,
            false,
        ),
    );
    // What the collector writes: the same-valued columns' chunks taken as encoded once.
    for threads in [1, 2] {
        let props = files.properties().build();
        runs.insert(
            0,
            (
                format!("store.rs, chunks of same-valued columns reused, {threads} thread(s)"),
                props,
                threads,
                true,
            ),
        );
    }
    for (name, props, threads, reuse) in runs {
        files.encode_threads = threads;
        let (mut least, mut wall) = (f64::MAX, f64::MAX);
        let mut size = 0;
        for round in 0..3 {
            let t = cpu();
            let w = std::time::Instant::now();
            for (i, b) in batches.iter().enumerate() {
                let path = dir.join(format!("{round}-{i}.parquet"));
                let same = reuse.then(|| files.same_chunks()).flatten();
                files.encode_with(b, &path, props.clone(), same).unwrap();
            }
            least = least.min((cpu() - t) as f64 / n as f64);
            wall = wall.min(w.elapsed().as_nanos() as f64 / n as f64);
            size = (0..batches.len())
                .map(|i| {
                    std::fs::metadata(dir.join(format!("{round}-{i}.parquet")))
                        .unwrap()
                        .len()
                })
                .sum::<u64>();
        }
        eprintln!(
            "{name}: {least:.0} ns CPU, {wall:.0} ns wall per record, {:.1} bytes per record",
            size as f64 / n as f64
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// What reusing the same-valued columns' chunks saves (same_chunks.rs): CPU per record of
/// encode + fsync with and without, alternating, least of five rounds each. Run with the
/// real schema (`MW_STORED_SCHEMA`, see bench_stages.rs `temporary_files`):
/// `cargo test --release --lib -- --ignored same_chunk_costs --nocapture`.
#[test]
#[ignore]
fn same_chunk_costs() {
    let n = 262_144 * 4;
    let (dir, files) = crate::bench_stages::temporary_files("same");
    let flows = crate::bench_stages::one_way_flows(n);
    let mut batches = Vec::new();
    // Flushes a little over 262,144 flows, as under load: four full row groups and a rest
    // (three files of 270,000 flows and one of 238,576).
    for chunk in flows.chunks(270_000) {
        for (_, rows) in FlowFiles::by_hour(chunk, 0) {
            batches.push(files.batch(&rows).unwrap());
        }
    }
    std::fs::create_dir_all(&dir).unwrap();
    // Before same_chunks.rs (one row group a file), every column encoded at 65,536-row
    // groups, and the chunks reused.
    let ways = [
        "one row group a file, every column encoded",
        "row groups of 65,536, every column encoded",
        "row groups of 65,536, same-valued chunks reused",
    ];
    let mut least = [f64::MAX; 3];
    for round in 0..5 {
        for (way, least) in least.iter_mut().enumerate() {
            let t = crate::bench_stages::cpu_ns();
            for (i, b) in batches.iter().enumerate() {
                let path = dir.join(format!("{round}-{i}-{way}.parquet"));
                let props = match way {
                    0 => files.properties().set_max_row_group_row_count(None),
                    _ => files.properties(),
                };
                let same = (way == 2).then(|| files.same_chunks()).flatten();
                files.encode_with(b, &path, props.build(), same).unwrap();
                std::fs::remove_file(&path).unwrap();
            }
            let ns = (crate::bench_stages::cpu_ns() - t) as f64 / n as f64;
            *least = least.min(ns);
        }
    }
    eprintln!(
        "{} columns; encode + fsync, ns a record:",
        batches[0].num_columns()
    );
    for (way, ns) in ways.iter().zip(least) {
        eprintln!("  {way}: {ns:.0}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Encoding CPU per record of each column of one 262,144-flow batch (least of three
/// rounds), costliest first: where encoding goes, and what same_chunks.rs takes out.
/// With the real schema: `MW_STORED_SCHEMA=... cargo test --release --lib -- --ignored
/// column_costs --nocapture` (see bench_stages.rs `temporary_files`).
#[test]
#[ignore]
fn column_costs() {
    use parquet::arrow::arrow_writer::{compute_leaves, ArrowWriterOptions};
    use parquet::arrow::ArrowWriter;
    let n = 262_144;
    let (dir, files) = crate::bench_stages::temporary_files("columns");
    let flows = crate::bench_stages::one_way_flows(n);
    let rows: Vec<_> = (0..n as u64).zip(flows.iter()).collect();
    let batch = files.batch(&rows).unwrap();
    let schema = batch.schema();
    let mut least = vec![f64::MAX; schema.fields().len()];
    for _ in 0..3 {
        let options = ArrowWriterOptions::new()
            .with_properties(files.properties().build())
            .with_schema_root("schema".to_string());
        let writer =
            ArrowWriter::try_new_with_options(Vec::new(), schema.clone(), options).unwrap();
        let (_file, factory) = writer.into_serialized_writer().unwrap();
        let mut writers = factory.create_column_writers(0).unwrap().into_iter();
        for (i, (field, array)) in schema.fields().iter().zip(batch.columns()).enumerate() {
            let t = crate::bench_stages::cpu_ns();
            for leaf in compute_leaves(field, array).unwrap() {
                let mut writer = writers.next().unwrap();
                writer.write(&leaf).unwrap();
                writer.close().unwrap();
            }
            least[i] = least[i].min((crate::bench_stages::cpu_ns() - t) as f64 / n as f64);
        }
    }
    let mut costs: Vec<_> = schema.fields().iter().zip(least).collect();
    costs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = costs.iter().map(|c| c.1).sum();
    eprintln!("{} columns, {total:.1} ns a record in all", costs.len());
    for (field, ns) in costs.iter().filter(|c| c.1 >= 0.5) {
        eprintln!("{:>20} {ns:5.1} ns", field.name());
    }
    let _ = std::fs::remove_dir_all(dir);
}
