//! The store-first collector: socket to Parquet file in Rust, Python only starting,
//! stopping and reading counters (`minewatch collect --store-only`).
//!
//! Two threads. The receiving thread takes datagrams off the socket and decodes them into
//! numeric records (netflow.rs); every `flush` (or as soon as `max_records` are waiting)
//! it hands what it has to the writing thread, through a queue of one. The writing thread
//! pairs them (pairing.rs, on numbers), writes the flows as the store's files (store.rs),
//! and then tells the caller (`on_flushed`: records taken, flows written), which updates
//! the store's journal. One write in flight, one batch waiting, and at most `max_pending`
//! records decoded beyond those: past that, datagrams are counted (`overflow`) and
//! dropped, so memory stays bounded whatever arrives.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use socket2::{Domain, Protocol, Socket, Type};

use crate::collector::{after_receive_error, feed_datagram};
use crate::netflow::Decoder;
use crate::pairing::{Flow, NumericPairer, Rec};
use crate::store::FlowFiles;

/// The largest UDP payload; a longer datagram cannot arrive.
const MAX_DATAGRAM: usize = 65_535;
/// How often the receiving thread looks at the clock and the stop flag when nothing arrives.
const TICK: Duration = Duration::from_millis(100);

/// Called after each flush with (one-way records the files so far were made of, flows in
/// files so far); an error stops nothing but is kept for the caller.
pub type OnFlushed = Box<dyn FnMut(u64, u64) -> Result<(), String> + Send>;

pub struct Settings {
    pub files: FlowFiles,
    pub max_records: usize,
    pub max_pending: usize,
    pub flush: Duration,
}

/// What the writing thread has done, read by the caller at any time.
#[derive(Default)]
pub struct Progress {
    /// One-way records handed to pairing.
    pub taken: AtomicU64,
    /// Records waiting for their other half.
    pub held: AtomicUsize,
    /// Flows paired, and flows in files.
    pub flows: AtomicU64,
    pub written: AtomicU64,
    pub files: AtomicU64,
    /// Flows that could not be written (the first error is kept).
    pub unwritten: AtomicU64,
    pub error: Mutex<Option<String>>,
}

impl Progress {
    fn failed(&self, message: String) {
        let mut e = self.error.lock().unwrap_or_else(|e| e.into_inner());
        e.get_or_insert(message);
    }
}

struct Shared {
    decoder: Mutex<Decoder>,
    stop: AtomicBool,
}

/// A batch of decoded records; `last` when the receiver has stopped.
struct Batch {
    records: Vec<Rec<IpAddr>>,
    last: bool,
}

pub struct StoreCollector {
    shared: Arc<Shared>,
    pub progress: Arc<Progress>,
    socket: Option<UdpSocket>,
    threads: Vec<JoinHandle<()>>,
    local: SocketAddr,
}

impl StoreCollector {
    /// Bind `addr` (nothing is taken off the socket before `start`).
    pub fn bind(addr: SocketAddr, recv_buffer: usize) -> std::io::Result<Self> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if recv_buffer > 0 {
            socket.set_recv_buffer_size(recv_buffer)?;
        }
        socket.bind(&addr.into())?;
        let socket: UdpSocket = socket.into();
        socket.set_read_timeout(Some(TICK))?;
        let local = socket.local_addr()?;
        Ok(StoreCollector {
            shared: Arc::new(Shared {
                decoder: Mutex::new(Decoder::numeric()),
                stop: AtomicBool::new(false),
            }),
            progress: Arc::new(Progress::default()),
            socket: Some(socket),
            threads: Vec::new(),
            local,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Start receiving and writing (once; later calls do nothing).
    pub fn start(&mut self, settings: Settings, on_flushed: OnFlushed) -> std::io::Result<()> {
        let Some(socket) = self.socket.take() else {
            return Ok(());
        };
        let (tx, rx) = bounded::<Batch>(1);
        // Emptied batches back to the receiver, to be filled again.
        let (back, recycled) = bounded::<Vec<Rec<IpAddr>>>(2);
        let (shared, progress) = (Arc::clone(&self.shared), Arc::clone(&self.progress));
        let (max_records, max_pending, flush) = (
            settings.max_records.max(1),
            settings.max_pending.max(1),
            settings.flush,
        );
        let limits = Limits {
            max_records,
            max_pending,
            flush,
        };
        self.threads.push(
            std::thread::Builder::new()
                .name("minewatch-receive".into())
                .spawn(move || receive(socket, shared, progress, (tx, recycled), limits))?,
        );
        let progress = Arc::clone(&self.progress);
        self.threads.push(
            std::thread::Builder::new()
                .name("minewatch-write".into())
                .spawn(move || {
                    write(
                        (rx, back),
                        settings.files,
                        max_records,
                        progress,
                        on_flushed,
                    )
                })?,
        );
        Ok(())
    }

    /// The decoder, for counters and logs (briefly: the receiving thread waits meanwhile).
    pub fn decoder(&self) -> MutexGuard<'_, Decoder> {
        self.shared
            .decoder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Stop receiving, write what was received (held records alone), and wait for both
    /// threads.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for StoreCollector {
    fn drop(&mut self) {
        // Not joined here: the writer may need the caller's lock (Python's GIL) to report
        // its last flush; `stop` is the orderly end.
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Clone, Copy)]
struct Limits {
    max_records: usize,
    max_pending: usize,
    flush: Duration,
}

fn receive(
    socket: UdpSocket,
    shared: Arc<Shared>,
    progress: Arc<Progress>,
    (tx, recycled): (Sender<Batch>, Receiver<Vec<Rec<IpAddr>>>),
    limits: Limits,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut handed = Instant::now();
    loop {
        let stopping = shared.stop.load(Ordering::Relaxed);
        let mut pending = 0;
        if !stopping {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let mut dec = shared.decoder.lock().unwrap_or_else(|e| e.into_inner());
                    feed_datagram(&mut dec, from, &buf[..n], limits.max_pending);
                    pending = dec.pending();
                }
                Err(e) => after_receive_error(&e),
            }
        }
        if stopping {
            let records = shared
                .decoder
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take_numeric();
            let _ = tx.send(Batch {
                records,
                last: true,
            });
            return;
        }
        let due = pending >= limits.max_records || handed.elapsed() >= limits.flush;
        // Handed over only when the queue is empty: one batch waits at most.
        if due && tx.is_empty() {
            let mut dec = shared.decoder.lock().unwrap_or_else(|e| e.into_inner());
            let records = dec.take_numeric();
            if let Ok(memory) = recycled.try_recv() {
                dec.give_back(memory);
            }
            drop(dec);
            handed = Instant::now();
            if !records.is_empty() || progress.held.load(Ordering::Relaxed) > 0 {
                let _ = tx.send(Batch {
                    records,
                    last: false,
                });
            }
        }
    }
}

