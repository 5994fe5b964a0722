//! Link layer and IP/TCP/UDP decoding into a small `PacketMeta`.
//!
//! Headers are sliced with etherparse (lax mode, so snaplen-truncated packets still yield
//! their headers). Only what the flow table needs is kept; the payload stays in the
//! capture buffer and is referenced by offset.

use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, TcpSlice, UdpSlice};

/// pcap link-layer header types we decode (tcpdump.org/linktypes.html).
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const PPP: u32 = 9;
    pub const RAW: u32 = 101;
    pub const C_HDLC: u32 = 104;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const PPI: u32 = 192;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
    /// OpenBSD-style raw, as some captures label it.
    pub const RAW_ALT: u32 = 12;
    pub const RAW_ALT2: u32 = 14;
}

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;

/// An IP address in 16 bytes (IPv4 mapped into `::ffff:a.b.c.d`).
pub type Addr = [u8; 16];

pub fn v4_mapped(b: [u8; 4]) -> Addr {
    let mut a = [0u8; 16];
    a[10] = 0xff;
    a[11] = 0xff;
    a[12..].copy_from_slice(&b);
    a
}

pub fn addr_to_string(a: &Addr) -> String {
    let ip6 = std::net::Ipv6Addr::from(*a);
    match ip6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => ip6.to_string(),
    }
}

/// What the flow table needs of one packet.
#[derive(Clone, Copy, Debug, Default)]
pub struct PacketMeta {
    pub ts_us: i64,
    pub src: Addr,
    pub dst: Addr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub vlan: u16,
    pub tcp_flags: u8,
    pub seq: u32,
    /// Bytes at the IP layer (total length), as flow exporters count them.
    pub ip_len: u32,
    /// Offset and length of the transport payload inside the packet's captured bytes.
    pub payload_off: u32,
    pub payload_len: u32,
    /// True when the IP header says more payload exists than was captured (snaplen).
    pub payload_cut: bool,
}

/// Why a packet was not turned into `PacketMeta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    UnknownLinktype,
    NotIp,
    Malformed,
    /// A non-first IP fragment: no ports to key it by.
    Fragment,
}

/// Strip the link layer and return (ethertype, offset of the network header).
fn link_payload(linktype: u32, data: &[u8]) -> Result<(u16, usize), Skip> {
    use linktype::*;
    let ether_ipv4 = 0x0800u16;
    let ether_ipv6 = 0x86ddu16;
    let ip_version = |off: usize| -> Result<(u16, usize), Skip> {
        match data.get(off).map(|b| b >> 4) {
            Some(4) => Ok((ether_ipv4, off)),
            Some(6) => Ok((ether_ipv6, off)),
            _ => Err(Skip::NotIp),
        }
    };
    match linktype {
        ETHERNET => {
            if data.len() < 14 {
                return Err(Skip::Malformed);
            }
            Ok((u16::from_be_bytes([data[12], data[13]]), 0))
        }
        RAW | IPV4 | IPV6 | RAW_ALT | RAW_ALT2 => ip_version(0),
        // BSD loopback: a 4-byte address family in the capturing host's byte order.
        NULL | LOOP => ip_version(4),
        LINUX_SLL => {
            if data.len() < 16 {
                return Err(Skip::Malformed);
            }
            Ok((u16::from_be_bytes([data[14], data[15]]), 16))
        }
        LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(Skip::Malformed);
            }
            Ok((u16::from_be_bytes([data[0], data[1]]), 20))
        }
        PPP => {
            // Optional HDLC address/control bytes 0xff 0x03, then a 16-bit protocol.
            let off = if data.starts_with(&[0xff, 0x03]) {
                2
            } else {
                0
            };
            let proto = match data.get(off..off + 2) {
                Some(p) => u16::from_be_bytes([p[0], p[1]]),
                None => return Err(Skip::Malformed),
            };
            match proto {
                0x0021 => Ok((ether_ipv4, off + 2)),
                0x0057 => Ok((ether_ipv6, off + 2)),
                _ => Err(Skip::NotIp),
            }
        }
        C_HDLC => {
            if data.len() < 4 {
                return Err(Skip::Malformed);
            }
            Ok((u16::from_be_bytes([data[2], data[3]]), 4))
        }
        _ => Err(Skip::UnknownLinktype),
    }
}

