//! The flow table: bidirectional flows with idle and active timeouts, and the payload
//! inspection of the first bytes (TLS, HTTP, DNS, P2P) and of candidate mining streams.

use ahash::AHashMap;
use arrow_array::RecordBatch;

use crate::bursts::Bursts;
use crate::decode::{
    addr_to_string, Addr, PacketMeta, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN,
};
use crate::dns::{merge_dns, DnsInfo, NameCache};
use crate::out::{FlowBuilder, FlowRecord, MessageBuilder};
use crate::stream::{Framing, Message, Reassembler, Splitter};
use crate::tls::{looks_like_tls, parse_client_hello, HelloParse};

/// Tunables of the flow table, set from Python.
#[derive(Clone, Debug)]
pub struct FlowOptions {
    pub idle_timeout_us: i64,
    pub active_timeout_us: i64,
    pub max_message_bytes: usize,
    pub max_messages_per_flow: u32,
    pub max_stream_bytes_per_flow: u64,
    /// Flows and messages are handed out in batches of about this many rows.
    pub batch_rows: usize,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            idle_timeout_us: 300_000_000,
            active_timeout_us: 3_600_000_000,
            max_message_bytes: 64 * 1024,
            max_messages_per_flow: 50_000,
            max_stream_bytes_per_flow: 16 * 1024 * 1024,
            batch_rows: 65_536,
        }
    }
}

/// How long a closed TCP flow is kept to absorb its last ACKs and retransmissions.
const CLOSE_GRACE_US: i64 = 5_000_000;
/// Captured bytes of the start of each direction kept for classification.
const HEAD_LIMIT: usize = 16 * 1024;
/// Idle flows are looked for every 10 s of capture time: a pass visits every open flow,
/// and the 300 s idle timeout needs no finer step.
const SWEEP_EVERY_US: i64 = 10_000_000;

/// Where a table hands its finished batches when streaming: tagged "flows" or "messages".
pub type Sink = crossbeam_channel::Sender<(&'static str, RecordBatch)>;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Key {
    a: Addr,
    b: Addr,
    a_port: u16,
    b_port: u16,
    proto: u8,
    vlan: u16,
}

/// The per-flow state only candidate and not-yet-classified TCP flows carry.
struct Inspect {
    reasm: [Reassembler; 2],
    head: [Vec<u8>; 2],
    splitter: [Option<Splitter>; 2],
    stream_bytes: u64,
}

struct Flow {
    conn_id: u64,
    first_us: i64,
    last_us: i64,
    client: (Addr, u16),
    server: (Addr, u16),
    proto: u8,
    vlan: u16,
    packets: [u64; 2],
    bytes: [u64; 2],
    payload_bytes: [u64; 2],
    payload_packets: [u32; 2],
    tcp_flags: u8,
    fin: [bool; 2],
    closed: bool,
    application: Option<&'static str>,
    sni: Option<String>,
    http_host: Option<String>,
    http_method: Option<String>,
    http_user_agent: Option<String>,
    ja3: Option<String>,
    ja4: Option<String>,
    alpn: Option<String>,
    dns: Option<DnsInfo>,
    first_payload: [Option<u32>; 2],
    bursts: Bursts,
    messages: u32,
    messages_truncated: bool,
    inspect: Option<Box<Inspect>>,
    /// Decided: no further payload inspection for this flow.
    classified: bool,
    msg_index: u32,
}

