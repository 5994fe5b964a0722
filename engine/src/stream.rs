//! One direction of a TCP stream: in-order reassembly and splitting into messages
//! (JSON lines, HTTP heads and bodies, Stratum V2 frames). Every buffer is bounded.

/// Message kinds handed to Python (the `kind` column of the message table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MsgKind {
    JsonLine = 0,
    HttpHead = 1,
    HttpBody = 2,
    Sv2Frame = 3,
}

/// A message cut from a stream; `truncated` when it exceeded the size bound.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: MsgKind,
    pub data: Vec<u8>,
    pub truncated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Lines,
    Http { request: bool },
    Sv2,
}

const MAX_OOO_SEGMENTS: usize = 16;
const MAX_OOO_BYTES: usize = 256 * 1024;

/// Puts TCP segments back in order. Retransmitted bytes are dropped, a few out-of-order
/// segments are held, and a gap that never fills is skipped (reported through `gaps`).
#[derive(Debug, Default)]
pub struct Reassembler {
    next_seq: Option<u32>,
    held: Vec<(u32, Vec<u8>)>,
    held_bytes: usize,
    pub gaps: u32,
}

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Reassembler {
    pub fn syn(&mut self, isn: u32) {
        self.next_seq = Some(isn.wrapping_add(1));
    }

    /// Feed one segment; `out` receives the bytes that are now in order.
    pub fn push(&mut self, seq: u32, data: &[u8], out: &mut dyn FnMut(&[u8])) {
        if data.is_empty() {
            return;
        }
        let next = *self.next_seq.get_or_insert(seq);
        if seq_lt(seq, next) {
            let overlap = next.wrapping_sub(seq) as usize;
            if overlap >= data.len() {
                return;
            }
            return self.push(next, &data[overlap..], out);
        }
        if seq != next {
            if self.held.len() >= MAX_OOO_SEGMENTS || self.held_bytes + data.len() > MAX_OOO_BYTES {
                // The gap will not fill: skip to the earliest held byte.
                self.gaps += 1;
                self.held.sort_by(|a, b| {
                    if seq_lt(a.0, b.0) {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    }
                });
                self.next_seq = self.held.first().map(|h| h.0).or(Some(seq));
                self.drain(out);
                return self.push(seq, data, out);
            }
            self.held_bytes += data.len();
            self.held.push((seq, data.to_vec()));
            return;
        }
        out(data);
        self.next_seq = Some(next.wrapping_add(data.len() as u32));
        self.drain(out);
    }

    fn drain(&mut self, out: &mut dyn FnMut(&[u8])) {
        loop {
            let Some(next) = self.next_seq else { return };
            let Some(i) = self.held.iter().position(|(s, d)| {
                !seq_lt(next, *s) && seq_lt(next, s.wrapping_add(d.len() as u32)) || *s == next
            }) else {
                // Drop held segments that are now entirely old.
                self.held
                    .retain(|(s, d)| !seq_lt(s.wrapping_add(d.len() as u32), next.wrapping_add(1)));
                self.held_bytes = self.held.iter().map(|h| h.1.len()).sum();
                return;
            };
            let (s, d) = self.held.swap_remove(i);
            self.held_bytes -= d.len();
            let skip = next.wrapping_sub(s) as usize;
            if skip < d.len() {
                out(&d[skip..]);
                self.next_seq = Some(s.wrapping_add(d.len() as u32));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HttpState {
    Head,
    Body {
        remaining: usize,
    },
    /// Body delimited by the end of the connection.
    UntilClose,
    ChunkSize,
    ChunkData {
        remaining: usize,
    },
    ChunkCrlf,
}

/// Splits an ordered byte stream into messages.
#[derive(Debug)]
pub struct Splitter {
    framing: Framing,
    max_msg: usize,
    buf: Vec<u8>,
    /// Skipping the rest of an over-long line.
    discarding: bool,
    http: HttpState,
    body: Vec<u8>,
    body_truncated: bool,
}

impl Splitter {
    pub fn new(framing: Framing, max_msg: usize) -> Self {
        Splitter {
            framing,
            max_msg,
            buf: Vec::new(),
            discarding: false,
            http: HttpState::Head,
            body: Vec::new(),
            body_truncated: false,
        }
    }

    pub fn push(&mut self, data: &[u8], out: &mut Vec<Message>) {
        match self.framing {
            Framing::Lines => self.push_lines(data, out),
            Framing::Http { request } => {
                self.buf.extend_from_slice(data);
                self.run_http(request, out);
            }
            Framing::Sv2 => {
                self.buf.extend_from_slice(data);
                self.run_sv2(out);
            }
        }
    }

    /// Flush what is pending when the connection ends (an HTTP body delimited by close).
    pub fn finish(&mut self, out: &mut Vec<Message>) {
        if let Framing::Http { .. } = self.framing {
            if self.http == HttpState::UntilClose && !self.body.is_empty() {
                self.emit_body(out);
            }
        }
    }

    fn push_lines(&mut self, mut data: &[u8], out: &mut Vec<Message>) {
        while let Some(nl) = data.iter().position(|b| *b == b'\n') {
            let (line, rest) = (&data[..nl], &data[nl + 1..]);
            if self.discarding {
                self.discarding = false;
            } else {
                self.buf.extend_from_slice(line);
                let mut line = std::mem::take(&mut self.buf);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.iter().any(|b| !b.is_ascii_whitespace()) {
                    out.push(Message {
                        kind: MsgKind::JsonLine,
                        data: line,
                        truncated: false,
                    });
                }
            }
            data = rest;
        }
        if self.discarding {
            return;
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() > self.max_msg {
            let mut line = std::mem::take(&mut self.buf);
            line.truncate(self.max_msg);
            out.push(Message {
                kind: MsgKind::JsonLine,
                data: line,
                truncated: true,
            });
            self.discarding = true;
        }
    }

    fn emit_body(&mut self, out: &mut Vec<Message>) {
        let data = std::mem::take(&mut self.body);
        out.push(Message {
            kind: MsgKind::HttpBody,
            data,
            truncated: self.body_truncated,
        });
        self.body_truncated = false;
    }

    fn take_body(&mut self, n: usize) {
        let room = self.max_msg.saturating_sub(self.body.len());
        self.body.extend_from_slice(&self.buf[..n.min(room)]);
        if n > room {
            self.body_truncated = true;
        }
        self.buf.drain(..n);
    }

    fn run_http(&mut self, request: bool, out: &mut Vec<Message>) {
        loop {
            match self.http {
                HttpState::Head => {
                    let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                        if self.buf.len() > self.max_msg {
                            // Not HTTP after all, or a head too large to keep: stop framing.
                            self.buf.clear();
                        }
                        return;
                    };
                    let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                    let (len, chunked) = body_framing(&head, request);
                    out.push(Message {
                        kind: MsgKind::HttpHead,
                        data: head,
                        truncated: false,
                    });
                    self.http = match (len, chunked) {
                        (_, true) => HttpState::ChunkSize,
                        (Some(0), _) => HttpState::Head,
                        (Some(n), _) => HttpState::Body { remaining: n },
                        (None, _) if request => HttpState::Head,
                        (None, _) => HttpState::UntilClose,
                    };
                }
                HttpState::Body { remaining } => {
                    let n = remaining.min(self.buf.len());
                    self.take_body(n);
                    if n < remaining {
                        self.http = HttpState::Body {
                            remaining: remaining - n,
                        };
                        return;
                    }
                    self.emit_body(out);
                    self.http = HttpState::Head;
                }
                HttpState::UntilClose => {
                    let n = self.buf.len();
                    self.take_body(n);
                    return;
                }
                HttpState::ChunkSize => {
                    let Some(end) = find(&self.buf, b"\r\n") else {
                        if self.buf.len() > 64 {
                            self.buf.clear();
                            self.http = HttpState::Head;
                        }
                        return;
                    };
                    let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                    let hex = String::from_utf8_lossy(&line[..end]);
                    let size =
                        usize::from_str_radix(hex.split(';').next().unwrap_or("").trim(), 16);
                    self.http = match size {
                        Ok(0) => {
                            self.emit_body(out);
                            // Trailers are rare for RPC; the final CRLF is skipped as a head.
                            if self.buf.starts_with(b"\r\n") {
                                self.buf.drain(..2);
                            }
                            HttpState::Head
                        }
                        Ok(n) => HttpState::ChunkData { remaining: n },
                        Err(_) => HttpState::Head,
                    };
                }
                HttpState::ChunkData { remaining } => {
                    let n = remaining.min(self.buf.len());
                    self.take_body(n);
                    if n < remaining {
                        self.http = HttpState::ChunkData {
                            remaining: remaining - n,
                        };
                        return;
                    }
                    self.http = HttpState::ChunkCrlf;
                }
                HttpState::ChunkCrlf => {
                    if self.buf.len() < 2 {
                        return;
                    }
                    self.buf.drain(..2);
                    self.http = HttpState::ChunkSize;
                }
            }
        }
    }

    fn run_sv2(&mut self, out: &mut Vec<Message>) {
        // Frame: extension_type u16 LE | msg_type u8 | msg_length u24 LE | payload.
        while self.buf.len() >= 6 {
            let len = u32::from_le_bytes([self.buf[3], self.buf[4], self.buf[5], 0]) as usize;
            if 6 + len > self.max_msg {
                self.buf.clear();
                return;
            }
            if self.buf.len() < 6 + len {
                return;
            }
            let frame: Vec<u8> = self.buf.drain(..6 + len).collect();
            out.push(Message {
                kind: MsgKind::Sv2Frame,
                data: frame,
                truncated: false,
            });
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Body length of an HTTP message from its head: (Content-Length, chunked).
fn body_framing(head: &[u8], request: bool) -> (Option<usize>, bool) {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let parsed = if request {
        let mut req = httparse::Request::new(&mut headers);
        req.parse(head).is_ok()
    } else {
        let mut resp = httparse::Response::new(&mut headers);
        resp.parse(head).is_ok()
    };
    if !parsed {
        return (Some(0), false);
    }
    let mut len = None;
    let mut chunked = false;
    for h in headers.iter().take_while(|h| !h.name.is_empty()) {
        if h.name.eq_ignore_ascii_case("content-length") {
            len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok());
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("chunked");
        }
    }
    (len, chunked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_all(framing: Framing, parts: &[&[u8]]) -> Vec<Message> {
        let mut s = Splitter::new(framing, 1024);
        let mut out = Vec::new();
        for p in parts {
            s.push(p, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn lines_across_segments() {
        let m = split_all(Framing::Lines, &[b"{\"a\":", b"1}\n{\"b\"", b":2}\r\n\n"]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].data, b"{\"a\":1}");
        assert_eq!(m[1].data, b"{\"b\":2}");
    }

    #[test]
    fn long_line_is_truncated_and_bounded() {
        let big = vec![b'x'; 5000];
        let m = split_all(Framing::Lines, &[&big, &big, b"\n{}\n"]);
        assert_eq!(m.len(), 2);
        assert!(m[0].truncated && m[0].data.len() == 1024);
        assert_eq!(m[1].data, b"{}");
    }

    #[test]
    fn http_request_and_chunked_response() {
        let req = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
        let m = split_all(Framing::Http { request: true }, &[&req[..20], &req[20..]]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].data, b"{\"a\":1}");
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        let m = split_all(Framing::Http { request: false }, &[resp]);
        assert_eq!(m[1].data, b"{\"a\":1}");
    }

    #[test]
    fn reassembly_orders_and_drops_retransmits() {
        let mut r = Reassembler::default();
        let mut got = Vec::new();
        r.syn(99);
        r.push(106, b"world", &mut |d| got.extend_from_slice(d));
        r.push(100, b"hello ", &mut |d| got.extend_from_slice(d));
        r.push(100, b"hello ", &mut |d| got.extend_from_slice(d));
        r.push(108, b"rld!", &mut |d| got.extend_from_slice(d));
        assert_eq!(got, b"hello world!");
    }

    proptest! {
        #[test]
        fn any_split_gives_same_lines(text in "[a-z{}:\",\\n]{0,200}", cuts in proptest::collection::vec(0usize..200, 0..10)) {
            let bytes = text.as_bytes();
            let whole = split_all(Framing::Lines, &[bytes]);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort();
            let mut parts: Vec<&[u8]> = Vec::new();
            let mut prev = 0;
            for c in cuts { parts.push(&bytes[prev..c]); prev = c; }
            parts.push(&bytes[prev..]);
            prop_assert_eq!(split_all(Framing::Lines, &parts), whole);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000), req in any::<bool>()) {
            for f in [Framing::Lines, Framing::Http { request: req }, Framing::Sv2] {
                let _ = split_all(f, &[&data]);
            }
            let mut r = Reassembler::default();
            for (i, chunk) in data.chunks(7).enumerate() {
                r.push((i as u32).wrapping_mul(2654435761), chunk, &mut |_| {});
            }
        }
    }
}
