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
    let mut runs: Vec<(String, WriterProperties, usize)> = variants
        .into_iter()
        .map(|(name, props)| (format!("{name}, 1 thread"), props, 1))
        .collect();
    runs.insert(
        1,
        (
            "store.rs on 2 threads".into(),
            files.properties().build(),
            2,
        ),
    );
    for (name, props, threads) in runs {
        files.encode_threads = threads;
        let (mut least, mut wall) = (f64::MAX, f64::MAX);
        let mut size = 0;
        for round in 0..3 {
            let t = cpu();
            let w = std::time::Instant::now();
            for (i, b) in batches.iter().enumerate() {
                let path = dir.join(format!("{round}-{i}.parquet"));
                files.encode_with(b, &path, props.clone()).unwrap();
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