/// A worker's flow table and outputs. Workers own disjoint sets of flows.
pub struct FlowTable {
    opts: FlowOptions,
    flows: AHashMap<Key, Flow>,
    out: FlowBuilder,
    msgs: MessageBuilder,
    next_id: u64,
    id_stride: u64,
    next_sweep_us: i64,
    pending: Vec<(usize, Message)>,
    ready: Vec<(&'static str, RecordBatch)>,
    sink: Option<Sink>,
    names: NameCache,
}

fn canonical(m: &PacketMeta) -> (Key, bool) {
    let fwd = (m.src, m.sport) <= (m.dst, m.dport);
    let key = if fwd {
        Key {
            a: m.src,
            a_port: m.sport,
            b: m.dst,
            b_port: m.dport,
            proto: m.proto,
            vlan: m.vlan,
        }
    } else {
        Key {
            a: m.dst,
            a_port: m.dport,
            b: m.src,
            b_port: m.sport,
            proto: m.proto,
            vlan: m.vlan,
        }
    };
    (key, fwd)
}

/// Which end opened the connection, judged from the first packet seen.
fn first_packet_client(m: &PacketMeta) -> bool {
    if m.proto == PROTO_TCP && m.tcp_flags & TCP_SYN != 0 {
        return m.tcp_flags & TCP_ACK == 0;
    }
    // Mid-stream: the well-known (lower, privileged) port is the server's.
    !(m.sport < 1024 && m.dport >= 1024 || m.proto == PROTO_UDP && m.sport == 53)
}

impl FlowTable {
    pub fn new(opts: FlowOptions, worker: u64, workers: u64) -> Self {
        FlowTable {
            opts,
            flows: AHashMap::new(),
            out: FlowBuilder::default(),
            msgs: MessageBuilder::default(),
            next_id: worker,
            id_stride: workers.max(1),
            next_sweep_us: i64::MIN,
            pending: Vec::new(),
            ready: Vec::new(),
            sink: None,
            names: NameCache::default(),
        }
    }

    /// Share the DNS name cache with the other tables of the same scan.
    pub fn with_names(mut self, names: NameCache) -> Self {
        self.names = names;
        self
    }

    /// Hand batches to `sink` as they fill instead of keeping them until `finish`, so
    /// memory follows the flows open at once, not the length of the capture.
    pub fn with_sink(mut self, sink: Option<Sink>) -> Self {
        self.sink = sink;
        self
    }

    fn emit(&mut self, kind: &'static str, batch: RecordBatch) {
        match &self.sink {
            // A reader that went away wants nothing more; the scan still runs to its end.
            Some(sink) => {
                let _ = sink.send((kind, batch));
            }
            None => self.ready.push((kind, batch)),
        }
    }

    /// Messages go out before the flows batch that could name their connections, so a
    /// reader holds every message of a connection when its final flow record arrives.
    fn flush(&mut self, flows: bool) {
        if !self.msgs.is_empty() {
            let batch = self.msgs.finish();
            self.emit("messages", batch);
        }
        if flows && !self.out.is_empty() {
            let batch = self.out.finish();
            self.emit("flows", batch);
        }
    }

    fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += self.id_stride;
        id
    }