fn write(
    (rx, back): (Receiver<Batch>, Sender<Vec<Rec<IpAddr>>>),
    files: FlowFiles,
    max_held: usize,
    progress: Arc<Progress>,
    mut on_flushed: OnFlushed,
) {
    let mut pairer = NumericPairer::new(max_held);
    let mut flows: Vec<Flow<IpAddr>> = Vec::new();
    let mut next_id = 0u64;
    for batch in rx.iter() {
        let taken = progress
            .taken
            .fetch_add(batch.records.len() as u64, Ordering::Relaxed)
            + batch.records.len() as u64;
        flows.clear();
        let _ = back.try_send(pairer.push(batch.records, &mut flows));
        if batch.last {
            pairer.flush(&mut flows);
        }
        progress.held.store(pairer.held(), Ordering::Relaxed);
        progress
            .flows
            .fetch_add(flows.len() as u64, Ordering::Relaxed);
        if !flows.is_empty() {
            match files.write(&flows, next_id) {
                Ok(written) => {
                    progress
                        .files
                        .fetch_add(written.len() as u64, Ordering::Relaxed);
                    let total = progress
                        .written
                        .fetch_add(flows.len() as u64, Ordering::Relaxed)
                        + flows.len() as u64;
                    if let Err(e) = on_flushed(taken - pairer.held() as u64, total) {
                        progress.failed(e);
                    }
                }
                Err(e) => {
                    progress
                        .unwritten
                        .fetch_add(flows.len() as u64, Ordering::Relaxed);
                    progress.failed(format!(
                        "cannot write flows into {}: {e}",
                        files.root.display()
                    ));
                }
            }
            next_id += flows.len() as u64;
        }
        if batch.last {
            return;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

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

    #[test]
    fn every_record_is_stored_once() {
        let dir = std::env::temp_dir().join(format!("mw-storefirst-{}", std::process::id()));
        let schema = crate::store::tests::stored_schema();
        let files = FlowFiles::new(dir.clone(), "t".into(), &schema, 2, "s".into()).unwrap();
        let mut dec = Decoder::numeric();
        for d in v5_datagrams(3000) {
            dec.feed("127.0.0.1:9".parse().unwrap(), &d, 0);
        }
        let mut pairer = NumericPairer::new(100);
        let mut flows = Vec::new();
        let _ = pairer.push(dec.take_numeric(), &mut flows);
        pairer.flush(&mut flows);
        assert_eq!(flows.len(), 3000);
        let written = files.write(&flows, 0).unwrap();
        assert!(!written.is_empty());
        assert!(written.iter().all(|p| p.exists()));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Where the CPU goes per record, stage by stage (run with
    /// `cargo test --release -- --ignored stage_costs --nocapture`).
    #[test]
    #[ignore]
    fn stage_costs() {
        let n = 1_048_576;
        let grams = v5_datagrams(n);
        let dir = std::env::temp_dir().join(format!("mw-stages-{}", std::process::id()));
        let schema = crate::store::tests::stored_schema();
        let files = FlowFiles::new(dir.clone(), "t".into(), &schema, 2, "s".into()).unwrap();
        let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
        // This thread's CPU time (the machine is shared: wall time would count others).
        let cpu = || -> u64 {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
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
            let mut pairer = NumericPairer::new(0);
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
}
