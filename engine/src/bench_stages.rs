//! Where the store-first collector's CPU goes, stage by stage (run with
//! `cargo test --release --lib -- --ignored stage_costs --nocapture`), and what the
//! engine's benchmarks and tests of the store share: datagrams, flows, files, a CPU clock.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::netflow::Decoder;
use crate::pairing::{Flow, NumericPairer};
use crate::store::FlowFiles;

/// CPU nanoseconds of this whole process so far: its threads' (the writer's encoding
/// helpers too), not other processes' (the machine may be shared).
pub(crate) fn cpu_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Files of the stored schema under a fresh temporary folder named after `name`: the
/// engine's tests' cut-down schema, or the real one (STORED_FLOW_SCHEMA: 57 columns, most
/// of them null in a flow export) read from the Parquet file `MW_STORED_SCHEMA` names,
/// written for benchmarks with
/// `python -c 'import pyarrow.parquet as pq; from minewatch.store import STORED_FLOW_SCHEMA as s; pq.write_table(s.empty_table(), "/tmp/stored.parquet")'`.
pub(crate) fn temporary_files(name: &str) -> (PathBuf, FlowFiles) {
    let dir = std::env::temp_dir().join(format!("mw-{name}-{}", std::process::id()));
    let schema = match std::env::var_os("MW_STORED_SCHEMA") {
        Some(path) => {
            let file = std::fs::File::open(path).expect("MW_STORED_SCHEMA: a Parquet file");
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .expect("MW_STORED_SCHEMA: a Parquet file");
            reader.schema().as_ref().clone()
        }
        None => crate::store::tests::stored_schema(),
    };
    let files = FlowFiles::new(dir.clone(), "t".into(), &schema, 2, "s".into()).unwrap();
    (dir, files)
}

/// The flows of `records` one-way v5 records (`v5_datagrams`), each alone.
pub(crate) fn one_way_flows(records: usize) -> Vec<Flow<IpAddr>> {
    let mut dec = Decoder::numeric();
    for d in v5_datagrams(records) {
        dec.feed("127.0.0.1:9".parse().unwrap(), &d, 0);
    }
    let mut flows = Vec::new();
    let _ = NumericPairer::new(0).push(dec.take_numeric(), &mut flows);
    flows
}