    /// Account one packet. `payload` is its captured transport payload.
    pub fn process(&mut self, m: &PacketMeta, payload: &[u8]) {
        if m.ts_us >= self.next_sweep_us {
            self.sweep(m.ts_us);
            self.next_sweep_us = m.ts_us + SWEEP_EVERY_US;
        }
        let (key, fwd) = canonical(m);
        // One hash lookup per packet: find or create in place.
        let flow = match self.flows.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let conn_id = self.next_id;
                self.next_id += self.id_stride;
                let (client, server) = if first_packet_client(m) {
                    ((m.src, m.sport), (m.dst, m.dport))
                } else {
                    ((m.dst, m.dport), (m.src, m.sport))
                };
                v.insert(Flow::new(conn_id, m, client, server, m.proto == PROTO_TCP))
            }
        };
        let dir = if (m.src, m.sport) == flow.client && (fwd || flow.client != flow.server) {
            0
        } else {
            1
        };
        flow.account(m, dir);
        if !payload.is_empty() || m.tcp_flags & TCP_SYN != 0 {
            flow.inspect_payload(m, dir, payload, &self.opts, &self.names, &mut self.pending);
        }
        if !self.pending.is_empty() {
            let (conn, ts) = (flow.conn_id, m.ts_us);
            for (d, msg) in self.pending.drain(..) {
                if flow.messages >= self.opts.max_messages_per_flow {
                    flow.messages_truncated = true;
                    flow.inspect = None;
                    break;
                }
                flow.messages += 1;
                self.msgs.push(
                    conn,
                    flow.msg_index,
                    ts,
                    d as u8,
                    msg.kind as u8,
                    &msg.data,
                    msg.truncated,
                );
                flow.msg_index += 1;
            }
        }
        let expire_active = m.ts_us - flow.first_us >= self.opts.active_timeout_us;
        let reset = m.tcp_flags & TCP_RST != 0;
        if reset || flow.fin[0] && flow.fin[1] {
            flow.closed = true;
        }
        if expire_active {
            self.split_active(key);
        }
        self.flush_if_full();
    }

    /// Export a long flow's counters so far; the connection goes on under the same conn_id
    /// with its inspection state and fresh counters.
    fn split_active(&mut self, key: Key) {
        let mut flow = self.flows.remove(&key).expect("present");
        let flow_id = self.new_id();
        let name = self.names.name_of(&flow.server.0);
        self.out
            .push(flow.record(flow_id, "active-timeout", name, &mut self.msgs));
        self.flows.insert(key, flow.continue_after_split());
    }

    fn flush_if_full(&mut self) {
        if self.out.len() >= self.opts.batch_rows {
            self.flush(true);
        } else if self.msgs.len() >= self.opts.batch_rows {
            self.flush(false);
        }
    }

    /// Export flows that went idle or closed before `now`.
    pub fn sweep(&mut self, now: i64) {
        let idle = self.opts.idle_timeout_us;
        let expired: Vec<Key> = self
            .flows
            .iter()
            .filter(|(_, f)| now - f.last_us > idle || f.closed && now - f.last_us > CLOSE_GRACE_US)
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            let flow = self.flows.remove(&key).expect("listed");
            let reason = if flow.closed {
                if flow.tcp_flags & TCP_RST != 0 {
                    "rst"
                } else {
                    "fin"
                }
            } else {
                "idle"
            };
            self.export(flow, reason);
        }
        self.flush_if_full();
    }

    fn export(&mut self, mut flow: Flow, reason: &'static str) {
        let flow_id = self.new_id();
        let name = self.names.name_of(&flow.server.0);
        self.out
            .push(flow.record(flow_id, reason, name, &mut self.msgs));
    }

    /// Export everything still open (end of capture) and hand out the last batches.
    pub fn finish(&mut self) -> Vec<(&'static str, RecordBatch)> {
        let keys: Vec<Key> = self.flows.keys().copied().collect();
        for key in keys {
            let flow = self.flows.remove(&key).expect("listed");
            let reason = if flow.closed { "fin" } else { "end-of-capture" };
            self.export(flow, reason);
        }
        self.flush(true);
        std::mem::take(&mut self.ready)
    }
}

impl Flow {
    fn new(
        conn_id: u64,
        m: &PacketMeta,
        client: (Addr, u16),
        server: (Addr, u16),
        tcp: bool,
    ) -> Self {
        Flow {
            conn_id,
            first_us: m.ts_us,
            last_us: m.ts_us,
            client,
            server,
            proto: m.proto,
            vlan: m.vlan,
            packets: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            payload_packets: [0; 2],
            tcp_flags: 0,
            fin: [false; 2],
            closed: false,
            application: None,
            sni: None,
            http_host: None,
            http_method: None,
            http_user_agent: None,
            ja3: None,
            ja4: None,
            alpn: None,
            dns: None,
            first_payload: [None; 2],
            bursts: Bursts::default(),
            messages: 0,
            messages_truncated: false,
            inspect: if tcp {
                Some(Box::new(Inspect {
                    reasm: Default::default(),
                    head: Default::default(),
                    splitter: [None, None],
                    stream_bytes: 0,
                }))
            } else {
                None
            },
            classified: !tcp,
            msg_index: 0,
        }
    }

    fn account(&mut self, m: &PacketMeta, dir: usize) {
        self.last_us = self.last_us.max(m.ts_us);
        self.packets[dir] += 1;
        self.bytes[dir] += m.ip_len as u64;
        if m.payload_len > 0 {
            self.payload_bytes[dir] += m.payload_len as u64;
            self.payload_packets[dir] += 1;
            if self.first_payload[dir].is_none() {
                self.first_payload[dir] = Some(m.payload_len);
            }
            self.bursts.payload(m.ts_us, dir, m.payload_len);
        }
        self.tcp_flags |= m.tcp_flags;
        if m.tcp_flags & TCP_FIN != 0 {
            self.fin[dir] = true;
        }
    }

