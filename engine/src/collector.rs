//! The UDP side of the flow collector: one socket, read and decoded on its own thread,
//! so datagrams keep being taken off the kernel's buffer while Python analyses the last
//! batch. Python asks for what has been decoded every few seconds (`poll`). Memory is
//! bounded: past `max_pending` decoded records, datagrams are counted and dropped.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow_array::RecordBatch;
use socket2::{Domain, Protocol, Socket, Type};

use crate::netflow::Decoder;
use crate::recv_many::Datagrams;

/// How often the receiving thread looks at the stop flag when nothing arrives.
const TICK: Duration = Duration::from_millis(100);

struct Shared {
    decoder: Mutex<Decoder>,
    ready: Condvar,
    stop: AtomicBool,
    /// Records at which a waiting `poll` is woken.
    wake_at: std::sync::atomic::AtomicUsize,
}

pub struct Collector {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    local: SocketAddr,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Datagrams taken off a socket by one system call (recv_many.rs), at most.
pub(crate) const BATCH: usize = 16;

/// Wait for datagrams on `socket` (up to its read timeout) and decode what came, each
/// datagram counted as overflow instead once `max_pending` decoded records wait (memory
/// stays bounded; the count says what was lost). The records now pending; None when
/// nothing came (a timeout, or an error, after which the thread waits a tick).
pub(crate) fn take_datagrams(
    socket: &UdpSocket,
    many: &mut Datagrams,
    decoder: &Mutex<Decoder>,
    max_pending: usize,
) -> Option<usize> {
    if let Err(e) = many.receive(socket) {
        // A timeout or an interruption is the idle tick; anything else (e.g. ICMP errors
        // surfacing) waits a tick and the thread keeps listening.
        let idle = matches!(
            e.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
        );
        if !idle {
            std::thread::sleep(TICK);
        }
        return None;
    }
    let now = now_ms();
    let mut dec = decoder.lock().unwrap_or_else(|e| e.into_inner());
    for (from, data) in many.iter() {
        let Some(from) = from else { continue };
        if dec.pending() >= max_pending {
            dec.counters.overflow += 1;
        } else {
            dec.feed(from, data, now);
        }
    }
    Some(dec.pending())
}

fn receive(socket: UdpSocket, shared: Arc<Shared>, max_pending: usize) {
    let mut many = Datagrams::new(BATCH);
    while !shared.stop.load(Ordering::Relaxed) {
        let pending = take_datagrams(&socket, &mut many, &shared.decoder, max_pending);
        if pending.is_some_and(|n| n >= shared.wake_at.load(Ordering::Relaxed)) {
            shared.ready.notify_all();
        }
    }
}

impl Collector {
    /// Bind `addr`, asking the kernel for a receive buffer of `recv_buffer` bytes (it may
    /// grant less: net.core.rmem_max), and start receiving with `decoder` (set up before
    /// the first datagram: its assumed sampling rate, say).
    pub fn bind(
        addr: SocketAddr,
        recv_buffer: usize,
        max_pending: usize,
        decoder: Decoder,
    ) -> std::io::Result<Self> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if recv_buffer > 0 {
            socket.set_recv_buffer_size(recv_buffer)?;
        }
        socket.bind(&addr.into())?;
        let socket: UdpSocket = socket.into();
        socket.set_read_timeout(Some(TICK))?;
        let local = socket.local_addr()?;
        let shared = Arc::new(Shared {
            decoder: Mutex::new(decoder),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
            wake_at: std::sync::atomic::AtomicUsize::new(usize::MAX),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("minewatch-collector".into())
            .spawn(move || receive(socket, worker, max_pending.max(1)))?;
        Ok(Collector {
            shared,
            thread: Some(thread),
            local,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The decoder, for counters and logs (briefly: the receiving thread waits meanwhile).
    pub fn decoder(&self) -> MutexGuard<'_, Decoder> {
        self.shared
            .decoder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Wait up to `wait`, or until `max_records` records are decoded; then hand over what
    /// has been decoded.
    pub fn poll(&self, wait: Duration, max_records: usize) -> RecordBatch {
        let deadline = Instant::now() + wait;
        self.shared
            .wake_at
            .store(max_records.max(1), Ordering::Relaxed);
        let mut dec = self.decoder();
        while dec.pending() < max_records {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            dec = self
                .shared
                .ready
                .wait_timeout(dec, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        dec.take()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
