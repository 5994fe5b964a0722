//! The UDP side of the flow collector: one socket, read without the GIL, decoded as it
//! arrives. Python asks for a batch every few seconds (`poll`); the kernel's socket buffer
//! holds what arrives in between.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow_array::RecordBatch;
use socket2::{Domain, Protocol, Socket, Type};

use crate::netflow::Decoder;

/// The largest UDP payload; a longer datagram cannot arrive.
const MAX_DATAGRAM: usize = 65_535;

pub struct Collector {
    socket: UdpSocket,
    pub decoder: Decoder,
    buf: Vec<u8>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Collector {
    /// Bind `addr`, asking the kernel for a receive buffer of `recv_buffer` bytes (it may
    /// grant less: net.core.rmem_max).
    pub fn bind(addr: SocketAddr, recv_buffer: usize) -> std::io::Result<Self> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if recv_buffer > 0 {
            socket.set_recv_buffer_size(recv_buffer)?;
        }
        socket.bind(&addr.into())?;
        Ok(Collector { socket: socket.into(), decoder: Decoder::new(), buf: vec![0; MAX_DATAGRAM] })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receive and decode for up to `wait`, or until `max_records` records are waiting;
    /// then hand them over. Socket errors other than a timeout are returned.
    pub fn poll(&mut self, wait: Duration, max_records: usize) -> std::io::Result<RecordBatch> {
        let deadline = Instant::now() + wait;
        while self.decoder.pending() < max_records {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.socket.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            match self.socket.recv_from(&mut self.buf) {
                Ok((n, from)) => self.decoder.feed(from, &self.buf[..n], now_ms()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.decoder.take())
    }
}