/// NetFlow v5 datagrams of 30 one-way records each, as bench/flows.py makes them:
/// 200,000 clients, 1,000,000 servers, ephemeral client ports.
pub(crate) fn v5_datagrams(records: usize) -> Vec<Vec<u8>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..records.div_ceil(30))
        .map(|seq| {
            let mut d = Vec::with_capacity(24 + 30 * 48);
            for v in [5u16, 30] {
                d.extend_from_slice(&v.to_be_bytes());
            }
            for v in [4_000_000u32, 1_790_000_000, 0, (seq * 30) as u32, 0] {
                d.extend_from_slice(&v.to_be_bytes());
            }
            for _ in 0..30 {
                let client = 0x0A00_0000 + (next() % 200_000) as u32;
                let server = 0x0B00_0000 + (next() % 1_000_000) as u32 * 97;
                let first = 400_000 + (next() % 2_600_000) as u32;
                for v in [client, server, 0, 0, 7, 7000, first, first + 5000] {
                    d.extend_from_slice(&v.to_be_bytes());
                }
                let sport = 32768 + (next() % 28_000) as u16;
                for v in [sport, 443] {
                    d.extend_from_slice(&v.to_be_bytes());
                }
                d.extend_from_slice(&[0, 0x1b, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            }
            d
        })
        .collect()
}

/// Where the CPU goes per record, stage by stage (run with
/// `cargo test --release -- --ignored stage_costs --nocapture`).
#[test]
#[ignore]
fn stage_costs() {
    let n = 1_048_576;
    let grams = v5_datagrams(n);
    let (dir, files) = temporary_files("stages");
    let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let cpu = cpu_ns;
    let per = |t: u64| (cpu() - t) as f64 / n as f64;
    let mut arrow = Decoder::new();
    let t = cpu();
    for d in &grams {
        arrow.feed(from, d, 0);
    }
    let _ = arrow.take();
    let decode_text = per(t);
    // The least of three rounds, stage by stage: other work on the machine only adds.
    let mut least = [f64::MAX; 4];
    for _ in 0..3 {
        let mut dec = Decoder::numeric();
        let t = cpu();
        for d in &grams {
            dec.feed(from, d, 0);
        }
        let records = dec.take_numeric();
        let decode = per(t);
        // As the writing thread does: a batch at a time, its memory reused.
        let (mut pair, mut build, mut encode) = (0.0, 0.0, 0.0);
        let mut flows = Vec::new();
        let mut pairer = NumericPairer::new(262_144);
        let mut memory = Vec::new();
        let folder = crate::store::flow_folder(&dir, 1);
        for chunk in records.chunks(262_144) {
            let t = cpu();
            memory.extend_from_slice(chunk);
            flows.clear();
            memory = pairer.push(memory, &mut flows);
            pair += per(t);
            let t = cpu();
            let batches: Vec<_> = FlowFiles::by_hour(&flows, 0)
                .into_iter()
                .map(|(_, rows)| files.batch(&rows).unwrap())
                .collect();
            build += per(t);
            let t = cpu();
            for b in &batches {
                files.write_atomically(b, &folder).unwrap();
            }
            encode += per(t);
        }
        for (l, v) in least.iter_mut().zip([decode, pair, build, encode]) {
            *l = l.min(v);
        }
    }
    let [decode, pair, build, encode] = least;
    eprintln!(
        "CPU ns per record: decode {decode:.0} (to Arrow text: {decode_text:.0}), pair {pair:.0}, \
         build Arrow {build:.0}, Parquet encode+fsync {encode:.0}; total {:.0} \
         = {:.2} M records per CPU-second",
        decode + pair + build + encode,
        1e3 / (decode + pair + build + encode)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// IPFIX messages of `per` records each, as a carrier router exports them (template 256:
/// addresses, ports, protocol, TCP flags, packets and bytes as 8 bytes, interfaces,
/// start and end in milliseconds); the template is in the first message.
pub(crate) fn ipfix_datagrams(records: usize, per: usize) -> Vec<Vec<u8>> {
    template_datagrams(records, per, 10, usize::MAX)
}

/// NetFlow v9 export packets of `per` records each, as a router exports them (template
/// 256 as IPFIX's, but start and end as uptime milliseconds, 4 bytes each); the template
/// is in the first packet.
pub(crate) fn v9_datagrams(records: usize, per: usize) -> Vec<Vec<u8>> {
    template_datagrams(records, per, 9, usize::MAX)
}

/// Export packets of `per` records (v9 or IPFIX, `version`), the template in the first
/// and then in every `every`-th (as exporters resend it).
fn template_datagrams(records: usize, per: usize, version: u16, every: usize) -> Vec<Vec<u8>> {
    let times: [(u16, u16); 2] = if version == 9 {
        [(22, 4), (21, 4)]
    } else {
        [(152, 8), (153, 8)]
    };
    let mut spec: Vec<(u16, u16)> = vec![
        (8, 4),
        (12, 4),
        (7, 2),
        (11, 2),
        (4, 1),
        (6, 1),
        (2, 8),
        (1, 8),
        (10, 4),
        (14, 4),
    ];
    spec.extend(times);
    let set = |id: u16, body: &[u8]| {
        let mut s = id.to_be_bytes().to_vec();
        s.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        s.extend_from_slice(body);
        s
    };
    let mut template = vec![1, 0, 0, spec.len() as u8];
    for (t, l) in &spec {
        template.extend_from_slice(&t.to_be_bytes());
        template.extend_from_slice(&l.to_be_bytes());
    }
    let v5 = v5_datagrams(records);
    let mut out = Vec::new();
    let mut seq = 0u32;
    // The same flows as the v5 datagrams: 48-byte v5 records re-encoded.
    let flows: Vec<&[u8]> = v5.iter().flat_map(|d| d[24..].chunks(48)).collect();
    for chunk in flows.chunks(per) {
        let mut data = Vec::new();
        for r in chunk {
            let be32 = |at: usize| u32::from_be_bytes(r[at..at + 4].try_into().unwrap());
            data.extend_from_slice(&r[0..4]);
            data.extend_from_slice(&r[4..8]);
            data.extend_from_slice(&r[32..36]);
            data.push(r[38]);
            data.push(r[37]);
            data.extend_from_slice(&u64::from(be32(16)).to_be_bytes());
            data.extend_from_slice(&u64::from(be32(20)).to_be_bytes());
            data.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
            if version == 9 {
                data.extend_from_slice(&r[24..32]);
            } else {
                let base = 1_790_000_000_000u64 - 4_000_000;
                data.extend_from_slice(&(base + u64::from(be32(24))).to_be_bytes());
                data.extend_from_slice(&(base + u64::from(be32(28))).to_be_bytes());
            }
        }
        let mut sets = Vec::new();
        let first = out.len() % every == 0;
        if first {
            sets.extend(set(if version == 9 { 0 } else { 2 }, &template));
        }
        sets.extend(set(256, &data));
        let mut d = version.to_be_bytes().to_vec();
        if version == 9 {
            let count = chunk.len() + usize::from(first);
            d.extend_from_slice(&(count as u16).to_be_bytes());
            d.extend_from_slice(&4_000_000u32.to_be_bytes());
            d.extend_from_slice(&1_790_000_000u32.to_be_bytes());
            d.extend_from_slice(&(out.len() as u32).to_be_bytes());
        } else {
            d.extend_from_slice(&((16 + sets.len()) as u16).to_be_bytes());
            d.extend_from_slice(&1_790_000_000u32.to_be_bytes());
            d.extend_from_slice(&seq.to_be_bytes());
        }
        d.extend_from_slice(&0u32.to_be_bytes());
        d.extend_from_slice(&sets);
        seq += chunk.len() as u32;
        out.push(d);
    }
    out
}

/// Decoding's CPU per record by export version, memory reused as the collector does
/// (`cargo test --release --lib -- --ignored decode_costs --nocapture`).
#[test]
#[ignore]
fn decode_costs() {
    let n = 1_048_576;
    let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
    for (name, grams) in [
        ("NetFlow v5, 30 a datagram", v5_datagrams(n)),
        ("IPFIX, 25 a message", ipfix_datagrams(n, 25)),
        ("NetFlow v9, 25 a packet", v9_datagrams(n, 25)),
        // Exporters that resend the template often: those packets go to the parser.
        (
            "IPFIX, the template in every 20th",
            template_datagrams(n, 25, 10, 20),
        ),
        (
            "NetFlow v9, the template in every 20th",
            template_datagrams(n, 25, 9, 20),
        ),
    ] {
        let mut dec = Decoder::numeric();
        let mut least = f64::MAX;
        let mut decoded = 0;
        for _ in 0..3 {
            for chunk in grams.chunks(262_144 / 30) {
                let t = cpu_ns();
                for d in chunk {
                    dec.feed(from, d, 0);
                }
                let records = dec.take_numeric();
                let spent = cpu_ns() - t;
                decoded = records.len();
                dec.give_back(records);
                least = least.min(spent as f64 / decoded as f64);
            }
        }
        assert!(decoded > 0, "{name}: nothing decoded");
        eprintln!("{name}: decode {least:.0} ns a record");
    }
}
