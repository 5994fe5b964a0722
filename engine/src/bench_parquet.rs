//! The store's Parquet writer settings measured against each other on the same flows
//! (`cargo test --release --lib -- --ignored parquet_settings --nocapture`): CPU per
//! record of encode + fsync, and file size. What store.rs uses came from here.

use std::net::SocketAddr;

use crate::netflow::Decoder;
use crate::pairing::NumericPairer;
use crate::store::FlowFiles;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

#[test]
#[ignore]
fn parquet_settings() {
    let n = 262_144 * 2;
    let grams = crate::storefirst::tests::v5_datagrams(n);
    let dir = std::env::temp_dir().join(format!("mw-pq-{}", std::process::id()));
    let schema = crate::store::tests::stored_schema();
    let files = FlowFiles::new(dir.clone(), "t".into(), &schema, 2, "s".into()).unwrap();
    let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let cpu = || -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let mut dec = Decoder::numeric();
    for d in &grams {
        dec.feed(from, d, 0);
    }
    let mut pairer = NumericPairer::new(0);
    let mut flows = Vec::new();
    let _ = pairer.push(dec.take_numeric(), &mut flows);
    let mut batches = Vec::new();
    for chunk in flows.chunks(262_144) {
        for (_, rows) in FlowFiles::by_hour(chunk, 0) {
            batches.push(files.batch(&rows).unwrap());
        }
    }
    let low = [
        "ip_proto",
        "tcp_flags",
        "server_port",
        "end_reason",
        "source",
        "sampling_rate",
    ];
    let ours = || files.properties();
    let variants: Vec<(&str, WriterProperties)> = vec![
        ("store.rs", ours().build()),
        (
            "statistics on every column",
            ours()
                .set_statistics_enabled(EnabledStatistics::Chunk)
                .build(),
        ),
        (
            "write batch 64k rows",
            ours().set_write_batch_size(65_536).build(),
        ),
        (
            "uncompressed",
            ours().set_compression(Compression::UNCOMPRESSED).build(),
        ),
        (
            "8 MB pages",
            ours()
                .set_data_page_size_limit(8 << 20)
                .set_data_page_row_count_limit(usize::MAX)
                .build(),
        ),
        (
            "dictionary on low-cardinality columns",
            low.iter()
                .fold(ours(), |p, c| {
                    p.set_column_dictionary_enabled(ColumnPath::from(*c), true)
                })
                .build(),
        ),
    ];
    std::fs::create_dir_all(&dir).unwrap();
    for (name, props) in variants {
        let mut least = f64::MAX;
        let mut size = 0;
        for round in 0..3 {
            let t = cpu();
            for (i, b) in batches.iter().enumerate() {
                let path = dir.join(format!("{round}-{i}.parquet"));
                files.encode_with(b, &path, props.clone()).unwrap();
            }
            least = least.min((cpu() - t) as f64 / n as f64);
            size = (0..batches.len())
                .map(|i| {
                    std::fs::metadata(dir.join(format!("{round}-{i}.parquet")))
                        .unwrap()
                        .len()
                })
                .sum::<u64>();
        }
        eprintln!(
            "{name}: {least:.0} ns per record, {:.1} bytes per record",
            size as f64 / n as f64
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
