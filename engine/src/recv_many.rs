//! Many datagrams from one system call (`recvmmsg(2)`): at a few million flow records a
//! second (about 100,000 datagrams), a call per datagram is a third of the receiving
//! thread's time. Linux only, as the rest of the collector's tuning.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Room for one datagram: the largest UDP payload.
const SIZE: usize = 65_536;

/// Buffers for up to `slots` datagrams, reused from call to call.
pub struct Datagrams {
    data: Vec<u8>,
    lengths: Vec<usize>,
    sources: Vec<libc::sockaddr_storage>,
    received: usize,
}

impl Datagrams {
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(1);
        Datagrams {
            data: vec![0; slots * SIZE],
            lengths: vec![0; slots],
            // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
            sources: vec![unsafe { zeroed() }; slots],
            received: 0,
        }
    }

    /// Wait for a datagram (up to the socket's read timeout), then take it and every one
    /// already waiting, up to the slots; how many.
    pub fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let slots = self.lengths.len();
        let mut iovecs: Vec<libc::iovec> = self
            .data
            .chunks_exact_mut(SIZE)
            .map(|chunk| libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: SIZE,
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .zip(self.sources.iter_mut())
            .map(|(iov, source)| {
                // SAFETY: msghdr is plain data; the fields that matter are set below.
                let mut h: libc::mmsghdr = unsafe { zeroed() };
                h.msg_hdr.msg_name = (source as *mut libc::sockaddr_storage).cast();
                h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                h.msg_hdr.msg_iov = iov;
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        // SAFETY: every header points at a live iovec over its own SIZE bytes of `data`
        // and at its own sockaddr_storage, all alive and unaliased for the call; the
        // kernel writes at most `slots` headers.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                slots as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            self.received = 0;
            return Err(io::Error::last_os_error());
        }
        self.received = n as usize;
        for (length, h) in self.lengths.iter_mut().zip(&headers[..self.received]) {
            *length = (h.msg_len as usize).min(SIZE);
        }
        Ok(self.received)
    }

    /// The datagrams of the last `receive`, with their senders (None for a family other
    /// than IPv4 and IPv6, which a UDP socket of ours does not get).
    pub fn iter(&self) -> impl Iterator<Item = (Option<SocketAddr>, &[u8])> {
        (0..self.received).map(|i| {
            let data = &self.data[i * SIZE..i * SIZE + self.lengths[i]];
            (source(&self.sources[i]), data)
        })
    }
}

fn source(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it can hold.
            let a: &libc::sockaddr_in = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn datagrams_come_whole_with_their_senders() {
        for host in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(receiver) = UdpSocket::bind(host) else {
                continue; // no IPv6 on this machine
            };
            receiver
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let sender = UdpSocket::bind(host).unwrap();
            let sizes = [0usize, 1, 1400, 9000, 65_507];
            for (i, &n) in sizes.iter().enumerate() {
                let payload = vec![i as u8; n];
                if sender
                    .send_to(&payload, receiver.local_addr().unwrap())
                    .is_err()
                {
                    continue; // 65,507 bytes is over IPv6's limit on some stacks
                }
            }
            let mut many = Datagrams::new(4);
            let mut got = Vec::new();
            while let Ok(n) = many.receive(&receiver) {
                assert!((1..=4).contains(&n));
                for (from, data) in many.iter() {
                    assert_eq!(from, Some(sender.local_addr().unwrap()));
                    got.push(data.to_vec());
                }
            }
            assert!(got.len() >= 4, "{host}: {} datagrams", got.len());
            for d in &got {
                let i = d.first().copied().unwrap_or(0) as usize;
                assert_eq!(d.len(), sizes[i]);
                assert!(d.iter().all(|&b| b as usize == i));
            }
        }
    }
}