    fn inspect_payload(
        &mut self,
        m: &PacketMeta,
        dir: usize,
        payload: &[u8],
        opts: &FlowOptions,
        names: &NameCache,
        out: &mut Vec<(usize, Message)>,
    ) {
        match m.proto {
            PROTO_UDP => self.inspect_udp(m, payload, names),
            PROTO_TCP => self.inspect_tcp(m, dir, payload, opts, out),
            _ => {}
        }
    }

    fn inspect_udp(&mut self, m: &PacketMeta, payload: &[u8], names: &NameCache) {
        if m.sport == 53 || m.dport == 53 || m.sport == 5353 && m.dport == 5353 {
            let info = self.dns.get_or_insert_with(DnsInfo::default);
            let known = info.answers.len();
            if merge_dns(payload, info) {
                self.application = Some("dns");
                // Only a message that brought new answers touches the shared cache.
                if info.answers.len() > known {
                    names.learn(info);
                }
            }
        } else if self.application.is_none() {
            self.application = crate::p2p::classify_udp(payload, m.sport, m.dport);
        }
    }

    fn inspect_tcp(
        &mut self,
        m: &PacketMeta,
        dir: usize,
        payload: &[u8],
        opts: &FlowOptions,
        out: &mut Vec<(usize, Message)>,
    ) {
        let Some(ins) = self.inspect.as_mut() else {
            return;
        };
        if m.tcp_flags & TCP_SYN != 0 {
            ins.reasm[dir].syn(m.seq);
            if payload.is_empty() {
                return;
            }
        }
        let mut ordered: Vec<u8> = Vec::new();
        ins.reasm[dir].push(m.seq, payload, &mut |d| ordered.extend_from_slice(d));
        if ordered.is_empty() {
            return;
        }
        ins.stream_bytes += ordered.len() as u64;
        let mut rest: &[u8] = &ordered;
        if !self.classified {
            let head = &mut ins.head[dir];
            let take = ordered.len().min(HEAD_LIMIT - head.len());
            head.extend_from_slice(&ordered[..take]);
            rest = &ordered[take..];
            self.classify(dir, opts);
            let Some(ins) = self.inspect.as_mut() else {
                return;
            };
            if !self.classified {
                return;
            }
            // Decided on buffered bytes: replay both heads through the new splitters.
            for d in 0..2 {
                let h = std::mem::take(&mut ins.head[d]);
                if let Some(sp) = ins.splitter[d].as_mut() {
                    let mut cut = Vec::new();
                    sp.push(&h, &mut cut);
                    out.extend(cut.into_iter().map(|c| (d, c)));
                }
            }
        }
        let Some(ins) = self.inspect.as_mut() else {
            return;
        };
        if let Some(sp) = ins.splitter[dir].as_mut() {
            let mut cut = Vec::new();
            sp.push(rest, &mut cut);
            out.extend(cut.into_iter().map(|c| (dir, c)));
        }
        if ins.stream_bytes > opts.max_stream_bytes_per_flow {
            self.messages_truncated = true;
            self.inspect = None;
        }
    }

