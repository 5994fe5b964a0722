//! The store-first collector: socket to Parquet file in Rust, Python only starting,
//! stopping and reading counters (`minewatch collect --store-only`).
//!
//! Three threads. The receiving thread takes datagrams off the socket (many a system
//! call: recv_many.rs) and decodes them into numeric records (netflow.rs); every `flush`
//! (or as soon as `max_records` are waiting) it hands all it has to the pairing thread,
//! through a queue of one. The pairing thread pairs them (pairing/, on numbers) and hands
//! the flows to the writing thread when that is free, so that the next batch is paired
//! while this one is encoded. The writing thread writes the flows as the store's files
//! (store.rs, its columns encoded on two threads: parquet_file.rs) and then tells the
//! caller (`on_flushed`: records settled, flows written), which updates the store's
//! journal. In memory: a batch being written, one in the pairing thread's hand, one
//! waiting for it, and at most `max_pending` records decoded beyond those (a batch is at
//! most that much too): past that, datagrams are counted (`overflow`) and dropped, so
//! memory stays bounded whatever arrives.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use socket2::{Domain, Protocol, Socket, Type};

use crate::collector::{take_datagrams, BATCH};
use crate::netflow::Decoder;
use crate::pairing::{Flow, NumericPairer, Rec};
use crate::recv_many::Datagrams;
use crate::store::FlowFiles;

/// How often the receiving thread looks at the clock and the stop flag when nothing arrives.
const TICK: Duration = Duration::from_millis(100);
/// How much nicer than the receiving thread the pairing and writing threads are.
const BEHIND_RECEIVING: i32 = 2;

/// Make this thread (and the threads it starts) nicer than the receiving thread: when the
/// CPU is short, the receiving thread runs first, since it alone loses data (the socket's
/// buffer overflows in tens of milliseconds) while the others catch up from memory.
fn behind_receiving() {
    // SAFETY: nice(2) changes the calling thread's own nice value (Linux: a per-thread
    // value); no pointers. A failure leaves the thread as it was.
    unsafe {
        libc::nice(BEHIND_RECEIVING);
    }
}

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
    /// Bind `addr` (nothing is taken off the socket before `start`), to be decoded by
    /// `decoder` (a numeric one: `Decoder::numeric`, set up as the caller wants).
    pub fn bind(addr: SocketAddr, recv_buffer: usize, decoder: Decoder) -> std::io::Result<Self> {
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
                decoder: Mutex::new(decoder),
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
        // A rendezvous: the pairing thread pairs the next batch while this one is written,
        // then waits with it in hand (no third batch of flows in memory).
        let (to_write, paired) = bounded::<Paired>(0);
        // Written flows' memory back to the pairing thread, to be filled again.
        let (emptied, refill) = bounded::<Vec<Flow<IpAddr>>>(2);
        let progress = Arc::clone(&self.progress);
        self.threads.push(
            std::thread::Builder::new()
                .name("minewatch-pair".into())
                .spawn(move || pair((rx, back), (to_write, refill), max_records, progress))?,
        );
        let progress = Arc::clone(&self.progress);
        self.threads.push(
            std::thread::Builder::new()
                .name("minewatch-write".into())
                .spawn(move || write((paired, emptied), settings.files, progress, on_flushed))?,
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

    /// Stop receiving, write what was received (held records alone), and wait for the
    /// three threads.
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
    let mut many = Datagrams::new(BATCH);
    let mut handed = Instant::now();
    loop {
        let stopping = shared.stop.load(Ordering::Relaxed);
        let mut pending = 0;
        if !stopping {
            pending = take_datagrams(&socket, &mut many, &shared.decoder, limits.max_pending)
                .unwrap_or(0);
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

/// Flows paired from what was taken so far, on their way to the files.
struct Paired {
    flows: Vec<Flow<IpAddr>>,
    /// The id of the first flow.
    first_id: u64,
    /// One-way records taken so far that are in these flows or earlier ones (not held).
    settled: u64,
    last: bool,
}

/// The pairing thread: batches of records in, flows out to the writing thread (one batch
/// of flows in hand at most, handed over when the writer is free), so that pairing the
/// next batch and encoding this one run side by side.
fn pair(
    (rx, back): (Receiver<Batch>, Sender<Vec<Rec<IpAddr>>>),
    (tx, emptied): (Sender<Paired>, Receiver<Vec<Flow<IpAddr>>>),
    max_held: usize,
    progress: Arc<Progress>,
) {
    behind_receiving();
    let mut pairer = NumericPairer::new(max_held);
    let mut next_id = 0u64;
    for batch in rx.iter() {
        let taken = progress
            .taken
            .fetch_add(batch.records.len() as u64, Ordering::Relaxed)
            + batch.records.len() as u64;
        let mut flows = emptied.try_recv().unwrap_or_default();
        flows.clear();
        let _ = back.try_send(pairer.push(batch.records, &mut flows));
        if batch.last {
            pairer.flush(&mut flows);
        }
        progress.held.store(pairer.held(), Ordering::Relaxed);
        progress
            .flows
            .fetch_add(flows.len() as u64, Ordering::Relaxed);
        let first_id = next_id;
        next_id += flows.len() as u64;
        let paired = Paired {
            flows,
            first_id,
            settled: taken - pairer.held() as u64,
            last: batch.last,
        };
        if tx.send(paired).is_err() || batch.last {
            return;
        }
    }
}

/// The writing thread: flows into the store's files, then the caller told.
fn write(
    (rx, emptied): (Receiver<Paired>, Sender<Vec<Flow<IpAddr>>>),
    files: FlowFiles,
    progress: Arc<Progress>,
    mut on_flushed: OnFlushed,
) {
    behind_receiving();
    for paired in rx.iter() {
        let flows = &paired.flows;
        if !flows.is_empty() {
            match files.write(flows, paired.first_id) {
                Ok(written) => {
                    progress
                        .files
                        .fetch_add(written.len() as u64, Ordering::Relaxed);
                    let total = progress
                        .written
                        .fetch_add(flows.len() as u64, Ordering::Relaxed)
                        + flows.len() as u64;
                    if let Err(e) = on_flushed(paired.settled, total) {
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
        }
        if paired.last {
            return;
        }
        let _ = emptied.try_send(paired.flows);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn every_record_is_stored_once() {
        let dir = std::env::temp_dir().join(format!("mw-storefirst-{}", std::process::id()));
        let schema = crate::store::tests::stored_schema();
        let files = FlowFiles::new(dir.clone(), "t".into(), &schema, 2, "s".into()).unwrap();
        let mut dec = Decoder::numeric();
        for d in crate::bench_stages::v5_datagrams(3000) {
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
}
