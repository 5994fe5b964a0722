//! Records and flows as pairing reads and makes them, and how one connection's records
//! become a flow (which end is the client).

use std::hash::Hash;
use std::net::IpAddr;

/// An address as pairing reads it: text (`&str`, from Arrow columns of the export schema)
/// or a number (`IpAddr`, from the store-first collector's decoder). Both pair alike; the
/// one place where the order of two addresses decides the outcome (a connection between
/// equal ports whose two records start in the same microsecond) asks `text_le`, so that
/// numbers give what text gives.
pub trait Address: Copy + Ord + Hash {
    /// Whether `self` sorts before or equal to `other` as text.
    fn text_le(self, other: Self) -> bool;
}

impl Address for &str {
    fn text_le(self, other: Self) -> bool {
        self <= other
    }
}

impl Address for IpAddr {
    fn text_le(self, other: Self) -> bool {
        // Rare (see the trait): the text is made only here.
        self.to_string() <= other.to_string()
    }
}

/// A record as pairing reads it: borrowed text (from a held record or an Arrow column) or
/// numbers.
#[derive(Clone, Copy, Debug)]
pub struct Rec<A> {
    pub exporter: A,
    pub first_us: i64,
    pub last_us: i64,
    pub proto: u8,
    pub src: A,
    pub src_port: u16,
    pub dst: A,
    pub dst_port: u16,
    pub packets: u64,
    pub bytes: u64,
    pub tcp_flags: u8,
    pub reverse: Option<(u64, u64)>,
    /// 1 in N packets sampled (counts already scaled); 1 unsampled.
    pub sampling_rate: f64,
}

impl<A: Address> Rec<A> {
    /// Sent by the lower endpoint (by address, then port)?
    pub(super) fn sent_by_lower(&self) -> bool {
        (self.src, self.src_port) <= (self.dst, self.dst_port)
    }

    /// Whether `self` and `other` have one `key()`, given whether each was sent by its
    /// lower end (`sent_by_lower`, known to the caller): only equalities, no ordering.
    pub(super) fn same_connection(&self, lower: bool, other: &Self, other_lower: bool) -> bool {
        let ends = |r: &Self, lower: bool| {
            if lower {
                (r.src, r.src_port, r.dst, r.dst_port)
            } else {
                (r.dst, r.dst_port, r.src, r.src_port)
            }
        };
        self.proto == other.proto
            && ends(self, lower) == ends(other, other_lower)
            && self.exporter == other.exporter
    }

    /// The connection's key, the same for both directions.
    pub(super) fn key(&self) -> (A, u8, A, u16, A, u16) {
        if self.sent_by_lower() {
            (
                self.exporter,
                self.proto,
                self.src,
                self.src_port,
                self.dst,
                self.dst_port,
            )
        } else {
            (
                self.exporter,
                self.proto,
                self.dst,
                self.dst_port,
                self.src,
                self.src_port,
            )
        }
    }
}

/// One two-way flow: the client's record and the server's merged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flow<A> {
    pub exporter: A,
    pub first_us: i64,
    pub last_us: i64,
    pub proto: u8,
    pub client: A,
    pub client_port: u16,
    pub server: A,
    pub server_port: u16,
    pub c2s_packets: u64,
    pub s2c_packets: u64,
    pub c2s_bytes: u64,
    pub s2c_bytes: u64,
    pub tcp_flags: u8,
    pub sampling_rate: f64,
}

impl<A: Address> Flow<A> {
    /// `out` is the record from client to server, `back` the one from server to client.
    pub(super) fn of(out: Option<&Rec<A>>, back: Option<&Rec<A>>) -> Self {
        let any = out.or(back).expect("a flow has at least one record");
        let (first, last) = match (out, back) {
            (Some(a), Some(b)) => (a.first_us.min(b.first_us), a.last_us.max(b.last_us)),
            _ => (any.first_us, any.last_us),
        };
        let (client, client_port, server, server_port) = match out {
            Some(a) => (a.src, a.src_port, a.dst, a.dst_port),
            None => (any.dst, any.dst_port, any.src, any.src_port),
        };
        // The two directions may come from samplers of different rates: the flow is as
        // much an estimate as its coarser half.
        let rate = |r: Option<&Rec<A>>| r.map_or(1.0, |r| r.sampling_rate);
        Flow {
            exporter: any.exporter,
            first_us: first,
            last_us: last.max(first),
            proto: any.proto,
            client,
            client_port,
            server,
            server_port,
            c2s_packets: out.map_or(0, |r| r.packets),
            s2c_packets: back.map_or(0, |r| r.packets),
            c2s_bytes: out.map_or(0, |r| r.bytes),
            s2c_bytes: back.map_or(0, |r| r.bytes),
            tcp_flags: out.map_or(0, |r| r.tcp_flags) | back.map_or(0, |r| r.tcp_flags),
            sampling_rate: rate(out).max(rate(back)).max(1.0),
        }
    }
}

/// Where pairing puts its flows.
pub trait FlowSink<A> {
    fn flow(&mut self, flow: Flow<A>);
}

impl<A> FlowSink<A> for Vec<Flow<A>> {
    fn flow(&mut self, flow: Flow<A>) {
        self.push(flow)
    }
}

/// Whether the lower endpoint (`a`, from the record sent by it) is the client.
fn a_is_client<A: Address>(
    a_port: u16,
    b_port: u16,
    from_a: Option<&Rec<A>>,
    from_b: Option<&Rec<A>>,
) -> bool {
    let (ap, bp) = (a_port, b_port);
    if (ap >= 32768) != (bp >= 32768) {
        return ap >= 32768;
    }
    if (ap >= 1024) != (bp >= 1024) {
        return ap >= 1024;
    }
    if let (Some(x), Some(y)) = (from_a, from_b) {
        if x.first_us != y.first_us {
            return x.first_us < y.first_us;
        }
    }
    if ap != bp {
        return ap > bp;
    }
    match (from_a, from_b) {
        // Equal ports, equal starts: the end lower as text is the client.
        (Some(x), Some(_)) => x.src.text_le(x.dst),
        _ => from_a.is_some(),
    }
}

/// Emit a connection: `from_a` sent by the lower endpoint, `from_b` by the higher.
pub(super) fn emit<A: Address, S: FlowSink<A>>(
    out: &mut S,
    from_a: Option<&Rec<A>>,
    from_b: Option<&Rec<A>>,
) {
    let any = from_a.or(from_b).expect("a flow has at least one record");
    let (a_port, b_port) = match from_a {
        Some(r) => (r.src_port, r.dst_port),
        None => (any.dst_port, any.src_port),
    };
    if a_is_client(a_port, b_port, from_a, from_b) {
        out.flow(Flow::of(from_a, from_b));
    } else {
        out.flow(Flow::of(from_b, from_a));
    }
}

/// Emit a record without its other half; `from_lower`: whether the lower end sent it
/// (`sent_by_lower`, which pairing has already worked out).
pub(super) fn emit_alone<A: Address, S: FlowSink<A>>(out: &mut S, r: &Rec<A>, from_lower: bool) {
    if from_lower {
        emit(out, Some(r), None);
    } else {
        emit(out, None, Some(r));
    }
}