/// Decode one captured packet. `data` is the captured bytes, `linktype` its DLT.
pub fn decode(linktype: u32, data: &[u8], ts_us: i64) -> Result<PacketMeta, Skip> {
    if linktype == linktype::PPI {
        // Per-Packet Information header: version, flags, LE length, LE inner DLT.
        if data.len() < 8 {
            return Err(Skip::Malformed);
        }
        let len = u16::from_le_bytes([data[2], data[3]]) as usize;
        let dlt = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
        if len < 8 || len > data.len() || dlt == linktype::PPI {
            return Err(Skip::Malformed);
        }
        let mut m = decode(dlt, &data[len..], ts_us)?;
        m.payload_off += len as u32;
        return Ok(m);
    }
    let (ether_type, off) = link_payload(linktype, data)?;
    let sliced = if off == 0 && linktype == linktype::ETHERNET {
        LaxSlicedPacket::from_ethernet(data).map_err(|_| Skip::Malformed)?
    } else {
        LaxSlicedPacket::from_ether_type(EtherType(ether_type), &data[off..])
    };
    let base = data.as_ptr() as usize;
    let mut m = PacketMeta {
        ts_us,
        ..Default::default()
    };
    if let Some(v) = sliced.vlan_ids().first() {
        m.vlan = v.value();
    }
    let ip_payload = match &sliced.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let h = ip.header();
            m.src = v4_mapped(h.source());
            m.dst = v4_mapped(h.destination());
            m.ip_len = h.total_len() as u32;
            ip.payload()
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let h = ip.header();
            m.src = h.source();
            m.dst = h.destination();
            m.ip_len = h.payload_length() as u32 + 40;
            ip.payload()
        }
        _ => return Err(Skip::NotIp),
    };
    if ip_payload.fragmented {
        // Only the first fragment carries the transport header; later ones are skipped.
        let first = match &sliced.net {
            Some(LaxNetSlice::Ipv4(ip)) => ip.header().fragments_offset().value() == 0,
            _ => false,
        };
        if !first {
            return Err(Skip::Fragment);
        }
    }
    m.proto = ip_payload.ip_number.0;
    let declared_payload = ip_payload.payload.len();
    m.payload_cut = ip_payload.incomplete;
    match ip_payload.ip_number {
        IpNumber::TCP => {
            let tcp = TcpSlice::from_slice(ip_payload.payload).map_err(|_| Skip::Malformed)?;
            m.sport = tcp.source_port();
            m.dport = tcp.destination_port();
            m.seq = tcp.sequence_number();
            let raw = tcp.header_slice()[13];
            m.tcp_flags = raw & 0x3f;
            let p = tcp.payload();
            m.payload_off = (p.as_ptr() as usize - base) as u32;
            m.payload_len = p.len() as u32;
        }
        IpNumber::UDP => {
            let udp = UdpSlice::from_slice_lax(ip_payload.payload).map_err(|_| Skip::Malformed)?;
            m.sport = udp.source_port();
            m.dport = udp.destination_port();
            let p = udp.payload();
            m.payload_off = (p.as_ptr() as usize - base) as u32;
            m.payload_len = p.len() as u32;
        }
        _ => {
            m.payload_off = (ip_payload.payload.as_ptr() as usize - base) as u32;
            m.payload_len = declared_payload as u32;
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_packet(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 3333, 1000, 65535)
            .psh()
            .ack(1);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn ethernet_tcp_payload_located() {
        let pkt = tcp_packet(b"{\"id\":1}\n");
        let m = decode(linktype::ETHERNET, &pkt, 7).unwrap();
        assert_eq!(m.sport, 40000);
        assert_eq!(m.dport, 3333);
        assert_eq!(m.proto, PROTO_TCP);
        let p = &pkt[m.payload_off as usize..(m.payload_off + m.payload_len) as usize];
        assert_eq!(p, b"{\"id\":1}\n");
        assert_eq!(addr_to_string(&m.src), "10.0.0.1");
    }

    #[test]
    fn truncated_inputs_never_panic() {
        let pkt = tcp_packet(b"hello world");
        for lt in [0, 1, 9, 101, 104, 113, 192, 228, 276, 12345] {
            for cut in 0..pkt.len() {
                let _ = decode(lt, &pkt[..cut], 0);
            }
        }
    }

    #[test]
    fn raw_and_sll_agree_with_ethernet() {
        let pkt = tcp_packet(b"x");
        let raw = &pkt[14..];
        let a = decode(linktype::RAW, raw, 0).unwrap();
        let mut sll = vec![0u8; 16];
        sll[14] = 0x08;
        sll.extend_from_slice(raw);
        let b = decode(linktype::LINUX_SLL, &sll, 0).unwrap();
        assert_eq!(
            (a.sport, a.dport, a.payload_len),
            (b.sport, b.dport, b.payload_len)
        );
    }
}