    /// Decide what this TCP stream is from the first bytes of either direction. Once decided,
    /// only candidate mining streams keep their inspection state (with splitters set).
    fn classify(&mut self, dir: usize, opts: &FlowOptions) {
        let ins = self.inspect.as_mut().expect("inspecting");
        let head = &ins.head[dir];
        let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
        if dir == 0 && looks_like_tls(head) {
            match parse_client_hello(head) {
                HelloParse::NeedMore if head.len() < HEAD_LIMIT => return,
                HelloParse::Done(h) => {
                    self.sni = h.sni;
                    self.alpn = h.alpn;
                    self.ja3 = Some(h.ja3);
                    self.ja4 = Some(h.ja4);
                }
                _ => {}
            }
            self.application = Some("tls");
            return self.stop_inspecting();
        }
        if dir == 0 && is_http_request(head) {
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                if head.len() < HEAD_LIMIT {
                    return;
                }
                self.application = Some("http");
                return self.stop_inspecting();
            };
            let request_head = head[..end + 4].to_vec();
            self.application = Some("http");
            if !self.read_http_request(&request_head) {
                return self.stop_inspecting();
            }
            // A JSON-RPC POST (getwork, getblocktemplate, EthProxy over HTTP): frame both ways.
            return self.set_splitters(
                Framing::Http { request: true },
                Framing::Http { request: false },
                opts,
            );
        }
        if first == Some(b'{') {
            match json_object_start(head) {
                None if head.len() < 64 => return,
                Some(true) => {
                    self.application = Some("json");
                    return self.set_splitters(Framing::Lines, Framing::Lines, opts);
                }
                // Random bytes (a Noise key, a cipher text) begin with '{' one time in 256.
                _ => {}
            }
        }
        if let Some(app) = crate::apps::classify(head, dir) {
            self.application = Some(app);
            return self.stop_inspecting();
        }
        if let Some(app) = crate::p2p::classify_tcp(head, self.server.1) {
            self.application = Some(app);
            return self.stop_inspecting();
        }
        if dir == 0 && is_sv2_setup(head) {
            self.application = Some("sv2");
            return self.set_splitters(Framing::Sv2, Framing::Sv2, opts);
        }
        // Nothing recognised: wait for the other side or a few KB, then give up.
        let waited = !ins.head[1 - dir].is_empty() || head.len() >= 4096;
        if head.len() >= 16 && waited {
            self.stop_inspecting();
        }
    }

    fn set_splitters(&mut self, c2s: Framing, s2c: Framing, opts: &FlowOptions) {
        self.classified = true;
        let ins = self.inspect.as_mut().expect("inspecting");
        ins.splitter = [
            Some(Splitter::new(c2s, opts.max_message_bytes)),
            Some(Splitter::new(s2c, opts.max_message_bytes)),
        ];
    }

    fn stop_inspecting(&mut self) {
        self.classified = true;
        self.inspect = None;
    }

    fn read_http_request(&mut self, head: &[u8]) -> bool {
        let mut headers = [httparse::EMPTY_HEADER; 48];
        let mut req = httparse::Request::new(&mut headers);
        if req.parse(head).is_err() {
            return false;
        }
        self.http_method = req.method.map(str::to_string);
        let mut json = false;
        let mut mining_headers = false;
        for h in req.headers.iter() {
            let value = || String::from_utf8_lossy(h.value).into_owned();
            if h.name.eq_ignore_ascii_case("host") {
                let host = value();
                let host = host
                    .rsplit_once(':')
                    .filter(|(_, p)| p.parse::<u16>().is_ok())
                    .map_or(host.clone(), |(h, _)| h.to_string());
                self.http_host = Some(host.to_ascii_lowercase());
            } else if h.name.eq_ignore_ascii_case("user-agent") {
                self.http_user_agent = Some(value());
            } else if h.name.eq_ignore_ascii_case("content-type") {
                json = value().to_ascii_lowercase().contains("json");
            } else if h.name.len() > 9 && h.name[..9].eq_ignore_ascii_case("x-mining-") {
                mining_headers = true;
            }
        }
        req.method == Some("POST") && (json || mining_headers)
    }

    fn continue_after_split(self) -> Flow {
        Flow {
            first_us: self.last_us,
            packets: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            payload_packets: [0; 2],
            messages: 0,
            first_payload: [None; 2],
            bursts: self.bursts.restart(),
            ..self
        }
    }

    fn record(
        &mut self,
        flow_id: u64,
        reason: &'static str,
        resolved_name: Option<String>,
        msgs: &mut MessageBuilder,
    ) -> FlowRecord {
        let closing = reason != "active-timeout";
        if let Some(ins) = self.inspect.as_mut().filter(|_| closing) {
            for dir in 0..2 {
                if let Some(sp) = ins.splitter[dir].as_mut() {
                    let mut tail = Vec::new();
                    sp.finish(&mut tail);
                    for msg in tail {
                        msgs.push(
                            self.conn_id,
                            self.msg_index,
                            self.last_us,
                            dir as u8,
                            msg.kind as u8,
                            &msg.data,
                            msg.truncated,
                        );
                        self.msg_index += 1;
                        self.messages += 1;
                    }
                }
            }
        }
        let gaps = self
            .inspect
            .as_ref()
            .map_or(0, |i| i.reasm[0].gaps + i.reasm[1].gaps);
        let dns = self.dns.take();
        FlowRecord {
            flow_id,
            conn_id: self.conn_id,
            first_us: self.first_us,
            last_us: self.last_us,
            proto: self.proto,
            client_ip: addr_to_string(&self.client.0),
            client_port: self.client.1,
            server_ip: addr_to_string(&self.server.0),
            server_port: self.server.1,
            vlan: self.vlan,
            packets: self.packets,
            bytes: self.bytes,
            payload_bytes: self.payload_bytes,
            payload_packets: self.payload_packets,
            tcp_flags: self.tcp_flags,
            end_reason: reason,
            application: self.application,
            sni: self.sni.clone(),
            http_host: self.http_host.clone(),
            http_method: self.http_method.clone(),
            http_user_agent: self.http_user_agent.clone(),
            ja3: self.ja3.clone(),
            ja4: self.ja4.clone(),
            alpn: self.alpn.clone(),
            dns_query: dns.as_ref().and_then(|d| d.query.clone()),
            dns_rcode: dns.as_ref().and_then(|d| d.rcode),
            resolved_name,
            dns_answers: dns.map(|d| d.answers),
            first_payload: self.first_payload,
            bursts: self.bursts.summary(),
            messages: self.messages,
            messages_truncated: self.messages_truncated,
            stream_gaps: gaps,
        }
    }
}

