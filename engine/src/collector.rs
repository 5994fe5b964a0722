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

/// The largest UDP payload; a longer datagram cannot arrive.
const MAX_DATAGRAM: usize = 65_535;
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

/// One datagram into the decoder, or counted as overflow once `max_pending` decoded
/// records wait (memory stays bounded; the count says what was lost).
pub(crate) fn feed_datagram(dec: &mut Decoder, from: SocketAddr, data: &[u8], max_pending: usize) {
    if dec.pending() >= max_pending {
        dec.counters.overflow += 1;
    } else {
        dec.feed(from, data, now_ms());
    }
}

/// After a failed receive: a timeout or an interruption is the idle tick; anything else
/// (e.g. ICMP errors surfacing) waits a tick and the thread keeps listening.
pub(crate) fn after_receive_error(e: &std::io::Error) {
    let idle = matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    );
    if !idle {
        std::thread::sleep(TICK);
    }
}

fn receive(socket: UdpSocket, shared: Arc<Shared>, max_pending: usize) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !shared.stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let mut dec = shared.decoder.lock().unwrap_or_else(|e| e.into_inner());
                feed_datagram(&mut dec, from, &buf[..n], max_pending);
                if dec.pending() >= shared.wake_at.load(Ordering::Relaxed) {
                    shared.ready.notify_all();
                }
            }
            Err(e) => after_receive_error(&e),
        }
    }
}

impl Collector {
    /// Bind `addr`, asking the kernel for a receive buffer of `recv_buffer` bytes (it may
    /// grant less: net.core.rmem_max), and start receiving.
    pub fn bind(addr: SocketAddr, recv_buffer: usize, max_pending: usize) -> std::io::Result<Self> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if recv_buffer > 0 {
            socket.set_recv_buffer_size(recv_buffer)?;
        }
        socket.bind(&addr.into())?;
        let socket: UdpSocket = socket.into();
        socket.set_read_timeout(Some(TICK))?;
        let local = socket.local_addr()?;
        let shared = Arc::new(Shared {
            decoder: Mutex::new(Decoder::new()),
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