/// Whether bytes that begin with '{' go on as a JSON object does: a member name or '}'
/// next. None while only whitespace follows.
fn json_object_start(head: &[u8]) -> Option<bool> {
    let mut rest = head
        .iter()
        .copied()
        .skip_while(|b| b.is_ascii_whitespace())
        .skip(1);
    rest.find(|b| !b.is_ascii_whitespace())
        .map(|b| b == b'"' || b == b'}')
}

fn is_http_request(head: &[u8]) -> bool {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    METHODS.iter().any(|m| head.starts_with(m))
        || METHODS
            .iter()
            .any(|m| m.starts_with(head) && !head.is_empty())
}

/// A plaintext Stratum V2 SetupConnection: extension 0, message 0x00, length matching,
/// protocol 0 (mining) and min/max version 2 (stratum-mining/sv2-spec, 03 and 08).
fn is_sv2_setup(head: &[u8]) -> bool {
    if head.len() < 12 {
        return false;
    }
    let len = u32::from_le_bytes([head[3], head[4], head[5], 0]) as usize;
    head[0] == 0
        && head[1] == 0
        && head[2] == 0x00
        && (20..=1024).contains(&len)
        && head[6] <= 2
        && u16::from_le_bytes([head[7], head[8]]) == 2
        && u16::from_le_bytes([head[9], head[10]]) == 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{v4_mapped, TCP_PSH};
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt64Type;

    fn pkt(ts_s: i64, from_client: bool, flags: u8, seq: u32, len: u32) -> PacketMeta {
        let (c, s) = (v4_mapped([10, 0, 0, 1]), v4_mapped([10, 0, 0, 2]));
        let (src, dst, sport, dport) = if from_client {
            (c, s, 40000, 3333)
        } else {
            (s, c, 3333, 40000)
        };
        PacketMeta {
            ts_us: ts_s * 1_000_000,
            src,
            dst,
            sport,
            dport,
            proto: PROTO_TCP,
            tcp_flags: flags,
            seq,
            ip_len: 40 + len,
            payload_len: len,
            ..Default::default()
        }
    }

    fn flows(batches: &[(&'static str, RecordBatch)]) -> Vec<(u64, u64, String)> {
        let mut out = Vec::new();
        for (_, b) in batches.iter().filter(|(k, _)| *k == "flows") {
            let conn = b
                .column_by_name("conn_id")
                .unwrap()
                .as_primitive::<UInt64Type>();
            let pk = b
                .column_by_name("c2s_packets")
                .unwrap()
                .as_primitive::<UInt64Type>();
            let reason = b.column_by_name("end_reason").unwrap().as_string::<i32>();
            for i in 0..b.num_rows() {
                out.push((conn.value(i), pk.value(i), reason.value(i).to_string()));
            }
        }
        out
    }

    #[test]
    fn json_needs_a_member_after_the_brace() {
        assert_eq!(json_object_start(b"{\"id\":1}"), Some(true));
        assert_eq!(json_object_start(b" {\n  \"id\""), Some(true));
        assert_eq!(json_object_start(b"{}"), Some(true));
        assert_eq!(
            json_object_start(b"{\x8a\x01\xff"),
            Some(false),
            "a key that happens to start with a brace"
        );
        assert_eq!(json_object_start(b"{  "), None);
    }

    #[test]
    fn active_timeout_splits_but_keeps_the_connection() {
        let opts = FlowOptions {
            active_timeout_us: 100_000_000,
            ..Default::default()
        };
        let mut t = FlowTable::new(opts, 0, 1);
        t.process(&pkt(0, true, TCP_SYN, 0, 0), b"");
        for s in 1..250 {
            t.process(&pkt(s, true, TCP_ACK | TCP_PSH, 1, 0), b"");
        }
        let got = flows(&t.finish());
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().all(|(conn, _, _)| *conn == got[0].0));
        assert_eq!(got.iter().map(|g| g.1).sum::<u64>(), 250);
        assert_eq!(got.iter().filter(|g| g.2 == "active-timeout").count(), 2);
    }

    #[test]
    fn idle_flow_expires_and_server_first_packet_keeps_roles() {
        let mut t = FlowTable::new(FlowOptions::default(), 0, 1);
        // The capture starts at the SYN-ACK: its sender is the server.
        t.process(&pkt(0, false, TCP_SYN | TCP_ACK, 0, 0), b"");
        t.process(&pkt(1, true, TCP_ACK, 1, 0), b"");
        t.process(&pkt(1000, true, TCP_ACK, 1, 0), b"");
        let got = flows(&t.finish());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].2, "idle");
        assert_eq!(got[0].1, 1); // one client packet before the idle gap
    }

    #[test]
    fn streamed_messages_precede_the_flow_record_that_names_them() {
        let opts = FlowOptions {
            batch_rows: 3,
            ..Default::default()
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut t = FlowTable::new(opts, 0, 1).with_sink(Some(tx));
        let line = b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n";
        for c in 0..20u16 {
            let mut p = pkt(i64::from(c) * 20, true, TCP_SYN, 0, 0);
            p.sport = 40000 + c;
            t.process(&p, b"");
            let mut d = pkt(
                i64::from(c) * 20 + 1,
                true,
                TCP_ACK | TCP_PSH,
                1,
                line.len() as u32,
            );
            d.sport = 40000 + c;
            t.process(&d, line);
            let mut f = pkt(
                i64::from(c) * 20 + 2,
                true,
                TCP_RST,
                1 + line.len() as u32,
                0,
            );
            f.sport = 40000 + c;
            t.process(&f, b"");
        }
        assert!(
            t.finish().is_empty(),
            "a streaming table keeps nothing back"
        );
        drop(t);
        let mut seen_msgs = std::collections::HashSet::new();
        let (mut flow_rows, mut batches) = (0, 0);
        for (kind, b) in rx.iter() {
            batches += 1;
            let conn = b
                .column_by_name("conn_id")
                .unwrap()
                .as_primitive::<UInt64Type>();
            for i in 0..b.num_rows() {
                if kind == "messages" {
                    seen_msgs.insert(conn.value(i));
                } else {
                    flow_rows += 1;
                    assert!(
                        seen_msgs.contains(&conn.value(i)),
                        "flow {} before its messages",
                        conn.value(i)
                    );
                }
            }
        }
        assert_eq!(flow_rows, 20);
        assert!(
            batches > 4,
            "batches were handed out as they filled, not at the end"
        );
    }
}
